"""File settings Drive keeps as written and the emulator only stores and enforces lightly
(``DriveFile.extra``), writable on files.create / files.update:

- ``writersCanShare`` (default true): false keeps writers from changing sharing (403
  insufficientFilePermissions on permissions.create/update/delete; ``capabilities.canShare`` false);
- ``copyRequiresWriterPermission`` (default false): true keeps readers and commenters from copying and
  downloading (``viewersCanCopyContent`` false, ``capabilities.canCopy`` / ``canDownload`` false, files.copy
  403 cannotCopyFile; ``alt=media`` downloads are not refused: Drive's answer to them is not known here);
- ``folderColorRgb`` (folders; ``#8f8f8f`` until set);
- ``contentHints.indexableText``: searched by ``fullText contains``; ``contentHints`` is never returned,
  as Drive documents ("these fields are never populated in responses")."""

from __future__ import annotations

from typing import Any

from sandbox.gdrive.errors import DriveError
from sandbox.gdrive.store import FOLDER, DriveFile

KEPT = ("writersCanShare", "copyRequiresWriterPermission", "folderColorRgb", "contentHints")
DEFAULT_FOLDER_COLOR = "#8f8f8f"


def keep(f: DriveFile, meta: dict[str, Any]) -> None:
    for key in KEPT:
        if meta.get(key) is not None and (key != "folderColorRgb" or f.mime_type == FOLDER):
            f.extra[key] = meta[key]


def indexable_text(f: DriveFile) -> str:
    hints = f.extra.get("contentHints")
    return str(hints.get("indexableText") or "") if isinstance(hints, dict) else ""


def viewers_may_copy(f: DriveFile) -> bool:
    return not f.extra.get("copyRequiresWriterPermission", False)


def show(f: DriveFile, out: dict[str, Any], role: str | None) -> None:
    """``out`` (the file's resource for a caller of ``role``) with the kept settings."""
    writers_share, copy_free = f.extra.get("writersCanShare", True) is not False, viewers_may_copy(f)
    out.update(writersCanShare=writers_share, copyRequiresWriterPermission=not copy_free,
               viewersCanCopyContent=copy_free)
    if f.mime_type == FOLDER:
        out["folderColorRgb"] = f.extra.get("folderColorRgb", DEFAULT_FOLDER_COLOR)
    caps = out.get("capabilities", {})
    if role == "writer" and not writers_share:
        caps["canShare"] = False
    if role in ("reader", "commenter") and not copy_free:
        caps.update(canCopy=False, canDownload=False)


def check_share(f: DriveFile, role: str | None) -> None:
    if role == "writer" and f.extra.get("writersCanShare", True) is False:
        raise DriveError(403, "insufficientFilePermissions",
                         f"The user does not have sufficient permissions for file {f.id}.")


def check_copy(f: DriveFile, role: str | None) -> None:
    if role in ("reader", "commenter") and not viewers_may_copy(f):
        raise DriveError(403, "cannotCopyFile", "This file cannot be copied by the user.")
