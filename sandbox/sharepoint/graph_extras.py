"""Graph drive item extras: special folders and ``preview``.

- ``GET /drives/{id}/special/{name}``: Graph documents the special folders (documents, photos, cameraroll,
  approot, music, recordings) for delegated callers only ("Application: Not supported"); every token here is
  an app's, so a known name is 403 accessDenied and another 404 itemNotFound [unc: the status and text
  Graph gives an app-only caller].
- ``POST /drives/{id}/items/{item}/preview`` (also by path, ``root:/a.pdf:/preview``): a file's short-lived
  embeddable preview, ``{"getUrl", "postUrl", "postParameters"}`` as documented; the body's ``page`` and
  ``zoom`` (and ``viewer``, ``chromeless``, ``allowEdit``) are read into the URL. A folder is 400
  invalidRequest [unc]. The sandbox serves ``getUrl`` / ``postUrl`` (``/_layouts/15/embed.aspx``) as a small
  HTML page naming the file; a stale or unknown ``UniqueId`` is 404.
"""

from __future__ import annotations

import html
import re
import secrets
from typing import Any
from urllib.parse import parse_qs, urlencode

from sandbox.core.http import Request, Response, json_response
from sandbox.sharepoint.errors import GraphError
from sandbox.sharepoint.store import Drive

SPECIAL = ("documents", "photos", "cameraroll", "approot", "music", "recordings")
PREVIEW = re.compile(r"^(?P<ref>root|items/[^/:]+|(?:root|items/[^/:]+):/.*:)/preview/?$")


class GraphExtras:
    """Mixed into ``GraphSandbox`` (uses ``_resolve``, ``_exists``, ``store``)."""

    previews: dict[str, str]

    def extras_routes(self, router) -> None:
        for method in ("GET", "POST"):
            router.add(method, r"/_layouts/15/embed\.aspx", self.embed_page, auth_faults=False)

    def drive_extra(self, drive: Drive, tail: str, req: Request) -> Response | None:
        """The answer to a ``special/…`` or ``…/preview`` request under ``/drives/{id}/``, or None."""
        if tail.split("/")[0] == "special":
            name = tail.split("/")[1].lower() if tail.count("/") else ""
            if name not in SPECIAL:
                raise GraphError(404, "itemNotFound", "The resource could not be found.")
            raise GraphError(403, "accessDenied", "Special folders are not supported with application permissions.")
        m = PREVIEW.match(tail)
        if m is None:
            return None
        if req.method != "POST":
            raise GraphError(405, "invalidRequest", f"{req.method} is not supported on {req.path}")
        item = self._exists(self._resolve(drive, m.group("ref"))[0])
        if item.content is None:
            raise GraphError(400, "invalidRequest", "Preview is not supported for folders.")
        body = req.json() if req.body else {}
        if not isinstance(body, dict):
            raise GraphError(400, "invalidRequest", "Invalid request body.")
        token = secrets.token_urlsafe(16)
        with self.store.lock:
            self.previews = getattr(self, "previews", {})
            self.previews[token] = item.id
        opts: dict[str, Any] = {"UniqueId": item.id, "access": token, "action": "embedview"}
        for key in ("page", "zoom", "viewer", "chromeless", "allowEdit"):
            if body.get(key) not in (None, ""):
                opts[key] = str(body[key]).lower() if isinstance(body[key], bool) else body[key]
        page = f"{req.base_url}/_layouts/15/embed.aspx"
        return json_response({"getUrl": f"{page}?{urlencode(opts)}", "postUrl": page,
                              "postParameters": urlencode(opts)})

    def embed_page(self, req: Request) -> Response:
        opts = dict(req.query)
        if req.method == "POST":
            opts.update({k: v[0] for k, v in parse_qs(req.body.decode("utf-8", "replace")).items()})
        item_id = getattr(self, "previews", {}).get(str(opts.get("access", "")))
        item = self.store.items.get(item_id or "")
        if item is None or item.id != opts.get("UniqueId"):
            return Response(404, b"<html><body>Not found</body></html>", "text/html; charset=utf-8")
        text = f"<html><head><title>{html.escape(item.name)}</title></head><body>{html.escape(item.name)}</body></html>"
        return Response(200, text.encode(), "text/html; charset=utf-8")
