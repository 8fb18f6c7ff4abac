"""Sites, their lists and list items, for ``GraphSandbox``.

- ``GET /sites?search=…`` (or ``$search``): the sites whose name holds the text (all with ``*`` or
  nothing); ``GET /sites/root``: the tenant's first site.
- A site's drives by the site: ``/sites/{site}/drive/…`` (the default library) and
  ``/sites/{site}/drives/{id}[/…]`` answer as ``/drives/{id}/…``; ``{site}`` is an id or a path
  (``{host}:/sites/{name}:``; the closing colon may be left out before ``/drive``, as
  office365-rest-python-client writes it).
- ``/sites/{site}/lists``: one ``documentLibrary`` list per library the app was granted; a list by id
  or by name; ``lists/{id}/drive``; ``lists/{id}/items`` (``$top`` / ``@odata.nextLink``, ``$expand=fields``
  with ``($select=…)``), ``items/{n}``, ``items/{n}/fields`` (GET, PATCH) and ``items/{n}/driveItem``;
  ``/drives/{id}/list`` and ``/drives/{id}/list/items…`` are the same list; ``lists/{id}/columns`` (GET, POST)
  and ``contentTypes``. Custom lists (``genericList``), and ``POST lists``, are ``graph_lists.py``'s.
"""

from __future__ import annotations

import re
import uuid
from typing import Any
from urllib.parse import quote, unquote

from sandbox.core.http import Request, Response, json_response
from sandbox.sharepoint.errors import GraphError
from sandbox.sharepoint.graph_lists import LIBRARY_BUILT_IN, dollar_options, items_page, items_skiptoken
from sandbox.sharepoint.graph_order import order_rows
from sandbox.sharepoint.graph_select import selected
from sandbox.sharepoint.store import Drive, Item

SITE = r"(?P<site>[^/:]+(?::/(?:sites|teams)/[^/:]+:?)?)"


def list_id(drive: Drive) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, drive.id))


class Sites:
    """Mixed into ``GraphSandbox`` (uses ``store``, ``_site``, ``_drive``, ``drive_item``, ``get_drive`` …)."""

    def _site(self, ref: str) -> str:
        """A site id from an id (``host,guid,guid``) or a path (``{hostname}:/sites/{name}[:]``)."""
        ref = unquote(ref)
        if ref in self.store.sites:
            return ref
        for site_id in self.store.sites:  # hostnames and GUIDs are case-insensitive [unc]
            if site_id.lower() == ref.lower():
                return site_id
        host, sep, path = ref.partition(":")
        if sep:
            name = path.strip(":").strip("/")
            key = name.split("/", 1)[1] if name.lower().startswith(("sites/", "teams/")) else name
            for site_id, display in self.store.sites.items():
                if site_id.split(",")[0].lower() == host.lower() and key.lower() in (
                        display.lower(), display.lower().replace(" ", "")):
                    return site_id
        raise GraphError(404, "itemNotFound", "Requested site could not be found")

    def site_route(self, req: Request) -> Response:
        """GET a site (by id or by path), its drives, or its default document library (``/drive``)."""
        site = self._site(req.params["site"])
        visible = [d for d in self.store.drives.values() if d.site_id == site]
        rest = req.params.get("rest")
        if rest == "/drives":  # the libraries this app was granted (none: an empty list, as before)
            return json_response({"value": [selected(self._drive_resource(d, req), req.query, "drive")
                                            for d in visible if req.principal in d.grants]})
        if not any(req.principal in d.grants for d in visible):
            raise GraphError(403, "accessDenied", "Access denied")
        if rest == "/drive":  # the first library made for the site stands for "Documents"
            default = visible[0]
            if req.principal not in default.grants:
                raise GraphError(403, "accessDenied", "Access denied")
            return json_response(selected(self._drive_resource(default, req), req.query, "drive"))
        return json_response(selected(self.site_resource(site), req.query, "site"))

    def _drive_resource(self, d: Drive, req: Request) -> dict[str, Any]:
        used = self.store.used_bytes(d.id)
        state = "exceeded" if used >= d.quota_bytes else "normal"
        return {"id": d.id, "name": d.name, "driveType": "documentLibrary",
                "webUrl": self.web_url(self.store.items[d.root_id], d, req),  # the library's root, as Graph shows it
                "quota": {"total": d.quota_bytes, "used": used, "remaining": max(0, d.quota_bytes - used),
                          "deleted": 0, "state": state}}

    def get_drive(self, req: Request) -> Response:
        return json_response(selected(self._drive_resource(self._drive(req), req), req.query, "drive"))

    def site_routes(self, router, authed) -> None:
        router.add("GET", r"/v1\.0/sites/?", authed(self.search_sites))
        router.add("GET", r"/v1\.0/sites/root", authed(self.root_site))
        router.add("GET", r"/v1\.0/sites/getAllSites\(\)", authed(self.search_sites))
        router.add("GET", r"/v1\.0/sites/(?P<host>[^/:,%]+\.[^/:,%]+)", authed(self.root_site))
        router.add("GET", r"/v1\.0/sites/(?P<host>[^/:]+)/getByPath\(path='(?P<path>[^']*)'\)", authed(self.by_path))
        for method in ("GET", "PUT", "POST", "PATCH", "DELETE"):
            router.add(method, rf"/v1\.0/sites/{SITE}/drive/(?P<tail>.+)", authed(self.site_drive))
            router.add(method, rf"/v1\.0/sites/{SITE}/drives/(?P<drive>[^/]+)(?:/(?P<tail>.+))?",
                       authed(self.site_drive))
            router.add(method, rf"/v1\.0/sites/{SITE}/lists(?:/(?P<tail>.*))?", authed(self.site_lists))

    def site_resource(self, site: str) -> dict[str, Any]:
        host, name = site.split(",")[0], self.store.sites[site]
        return {"id": site, "name": name, "displayName": name, "createdDateTime": "2024-01-01T00:00:00Z",
                "webUrl": f"https://{host}/sites/{quote(name.replace(' ', ''))}",
                "siteCollection": {"hostname": host}}

    def search_sites(self, req: Request) -> Response:
        text = (req.query.get("search") or req.query.get("$search") or "").strip().strip('"').casefold()
        found = [selected(self.site_resource(s), req.query, "site") for s, name in self.store.sites.items()
                 if text in ("", "*") or text in name.casefold() or text in s.casefold()]
        return json_response({"@odata.context": f"{req.base_url}/v1.0/$metadata#sites", "value": found})

    def root_site(self, req: Request) -> Response:
        """``/sites/root``, or ``/sites/{hostname}``: the (first) site of the tenant or of that host."""
        host = req.params.get("host", "").lower()
        site = next((s for s in self.store.sites if not host or s.split(",")[0].lower() == host), None)
        if site is None:
            raise GraphError(404, "itemNotFound", "Requested site could not be found")
        return json_response(selected({**self.site_resource(site), "root": {}}, req.query, "site"))

    def by_path(self, req: Request) -> Response:
        """``/sites/{hostname}/getByPath(path='/sites/{name}')``; msgraph-sdk's ``by_site_id(…).get_by_path_with_path``
        puts ``root`` or a site id where the hostname goes and percent-encodes the path: the site's host is
        used then, and the path stays server-relative [unc: Graph may read it relative to that site]."""
        host = unquote(req.params["host"])
        if host.lower() == "root":
            host = next(iter(self.store.sites), "").split(",")[0]
        site = self._site(f"{host.split(',')[0]}:{unquote(req.params['path'])}:")
        if not any(req.principal in d.grants for d in self.store.drives.values() if d.site_id == site):
            raise GraphError(403, "accessDenied", "Access denied")
        return json_response(selected(self.site_resource(site), req.query, "site"))

    def _site_drives(self, req: Request) -> tuple[str, list[Drive]]:
        site = self._site(req.params["site"].rstrip(":") + (":" if ":" in req.params["site"] else ""))
        return site, [d for d in self.store.drives.values() if d.site_id == site]

    def site_drive(self, req: Request) -> Response:
        site, visible = self._site_drives(req)
        if "drive" in req.params:
            drive = self.store.drives.get(unquote(req.params["drive"]))
            if drive is None or drive.site_id != site:
                raise GraphError(404, "itemNotFound", "The requested drive was not found.")
        else:
            if not visible:
                raise GraphError(404, "itemNotFound", "The requested drive was not found.")
            drive = visible[0]
        req.params["drive"] = drive.id
        if not req.params.get("tail"):
            if req.method != "GET":
                raise GraphError(405, "invalidRequest", f"{req.method} is not supported on a drive.")
            return self.get_drive(req)
        return self.drive_item(req)

    # -- lists -------------------------------------------------------------------------------------------
    def _list_resource(self, drive: Drive, req: Request) -> dict[str, Any]:
        root = self.store.items[drive.root_id]
        return {"@odata.etag": f'"{list_id(drive)},1"', "id": list_id(drive), "name": drive.name,
                "displayName": drive.name, "createdDateTime": root.created, "lastModifiedDateTime": root.modified,
                "webUrl": self.web_url(self.store.items[drive.root_id], drive, req), "eTag": f'"{list_id(drive)},1"',
                "list": {"template": "documentLibrary", "hidden": False, "contentTypesEnabled": False},
                "parentReference": {"siteId": drive.site_id}}

    def site_lists(self, req: Request) -> Response:
        site, visible = self._site_drives(req)
        dollar_options(req)
        granted = [d for d in visible if req.principal in d.grants]
        parts = [unquote(p) for p in (req.params.get("tail") or "").split("/") if p]
        if not parts:
            if req.method == "POST":
                return self.g_create_list(site, visible, req)  # graph_lists.py
            if req.method != "GET":
                raise GraphError(405, "invalidRequest", f"{req.method} is not supported on lists.")
            return json_response({"@odata.context": f"{req.base_url}/v1.0/$metadata#lists",
                                  "value": [self._list_resource(d, req) for d in granted]
                                  + [self.g_list_resource(c) for c in self.g_lists(site, req)]})
        drive = next((d for d in visible if parts[0].lower() in (list_id(d), d.name.lower())), None)
        custom = self.g_find_list(site, parts[0], req) if drive is None else None
        if custom is not None:
            return self.g_list_route(custom, parts[1:], req)
        if drive is None:
            raise GraphError(404, "itemNotFound", f"List '{parts[0]}' does not exist at this site.")
        req.params["drive"] = drive.id
        return self.list_route(self._drive(req, "read" if req.method == "GET" else "write"), parts[1:], req)

    def list_route(self, drive: Drive, parts: list[str], req: Request) -> Response:
        """``parts`` after the list: [], ["drive"], ["items"], ["items", n, ("fields"|"driveItem")?]."""
        if not parts and req.method == "GET":
            return json_response(self._list_resource(drive, req))
        if parts == ["drive"] and req.method == "GET":
            return json_response(selected(self._drive_resource(drive, req), req.query, "drive"))
        if parts == ["columns"]:
            return self.g_columns_route(req, list_id(drive), drive.column_defs, drive.columns, LIBRARY_BUILT_IN)
        if parts == ["contentTypes"] and req.method == "GET":
            return json_response(self.g_content_types(list_id(drive), True))
        if parts and parts[0] == "items" and len(parts) == 1 and req.method == "GET":
            return self.list_items(drive, req)
        delta = self.is_list_delta(parts) if req.method == "GET" else None
        if delta is not None:  # graph_list_delta.py
            return self.list_items_delta(drive, req, delta.group("token"))
        if parts and parts[0] == "items" and len(parts) >= 2:
            row = next((i for i in self.store.items.values()
                        if i.drive_id == drive.id and i.parent_id and str(i.list_item_id) == parts[1]), None)
            if row is None:
                raise GraphError(404, "itemNotFound", "The list item was not found.")
            if parts[2:3] == ["versions"]:  # listItemVersions with their fields (library_item_versions.py)
                return self.library_item_versions(drive, row, parts[3:], req)
            if len(parts) > 3:
                raise GraphError(400, "invalidRequest", f"{req.method} is not supported on {req.path}")
            rest = parts[2] if len(parts) == 3 else ""
            if rest == "" and req.method == "GET":
                return json_response(self._list_item(row, drive, req, req.query))
            if rest == "" and req.method == "DELETE":
                self.store.delete(row)
                return Response(204, b"")
            if rest == "fields" and req.method == "GET":
                return json_response(self._fields(row))
            if rest == "fields" and req.method == "PATCH":
                return self.patch_fields(drive, row, req)
            if rest == "driveItem" and req.method == "GET":
                return json_response(self._shown(row, drive, req))
        raise GraphError(400, "invalidRequest", f"{req.method} is not supported on {req.path}")

    def _list_item(self, item: Item, drive: Drive, req: Request, opts: dict[str, str]) -> dict[str, Any]:
        folder = item.content is None
        out: dict[str, Any] = {
            "@odata.etag": f'"{item.id},{item.version}"', "id": str(item.list_item_id),
            "eTag": f'"{item.id},{item.version}"', "createdDateTime": item.created,
            "lastModifiedDateTime": item.modified,
            "webUrl": self.web_url(item, drive, req),
            "contentType": {"id": "0x0120" if folder else "0x0101", "name": "Folder" if folder else "Document"},
            "parentReference": {"id": item.parent_id, "siteId": drive.site_id},
            "createdBy": {"user": {"displayName": "SharePoint App"}}}
        m = re.search(r"(?:^|,)\s*fields(?:\((?P<opts>[^)]*)\))?\s*(?:,|$)", opts.get("$expand") or "")
        if m is not None:  # $expand=fields, or fields($select=A,B)
            sel = re.search(r"\$?select=(?P<cols>[^;]*)", m.group("opts") or "")
            wanted = [p.strip() for p in (sel.group("cols") if sel else "").split(",") if p.strip()]
            out["fields"] = {k: v for k, v in self._fields(item).items()
                             if not wanted or k in wanted or k in ("@odata.etag", "id")}
        return out

    def list_items(self, drive: Drive, req: Request) -> Response:
        token = items_skiptoken(req)
        indexed = {n for n, spec in drive.column_defs.items() if spec.get("indexed")}
        keep = self._row_filter(req, indexed)
        rows = sorted((i for i in self.store.items.values() if i.drive_id == drive.id and i.parent_id
                       and keep(self._fields(i))), key=lambda i: i.list_item_id)
        rows = order_rows(req, rows, lambda i: ({"createdDateTime": i.created, "lastModifiedDateTime": i.modified},
                                                self._fields(i)), indexed)
        return items_page(req, rows, token, lambda r: self._list_item(r, drive, req, req.query),
                          f"/v1.0/sites/{quote(drive.site_id)}/lists/{list_id(drive)}/items")

    @staticmethod
    def _row_filter(req: Request, indexed: set[str] = frozenset()):
        """``$filter`` on list items: ``fields/{Column} eq|ne '…'`` (or ``startswith(fields/{Column},'…')``)
        joined by ``and`` or ``or`` (not both). The library's columns are not indexed, so Graph wants
        ``Prefer: HonorNonIndexedQueriesWarningMayFailRandomly`` (400 without it)."""
        text = (req.query.get("$filter") or "").strip()
        if not text:
            return lambda f: True
        joiner = " or " if re.search(r"\s+or\s+", text) else " and "
        if joiner == " or " and re.search(r"\s+and\s+", text):
            raise GraphError(400, "invalidRequest", "Invalid filter clause: mixing 'and' and 'or' is not supported.")
        tests = []
        for clause in re.split(r"\s+(?:and|or)\s+", text):
            m = (re.fullmatch(r"fields/(?P<col>\w+)\s+(?P<op>eq|ne)\s+'(?P<v>(?:[^']|'')*)'", clause.strip())
                 or re.fullmatch(r"startswith\(fields/(?P<col>\w+),\s*'(?P<v>(?:[^']|'')*)'\)", clause.strip()))
            if m is None:
                raise GraphError(400, "invalidRequest", f"Invalid filter clause: {clause.strip()!r}")
            if m.group("col") not in indexed and "honornonindexedquerieswarningmayfailrandomly" not in req.header(
                    "Prefer").lower():
                raise GraphError(400, "invalidRequest", f"Field '{m.group('col')}' cannot be referenced in filter "
                                 "or orderby as it is not indexed. Provide the 'Prefer: "
                                 "HonorNonIndexedQueriesWarningMayFailRandomly' header to allow this, but be "
                                 "warned that such queries may fail on large lists.")
            col, value, op = m.group("col"), m.group("v").replace("''", "'"), m.groupdict().get("op")
            if op is None:
                tests.append(lambda f, c=col, v=value: str(f.get(c, "")).startswith(v))
            else:
                tests.append(lambda f, c=col, v=value, o=op: (str(f.get(c, "")) == v) == (o == "eq"))
        combine = any if joiner == " or " else all
        return lambda f: combine(t(f) for t in tests)
