"""The rest of a file's ``capabilities`` (``store.DriveFile.resource`` gives the common ones), so that a
client reading ``capabilities.canUntrash`` or ``canMoveItemWithinDrive`` finds a boolean, as Drive always
returns one; and the names ``fields`` accepts under ``capabilities`` (the discovery document's, the
deprecated Team Drive ones included)."""

from __future__ import annotations

from typing import Any

_TEXT = (
    "canAcceptOwnership canAccessViaGenAi canAddChildren canAddFolderFromAnotherDrive canAddMyDriveParent "
    "canChangeCopyRequiresWriterPermission canChangeItemDownloadRestriction canChangeSecurityUpdateEnabled "
    "canChangeViewersCanCopyContent canComment canCopy canDelete canDeleteChildren canDisableInheritedPermissions "
    "canDownload canEdit canEnableInheritedPermissions canListChildren canModifyContent canModifyContentRestriction "
    "canModifyEditorContentRestriction canModifyLabels canModifyOwnerContentRestriction canMoveChildrenOutOfDrive "
    "canMoveChildrenOutOfTeamDrive canMoveChildrenWithinDrive canMoveChildrenWithinTeamDrive canMoveItemIntoTeamDrive "
    "canMoveItemOutOfDrive canMoveItemOutOfTeamDrive canMoveItemWithinDrive canMoveItemWithinTeamDrive "
    "canMoveTeamDriveItem canReadDrive canReadLabels canReadRevisions canReadTeamDrive canRemoveChildren "
    "canRemoveContentRestriction canRemoveMyDriveParent canRename canShare canStartApproval canTrash "
    "canTrashChildren canUntrash")
NAMES = tuple(_TEXT.split())


def complete(caps: dict[str, Any], role: str | None, folder: bool, in_shared_drive: bool) -> None:
    """Fill in the capabilities ``caps`` lacks for a caller of ``role`` (owner / writer / commenter / reader)."""
    owner, write = role == "owner", role in ("owner", "writer")
    derived = {
        "canUntrash": caps.get("canTrash", owner), "canDeleteChildren": folder and owner,
        "canTrashChildren": folder and owner, "canMoveItemWithinDrive": write, "canMoveItemOutOfDrive": owner,
        "canMoveChildrenWithinDrive": folder and write, "canMoveChildrenOutOfDrive": folder and owner,
        "canAddMyDriveParent": False, "canRemoveMyDriveParent": owner and not in_shared_drive,
        "canReadDrive": in_shared_drive, "canReadLabels": True, "canModifyLabels": write,
        "canAcceptOwnership": False, "canChangeViewersCanCopyContent": write, "canModifyContentRestriction": write,
        "canModifyEditorContentRestriction": write, "canModifyOwnerContentRestriction": owner,
        "canRemoveContentRestriction": write, "canAddFolderFromAnotherDrive": folder and in_shared_drive and write,
        "canChangeItemDownloadRestriction": write, "canChangeSecurityUpdateEnabled": False,
        "canDisableInheritedPermissions": False, "canEnableInheritedPermissions": False,
        "canStartApproval": False, "canAccessViaGenAi": False, "canMoveItemIntoTeamDrive": owner}
    for name, value in derived.items():
        caps.setdefault(name, value)
