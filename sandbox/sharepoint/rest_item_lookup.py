"""List items found by their file's id or URL through SharePoint REST, for ``GraphSandbox``, as
office365-rest-python-client's ``List.get_item_by_unique_id``, ``Web.get_list_item`` /
``get_list_item_using_path`` and ``List.parent_web`` ask for them:

- ``lists/…/GetItemByUniqueId('<guid>')``: the item whose file or folder has that ``UniqueId``; unknown: 404
  ArgumentException "Item does not exist…" (as ``GetItemById``) [unc].
- ``web/GetListItem('<server- or web-relative URL>')`` and ``web/GetListItemUsingPath(DecodedUrl='…')``: the
  item at that URL, then anything a list item answers (``rest_lists.rest_item_route``); a URL with no item is
  404 FileNotFoundException [unc].
- ``lists/…/ParentWeb``: the site's web (GET).
"""

from __future__ import annotations

import uuid

from sandbox.core.http import Request, Response
from sandbox.sharepoint.rest import args
from sandbox.sharepoint.rest_errors import NOT_FOUND, RestError
from sandbox.sharepoint.store import Drive

GONE = ("-2147024809, System.ArgumentException", "Item does not exist. It may have been deleted by another user.")


class RestItemLookup:
    """Mixed into ``GraphSandbox`` with ``RestApi``, ``RestFiles`` and ``RestLists``."""

    def rest_list_lookup(self, req: Request, d: Drive, segs: list[tuple[str, str | None]], verbose: bool
                         ) -> Response | None:
        names = [n for n, _ in segs]
        if names[:1] == ["getitembyuniqueid"] and segs[0][1]:
            key = args(segs[0][1]).get("", "").strip("{}").lower()
            item = next((i for i in self.store.items.values() if i.drive_id == d.id and i.parent_id is not None
                         and str(uuid.uuid5(uuid.NAMESPACE_OID, i.id)) == key), None)
            if item is None:
                raise RestError(404, GONE)
            return self.rest_item_route(req, d, item, segs[1:], verbose)
        if names == ["parentweb"] and req.method == "GET":
            return self.rest_web_answer(req, d.site_id, verbose)
        return None

    def rest_web_lookup(self, req: Request, site: str, segs: list[tuple[str, str | None]], verbose: bool
                        ) -> Response | None:
        names = [n for n, _ in segs]
        if names[:1] not in (["getlistitem"], ["getlistitemusingpath"]) or not segs[0][1]:
            return None
        a = args(segs[0][1])
        need = "read" if req.method == "GET" else "write"
        d, parts = self._rest_locate(req, site, a.get("decodedurl", a.get("", "")), need)
        item = self._rest_walk(d, parts) if parts else None
        if item is None:
            raise RestError(404, NOT_FOUND)
        return self.rest_item_route(req, d, item, segs[1:], verbose)
