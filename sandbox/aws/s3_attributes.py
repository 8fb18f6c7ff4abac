"""Round 34: GetObjectAttributes asking for ``ObjectParts`` of a multipart object: moto left the element out, so a
client could not learn how many parts the object has (``TotalPartsCount``) nor their sizes. The sandbox adds it to
moto's answer: ``PartsCount`` (boto3's TotalPartsCount), ``PartNumberMarker``, ``NextPartNumberMarker``,
``MaxParts`` (the ``x-amz-max-parts`` header, default 1000; 0 taken as the default, where a page of none marked
truncated had a follower ask again forever [unc]), ``IsTruncated`` and, when the upload named a checksum algorithm,
one ``Part`` (PartNumber, Size, the part's checksum, computed here: moto keeps none) per part after the
``x-amz-part-number-marker`` header; without one, no ``Part`` (GetObjectAttributesParts: "if an additional checksum
... isn't applied to the object ..., the response doesn't return Part"). A header that is no ASCII integer
(5,000 digits made int() raise: 500) is 400 InvalidArgument [unc: S3's words]. An object put whole has no
ObjectParts, as S3 answers.
"""

from __future__ import annotations

import re

from sandbox.aws.s3_listing import _xml
from sandbox.core.numbers import ascii_int


def object_parts(environ: dict, bucket, name: str, query: dict[str, list[str]]):
    """Set the hook that adds ObjectParts to moto's GetObjectAttributes answer, when it was asked for; a max-parts
    or part-number-marker header that is no integer: (400 InvalidArgument), else None."""
    from sandbox.aws.s3_reads import _key, _parts

    values = {}
    for header in ("x-amz-max-parts", "x-amz-part-number-marker"):
        raw = environ.get("HTTP_" + header.upper().replace("-", "_"))
        values[header] = ascii_int(raw, cap=2**31) if raw is not None else None
        if raw is not None and (values[header] is None or values[header] > 2**31 - 1):
            from sandbox.aws.s3_checks import _error

            return _error(400, "InvalidArgument", f"Provided {header} not an integer or within integer range",
                          ArgumentName=header, ArgumentValue=_xml(raw[:64]))
    wanted = {a.strip() for a in environ.get("HTTP_X_AMZ_OBJECT_ATTRIBUTES", "").split(",")}
    key = _key(bucket, name, query.get("versionId", [None])[0]) if "ObjectParts" in wanted else None
    if key is None or key.multipart is None:
        return None
    numbers = sorted(key.multipart.parts)
    if len(numbers) != _parts(key):
        return None  # parts uploaded but left out of the completion: which are the object's is not known here
    max_parts = min(values["x-amz-max-parts"] or 1000, 1000)  # 0: the default, not an endless page [unc]
    marker = values["x-amz-part-number-marker"] or 0
    rest = [n for n in numbers if n > marker]
    page = rest[:max_parts]
    truncated = len(rest) > len(page)
    algorithm = key.multipart.metadata.get("x-amz-checksum-algorithm")
    element = "".join([
        f"<ObjectParts><PartsCount>{len(numbers)}</PartsCount>",  # TotalPartsCount on the wire
        f"<PartNumberMarker>{marker}</PartNumberMarker>",
        f"<NextPartNumberMarker>{page[-1] if page else marker}</NextPartNumberMarker>",
        f"<MaxParts>{max_parts}</MaxParts><IsTruncated>{'true' if truncated else 'false'}</IsTruncated>",
        *(_parts_of(key, numbers, page, algorithm) if algorithm else []),
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
    return None


def _parts_of(key, numbers: list[int], page: list[int], algorithm: str) -> list[str]:
    """The page's Part elements, each part's checksum computed from the object's bytes (moto closes the parts'
    own on completion)."""
    from moto.s3.utils import compute_checksum

    name, data, start, out = "Checksum" + algorithm.upper(), key.value, 0, []
    for number in numbers:
        size = key.multipart.parts[number].size
        if number in page:
            value = compute_checksum(data[start:start + size], algorithm.upper()).decode()
            out.append(f"<Part><PartNumber>{number}</PartNumber><Size>{size}</Size><{name}>{value}</{name}></Part>")
        start += size
    return out
