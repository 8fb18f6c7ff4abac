"""SharePoint REST v1 recycle bin (``rest_files.py`` sends ``recycle()`` here; ``rest.py`` routes
``web/RecycleBin`` and ``site/RecycleBin``):

- ``File/recycle()`` and ``Folder/recycle()`` take the item (a folder with everything under it) out of the
  library, as a deletion does (Graph's ``delta`` reports it deleted), keep it in the site's bin and answer the
  bin item's id; ``DELETE`` deletes for good.
- A custom list's ``items(n)/recycle()`` and a list folder's ``recycle()`` (``custom_folders.py``) come here too
  (``list_to_bin``: ``ItemType`` 3, a list item, or 5; ``Title`` the item's); ``Restore()`` puts the rows back
  with their ids (a folder first when its parent folder is gone).
- ``RecycleBin`` lists ``SP.RecycleBinItem``s (``Id``, ``LeafName``, ``DirName`` without the leading slash,
  ``ItemType`` 1 file / 5 folder, ``ItemState`` 1 (first stage), ``DeletedDate``, ``Size`` text, ``Title``,
  ``DeletedByName``), newest first; ``RecycleBin('<id>')`` or ``RecycleBin/GetById('<id>')`` one of them.
- ``…/Restore()`` puts the item back where it was, with its ids and versions (Graph's ``delta`` reports it
  again); a name taken there meanwhile, or a parent folder gone, is 400 [unc: the codes]. ``RestoreAll()``,
  ``…/DeleteObject()``, ``DeleteByIds`` (``{"ids": […]}``) and ``DeleteAll()``; an unknown id is 404 [unc].
- An item's ``DELETE`` may come as a POST with ``X-HTTP-Method: DELETE`` (office365's ``delete_object()`` on
  ``RecycleBin/GetById('<id>')``); it was 400 "The expression … is not valid.".
- ``…/MoveToSecondStage()`` moves an item to the second stage (``ItemState`` 2): ``web/RecycleBin`` lists the
  first stage only, ``site/RecycleBin`` both, as SharePoint's site collection bin does; a second-stage item can
  still be restored or deleted there. It was 400.
"""

from __future__ import annotations

import uuid
from typing import Any

from sandbox.core.http import Request, Response
from sandbox.sharepoint.rest import args, iso
from sandbox.sharepoint.rest_errors import BAD, DENIED, RestError
from sandbox.sharepoint.store import Drive, Item, now_iso

GONE = ("-2147024809, System.ArgumentException", "Value does not fall within the expected range.")  # [unc]


class RestRecycle:
    """Mixed into ``GraphSandbox`` with ``RestFiles``."""

    def _bin(self, site: str) -> list[dict[str, Any]]:
        bins: dict[str, list[dict[str, Any]]] = self.__dict__.setdefault("rest_bins", {})
        return bins.setdefault(site, [])

    def rest_recycle(self, req: Request, d: Drive, item: Item, verbose: bool) -> Response:
        guid = self.to_bin(d, item, self.rest_path(req, d, item))
        return self._rest_json({"Recycle": guid} if verbose else {"value": guid}, verbose)

    def to_bin(self, d: Drive, item: Item, path: str) -> str:
        """Take ``item`` (and all under it) out of ``d`` into the site's bin; ``path`` is its server-relative
        path. Graph's ``DELETE`` of a drive item comes here too (``graph_recycle.py``). The bin item's id."""
        with self.store.lock:
            subtree, todo = [], [item]
            while todo:
                node = todo.pop()
                subtree.append(node)
                todo.extend(self.store.children(node.id))
            entry = {"Id": str(uuid.uuid4()), "item": item, "subtree": subtree, "drive": d.id,
                     "LeafName": item.name, "DirName": path.rsplit("/", 1)[0].lstrip("/"),
                     "ItemType": 5 if item.content is None else 1, "DeletedDate": now_iso(),
                     "Size": str(sum(len(i.content or b"") for i in subtree))}
            self.store.delete(item)
            self._bin(d.site_id).insert(0, entry)
        return entry["Id"]

    def _bin_entity(self, req: Request, e: dict[str, Any], verbose: bool) -> dict[str, Any]:
        props = {"Id": e["Id"], "AuthorName": "SharePoint App", "DeletedByName": "SharePoint App",
                 "DeletedDate": iso(e["DeletedDate"]), "DirName": e["DirName"],
                 "DirNamePath": {"DecodedUrl": e["DirName"]}, "ItemState": e.get("ItemState", 1),
                 "ItemType": e["ItemType"],
                 "LeafName": e["LeafName"], "LeafNamePath": {"DecodedUrl": e["LeafName"]}, "Size": e["Size"],
                 "Title": e.get("Title", e["LeafName"])}
        uri = f"{self._rest_web_url(req)[0]}/_api/Web/RecycleBin('{e['Id']}')"
        return self._rest_entity(props, "SP.RecycleBinItem", uri, verbose)

    def rest_recycle_bin(self, req: Request, site: str, segs: list[tuple[str, str | None]], verbose: bool,
                         scope: str = "web") -> Response:
        """``segs`` from ``RecycleBin`` on; ``scope`` ``web`` (the first stage) or ``site`` (both stages)."""
        names = [n for n, _ in segs]
        method = req.header("X-HTTP-Method").upper() or req.method
        entries = [e for e in self._bin(site) if req.principal in self.bin_grants(e)
                   and (scope == "site" or e.get("ItemState", 1) == 1)]
        if names == ["recyclebin"] and not segs[0][1] and req.method == "GET":
            return self._rest_json(self._rest_collection([self._bin_entity(req, e, verbose) for e in entries],
                                                         verbose), verbose)
        if len(names) == 2 and names[1] in ("restoreall", "deleteall", "deletebyids") and req.method == "POST":
            body = req.json() if req.body else {}
            ids = body.get("ids") if isinstance(body, dict) else None
            ids = ids.get("results") if isinstance(ids, dict) else ids
            chosen = entries if names[1] != "deletebyids" else [e for e in entries if e["Id"] in (ids or [])]
            for e in reversed(chosen):
                self._bin_act(req, site, e, "restore" if names[1] == "restoreall" else "deleteobject")
            return Response(200, b"")
        by_call = names[1:2] == ["getbyid"]
        key = args(segs[1][1] if by_call else segs[0][1]).get("", "").strip("{}").lower()
        found = next((e for e in entries if e["Id"] == key), None)
        if not key or found is None:
            raise RestError(404, GONE)
        rest = names[2:] if by_call else names[1:]
        if not rest and req.method == "GET":
            return self._rest_json(self._bin_entity(req, found, verbose), verbose)
        if rest == ["movetosecondstage"] and req.method == "POST":
            self._bin_write(req, found)
            found["ItemState"] = 2
            return Response(200, b"")
        if (rest in (["restore"], ["deleteobject"]) and req.method == "POST") or (not rest and method == "DELETE"):
            self._bin_act(req, site, found, rest[0] if rest else "deleteobject")
            return Response(200, b"")
        raise RestError(400, BAD)

    def bin_grants(self, e: dict[str, Any]) -> dict[str, str]:
        """The grants of the library (or custom list: ``list_to_bin``) a bin item came from."""
        if "list" in e:
            lst = self.store.custom_lists.get(e["list"])
            return lst.grants if lst is not None else {}
        return self.store.drives[e["drive"]].grants

    def _bin_write(self, req: Request, e: dict[str, Any]) -> None:
        """Restoring, purging or moving a bin item needs write where it came from, as recycling did."""
        if "list" in e:
            if self.bin_grants(e).get(req.principal) != "write":
                raise RestError(403, DENIED)
            return
        d = self.store.drives[e["drive"]]
        self._rest_drive(req, d.site_id, d.name, "write")

    def list_to_bin(self, lst: Any, row: Any, path: str) -> str:
        """A custom list's row (a folder with every row in it) out of the list into the site's bin (``ItemType``
        3, a list item; 5 a folder); ``path`` its server-relative ``FileRef``. The bin item's id."""
        with self.store.lock:
            under = row.path + "/" if row.fs_type == 1 else None
            rows = [row, *(r for r in lst.rows.values() if under and (r.folder + "/").startswith(under))]
            entry = {"Id": str(uuid.uuid4()), "list": lst.id, "rows": rows, "LeafName": path.rsplit("/", 1)[1],
                     "DirName": path.rsplit("/", 1)[0].lstrip("/"), "ItemType": 5 if row.fs_type == 1 else 3,
                     "DeletedDate": now_iso(), "Size": "0", "Title": row.fields.get("Title") or ""}
            lst.drop(row.id)
            self._bin(lst.site_id).insert(0, entry)
        return entry["Id"]

    def _list_restore(self, e: dict[str, Any]) -> None:
        lst = self.store.custom_lists.get(e["list"])
        first = e["rows"][0]
        if lst is None or (first.folder and not any(r.fs_type == 1 and r.path == first.folder
                                                    for r in lst.rows.values())):
            raise RestError(400, ("-2147024809, System.ArgumentException", "The parent folder of "
                                  f"'{e['LeafName']}' no longer exists. Restore it first."))
        for row in e["rows"]:
            lst.rows[row.id] = row
            lst.gone.pop(row.id, None)
            row.modified = row.modified  # a new change number: the row is back
        self.store.changed("list", lst.id)

    def _bin_act(self, req: Request, site: str, e: dict[str, Any], act: str) -> None:
        self._bin_write(req, e)
        with self.store.lock:
            if act == "restore" and "list" in e:
                self._list_restore(e)
            elif act == "restore":
                item = e["item"]
                if item.parent_id not in self.store.items:
                    raise RestError(400, ("-2147024809, System.ArgumentException", "The parent folder of "
                                          f"'{item.name}' no longer exists. Restore it first."))
                if self.store.child(item.parent_id, item.name) is not None:
                    raise RestError(400, ("-2130575257, Microsoft.SharePoint.SPFileExistsException",
                                          f"A file or folder with the name {e['DirName']}/{item.name} already "
                                          "exists."))
                for node in e["subtree"]:
                    self.store.items[node.id] = node
                    self.store.tombstones.pop(node.id, None)
                    self.store.touch(node, write=False)
            self._bin(site).remove(e)
