"""``fileSystemInfo`` a client sets on a drive item (``PATCH`` of the item, or ``item.fileSystemInfo`` in
``createUploadSession``'s body, as sync tools and msgraph-sdk callers send to keep a file's own times): SharePoint
keeps them as the item's Created / Modified, so ``createdDateTime`` / ``lastModifiedDateTime`` (and the list item's
``Created`` / ``Modified``) show them [unc: OneDrive keeps fileSystemInfo apart from the item's own times; for a
SharePoint library Graph shows the same values in both]. Before, they were ignored and the write's time shown.
A value that is not an ISO 8601 date-time with a zone is 400 invalidRequest [unc: the text]."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sandbox.sharepoint.errors import GraphError
from sandbox.sharepoint.store import Item


def _iso(value: Any, key: str) -> str:
    try:
        when = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        when = None
    if when is None or when.tzinfo is None:
        raise GraphError(400, "invalidRequest", f"Invalid value for fileSystemInfo.{key}: {value!r}")
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def file_times(spec: Any) -> dict[str, str]:
    """The checked ``createdDateTime`` / ``lastModifiedDateTime`` of a ``fileSystemInfo`` (400 if bad)."""
    if spec in (None, {}):
        return {}
    if not isinstance(spec, dict):
        raise GraphError(400, "invalidRequest", "fileSystemInfo must be an object.")
    return {k: _iso(spec[k], k) for k in ("createdDateTime", "lastModifiedDateTime") if spec.get(k)}


def apply_times(item: Item, times: dict[str, str]) -> None:
    if "createdDateTime" in times:
        item.created = times["createdDateTime"]
    if "lastModifiedDateTime" in times:
        item.modified = times["lastModifiedDateTime"]
