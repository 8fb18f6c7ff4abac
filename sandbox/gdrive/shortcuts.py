"""Shortcuts (``application/vnd.google-apps.shortcut``) as Drive's "Create a shortcut to a Drive file" guide
has them: ``shortcutDetails.targetId`` names the target; ``targetMimeType`` is the target's MIME type copied
when the shortcut is created (it does not follow later changes); a shortcut created without a name takes
the target's ("the title of the target is used as the title of the shortcut").

Refused, [unc] statuses and words: no ``targetId`` (400 required); a target the caller cannot see
(404 notFound, as any file); a shortcut as target (403 shortcutTargetInvalid "The specified file is not an
allowed shortcut target type.", the words Drive's clients report for targets it does not allow)."""

from __future__ import annotations

from typing import Any

from sandbox.gdrive.errors import DriveError
from sandbox.gdrive.store import GOOGLE_APPS, DriveFile

SHORTCUT = GOOGLE_APPS + "shortcut"
TARGET_MIME = "shortcutTargetMimeType"  # DriveFile.extra: the target's type then (DriveFile.resource shows it)


def shortcut_target(store: Any, meta: dict[str, Any], mime: str, who: str) -> DriveFile | None:
    """The target a new shortcut names (None: ``mime`` is not a shortcut's)."""
    if mime != SHORTCUT:
        return None
    target_id = str((meta.get("shortcutDetails") or {}).get("targetId") or "")
    if not target_id:
        raise DriveError(400, "required", "Required parameter: shortcutDetails.targetId",
                         location="shortcutDetails.targetId")
    target = store.files.get(target_id)
    if target is None or not store.can_read(target, who):
        raise DriveError(404, "notFound", f"File not found: {target_id}.")
    if target.mime_type == SHORTCUT:
        raise DriveError(403, "shortcutTargetInvalid", "The specified file is not an allowed shortcut target type.")
    return target

