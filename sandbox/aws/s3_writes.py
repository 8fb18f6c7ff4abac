"""Checks on object writes that moto's server leaves out:

- CopyObject / UploadPartCopy preconditions on the source: ``x-amz-copy-source-if-match`` that does not match,
  ``-if-unmodified-since`` when it was modified since, ``-if-modified-since`` when it was not: 412
  PreconditionFailed (moto only honoured ``-if-none-match``). As S3 documents, if-match true wins over a false
  if-unmodified-since, and if-none-match decides over if-modified-since;
- a checksum header (``x-amz-checksum-crc32`` / ``-crc32c`` / ``-crc64nvme`` / ``-sha1`` / ``-sha256``) on a body
  sent whole that does not match it: 400 BadDigest (moto stored the object); one that is no base64 digest of the
  right size: 400 InvalidRequest; a checksum given by value is stored and echoed (moto dropped it). CRC32C and
  CRC64NVME are computed by ``sandbox.aws.crc`` (round 29; they had been left unchecked); bodies sent aws-chunked
  carry their checksum in a trailer and are left to moto;
- CompleteMultipartUpload with ``If-Match`` (``complete_conditions``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import zlib
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import unquote

from sandbox.aws import crc

SIZES = {"crc32": 4, "crc32c": 4, "crc64nvme": 8, "sha1": 20, "sha256": 32}


def _error(status: int, code: str, message: str, **extra: str) -> tuple[int, bytes, list]:
    from sandbox.aws.s3_checks import _error as error

    return error(status, code, message, **extra)


def check(environ: dict, method: str):
    """None when the write may go on, else (status, body, headers)."""
    if method != "PUT":
        return None
    if environ.get("HTTP_X_AMZ_COPY_SOURCE"):
        return _copy_conditions(environ)
    return _checksums(environ)


def _source(header: str):
    """moto's key a copy source names (``[/]bucket/key[?versionId=v]``), or None."""
    from sandbox.aws.s3_checks import _bucket

    path, _, query = header.partition("?")
    name, _, key_name = unquote(path).lstrip("/").partition("/")
    bucket = _bucket(name) if name else None
    if bucket is None or not key_name:
        return None
    version = query.partition("versionId=")[2].split("&")[0] if "versionId=" in query else None
    if version:
        found = [k for k in bucket.keys.getlist(key_name, []) if str(getattr(k, "version_id", "")) == version]
        return found[0] if found else None
    return bucket.keys.get(key_name)


def _when(value: str) -> datetime | None:
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _etags(value: str) -> set[str]:
    return {v.strip().strip('"') for v in value.split(",")}


def _copy_conditions(environ: dict):
    names = ("IF_MATCH", "IF_NONE_MATCH", "IF_MODIFIED_SINCE", "IF_UNMODIFIED_SINCE")
    given = {n: environ.get("HTTP_X_AMZ_COPY_SOURCE_" + n) for n in names}
    if not any(given.values()):
        return None
    key = _source(environ["HTTP_X_AMZ_COPY_SOURCE"])
    if key is None or not hasattr(key, "etag"):
        return None  # moto answers NoSuchKey / NoSuchBucket
    etag = key.etag.strip('"')
    modified = key.last_modified.replace(tzinfo=UTC, microsecond=0) if key.last_modified.tzinfo is None \
        else key.last_modified.replace(microsecond=0)
    failed = None
    if given["IF_MATCH"]:
        if etag not in _etags(given["IF_MATCH"]) and "*" not in _etags(given["IF_MATCH"]):
            failed = "x-amz-copy-source-If-Match"
    elif given["IF_UNMODIFIED_SINCE"]:
        since = _when(given["IF_UNMODIFIED_SINCE"])
        if since is not None and modified > since:
            failed = "x-amz-copy-source-If-Unmodified-Since"
    if failed is None and given["IF_NONE_MATCH"]:
        if etag in _etags(given["IF_NONE_MATCH"]) or "*" in _etags(given["IF_NONE_MATCH"]):
            failed = "x-amz-copy-source-If-None-Match"
    elif failed is None and given["IF_MODIFIED_SINCE"]:
        since = _when(given["IF_MODIFIED_SINCE"])
        if since is not None and modified <= since:
            failed = "x-amz-copy-source-If-Modified-Since"
    if failed is None:
        return None
    return _error(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold",
                  Condition=failed)


def _digest(algorithm: str, body: bytes) -> bytes:
    if algorithm == "crc32":
        return zlib.crc32(body).to_bytes(4, "big")
    return crc.digest(algorithm, body) or hashlib.new(algorithm, body).digest()


def _checksums(environ: dict):
    encoding = environ.get("HTTP_CONTENT_ENCODING", "").lower()
    if "aws-chunked" in encoding or environ.get("HTTP_X_AMZ_CONTENT_SHA256", "").startswith("STREAMING-"):
        return None
    given = {a: environ["HTTP_X_AMZ_CHECKSUM_" + a.upper()] for a in SIZES if environ.get(
        "HTTP_X_AMZ_CHECKSUM_" + a.upper())}
    if not given:
        return None
    for algorithm, value in given.items():
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) != SIZES[algorithm]:
            return _error(400, "InvalidRequest", f"Value for x-amz-checksum-{algorithm} header is invalid.")
    length = environ.get("CONTENT_LENGTH")
    if not length or not length.isdecimal():
        return None
    body = environ["wsgi.input"].read(int(length))
    environ["wsgi.input"] = io.BytesIO(body)
    for algorithm, value in given.items():
        if base64.b64decode(value) != _digest(algorithm, body):
            return _error(400, "BadDigest", f"The {algorithm.upper()} you specified did not match the calculated "
                          "checksum.")
    if len(given) == 1 and not environ.get("HTTP_X_AMZ_SDK_CHECKSUM_ALGORITHM"):
        # a checksum given by value (ChecksumSHA256=...): S3 stores and echoes it; moto keys that off the SDK's
        # algorithm header, which botocore sends only with ChecksumAlgorithm
        environ["HTTP_X_AMZ_SDK_CHECKSUM_ALGORITHM"] = next(iter(given)).upper()
    return None


def complete_conditions(environ: dict, bucket, key: str):
    """CompleteMultipartUpload with ``If-Match`` (S3's conditional writes, 2024): the key's current object must have
    that entity tag, else 412 PreconditionFailed; no object (or a delete marker): 404 NoSuchKey (moto ignored
    If-Match on completion and overwrote whatever was there; it honours If-None-Match itself)."""
    from moto.s3.models import FakeKey

    wanted = environ.get("HTTP_IF_MATCH")
    if not wanted:
        return None
    versions = bucket.keys.getlist(key, [])
    current = versions[-1] if versions else None
    if not isinstance(current, FakeKey):
        from sandbox.aws.s3_listing import _xml

        return _error(404, "NoSuchKey", "The specified key does not exist.", Key=_xml(key))
    tags = _etags(wanted)
    if current.etag.strip('"') in tags or "*" in tags:
        return None
    return _error(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold",
                  Condition="If-Match")
