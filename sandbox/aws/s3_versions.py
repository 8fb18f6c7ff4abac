"""Round 34: ListObjectVersions answered by the sandbox from moto's store, as S3 pages it. moto's own answer:

- ignored ``encoding-type=url``, which botocore sends on every ListObjectVersions: a key with a control character
  (legal in S3) made moto's answer a 500, and no key came back encoded;
- with ``key-marker`` alone listed that key's versions again (S3 starts after the key) [unc: inferred from the
  ListObjectVersions reference ("the key to start with") and from every paginator passing both markers];
- with a ``version-id-marker`` that is none of the key marker's versions returned nothing, ``IsTruncated`` false (a
  client took the listing for finished): now 400 InvalidArgument [unc: S3's words for a well-formed unknown id],
  unless this listing gave that marker out and its version was deleted since (a bucket emptied page by page): then
  the listing carries on after the marker's place, the key's older versions then the next keys [unc];
- took a ``version-id-marker`` without ``key-marker`` (S3: 400 InvalidArgument);
- let a page with a delimiter hold more than ``max-keys`` versions and common prefixes together.

Order as S3's: keys in UTF-8 (code point) order, each key's versions and delete markers newest first; a common prefix
counts once towards max-keys, and a key marker that is a common prefix resumes after every key under it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from urllib.parse import quote

from sandbox.aws.s3_listing import NS, OWNER, _xml, page_flags

MARKERS_KEPT = 10000  # NextVersionIdMarkers remembered per bucket
_ATTR = "_sandbox_version_markers"
_LOCK = threading.Lock()
PARAMS = {"versions", "prefix", "delimiter", "max-keys", "key-marker", "version-id-marker", "encoding-type", "x-id"}


def is_listing(method: str, key: str, query: dict[str, list[str]]) -> bool:
    from sandbox.aws.s3_listing import AUTH

    names = {n for n in query if not n.startswith("X-Amz-")} - AUTH
    return method == "GET" and not key and "versions" in names and names <= PARAMS


def _entries(bucket, prefix: str, delimiter: str) -> list[tuple[str, object, bool]]:
    """[(name, version or None for a common prefix, is latest)], in S3's order."""
    found: dict[str, list] = {}
    prefixes: set[str] = set()
    for name, versions in dict.copy(bucket.keys).items():  # one C call: no other thread changes it meanwhile
        if not name.startswith(prefix):
            continue
        rest = name[len(prefix):]
        if delimiter and delimiter in rest:
            prefixes.add(prefix + rest.split(delimiter, 1)[0] + delimiter)
        elif versions := list(versions):
            found[name] = versions
    out: list[tuple[str, object, bool]] = []
    for name in sorted([*found, *prefixes]):
        if name in prefixes and name not in found:
            out.append((name, None, False))
            continue
        newest_first = found[name][::-1]
        out.extend((name, version, i == 0) for i, version in enumerate(newest_first))
    return out


def _version_id(version) -> str:
    return str(version.version_id) if getattr(version, "version_id", None) is not None else "null"


def answer(bucket, query: dict[str, list[str]], max_list: int):
    """(status, body, headers) of the version listing the query asks for."""
    from sandbox.aws.s3_checks import _error

    def one(name: str) -> str:
        return query.get(name, [""])[0]

    raw_max = one("max-keys") or str(max_list)
    if not raw_max.lstrip("-").isdecimal() or int(raw_max) < 0:
        return _error(400, "InvalidArgument", "Provided max-keys not an integer or within integer range",
                      ArgumentName="max-keys", ArgumentValue=_xml(raw_max))
    key_marker, version_marker = one("key-marker"), one("version-id-marker")
    if version_marker and not key_marker:
        return _error(400, "InvalidArgument", "A version-id marker cannot be specified without a key marker.",
                      ArgumentName="version-id-marker", ArgumentValue=_xml(version_marker[:64]))
    max_keys = min(int(raw_max), max_list)
    prefix, delimiter, url = one("prefix"), one("delimiter"), one("encoding-type") == "url"

    def enc(text: str) -> str:
        return _xml(quote(text, safe="/") if url else text)

    entries = _entries(bucket, prefix, delimiter)
    if version_marker:
        ids = [i for i, (name, version, _) in enumerate(entries)
               if name == key_marker and version is not None and _version_id(version) == version_marker]
        place = _handed_out(bucket, key_marker, version_marker) if not ids else None
        if ids:
            rest = entries[ids[0] + 1:]
        elif place is not None:  # the marker's version is gone since (deleted page by page): carry on after it
            rest = [e for e in entries if (e[0] == key_marker and e[1] is not None and e[1].last_modified <= place)
                    or e[0] > key_marker]
        else:
            return _error(400, "InvalidArgument", "Invalid version id specified", ArgumentName="version-id-marker",
                          ArgumentValue=_xml(version_marker[:64]))
    else:
        rest = [e for e in entries if e[0] > key_marker] if key_marker else entries
    page = rest[:max_keys]
    truncated = len(rest) > len(page) and max_keys > 0
    out = [f'<?xml version="1.0" encoding="UTF-8"?>\n<ListVersionsResult xmlns="{NS}">',
           f"<Name>{_xml(bucket.name)}</Name><Prefix>{enc(prefix)}</Prefix>",
           f"<KeyMarker>{enc(key_marker)}</KeyMarker><VersionIdMarker>{_xml(version_marker)}</VersionIdMarker>"]
    if truncated:
        name, version, _ = page[-1]
        out.append(f"<NextKeyMarker>{enc(name)}</NextKeyMarker>")
        if version is not None:
            _hand_out(bucket, name, version)
            out.append(f"<NextVersionIdMarker>{_xml(_version_id(version))}</NextVersionIdMarker>")
    out.extend(page_flags(max_keys, delimiter, url, truncated, enc))
    out.extend(_entry(name, version, latest, enc) for name, version, latest in page if version is not None)
    out.extend(f"<CommonPrefixes><Prefix>{enc(name)}</Prefix></CommonPrefixes>"
               for name, version, _ in page if version is None)
    out.append("</ListVersionsResult>")
    return 200, "".join(out).encode("utf-8"), [("Content-Type", "application/xml")]


def _hand_out(bucket, key: str, version) -> None:
    """Remember a NextVersionIdMarker given out (its key and its place: the version's time), so that the next page
    can still be asked for once that version is deleted, as a client emptying a bucket page by page does (boto3's
    ``object_versions.delete()``): the table keeps the newest MARKERS_KEPT per bucket."""
    with _LOCK:
        table = bucket.__dict__.setdefault(_ATTR, OrderedDict())
        table[(key, _version_id(version))] = version.last_modified
        table.move_to_end((key, _version_id(version)))
        while len(table) > MARKERS_KEPT:
            table.popitem(last=False)


def _handed_out(bucket, key: str, version_id: str):
    """The place (time) of a version marker this bucket's listing gave out, else None."""
    with _LOCK:
        return bucket.__dict__.get(_ATTR, {}).get((key, version_id))


def _entry(name: str, version, latest: bool, enc) -> str:
    from moto.s3.models import FakeDeleteMarker

    head = (f"<Key>{enc(name)}</Key><VersionId>{_xml(_version_id(version))}</VersionId>"
            f"<IsLatest>{'true' if latest else 'false'}</IsLatest>"
            f"<LastModified>{version.last_modified_ISO8601}</LastModified>")
    if isinstance(version, FakeDeleteMarker):
        return f"<DeleteMarker>{head}{OWNER}</DeleteMarker>"
    algorithm = getattr(version, "checksum_algorithm", None)
    return "".join([
        f"<Version>{head}<ETag>{_xml(version.etag)}</ETag><Size>{version.size}</Size>",
        f"<StorageClass>{version.storage_class}</StorageClass>{OWNER}",
        f"<ChecksumAlgorithm>{algorithm}</ChecksumAlgorithm>" if algorithm else "",
        "</Version>",
    ])


def _markers(bucket, key: str) -> set[str]:
    from moto.s3.models import FakeDeleteMarker

    return {_version_id(v) for v in list(bucket.keys.getlist(key, [])) if isinstance(v, FakeDeleteMarker)}


def delete_marker_removal(environ: dict, bucket, key: str, query: dict[str, list[str]]) -> None:
    """DeleteObject of a delete marker by its version id: S3 says so with ``x-amz-delete-marker: true`` (boto3:
    ``DeleteMarker: True``), moto did not, so a client could not tell it had undeleted the object."""
    version = query.get("versionId", [None])[0]
    if version and version in _markers(bucket, key):
        environ.setdefault("sandbox.extra_headers", []).append(("x-amz-delete-marker", "true"))


def delete_markers_removal(environ: dict, bucket) -> None:
    """DeleteObjects naming delete markers by version id: each one's ``Deleted`` entry carries ``DeleteMarker``
    true and ``DeleteMarkerVersionId`` (moto: only Key and VersionId) [unc: DeleteMarkerVersionId here is the
    marker's own id, as the DeleteObjects reference words it]."""
    import io
    import re
    import xml.etree.ElementTree as ET

    length = environ.get("CONTENT_LENGTH")
    if not length or not length.isdecimal():
        return
    body = environ["wsgi.input"].read(int(length))
    environ["wsgi.input"] = io.BytesIO(body)
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return
    found: set[tuple[str, str]] = set()  # (key, version id): "null" is every unversioned key's id
    for node in (c for c in root if c.tag.rpartition("}")[2] == "Object"):
        fields = {c.tag.rpartition("}")[2]: (c.text or "") for c in node}
        if fields.get("Key") and fields.get("VersionId") in _markers(bucket, fields["Key"]):
            found.add((fields["Key"], fields["VersionId"]))
    if not found:
        return

    def rewrite(status: str, text: bytes) -> bytes:
        def flag(match: re.Match) -> bytes:
            entry = match.group(0)
            try:
                fields = {c.tag.rpartition("}")[2]: (c.text or "") for c in ET.fromstring(entry)}
            except ET.ParseError:
                return entry
            version = re.search(rb"<VersionId>([^<]*)</VersionId>", entry)
            if (version is None or (fields.get("Key", ""), fields.get("VersionId", "")) not in found
                    or b"<DeleteMarker>" in entry):
                return entry
            extra = (b"<DeleteMarker>true</DeleteMarker><DeleteMarkerVersionId>" + version.group(1)
                     + b"</DeleteMarkerVersionId>")
            return entry.replace(b"</Deleted>", extra + b"</Deleted>")

        return re.sub(rb"<Deleted>.*?</Deleted>", flag, text, flags=re.S) if status.startswith("200") else text

    environ["sandbox.rewrite"] = rewrite
