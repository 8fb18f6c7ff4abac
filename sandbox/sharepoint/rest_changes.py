"""SharePoint REST v1 change log: ``POST lists/…/getChanges``, ``web/getChanges`` and ``site/getChanges`` with
``{"query": {SP.ChangeQuery}}`` (as ``List.get_changes(ChangeQuery(Item=True))`` sends it), over the change
numbers the store stamps for Graph's ``delta`` (``store.py``).

- Item changes only (``Item: true``; other object types answer nothing here [unc]): ``ChangeType`` 1 (Add: an
  item created since the start token), 2 (Update) or 3 (DeleteObject), kept by the query's ``Add``,
  ``Update`` and ``DeleteObject`` flags; each ``SP.ChangeItem`` has ``ChangeToken.StringValue``, ``ItemId``,
  ``ListId``, ``WebId``, ``SiteId``, ``UniqueId``, ``Time``, ``ServerRelativeUrl``, oldest first. An item's
  updates collapse into its latest one (SharePoint logs every one) [unc].
- Tokens are ``1;<scope: 1 site, 2 web, 3 list>;<scope id>;<ticks>;<change number>``; ``ChangeTokenStart``
  (a string or ``{"StringValue"}``) returns changes after it, ``ChangeTokenEnd`` up to it, ``FetchLimit`` caps
  the count (1000 by default [unc]); a token another object issued is 400 [unc: the code].
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sandbox.core.http import Request, Response
from sandbox.core.numbers import ascii_int, json_int
from sandbox.sharepoint.rest import iso
from sandbox.sharepoint.rest_errors import RestError
from sandbox.sharepoint.store import Drive, now_iso

BAD_TOKEN = ("-2147024809, System.ArgumentException", "The change token refers to a different list or site.")
EPOCH_TICKS = 621355968000000000  # .NET ticks at 1970-01-01


def _token_value(raw: Any) -> str:
    return str(raw.get("StringValue") or "") if isinstance(raw, dict) else str(raw or "")


class RestChanges:
    """Mixed into ``GraphSandbox`` with ``RestApi``."""

    def rest_get_changes(self, req: Request, site: str, scope: tuple[int, str], drives: list[Drive],
                         verbose: bool, within: Callable[[str], bool] | None = None) -> Response:
        """``within``: which drive items (by id) count (a folder's or a list item's own changes); schema changes
        (``rest_schema_log.py``) count for a list (scope 3) under its id, for the web and site under theirs and
        their lists' [unc: SharePoint also logs a list's changes in its web's log]."""
        query = (req.json() if req.body else {}) or {}
        query = query.get("query") or {} if isinstance(query, dict) else {}
        start, end = (self._change_number(_token_value(query.get(k)), scope) for k in ("ChangeTokenStart",
                                                                                        "ChangeTokenEnd"))
        limit = json_int(query.get("FetchLimit") or 1000, cap=2**31 - 1, signed=True)
        if limit is None:  # 1e999, NaN, 1.5, '²': not an Edm.Int64 [unc: SharePoint's wording]
            raise RestError(400, ("-1, Microsoft.SharePoint.Client.InvalidClientQueryException",
                                  "Cannot convert a primitive value to the expected type 'Edm.Int64'."))
        want = {1: query.get("Add", True), 2: query.get("Update", True), 3: query.get("DeleteObject", True)}
        changes: list[tuple[int, dict[str, Any]]] = []
        if query.get("Item"):
            ids = {d.id: d for d in drives}
            web_id, site_id = site.split(",")[1], site.split(",")[1]
            for item in list(self.store.items.values()):
                d = ids.get(item.drive_id)
                if d is None or item.parent_id is None or (within is not None and not within(item.id)):
                    continue
                path = self.rest_path(req, d, item)
                for kind, seq in ((1, item.created_seq), (2, item.seq)):
                    if start < seq <= (end or seq) and (kind == 1 or seq > item.created_seq):
                        changes.append((seq, self._change(req, d, kind, seq, item.list_item_id, item.id,
                                                          item.modified, path, web_id, site_id, scope)))
            for gone in list(self.store.tombstones.values()):
                d = ids.get(gone.drive_id)
                if d is None or gone.list_item_id == 0 or not start < gone.seq <= (end or gone.seq) or (
                        within is not None and not within(gone.id)):
                    continue
                changes.append((gone.seq, self._change(req, d, 3, gone.seq, gone.list_item_id, gone.id,
                                                       gone.deleted or now_iso(), None, web_id, site_id, scope)))
        typed = [(seq, "SP.ChangeItem", c) for seq, c in changes]
        if within is None:  # rest_schema_log.py: fields, content types, lists
            owners = {scope[1]} if scope[0] == 3 else {site, *(str(uuid.uuid5(uuid.NAMESPACE_URL, d.id)) for d in
                                                               drives), *(c.id for c in self.store.custom_lists.values()
                                                                           if c.site_id == site)}
            typed += [(seq, kind, {"ChangeToken": {"StringValue": self._token(scope, seq, props["Time"])}, **props})
                      for seq, kind, props in self.rest_schema_changes(req, query, owners, start, end, site)]
        typed.sort(key=lambda c: c[0])
        rows = [(kind, c) for _, kind, c in typed if want.get(c["ChangeType"])][:limit]
        base = f"{self._rest_web_url(req)[0]}/_api"
        out = [self._rest_entity(c, kind, f"{base}/{kind}{n}", verbose) for n, (kind, c) in enumerate(rows)]
        return self._rest_json(self._rest_collection(out, verbose), verbose)

    @staticmethod
    def _token(scope: tuple[int, str], seq: int, when: str) -> str:
        try:
            stamp = datetime.strptime(when[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
        except ValueError:
            stamp = datetime.now(UTC)
        ticks = EPOCH_TICKS + int(stamp.timestamp()) * 10_000_000
        return f"1;{scope[0]};{scope[1]};{ticks};{seq}"

    @staticmethod
    def _change_number(token: str, scope: tuple[int, str]) -> int:
        if not token:
            return 0
        # ASCII digits (\d took '٣' as 3); a change number of 5,000 digits saturates (int() raised: a 500)
        m = re.fullmatch(r"1;([0-9]);([0-9a-fA-F-]+);([0-9]+);(-?[0-9]+)", token.strip())
        if m is None or (int(m.group(1)), m.group(2).lower()) != (scope[0], scope[1].lower()):
            raise RestError(400, BAD_TOKEN)
        return max(0, ascii_int(m.group(4), signed=True) or 0)

    def _change(self, req: Request, d: Drive, kind: int, seq: int, list_item_id: int, item_id: str, when: str,
                path: str | None, web_id: str, site_id: str, scope: tuple[int, str]) -> dict[str, Any]:
        out = {"ChangeToken": {"StringValue": self._token(scope, seq, when)}, "ChangeType": kind,
               "SiteId": site_id, "Time": iso(when), "ItemId": list_item_id,
               "ListId": str(uuid.uuid5(uuid.NAMESPACE_URL, d.id)), "ListTemplate": 101, "WebId": web_id,
               "UniqueId": str(uuid.uuid5(uuid.NAMESPACE_OID, item_id))}
        if path is not None:
            out["ServerRelativeUrl"] = path
        return out
