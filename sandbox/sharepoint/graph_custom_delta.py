"""``listItem: delta`` for a custom (generic) list, for ``GraphSandbox``: ``GET /sites/{site}/lists/{list}/items/
delta`` (also ``delta()``, ``microsoft.graph.delta()``, ``delta(token='…')``), as msgraph-sdk's ``lists.by_list_id(…)
.items.delta.get()`` calls it. It was 404 "The specified list item was not found." (only a library's list had it,
``graph_list_delta.py``).

As for a library's list: the first call lists every item (folders too), later calls with the ``@odata.deltaLink``'s
token only what was created, changed or deleted since (the change numbers ``custom_lists.py`` stamps); pages of
``$top`` chained by ``@odata.nextLink``; ``token=latest`` gives a deltaLink without items; a token the emulator
never issued is 410 resyncRequired. Items are listItems (``$expand=fields``); a deleted one is ``{"id",
"parentReference": {"siteId"}, "contentType", "deleted": {"state": "deleted"}}``.
"""

from __future__ import annotations

import re
import uuid
from typing import Any
from urllib.parse import quote

from sandbox.core.http import Request, Response, json_response
from sandbox.core.numbers import ascii_int
from sandbox.sharepoint.custom_lists import CHANGES, CustomList
from sandbox.sharepoint.errors import GraphError
from sandbox.sharepoint.odata import check_options, top

TOKEN = re.compile(r"^c(?P<since>x|[0-9]+)(?:u(?P<upto>[0-9]+)a(?P<after>[0-9]+))?$")


class GraphCustomDelta:
    """Mixed into ``GraphSandbox`` with ``GraphLists`` (``_g_item``) and ``GraphListDelta``."""

    def g_custom_list_delta(self, lst: CustomList, req: Request, path_token: str | None) -> Response:
        raw = path_token if path_token is not None else req.query.get("token")
        check_options(req.query, "delta")
        size = top(req.query)
        base = f"{req.base_url}/v1.0/sites/{quote(lst.site_id)}/lists/{lst.id}/items/delta"
        keep = "".join(f"&{k}={quote(req.query[k])}" for k in ("$top", "$select", "$expand") if req.query.get(k))
        body: dict[str, Any] = {"@odata.context": f"{req.base_url}/v1.0/$metadata#Collection(listItem)"}
        with self.store.lock:
            now = next(CHANGES)  # every change so far is below it
            if raw == "latest":
                return json_response({**body, "value": [], "@odata.deltaLink": f"{base}?token=c{now}"})
            m = TOKEN.match(raw or "cx")
            if m is None or (m.group("since") != "x" and ascii_int(m.group("since")) > now):
                raise GraphError(410, "resyncRequired", "The delta token is not valid: resync from the start "
                                 "(call delta without a token).")
            since = None if m.group("since") == "x" else ascii_int(m.group("since"))
            upto = ascii_int(m.group("upto")) if m.group("upto") else now
            after = ascii_int(m.group("after")) if m.group("after") else (since or 0)
            changes: list[tuple[int, Any]] = [(r.seq, r) for r in lst.rows.values() if after < r.seq <= upto]
            if since is not None:
                changes += [(s, n) for n, s in lst.gone.items() if after < s <= upto]
            changes.sort(key=lambda c: c[0])
            page, more = changes[:size], len(changes) > size
            expand = req.query.get("$expand", "")
            body["value"] = [self._g_item(lst, c, expand) if not isinstance(c, int) else self._g_gone(lst, c)
                             for _, c in page]
        if more:
            body["@odata.nextLink"] = f"{base}?token=c{'x' if since is None else since}u{upto}a{page[-1][0]}{keep}"
        else:
            body["@odata.deltaLink"] = f"{base}?token=c{upto}"
        return json_response(body)

    @staticmethod
    def _g_gone(lst: CustomList, row_id: int) -> dict[str, Any]:
        return {"id": str(row_id), "parentReference": {"siteId": lst.site_id},
                "contentType": {"id": "0x0100" + uuid.uuid5(uuid.NAMESPACE_URL, lst.id).hex.upper(), "name": "Item"},
                "deleted": {"state": "deleted"}}
