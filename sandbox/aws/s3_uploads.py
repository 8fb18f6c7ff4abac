"""ListMultipartUploads answered by the sandbox from moto's store, as S3 pages it (moto ignored max-uploads,
key-marker, upload-id-marker and delimiter, listed uploads in creation order rather than by key, and dated every
one 2010-11-10):

- uploads sorted by key, then by initiation (creation order), and common prefixes (with a delimiter) count together
  towards max-uploads (at most 1000);
- ``key-marker`` alone resumes after that key; with ``upload-id-marker``, after that upload of that key;
- truncated pages carry ``NextKeyMarker`` / ``NextUploadIdMarker`` (what boto3's paginator follows);
- ``Initiated`` is when CreateMultipartUpload answered (moto keeps no creation time): the time is kept on moto's
  upload object itself (``stamp``), so it goes when the upload goes (completed, aborted, its bucket deleted) and
  no module-level table of upload ids grows with every upload a long-lived server sees (round 24: a global
  ``_SEEN`` dict was never pruned). An upload the sandbox did not see made (made before the wrapper, or by
  moto directly) is stamped when first named in a part upload or a listing;
- a completed multipart object's checksum (``with_checksum``) in CompleteMultipartUpload's answer and HEAD's;
- AbortMultipartUpload of an upload that was completed or aborted a short while ago answers 204 as S3 does
  (``finishing``; moto: 404 NoSuchUpload, which failed boto3's own multipart test, whose cleanup aborts the upload
  it completed). An upload id never made is still 404 NoSuchUpload. [unc] S3 documents neither the 204 nor how long
  it lasts (observed: some hours); the sandbox remembers the last 10000 for 3 hours, on moto's bucket object.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from urllib.parse import quote

from sandbox.aws.s3_listing import AUTH, NS, OWNER, _xml

PARAMS = {"uploads", "prefix", "delimiter", "max-uploads", "key-marker", "upload-id-marker", "encoding-type",
          "x-id"}
_STAMP = "_sandbox_initiated"  # attribute set on moto's FakeMultipart
_FINISHED = "_sandbox_finished"  # attribute set on moto's FakeBucket: upload id -> (key, monotonic time), oldest first
FINISHED_FOR = 3 * 3600  # seconds an aborted / completed upload's abort still answers 204 [unc]
FINISHED_MAX = 10000


def is_listing(method: str, key: str, query: dict[str, list[str]]) -> bool:
    names = {n for n in query if not n.startswith("X-Amz-")} - AUTH
    return method == "GET" and not key and "uploads" in names and names <= PARAMS


def _initiated(upload) -> str:
    when = stamp(upload)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def stamp(upload) -> datetime:
    """The upload's initiation time, set now if it has none (an attribute of moto's upload object: it lives and
    dies with the upload). Setting it twice from two threads keeps the first (``setdefault`` on its ``__dict__``)."""
    return vars(upload).setdefault(_STAMP, datetime.now(UTC))


def seen(bucket, upload_id: str) -> None:
    """Note an upload as seen (a part names it right after CreateMultipartUpload made it)."""
    upload = bucket.multiparts.get(upload_id)
    if upload is not None:
        stamp(upload)


def created(bucket, body: bytes) -> None:
    """CreateMultipartUpload answered: stamp the upload its answer names."""
    found = re.search(rb"<UploadId>([^<]+)</UploadId>", body)
    if found:
        seen(bucket, found.group(1).decode("utf-8", "replace"))


def answer(bucket, query: dict[str, list[str]], account: str):
    def one(name: str) -> str:
        return query.get(name, [""])[0]

    raw_max = one("max-uploads") or "1000"
    if not raw_max.isdecimal():
        from sandbox.aws.s3_checks import _error

        return _error(400, "InvalidArgument", "Provided max-uploads not an integer or within integer range",
                      ArgumentName="max-uploads", ArgumentValue=_xml(raw_max))
    limit = min(int(raw_max), 1000)
    prefix, delimiter, url = one("prefix"), one("delimiter"), one("encoding-type") == "url"
    key_marker, id_marker = one("key-marker"), one("upload-id-marker")

    def enc(text: str) -> str:
        return _xml(quote(text, safe="/") if url else text)

    uploads = [u for u in list(dict(bucket.multiparts).values()) if u.key_name.startswith(prefix)]
    order = {u.id: n for n, u in enumerate(uploads)}
    uploads.sort(key=lambda u: (u.key_name, order[u.id]))
    items: list = []  # (key, upload or None for a common prefix)
    prefixes: set[str] = set()
    for upload in uploads:
        rest = upload.key_name[len(prefix):]
        if delimiter and delimiter in rest:
            common = prefix + rest.split(delimiter, 1)[0] + delimiter
            if common not in prefixes:
                prefixes.add(common)
                items.append((common, None))
        else:
            items.append((upload.key_name, upload))
    items.sort(key=lambda item: (item[0], order[item[1].id] if item[1] else -1))
    if key_marker:
        marker_at = order.get(id_marker, -1) if id_marker else None
        items = [(k, u) for k, u in items if k > key_marker or (
            marker_at is not None and k == key_marker and u is not None and order[u.id] > marker_at)]
    page, truncated = items[:limit], len(items) > limit
    out = [f'<?xml version="1.0" encoding="UTF-8"?>\n<ListMultipartUploadsResult xmlns="{NS}">',
           f"<Bucket>{_xml(bucket.name)}</Bucket><KeyMarker>{enc(key_marker)}</KeyMarker>",
           f"<UploadIdMarker>{_xml(id_marker)}</UploadIdMarker>"]
    if truncated:
        last_key, last = page[-1]
        out.append(f"<NextKeyMarker>{enc(last_key)}</NextKeyMarker>")
        out.append(f"<NextUploadIdMarker>{_xml(last.id if last else '')}</NextUploadIdMarker>")
    if delimiter:
        out.append(f"<Delimiter>{enc(delimiter)}</Delimiter>")
    out.append(f"<Prefix>{enc(prefix)}</Prefix><MaxUploads>{limit}</MaxUploads>")
    out.append(f"<IsTruncated>{'true' if truncated else 'false'}</IsTruncated>")
    if url:
        out.append("<EncodingType>url</EncodingType>")
    for name, upload in page:
        if upload is None:
            continue
        algorithm = upload.metadata.get("x-amz-checksum-algorithm") if upload.metadata else None
        out.append(
            f"<Upload><Key>{enc(name)}</Key><UploadId>{_xml(upload.id)}</UploadId>"
            f"<Initiator><ID>arn:aws:iam::{account}:root</ID><DisplayName>webfile</DisplayName></Initiator>"
            f"{OWNER}<StorageClass>{_xml(str(upload.storage or 'STANDARD'))}</StorageClass>"
            f"<Initiated>{_initiated(upload)}</Initiated>"
            + (f"<ChecksumAlgorithm>{_xml(str(algorithm))}</ChecksumAlgorithm>" if algorithm else "")
            + "</Upload>")
    out.extend(f"<CommonPrefixes><Prefix>{enc(name)}</Prefix></CommonPrefixes>" for name, u in page if u is None)
    out.append("</ListMultipartUploadsResult>")
    return 200, "".join(out).encode("utf-8"), [("Content-Type", "application/xml")]


def with_checksum(bucket, key_name: str, method: str, headers: list, body: bytes) -> tuple[list, bytes]:
    """A completed multipart object's checksum where moto left it out: CompleteMultipartUpload's answer carries
    ``Checksum<ALGORITHM>`` and ``ChecksumType`` and HEAD (x-amz-checksum-mode ENABLED) the composite value
    ``<digest>-<parts>`` with its type, as GET already did (moto: none on completion, HEAD without ``-N``)."""
    key = bucket.keys.get(key_name)
    kind, value = getattr(key, "checksum_type", None), getattr(key, "checksum_value", None)
    algorithm = str(getattr(key, "checksum_algorithm", "") or "").upper()
    if not (kind and value and algorithm and getattr(key, "multipart", None) is not None):
        return headers, body
    value = f"{value}-{key.checksum_parts}" if kind == "COMPOSITE" else value
    if method == "HEAD":
        names = {f"x-amz-checksum-{algorithm.lower()}", "x-amz-checksum-type"}
        return [(k, v) for k, v in headers if k.lower() not in names] + [
            (f"x-amz-checksum-{algorithm.lower()}", value), ("x-amz-checksum-type", kind)], body
    if b"<Checksum" in body or b"</CompleteMultipartUploadResult>" not in body:
        return headers, body
    extra = f"<Checksum{algorithm}>{_xml(value)}</Checksum{algorithm}><ChecksumType>{kind}</ChecksumType>"
    end = b"</CompleteMultipartUploadResult>"
    return headers, body.replace(end, extra.encode() + end)


def finishing(environ: dict, bucket, key: str, method: str, upload_id: str):
    """AbortMultipartUpload (DELETE) of an upload of this key completed or aborted within ``FINISHED_FOR``: 204;
    a completion (POST) or an abort that succeeds is remembered (a hook the server runs on moto's answer)."""
    table = vars(bucket).setdefault(_FINISHED, {})
    if method == "DELETE" and upload_id not in bucket.multiparts:
        done = table.get(upload_id)
        if done is not None and done[0] == key and time.monotonic() - done[1] <= FINISHED_FOR:
            return 204, b"", []
        return None
    if method not in ("DELETE", "POST"):
        return None

    def remember(status: str, body: bytes) -> None:
        if status.startswith(("200", "204")) and b"<Error>" not in body:  # a completion's 200 may carry an error
            now = time.monotonic()
            table.pop(upload_id, None)
            table[upload_id] = (key, now)
            while table and (len(table) > FINISHED_MAX or now - next(iter(table.values()))[1] > FINISHED_FOR):
                table.pop(next(iter(table)))

    environ.setdefault("sandbox.after", []).append(remember)
    return None


def full_object_type(environ: dict, status: str, headers: list) -> list:
    """An object put whole carries ``x-amz-checksum-type: FULL_OBJECT`` beside its checksum, in PutObject's answer and
    in GET / HEAD with checksum mode ("For PutObject uploads, the checksum type is always FULL_OBJECT", S3's
    PutObject reference; moto: no type, so boto3's ChecksumType was missing). Parts, copies and answers that already
    name a type are left as they are."""
    method, query = environ.get("REQUEST_METHOD", ""), environ.get("QUERY_STRING", "")
    if not status.startswith(("200", "206")) or re.search(r"(^|&)(uploadId|partNumber|uploads|attributes)(=|&|$)",
                                                          query):
        return headers
    if method == "PUT" and (environ.get("HTTP_X_AMZ_COPY_SOURCE") or re.search(r"(^|&)[a-z-]+(=|&|$)", query)):
        return headers  # CopyObject, or a subresource (tagging, acl, retention ...)
    if method not in ("PUT", "GET", "HEAD"):
        return headers
    names = {k.lower() for k, _ in headers}
    etag = next((v for k, v in headers if k.lower() == "etag"), "")
    if re.search(r'-[0-9]+"?$', etag):
        return headers  # a multipart object: its type is the upload's (with_checksum)
    if "x-amz-checksum-type" in names or not any(n.startswith("x-amz-checksum-") for n in names):
        return headers
    return [*headers, ("x-amz-checksum-type", "FULL_OBJECT")]
