"""Graph over SharePoint lists that are not libraries: the custom lists (``genericList``) ``custom_lists.py`` keeps
for SharePoint REST, one store behind both APIs (an item added through one is read through the other).

- ``GET /sites/{id}/lists`` shows them beside the libraries (``list.template`` ``genericList`` /
  ``documentLibrary``); ``POST /sites/{id}/lists`` with ``displayName``, ``columns`` and
  ``list: {template}`` makes one (201; ``documentLibrary`` makes a library, i.e. a drive). The app needs a write
  grant somewhere on the site (403 otherwise) [unc: how ``Sites.Selected`` answers it] and gets ``write`` on what
  it made; a taken title is 409 nameAlreadyExists [unc: the code; the text is SharePoint's].
- ``GET/POST lists/{id}/columns`` (a list's own columns and the built-in ones SharePoint shows: Title, ID,
  ContentType, Modified, Created, Author, Editor, Attachments [unc: Graph lists more hidden ones]);
  ``GET lists/{id}/contentTypes`` (Item, Folder); the same for a library (Document, Folder).
- ``lists/{id}/items``: GET (``$expand=fields($select=…)``, also ``expand=fields(select=…)`` without the ``$``,
  as Graph takes it; ``$filter=fields/{Col} eq '…'``: a column not ``indexed`` needs ``Prefer:
  HonorNonIndexedQueriesWarningMayFailRandomly``, 400 otherwise; ``$top`` pages with ``@odata.nextLink``), POST
  ``{"fields": {…}}`` (201, the item with its ``fields``; another field name is 400 "Field '…' is not
  recognized"), ``items/{n}`` GET / PATCH ``{"fields": …}`` / DELETE (204), ``items/{n}/fields`` GET / PATCH
  (PATCH and DELETE honour ``If-Match``: the item's ``@odata.etag`` or ``*``; a stale one is 412).
  ``$orderby`` (``graph_order.py``); ``items/{n}/versions`` (``graph_item_versions.py``).
  Field values are kept as SharePoint REST keeps them (text) and shown typed by the column (``number``,
  ``boolean``) [unc: Graph's number formatting].
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from sandbox.core.http import Request, Response, json_response
from sandbox.core.numbers import ascii_int, finite_number
from sandbox.sharepoint.custom_lists import APP_USER, CustomList, Row
from sandbox.sharepoint.errors import GraphError, if_match, json_body
from sandbox.sharepoint.graph_item_versions import keep_row_version
from sandbox.sharepoint.graph_order import order_rows
from sandbox.sharepoint.odata import skip_of, top
from sandbox.sharepoint.rest import iso
from sandbox.sharepoint.store import Drive

TYPES = ("text", "number", "boolean", "dateTime", "choice", "currency", "personOrGroup", "lookup",
         "hyperlinkOrPicture", "calculated")
BUILT_IN = (("Title", "fa564e0f-0c70-4ab9-b863-0177e6ddd247", "text", False),
            ("ID", "1d22ea11-1e32-424e-89ab-9fedbadb6ce1", "number", True),
            ("ContentType", "c042a256-787d-4a6f-8a8a-cf6ab767f12d", "text", True),
            ("Modified", "28cf69c5-fa48-462a-b5cd-27b6f9d2bd5f", "dateTime", True),
            ("Created", "8c06beca-0777-48f7-91c7-6da68bc07b69", "dateTime", True),
            ("Author", "1df5e554-ec7e-46a6-901d-d85a3881cb18", "personOrGroup", True),
            ("Editor", "d31655d1-1d5b-4511-95a1-7a09e9b75bf2", "personOrGroup", True),
            ("Attachments", "67df98f4-9dec-48ff-a553-29bece9c5bf4", "boolean", True))
LIBRARY_BUILT_IN = (BUILT_IN[0], ("FileLeafRef", "8553196d-ec8d-4564-9861-3dbe931050c8", "text", False),
                    *BUILT_IN[3:7])
DOLLAR = re.compile(r"^(expand|select|filter|top|orderby|skiptoken|count)=", re.I)


def dollar_options(req: Request) -> None:
    """Graph takes the OData system options without their ``$`` too (``expand=fields(select=A)``)."""
    req.raw_query = "&".join("$" + p if DOLLAR.match(p) else p for p in req.raw_query.split("&"))


def _facet(kind: str) -> dict[str, Any]:
    return {"text": {"allowMultipleLines": False, "appendChangesToExistingText": False, "linesForEditing": 0,
                     "maxLength": 255}, "number": {"decimalPlaces": "automatic", "displayAs": "number"},
            "boolean": {}, "dateTime": {"displayAs": "default", "format": "dateTime"}}.get(kind, {})


ITEM_QUERY_OPTIONS = ("$expand", "$top", "$skiptoken", "$select", "$filter", "$orderby")


def items_skiptoken(req: Request) -> str:
    """A list-items request's ``$skiptoken`` (the offset, "0" first), after refusing query options Graph
    does not take on list items and tokens it did not hand out (libraries' and custom lists' items alike)."""
    for key in req.query:
        if key.startswith("$") and key not in ITEM_QUERY_OPTIONS:
            raise GraphError(400, "invalidRequest", f"Query option '{key}' is not supported on this API.")
    token = req.query.get("$skiptoken") or "0"
    if ascii_int(token) is None:
        raise GraphError(400, "invalidRequest", "Invalid $skiptoken: only URLs returned by the API can be used.")
    return token


def items_page(req: Request, rows: list, token: str, render: Callable[[Any], dict[str, Any]], path: str) -> Response:
    """One ``$top`` page of list items from ``$skiptoken`` on, with ``@odata.nextLink`` (keeping the query's
    options) while more are left."""
    size, skip = top(req.query), skip_of(token)
    body: dict[str, Any] = {"@odata.context": f"{req.base_url}/v1.0/$metadata#listItems",
                            "value": [render(r) for r in rows[skip:skip + size]]}
    if skip + size < len(rows):
        more = "".join(f"&{k}={quote(req.query[k])}" for k in ("$expand", "$select", "$filter", "$orderby")
                       if req.query.get(k))
        body["@odata.nextLink"] = f"{req.base_url}{path}?$top={size}&$skiptoken={skip + size}{more}"
    return json_response(body)


class GraphLists:
    """Mixed into ``GraphSandbox`` (uses ``store``, ``_site``, ``_list_resource``, ``_row_filter``, ``list_route``)."""

    # -- lists ---------------------------------------------------------------------------------------------
    def g_lists(self, site: str, req: Request) -> list[CustomList]:
        return [c for c in self.store.custom_lists.values() if c.site_id == site and req.principal in c.grants]

    def g_find_list(self, site: str, ref: str, req: Request) -> CustomList | None:
        ref, mine = ref.lower(), [c for c in self.store.custom_lists.values() if c.site_id == site]
        # an id, else a title, else a URL name: a renamed list keeps its URL, which is no other list's
        lst = next((c for key in (lambda c: c.id, lambda c: c.title.lower(), lambda c: c.url_name.lower())
                    for c in mine if key(c) == ref), None)
        if lst is not None and req.principal not in lst.grants:
            raise GraphError(403, "accessDenied", "Access denied")
        if lst is not None and req.method != "GET" and lst.grants[req.principal] != "write":
            raise GraphError(403, "accessDenied", "Access denied")
        return lst

    def g_list_url(self, lst: CustomList) -> str:
        site = self.store.sites.get(lst.site_id, "").replace(" ", "")
        return f"https://{lst.site_id.split(',')[0]}/sites/{quote(site)}/Lists/{quote(lst.url_name)}"

    def g_list_resource(self, lst: CustomList) -> dict[str, Any]:
        last = max([lst.created, *(r.modified for r in lst.rows.values())])
        etag = f'"{lst.id},{len(lst.column_defs) + 1}"'
        return {"@odata.etag": etag, "id": lst.id, "name": lst.url_name, "displayName": lst.title,
                "description": "", "createdDateTime": iso(lst.created), "lastModifiedDateTime": iso(last),
                "eTag": etag, "webUrl": self.g_list_url(lst),
                "createdBy": {"user": {"displayName": "SharePoint App"}},
                "list": {"template": "genericList", "hidden": False, "contentTypesEnabled": False},
                "parentReference": {"siteId": lst.site_id}}

    def g_create_list(self, site: str, drives: list[Drive], req: Request) -> Response:
        """``POST /sites/{id}/lists``: a ``genericList`` (a custom list) or a ``documentLibrary`` (a drive)."""
        writable = any(d.grants.get(req.principal) == "write" for d in drives) or any(
            c.grants.get(req.principal) == "write" for c in self.store.custom_lists.values() if c.site_id == site)
        if not writable:
            raise GraphError(403, "accessDenied", "Access denied")
        body = json_body(req)
        if not isinstance(body, dict) or not str(body.get("displayName") or "").strip():
            raise GraphError(400, "invalidRequest", "The displayName of the list is required.")
        title = str(body["displayName"]).strip()
        template = str((body.get("list") or {}).get("template") or "genericList")
        if template not in ("genericList", "documentLibrary"):
            raise GraphError(400, "invalidRequest", f"The list template '{template}' is not supported.")  # [unc]
        columns = [self._g_column_spec(c) for c in body.get("columns") or []]
        with self.store.lock:
            taken = [d.name for d in drives] + [c.title for c in self.store.custom_lists.values() if c.site_id == site]
            if title.lower() in (t.lower() for t in taken):
                raise GraphError(409, "nameAlreadyExists", "A list, survey, discussion board, or document library "
                                 "with the specified title already exists in this Web site.  Please choose another "
                                 "title.")
            if template == "documentLibrary":
                drive = self.store.drive(site, title, grants={req.principal: "write"},
                                         columns={c["name"] for c in columns})
                return json_response(self._list_resource(drive, req), 201)
            lst = self.add_custom_list(site, title, grants={req.principal: "write"},
                                       columns={c["name"] for c in columns})
            lst.column_defs.update({c["name"]: c for c in columns})
        return json_response(self.g_list_resource(lst), 201)

    # -- columns and content types ---------------------------------------------------------------------------
    @staticmethod
    def _g_column_spec(raw: Any) -> dict[str, Any]:
        if not isinstance(raw, dict) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,63}", str(raw.get("name") or "")):
            raise GraphError(400, "invalidRequest", "A column needs a name of letters, digits and underscores.")
        kinds = [k for k in TYPES if k in raw]
        if len(kinds) > 1:
            raise GraphError(400, "invalidRequest", "A column has exactly one type facet.")
        name = str(raw["name"])
        if name.lower() in {b[0].lower() for b in BUILT_IN} | {"fileleafref", "id"}:
            raise GraphError(409, "nameAlreadyExists", f'A duplicate field name "{name}" was found.')
        return {"name": name, "displayName": str(raw.get("displayName") or name), "type": kinds[0] if kinds else
                "text", "indexed": bool(raw.get("indexed")), "required": bool(raw.get("required")),
                "description": str(raw.get("description") or ""), "facet": raw.get(kinds[0]) if kinds else {}}

    @staticmethod
    def _g_column(owner: str, name: str, kind: str, read_only: bool, spec: dict[str, Any] | None = None,
                  built_in: str | None = None) -> dict[str, Any]:
        spec = spec or {}
        facet = {**_facet(kind), **(spec.get("facet") or {})}
        return {"columnGroup": "Custom Columns", "description": spec.get("description", ""),
                "displayName": spec.get("displayName", name), "enforceUniqueValues": False, "hidden": False,
                "id": built_in or spec.get("id") or str(uuid.uuid5(uuid.NAMESPACE_URL, f"{owner}/{name}")),
                "indexed": bool(spec.get("indexed")) or name == "ID", "name": name, "readOnly": read_only,
                "required": bool(spec.get("required")) or name == "Title", kind: facet}

    def g_columns(self, owner: str, defs: dict[str, dict[str, Any]], names: set[str], built_in) -> list[dict]:
        shown = [self._g_column(owner, n, k, ro, built_in=gid) for n, gid, k, ro in built_in]
        for name in sorted(names):
            spec = defs.get(name) or {"type": "text"}
            shown.append(self._g_column(owner, name, spec["type"], False, spec))
        return shown

    def g_columns_route(self, req: Request, owner: str, defs: dict[str, dict[str, Any]], names: set[str],
                        built_in) -> Response:
        if req.method == "GET":
            return json_response({"@odata.context": f"{req.base_url}/v1.0/$metadata#columns",
                                  "value": self.g_columns(owner, defs, names, built_in)})
        if req.method != "POST":
            raise GraphError(405, "invalidRequest", f"{req.method} is not supported on columns.")
        spec = self._g_column_spec(json_body(req))
        with self.store.lock:
            if spec["name"].lower() in (n.lower() for n in names):
                raise GraphError(409, "nameAlreadyExists", f'A duplicate field name "{spec["name"]}" was found.')
            names.add(spec["name"])
            defs[spec["name"]] = spec
        return json_response(self._g_column(owner, spec["name"], spec["type"], False, spec), 201)

    @staticmethod
    def g_content_types(owner: str, library: bool) -> dict[str, Any]:
        suffix = uuid.uuid5(uuid.NAMESPACE_URL, owner).hex.upper()
        first = ("0x0101", "Document", "Create a new document.", "Document Content Types") if library else (
            "0x0100", "Item", "Create a new list item.", "List Content Types")
        value = []
        for prefix, name, desc, group in (first, ("0x012000", "Folder", "Create a new folder.", "Folder Content "
                                                                                               "Types")):
            parent = {"0x0100": "0x01", "0x0101": "0x0101", "0x012000": "0x0120"}[prefix]
            value.append({"id": f"{prefix}{suffix}", "name": name, "description": desc, "group": group,
                          "hidden": False, "readOnly": False, "sealed": False, "isBuiltIn": False,
                          "parentId": parent, "base": {"id": parent, "name": name}})
        return {"value": value}

    # -- items -----------------------------------------------------------------------------------------------
    def _g_fields(self, lst: CustomList, row: Row) -> dict[str, Any]:
        out: dict[str, Any] = {"@odata.etag": f'"{uuid.uuid5(uuid.NAMESPACE_URL, f"{lst.id}/{row.id}")},'
                                              f'{row.version}"'}
        title = row.fields.get("Title")
        if title:
            out.update({"Title": title, "LinkTitle": title, "LinkTitleNoMenu": title})
        for col in sorted(lst.columns):
            value = row.fields.get(col)
            if value in (None, ""):
                continue  # Graph leaves out a column without a value
            kind = (lst.column_defs.get(col) or {}).get("type", "text")
            if kind in ("number", "currency"):
                # a finite ASCII number (float() showed a text '٣' as 3, 'nan' and '1e999' as NaN/Infinity, which
                # are not JSON); any other text is shown as it is kept
                number = finite_number(int(value) if isinstance(value, bool) else value
                                       if isinstance(value, int | float) else str(value))
                if number is not None:
                    value = int(number) if number.is_integer() else number
            elif kind == "boolean":
                value = str(value).lower() in ("true", "1", "yes")
            out[col] = value
        return {**out, "id": str(row.id), "ContentType": "Folder" if row.fs_type == 1 else "Item",
                "Modified": iso(row.modified),
                "Created": iso(row.created), "AuthorLookupId": str(APP_USER), "EditorLookupId": str(APP_USER),
                "_UIVersionString": f"{row.version}.0", "Attachments": bool(row.attachments), "Edit": "",
                "ItemChildCount": "0", "FolderChildCount": "0", "_ComplianceFlags": "", "_ComplianceTag": "",
                "_ComplianceTagWrittenTime": "", "_ComplianceTagUserId": ""}

    def _g_item(self, lst: CustomList, row: Row, expand: str) -> dict[str, Any]:
        etag = f'"{uuid.uuid5(uuid.NAMESPACE_URL, f"{lst.id}/{row.id}")},{row.version}"'
        out: dict[str, Any] = {
            "@odata.etag": etag, "createdDateTime": iso(row.created), "eTag": etag, "id": str(row.id),
            "lastModifiedDateTime": iso(row.modified),
            "webUrl": f"{self.g_list_url(lst)}/{row.path if row.fs_type == 1 else f'{row.id}_.000'}",
            "createdBy": {"user": {"displayName": "SharePoint App"}},
            "lastModifiedBy": {"user": {"displayName": "SharePoint App"}},
            "parentReference": {"id": str(uuid.uuid5(uuid.NAMESPACE_URL, lst.id + "/root")), "siteId": lst.site_id},
            "contentType": {"id": ("0x012000" if row.fs_type == 1 else "0x0100")
                            + uuid.uuid5(uuid.NAMESPACE_URL, lst.id).hex.upper(),
                            "name": "Folder" if row.fs_type == 1 else "Item"}}
        m = re.search(r"(?:^|,)\s*fields(?:\((?P<opts>[^)]*)\))?\s*(?:,|$)", expand or "")
        if m is not None:
            sel = re.search(r"\$?select=(?P<cols>[^;]*)", m.group("opts") or "")
            wanted = [p.strip() for p in (sel.group("cols") if sel else "").split(",") if p.strip()]
            out["fields"] = {k: v for k, v in self._g_fields(lst, row).items()
                             if not wanted or k in wanted or k in ("@odata.etag", "id")}
        return out

    def _g_changes(self, lst: CustomList, body: Any) -> dict[str, str]:
        if not isinstance(body, dict):
            raise GraphError(400, "invalidRequest", "Invalid request body.")
        changes = {k: v for k, v in body.items() if not k.startswith("@odata.")}
        for key in changes:
            if key != "Title" and key not in lst.columns:
                raise GraphError(400, "invalidRequest", f"Field '{key}' is not recognized")
        return {k: "" if v is None else str(v) for k, v in changes.items()}

    def g_list_route(self, lst: CustomList, parts: list[str], req: Request) -> Response:
        """``parts`` after ``lists/{id}``: [], columns, contentTypes, items, items/{n}[/fields]."""
        method = req.method
        if not parts and method == "GET":  # $expand=columns, contentTypes, items(expand=fields) [unc: no paging]
            shown, expand = self.g_list_resource(lst), req.query.get("$expand", "")
            if re.search(r"(?:^|,)\s*columns\b", expand):
                shown["columns"] = self.g_columns(lst.id, lst.column_defs, lst.columns, BUILT_IN)
            if re.search(r"(?:^|,)\s*contentTypes\b", expand):
                shown["contentTypes"] = self.g_content_types(lst.id, False)["value"]
            m = re.search(r"(?:^|,)\s*items(?:\((?P<opts>[^()]*(?:\([^()]*\))?[^()]*)\))?", expand)
            if m is not None:
                inner = re.sub(r"^\$?expand=", "", m.group("opts") or "")
                shown["items"] = [self._g_item(lst, r, inner) for _, r in sorted(lst.rows.items())]
            return json_response(shown)
        if parts == ["columns"]:
            return self.g_columns_route(req, lst.id, lst.column_defs, lst.columns, BUILT_IN)
        if parts == ["contentTypes"] and method == "GET":
            return json_response(self.g_content_types(lst.id, False))
        if parts == ["items"] and method == "GET":
            return self._g_items(lst, req)
        delta = self.is_list_delta(parts) if method == "GET" else None  # graph_custom_delta.py
        if delta is not None:
            return self.g_custom_list_delta(lst, req, delta.group("token"))
        if parts == ["items"] and method == "POST":
            body = json_body(req)
            fields = body.get("fields") if isinstance(body, dict) else None
            changes = self._g_changes(lst, fields if fields is not None else {})
            with self.store.lock:
                row = Row(lst.next_id, changes)
                lst.rows[row.id], lst.next_id = row, lst.next_id + 1
            self.store.changed("list", lst.id)
            return json_response(self._g_item(lst, row, "fields"), 201)
        if parts[:1] == ["items"] and len(parts) >= 3 and parts[2] == "versions":  # graph_item_versions.py
            row = lst.rows.get(ascii_int(parts[1]))
            if row is None:
                raise GraphError(404, "itemNotFound", "The specified list item was not found.")
            return self.g_item_versions(lst, row, parts[3:], req)
        if parts[:1] == ["items"] and len(parts) in (2, 3):
            row = lst.rows.get(ascii_int(parts[1]))
            if row is None:
                raise GraphError(404, "itemNotFound", "The specified list item was not found.")  # [unc] the text
            rest = parts[2] if len(parts) == 3 else ""
            if rest not in ("", "fields"):
                raise GraphError(400, "BadRequest", f"Resource not found for the segment '{rest}'.")
            if method == "GET":
                return json_response(self._g_fields(lst, row) if rest else
                                     self._g_item(lst, row, req.query.get("$expand", "")))
            if method in ("DELETE", "PATCH"):  # a stale If-Match: 412, as for drive items [unc]
                if_match(req, {self._g_fields(lst, row)["@odata.etag"]})
            if method == "DELETE" and not rest:
                with self.store.lock:
                    lst.drop(row.id)
                self.store.changed("list", lst.id)
                return Response(204, b"")
            if method == "PATCH":
                body = json_body(req)
                changes = self._g_changes(lst, body if rest else (body or {}).get("fields") or {})
                with self.store.lock:
                    keep_row_version(row)
                    row.fields.update(changes)
                self.store.changed("list", lst.id)
                return json_response(self._g_fields(lst, row) if rest else self._g_item(lst, row, "fields"))
        raise GraphError(400, "invalidRequest", f"{method} is not supported on {req.path}")

    def _g_items(self, lst: CustomList, req: Request) -> Response:
        token = items_skiptoken(req)
        indexed = {n for n, spec in lst.column_defs.items() if spec.get("indexed")} | {"ID"}
        keep = self._row_filter(req, indexed)
        rows = [r for _, r in sorted(lst.rows.items()) if keep(self._g_fields(lst, r))]
        rows = order_rows(req, rows, lambda r: ({"createdDateTime": r.created, "lastModifiedDateTime": r.modified},
                                                self._g_fields(lst, r)), indexed)
        return items_page(req, rows, token, lambda r: self._g_item(lst, r, req.query.get("$expand", "")),
                          f"/v1.0/sites/{quote(lst.site_id)}/lists/{lst.id}/items")
