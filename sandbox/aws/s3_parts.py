"""Round 30: multipart parts and copy directives where moto's server answered otherwise than S3 (each check returns
None when moto may answer, else (status, body, headers)):

- UploadPart with a checksum of another algorithm than the one CreateMultipartUpload named (botocore's default CRC32
  into an upload made with ``ChecksumAlgorithm="SHA256"``): 400 InvalidRequest (moto took the part, and the upload
  completed with a checksum over parts that never carried one). An upload made with no algorithm takes parts with
  any checksum, as S3 does for boto3's default CRC32 parts. [unc] the message is S3's as seen in the wild;
- ListParts of an upload made with a checksum algorithm names it (``ChecksumAlgorithm``, ``ChecksumType``) and each
  part's checksum (moto left all three out, so a resumed upload could not send CompleteMultipartUpload the part
  checksums S3 requires for it); its root element is S3's ``ListPartsResult`` (moto: ``ListPartsResponse``);
- CopyObject with an ``x-amz-metadata-directive`` or ``x-amz-tagging-directive`` other than COPY / REPLACE: 400
  InvalidArgument (moto copied as if COPY) [unc: S3's messages];
- GetObjectLegalHold of a version that never had a legal hold: 404 NoSuchObjectLockConfiguration (moto answered 200
  with an empty ``LegalHold``) [unc: as S3 and MinIO are seen to answer; OFF once set is 200 OFF].

Round 32:

- CompleteMultipartUpload of an upload made with a composite checksum algorithm (``ChecksumAlgorithm="SHA256"``)
  must name each part's checksum: one left out is 400 InvalidRequest naming the part, one that is not the part's
  400 InvalidPart (moto completed both, with a checksum over what was never checked) [unc: S3's messages as seen];
- UploadPartCopy with an ``x-amz-copy-source-range`` past the source object's end, or last before first: 400
  InvalidArgument naming the source's size; one not of the form ``bytes=first-last``: 400 InvalidArgument (moto
  copied what there was) [unc: S3's messages as seen].
"""

from __future__ import annotations

import re

from sandbox.aws import crc

ALGORITHMS = ("CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256")


def _error(status: int, code: str, message: str, **extra: str):
    from sandbox.aws.s3_checks import _error as error

    return error(status, code, message, **extra)


def _upload_algorithm(upload) -> str | None:
    value = upload.metadata.get("x-amz-checksum-algorithm") if upload is not None else None
    return str(value).upper() if value else None


def _part_algorithm(environ: dict) -> str | None:
    """The checksum algorithm a part upload carries: a checksum header, a trailer (aws-chunked over HTTPS), or the
    SDK's algorithm header."""
    for name in ALGORITHMS:
        if environ.get("HTTP_X_AMZ_CHECKSUM_" + name):
            return name
    trailer = environ.get("HTTP_X_AMZ_TRAILER", "")
    if (found := re.search(r"x-amz-checksum-([a-z0-9]+)", trailer, re.I)) is not None:
        return found.group(1).upper()
    sdk = environ.get("HTTP_X_AMZ_SDK_CHECKSUM_ALGORITHM", "").strip().upper()
    return sdk or None


def check(environ: dict, bucket, key: str, method: str, query: dict[str, list[str]]):
    if method == "PUT" and key and "uploadId" in query and "partNumber" in query:
        if environ.get("HTTP_X_AMZ_COPY_SOURCE") and (answer := _copy_range(environ)) is not None:
            return answer
        return _part(environ, bucket, query["uploadId"][0])
    if method == "POST" and key and "uploadId" in query:
        return _complete_checksums(environ, bucket.multiparts.get(query["uploadId"][0]))
    if method == "PUT" and key and environ.get("HTTP_X_AMZ_COPY_SOURCE") and not ({"uploadId", "partNumber"} & set(
            query)):
        return _directives(environ)
    if method == "GET" and key and "legal-hold" in query:
        return _legal_hold(bucket, key, query.get("versionId", [None])[0])
    if method == "GET" and key and "uploadId" in query:
        upload = bucket.multiparts.get(query["uploadId"][0])
        if upload is not None:
            environ["sandbox.rewrite"] = lambda status, body: list_parts(status, body, upload)
    return None


def _part(environ: dict, bucket, upload_id: str):
    wanted = _upload_algorithm(bucket.multiparts.get(upload_id))
    given = _part_algorithm(environ)
    if wanted is None or given is None or given == wanted:
        return None
    return _error(400, "InvalidRequest", f"Checksum Type mismatch occurred, expected checksum Type: "
                  f"{wanted.lower()}, actual checksum Type: {given.lower()}")


def _complete_checksums(environ: dict, upload):
    algorithm = _upload_algorithm(upload)
    kind = str(upload.metadata.get("x-amz-checksum-type") or "").upper() if upload is not None else ""
    if algorithm is None or algorithm == "CRC64NVME" or kind == "FULL_OBJECT":
        return None  # a full-object checksum: the parts' own are optional
    from sandbox.aws.s3_reads import _body

    tag = b"Checksum" + algorithm.encode()
    for text in re.findall(rb"<Part>(.*?)</Part>", _body(environ) or b"", re.S):
        number = re.search(rb"<PartNumber>\s*([0-9]{1,9})\s*</PartNumber>", text)
        stored = upload.parts.get(int(number.group(1))) if number else None
        if stored is None:
            return None  # moto's InvalidPart
        given = re.search(rb"<" + tag + rb">\s*([^<]*?)\s*</" + tag + rb">", text)
        if given is None:
            return _error(400, "InvalidRequest", f"The upload was created using a {algorithm.lower()} checksum. The "
                          "complete request must include the checksum for each part. It was missing for part "
                          f"{int(number.group(1))} in the request.")
        if given.group(1).decode("ascii", "replace") != _checksum(stored.value, algorithm):
            return _error(400, "InvalidPart", "One or more of the specified parts could not be found.  The part may "
                          "not have been uploaded, or the specified entity tag may not match the part's entity tag.",
                          PartNumber=str(int(number.group(1))))
    return None


def _copy_range(environ: dict):
    wanted = environ.get("HTTP_X_AMZ_COPY_SOURCE_RANGE")
    if wanted is None:
        return None
    found = re.fullmatch(r"bytes=([0-9]{1,19})-([0-9]{1,19})", wanted.strip())
    if found is None:
        return _error(400, "InvalidArgument", "The x-amz-copy-source-range value must be of the form bytes=first-last "
                      "where first and last are the zero-based offsets of the first and last bytes to copy",
                      ArgumentName="x-amz-copy-source-range", ArgumentValue=_escaped(wanted[:256]))
    source = _source(environ["HTTP_X_AMZ_COPY_SOURCE"])
    if source is None:
        return None  # moto's NoSuchKey / NoSuchBucket
    first, last = int(found.group(1)), int(found.group(2))
    if first > last or last >= source.size:
        return _error(400, "InvalidArgument", f"Range specified is not valid for source object of size: {source.size}",
                      ArgumentName="x-amz-copy-source-range", ArgumentValue=_escaped(wanted[:256]))
    return None


def _escaped(text: str) -> str:
    from sandbox.aws.s3_checks import _xml

    return _xml(text)


def _source(header: str):
    """The current version of the object ``x-amz-copy-source`` names (None: a version id, or not found)."""
    from urllib.parse import unquote

    from moto.s3.models import FakeKey

    from sandbox.aws.s3_checks import _bucket

    path, _, version = unquote(header).lstrip("/").partition("?versionId=")
    name, _, key = path.partition("/")
    bucket = _bucket(name) if name and key and not version else None
    found = bucket.keys.get(key) if bucket is not None else None
    return found if isinstance(found, FakeKey) else None


def _directives(environ: dict):
    for header, name in (("HTTP_X_AMZ_METADATA_DIRECTIVE", "metadata"), ("HTTP_X_AMZ_TAGGING_DIRECTIVE", "tagging")):
        value = environ.get(header)
        if value is not None and value not in ("COPY", "REPLACE"):
            from sandbox.aws.s3_checks import _xml

            return _error(400, "InvalidArgument", f"Unknown {name} directive.",
                          ArgumentName=f"x-amz-{name}-directive", ArgumentValue=_xml(value[:256]))
    return None


def _legal_hold(bucket, key: str, version: str | None):
    if not getattr(bucket, "object_lock_enabled", False):
        return None  # s3_reads.object_lock: 400 InvalidRequest
    from moto.s3.models import FakeDeleteMarker

    from sandbox.aws.s3_lock import _version

    found = _version(bucket, key, version)
    if found is None or isinstance(found, FakeDeleteMarker):
        return None  # moto's NoSuchKey / NoSuchVersion
    if getattr(found, "lock_legal_status", None) in ("ON", "OFF"):
        return None
    return _error(404, "NoSuchObjectLockConfiguration", "The specified object does not have a ObjectLock "
                  "configuration")


def _checksum(value: bytes, algorithm: str) -> str:
    from moto.s3.utils import compute_checksum

    crc.install()
    out = compute_checksum(value, algorithm)
    return out.decode() if isinstance(out, bytes) else str(out)


def list_parts(status: str, body: bytes, upload) -> bytes:
    """moto's ListParts answer with the upload's checksum algorithm and type, and each part's checksum."""
    algorithm = _upload_algorithm(upload)
    if not status.startswith("200") or b"<ListParts" not in body:
        return body
    body = re.sub(rb"(</?)ListPartsResponse\b", rb"\1ListPartsResult", body)  # S3's root element
    if algorithm is None:
        return body
    kind = str(upload.metadata.get("x-amz-checksum-type") or (
        "FULL_OBJECT" if algorithm == "CRC64NVME" else "COMPOSITE")).upper()

    def part(match: re.Match) -> bytes:
        text = match.group(0)
        number = re.search(rb"<PartNumber>(\d+)</PartNumber>", text)
        stored = upload.parts.get(int(number.group(1))) if number else None
        if stored is None or b"<Checksum" in text:
            return text
        value = _checksum(stored.value, algorithm).encode()
        tag = b"Checksum" + algorithm.encode()
        return text.replace(b"</Part>", b"<" + tag + b">" + value + b"</" + tag + b"></Part>")

    body = re.sub(rb"<Part>.*?</Part>", part, body, flags=re.S)
    if b"<ChecksumAlgorithm>" not in body:
        extra = f"<ChecksumAlgorithm>{algorithm}</ChecksumAlgorithm><ChecksumType>{kind}</ChecksumType>".encode()
        body = re.sub(rb"(</UploadId>)", lambda m: m.group(1) + extra, body, count=1)
    return body
