"""Round 24: S3 answers on reads and object subresources that moto's server gets wrong (checked before moto sees the
request; every function returns None when moto may answer, else (status, body, headers)):

- GetObject / HeadObject ``partNumber`` past the object's parts (a multipart object's part that is not in it, or
  above 1 for an object put whole): 416 InvalidPartNumber "The requested partnumber is not satisfiable" with
  ``PartNumberRequested`` / ``ActualPartCount`` (moto: 500 KeyError, or the whole object); one outside 1-10000 or no
  integer: 400 InvalidArgument; GET of a part serves that part's bytes (206, Content-Range, x-amz-mp-parts-count;
  moto served the whole object); HEAD of a part is 206 with the object's headers (ETag, metadata, Content-Type,
  VersionId), Content-Range and the part's length (round 34; moto: 200 from the part's own record); with a Range
  header too: 400 InvalidRequest;
- a ``Range`` header moto cannot split (no ``=``, or several): ignored, the whole object 200 (moto: 500) [unc: S3
  ignores a Range it cannot read, as HTTP says a server may]; a 416 to a Range carries ``Content-Range: bytes */size``
  (round 35);
- conditional reads as S3 documents them: If-Match true wins over a false If-Unmodified-Since (200, moto 412); with
  If-None-Match, If-Modified-Since is not looked at (RFC 7232 3.3) [unc: S3 documents only the "INM false, IMS
  true: 304" pair, which this keeps]; entity tags compare with or without quotes, in a comma list, or ``*`` (moto's
  HEAD compared them byte for byte); a 304 names Last-Modified beside the ETag (round 35; moto: ETag only) [unc];
- CompleteMultipartUpload whose parts are not in ascending part-number order: 400 InvalidPartOrder (moto sorted
  nothing and judged the first small part EntityTooSmall);
- PutObjectTagging / PutBucketTagging with one key twice: 400 InvalidTag (moto kept the last);
- Get/PutObjectRetention and Get/PutObjectLegalHold on a bucket without Object Lock: 400 InvalidRequest "Bucket is
  missing Object Lock Configuration" (moto: 500).
"""

from __future__ import annotations

import io
import itertools
import re
from datetime import UTC
from email.utils import parsedate_to_datetime

PART_RE = re.compile(r"^[0-9]+$")


def _error(status: int, code: str, message: str, **extra: str):
    from sandbox.aws.s3_checks import _error as error

    return error(status, code, message, **extra)


def _key(bucket, name: str, version: str | None):
    from moto.s3.models import FakeKey

    if version:
        found = [k for k in bucket.keys.getlist(name, []) if str(getattr(k, "version_id", "")) == version]
        key = found[0] if found else None
    else:
        key = bucket.keys.get(name)
    return key if isinstance(key, FakeKey) else None


def _parts(key) -> int:
    """How many parts an object was completed from (1 for one put whole)."""
    count = key.etag.strip('"').rpartition("-")[2] if key.multipart is not None else ""
    return int(count) if count.isdecimal() else 1


def read(environ: dict, bucket, name: str, method: str, query: dict[str, list[str]]):
    """GetObject / HeadObject: part numbers, unreadable ranges, conditional headers."""
    number = query.get("partNumber", [None])[0]
    if number is not None and (not PART_RE.match(number) or not 1 <= int(number) <= 10000):
        status, body, headers = _error(400, "InvalidArgument", "Part number must be an integer between 1 and "
                                       "10000, inclusive", ArgumentName="partNumber", ArgumentValue=number[:64])
        return status, b"" if method == "HEAD" else body, headers
    key = _key(bucket, name, query.get("versionId", [None])[0])
    if key is None:
        return None
    _conditions(environ, key)
    if number is not None:
        count = _parts(key)
        present = int(number) in key.multipart.parts if key.multipart is not None else int(number) == 1
        if not present or int(number) > count:
            status, body, headers = _error(416, "InvalidPartNumber", "The requested partnumber is not satisfiable",
                                           PartNumberRequested=number, ActualPartCount=str(count))
            return status, b"" if method == "HEAD" else body, headers
        if environ.get("HTTP_RANGE"):
            status, body, headers = _error(400, "InvalidRequest", "Cannot specify both Range header and partNumber "
                                           "query parameter")
            return status, b"" if method == "HEAD" else body, headers
        if method == "GET" and key.multipart is not None:
            _part_range(environ, key, int(number), count)
        elif key.multipart is not None:
            _head_part(environ, key, int(number), count)
        return None
    ranged = environ.get("HTTP_RANGE")
    if ranged is not None and (ranged.count("=") != 1 or not ranged.strip().lower().startswith("bytes=")):
        del environ["HTTP_RANGE"]
    elif ranged is not None:
        _range_size(environ, key.size)
    return None


def _range_size(environ: dict, size: int) -> None:
    """A 416 to a Range names the object's size, ``Content-Range: bytes */<size>`` (RFC 9110 15.5.17; moto sent no
    Content-Range) [unc: S3's header, its body's ActualObjectSize says the same]."""

    def rewrite(status: str, headers: list) -> tuple[str, list]:
        if not status.startswith("416"):
            return status, headers
        return status, [(k, v) for k, v in headers if k.lower() != "content-range"] + [
            ("Content-Range", f"bytes */{size}")]

    _rewrite_after(environ, rewrite)


def _part_range(environ: dict, key, number: int, count: int) -> None:
    """GET of one part of a multipart object: that part's bytes, 206 with Content-Range and x-amz-mp-parts-count
    (moto served the whole object): asked of moto as the byte range the part covers."""
    numbers = sorted(key.multipart.parts)
    sizes = {n: key.multipart.parts[n].size for n in numbers}
    if len(numbers) != count or sum(sizes.values()) != key.size:
        return  # parts uploaded but left out of the completion: which bytes are whose is not known here
    start = sum(sizes[n] for n in numbers if n < number)
    environ["HTTP_RANGE"] = f"bytes={start}-{start + sizes[number] - 1}"
    environ.setdefault("sandbox.extra_headers", []).append(("x-amz-mp-parts-count", str(count)))


def _head_part(environ: dict, key, number: int, count: int) -> None:
    """HEAD of one part of a multipart object, answered as S3 answers GET of the part without a body: moto is asked
    for HEAD of the object itself (its answer from the part's record had no x-amz-meta-*, no Content-Type or
    VersionId of the object, and the part's own MD5 as ETag and time as Last-Modified), then made 206 with the
    part's Content-Length and Content-Range and x-amz-mp-parts-count (moto: 200, no Content-Range). The object's
    whole checksum is left out: it does not describe the part [unc]."""
    numbers = sorted(key.multipart.parts)
    sizes = {n: key.multipart.parts[n].size for n in numbers}
    if len(numbers) != count or sum(sizes.values()) != key.size:
        return
    start = sum(sizes[n] for n in numbers if n < number)
    environ["QUERY_STRING"] = "&".join(p for p in environ.get("QUERY_STRING", "").split("&")
                                       if p.partition("=")[0] != "partNumber")
    environ.pop("HTTP_X_AMZ_CHECKSUM_MODE", None)
    replaced = {"content-length": str(sizes[number]), "x-amz-mp-parts-count": str(count),
                "content-range": f"bytes {start}-{start + sizes[number] - 1}/{key.size}"}

    def rewrite(status: str, headers: list) -> tuple[str, list]:
        if not status.startswith("200"):
            return status, headers
        kept = [(k, v) for k, v in headers if k.lower() not in replaced and not k.lower().startswith("x-amz-checksum")]
        return "206 Partial Content", kept + [(k.title(), v) for k, v in replaced.items()]

    _rewrite_after(environ, rewrite)


def _rewrite_after(environ: dict, rewrite) -> None:
    """Run ``rewrite(status, headers)`` on moto's answer, after any rewrite already asked for."""
    before = environ.get("sandbox.head_rewrite")
    environ["sandbox.head_rewrite"] = rewrite if before is None else (lambda s, h: rewrite(*before(s, h)))


def _not_modified(environ: dict, key) -> None:
    """A 304 carries the object's Last-Modified beside its ETag (moto sent the ETag only) [unc: S3's 304 has been
    seen with both; RFC 9110 15.4.5 lets a server send it]."""
    stamp = key.last_modified_RFC1123

    def rewrite(status: str, headers: list) -> tuple[str, list]:
        if status.startswith("304") and not any(k.lower() == "last-modified" for k, _ in headers):
            headers = [*headers, ("Last-Modified", stamp)]
        return status, headers

    _rewrite_after(environ, rewrite)


def _tags(value: str) -> set[str]:
    return {v.strip().removeprefix("W/").strip('"') for v in value.split(",") if v.strip()}


def _since(value: str):
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _conditions(environ: dict, key) -> None:
    """Rewrite the conditional headers so that moto's byte-for-byte checks give S3's answer."""
    etag = key.etag.strip('"')
    if environ.get("HTTP_IF_NONE_MATCH") is not None or environ.get("HTTP_IF_MODIFIED_SINCE"):
        _not_modified(environ, key)
    if_match = environ.get("HTTP_IF_MATCH")
    if if_match is not None:
        tags = _tags(if_match)
        if etag in tags or "*" in tags:
            environ.pop("HTTP_IF_MATCH")  # true: If-Unmodified-Since no longer counts
            environ.pop("HTTP_IF_UNMODIFIED_SINCE", None)
        else:
            environ["HTTP_IF_MATCH"] = '"sandbox-no-match"'
    elif environ.get("HTTP_IF_UNMODIFIED_SINCE") and _since(environ["HTTP_IF_UNMODIFIED_SINCE"]) is None:
        environ.pop("HTTP_IF_UNMODIFIED_SINCE")  # a date nobody can read is no condition [unc]
    none_match = environ.get("HTTP_IF_NONE_MATCH")
    if none_match is not None:
        environ.pop("HTTP_IF_MODIFIED_SINCE", None)
        tags = _tags(none_match)
        if etag in tags or "*" in tags:
            environ["HTTP_IF_NONE_MATCH"] = key.etag  # what moto compares against: 304
        else:
            environ.pop("HTTP_IF_NONE_MATCH")
    elif environ.get("HTTP_IF_MODIFIED_SINCE") and _since(environ["HTTP_IF_MODIFIED_SINCE"]) is None:
        environ.pop("HTTP_IF_MODIFIED_SINCE")  # no HTTP-date: ignored (RFC 7232 3.3; moto answered 500)


def _body(environ: dict) -> bytes | None:
    length = environ.get("CONTENT_LENGTH")
    if not length or not length.isdecimal():
        return None
    body = environ["wsgi.input"].read(int(length))
    environ["wsgi.input"] = io.BytesIO(body)
    return body


def complete_order(environ: dict):
    """CompleteMultipartUpload's parts must come in ascending part-number order."""
    body = _body(environ)
    if not body:
        return None
    numbers = [int(n) for n in re.findall(rb"<PartNumber>\s*([0-9]{1,9})\s*</PartNumber>", body)]
    if any(b <= a for a, b in itertools.pairwise(numbers)):
        return _error(400, "InvalidPartOrder", "The list of parts was not in ascending order. The parts list must "
                      "be specified in order by part number.")
    return None


def tagging(environ: dict):
    """A tag set naming one key twice: 400 InvalidTag."""
    body = _body(environ)
    if not body:
        return None
    keys = re.findall(rb"<Tag>\s*<Key>(.*?)</Key>", body, re.S)
    if len(keys) != len(set(keys)):
        return _error(400, "InvalidTag", "Cannot provide multiple Tags with the same key")
    return None


def object_lock(bucket, method: str, query: dict[str, list[str]]):
    """Retention and legal hold of an object in a bucket without Object Lock."""
    if method not in ("GET", "PUT") or not ({"retention", "legal-hold"} & set(query)):
        return None
    if getattr(bucket, "object_lock_enabled", False):
        return None
    return _error(400, "InvalidRequest", "Bucket is missing Object Lock Configuration")
