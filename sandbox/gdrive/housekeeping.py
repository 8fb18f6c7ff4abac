"""``files.listLabels`` / ``files.modifyLabels`` (the emulator keeps no Drive labels), ``files.generateIds`` and
``files.emptyTrash``, mixed into ``DriveSandbox``."""

from __future__ import annotations

from sandbox.core.http import Request, Response, json_response
from sandbox.core.numbers import ascii_int
from sandbox.gdrive.errors import DriveError
from sandbox.gdrive.fields import select
from sandbox.gdrive.spaces import APPDATA


class FileHousekeeping:
    """The small ``files.*`` methods: labels, id generation, emptying the trash (on ``self.store``)."""

    def list_labels(self, req: Request) -> Response:
        """files.listLabels: the emulator keeps no Drive labels, so every file has none."""
        self._file(req, any_drive=True, own_folder=True)
        return json_response({"kind": "drive#labelList", "labels": []})

    def modify_labels(self, req: Request) -> Response:
        """files.modifyLabels: no label exists here, so every modification names an unknown label (404 notFound
        on ``labelId`` [unc: Google's answer]); none is a no-op; a reader or commenter is 403."""
        f = self._file(req, any_drive=True)
        mods = (req.json() or {}).get("labelModifications") or []
        if self.store.role(f, req.principal) not in ("owner", "writer"):
            raise DriveError(403, "insufficientFilePermissions", "The user does not have sufficient permissions "
                             f"for file {f.id}.")
        if mods:
            raise DriveError(404, "notFound", f"Label not found: {(mods[0] or {}).get('labelId')}", location="labelId")
        return json_response({"kind": "drive#modifyLabelsResponse", "modifiedLabels": []})

    def generate_ids(self, req: Request) -> Response:
        raw = req.query.get("count") or "10"
        count = ascii_int(raw, cap=1001)  # not isdecimal() + int(): 5,000 digits raised ValueError, a 500
        if count is None or not 1 <= count <= 1000:
            raise DriveError(400, "invalid", f"Invalid value '{raw}'. Values must be within the range: [1, 1000]",
                             location="count")
        space = req.query.get("space") or "drive"
        if space not in ("drive", APPDATA):  # the spaces Drive generates ids for (message guessed)
            raise DriveError(400, "invalid", f"Invalid Value: space {space!r}", location="space")
        kind = req.query.get("type") or "files"  # "files" or "shortcuts", the latter in the drive space only
        if kind not in ("files", "shortcuts") or (kind == "shortcuts" and space != "drive"):  # [unc] the words
            raise DriveError(400, "invalid", f"Invalid Value: type {kind!r}", location="type")
        ids = [self.store.new_id() for _ in range(count)]
        self.store.generated.update(ids)
        return json_response(select({"kind": "drive#generatedIds", "space": space, "ids": ids}, "generatedIds",
                                    req.query.get("fields")))

    def empty_trash(self, req: Request) -> Response:
        """files.emptyTrash: deletes every trashed file the caller owns in My Drive or, with ``driveId``, every
        trashed item of that shared drive (its organizers only: 403 insufficientFilePermissions, guessed; not a
        member: 404 notFound on driveId)."""
        drive = req.query.get("driveId") or None
        if drive is not None and self.store.member_role(drive, req.principal) is None:
            raise DriveError(404, "notFound", f"Shared drive not found: {drive}", location="driveId")
        if drive is not None and self.store.member_role(drive, req.principal) != "organizer":
            raise DriveError(403, "insufficientFilePermissions", "The user does not have sufficient permissions for "
                             f"file {drive}.")
        for f in [f for f in self.store.files.values() if f.trashed and self.store.drive_of(f) == drive and (
                drive is not None or f.owner == req.principal)]:
            if f.id in self.store.files:  # not gone already with a trashed folder above it
                self.store.delete_tree(f.id, req.principal)
        return Response(204, b"", "text/plain")
