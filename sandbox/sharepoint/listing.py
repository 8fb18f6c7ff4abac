"""Drive-item collections for ``GraphSandbox``: ``children`` and ``search(q='…')`` pages (``$filter``,
``$orderby``, ``$top`` / ``$skiptoken`` with ``@odata.nextLink``, ``$count``), and an item as GET shows it
(``$expand``, ``$select``, ``@microsoft.graph.downloadUrl``). The query options are read in ``odata.py``."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from sandbox.core.http import Request, Response, json_response
from sandbox.sharepoint.errors import GraphError
from sandbox.sharepoint.odata import check_options, compile_filter, parse_expand, skip_of, top
from sandbox.sharepoint.store import Drive, Item

ITEM_PROPERTIES = {  # driveItem's properties and relationships ($select accepts these, Graph 400s others)
    "id", "name", "eTag", "cTag", "createdDateTime", "lastModifiedDateTime", "webUrl", "size", "parentReference",
    "folder", "file", "root", "listItem", "deleted", "createdBy", "lastModifiedBy", "description", "fileSystemInfo",
    "shared", "sharepointIds", "content", "audio", "bundle", "image", "location", "malware", "package",
    "pendingOperations", "photo", "publication", "remoteItem", "searchResult", "specialFolder", "video",
    "webDavUrl", "children", "permissions", "thumbnails", "versions", "analytics", "subscriptions", "workbook",
    "activities", "createdByUser", "lastModifiedByUser", "retentionLabel", "@microsoft.graph.downloadUrl"}
ORDERABLE = {"name": lambda i: i.name.lower(), "lastModifiedDateTime": lambda i: i.modified,
             "createdDateTime": lambda i: i.created, "size": lambda i: len(i.content or b"")}


class Listing:
    """Uses the sandbox's ``store``, ``_item_resource``, ``_fields``, ``_download_url`` and ``Versions``."""

    def _shown(self, item: Item, drive: Drive, req: Request, opts: dict[str, str] | None = None) -> dict[str, Any]:
        """The item as GET item, children and search show it: with a pre-authenticated
        ``@microsoft.graph.downloadUrl`` for files, ``$expand``ed (``opts``: the query options, the
        request's unless nested in ``children(...)``) and cut to ``$select``."""
        opts = req.query if opts is None else opts
        expand = parse_expand(opts.get("$expand"))
        out = self._item_resource(item, drive, req)
        out.pop("listItem", None)
        if "listItem" in expand:
            out["listItem"] = {"id": str(item.list_item_id), "fields": self._fields(item)}
        if item.content is not None:
            out["@microsoft.graph.downloadUrl"] = self._download_url(item, req)
        if "children" in expand:
            sub = expand["children"]
            check_options(sub, "children")
            kids = self._listed(self.store.children(item.id), drive, req, sub)
            out["children"] = [self._shown(k, drive, req, sub) for k in kids[:top(sub)]]
        if "thumbnails" in expand:
            out["thumbnails"] = self.thumbnail_sets(item, req)
        if "permissions" in expand:
            out["permissions"] = list(item.permissions)
        if "versions" in expand:
            out["versions"] = ([self._version_resource(*v) for v in self._versions(item)]
                               if item.content is not None else [])
        return self._select(out, req, opts)

    @staticmethod
    def _select(out: dict[str, Any], req: Request, opts: dict[str, str] | None = None) -> dict[str, Any]:
        opts = req.query if opts is None else opts
        raw = opts.get("$select")
        if not raw:
            return out
        wanted = [p.strip() for p in raw.split(",") if p.strip()]
        for name in wanted:
            if name not in ITEM_PROPERTIES:
                raise GraphError(400, "BadRequest", f"Could not find a property named '{name}' on type "
                                 "'microsoft.graph.driveItem'.")
        expanded = parse_expand(opts.get("$expand"))
        return {k: v for k, v in out.items() if k in wanted or k in expanded}

    def _listed(self, items: list[Item], drive: Drive, req: Request, opts: dict[str, str]) -> list[Item]:
        """``items`` kept by ``$filter`` and sorted by ``$orderby`` (default: by name)."""
        order = (opts.get("$orderby") or "name").split(",")[0].split()
        if order[0] not in ORDERABLE or len(order) > 2 or order[1:] not in ([], ["asc"], ["desc"]):
            raise GraphError(400, "invalidRequest", f"Invalid request: $orderby {opts['$orderby']!r} is not "
                             "supported")
        keep = compile_filter(opts.get("$filter"))
        items = [i for i in items if keep(self._item_resource(i, drive, req))]
        return sorted(items, key=ORDERABLE[order[0]], reverse=order[1:] == ["desc"])

    def children(self, folder: Item, drive: Drive, req: Request) -> Response:
        check_options(req.query, "children")
        link = f"{req.base_url}/v1.0/drives/{quote(drive.id)}/items/{folder.id}/children"
        return self._page(self.store.children(folder.id), drive, req, link)

    def children_count(self, folder: Item, drive: Drive, req: Request) -> Response:
        """``GET …/children/$count``: the number of children ``$filter`` keeps, as ``text/plain`` (OData's
        ``$count`` segment; a file's is 0, as its children list is empty). No ``ConsistencyLevel`` header is
        needed: that is for directory objects [unc]."""
        check_options(req.query, "children")  # only $filter changes the count
        listed = self._listed(self.store.children(folder.id), drive, req, req.query)
        return Response(200, str(len(listed)).encode(), "text/plain")

    def search(self, folder: Item, drive: Drive, req: Request, q: str) -> Response:
        """``search(q='…')``: the items under ``folder`` (not itself) whose name, or text content, holds every
        word of ``q`` (case-insensitive), with the ``searchResult`` facet and no ``parentReference.path``."""
        check_options(req.query, "search")
        words = q.casefold().split()

        def hit(i: Item) -> bool:
            text = i.name.casefold() + " " + (i.content or b"")[:1 << 20].decode("utf-8", "ignore").casefold()
            return all(w in text for w in words)

        found = [i for i in self.store.items.values() if i.drive_id == drive.id and i.id != folder.id
                 and folder.id in self.store.ancestors(i) and hit(i)]
        link = f"{req.base_url}/v1.0/drives/{quote(drive.id)}/items/{folder.id}/search(q='{quote(q)}')"
        return self._page(found, drive, req, link, search=True)

    def _page(self, items: list[Item], drive: Drive, req: Request, link: str, search: bool = False) -> Response:
        """One page of a collection: ``$filter``, ``$orderby``, ``$top`` and ``$skiptoken``; ``@odata.count``
        with ``$count=true``; ``@odata.nextLink`` carries the options."""
        listed = self._listed(items, drive, req, req.query)
        size, skip = top(req.query), skip_of(req.query.get("$skiptoken"))
        value = []
        for i in listed[skip:skip + size]:
            shown = self._shown(i, drive, req)
            if search:
                shown.setdefault("searchResult", {})
                if isinstance(shown.get("parentReference"), dict):
                    shown["parentReference"].pop("path", None)
            value.append(shown)
        body: dict[str, Any] = {"@odata.context": f"{req.base_url}/v1.0/$metadata#Collection(driveItem)"}
        if (req.query.get("$count") or "").lower() == "true":
            body["@odata.count"] = len(listed)
        body["value"] = value
        if skip + size < len(listed):
            keep = "".join(f"&{k}={quote(req.query[k])}" for k in ("$expand", "$select", "$orderby", "$filter",
                                                                     "$count") if req.query.get(k))
            body["@odata.nextLink"] = f"{link}?$top={size}&$skiptoken={skip + size}{keep}"
        return json_response(body)
