"""A drive item's ``versions`` and ``thumbnails``, for ``GraphSandbox``.

- ``GET items/{id}/versions``: the current version first, then the older ones, newest first; ids are
  SharePoint's major-version labels (``3.0``, ``2.0``, ``1.0``); each with ``lastModifiedDateTime``,
  ``lastModifiedBy`` and ``size``. A content replacement makes a new version (field or name changes do
  not, here). ``GET versions/{vid}`` (``current`` names the current version), ``GET versions/{vid}/content``
  (``302`` to a pre-authenticated download, as ``content`` does; for the current version 400 invalidRequest "You
  cannot get the content of the current version.", as Graph documents and answers), ``GET versions/$count``,
  ``POST versions/{vid}/restoreVersion`` (``204``; the old content
  becomes a new current version). Folders have none: 400.
- ``GET items/{id}/thumbnails``: one thumbnail set (``id`` ``"0"``, ``small``/``medium``/``large`` with
  ``height``, ``width`` and a pre-authenticated ``url`` to a PNG) for a file, none for a folder;
  ``thumbnails/{set}/{size}`` and ``…/content`` (``302`` to the PNG).
"""

from __future__ import annotations

import base64
import secrets
from typing import Any

from sandbox.core.http import Request, Response, json_response
from sandbox.sharepoint.errors import GraphError
from sandbox.sharepoint.store import Drive, Item

PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8/5+hHgAHggJ/"
                       "PchI7wAAAABJRU5ErkJggg==")
SIZES = {"small": 96, "medium": 176, "large": 800}
APP = {"application": {"id": "00000000-0000-0000-0000-000000000000", "displayName": "SharePoint App"}}


class Versions:
    """Mixed into ``GraphSandbox`` (uses its ``store``, ``downloads`` and ``_download_url``)."""

    thumbs: dict[str, bytes]

    def _versions(self, item: Item) -> list[tuple[str, bytes, str]]:
        """(label, content, date) newest first, the current version included."""
        if item.content is None:
            raise GraphError(400, "invalidRequest", "Versions are only kept for files.")
        old = [(f"{n}.0", content, date) for n, (content, date) in enumerate(item.history, 1)]
        return [(item.label, item.content, item.modified), *reversed(old)]

    @staticmethod
    def _version_resource(label: str, content: bytes, date: str) -> dict[str, Any]:
        return {"id": label, "lastModifiedDateTime": date, "size": len(content), "lastModifiedBy": {
            "user": {"displayName": "SharePoint App"}, **APP}}

    def versions_route(self, drive: Drive, item: Item, rest: str, req: Request) -> Response:
        parts = [p for p in rest.split("/") if p]
        versions = self._versions(item)
        if not parts:
            if req.method != "GET":
                raise GraphError(405, "invalidRequest", f"{req.method} is not supported on versions.")
            return json_response({"@odata.context": f"{req.base_url}/v1.0/$metadata#Collection(driveItemVersion)",
                                  "value": [self._version_resource(*v) for v in versions]})
        if parts == ["$count"] and req.method == "GET":  # OData's count segment, text/plain [unc: on versions]
            return Response(200, str(len(versions)).encode(), "text/plain")
        # ``current`` names the current version, as OneDrive's id for it [unc: whether SharePoint shows it as
        # ``current`` too; it answers with the version's label]
        label = versions[0][0] if parts[0] == "current" else parts[0]
        found = next((v for v in versions if v[0] == label), None)
        if found is None:
            raise GraphError(404, "itemNotFound", f"The version '{parts[0]}' was not found.")
        action = "/".join(parts[1:])
        if req.method == "GET" and action == "":
            return json_response(self._version_resource(*found))
        if req.method == "GET" and action == "content" and found[0] == item.label:
            # documented: the current version's content is the item's own ``/content``, not this
            raise GraphError(400, "invalidRequest", "You cannot get the content of the current version.")
        if req.method == "GET" and action == "content":
            token = secrets.token_urlsafe(24)
            self.downloads[token] = f"{item.id}@{found[0]}"
            url = f"{req.base_url}/_layouts/15/download.aspx?UniqueId={item.id}&tempauth={token}"
            return Response(302, b"", "text/plain", [("Location", url)])
        if req.method == "POST" and action == "restoreVersion":
            if found[0] != item.label:
                self.store.add(drive.id, item.parent_id or "", item.name, found[1])
            return Response(204, b"")
        raise GraphError(400, "invalidRequest", f"{req.method} versions/{'/'.join(parts)} is not supported.")

    def version_bytes(self, item: Item, label: str) -> bytes | None:
        return next((v[1] for v in self._versions(item) if v[0] == label), None)

    # -- thumbnails ----------------------------------------------------------------------------------------
    def thumbnail_sets(self, item: Item, req: Request) -> list[dict[str, Any]]:
        if item.content is None:
            return []
        out: dict[str, Any] = {"id": "0"}
        for size, edge in SIZES.items():
            token = secrets.token_urlsafe(16)
            self.thumbs[token] = PNG
            out[size] = {"height": edge, "width": edge, "url": f"{req.base_url}/_api/v2.0/thumbnail/{token}.png"}
        return [out]

    def thumbnails_route(self, item: Item, rest: str, req: Request) -> Response:
        if req.method != "GET":
            raise GraphError(405, "invalidRequest", f"{req.method} is not supported on thumbnails.")
        parts = [p for p in rest.split("/") if p]
        sets = self.thumbnail_sets(item, req)
        if not parts:
            return json_response({"value": sets})
        chosen = next((t for t in sets if t["id"] == parts[0]), None)
        if chosen is None:
            raise GraphError(404, "itemNotFound", f"The thumbnail set '{parts[0]}' was not found.")
        if len(parts) == 1:
            return json_response(chosen)
        if parts[1] not in SIZES or len(parts) > 3 or parts[2:] not in ([], ["content"]):
            raise GraphError(400, "invalidRequest", f"Unknown thumbnail size '{parts[1]}'.")
        if len(parts) == 3:
            return Response(302, b"", "text/plain", [("Location", chosen[parts[1]]["url"])])
        return json_response(chosen[parts[1]])

    def thumbnail(self, req: Request) -> Response:
        data = self.thumbs.get(req.params["token"])
        if data is None:
            raise GraphError(404, "itemNotFound", "The thumbnail was not found.")
        return Response(200, data, "image/png")
