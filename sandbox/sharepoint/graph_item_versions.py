"""Graph list item versions: ``/sites/{id}/lists/{id}/items/{n}/versions`` for custom lists (``genericList``) and
libraries' lists.

- Custom lists: every update of an item's fields (Graph ``PATCH`` or SharePoint REST ``MERGE``) keeps the fields
  it had as an older version (``Row.history``); ``GET versions`` lists the current version first, then the older
  ones newest first, ids SharePoint's labels (``3.0``, ``2.0``, ``1.0``), each a ``listItemVersion`` with
  ``lastModifiedDateTime``, ``lastModifiedBy`` and the version's ``fields`` inline [unc: whether Graph inlines
  ``fields`` without ``$expand``]; ``GET versions/{v}``, ``GET versions/{v}/fields``; ``POST
  versions/{v}/restoreVersion`` (204, as documented: the old fields become a new current version, the others stay;
  restoring the current one changes nothing [unc]). An unknown version is 404 itemNotFound [unc: the text].
- Libraries: the file's versions as ``listItemVersion``s with the ``fields`` each had (``library_item_versions.py``).
"""

from __future__ import annotations

from typing import Any

from sandbox.core.http import Request, Response, json_response
from sandbox.sharepoint.custom_lists import CustomList, Row
from sandbox.sharepoint.errors import GraphError
from sandbox.sharepoint.rest import iso
from sandbox.sharepoint.store import now_iso

BY = {"user": {"displayName": "SharePoint App"}}


class GraphItemVersions:
    """Mixed into ``GraphSandbox`` (uses ``_g_fields``, ``store``)."""

    def _g_row_versions(self, row: Row) -> list[tuple[str, Row]]:
        old = [(f"{n}.0", Row(row.id, dict(fields), row.created, date, n))
               for n, (fields, date) in enumerate(row.history, 1)]
        return [(f"{row.version}.0", row), *reversed(old)]

    def _g_version(self, lst: CustomList, label: str, shown: Row) -> dict[str, Any]:
        return {"id": label, "lastModifiedDateTime": iso(shown.modified), "lastModifiedBy": BY,
                "fields": self._g_fields(lst, shown)}

    def g_item_versions(self, lst: CustomList, row: Row, parts: list[str], req: Request) -> Response:
        """``parts`` after ``items/{n}/versions``."""
        versions = self._g_row_versions(row)
        if not parts and req.method == "GET":
            return json_response({"@odata.context": f"{req.base_url}/v1.0/$metadata#Collection(listItemVersion)",
                                  "value": [self._g_version(lst, label, shown) for label, shown in versions]})
        found = next((v for v in versions if parts and v[0] == parts[0]), None)
        if found is None:
            raise GraphError(404, "itemNotFound", f"The version '{parts[0] if parts else ''}' was not found.")
        action = "/".join(parts[1:])
        if req.method == "GET" and action in ("", "fields"):
            shown = self._g_version(lst, *found)
            return json_response(shown["fields"] if action else shown)
        if req.method == "POST" and action == "restoreVersion":
            if found[1] is not row:
                with self.store.lock:
                    keep_row_version(row)
                    row.fields = dict(found[1].fields)
                self.store.changed("list", lst.id)
            return Response(204, b"")
        raise GraphError(400, "invalidRequest", f"{req.method} versions/{'/'.join(parts)} is not supported.")


def keep_row_version(row: Row) -> None:
    """Before an update of ``row``'s fields: its fields become an older version; the row a new one."""
    row.history.append((dict(row.fields), row.modified))
    row.version += 1
    row.modified = now_iso()
