"""CAML queries and ``recycle()`` on SharePoint REST v1 custom lists (``custom_lists.py``), as for a
library (``rest_caml.py``): ``POST lists/…/GetItems`` with ``{"query": {"ViewXml",
"ListItemCollectionPosition": {"PagingInfo"}?}}`` (office365's ``List.get_items(CamlQuery, page_size=…)``)
answers the list's items (``<Where>``, ``<OrderBy>`` then ID, ``<RowLimit>``, paging after ``p_ID=n``) in the
query's ``FolderServerRelativeUrl`` (the root folder by default; ``<View Scope="Recursive">`` every item below it,
``RecursiveAll`` folders too, ``FilesOnly`` its items; folders in ``custom_folders.py``);
a ``FieldRef`` the list does not have is 500 as for a library. ``items(n)/recycle()`` (``POST …/Recycle``)
takes the item out into the site's ``RecycleBin`` (``rest_recycle.py``: ``ItemType`` 3, restorable) and answers
its bin id.

``POST web/lists`` (office365's ``web.lists.add(ListCreationInformation(…))`` / ``add_list``) makes a list as
Graph's ``POST /sites/{id}/lists`` does (``graph_lists.py``): ``BaseTemplate`` 101 a document library, any other
a custom list [unc: SharePoint makes the template asked for]; the app needs write somewhere on the site (403),
and a taken title is SharePoint's SPException [unc: status 500, as for other SPExceptions here]. The new list
is the app's to write. 201 and the list."""

from __future__ import annotations

import re
from types import SimpleNamespace
from typing import Any

from sandbox.core.http import Request, Response
from sandbox.core.numbers import ascii_int
from sandbox.sharepoint.rest_errors import BAD, DENIED, RestError

TAKEN = ("-2130575342, Microsoft.SharePoint.SPException", "A list, survey, discussion board, or document library "
         "with the specified title already exists in this Web site.  Please choose another title.")


class RestCustomCaml:
    """Mixed into ``GraphSandbox`` with ``CustomLists`` and ``RestCaml``."""

    def rest_custom_get_items(self, req: Request, lst: Any, verbose: bool) -> Response:
        body = (req.json() if req.body else None) or {}
        query = (body.get("query") or {}) if isinstance(body, dict) else None
        if not isinstance(query, dict):
            raise RestError(400, BAD)
        position = query.get("ListItemCollectionPosition") or {}
        paging = position.get("PagingInfo") if isinstance(position, dict) else None
        view = self._caml_view(str(query.get("ViewXml") or ""))
        schema = SimpleNamespace(columns=lst.columns)  # what _caml_field checks a FieldRef against
        # the rows in the query's FolderServerRelativeUrl (the root folder by default), by the view's Scope:
        # Recursive every item (no folders) below it, RecursiveAll every row below it, FilesOnly its items
        folder = str(query.get("FolderServerRelativeUrl") or "")
        where_in = self.c_relative(req, lst, folder).lower() if folder else ""  # custom_folders.py
        scope = (view.get("Scope") or "").lower()
        def inside(r: Any) -> bool:
            deep = where_in == "" or (r.folder.lower() + "/").startswith(where_in + "/")
            if scope == "recursive":
                return deep and r.fs_type == 0
            if scope == "recursiveall":
                return deep
            return r.folder.lower() == where_in and (scope != "filesonly" or r.fs_type == 0)
        rows = [self._c_item(req, lst, r, True) for r in sorted(lst.rows.values(), key=lambda r: r.id) if inside(r)]
        where = view.find("./Query/Where")
        if where is not None and len(where):
            rows = [f for f in rows if self._caml_match(where[0], f, schema)]
        for ref in reversed(view.findall("./Query/OrderBy/FieldRef")):
            name, ascending = ref.get("Name", ""), (ref.get("Ascending") or "TRUE").upper() != "FALSE"
            self._caml_field(name, schema)
            rows.sort(key=lambda f, n=name: self._caml_sort_key(f.get(n)), reverse=not ascending)
        after = re.search(r"p_ID=([0-9]+)", paging or "")  # ASCII digits, as rest_caml.py
        if after:
            n = ascii_int(after.group(1))
            at = next((k for k, f in enumerate(rows) if f["Id"] == n), None)
            rows = rows[at + 1:] if at is not None else [f for f in rows if f["Id"] > n]
        limit_el = view.find("./RowLimit")
        if limit_el is not None and ascii_int((limit_el.text or "").strip()) is not None:
            rows = rows[:ascii_int(limit_el.text.strip())]
        select = req.query.get("$select", "")
        shown = [self._c_item_entity(req, lst, self.c_pick(f, select), verbose) for f in rows]
        return self._rest_json(self._rest_collection(shown, verbose), verbose)

    def rest_custom_recycle(self, req: Request, lst: Any, row: Any, verbose: bool) -> Response:
        guid = self.list_to_bin(lst, row, self.c_item_paths(req, lst, row)["FileRef"])  # rest_recycle.py
        self.store.changed("list", lst.id)
        return self._rest_json({"Recycle": guid} if verbose else {"value": guid}, verbose)

    def rest_create_list(self, req: Request, site: str, verbose: bool) -> Response:
        drives = self._rest_drives(site)
        customs = [c for c in self.store.custom_lists.values() if c.site_id == site]
        if not any(x.grants.get(req.principal) == "write" for x in [*drives, *customs]):
            raise RestError(403, DENIED)
        body = (req.json() if req.body else None) or {}
        if isinstance(body, dict) and isinstance(body.get("parameters"), dict):  # lists/add({parameters})
            body = body["parameters"]
        title = str(body.get("Title") or "").strip() if isinstance(body, dict) else ""
        if not title:
            raise RestError(400, BAD)
        template = body.get("BaseTemplate")
        with self.store.lock:
            if title.lower() in {x.name.lower() for x in drives} | {c.title.lower() for c in customs}:
                raise RestError(500, TAKEN)
            if str(template) == "101":
                d = self.store.drive(site, title, grants={req.principal: "write"})
                return self._rest_json(self._rest_list(req, d, verbose), verbose, 201)
            lst = self.add_custom_list(site, title, grants={req.principal: "write"})
        return self._rest_json(self.rest_custom_entity(req, lst, verbose), verbose, 201)
