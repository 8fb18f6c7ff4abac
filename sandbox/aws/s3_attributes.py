"""Round 34: GetObjectAttributes asking for ``ObjectParts`` of a multipart object: moto left the element out, so a
client could not learn how many parts the object has (``TotalPartsCount``) nor their sizes. The sandbox adds it to
moto's answer: ``PartsCount`` (boto3's TotalPartsCount), ``PartNumberMarker``, ``NextPartNumberMarker``,
``MaxParts`` (the ``x-amz-max-parts`` header, default 1000), ``IsTruncated`` and one ``Part`` (PartNumber, Size) per
part after the ``x-amz-part-number-marker`` header. An object put whole has no ObjectParts, as S3 answers.

[unc] S3 documents each part's checksum in ``Part``; the completed object here does not keep the parts' checksums,
so a Part carries PartNumber and Size only.
"""

from __future__ import annotations

import re


def object_parts(environ: dict, bucket, name: str, query: dict[str, list[str]]) -> None:
    """Set the hook that adds ObjectParts to moto's GetObjectAttributes answer, when it was asked for."""
    from sandbox.aws.s3_reads import _key, _parts

    wanted = {a.strip() for a in environ.get("HTTP_X_AMZ_OBJECT_ATTRIBUTES", "").split(",")}
    key = _key(bucket, name, query.get("versionId", [None])[0]) if "ObjectParts" in wanted else None
    if key is None or key.multipart is None:
        return
    numbers = sorted(key.multipart.parts)
    if len(numbers) != _parts(key):
        return  # parts uploaded but left out of the completion: which are the object's is not known here
    sizes = {n: key.multipart.parts[n].size for n in numbers}
    raw_max, raw_marker = environ.get("HTTP_X_AMZ_MAX_PARTS", ""), environ.get("HTTP_X_AMZ_PART_NUMBER_MARKER", "")
    max_parts = min(int(raw_max), 1000) if raw_max.isdecimal() else 1000
    marker = int(raw_marker) if raw_marker.isdecimal() else 0
    rest = [n for n in numbers if n > marker]
    page = rest[:max_parts]
    truncated = len(rest) > len(page)
    element = "".join([
        f"<ObjectParts><PartsCount>{len(numbers)}</PartsCount>",  # TotalPartsCount on the wire
        f"<PartNumberMarker>{marker}</PartNumberMarker>",
        f"<NextPartNumberMarker>{page[-1] if page else marker}</NextPartNumberMarker>",
        f"<MaxParts>{max_parts}</MaxParts><IsTruncated>{'true' if truncated else 'false'}</IsTruncated>",
        *(f"<Part><PartNumber>{n}</PartNumber><Size>{sizes[n]}</Size></Part>" for n in page),
        "</ObjectParts>",
    ]).encode()

    def rewrite(status: str, body: bytes) -> bytes:
        if not status.startswith("200") or b"<ObjectParts>" in body:
            return body
        closing = re.search(rb"</[A-Za-z]+>\s*$", body)
        if closing:
            return body[:closing.start()] + element + body[closing.start():]
        empty = re.search(rb"<([A-Za-z]+)([^<>]*)/>\s*$", body)  # moto's root with nothing else asked for
        if empty:
            return body[:empty.start()] + b"<%s%s>%s</%s>" % (empty[1], empty[2], element, empty[1])
        return body

    environ["sandbox.rewrite"] = rewrite
