"""Graph ``listItemVersion``s of a document library's list items, for ``GraphSandbox``:
``/sites/{id}/lists/{id}/items/{n}/versions`` (also through ``/drives/{id}/list/items/{n}/versions``).

A library item's versions are its file's (``versions.py``: every content replacement and check-in makes one);
each older version keeps the item's name and fields as they were when it was superseded (``Item.history_fields``;
a field update alone amends the current version here, it makes no version [unc: SharePoint makes a new version
for a metadata edit when versioning is on]). As Graph's listItemVersion:

- ``GET versions``: the current version first, then the older ones newest first, ids the labels (``3.0``, ``2.0``,
  ``1.0``), each with ``lastModifiedDateTime``, ``lastModifiedBy`` and its ``fields`` inline (``FileLeafRef``,
  ``Title`` and the custom columns it had then, ``Modified`` its date, ``_UIVersionString`` its label) [unc:
  whether Graph inlines ``fields`` without ``$expand``; the same as custom lists, ``graph_item_versions.py``];
- ``GET versions/{v}`` (the same, one version), ``GET versions/{v}/fields`` (its fields alone);
- ``POST versions/{v}/restoreVersion`` (204): the old content, and its fields, become a new current version
  [unc: that SharePoint restores the metadata too];
- an unknown version is 404 itemNotFound; ``versions/{v}/content`` and other calls as ``versions.py``.
"""

from __future__ import annotations

from typing import Any

from sandbox.core.http import Request, Response, json_response
from sandbox.sharepoint.errors import GraphError
from sandbox.sharepoint.store import Drive, Item
from sandbox.sharepoint.versions import APP


class LibraryItemVersions:
    """Mixed into ``GraphSandbox`` (uses ``store``, ``_fields`` and ``versions_route``)."""

    def _library_versions(self, item: Item) -> list[tuple[str, str, dict[str, Any]]]:
        """(label, date, fields) newest first, the current version included."""
        if item.content is None:
            raise GraphError(400, "invalidRequest", "Versions are only kept for files.")
        current = {**self._fields(item), "_UIVersionString": item.label}
        out = [(item.label, item.modified, current)]
        for n in range(len(item.history), 0, -1):
            date = item.history[n - 1][1]
            name, fields = (item.history_fields[n - 1] if n <= len(item.history_fields)
                            else (item.name, dict(item.fields)))  # a version kept before names were kept
            out.append((f"{n}.0", date, {"@odata.etag": f'"{item.id},{n}"', "id": str(item.list_item_id),
                                         "FileLeafRef": name, "Created": item.created, "Modified": date, **fields,
                                         "_UIVersionString": f"{n}.0"}))
        return out

    @staticmethod
    def _list_item_version(label: str, date: str, fields: dict[str, Any]) -> dict[str, Any]:
        return {"id": label, "lastModifiedDateTime": date,
                "lastModifiedBy": {"user": {"displayName": "SharePoint App"}, **APP}, "fields": fields}

    def library_item_versions(self, drive: Drive, item: Item, parts: list[str], req: Request) -> Response:
        """``parts`` after ``items/{n}/versions``."""
        versions = self._library_versions(item)
        if not parts and req.method == "GET":
            return json_response({"@odata.context": f"{req.base_url}/v1.0/$metadata#Collection(listItemVersion)",
                                  "value": [self._list_item_version(*v) for v in versions]})
        found = next((v for v in versions if parts and v[0] == parts[0]), None)
        if found is None:
            raise GraphError(404, "itemNotFound", f"The version '{parts[0] if parts else ''}' was not found.")
        action = "/".join(parts[1:])
        if req.method == "GET" and action in ("", "fields"):
            shown = self._list_item_version(*found)
            return json_response(shown["fields"] if action else shown)
        if req.method == "POST" and action == "restoreVersion" and found[0] != item.label:
            n = int(found[0].split(".")[0])
            old = item.history_fields[n - 1][1] if n <= len(item.history_fields) else None
            out = self.versions_route(drive, item, "/" + "/".join(parts), req)
            if old is not None:
                with self.store.lock:
                    item.fields = dict(old)
                    self.store.touch(item)
            return out
        return self.versions_route(drive, item, "/" + "/".join(parts), req)
