"""``listItem: delta`` for a document library's list, for ``GraphSandbox``:
``GET /sites/{site}/lists/{list}/items/delta`` (also ``delta()``, ``microsoft.graph.delta()``,
``delta(token='…')``), as msgraph-sdk's ``lists.by_list_id(…).items.delta.get()`` calls it.

As the drive's ``delta`` (``delta.py``, the same tokens): the first call lists every item of the list (files and
folders, not the root), later calls with the ``@odata.deltaLink``'s token only what was created, changed or
deleted since; pages of ``$top`` chained by ``@odata.nextLink``; ``token=latest`` gives a deltaLink without
items; a token the emulator never issued is 410 resyncRequired. Items are listItems (``$expand=fields`` as on
``items``); a deleted one is ``{"id", "parentReference": {"siteId"}, "contentType", "deleted": {"state":
"deleted"}}``, as Graph's example shows it. Before, ``items/delta`` was 404 "The list item was not found."
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from sandbox.core.http import Request, Response
from sandbox.sharepoint.delta import delta_page
from sandbox.sharepoint.odata import check_options, top
from sandbox.sharepoint.sites import list_id
from sandbox.sharepoint.store import Drive, Item, Tombstone

SEGMENT = re.compile(r"^(?:microsoft\.graph\.)?delta(?:\(\)|\(token='(?P<token>[^']*)'\))?$")


class GraphListDelta:
    """Mixed into ``GraphSandbox`` (uses ``store`` and ``Sites._list_item``)."""

    @staticmethod
    def is_list_delta(parts: list[str]) -> re.Match[str] | None:
        return SEGMENT.match(parts[1]) if len(parts) == 2 and parts[0] == "items" else None

    def list_items_delta(self, drive: Drive, req: Request, path_token: str | None) -> Response:
        raw = path_token if path_token is not None else req.query.get("token")
        check_options(req.query, "delta")
        size = top(req.query)
        base = f"{req.base_url}/v1.0/sites/{quote(drive.site_id)}/lists/{list_id(drive)}/items/delta"
        keep = "".join(f"&{k}={quote(req.query[k])}" for k in ("$top", "$select", "$expand") if req.query.get(k))
        context = {"@odata.context": f"{req.base_url}/v1.0/$metadata#Collection(listItem)"}
        return delta_page(self.store, raw, base, keep, size, context, lambda i: i.parent_id is not None,
                          lambda t: t.parent_id is not None, lambda c: self._list_delta_row(c, drive, req), drive)

    def _list_delta_row(self, change: Item | Tombstone, drive: Drive, req: Request) -> dict[str, Any]:
        if isinstance(change, Tombstone):
            folder = change.is_folder
            return {"id": str(change.list_item_id), "parentReference": {"siteId": drive.site_id},
                    "contentType": {"id": "0x0120" if folder else "0x0101", "name": "Folder" if folder else "Document"},
                    "deleted": {"state": "deleted"}}
        return self._list_item(change, drive, req, req.query)
