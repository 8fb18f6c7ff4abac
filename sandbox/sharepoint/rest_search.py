"""SharePoint Search REST (``rest.py`` routes to it): ``GET _api/search/query?querytext='…'&selectproperties='…'
&rowlimit=n&startrow=n&sortlist='Prop:descending'``, the same as a function call
(``_api/Microsoft.Office.Server.Search.REST.SearchService/query(querytext='…',rowLimit=n)``, as
``ctx.search.query`` sends it), and ``POST _api/search/postquery`` with ``{"request": {"Querytext",
"SelectProperties", "RowLimit", "StartRow", "SortList"}}`` (``ctx.search.post_query``).

- Over every file and folder of every library the app was granted (search is tenant-wide).
- KQL: ``*`` (everything), words and ``"phrases"`` (all must match the name or the text content; ``word*`` a
  prefix), ``AND``, ``OR``, ``NOT``/``-``, parentheses, and property restrictions ``Prop:v`` (contains; ``v*``
  a prefix), ``Prop=v``, ``Prop>v``, ``>=``, ``<``, ``<=``, ``<>`` on FileName, FileExtension/FileType, Title, Path
  (prefix), SPSiteURL/SiteName (prefix), IsDocument, IsContainer, ContentType, contentclass, Size,
  LastModifiedTime, Created, ListItemID, UniqueId, ListId. An unknown property matches nothing (as
  SharePoint's search answers it); an empty query is 400 [unc: the text].
- The answer is ``SearchResult`` (``{"d": {"query"|"postquery": …}}`` verbose, the object itself otherwise):
  ``PrimaryQueryResult.RelevantResults`` with ``RowCount``, ``TotalRows``, ``TotalRowsIncludingDuplicates``
  and ``Table.Rows[].Cells[]`` of ``{"Key", "Value", "ValueType"}``, every value text (``Edm.Int64`` …);
  rows carry the default properties, or ``selectproperties`` plus ``Rank``/``DocId`` and SharePoint's
  housekeeping cells. ``rowlimit`` defaults to 10 (at most 500), ``startrow`` to 0.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from sandbox.core.http import Request, Response
from sandbox.core.numbers import ascii_int, json_int
from sandbox.sharepoint.rest import args
from sandbox.sharepoint.rest_errors import RestError, edm_int
from sandbox.sharepoint.store import Item

EMPTY = ("-1, Microsoft.Office.Server.Search.REST.SearchServiceException",
         "The parameter Querytext is empty or contains only whitespace.")  # [unc] the text
TOKEN = re.compile(r'\s*(\(|\)|-(?=\S)|"[^"]*"\*?|[\w.]+(?:<>|>=|<=|[:=<>])(?:"[^"]*"\*?|[^\s()]*)|[^\s()"]+)')
DEFAULT = ["Rank", "DocId", "Title", "Author", "Size", "Path", "Description", "Write", "HitHighlightedSummary",
           "contentclass", "FileExtension", "ParentLink", "SiteName", "SPWebUrl", "IsDocument", "LastModifiedTime",
           "FileType", "IsContainer", "OriginalPath", "Filename", "UniqueId", "ListId", "ListItemID", "Created"]
HOUSEKEEPING = ["PartitionId", "UrlZone", "Culture", "ResultTypeId", "RenderTemplateId"]
TYPES = {"Rank": "Edm.Double", "DocId": "Edm.Int64", "Size": "Edm.Int64", "Write": "Edm.DateTime",
         "LastModifiedTime": "Edm.DateTime", "Created": "Edm.DateTime", "IsDocument": "Edm.Boolean",
         "IsContainer": "Edm.Boolean", "ListItemID": "Edm.Int64", "UrlZone": "Edm.Int32", "PartitionId": "Edm.Guid",
         "UniqueId": "Edm.Guid", "ListId": "Edm.Guid", "ResultTypeId": "Edm.Int32"}
ALIASES = {"filename": "Filename", "fileextension": "FileExtension", "filetype": "FileType", "title": "Title",
           "path": "Path", "spsiteurl": "SPWebUrl", "site": "SPWebUrl", "sitename": "SiteName",
           "isdocument": "IsDocument", "iscontainer": "IsContainer", "contenttype": "ContentType",
           "contentclass": "contentclass", "size": "Size", "lastmodifiedtime": "LastModifiedTime", "write": "Write",
           "created": "Created", "listitemid": "ListItemID", "uniqueid": "UniqueId", "listid": "ListId",
           "author": "Author"}
PREFIX_PROPS = ("Path", "SPWebUrl", "SiteName", "OriginalPath", "ParentLink")


class RestSearch:
    """Mixed into ``GraphSandbox`` with ``RestApi``."""

    def rest_search(self, req: Request, segs: list[tuple[str, str | None]], verbose: bool) -> Response:
        names = [n for n, _ in segs]
        if names == ["query"] and req.method == "GET":
            opts = {k.lower(): v.strip("'") for k, v in req.query.items()} | args(segs[0][1])
            op = "query"
        elif names == ["postquery"] and req.method == "POST":
            body = (req.json() or {}).get("request") or {}
            opts = {k.lower(): v for k, v in body.items() if k != "__metadata"}
            op = "postquery"
        else:
            raise RestError(404, ("-1, Microsoft.SharePoint.Client.ResourceNotFoundException",
                                  f"Cannot find resource for the request {names[0] if names else 'search'}."))
        text = str(opts.get("querytext") or "").strip()
        if not text:
            raise RestError(400, EMPTY)
        rows = [self._search_doc(req, d, i) for d in self.store.drives.values() if req.principal in d.grants
                for i in self.store.items.values() if i.drive_id == d.id and i.parent_id is not None]
        tree = _parse(TOKEN.findall(text))
        hits = [(doc, score) for doc in rows if (score := _eval(tree, doc)) > 0]
        hits.sort(key=lambda h: (-h[1], h[0]["Path"].lower()))
        for prop, desc in reversed(_sorts(opts.get("sortlist"))):
            hits.sort(key=lambda h, p=prop: (h[0].get(p) is None, h[0].get(p) or 0), reverse=desc)
        start, limit = _int(opts.get("startrow"), 0), min(_int(opts.get("rowlimit"), 10), 500)
        page = hits[start:start + limit]
        select = _list(opts.get("selectproperties"))
        keys = (["Rank", "DocId"] + [s for s in select if s not in ("Rank", "DocId")] if select else DEFAULT) \
            + HOUSEKEEPING
        table_rows = [self._kv_row(doc | {"Rank": f"{score:.4f}"}, keys, verbose) for doc, score in page]
        relevant = {"GroupTemplateId": None, "ItemTemplateId": None,
                    "Properties": self._kv_list([("GenerationId", "9223372036854775806", "Edm.Int64"),
                                                 ("indexSystem", "", "Edm.String")], verbose),
                    "ResultTitle": None, "ResultTitleUrl": None, "RowCount": len(page),
                    "Table": self._typed({"Rows": self._rest_collection(table_rows, verbose) if verbose
                                          else table_rows}, "SP.SimpleDataTable", verbose),
                    "TotalRows": len(hits), "TotalRowsIncludingDuplicates": len(hits)}
        primary = {"CustomResults": self._rest_collection([], verbose) if verbose else [],
                   "QueryId": str(uuid.uuid4()), "QueryRuleId": str(uuid.UUID(int=0)), "RefinementResults": None,
                   "RelevantResults": self._typed(relevant, "Microsoft.Office.Server.Search.REST.RelevantResults",
                                                  verbose), "SpecialTermResults": None}
        result = {"ElapsedTime": 12,
                  "PrimaryQueryResult": self._typed(primary, "Microsoft.Office.Server.Search.REST.QueryResult",
                                                    verbose),
                  "Properties": self._kv_list([("RowLimit", str(limit), "Edm.Int32"),
                                               ("SerializedQuery", "<Query Culture=\"en-US\" />", "Edm.String")],
                                              verbose),
                  "SecondaryQueryResults": self._rest_collection([], verbose) if verbose else [],
                  "SpellingSuggestion": "", "TriggeredRules": self._rest_collection([], verbose) if verbose else []}
        result = self._typed(result, "Microsoft.Office.Server.Search.REST.SearchResult", verbose)
        return self._rest_json({op: result} if verbose else result, verbose)

    @staticmethod
    def _typed(obj: dict[str, Any], kind: str, verbose: bool) -> dict[str, Any]:
        return {"__metadata": {"type": kind}, **obj} if verbose else obj

    def _kv_list(self, triples: list[tuple[str, str | None, str]], verbose: bool) -> Any:
        cells = [self._typed({"Key": k, "Value": v, "ValueType": t}, "SP.KeyValue", verbose) for k, v, t in triples]
        return self._rest_collection(cells, verbose) if verbose else cells

    def _kv_row(self, doc: dict[str, Any], keys: list[str], verbose: bool) -> dict[str, Any]:
        triples = []
        for key in keys:
            value = doc.get(key, doc.get(ALIASES.get(key.lower(), key)))
            kind = TYPES.get(key, "Edm.String") if value is not None else "Null"
            triples.append((key, None if value is None else (str(value).lower() if isinstance(value, bool)
                                                             else str(value)), kind))
        return self._typed({"Cells": self._kv_list(triples, verbose)}, "SP.SimpleDataRow", verbose)

    def _search_doc(self, req: Request, d, item: Item) -> dict[str, Any]:
        """The managed properties search knows an item by."""
        site = self.store.sites.get(d.site_id, "").replace(" ", "")
        web = f"{req.base_url}/sites/{site}"
        inner = self.store.path_of(item)
        path = f"{web}/{d.name}/{inner}"
        folder = item.content is None
        ext = item.name.rsplit(".", 1)[1].lower() if "." in item.name and not folder else ""
        stamp = item.modified[:19] + ".0000000Z"
        return {"DocId": 17000000 + item.list_item_id, "Title": item.name if folder or "." not in item.name
                else item.name.rsplit(".", 1)[0], "Author": "SharePoint App", "Size": 0 if folder
                else len(item.content or b""), "Path": path, "OriginalPath": path, "Description": None,
                "Write": stamp, "LastModifiedTime": stamp, "Created": item.created[:19] + ".0000000Z",
                "HitHighlightedSummary": "", "contentclass": "STS_ListItem_DocumentLibrary", "FileExtension":
                ext or None, "FileType": ext or None, "ParentLink": path.rsplit("/", 1)[0], "SiteName": web,
                "SPWebUrl": web, "IsDocument": not folder, "IsContainer": folder, "Filename": item.name,
                "ContentType": "Folder" if folder else "Document", "UniqueId": "{" + str(
                    uuid.uuid5(uuid.NAMESPACE_OID, item.id)) + "}", "ListId": str(uuid.uuid5(uuid.NAMESPACE_URL,
                                                                                          d.id)),
                "ListItemID": item.list_item_id, "PartitionId": str(uuid.UUID(int=0)), "UrlZone": 0,
                "Culture": "en-US", "ResultTypeId": 0, "RenderTemplateId": "~sitecollection/_catalogs/masterpage/"
                "Display Templates/Search/Item_Default.js",
                "_text": (item.name + " " + (item.content or b"")[:1 << 20].decode("utf-8", "ignore")).casefold()}


def _int(value: Any, default: int) -> int:
    """StartRow/RowLimit: a JSON integer or ASCII digits (any number of them, saturated), negatives as 0; anything
    else (1e999, NaN, '²') the default, as a bad query-string value already was [unc: SharePoint may answer 400]."""
    number = json_int(value, cap=2**31 - 1, signed=True)
    return default if number is None else max(0, number)


def _list(value: Any) -> list[str]:
    if isinstance(value, dict):  # verbose: {"results": [...]}
        value = value.get("results")
    if isinstance(value, list):
        return [str(v) for v in value if str(v).strip()]
    return [p.strip() for p in str(value or "").split(",") if p.strip()]


def _sorts(value: Any) -> list[tuple[str, bool]]:
    if isinstance(value, dict):
        value = value.get("results")
    out = []
    if isinstance(value, list):  # postquery: [{"Property", "Direction": 0|1}]
        out = [(str(s.get("Property")), edm_int(s.get("Direction") or 0) == 1) for s in value if isinstance(s, dict)]
    else:
        for part in _list(value):
            prop, _, way = part.partition(":")
            out.append((prop, way.lower().startswith("desc")))
    return [(ALIASES.get(p.lower(), p), desc) for p, desc in out]


# -- KQL -------------------------------------------------------------------------------------------------
def _parse(tokens: list[str]) -> Any:
    pos = 0

    def expr() -> Any:
        nonlocal pos
        left = conj()
        while pos < len(tokens) and tokens[pos] == "OR":
            pos += 1
            left = ("or", left, conj())
        return left

    def conj() -> Any:
        nonlocal pos
        parts = []
        while pos < len(tokens) and tokens[pos] not in ("OR", ")"):
            if tokens[pos] == "AND":
                pos += 1
                continue
            parts.append(unary())
        return ("and", *parts)

    def unary() -> Any:
        nonlocal pos
        tok = tokens[pos]
        pos += 1
        if tok in ("NOT", "-"):
            return ("not", unary()) if pos < len(tokens) else ("and",)
        if tok == "(":
            inner = expr()
            pos += 1 if pos < len(tokens) and tokens[pos] == ")" else 0
            return inner
        return ("term", tok)

    return expr()


def _eval(node: Any, doc: dict[str, Any]) -> float:
    kind = node[0]
    if kind == "and":
        scores = [_eval(n, doc) for n in node[1:]]
        return sum(scores) if scores and all(scores) else (1.0 if not scores else 0.0)
    if kind == "or":
        return max(_eval(node[1], doc), _eval(node[2], doc))
    if kind == "not":
        return 0.0 if _eval(node[1], doc) else 1.0
    return _term(node[1], doc)


def _term(tok: str, doc: dict[str, Any]) -> float:
    if tok == "*":  # everything
        return 1.0
    m = re.fullmatch(r'([\w.]+)(<>|>=|<=|[:=<>])(.*)', tok)
    if m is None:
        word, prefix = tok.strip('"').rstrip("*").casefold(), tok.endswith("*")
        text = doc["_text"]
        if not word:
            return 0.0
        if prefix and not tok.startswith('"'):
            return float(len(re.findall(r"(?<!\w)" + re.escape(word), text)))
        return float(text.count(word))
    prop, op, raw = ALIASES.get(m.group(1).lower()), m.group(2), m.group(3)
    if prop is None:
        return 0.0  # a property search does not know matches nothing
    have, prefix = doc.get(prop), raw.endswith("*")
    want = raw.rstrip("*").strip('"')
    if have is None:
        return 0.0
    if isinstance(have, bool):
        return 1.0 if have == (want.lower() in ("1", "true")) and op in (":", "=") else 0.0
    if isinstance(have, int):
        a, b = have, ascii_int(want, signed=True)  # ASCII digits: int() took '٣' as 3
        if b is None:
            return 0.0
    else:
        a, b = str(have).casefold(), want.casefold()
    if op == ":" and isinstance(a, str):
        hit = a.startswith(b) if prefix or prop in PREFIX_PROPS else bool(re.search(r"(?<!\w)" + re.escape(b)
                                                                                   + r"(?!\w)", a)) or a == b
        return 1.0 if hit else 0.0
    return 1.0 if {":": a == b, "=": a == b, "<>": a != b, ">": a > b, ">=": a >= b, "<": a < b,
                   "<=": a <= b}[op] else 0.0
