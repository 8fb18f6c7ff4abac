"""``delta`` for ``GraphSandbox``: ``items/{id}/delta()``, ``root/delta``, ``delta(token='…')`` or ``?token=``.

The first call lists every item under the folder (the folder included), later calls with the token of
the ``@odata.deltaLink`` only what was created, changed (content or fields) or deleted since; a deleted
item comes with the ``deleted`` facet. Pages of ``$top`` (default 200) chained by ``@odata.nextLink``,
the last page carries ``@odata.deltaLink``; ``token=latest`` gives a deltaLink without items; a token
the emulator never issued is 410 resyncRequired. As in SharePoint, ``parentReference`` has no ``path``.
A token is the change number it was issued at (``s{n}``; next pages ``s{since}u{upto}a{after}``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from sandbox.core.http import Request, Response, json_response
from sandbox.core.numbers import ascii_int
from sandbox.sharepoint.errors import GraphError
from sandbox.sharepoint.odata import check_options, top
from sandbox.sharepoint.store import Drive, Item, Tombstone

TOKEN = re.compile(r"^s(?P<since>x|[0-9]+)(?:u(?P<upto>[0-9]+)a(?P<after>[0-9]+))?$")


class Delta:
    """Mixed into ``GraphSandbox`` (uses its ``store``, ``_item_resource`` and ``_select``)."""

    def delta(self, folder: Item, drive: Drive, req: Request, path_token: str | None) -> Response:
        """Changes under ``folder`` since the token (everything when none), in change order."""
        raw = path_token if path_token is not None else req.query.get("token")
        check_options(req.query, "delta")
        size = top(req.query)
        base = f"{req.base_url}/v1.0/drives/{quote(drive.id)}/items/{folder.id}/delta"
        keep = f"&$top={size}" if req.query.get("$top") else ""
        keep += f"&$select={quote(req.query['$select'])}" if req.query.get("$select") else ""
        return delta_page(
            self.store, raw, base, keep, size, {},
            lambda i: i.id == folder.id or folder.id in self.store.ancestors(i),
            lambda t: folder.id in t.ancestors,
            lambda c: self._select(self._delta_resource(c, drive, req), req), drive)

    def _delta_resource(self, change: Item | Tombstone, drive: Drive, req: Request) -> dict[str, Any]:
        if isinstance(change, Tombstone):
            out: dict[str, Any] = {"id": change.id, "name": change.name, "deleted": {"state": "deleted"},
                                   "size": 0}
            if change.parent_id is not None:
                out["parentReference"] = {"driveType": "documentLibrary", "driveId": drive.id, "id": change.parent_id}
            out["folder" if change.is_folder else "file"] = {"childCount": 0} if change.is_folder else {}
            return out
        out = self._item_resource(change, drive, req)
        if "parentReference" in out:
            out["parentReference"].pop("path", None)  # SharePoint's delta leaves it out: track items by id
        return out


def delta_page(store: Any, raw: str | None, base: str, keep: str, size: int, body: dict[str, Any],
               item_wanted: Callable[[Item], bool], gone_wanted: Callable[[Tombstone], bool],
               render: Callable[[Item | Tombstone], dict[str, Any]], drive: Drive) -> Response:
    """One page of the changes in ``drive`` that the token ``raw`` has not seen (every item when there is
    none), in change order: ``body`` plus ``value`` (each change through ``render``) and the next page's
    ``@odata.nextLink`` or, on the last page, the ``@odata.deltaLink``. Deletions only after a token."""
    with store.lock:
        if raw == "latest":
            return json_response({"value": [], "@odata.deltaLink": f"{base}?token=s{store.seq}"})
        m = TOKEN.match(raw or "sx")
        if m is None or (m.group("since") != "x" and ascii_int(m.group("since")) > store.seq):
            raise GraphError(410, "resyncRequired", "The delta token is not valid: resync from the start "
                             "(call delta without a token).")
        since = None if m.group("since") == "x" else ascii_int(m.group("since"))
        upto = ascii_int(m.group("upto")) if m.group("upto") else store.seq
        after = ascii_int(m.group("after")) if m.group("after") else (since or 0)
        rows = [i for i in store.items.values() if i.drive_id == drive.id and after < i.seq <= upto and item_wanted(i)]
        gone = [t for t in store.tombstones.values() if since is not None and t.drive_id == drive.id
                and after < t.seq <= upto and gone_wanted(t)]
        changes = sorted([*rows, *gone], key=lambda c: c.seq)
        page, more = changes[:size], len(changes) > size
        body = {**body, "value": [render(c) for c in page]}
    if more:
        body["@odata.nextLink"] = f"{base}?token=s{'x' if since is None else since}u{upto}a{page[-1].seq}{keep}"
    else:
        body["@odata.deltaLink"] = f"{base}?token=s{upto}"
    return json_response(body)
