"""Round 30: writes and deletes in a bucket whose versioning is Suspended, as S3 documents them ("Working with
objects in a versioning-suspended bucket"). moto treated such a bucket as never versioned, and lost data:

- DeleteObject without a version id removed every version of the key (the versions kept from when versioning was
  Enabled were gone, and ListObjectVersions showed nothing). S3 removes only the ``null`` version, if there is one,
  and puts a delete marker whose version id is ``null`` on top (``x-amz-delete-marker: true``,
  ``x-amz-version-id: null``); the older versions stay, readable by id;
- PutObject / CopyObject / CompleteMultipartUpload replaced every version with the new object. S3 replaces only the
  ``null`` version (the new object is ``null``); the older versions stay;
- DeleteObject of one version id (``null`` included) removed every version too: now only that one goes.
- DeleteObjects (``POST ?delete``) did the same per key: each key now gets the DeleteObject semantics above
  (round 30c), answered as S3's DeleteResult (``DeleteMarker`` / ``DeleteMarkerVersionId`` ``null``).
A key with no version at all is left to moto (204, nothing made) [unc: S3 may add a null delete marker].
A write moto refuses (4xx/5xx) leaves the versions in the order they had.
"""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape

from sandbox.aws.s3_listing import AUTH

_WRITE_SUBRESOURCES = {"tagging", "acl", "retention", "legal-hold", "uploadId", "partNumber", "uploads", "restore",
                       "torrent", "attributes", "versionId"}


def _suspended(bucket) -> bool:
    return getattr(bucket, "versioning_status", None) == "Suspended"


def _names(query: dict[str, list[str]]) -> set[str]:
    return {n for n in query if not n.startswith(("X-Amz-", "x-amz-")) and n not in AUTH and n != "x-id"}


def check(environ: dict, bucket, key: str, method: str, query: dict[str, list[str]]):
    """None when moto may answer (with a hook that keeps the older versions), else (status, body, headers)."""
    if not key or not _suspended(bucket):
        return None
    names = _names(query)
    if method == "DELETE" and not names:
        return _delete(bucket, key)
    if method == "DELETE" and names == {"versionId"}:
        return _delete_version(bucket, key, query["versionId"][0])
    writing = (method == "PUT" and not (names & _WRITE_SUBRESOURCES)) or (
        method == "POST" and names == {"uploadId"})
    if writing:
        _keep_versions(environ, bucket, key)
    return None


def _older(bucket, key: str) -> list:
    return [v for v in bucket.keys.getlist(key, []) if str(getattr(v, "version_id", "")) != "null"]


def _delete(bucket, key: str):
    from moto.s3.models import FakeDeleteMarker

    versions = bucket.keys.getlist(key, [])
    if not versions:
        return None
    marker = FakeDeleteMarker(key=versions[-1])
    marker._version_id = "null"
    bucket.keys.setlist(key, [*_older(bucket, key), marker])
    return 204, b"", [("x-amz-delete-marker", "true"), ("x-amz-version-id", "null")]


def _spared(*_args, **_kwargs) -> None:
    """Stands in for a kept version's ``dispose`` while moto writes (moto closes what it replaces)."""


def _delete_version(bucket, key: str, version: str):
    """One version (or delete marker) removed, the others kept (moto removed them all)."""
    from moto.s3.models import FakeDeleteMarker

    versions = bucket.keys.getlist(key, [])
    found = [v for v in versions if str(getattr(v, "version_id", "")) == version]
    if not found:
        return None  # moto's answer [unc]
    left = [v for v in versions if v is not found[0]]
    if left:
        bucket.keys.setlist(key, left)  # disposes of the one removed
    else:  # moto's pop disposes of each version: a delete marker has no dispose (AttributeError: a 500)
        if dict.pop(bucket.keys, key, None) is not None and hasattr(found[0], "dispose"):
            found[0].dispose()  # only by the request that removed it: two at once had made the second a 500
    headers = [("x-amz-version-id", version)]
    if isinstance(found[0], FakeDeleteMarker):
        headers.append(("x-amz-delete-marker", "true"))
    return 204, b"", headers


def _keep_versions(environ: dict, bucket, key: str) -> None:
    """moto replaces every version with what it writes, and disposes of them (their bytes closed): the older ones
    are spared for the write (a copy may read one of them) and put back under whatever moto wrote."""
    older = _older(bucket, key)
    if not older:
        return
    before = list(bucket.keys.getlist(key, []))
    for version in older:
        if hasattr(version, "dispose"):
            version.dispose = _spared

    def restore(status: str, body: bytes) -> None:
        for version in older:
            vars(version).pop("dispose", None)
        if not status.startswith("2"):  # refused: nothing written, the order stays ([v1, null, v2]: v2 current)
            now = bucket.keys.getlist(key, [])
            if len(now) != len(before) or any(a is not b for a, b in zip(now, before, strict=True)):
                dict.__setitem__(bucket.keys, key, before)
            return
        current = [v for v in bucket.keys.getlist(key, []) if not any(v is o for o in older)]
        dict.__setitem__(bucket.keys, key, [*older, *current])

    environ.setdefault("sandbox.after", []).append(restore)


def delete_objects(environ: dict, bucket):
    """DeleteObjects in a Suspended bucket: DeleteObject's semantics per key (moto dropped every version of each);
    None for any other bucket, or a body that is not a Delete document (moto answers)."""
    if not _suspended(bucket):
        return None
    length = environ.get("CONTENT_LENGTH")
    if not length or not length.isdecimal():
        return None
    body = environ["wsgi.input"].read(int(length))
    environ["wsgi.input"] = io.BytesIO(body)
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return None

    def child(node, name: str) -> str | None:
        found = next((c for c in node if c.tag.rpartition("}")[2] == name), None)
        return None if found is None else (found.text or "")

    quiet = (child(root, "Quiet") or "").strip().lower() == "true"
    done = []
    for node in (c for c in root if c.tag.rpartition("}")[2] == "Object"):
        key, version = child(node, "Key"), child(node, "VersionId")
        if not key:
            return None
        item = f"<Key>{escape(key)}</Key>"
        if version is None:
            if _delete(bucket, key) is not None:
                item += "<DeleteMarker>true</DeleteMarker><DeleteMarkerVersionId>null</DeleteMarkerVersionId>"
        else:  # an unknown version id reads as deleted [unc]
            answer = _delete_version(bucket, key, version)
            item += f"<VersionId>{escape(version)}</VersionId>"
            if answer is not None and ("x-amz-delete-marker", "true") in answer[2]:
                item += (f"<DeleteMarker>true</DeleteMarker><DeleteMarkerVersionId>{escape(version)}"
                         "</DeleteMarkerVersionId>")
        done.append(f"<Deleted>{item}</Deleted>")
    listed = "" if quiet else "".join(done)
    result = ('<?xml version="1.0" encoding="UTF-8"?><DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
              f"{listed}</DeleteResult>")
    return 200, result.encode(), [("Content-Type", "application/xml")]
