"""``MotoAwsServer``: moto's ThreadedMotoServer behind a small WSGI layer (trust policy external ids,
credential expiry, injected faults). See the package docstring."""

from __future__ import annotations

import io
import json
import re
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from urllib.parse import parse_qs, unquote

from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

from sandbox.aws import crc, s3_bodies, s3_checks, s3_headers, s3_post, s3_rules, s3_uploads, signing, sts_checks
from sandbox.aws.addressing import bucket_and_key, request_target
from sandbox.core.numbers import ascii_int

METADATA_LIMIT = 2048  # bytes of user-defined metadata S3 accepts on an object
CREDENTIAL_RE = re.compile(r"Credential=([^/]+)/\d{8}/[^/]+/([a-z0-9-]+)/aws4_request")


@dataclass
class AwsFault:
    """Answer the next ``count`` requests to ``service`` (``s3`` or ``sts``; ``method`` optional; ``path``
    a regex searched in the request path, optional)."""

    service: str
    status: int
    code: str
    count: int = 1
    method: str | None = None
    retry_after: int | None = None
    path: str | None = None


def _xml_error(status: int, code: str, message: str, sts: bool) -> tuple[int, bytes]:
    if sts:
        body = (f'<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>'
                f"<Code>{code}</Code><Message>{message}</Message></Error><RequestId>projectx-sandbox</RequestId>"
                "</ErrorResponse>")
    else:
        body = (f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code><Message>{message}</Message>'
                "<RequestId>projectx-sandbox</RequestId></Error>")
    return status, body.encode()


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _presigned_s3(query: str) -> bool:
    """Whether a query string carries S3 query authentication (v4 with an s3 scope, or no scope at all, which
    ``signing`` refuses; or v2's three parameters)."""
    names = {part.partition("=")[0] for part in query.split("&")}
    v4 = bool(names & signing.QUERY_AUTH) and ("/s3/aws4_request" in unquote(query) or "X-Amz-Credential" not in names)
    return v4 or {"AWSAccessKeyId", "Signature", "Expires"} <= names


def _drain(environ) -> None:
    """Read what is left of the body of a request the sandbox answers itself: werkzeug has already sent a client
    that waits (Expect: 100-continue, as boto3 does for uploads) its 100 Continue, and over TLS a body left unread
    made the client see the connection reset (botocore: SSLError "EOF occurred in violation of protocol") instead of
    the answer. Chunked bodies (boto3's aws-chunked uploads over HTTPS) are read to their end."""
    stream = environ.get("wsgi.input")
    length = environ.get("CONTENT_LENGTH") or ""
    if stream is None or environ.get("REQUEST_METHOD") in ("GET", "HEAD", "OPTIONS"):
        return
    if length.isdecimal():
        left = int(length)
        while left > 0 and (chunk := stream.read(min(left, 1 << 16))):
            left -= len(chunk)
    elif environ.get("wsgi.input_terminated"):
        while stream.read(1 << 16):
            pass


class _Enforcing:
    def __init__(self, app, server: MotoAwsServer):
        self.app = app
        self.server = server

    def __call__(self, environ, start_response):
        match = CREDENTIAL_RE.search(environ.get("HTTP_AUTHORIZATION", ""))
        key_id, service = (match.group(1), match.group(2)) if match else ("", "")
        length = environ.get("CONTENT_LENGTH") or ""
        if length and (ascii_int(length) is None or len(length) > 19):
            # 1*DIGIT that read() can take, not str.isdecimal() + int(): 25 digits overflowed read() and '3_0' went
            # on to moto: 500s [round 27] [unc: S3's code and words]. Nothing is read; the connection closes.
            environ["CONTENT_LENGTH"] = ""
            status, body = _xml_error(400, "BadRequest", "An error occurred when parsing the HTTP request.",
                                      service == "sts")
            start_response(f"{status} {_reason(status)}", [("Content-Type", "text/xml"), ("Connection", "close"),
                                                           ("Content-Length", str(len(body)))])
            return [body]
        answer = self.server._take_fault(service, environ.get("REQUEST_METHOD", ""), environ.get("PATH_INFO", ""))
        if answer is None and service == "sts":
            length = ascii_int(environ.get("CONTENT_LENGTH") or "0", cap=2**31) or 0  # not int() [round 27]
            body = environ["wsgi.input"].read(length) if length else b""
            environ["wsgi.input"] = io.BytesIO(body)
            params = parse_qs(body.decode("utf-8", "replace"))
            answer = self._sts_signed(environ, body) or sts_checks.check(params) or self._check_external_id(params)
        elif answer is None and service == "s3" and key_id:
            answer = (self._check_expiry(key_id) or self._signed(environ) or self._check_metadata(environ)
                      or s3_checks.check(environ))
        elif answer is None and not key_id and _presigned_s3(environ.get("QUERY_STRING", "")):
            answer = self._signed(environ) or s3_checks.check(environ)  # a presigned URL: no Authorization header
        elif answer is None and not key_id and s3_post.is_form_post(environ):
            answer = self._form_post(environ)
        elif answer is None and not environ.get("HTTP_AUTHORIZATION"):
            answer = self._anonymous(environ)
        if answer is None and service == "sts" and self.server.session_lifetime is not None:
            return self._shortened(environ, start_response)
        if answer is None and environ.get("sandbox.quiet_delete"):
            return self._quiet(environ, start_response)
        if answer is None and service in ("s3", ""):  # S3, signed or not (IAM and STS answer as moto does)
            return self._s3_answer(environ, start_response)
        if answer is None:
            return self.app(environ, start_response)
        status, body, headers = answer
        _drain(environ)
        named = {k.lower() for k, _ in headers}
        defaults = [("Content-Type", "text/xml")] if "content-type" not in named else []
        headers = [(k, v) for k, v in headers if k.lower() != "content-length"]  # one Content-Length [round 30]
        start_response(f"{status} {_reason(status)}", [*defaults, ("Content-Length", str(len(body))),
                                                         ("x-amz-request-id", "projectx-sandbox"), *headers])
        return [body]

    def _form_post(self, environ):
        """A form upload to a bucket moto holds: its policy and signature (``sandbox.aws.s3_post``)."""
        path = unquote(request_target(environ).partition("?")[0])
        name, key = bucket_and_key(environ.get("HTTP_HOST", ""), path)
        if key or s3_checks._bucket(name) is None:
            return None
        answer = s3_post.check(environ, name, self.server.secret_of, self.server.strict_keys)
        if answer is None and "sandbox.post_key" not in environ:  # no policy: an anonymous upload
            answer = s3_rules.anonymous(s3_checks._bucket(name), key, "POST")
        return answer

    @staticmethod
    def _anonymous(environ):
        """An unsigned S3 request to a bucket moto holds (``s3_rules.anonymous``)."""
        raw = request_target(environ).partition("?")[0]
        path = unquote(raw.encode("latin-1", "replace").decode("utf-8", "replace"))
        name, key = bucket_and_key(environ.get("HTTP_HOST", ""), path)
        query = parse_qs(environ.get("QUERY_STRING", ""))
        if not name and environ.get("REQUEST_METHOD", "GET") in ("GET", "HEAD") and "Action" not in query:
            # ListBuckets needs a signature: moto listed every bucket to anyone (IAM/STS query calls go on)
            status, body, _ = s3_rules._error(403, "AccessDenied", "Access Denied")
            return status, b"" if environ.get("REQUEST_METHOD") == "HEAD" else body, []
        bucket = s3_checks._bucket(name) if name else None
        if bucket is None:
            return None
        # allowed: S3's other answers as for signed requests (a public bucket's listing paged as S3 pages it).
        # response-* overrides first: one answer whether or not the key exists (a 400 only for existing keys
        # told an anonymous caller which keys a private bucket holds)
        version = query.get("versionId", [None])[0]
        return (s3_headers.anonymous_overrides(environ)
                or s3_rules.anonymous(bucket, key, environ.get("REQUEST_METHOD", "GET"), version)
                or s3_checks.check(environ))

    def _s3_answer(self, environ, start_response):
        """moto's answer to an S3 request, where S3 answers otherwise: a form upload's 201 carries S3's PostResponse
        document, a 403 to a GET/PUT/POST/DELETE carries S3's AccessDenied error document (moto's bucket and
        object ACL refusals were empty, so boto3 saw the code "403"), CreateMultipartUpload's upload is stamped with its
        initiation time (``s3_uploads.created``), a completed multipart object's checksum is
        in CompleteMultipartUpload's answer and HEAD's (``s3_uploads.with_checksum``)."""
        captured: dict = {}

        def keep(status, headers, exc_info=None):
            captured.update(status=status, headers=headers)

        chunks = self.app(environ, keep)
        status, headers = captured["status"], captured["headers"]
        if environ.get("sandbox.rewrite"):  # moto's answer completed (s3_parts.list_parts)
            joined = b"".join(chunks)
            if hasattr(chunks, "close"):
                chunks.close()
            joined = environ["sandbox.rewrite"](status, joined)
            headers = [(k, v) for k, v in headers if k.lower() != "content-length"] + [
                ("Content-Length", str(len(joined)))]
            chunks = [joined]
        if environ.get("sandbox.after"):  # what the checks wait for moto's answer to keep (s3_sse_c, s3_uploads)
            joined = b"".join(chunks)
            if hasattr(chunks, "close"):
                chunks.close()
            for hook in environ["sandbox.after"]:
                hook(status, joined)
            chunks = [joined]
        method, query = environ.get("REQUEST_METHOD", ""), environ.get("QUERY_STRING", "")
        posted = status.startswith("201") and "sandbox.post_key" in environ
        refused = status.startswith("403") and method not in ("HEAD", "OPTIONS")
        checksum_mode = environ.get("HTTP_X_AMZ_CHECKSUM_MODE", "").upper() == "ENABLED"
        summed = status.startswith("200") and ((method == "POST" and "uploadId=" in query) or (
            method == "HEAD" and "versionId=" not in query and checksum_mode))
        made = status.startswith("200") and method == "POST" and re.search(r"(^|&)uploads(=|&|$)", query)
        extra = environ.get("sandbox.extra_headers", [])  # each replaces moto's own of that name: two copies of
        named = {k.lower() for k, _ in extra}  # x-amz-delete-marker reached boto3 as "true, true", read as False
        headers = [(k, v) for k, v in headers if k.lower() not in named] + extra
        if environ.get("sandbox.head_rewrite"):  # s3_reads._head_part
            status, headers = environ["sandbox.head_rewrite"](status, headers)
        headers = s3_uploads.full_object_type(environ, status, headers)
        if not (posted or refused or summed or made):
            start_response(status, headers)
            return chunks
        body = b"".join(chunks)
        if hasattr(chunks, "close"):
            chunks.close()
        path = unquote(request_target(environ).partition("?")[0].encode("latin-1", "replace").decode(
            "utf-8", "replace"))
        name, key = bucket_and_key(environ.get("HTTP_HOST", ""), path)
        bucket = s3_checks._bucket(name) if name else None
        if posted and not body and bucket is not None:
            body = s3_post.post_response(environ, bucket, environ["sandbox.post_key"])
            headers = [(k, v) for k, v in headers if k.lower() != "content-type"] + [
                ("Content-Type", "application/xml")]
        elif refused and not body.strip():
            _, body = _xml_error(403, "AccessDenied", "Access Denied", False)
            headers = [(k, v) for k, v in headers if k.lower() != "content-type"] + [
                ("Content-Type", "application/xml")]
        elif made and bucket is not None:
            s3_uploads.created(bucket, body)
        elif summed and bucket is not None and key:
            headers, body = s3_uploads.with_checksum(bucket, key, method, headers, body)
        if method != "HEAD":  # a HEAD's Content-Length is the object's
            headers = [(k, v) for k, v in headers if k.lower() != "content-length"] + [
                ("Content-Length", str(len(body)))]
        start_response(status, headers)
        return [body]

    def _quiet(self, environ, start_response):
        """DeleteObjects in quiet mode answers only the keys it could not delete (moto listed every one)."""
        captured: dict = {}

        def keep(status, headers, exc_info=None):
            captured.update(status=status, headers=headers)

        body = re.sub(rb"<Deleted>.*?</Deleted>", b"", b"".join(self.app(environ, keep)), flags=re.S)
        headers = [(k, v) for k, v in captured["headers"] if k.lower() != "content-length"]
        start_response(captured["status"], [*headers, ("Content-Length", str(len(body)))])
        return [body]

    def _shortened(self, environ, start_response):
        """Issue role credentials that live ``session_lifetime`` seconds (STS's floor is 900 s, too long
        for a test to wait out): the expiry is rewritten in the answer and enforced on S3 requests."""
        from moto.sts.models import sts_backends

        captured: dict = {}

        def keep(status, headers, exc_info=None):
            captured.update(status=status, headers=headers)

        body = b"".join(self.app(environ, keep))
        key = re.search(rb"<AccessKeyId>([^<]+)</AccessKeyId>", body)
        if key:
            expires = datetime.now(UTC) + timedelta(seconds=self.server.session_lifetime)
            for account in list(sts_backends.keys()):
                for role in sts_backends[account]["aws"].assumed_roles:
                    if role.access_key_id == key.group(1).decode():
                        role.expiration = expires.replace(tzinfo=None)
            stamp = expires.strftime("%Y-%m-%dT%H:%M:%S.%fZ").encode()
            body = re.sub(rb"<Expiration>[^<]+</Expiration>", b"<Expiration>" + stamp + b"</Expiration>", body)
        headers = [(k, v) for k, v in captured["headers"] if k.lower() != "content-length"]
        start_response(captured["status"], [*headers, ("Content-Length", str(len(body)))])
        return [body]

    def _signed(self, environ):
        """S3's SigV4 checks (``sandbox.aws.signing``): expired presigned URLs, signatures, unknown keys."""
        return signing.check(environ, self.server.secret_of, self.server.strict_keys)

    def _sts_signed(self, environ, body: bytes):
        """STS checks the signature too (a known key with the wrong secret: 403 SignatureDoesNotMatch), answered
        in STS's ErrorResponse envelope."""
        refused = signing.check(environ, self.server.secret_of, self.server.strict_keys, body=body)
        if refused is None:
            return None
        code = re.search(rb"<Code>([^<]+)</Code>", refused[1])
        message = re.search(rb"<Message>([^<]+)</Message>", refused[1])
        status, out = _xml_error(refused[0], code.group(1).decode() if code else "AccessDenied",
                                 message.group(1).decode() if message else "", sts=True)
        return status, out, []

    def _check_external_id(self, params: dict[str, list[str]]):
        if params.get("Action", [""])[0] != "AssumeRole":
            return None
        from moto.iam.models import iam_backends

        arn = params.get("RoleArn", [""])[0]
        given = params.get("ExternalId", [None])[0]
        account = arn.split(":")[4] if arn.count(":") >= 5 else ""
        try:
            role = iam_backends[account]["aws"].get_role_by_arn(arn)
        except Exception:
            return None  # moto lets an unknown role be assumed; so do we
        policy = json.loads(role.assume_role_policy_document or "{}")
        wanted = [s.get("Condition", {}).get("StringEquals", {}).get("sts:ExternalId")
                  for s in policy.get("Statement", [])]
        wanted = [w for w in wanted if w]
        if wanted and given not in wanted:
            status, body = _xml_error(403, "AccessDenied", f"User is not authorized to perform: sts:AssumeRole on "
                                      f"resource: {arn}", sts=True)
            return status, body, []
        return None

    @staticmethod
    def _check_metadata(environ):
        """S3 refuses user metadata over 2 KB: the UTF-8 bytes of every ``x-amz-meta-`` name (without the
        prefix) and value, summed (400 MetadataTooLarge)."""
        size = sum(len(k) - len("HTTP_X_AMZ_META_") + len(v.encode("latin-1", "replace"))
                   for k, v in environ.items() if k.startswith("HTTP_X_AMZ_META_"))
        if size > METADATA_LIMIT:
            status, body = _xml_error(400, "MetadataTooLarge", "Your metadata headers exceed the maximum allowed "
                                      "metadata size.", False)
            return status, body, []
        return None

    def _check_expiry(self, key_id: str):
        from moto.sts.models import sts_backends

        for account in list(sts_backends.keys()):
            for role in sts_backends[account]["aws"].assumed_roles:
                if role.access_key_id == key_id:
                    expires = role.expiration.replace(tzinfo=UTC) if role.expiration.tzinfo is None \
                        else role.expiration
                    if expires <= datetime.now(UTC):
                        self.server.expired_rejections += 1
                        status, body = _xml_error(400, "ExpiredToken", "The provided token has expired.", False)
                        return status, body, []
                    return None
        return None


class MotoAwsServer(ThreadedMotoServer):
    """Start on 127.0.0.1 and a free port: ``s = MotoAwsServer(); s.start(); s.url``; ``s.stop()``.
    ``ssl_context`` (an ``ssl.SSLContext``, or werkzeug's ``"adhoc"``): serve HTTPS, where boto3 sends what it sends
    only over TLS (unsigned payloads, aws-chunked bodies with trailing checksums)."""

    def __init__(self, port: int = 0, ssl_context=None):
        super().__init__(ip_address="127.0.0.1", port=port, verbose=False)
        crc.install()  # moto's CRC32C / CRC64NVME where its optional libraries are missing (``sandbox.aws.crc``)
        s3_bodies.install()  # keys with a line feed reach moto's S3 handlers
        self.ssl_context = ssl_context
        self.faults: list[AwsFault] = []
        self.fault_hits = 0
        self.expired_rejections = 0
        self.session_lifetime: float | None = None  # seconds; None: as the caller asked
        # access key id -> secret: requests signed with these keys must carry S3's signature (moto's own IAM
        # and STS keys are checked too); "testing" is moto's customary key pair
        self.credentials: dict[str, str] = {"testing": "testing"}
        self.strict_keys = False  # True: a key neither here nor issued by moto is 403 InvalidAccessKeyId
        self._lock = threading.Lock()

    def secret_of(self, key_id: str) -> str | None:
        return self.credentials.get(key_id) or signing.moto_secret(key_id)

    @property
    def url(self) -> str:
        host, port = self.get_host_and_port()
        return f"{'https' if self.ssl_context else 'http'}://{host}:{port}"

    def _take_fault(self, service: str, method: str, path: str = ""):
        with self._lock:
            for fault in self.faults:
                if fault.service == service and fault.count > 0 and fault.method in (None, method) and (
                        fault.path is None or re.search(fault.path, path)):
                    fault.count -= 1
                    self.fault_hits += 1
                    status, body = _xml_error(fault.status, fault.code, f"sandbox fault {fault.code}",
                                              sts=service == "sts")
                    headers = [("Retry-After", str(fault.retry_after))] if fault.retry_after else []
                    return status, (b"" if method == "HEAD" else body), headers
        return None

    def _server_entry(self) -> None:
        app = _Enforcing(DomainDispatcherApplication(create_backend_app), self)
        self._server = make_server(self._ip_address, self._port, app, True, request_handler=MotoRequestHandler,
                                   ssl_context=self.ssl_context)
        self._server_ready_event.set()
        self._server.serve_forever()
