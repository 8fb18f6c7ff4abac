"""Server-side encryption with customer-provided keys (SSE-C), as S3 documents it (moto ignored the headers: an
object written with a key was read without one, and no answer carried the key's algorithm and MD5):

- a write (PutObject, CreateMultipartUpload, UploadPart, CopyObject's destination) or a read (GetObject, HeadObject,
  CopyObject's / UploadPartCopy's source with the ``x-amz-copy-source-`` headers) naming a key gives all three
  headers: algorithm ``AES256`` (else 400 InvalidEncryptionAlgorithmError), a base64 256-bit key and that key's
  base64 MD5 (else 400 InvalidArgument); over plain HTTP S3 refuses them (400 InvalidRequest);
- an object stored with a key is read only with that key: none given, 400 InvalidRequest (HEAD: no body); another
  key, 403 AccessDenied; a key given for an object stored without one, 400 InvalidRequest [unc: code and message of
  the last two as observed on S3, not in its API reference];
- the parts of an upload created with a key carry the same key (400 InvalidRequest otherwise [unc]); the completed
  object is stored with the upload's key;
- answers to those requests carry ``x-amz-server-side-encryption-customer-algorithm`` and ``-key-MD5``.

The key's MD5 is kept on moto's own objects (``_sandbox_sse_c`` on the FakeKey / FakeMultipart), so it lives and dies
with them (an overwrite, a delete, the bucket's deletion); nothing is encrypted at rest.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from urllib.parse import parse_qs, unquote

from sandbox.aws.s3_listing import AUTH

_ATTR = "_sandbox_sse_c"
_HEADER = "HTTP_X_AMZ_{}SERVER_SIDE_ENCRYPTION_CUSTOMER_{}"
_OUT = "x-amz-server-side-encryption-customer-"
STORED = ("The object was stored using a form of Server Side Encryption. The correct parameters must be provided "
          "to retrieve the object.")


def _error(status: int, code: str, message: str, method: str = "GET"):
    body = (f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code><Message>{message}</Message>'
            "<RequestId>projectx-sandbox</RequestId></Error>").encode()
    return status, (b"" if method == "HEAD" else body), [("Content-Type", "application/xml")]


def _given(environ: dict, copy: bool = False):
    """The request's key MD5 (base64) when it names a key, None when it names none, or an error answer."""
    prefix = "COPY_SOURCE_" if copy else ""
    algorithm, key, digest = (environ.get(_HEADER.format(prefix, part)) for part in ("ALGORITHM", "KEY", "KEY_MD5"))
    if algorithm is None and key is None and digest is None:
        return None
    if environ.get("wsgi.url_scheme") != "https":
        return _error(400, "InvalidRequest", "Requests specifying Server Side Encryption with Customer provided keys "
                      "must be made over a secure connection.")
    if algorithm is None:
        return _error(400, "InvalidArgument", "Requests specifying Server Side Encryption with Customer provided keys "
                      "must provide a valid encryption algorithm.")
    if algorithm != "AES256":
        return _error(400, "InvalidEncryptionAlgorithmError", "The encryption request you specified is not valid. "
                      "Supported value: AES256.")
    try:
        raw = base64.b64decode(key or "", validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        return _error(400, "InvalidArgument", "The secret key was invalid for the specified algorithm.")
    if digest is None:  # [unc] S3 may compute it; boto3 always sends it
        return _error(400, "InvalidArgument", "Requests specifying Server Side Encryption with Customer provided keys "
                      "must provide the client calculated MD5 of the secret key.")
    if base64.b64encode(hashlib.md5(raw).digest()).decode() != digest:
        return _error(400, "InvalidArgument", "The calculated MD5 hash of the key did not match the hash that was "
                      "provided.")
    return digest


def _headers(digest: str) -> list[tuple[str, str]]:
    return [(_OUT + "algorithm", "AES256"), (_OUT + "key-MD5", digest)]


def _object(bucket, key: str, version: str | None):
    for found in reversed(bucket.keys.getlist(key, [])):
        if version in (None, "null" if found.version_id in (None, "null") else found.version_id):
            return found
    return None


def _read(stored: str | None, given, method: str):
    """A read of an object stored with ``stored`` (an MD5 or None) by a request that gave ``given``."""
    if isinstance(given, tuple):
        return given
    if stored and given is None:
        return _error(400, "InvalidRequest", STORED, method)
    if stored and given != stored:
        return _error(403, "AccessDenied", "Access Denied", method)
    if given and not stored:
        return _error(400, "InvalidRequest", "The encryption parameters are not applicable to this object.", method)
    return None


def _source(environ: dict):
    """CopyObject's / UploadPartCopy's source object and the MD5 the request gave for it (or an error answer)."""
    from sandbox.aws.s3_checks import _bucket

    raw = environ.get("HTTP_X_AMZ_COPY_SOURCE", "")
    path, _, query = unquote(raw).lstrip("/").partition("?")
    name, _, key = path.partition("/")
    bucket = _bucket(name)
    version = parse_qs(query).get("versionId", [None])[0]
    found = _object(bucket, key, version) if bucket is not None else None
    if found is None:
        return None  # moto answers the missing source
    return _read(getattr(found, _ATTR, None), _given(environ, copy=True), "PUT")


def _after(environ: dict, hook) -> None:
    environ.setdefault("sandbox.after", []).append(hook)


def check(environ: dict, bucket, key: str, method: str, query: dict[str, list[str]]):
    """None when moto may answer (answers then carry the key's headers, writes keep its MD5), else an error."""
    if not key:
        return None
    return _check(environ, bucket, key, method, query)


def _check(environ: dict, bucket, key: str, method: str, query: dict[str, list[str]]):
    upload_id = query.get("uploadId", [None])[0]
    given = _given(environ)
    if isinstance(given, tuple):
        return (given[0], b"" if method == "HEAD" else given[1], given[2])
    names = {n for n in query if not n.startswith(("X-Amz-", "x-amz-", "response-"))} - {"x-id", *AUTH}
    if method in ("GET", "HEAD") and names <= {"versionId", "partNumber"}:
        found = _object(bucket, key, query.get("versionId", [None])[0])
        if found is None:
            return None
        answer = _read(getattr(found, _ATTR, None), given, method)
        if answer is None and given:
            environ.setdefault("sandbox.extra_headers", []).extend(_headers(given))
        return answer
    if method == "PUT" and not names:
        if "HTTP_X_AMZ_COPY_SOURCE" in environ and (answer := _source(environ)) is not None:
            return answer
        _after(environ, lambda status, body: _keep(bucket, key, given, status))
    elif method == "POST" and "uploads" in query:
        _after(environ, lambda status, body: _keep_upload(bucket, body, given, status))
    elif method == "PUT" and upload_id is not None:
        upload = bucket.multiparts.get(upload_id)
        stored = getattr(upload, _ATTR, None) if upload is not None else None
        if upload is not None and given != stored:
            return _error(400, "InvalidRequest", "The multipart upload initiate requested encryption. Subsequent part "
                          "requests must include the appropriate encryption parameters." if stored else
                          "The encryption parameters are not applicable to this object.")
        if "HTTP_X_AMZ_COPY_SOURCE" in environ and (answer := _source(environ)) is not None:
            return answer
    elif method == "POST" and upload_id is not None:  # CompleteMultipartUpload's answer names no SSE-C headers
        upload = bucket.multiparts.get(upload_id)
        stored = getattr(upload, _ATTR, None) if upload is not None else None
        _after(environ, lambda status, body: _keep(bucket, key, stored, status))
        return None
    else:
        return None
    if given:
        environ.setdefault("sandbox.extra_headers", []).extend(_headers(given))
    return None


def _keep(bucket, key: str, digest: str | None, status: str) -> None:
    """The object a write made is stored with the request's (or its upload's) key, or with none."""
    if not status.startswith("200"):
        return
    found = bucket.keys.get(key)
    if found is None:
        return
    if digest:
        setattr(found, _ATTR, digest)
    else:
        vars(found).pop(_ATTR, None)


def _keep_upload(bucket, body: bytes, digest: str | None, status: str) -> None:
    import re

    found = re.search(rb"<UploadId>([^<]+)</UploadId>", body)
    upload = bucket.multiparts.get(found.group(1).decode()) if found and status.startswith("200") else None
    if upload is not None and digest:
        setattr(upload, _ATTR, digest)
