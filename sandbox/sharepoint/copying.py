"""``POST items/{id}/copy`` and its monitor URL, and ``@microsoft.graph.conflictBehavior``, for
``GraphSandbox``.

- ``copy`` ``{"parentReference": {"driveId", "id"}?, "name"?}``: a file or a whole folder, into the same
  drive or another the app may write; ``202 Accepted`` with no body and ``Location`` a monitor URL on the
  SharePoint host (``/_api/v2.0/monitor/{id}``) that needs no token. The monitor answers ``202``
  ``{"status": "inProgress", "percentageComplete"}`` for the first ``copy_pending_polls`` polls (0 by
  default: small copies are done by the first poll), then ``200`` ``{"status": "completed",
  "percentageComplete": 100.0, "resourceId", "resourceLocation"}``. The copy is made at once.
- ``conflictBehavior`` (query ``@microsoft.graph.conflictBehavior``, or the body's member): ``fail``
  (409 nameAlreadyExists), ``replace`` (the old item is deleted), ``rename`` (``name 1.ext``, ``name
  2.ext`` …). Defaults: ``replace`` for uploads, ``fail`` for new folders, moves and copies. Another
  value is 400.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote

from sandbox.core.http import Request, Response, json_response
from sandbox.sharepoint.errors import GraphError, json_body
from sandbox.sharepoint.names import check_name
from sandbox.sharepoint.store import Drive, Item

BEHAVIORS = ("fail", "replace", "rename")


def conflict_behavior(req: Request, body: dict[str, Any] | None, default: str) -> str:
    value = req.query.get("@microsoft.graph.conflictBehavior") or (body or {}).get(
        "@microsoft.graph.conflictBehavior") or default
    if value not in BEHAVIORS:
        raise GraphError(400, "invalidRequest", f"Invalid value '{value}' for @microsoft.graph.conflictBehavior "
                         "(fail, replace or rename).")
    return value


class Copying:
    """Mixed into ``GraphSandbox`` (uses its ``store``, ``_room`` and ``monitors``)."""

    copy_pending_polls = 0
    monitors: dict[str, dict[str, Any]]

    def settle_name(self, parent: Item, name: str, behavior: str, moving: Item | None = None) -> str:
        """The name to create ``name`` under in ``parent`` by ``behavior``; ``replace`` deletes the clash."""
        check_name(name)
        clash = self.store.child(parent.id, name)
        if clash is None or (moving is not None and clash.id == moving.id):
            return name
        if behavior == "fail":
            raise GraphError(409, "nameAlreadyExists", "The specified item name already exists.")
        if behavior == "rename":
            return self.store.free_name(parent.id, name)
        self.store.delete(clash)
        return name

    def copy_item(self, drive: Drive, item: Item, req: Request) -> Response:
        body = json_body(req) or {}
        behavior = conflict_behavior(req, body, "fail")
        ref = body.get("parentReference") or {}
        target_drive = drive
        if ref.get("driveId") and ref["driveId"] != drive.id:
            target_drive = self.store.drives.get(str(ref["driveId"]))
            if target_drive is None:
                raise GraphError(404, "itemNotFound", "The destination drive was not found.")
            if target_drive.grants.get(req.principal) != "write":
                raise GraphError(403, "accessDenied", "Access denied")
        parent_id = str(ref.get("id") or (target_drive.root_id if target_drive is not drive else item.parent_id))
        parent = self.store.items.get(parent_id or "")
        if parent is None or parent.drive_id != target_drive.id:
            raise GraphError(404, "itemNotFound", "The destination folder was not found.")
        if parent.content is not None:
            raise GraphError(400, "invalidRequest", "The destination is not a folder.")
        if item.parent_id is None:
            raise GraphError(400, "invalidRequest", "The root folder cannot be copied.")
        if item.content is None and (parent.id == item.id or item.id in self.store.ancestors(parent)):
            raise GraphError(400, "invalidRequest", "A folder cannot be copied into itself.")
        self._room(target_drive, self._tree_bytes(item))
        with self.store.lock:
            name = self.settle_name(parent, str(body.get("name") or item.name), behavior)
            made = self._copy_tree(item, target_drive, parent, name)
        mid = str(uuid.uuid4())
        self.monitors[mid] = {"resource": made.id, "drive": target_drive.id, "pending": self.copy_pending_polls}
        return Response(202, b"", "text/plain", [("Location", f"{req.base_url}/_api/v2.0/monitor/{mid}")])

    def _tree_bytes(self, item: Item) -> int:
        if item.content is not None:
            return len(item.content)
        return sum(self._tree_bytes(k) for k in self.store.children(item.id))

    def _copy_tree(self, item: Item, drive: Drive, parent: Item, name: str) -> Item:
        made = self.store.add(drive.id, parent.id, name, item.content)
        made.fields = {k: v for k, v in item.fields.items() if k in drive.columns or k == "Title"}
        for kid in self.store.children(item.id):
            if kid.id != made.id:
                self._copy_tree(kid, drive, made, kid.name)
        return made

    def monitor(self, req: Request) -> Response:
        job = self.monitors.get(req.params["mid"])
        if job is None:
            raise GraphError(404, "itemNotFound", "The operation was not found.")
        if job["pending"] > 0:
            job["pending"] -= 1
            return json_response({"operation": "ItemCopy", "percentageComplete": 50.0, "status": "inProgress"}, 202)
        location = f"{req.base_url}/v1.0/drives/{quote(job['drive'])}/items/{job['resource']}"
        return json_response({"operation": "ItemCopy", "percentageComplete": 100.0, "resourceId": job["resource"],
                              "resourceLocation": location, "status": "completed"})
