"""Attachments of SharePoint REST v1 custom-list items, mixed into ``GraphSandbox`` through ``CustomLists``
(``custom_lists.py``, whose docstring describes the routes): ``items(n)/AttachmentFiles`` (list, ``add`` /
``AddUsingPath``, ``AttachmentFiles('…')`` / ``GetByFileName('…')``), one attachment's entity, ``$value`` GET /
PUT, DELETE and ``RecycleObject``, and the ``web/GetFileByServerRelativeUrl('…/Lists/{T}/Attachments/{n}/{name}')``
URLs office365's ``Attachment`` uses."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from sandbox.core.http import Request, Response
from sandbox.core.numbers import ascii_int
from sandbox.sharepoint.rest import args, iso
from sandbox.sharepoint.rest_errors import BAD, NOT_FOUND, RestError
from sandbox.sharepoint.store import now_iso

if TYPE_CHECKING:
    from sandbox.sharepoint.custom_lists import CustomList, Row


class CustomListAttachments:
    """Uses the sandbox's ``store``, ``rest_custom_list``, ``_c_base`` and the REST entity helpers."""

    def _c_attachment(self, req: Request, lst: CustomList, row: Row, name: str, verbose: bool) -> dict[str, Any]:
        rel = f"{self._rest_web_url(req)[1]}/Lists/{lst.url_name}/Attachments/{row.id}/{name}"
        props = {"FileName": name, "FileNameAsPath": {"DecodedUrl": name}, "ServerRelativePath": {"DecodedUrl": rel},
                 "ServerRelativeUrl": rel}
        if verbose:
            for key in ("FileNameAsPath", "ServerRelativePath"):
                props[key] = {"__metadata": {"type": "SP.ResourcePath"}, **props[key]}
        return self._rest_entity(props, "SP.Attachment", f"{self._c_base(req, lst)}/Items({row.id})/AttachmentFiles"
                                 f"('{name}')", verbose)

    def _c_attachments(self, req: Request, lst: CustomList, row: Row, segs: list[tuple[str, str | None]],
                       verbose: bool) -> Response:
        names = [n for n, _ in segs]
        if len(names) == 1 and not segs[0][1]:
            if req.method != "GET":
                raise RestError(400, BAD)
            shown = [self._c_attachment(req, lst, row, n, verbose) for n in row.attachments]
            return self._rest_json(self._rest_collection(shown, verbose), verbose)
        if names[1:2] in (["add"], ["addusingpath"]) and req.method == "POST":
            self.rest_custom_list(req, lst.site_id, lid=lst.id, need="write")
            a = args(segs[1][1])
            name = a.get("filename", a.get("decodedurl", a.get("", ""))).strip()
            if not name or re.search(r'[\\/:*?"<>|#%]', name):
                raise RestError(400, ("-2130575223, Microsoft.SharePoint.SPException", "The file name is invalid."))
            with self.store.lock:
                if any(n.lower() == name.lower() for n in row.attachments):
                    raise RestError(400, ("-2130575257, Microsoft.SharePoint.SPFileExistsException", "A file with the "
                                          f"name {self._c_attachment(req, lst, row, name, False)['ServerRelativeUrl']} "
                                          "already exists."))
                row.attachments[name] = req.body
                row.modified = now_iso()
            self.store.changed("list", lst.id)
            return self._rest_json(self._c_attachment(req, lst, row, name, verbose), verbose)
        by_call = names[1:2] == ["getbyfilename"]
        name = args(segs[1][1] if by_call else segs[0][1]).get("", "")
        return self.rest_attachment_file(req, lst, row, name, [n for n in names[2 if by_call else 1:]], verbose)

    def rest_attachment_file(self, req: Request, lst: CustomList, row: Row, name: str, rest: list[str],
                             verbose: bool, as_file: bool = False) -> Response:
        """One attachment: its entity (an ``SP.File`` when reached by URL), ``$value`` GET / PUT, DELETE,
        ``RecycleObject`` / ``recycle``."""
        key = next((n for n in row.attachments if n.lower() == name.lower()), None)
        if key is None:
            raise RestError(404, NOT_FOUND)
        method = req.header("X-HTTP-Method").upper() or req.method
        if rest == ["$value"] and method == "GET":
            return Response(200, row.attachments[key], "application/octet-stream")
        if method != "GET":
            self.rest_custom_list(req, lst.site_id, lid=lst.id, need="write")
        if (rest == ["$value"] and method in ("PUT", "POST")) or (rest == ["savebinarystream"] and method == "POST"):
            with self.store.lock:
                row.attachments[key] = req.body
                row.modified = now_iso()
            self.store.changed("list", lst.id)
            return Response(204, b"")
        if (not rest and method == "DELETE") or (rest in (["recycleobject"], ["recycle"]) and method == "POST"):
            with self.store.lock:
                row.attachments.pop(key, None)
                row.modified = now_iso()
            self.store.changed("list", lst.id)
            return Response(200, b"")
        if not rest and method == "GET":
            shown = self._c_attachment(req, lst, row, key, verbose)
            if as_file:
                rel = shown["ServerRelativeUrl"]
                props = {"Name": key, "ServerRelativeUrl": rel, "Length": str(len(row.attachments[key])),
                         "Exists": True, "TimeLastModified": iso(row.modified)}
                shown = self._rest_entity(props, "SP.File", f"{self._rest_web_url(req)[0]}/_api/Web/"
                                          f"GetFileByServerRelativeUrl('{rel}')", verbose)
            return self._rest_json(shown, verbose)
        raise RestError(400, BAD)

    def rest_attachment_by_url(self, req: Request, site: str, path: str, segs: list[tuple[str, str | None]],
                               verbose: bool) -> Response | None:
        """``web/GetFileByServerRelativeUrl('<site>/Lists/{T}/Attachments/{n}/{name}')…``, or None."""
        m = re.fullmatch(r"(?:https?://[^/]+)?/(?:sites|teams)/[^/]+/Lists/([^/]+)/Attachments/([0-9]+)/([^/]+)",
                         unquote(path))
        if m is None:
            return None
        lst = next((c for c in self.store.custom_lists.values() if c.site_id == site
                    and c.url_name.lower() == m.group(1).lower()), None)
        row_id = ascii_int(m.group(2))  # ASCII digits: \d took '٣' as 3; int() raised on 5,000 digits
        if lst is None or self.rest_custom_list(req, site, lid=lst.id) is None or row_id not in lst.rows:
            raise RestError(404, NOT_FOUND)
        return self.rest_attachment_file(req, lst, lst.rows[row_id], m.group(3), [n for n, _ in segs],
                                         verbose, as_file=True)
