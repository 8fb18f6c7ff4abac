"""S3 answers moto's server gets wrong, checked before moto sees the request (on a bucket moto holds, named in the
path or, virtual-host style, in the Host header):

- a key over 1024 bytes (UTF-8) written: 400 KeyTooLongError (moto stored it);
- a ListObjectsV2 continuation token moto never gave out: 400 InvalidArgument (moto answered 500);
- a listing asking max-keys over 1000 gets 1000 at most (moto returned every key); a DeleteObjects of more than
  1000 keys is 400 MalformedXML (moto deleted them); in quiet mode it answers only the errors (marked here,
  ``sandbox.quiet_delete``, for the server to drop moto's Deleted elements);

- a part upload (``PUT ?partNumber&uploadId``) or a completion (``POST ?uploadId``) for an upload id that does not
  exist (never made, aborted, completed) or that belongs to another key: 404 NoSuchUpload (moto answered 500 to
  both, which boto3 retries, or took a part for another key);
- a part number outside 1-10000: 400 InvalidArgument (moto answered 404 NoSuchUpload for 0);
- a ``Content-MD5`` that is not a base64 MD5: 400 InvalidDigest; one that does not match the body: 400 BadDigest
  (moto stored the object). Bodies sent aws-chunked (streaming signatures, trailing checksums) are left to moto.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import re
from urllib.parse import parse_qs, unquote

from sandbox.aws import (
    s3_attributes,
    s3_bodies,
    s3_headers,
    s3_listing,
    s3_lock,
    s3_parts,
    s3_reads,
    s3_rules,
    s3_sse_c,
    s3_suspended,
    s3_uploads,
    s3_versions,
    s3_writes,
)
from sandbox.aws.addressing import bucket_and_key, request_target
from sandbox.core.numbers import ascii_int

MAX_KEY = 1024  # bytes of UTF-8
READ_PARAMS = {"versionId", "partNumber", "x-id"}  # GetObject's own query parameters (besides response-*)
MAX_LIST = 1000  # keys a listing returns, and a DeleteObjects takes
NO_UPLOAD = (
    "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted "
    "or completed."
)


def _error(status: int, code: str, message: str, **extra: str) -> tuple[int, bytes, list]:
    more = "".join(f"<{k}>{v}</{k}>" for k, v in extra.items())
    body = (
        f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code><Message>{message}</Message>{more}'
        "<RequestId>projectx-sandbox</RequestId></Error>"
    )
    return status, body.encode(), []


def _bucket(name: str):
    from moto.s3.models import s3_backends

    where = s3_backends.bucket_accounts.get(name)
    if where is None:
        return None
    partition, account = where
    return s3_backends[account][partition].buckets.get(name)


def check(environ: dict):
    """None when moto may answer, else (status, body, headers)."""
    method = environ.get("REQUEST_METHOD", "GET")
    raw = request_target(environ)
    path = unquote(raw.partition("?")[0].encode("latin-1", "replace").decode("utf-8", "replace"))
    name, key = bucket_and_key(environ.get("HTTP_HOST", ""), path)
    query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    bucket = _bucket(name) if name else None
    if bucket is None:
        subresources = [n for n in query if not n.startswith(("X-Amz-", "x-amz-")) and n not in s3_listing.AUTH]
        if method == "PUT" and name and not key and not subresources:
            return s3_rules.create_bucket(name)
        return None
    if (answer := _integers(query)) is not None:
        return answer
    if (answer := s3_headers.check(environ, name, method)) is not None:
        return answer
    if s3_versions.is_listing(method, key, query):
        return s3_versions.answer(bucket, query, MAX_LIST)
    attributes = method == "GET" and key and "attributes" in query
    if attributes and (answer := s3_attributes.object_parts(environ, bucket, key, query)) is not None:
        return answer
    if (answer := s3_sse_c.check(environ, bucket, key, method, query)) is not None:
        return answer
    if method in ("GET", "HEAD") and key and _plain_read(query):
        answer = s3_rules.delete_marker(bucket, key, method, query.get("versionId", [None])[0])
        if answer is not None:
            return answer
        answer = s3_reads.read(environ, bucket, key, method, query)
        if answer is not None:
            return answer
    if (answer := s3_lock.check(environ, bucket, key, method, query)) is not None:
        return answer
    if (answer := s3_parts.check(environ, bucket, key, method, query)) is not None:
        return answer
    if (answer := s3_suspended.check(environ, bucket, key, method, query)) is not None:
        return answer
    if key and (answer := s3_reads.object_lock(bucket, method, query)) is not None:
        return answer
    if method == "PUT" and "tagging" in query and (answer := s3_reads.tagging(environ)) is not None:
        return answer
    if method == "PUT" and not key and "tagging" in query and (answer := s3_bodies.bucket_tagging(environ)):
        return answer
    if method == "GET" and not key and query.get("continuation-token", [""])[0]:
        answer = _continuation(name, query["continuation-token"][0])
        if answer is not None:
            return answer
    if method == "GET" and not key and query.get("max-keys", [""])[0].isdecimal():
        _cap_max_keys(environ, int(query["max-keys"][0]))
    if s3_listing.is_listing(method, key, query):
        if "continuation-token" in query and not query["continuation-token"][0]:
            return _error(400, "InvalidArgument", "The continuation token provided is incorrect",
                          ArgumentName="continuation-token", ArgumentValue="")
        return s3_listing.answer(bucket, query, MAX_LIST)
    if s3_uploads.is_listing(method, key, query):
        from moto.s3.models import s3_backends

        return s3_uploads.answer(bucket, query, s3_backends.bucket_accounts[name][1])
    if "uploadId" in query:
        s3_uploads.seen(bucket, query["uploadId"][0])
        if key and (answer := s3_uploads.finishing(environ, bucket, key, method, query["uploadId"][0])) is not None:
            return answer
    if method == "POST" and not key and "delete" in query:
        answer = (s3_bodies.delete_objects(environ) or _delete_count(environ)
                  or s3_suspended.delete_objects(environ, bucket))
        if answer is None:
            s3_versions.delete_markers_removal(environ, bucket)
        return answer
    if method == "DELETE" and key and "versionId" in query:
        s3_versions.delete_marker_removal(environ, bucket, key, query)
    if method not in ("PUT", "POST") or not key:
        return None
    if len(key.encode("utf-8")) > MAX_KEY:
        return _error(
            400,
            "KeyTooLongError",
            "Your key is too long",
            Size=str(len(key.encode("utf-8"))),
            MaxSizeAllowed=str(MAX_KEY),
        )
    if "uploadId" in query:
        answer = _upload_checks(bucket, key, method, query)
        if answer is None and method == "POST":
            answer = (s3_reads.complete_order(environ) or s3_bodies.complete(environ, bucket, query["uploadId"][0])
                      or s3_writes.complete_conditions(environ, bucket, key))
        if answer is not None:
            return answer
    answer = s3_writes.check(environ, method)
    if answer is not None:
        return answer
    if method == "PUT" and environ.get("HTTP_CONTENT_MD5"):
        return _digest(environ)
    return None


def _plain_read(query: dict) -> bool:
    """Whether a GET / HEAD of a key is GetObject / HeadObject itself (a version, a part, response-* overrides,
    query authentication), not a subresource (a multipart upload's parts, tagging, acl, attributes, retention,
    legal hold...), which a delete marker does not answer for: those go on to moto."""
    return all(n in READ_PARAMS or n.startswith(("response-", "X-Amz-", "x-amz-")) or n in s3_listing.AUTH
               for n in query)


def _continuation(name: str, token: str):
    """A ListObjectsV2 continuation token moto never handed out (moto answered 500)."""
    from moto.s3.models import s3_backends

    partition, account = s3_backends.bucket_accounts[name]
    if token in s3_backends[account][partition]._pagination_tokens:
        return None
    return _error(
        400,
        "InvalidArgument",
        "The continuation token provided is incorrect",
        ArgumentName="continuation-token",
        ArgumentValue=_xml(token),
    )


INT_PARAMS = ("max-keys", "max-parts", "max-uploads", "part-number-marker", "partNumber")
INT_MAX = 2**31 - 1


def _integers(query: dict[str, list[str]]):
    """S3's integer query parameters must be ASCII integers within 0..2^31-1: else 400 InvalidArgument (moto
    answered 500 to 5,000 digits, 20 digits, 'nan', '1e999' or '²') [unc: S3's exact message]."""
    for name in INT_PARAMS:
        raw = query.get(name, [""])[0]
        value = ascii_int(raw, cap=INT_MAX + 1, signed=True)
        # over 20 characters (thousands of leading zeros) would still reach int() in moto (4,300 digits at most)
        if raw and (value is None or not 0 <= value <= INT_MAX or len(raw) > 20):
            return _error(400, "InvalidArgument", f"Provided {name} not an integer or within integer range",
                          ArgumentName=name, ArgumentValue=_xml(raw[:64]))
    return None


def _cap_max_keys(environ: dict, asked: int) -> None:
    """A listing returns at most 1000 keys whatever max-keys asks (moto returned them all): the request moto sees
    asks for 1000 (its answer's MaxKeys then says 1000 [unc: S3 may echo the number asked])."""
    if asked <= MAX_LIST:
        return
    for name in ("QUERY_STRING", "RAW_URI", "REQUEST_URI"):
        if name in environ:
            environ[name] = re.sub(r"(^|[?&])max-keys=\d+", rf"\g<1>max-keys={MAX_LIST}", environ[name])


def _delete_count(environ: dict):
    """DeleteObjects takes at most 1000 keys: 400 MalformedXML beyond (moto deleted them all)."""
    length = environ.get("CONTENT_LENGTH")
    if not length or not length.isdecimal():
        return None
    body = environ["wsgi.input"].read(int(length))
    environ["wsgi.input"] = io.BytesIO(body)
    environ["sandbox.quiet_delete"] = re.search(rb"<Quiet>\s*true\s*</Quiet>", body, re.I) is not None
    if len(re.findall(rb"<Object>", body)) > MAX_LIST:
        return _error(
            400,
            "MalformedXML",
            "The XML you provided was not well-formed or did not validate against our published schema",
        )
    return None


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _upload_checks(bucket, key: str, method: str, query: dict[str, list[str]]):
    upload_id = query["uploadId"][0]
    number = query.get("partNumber", [None])[0]
    if method == "PUT" and number is not None and (not number.isdecimal() or not 1 <= int(number) <= 10000):
        return _error(
            400,
            "InvalidArgument",
            "Part number must be an integer between 1 and 10000, inclusive",
            ArgumentName="partNumber",
            ArgumentValue=number,
        )
    if method == "PUT" and number is None:
        return None
    upload = bucket.multiparts.get(upload_id)
    if upload is None or upload.key_name != key:
        return _error(404, "NoSuchUpload", NO_UPLOAD, UploadId=upload_id)
    return None


def _digest(environ: dict):
    encoding = environ.get("HTTP_CONTENT_ENCODING", "").lower()
    if "aws-chunked" in encoding or environ.get("HTTP_X_AMZ_CONTENT_SHA256", "").startswith("STREAMING-"):
        return None
    given = environ["HTTP_CONTENT_MD5"]
    try:
        digest = base64.b64decode(given, validate=True)
    except (binascii.Error, ValueError):
        digest = b""
    if len(digest) != 16:
        return _error(400, "InvalidDigest", "The Content-MD5 you specified was not valid.", **{"Content-MD5": given})
    length = environ.get("CONTENT_LENGTH")
    if not length or not length.isdecimal():
        return None
    body = environ["wsgi.input"].read(int(length))
    environ["wsgi.input"] = io.BytesIO(body)
    if hashlib.md5(body).digest() != digest:
        return _error(
            400,
            "BadDigest",
            "The Content-MD5 you specified did not match what we received.",
            ExpectedDigest=given,
            CalculatedDigest=base64.b64encode(hashlib.md5(body).digest()).decode(),
        )
    return None
