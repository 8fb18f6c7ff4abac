"""SharePoint REST v1 lists and list items (``rest.py`` has the envelope): ``web/lists``,
``lists/GetByTitle('…')`` and ``web/DefaultDocumentLibrary`` (the site's first library), ``/RootFolder``,
``/items`` with ``$select``, ``$filter`` (``Id eq n``, ``FSObjType eq 0|1``), ``$top`` and paging by
``$skiptoken=Paged=TRUE&p_ID=n`` (``__next`` / ``odata.nextLink``; 100 a page without ``$top``),
``items/GetById(n)`` (or ``items(n)``) with ``/File``, ``/Folder``. An item is a drive item of the library;
its fields are SharePoint's usual ones (``FileLeafRef``, ``FileRef``, ``FSObjType``, …) and the library's
custom columns.
"""

from __future__ import annotations

import re
import uuid
from typing import Any
from urllib.parse import urlencode

from sandbox.core.http import Request, Response
from sandbox.sharepoint.rest import args, iso, pick
from sandbox.sharepoint.rest_errors import BAD, RestError
from sandbox.sharepoint.store import Drive, Item

PAGE = 100  # [unc] SharePoint's default page of list items


class RestLists:
    """Mixed into ``GraphSandbox`` with ``RestApi``."""

    def _rest_list(self, req: Request, d: Drive, verbose: bool) -> dict[str, Any]:
        abs_url, rel = self._rest_web_url(req)
        lid = str(uuid.uuid5(uuid.NAMESPACE_URL, d.id))
        count = sum(1 for i in self.store.items.values() if i.drive_id == d.id and i.parent_id is not None)
        props = {"Id": lid, "Title": d.name, "BaseTemplate": 101, "BaseType": 1, "ItemCount": count,
                 "Hidden": False, "EntityTypeName": d.name.replace(" ", "_x0020_"),
                 "ParentWebUrl": rel,
                 "ListItemEntityTypeFullName": f"SP.Data.{d.name.replace(' ', '_x0020_')}Item",
                 "Created": iso(self.store.items[d.root_id].created)}
        return self._rest_entity(props, "SP.List", f"{abs_url}/_api/Web/Lists(guid'{lid}')", verbose)

    def _rest_item(self, req: Request, d: Drive, item: Item, verbose: bool, select: str = "") -> dict[str, Any]:
        folder = item.content is None
        props = {"Id": item.list_item_id, "ID": item.list_item_id, "FileLeafRef": item.name,
                 "FileRef": self.rest_path(req, d, item), "FSObjType": 1 if folder else 0,
                 "Title": None, "Created": iso(item.created), "Modified": iso(item.modified),
                 "GUID": str(uuid.uuid5(uuid.NAMESPACE_OID, item.id)), "UniqueId": item.id,
                 "OData__UIVersionString": item.label, "File_x0020_Size": None if folder else len(item.content),
                 **dict.fromkeys(sorted(d.columns)), **item.fields}
        props = pick(props, select)
        uri = f"{self._rest_web_url(req)[0]}/_api/Web/Lists(guid'{uuid.uuid5(uuid.NAMESPACE_URL, d.id)}')" \
              f"/Items({item.list_item_id})"
        return self._rest_entity(props, f"SP.Data.{d.name.replace(' ', '_x0020_')}Item", uri, verbose)

    def _rest_items(self, req: Request, d: Drive, verbose: bool) -> Response:
        items = sorted((i for i in self.store.items.values() if i.drive_id == d.id and i.parent_id is not None),
                       key=lambda i: i.list_item_id)
        flt = req.query.get("$filter", "").strip()
        if flt:
            m = re.fullmatch(r"(Id|ID|FSObjType)\s+eq\s+(\d+)", flt)
            if m is None:  # [unc] SharePoint accepts far more; the rest is refused here rather than ignored
                raise RestError(400, BAD)
            want = int(m.group(2))
            items = [i for i in items if (i.list_item_id if m.group(1) != "FSObjType"
                                          else int(i.content is None)) == want]
        top = req.query.get("$top", str(PAGE))
        skip = re.fullmatch(r"Paged=TRUE&p_ID=(\d+)", req.query.get("$skiptoken", "Paged=TRUE&p_ID=0"))
        if not top.isdigit() or skip is None:
            raise RestError(400, BAD)
        items = [i for i in items if i.list_item_id > int(skip.group(1))]
        page, more = items[:int(top)], len(items) > int(top)
        select = req.query.get("$select", "")
        body = self._rest_collection([self._rest_item(req, d, i, verbose, select) for i in page], verbose)
        if more and page:
            query = {k: v for k, v in req.query.items() if k != "$skiptoken"}
            query["$skiptoken"] = f"Paged=TRUE&p_ID={page[-1].list_item_id}"
            body["__next" if verbose else "odata.nextLink"] = f"{req.base_url}{req.path}?{urlencode(query)}"
        return self._rest_json(body, verbose)

    def rest_list_route(self, req: Request, d: Drive, segs: list[tuple[str, str | None]], verbose: bool) -> Response:
        names = [n for n, _ in segs]
        if not names and req.method == "GET":
            return self._rest_json(self._rest_list(req, d, verbose), verbose)
        if names == ["items"] and req.method == "GET":
            return self._rest_items(req, d, verbose)
        if names == ["getitems"] and req.method == "POST":
            return self.rest_get_items(req, d, verbose)  # rest_caml.py
        if names == ["renderlistdataasstream"] and req.method == "POST":
            return self.rest_render_stream(req, d)
        if names == ["getchanges"] and req.method == "POST":  # rest_changes.py
            return self.rest_get_changes(req, d.site_id, (3, str(uuid.uuid5(uuid.NAMESPACE_URL, d.id))), [d], verbose)
        if names[:1] == ["rootfolder"]:
            return self.rest_folder_route(req, d, self.store.items[d.root_id], segs[1:], verbose)
        if names[:1] == ["getitembyid"] and segs[0][1]:  # List.get_item_by_id: lists/…/getItemById(n)
            segs = [("items", None), ("getbyid", segs[0][1]), *segs[1:]]
            names = [n for n, _ in segs]
        if names[:1] == ["items"] and (names[1:2] == ["getbyid"] or segs[0][1]):
            by_call = names[1:2] == ["getbyid"]
            key = args(segs[1][1] if by_call else segs[0][1]).get("", "")
            n = int(key) if key.isdigit() else 0
            item = next((i for i in self.store.items.values() if i.drive_id == d.id and i.list_item_id == n
                         and i.parent_id is not None), None)
            if item is None:
                raise RestError(404, ("-2147024809, System.ArgumentException",
                                      "Item does not exist. It may have been deleted by another user."))
            rest = segs[2:] if by_call else segs[1:]
            return self.rest_item_route(req, d, item, rest, verbose)
        raise RestError(400, BAD)

    def rest_item_route(self, req: Request, d: Drive, item: Item, segs: list[tuple[str, str | None]],
                        verbose: bool) -> Response:
        """A list item (``items(n)``, ``items/GetById(n)``, ``…/ListItemAllFields``): GET; an update (``POST`` with
        ``X-HTTP-Method: MERGE``, or ``PATCH``/``MERGE``) sets the library's custom columns only, answering
        204, as Graph's ``fields`` PATCH does; ``Title`` is taken and dropped [unc]; DELETE removes the item."""
        names = [n for n, _ in segs]
        if names[:1] == ["parentlist"]:
            return self.rest_list_route(req, d, segs[1:], verbose)
        if names == ["versions"] and req.method == "GET":
            return self.rest_item_versions(req, d, item, verbose)  # rest_versions.py
        if names[:1] == ["file" if item.content is not None else "folder"]:
            route = self.rest_file_route if item.content is not None else self.rest_folder_route
            return route(req, d, item, segs[1:], verbose)
        if names:
            raise RestError(400, BAD)
        method = req.header("X-HTTP-Method").upper() or req.method
        if method == "GET":
            return self._rest_json(self._rest_item(req, d, item, verbose, req.query.get("$select", "")), verbose)
        self._rest_drive(req, d.site_id, d.name, "write")  # 403 in a library the app may only read
        if method == "DELETE":
            self.store.delete(item)
            return Response(200, b"")
        if method not in ("MERGE", "PATCH", "PUT"):
            raise RestError(400, BAD)
        body = req.json() if req.body else {}
        if not isinstance(body, dict):
            raise RestError(400, BAD)
        changes = {k: v for k, v in body.items() if k not in ("__metadata", "Title")}
        kind = f"SP.Data.{d.name.replace(' ', '_x0020_')}Item"
        for key in changes:
            if key not in d.columns:
                raise RestError(400, ("-1, Microsoft.SharePoint.Client.InvalidClientQueryException",
                                      f"The property '{key}' does not exist on type '{kind}'. Make sure to only use "
                                      "property names that are defined by the type."))
        with self.store.lock:
            item.fields.update({k: "" if v is None else str(v) for k, v in changes.items()})
            item.version += 1
            self.store.touch(item)
        return Response(204, b"")
