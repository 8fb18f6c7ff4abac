"""Round 35: S3 requests whose XML body moto's server reads wrongly or not at all (each check returns None when moto
may answer, else (status, body, headers)):

- DeleteObjects (``POST ?delete``) without ``Content-MD5`` or an ``x-amz-checksum-*`` header: 400 InvalidRequest
  "Missing required header for this request: Content-MD5" (S3 requires one on every Multi-Object Delete; moto
  deleted); a Content-MD5 or checksum that does not match the body: 400 BadDigest / InvalidDigest, as PutObject
  answers (moto deleted); a body that is no ``<Delete>`` document with at least one ``<Object><Key>``: 400
  MalformedXML (moto: 500 on XML it could not parse);
- CompleteMultipartUpload without a body, or with one that is no ``<CompleteMultipartUpload>`` document naming at
  least one part: 400 MalformedXML (moto: 500); a part not uploaded or whose ETag differs: 400 InvalidPart naming
  ``UploadId``, ``PartNumber`` and ``ETag``; a part under the 5 MiB minimum that is not the last: 400 EntityTooSmall
  naming ``ProposedSize``, ``MinSizeAllowed``, ``PartNumber`` and ``ETag`` (moto named none of them) [unc: S3's
  order of the two checks; the detail elements as S3 has been seen to send them];
- PutBucketTagging with more than 50 tags, a key over 128 characters or a value over 256: 400 InvalidTag (moto
  stored them) [unc: S3's exact messages];
- keys holding a line feed (``a\\nb``): moto's URL rules (``.+`` without DOTALL) missed them, so every request on
  such a key was 404 "Not Found" with no S3 error; ``install`` makes the rules match any character, as S3 does.
"""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET

MIN_PART = 5 * 1024 * 1024  # moto's S3_UPLOAD_PART_MIN_SIZE unless its environment lowers it
MAX_BUCKET_TAGS = 50
CHECKSUM_HEADERS = ("HTTP_X_AMZ_CHECKSUM_CRC32", "HTTP_X_AMZ_CHECKSUM_CRC32C", "HTTP_X_AMZ_CHECKSUM_CRC64NVME",
                    "HTTP_X_AMZ_CHECKSUM_SHA1", "HTTP_X_AMZ_CHECKSUM_SHA256")
MALFORMED = "The XML you provided was not well-formed or did not validate against our published schema"


def _error(status: int, code: str, message: str, **extra: str):
    from sandbox.aws.s3_checks import _error as error

    return error(status, code, message, **extra)


def _body(environ: dict) -> bytes:
    length = environ.get("CONTENT_LENGTH") or ""
    body = environ["wsgi.input"].read(int(length)) if length.isdecimal() and int(length) else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return body


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _document(body: bytes, root: str) -> ET.Element | None:
    """The parsed document when its root element is ``root`` (any namespace), else None. A DOCTYPE (entities) is
    refused unread."""
    if not body.strip() or b"<!DOCTYPE" in body.upper() or b"<!ENTITY" in body.upper():
        return None
    try:
        element = ET.fromstring(body)
    except ET.ParseError:
        return None
    return element if _local(element.tag) == root else None


def _children(element: ET.Element, name: str) -> list[ET.Element]:
    return [child for child in element if _local(child.tag) == name]


def _text(element: ET.Element, name: str) -> str | None:
    found = _children(element, name)
    return (found[0].text or "") if found else None


def delete_objects(environ: dict):
    """DeleteObjects: a body digest is required and checked, and the body must be a Delete document."""
    streamed = "aws-chunked" in environ.get("HTTP_CONTENT_ENCODING", "").lower() or environ.get(
        "HTTP_X_AMZ_CONTENT_SHA256", "").startswith("STREAMING-")
    # a trailer names a checksum only at the end of an aws-chunked body: on a plain body it sums nothing
    summed = any(environ.get(name) for name in CHECKSUM_HEADERS) or (streamed and environ.get("HTTP_X_AMZ_TRAILER"))
    if not streamed and not environ.get("HTTP_CONTENT_MD5") and not summed:
        return _error(400, "InvalidRequest", "Missing required header for this request: Content-MD5")
    from sandbox.aws import s3_checks, s3_writes

    if environ.get("HTTP_CONTENT_MD5") and (answer := s3_checks._digest(environ)) is not None:
        return answer
    if (answer := s3_writes._checksums(environ)) is not None:
        return answer
    if streamed:  # boto3 never frames DeleteObjects in chunks; moto cannot read it (a 500 boto3 would retry)
        return _error(501, "NotImplemented", "A header you provided implies functionality that is not implemented: "
                      "the sandbox takes DeleteObjects with a plain body and a Content-MD5 or x-amz-checksum-* "
                      "header [unc]")
    document = _document(_body(environ), "Delete")
    objects = _children(document, "Object") if document is not None else []
    if not objects or any(_text(o, "Key") is None for o in objects):
        return _error(400, "MalformedXML", MALFORMED)
    return None


def complete(environ: dict, bucket, upload_id: str):
    """CompleteMultipartUpload's body: its parts must exist with those ETags, and all but the last be 5 MiB or more.
    Part order (InvalidPartOrder) is checked before this (``s3_reads.complete_order``)."""
    document = _document(_body(environ), "CompleteMultipartUpload")
    parts = _children(document, "Part") if document is not None else []
    listed = [(_text(p, "PartNumber"), _text(p, "ETag")) for p in parts]
    if not parts or any(n is None or not n.strip().isdecimal() or e is None for n, e in listed):
        return _error(400, "MalformedXML", MALFORMED)
    upload = bucket.multiparts.get(upload_id)
    if upload is None:
        return None  # NoSuchUpload is answered before this
    from moto.s3 import models

    minimum = getattr(models, "S3_UPLOAD_PART_MIN_SIZE", MIN_PART)
    numbers = [(int(n), e.strip()) for n, e in listed]
    for number, etag in numbers:
        part = upload.parts.get(number)
        if part is None or part.etag.strip('"') != etag.strip('"'):
            return _error(400, "InvalidPart", "One or more of the specified parts could not be found. The part might "
                          "not have been uploaded, or the specified entity tag might not have matched the part's "
                          "entity tag.",
                          UploadId=_xml(upload_id), PartNumber=str(number), ETag=_xml(etag))
    for number, etag in numbers[:-1]:
        size = upload.parts[number].contentsize
        if size < minimum:
            return _error(400, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed object "
                          "size.", ProposedSize=str(size), MinSizeAllowed=str(minimum), PartNumber=str(number),
                          ETag=_xml(etag.strip('"')))
    return None


def bucket_tagging(environ: dict):
    """PutBucketTagging: at most 50 tags, keys of 1-128 characters, values of at most 256."""
    document = _document(_body(environ), "Tagging")
    if document is None:
        return None  # moto answers what it cannot read
    tags = [t for s in _children(document, "TagSet") for t in _children(s, "Tag")]
    if len(tags) > MAX_BUCKET_TAGS:
        return _error(400, "InvalidTag", f"Bucket tag count cannot be greater than {MAX_BUCKET_TAGS}")
    for tag in tags:
        if len(_text(tag, "Key") or "") > 128:
            return _error(400, "InvalidTag", "The TagKey you have provided is too long, max 128")
        if len(_text(tag, "Value") or "") > 256:
            return _error(400, "InvalidTag", "The TagValue you have provided is too long, max 256")
    return None


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def install() -> None:
    """moto's URL rules (``moto.s3.urls``: ``(?P<key_name>.+)``) become DOTALL, so a key with a line feed reaches
    moto's S3 handlers (werkzeug compiles the rule's regex without it: 404 "Not Found"). Idempotent; done before
    the server builds its apps."""
    from moto.moto_server import utilities

    original = utilities.RegexConverter.__init__
    if getattr(original, "_sandbox", False):
        return

    def init(self, url_map, *items):
        original(self, url_map, *items)
        self.regex = f"(?s:{items[0]})"

    init._sandbox = True  # type: ignore[attr-defined]
    utilities.RegexConverter.__init__ = init
