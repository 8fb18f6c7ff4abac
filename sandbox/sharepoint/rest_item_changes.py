"""``POST lists/…/GetListItemChangesSinceToken`` through SharePoint REST v1, on a custom list (``custom_lists.py``)
or a document library, for ``GraphSandbox``. It was 400 "The expression … is not valid.".

The body is ``{"query": SP.ChangeLogItemQuery}`` (as office365's ``List.get_list_item_changes_since_token(
ChangeLogItemQuery(…))`` sends it): ``ChangeToken``, ``Query`` (a ``<Where>``, with or without ``<Query>``),
``ViewFields``, ``RowLimit`` (the default view's 30 when left out). The answer is Lists.asmx's rowset XML (``text/xml``
[unc]), which the client hands back as bytes::

    <listitems …><Changes LastChangeToken="1;3;{list id};{ticks};{n}" [MoreChanges="TRUE"]>
      <List …/>                          (the first call, without a token: the list's schema, in short)
      <Id ChangeType="Delete">7</Id>      (each item deleted since the token)
    </Changes><rs:data ItemCount="2"><z:row ows_ID="1" ows_Title="…" ows_FileRef="1;#sites/…" … /></rs:data></listitems>

Without a token every item (folders too); with one, those added or changed since (their latest state, once each).
Past ``RowLimit`` changes, ``MoreChanges="TRUE"`` and a token after the last change shown. A token of another list,
or not a change token, is 400 as for ``getChanges`` (``rest_changes.py``); XML that does not parse is 400 [unc].
Dates are UTC ``YYYY-MM-DD HH:MM:SS`` [unc: SharePoint's are the site's local time unless ``DateInUtc``].
"""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from types import SimpleNamespace
from typing import Any
from xml.sax.saxutils import quoteattr

from sandbox.core.http import Request, Response
from sandbox.core.numbers import ascii_int
from sandbox.sharepoint.custom_lists import CHANGES, CustomList
from sandbox.sharepoint.rest import iso
from sandbox.sharepoint.rest_errors import BAD, RestError
from sandbox.sharepoint.store import Drive, now_iso

ROWSET = ('xmlns:s="uuid:BDC6E3F0-6DA3-11d1-A2A3-00AA00C14882" xmlns:dt="uuid:C2F41010-65B3-11d1-A29F-00AA00C14882" '
          'xmlns:rs="urn:schemas-microsoft-com:rowset" xmlns:z="#RowsetSchema"')
ALWAYS = {"ows_ID", "ows_owshiddenversion", "ows_FSObjType", "ows_FileRef", "ows_UniqueId", "ows_Modified",
          "ows_MetaInfo", "ows_ContentType"}  # what the rowset carries whatever ViewFields names


class RestItemChanges:
    """Mixed into ``GraphSandbox`` with ``RestChanges``, ``RestCaml``, ``CustomFolders`` and ``RestLists``."""

    def rest_item_changes_since_token(self, req: Request, lst: CustomList, verbose: bool) -> Response:
        """A custom list's changes (the change numbers ``custom_lists.py`` stamps on its rows)."""
        with self.store.lock:
            rows = [(r.seq, self._c_item(req, lst, r, True), r) for r in lst.rows.values()]
            gone = [(s, n) for n, s in lst.gone.items()]
            latest = max([lst.made_seq, *(s for s, _, _ in rows), *(s for s, _ in gone), next(CHANGES) - 1])

        def attrs(full: dict[str, Any], row: Any) -> dict[str, str]:
            return {"ows_Attachments": "1" if row.attachments else "0",
                    "ows_owshiddenversion": str(row.version), "ows__UIVersionString": f"{row.version}.0",
                    **{f"ows_{c}": str(row.fields[c]) for c in sorted(lst.columns) if row.fields.get(c) not in
                       (None, "")}}
        return self._changes_answer(req, (lst.id, lst.title, self.c_root_url(req, lst), 100), lst.columns,
                                    rows, gone, latest, attrs)

    def rest_library_changes_since_token(self, req: Request, d: Drive, verbose: bool) -> Response:
        """A document library's changes (the store's change numbers, as Graph's ``delta`` reads them)."""
        lid = str(uuid.uuid5(uuid.NAMESPACE_URL, d.id))
        with self.store.lock:
            rows = [(i.seq, self._rest_item(req, d, i, False, "*,FileDirRef"), i) for i in self.store.items.values()
                    if i.drive_id == d.id and i.parent_id is not None]
            gone = [(t.seq, t.list_item_id) for t in self.store.tombstones.values() if t.drive_id == d.id
                    and t.list_item_id]
            latest = self.store.seq

        def attrs(full: dict[str, Any], item: Any) -> dict[str, str]:
            out = {"ows_owshiddenversion": str(item.version), "ows__UIVersionString": str(item.label)}
            if item.content is not None:
                out["ows_File_x0020_Size"] = f"{full['Id']};#{len(item.content)}"
            return out | {f"ows_{c}": str(v) for c, v in item.fields.items() if v not in (None, "")}
        return self._changes_answer(req, (lid, d.name, f"{self._rest_web_url(req)[1]}/{d.name}", 101), d.columns,
                                    rows, gone, latest, attrs)

    def _changes_answer(self, req: Request, about: tuple[str, str, str, int], columns: Any,
                        rows: list[tuple[int, dict[str, Any], Any]], gone: list[tuple[int, int]], latest: int,
                        attrs) -> Response:
        body = (req.json() if req.body else None) or {}
        body = body.get("d", body) if isinstance(body, dict) else body
        query = body.get("query") if isinstance(body, dict) else None
        if not isinstance(query, dict):
            raise RestError(400, BAD)
        list_id, title, root_url, template = about
        scope = (3, list_id)
        raw_token = str(query.get("ChangeToken") or "").strip()
        since = self._change_number(raw_token, scope) if raw_token else None  # rest_changes.py: 400 if not ours
        limit = ascii_int(str(query.get("RowLimit") or "").strip()) or 30
        where = self._changes_where(str(query.get("Query") or ""))
        fields = [f.get("Name", "") for f in self._changes_xml(str(query.get("ViewFields") or "<ViewFields/>"),
                                                                "ViewFields").findall(".//FieldRef")]
        changes: list[tuple[int, Any]] = [(s, (full, obj)) for s, full, obj in rows if since is None or s > since]
        if since is not None:
            changes += [(s, n) for s, n in gone if s > since]
        changes.sort(key=lambda c: c[0])
        more = len(changes) > limit
        changes = changes[:limit]
        token = self._token(scope, changes[-1][0] if more else latest, now_iso())
        out = [f'<listitems {ROWSET} MinTimeBetweenSyncs="0" RecommendedTimeBetweenSyncs="180" '
               f'MaxBulkDocumentSyncSize="500" EffectivePermMask="FullMask">',
               f'<Changes LastChangeToken={quoteattr(token)}' + (' MoreChanges="TRUE"' if more else "") + ">"]
        if since is None:
            out.append(f'<List ID="{{{list_id.upper()}}}" Title={quoteattr(title)} ServerTemplate="{template}" '
                       f'RootFolder={quoteattr(root_url)} ItemCount="{len(rows)}" />')
        out += [f'<Id ChangeType="Delete">{n}</Id>' for _, n in changes if isinstance(n, int)]
        out.append("</Changes>")
        schema = SimpleNamespace(columns=columns)
        shown = [self._changes_zrow(full, attrs(full, obj), fields) for _, c in changes if not isinstance(c, int)
                 for full, obj in [c] if where is None or self._caml_match(where, full, schema)]
        out += [f'<rs:data ItemCount="{len(shown)}">', *shown, "</rs:data></listitems>"]
        return Response(200, "\n".join(out).encode(), "text/xml; charset=utf-8")

    @staticmethod
    def _changes_xml(text: str, root: str) -> ET.Element:
        try:
            return ET.fromstring(text)
        except ET.ParseError:
            raise RestError(400, ("-2130575306, Microsoft.SharePoint.SPException", "Cannot complete this action."
                                  f"\n\nPlease try again. (the {root} XML is not valid)")) from None  # [unc]

    def _changes_where(self, text: str) -> ET.Element | None:
        if not text.strip():
            return None
        el = self._changes_xml(text if text.strip().startswith("<Query") else f"<Query>{text}</Query>", "Query")
        where = el.find("./Where")
        return where[0] if where is not None and len(where) else None

    @staticmethod
    def _changes_zrow(full: dict[str, Any], extra: dict[str, str], fields: list[str]) -> str:
        def when(stamp: Any) -> str:
            return iso(str(stamp))[:19].replace("T", " ")

        n = full["Id"]
        guid = "{" + str(full.get("UniqueId") or full["GUID"]).upper() + "}"
        folder = full["FSObjType"] == 1
        attrs = {"ows_ID": str(n), "ows_Title": str(full.get("Title") or ""),
                 "ows_ContentType": "Folder" if folder else ("Document" if full["ContentTypeId"].startswith("0x0101")
                                                             else "Item"),
                 "ows_Modified": when(full["Modified"]), "ows_Created": when(full["Created"]),
                 "ows_Author": "1073741823;#SharePoint App", "ows_Editor": "1073741823;#SharePoint App",
                 "ows_FileRef": f"{n};#{full['FileRef'].lstrip('/')}", "ows_FileLeafRef": f"{n};#{full['FileLeafRef']}",
                 "ows_FileDirRef": f"{n};#{full['FileDirRef'].lstrip('/')}", "ows_FSObjType": f"{n};#{int(folder)}",
                 "ows_UniqueId": f"{n};#{guid}", "ows_GUID": "{" + str(full["GUID"]).upper() + "}",
                 "ows_ContentTypeId": full["ContentTypeId"], "ows__ModerationStatus": "0", "ows__Level": "1",
                 "ows_MetaInfo": f"{n};#", "ows_PermMask": "0x7fffffffffffffff", **extra}
        if fields:  # ViewFields: those, and what the rowset always carries
            keep = {f"ows_{f}" for f in fields} | ALWAYS
            attrs = {k: v for k, v in attrs.items() if k in keep}
        return "<z:row " + " ".join(f"{k}={quoteattr(v)}" for k, v in attrs.items()) + " />"
