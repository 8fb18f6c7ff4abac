"""CAML queries for SharePoint REST v1 lists (``rest_lists.py``): ``POST lists/…/GetItems`` with
``{"query": {"ViewXml", "FolderServerRelativeUrl"?, "ListItemCollectionPosition": {"PagingInfo"}?}}`` (as
``List.get_items(CamlQuery)`` sends it) and ``POST lists/…/RenderListDataAsStream`` with
``{"parameters": {"ViewXml", "FolderServerRelativeUrl"?, "Paging"?}}``.

- ``<View Scope=…>``: none (the folder's own files and folders), ``FilesOnly``, ``Recursive`` (files at any
  depth), ``RecursiveAll`` (files and folders at any depth); another value reads as none [unc].
- ``<Where>``: ``Eq Neq Gt Geq Lt Leq Contains BeginsWith IsNull IsNotNull In`` under ``And``/``Or`` (two
  operands each, nested); ``<Value Type=…>`` Text/Note/Computed/Choice/Lookup compare case-insensitively,
  Integer/Counter/Number as numbers, Boolean as 1/0, DateTime by date unless ``IncludeTimeValue='TRUE'``
  (``<Today OffsetDays='n'/>`` too). A ``FieldRef`` the list does not have is 500 "One or more field types
  are not installed properly" (SharePoint's answer) [unc: the status]; XML that does not parse is 500 too.
- ``<OrderBy>`` (``Ascending='FALSE'``), then ID; ``<RowLimit>`` (GetItems: all items without it;
  RenderListDataAsStream: 30 [unc]); a page continues after ``PagingInfo`` ``Paged=TRUE&p_ID=n`` (the item
  with ID n in the query's order, else IDs above n).
- GetItems answers a list item collection (``rest_lists.py``); RenderListDataAsStream answers SharePoint's
  raw JSON ``{"Row": [{field: text}], "FirstRow", "LastRow", "RowLimit", "NextHref"?, …}`` (not in ``d``),
  ``NextHref`` being ``?Paged=TRUE&p_ID=n&PageFirstRow=k&View=…`` while more rows remain; ``POST
  RenderListData`` (``{"viewXml"}``, ``List.render_list_data``) the same JSON as a text, in ``RenderListData``
  (verbose) or ``value``.
"""

from __future__ import annotations

import json
import re
import uuid
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from typing import Any

from sandbox.core.http import Request, Response
from sandbox.core.numbers import ascii_int, finite_number
from sandbox.sharepoint.rest_errors import RestError, request_ids
from sandbox.sharepoint.rest_lists import EVERY
from sandbox.sharepoint.store import Drive, Item

FIELD_TYPES = ("-2146232832, Microsoft.SharePoint.SPException",
               "One or more field types are not installed properly. Go to the list settings page to delete these "
               "fields.")
BAD_XML = ("-2147467259, Microsoft.SharePoint.SPException", "Cannot complete this action.\n\nPlease try again.")
COMPARE = {"Eq", "Neq", "Gt", "Geq", "Lt", "Leq", "Contains", "BeginsWith", "IsNull", "IsNotNull", "In"}
NUMERIC = {"integer", "counter", "number", "currency", "modstat", "attachments"}
RENDER_PAGE = 30  # [unc] the default view's row limit
BUILTIN = {"FileSystemObjectType", "ContentTypeId", "EncodedAbsUrl", "AuthorId", "EditorId", "CheckoutUserId",
           "ID", "Id", "FileLeafRef", "FileRef", "FSObjType", "Title", "Created", "Modified", "GUID", "UniqueId",
           "OData__UIVersionString", "_UIVersionString", "File_x0020_Size", "FileDirRef", "ContentType",
           "File_x0020_Type", "BaseName", "LinkFilename", "FolderChildCount", "ItemChildCount", "Editor", "Author",
           "_ModerationStatus", "CheckoutUser"}


def _text(value: Any) -> str:
    return "" if value is None else str(value)


class RestCaml:
    """Mixed into ``GraphSandbox`` with ``RestLists``."""

    def _caml_fields(self, req: Request, d: Drive, item: Item) -> dict[str, Any]:
        props = self._rest_item(req, d, item, False, EVERY)
        props.update({"ContentType": "Folder" if item.content is None else "Document", "LinkFilename": item.name,
                      "FolderChildCount": None, "ItemChildCount": None})
        return props

    def _caml_view(self, xml: str) -> ET.Element:
        try:
            view = ET.fromstring(xml or "<View/>")
        except ET.ParseError:
            raise RestError(500, BAD_XML) from None
        return view if view.tag == "View" else ET.Element("View")

    def caml_items(self, req: Request, d: Drive, view_xml: str, folder_url: str | None, paging: str | None,
                   default_limit: int | None) -> tuple[list[Item], bool, int | None]:
        """(the page of items, whether more follow, the row limit) for a CAML view over library ``d``."""
        view = self._caml_view(view_xml)
        folder = self.store.items[d.root_id]
        if folder_url:
            site = d.site_id
            fd, parts = self._rest_locate(req, site, folder_url, "read")
            found = self._rest_walk(fd, parts) if fd.id == d.id else None
            if found is None or found.content is not None:
                raise RestError(404, ("-2147024894, System.IO.FileNotFoundException", "File Not Found."))
            folder = found
        scope = (view.get("Scope") or "").lower()
        deep = scope in ("recursive", "recursiveall")
        pool = [i for i in self.store.items.values() if i.drive_id == d.id and i.parent_id is not None
                and (folder.id in self.store.ancestors(i) if deep else i.parent_id == folder.id)]
        if scope in ("recursive", "filesonly"):
            pool = [i for i in pool if i.content is not None]
        rows = [(i, self._caml_fields(req, d, i)) for i in pool]
        where = view.find("./Query/Where")
        if where is not None and len(where):
            rows = [(i, f) for i, f in rows if self._caml_match(where[0], f, d)]
        keys = [(ref.get("Name", ""), (ref.get("Ascending") or "TRUE").upper() != "FALSE")
                for ref in view.findall("./Query/OrderBy/FieldRef")]
        rows.sort(key=lambda r: r[0].list_item_id)
        for name, ascending in reversed(keys):
            self._caml_field(name, d)
            rows.sort(key=lambda r, n=name: self._caml_sort_key(r[1].get(n)), reverse=not ascending)
        items = [i for i, _ in rows]
        after = re.search(r"p_ID=([0-9]+)", paging or "")  # ASCII: 'p_ID=٣' is ignored as 'p_ID=x' is
        if after:
            n = ascii_int(after.group(1))
            at = next((k for k, i in enumerate(items) if i.list_item_id == n), None)
            items = items[at + 1:] if at is not None else [i for i in items if i.list_item_id > n]
        limit_el = view.find("./RowLimit")
        limit = ascii_int((limit_el.text or "").strip()) if limit_el is not None else None
        limit = default_limit if limit is None else limit
        if limit is None:
            return items, False, None
        return items[:limit], len(items) > limit, limit

    @staticmethod
    def _caml_sort_key(value: Any) -> tuple[int, Any]:
        if value is None or value == "":
            return (0, "")
        return (1, value) if isinstance(value, (int, float)) else (2, str(value).lower())

    @staticmethod
    def _caml_field(name: str, d: Drive) -> str:
        if name not in BUILTIN and name not in d.columns:
            raise RestError(500, FIELD_TYPES)
        return name

    def _caml_match(self, node: ET.Element, fields: dict[str, Any], d: Drive) -> bool:
        if node.tag in ("And", "Or"):
            parts = [self._caml_match(child, fields, d) for child in node]
            if len(parts) < 2:
                raise RestError(500, BAD_XML)
            return all(parts) if node.tag == "And" else any(parts)
        if node.tag not in COMPARE:
            raise RestError(500, BAD_XML)
        ref = node.find("FieldRef")
        if ref is None:
            raise RestError(500, BAD_XML)
        have = fields.get(self._caml_field(ref.get("Name", ""), d))
        if node.tag in ("IsNull", "IsNotNull"):
            empty = have is None or have == ""
            return empty if node.tag == "IsNull" else not empty
        values = node.findall("./Values/Value") if node.tag == "In" else node.findall("Value")
        if not values:
            raise RestError(500, BAD_XML)
        if have is None or have == "":
            return node.tag == "Neq"
        if node.tag == "In":
            return any(self._caml_compare("Eq", have, v) for v in values)
        return self._caml_compare(node.tag, have, values[0])

    @staticmethod
    def _caml_compare(op: str, have: Any, value: ET.Element) -> bool:
        kind = (value.get("Type") or "Text").lower()
        want_raw = (value.text or "").strip()
        today = value.find("Today")
        if today is not None:
            # a signed ASCII Int32 [unc]; one that is not (int() read '٣' as 3; 'x' and a date past year 9999
            # were 500s) matches nothing, as a numeric value that is not a number already did
            offset = ascii_int(today.get("OffsetDays") or today.get("Offset") or "0", cap=2**31, signed=True)
            try:
                want_raw = (datetime.now(UTC) + timedelta(days=offset)).strftime("%Y-%m-%dT%H:%M:%SZ")
            except (TypeError, OverflowError):
                return False
        if kind in NUMERIC:  # finite ASCII decimals: float() read '٣' as 3 and took 'nan' and 'Infinity'
            mine = int(have) if isinstance(have, bool) else have if isinstance(have, int | float) else str(have)
            a, b = finite_number(mine), finite_number(want_raw)
            if a is None or b is None:
                return False
        elif kind == "boolean":
            a, b = str(have).lower() in ("1", "true"), want_raw.lower() in ("1", "true")
        elif kind == "datetime":
            cut = 19 if (value.get("IncludeTimeValue") or "").upper() == "TRUE" else 10
            a, b = str(have)[:cut], want_raw.replace(" ", "T")[:cut]
        else:
            a, b = str(have).lower(), want_raw.lower()
        if op == "Contains":
            return str(b) in str(a)
        if op == "BeginsWith":
            return str(a).startswith(str(b))
        return {"Eq": a == b, "Neq": a != b, "Gt": a > b, "Geq": a >= b, "Lt": a < b, "Leq": a <= b}[op]

    # -- service operations ------------------------------------------------------------------------------
    def rest_get_items(self, req: Request, d: Drive, verbose: bool) -> Response:
        query = (req.json() or {}).get("query") or {}
        position = query.get("ListItemCollectionPosition") or {}
        folder = query.get("FolderServerRelativeUrl") or (query.get("FolderServerRelativePath") or {}).get(
            "DecodedUrl")
        items, _, _ = self.caml_items(req, d, str(query.get("ViewXml") or ""), folder,
                                      position.get("PagingInfo") if isinstance(position, dict) else None, None)
        select = req.query.get("$select", "")
        return self._rest_json(self._rest_collection([self._rest_item(req, d, i, verbose, select) for i in items],
                                                     verbose), verbose)

    def rest_render_stream(self, req: Request, d: Drive) -> Response:
        body = self._render_body(req, d, (req.json() or {}).get("parameters") or {})
        return Response(200, json.dumps(body, separators=(",", ":")).encode(),
                        "application/json;odata=verbose;charset=utf-8", request_ids())

    def rest_render_list_data(self, req: Request, d: Drive, verbose: bool) -> Response:
        """``RenderListData`` (``{"viewXml": …}``): the same rows, as a JSON text in ``RenderListData`` / ``value``."""
        raw = req.json() if req.body else {}
        view = str((raw or {}).get("viewXml") or "") if isinstance(raw, dict) else ""
        text = json.dumps(self._render_body(req, d, {"ViewXml": view}), separators=(",", ":"))
        return self._rest_json({"RenderListData": text} if verbose else {"value": text}, verbose)

    def _render_body(self, req: Request, d: Drive, params: dict[str, Any]) -> dict[str, Any]:
        paging = params.get("Paging") or (req.raw_query if "p_ID=" in req.raw_query else None)
        m = re.search(r"PageFirstRow=([0-9]+)", paging or "")  # ASCII; 5,000 digits saturate (int() raised)
        first = ascii_int(m.group(1), cap=2**31 - 1) if m else 1
        items, more, limit = self.caml_items(req, d, str(params.get("ViewXml") or ""),
                                             params.get("FolderServerRelativeUrl"), paging, RENDER_PAGE)
        rows = [self._render_row(req, d, i) for i in items]
        body: dict[str, Any] = {"Row": rows, "FirstRow": first, "FolderPermissions": "0x7fffffffffffffff",
                                "LastRow": first + len(rows) - 1, "RowLimit": limit}
        if more and items:
            body["NextHref"] = (f"?Paged=TRUE&p_ID={items[-1].list_item_id}&PageFirstRow={first + len(rows)}"
                                f"&View={uuid.UUID(int=0)}")
        body.update({"FilterLink": "?", "ForceNoHierarchy": "1", "HierarchyHasIndention": ""})
        return body

    def _render_row(self, req: Request, d: Drive, item: Item) -> dict[str, str]:
        """A row as the list view renders it: every value text, dates local-looking plus ``Name.`` in ISO."""
        fields = self._caml_fields(req, d, item)
        row = {k: _text(v) for k, v in fields.items() if k not in ("Id", "GUID")}
        row["UniqueId"] = "{" + str(uuid.uuid5(uuid.NAMESPACE_OID, item.id)).upper() + "}"
        row["PermMask"] = "0x7fffffffffffffff"
        for key in ("Created", "Modified"):
            stamp = datetime.strptime(fields[key], "%Y-%m-%dT%H:%M:%SZ")
            row[key] = f"{stamp.month}/{stamp.day}/{stamp.year} {stamp.strftime('%I:%M %p').lstrip('0')}"
            row[key + "."] = fields[key]
        return row
