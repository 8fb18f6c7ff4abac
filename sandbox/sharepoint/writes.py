"""Writes to drive items for ``GraphSandbox``: a new folder (``POST children``), rename and move
(``PATCH`` of the item) and list-item fields (``PATCH …/fields``), with ``conflictBehavior``
(``copying.py``): a clash is 409 nameAlreadyExists unless ``rename`` or ``replace`` is asked for.
``POST …/checkout`` and ``…/checkin`` (body ``comment``, ``checkInAs``) answer 204, as Graph does; a folder, or
checkin of a file not checked out, is 400 invalidRequest (SharePoint refuses both; Graph's exact words are
guessed). A check-in makes a new version of the file (``store.check_in``), as in a versioned library; writes while
checked out go to one draft, so the check-in makes one version of them (each write made a version before).
``POST …/discardCheckout`` (msgraph-sdk's ``discard_checkout``) drops the draft: 204, the checked-in content is
current again; it was 400 "POST is not supported".
``POST children`` of a file and a rename to ``""`` are 400 invalidRequest (round 33: the first made a folder inside
the file, the second kept the old name and answered 200) [unc: Graph's words].
``PATCH …/fields`` honours ``If-Match`` (the fields' ``@odata.etag``, or the item's eTag or cTag; ``*``): a stale
one is 412 resourceModified, as for the item's own writes [unc: Graph's text there]; it was ignored."""

from __future__ import annotations

import re

from sandbox.core.http import Request, Response, json_response
from sandbox.sharepoint.copying import conflict_behavior
from sandbox.sharepoint.errors import GraphError, if_match
from sandbox.sharepoint.file_times import apply_times, file_times
from sandbox.sharepoint.store import Drive, Item, now_iso


class Writes:
    """Mixed into ``GraphSandbox`` (uses ``store``, ``_item_resource``, ``_resolve``, ``_exists``, ``_fields``
    and ``settle_name``)."""

    def create_folder(self, drive: Drive, parent: Item, req: Request) -> Response:
        body = req.json() or {}
        name = str(body.get("name") or "")
        if not name or "folder" not in body:
            raise GraphError(400, "invalidRequest", "A folder needs a name and a folder facet.")
        if parent.content is not None:  # a file has no children: it made a folder inside the file [round 33]
            raise GraphError(400, "invalidRequest", f"'{parent.name}' is a file, not a folder.")
        behavior = conflict_behavior(req, body, "fail")
        with self.store.lock:
            name = self.settle_name(parent, name, behavior)
            made = self.store.add(drive.id, parent.id, name, None)
        return json_response(self._item_resource(made, drive, req), 201)

    def update_item(self, drive: Drive, item: Item, req: Request) -> Response:
        """PATCH a drive item: rename (``name``) and/or move (``parentReference.id``, or ``path`` as
        ``/drives/{id}/root:/folder``) within the drive; 409 nameAlreadyExists on a clash."""
        body = req.json() or {}
        if item.parent_id is None:
            raise GraphError(400, "invalidRequest", "The root folder cannot be renamed or moved.")
        # a ``name`` sent empty is a rename to nothing (400, as check_name answers), not "keep the name" [round 33]
        name = item.name if body.get("name") is None else str(body["name"])
        parent_id = item.parent_id
        ref = body.get("parentReference") or {}
        if ref.get("id"):
            parent_id = str(ref["id"])
        elif ref.get("path"):
            m = re.fullmatch(r"/drives?/(?:[^/]+/)?root:(?P<path>/.*)?", str(ref["path"]))
            if m is None:
                raise GraphError(400, "invalidRequest", f"Invalid parentReference path {ref['path']!r}")
            found, _, _, _ = self._resolve(drive, "root" + (f":{m.group('path')}:" if m.group("path") else ""))
            parent_id = self._exists(found).id
        target = self.store.items.get(parent_id)
        if target is None or target.drive_id != drive.id or target.content is not None:
            raise GraphError(404 if target is None else 400, "itemNotFound" if target is None else "invalidRequest",
                             "The destination folder was not found." if target is None else
                             "The destination is not a folder.")
        if target.id == item.id or item.id in self.store.ancestors(target):
            raise GraphError(400, "invalidRequest", "A folder cannot be moved into itself.")
        behavior = conflict_behavior(req, body, "fail")
        times = file_times(body.get("fileSystemInfo"))  # file_times.py
        with self.store.lock:
            if target.id == item.id or item.id in self.store.ancestors(target):  # again under the lock: two crossed
                raise GraphError(400, "invalidRequest", "A folder cannot be moved into itself.")  # moves at once
            name = self.settle_name(target, name, behavior, moving=item)
            item.name, item.parent_id = name, target.id
            item.version += 1
            item.modified = now_iso()
            apply_times(item, times)
            self.store.touch(item)
        return json_response(self._item_resource(item, drive, req))

    def patch_fields(self, drive: Drive, item: Item, req: Request) -> Response:
        if req.header("If-Match").strip() not in ("", "*"):
            shown = self._item_resource(item, drive, req)
            if_match(req, {self._fields(item)["@odata.etag"], shown["eTag"], shown["cTag"]})
        body = req.json() or {}
        for key in body:
            if key not in drive.columns and key != "Title":  # Title is every library's own column
                raise GraphError(400, "invalidRequest", f"Field '{key}' is not recognized")
        with self.store.lock:
            item.fields.update({k: "" if v is None else str(v) for k, v in body.items()})
            item.version += 1
            self.store.touch(item)
        return json_response(self._fields(item))

    def check_out_or_in(self, item: Item, out: bool, req: Request, discard: bool = False) -> Response:
        if item.content is None:
            raise GraphError(400, "invalidRequest", "Only files can be checked out or checked in.")
        if discard:  # the draft's writes are dropped [unc: the error for a file not checked out]
            if not item.checked_out:
                raise GraphError(400, "invalidRequest", f"The file \"{self.store.path_of(item)}\" is not checked out.")
            self.store.discard_checkout(item)
            return Response(204, b"")
        if not out:
            body = req.json() if req.body else {}
            if (body or {}).get("checkInAs") not in (None, "", "published", "unspecified"):
                raise GraphError(400, "invalidRequest", f"Invalid checkInAs value {body['checkInAs']!r}.")
            if not item.checked_out:
                raise GraphError(400, "invalidRequest", f"The file \"{self.store.path_of(item)}\" is not checked out.")
            self.store.check_in(item, str((body or {}).get("comment") or ""))  # a new version
            return Response(204, b"")
        item.checked_out = True
        return Response(204, b"")
