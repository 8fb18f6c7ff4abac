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

from sandbox.core.http import Request, Response, json_response
from sandbox.sharepoint.delta import TOKEN
from sandbox.sharepoint.errors import GraphError
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
        with self.store.lock:
            if raw == "latest":
                return json_response({"value": [], "@odata.deltaLink": f"{base}?token=s{self.store.seq}"})
            m = TOKEN.match(raw or "sx")
            if m is None or (m.group("since") != "x" and int(m.group("since")) > self.store.seq):
                raise GraphError(410, "resyncRequired", "The delta token is not valid: resync from the start "
                                 "(call delta without a token).")
            since = None if m.group("since") == "x" else int(m.group("since"))
            upto = int(m.group("upto")) if m.group("upto") else self.store.seq
            after = int(m.group("after")) if m.group("after") else (since or 0)
            rows = [i for i in self.store.items.values() if i.drive_id == drive.id and i.parent_id is not None
                    and after < i.seq <= upto]
            gone = [t for t in self.store.tombstones.values() if since is not None and t.drive_id == drive.id
                    and t.parent_id is not None and after < t.seq <= upto]
            changes = sorted([*rows, *gone], key=lambda c: c.seq)
            page, more = changes[:size], len(changes) > size
            value = [self._list_delta_row(c, drive, req) for c in page]
        body: dict[str, Any] = {"@odata.context": f"{req.base_url}/v1.0/$metadata#Collection(listItem)",
                                "value": value}
        if more:
            body["@odata.nextLink"] = (f"{base}?token=s{'x' if since is None else since}u{upto}a{page[-1].seq}"
                                       f"{keep}")
        else:
            body["@odata.deltaLink"] = f"{base}?token=s{upto}"
        return json_response(body)

    def _list_delta_row(self, change: Item | Tombstone, drive: Drive, req: Request) -> dict[str, Any]:
        if isinstance(change, Tombstone):
            folder = change.is_folder
            return {"id": str(change.list_item_id), "parentReference": {"siteId": drive.site_id},
                    "contentType": {"id": "0x0120" if folder else "0x0101", "name": "Folder" if folder else "Document"},
                    "deleted": {"state": "deleted"}}
        return self._list_item(change, drive, req, req.query)
