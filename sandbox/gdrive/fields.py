"""Drive's partial responses (``fields=``): ``nextPageToken,files(id,name,owners(emailAddress))``,
``capabilities/canEdit``, ``*``. A name the resource does not have is 400 ``invalidParameter``
"Invalid field selection <name>" on ``fields``, as Drive answers; without ``fields`` a method gives
its default set (a file: ``kind,id,name,mimeType``); ``about.get``, comments and replies require
``fields`` (400 required).

Grain: one ``Schema`` per resource type: property name -> the schema of its value (``None``: any
sub-selection is accepted, e.g. ``capabilities`` or ``appProperties``)."""

from __future__ import annotations

import re
from typing import Any

from sandbox.gdrive.capabilities import NAMES as CAPABILITIES
from sandbox.gdrive.errors import DriveError

Schema = dict[str, Any]
ALL = "*"


def _names(text: str) -> Schema:
    return dict.fromkeys(text.split())


FILE: Schema = _names(
    "kind id name mimeType description starred trashed explicitlyTrashed parents properties appProperties "
    "spaces version webContentLink webViewLink iconLink hasThumbnail thumbnailLink thumbnailVersion "
    "viewedByMe viewedByMeTime createdTime modifiedTime modifiedByMeTime modifiedByMe sharedWithMeTime "
    "sharingUser owners driveId lastModifyingUser shared ownedByMe capabilities viewersCanCopyContent "
    "copyRequiresWriterPermission writersCanShare permissions permissionIds hasAugmentedPermissions "
    "folderColorRgb originalFilename fullFileExtension fileExtension md5Checksum sha1Checksum sha256Checksum "
    "size quotaBytesUsed headRevisionId contentHints imageMediaMetadata videoMediaMetadata isAppAuthorized "
    "exportLinks shortcutDetails contentRestrictions resourceKey linkShareMetadata labelInfo "
    "trashedTime trashingUser inheritedPermissionsDisabled downloadRestrictions teamDriveId clientEncryptionDetails")
USER: Schema = _names("kind displayName photoLink me permissionId emailAddress")
PERMISSION: Schema = _names(
    "kind id type emailAddress domain role view allowFileDiscovery displayName photoLink expirationTime "
    "teamDrivePermissionDetails permissionDetails deleted pendingOwner inheritedPermissionsDisabled")
CHANGE: Schema = {"kind": None, "removed": None, "file": FILE, "fileId": None, "time": None, "driveId": None,
                  "changeType": None, "drive": None, "teamDriveId": None, "teamDrive": None, "type": None}
REVISION: Schema = _names(
    "kind id mimeType modifiedTime keepForever published publishedLink publishAuto publishedOutsideDomain "
    "lastModifyingUser originalFilename md5Checksum size exportLinks")
REPLY: Schema = _names(
    "kind id createdTime modifiedTime action author deleted htmlContent content assigneeEmailAddress "
    "mentionedEmailAddresses")
COMMENT: Schema = {**_names(
    "kind id createdTime modifiedTime resolved anchor author deleted htmlContent content quotedFileContent "
    "assigneeEmailAddress mentionedEmailAddresses"), "replies": REPLY}
DRIVE: Schema = _names(
    "kind id name themeId colorRgb backgroundImageFile backgroundImageLink capabilities createdTime hidden "
    "restrictions orgUnitId")
RESOURCES: dict[str, Schema] = {
    "file": FILE,
    "fileList": {"kind": None, "nextPageToken": None, "incompleteSearch": None, "files": FILE},
    "permission": PERMISSION,
    "permissionList": {"kind": None, "nextPageToken": None, "permissions": PERMISSION},
    "changeList": {"kind": None, "nextPageToken": None, "newStartPageToken": None, "changes": CHANGE},
    "startPageToken": {"kind": None, "startPageToken": None},
    "revision": REVISION,
    "revisionList": {"kind": None, "nextPageToken": None, "revisions": REVISION},
    "comment": COMMENT,
    "commentList": {"kind": None, "nextPageToken": None, "comments": COMMENT},
    "reply": REPLY,
    "replyList": {"kind": None, "nextPageToken": None, "replies": REPLY},
    "drive": DRIVE,
    "generatedIds": {"kind": None, "space": None, "ids": None},
    "driveList": {"kind": None, "nextPageToken": None, "drives": DRIVE},
    "about": _names(
        "kind user storageQuota importFormats exportFormats maxImportSizes maxUploadSize appInstalled "
        "folderColorPalette driveThemes canCreateDrives canCreateTeamDrives teamDriveThemes"),
    "operation": {"name": None, "done": None, "metadata": None, "error": None, "response": None},  # files.download
}
FILE["capabilities"] = dict.fromkeys(CAPABILITIES)
# a user's sub-selection (``owners(emailAddress)``) is checked as Drive checks it: 400 on a name a User lacks
FILE.update(owners=USER, lastModifyingUser=USER, sharingUser=USER, trashingUser=USER)
REVISION["lastModifyingUser"] = REPLY["author"] = COMMENT["author"] = RESOURCES["about"]["user"] = USER
CHANGE["drive"] = CHANGE["teamDrive"] = DRIVE  # drive(nosuch) is 400 as file(nosuch) is (round 34)
BASIC_FILE = "kind,id,name,mimeType"
DEFAULTS = {"file": BASIC_FILE, "fileList": f"kind,nextPageToken,incompleteSearch,files({BASIC_FILE})",
            "permission": "kind,id,type,role",
            "permissionList": "kind,nextPageToken,permissions(kind,id,type,role)",
            # a shared drive's change names its drive by default (round 34: it carried no id, so a removal
            # could not be told apart from another drive's) [unc: Drive's default set for a drive change]
            "changeList": f"kind,nextPageToken,newStartPageToken,changes(kind,removed,fileId,time,changeType,"
                          f"file({BASIC_FILE}),driveId,drive(kind,id,name))",
            "startPageToken": "kind,startPageToken",
            "revision": "kind,id,mimeType,modifiedTime",
            "revisionList": "kind,nextPageToken,revisions(kind,id,mimeType,modifiedTime)",
            "drive": "kind,id,name", "driveList": "kind,nextPageToken,drives(kind,id,name)",
            "generatedIds": "kind,space,ids", "operation": "name,done,metadata,error,response"}
# no default set: Drive answers 400 required without ``fields`` (comments and replies, as the Manage comments
# guide says for every method but delete; about.get)
REQUIRED_FOR = {"about": "method"}
TOKEN = re.compile(r"\s*([A-Za-z_@][\w@.-]*|\*|[(),/])")


def _bad(text: str) -> DriveError:
    return DriveError(400, "invalidParameter", f"Invalid field selection {text}", location="fields")


def parse(text: str) -> dict[str, Any]:
    """``a,b(c,d/e),f/g`` -> ``{"a": True, "b": {"c": True, "d": {"e": True}}, "f": {"g": True}}``."""
    tokens, pos = [], 0
    while pos < len(text.rstrip()):
        m = TOKEN.match(text, pos)
        if m is None:
            raise _bad(text[pos:].strip())
        tokens.append(m.group(1))
        pos = m.end()
    tree, rest = _items(tokens, text)
    if rest:
        raise _bad(text)
    return tree


def _items(tokens: list[str], text: str) -> tuple[dict[str, Any], list[str]]:
    tree: dict[str, Any] = {}
    while True:
        if not tokens or tokens[0] in "(),/":
            raise _bad(text)
        path = [tokens.pop(0)]
        while tokens and tokens[0] == "/":
            tokens.pop(0)
            if not tokens or tokens[0] in "(),/":
                raise _bad(text)
            path.append(tokens.pop(0))
        leaf: Any = True
        if tokens and tokens[0] == "(":
            leaf, tokens = _items(tokens[1:], text)
            if not tokens or tokens[0] != ")":
                raise _bad(text)
            tokens = tokens[1:]
        node = tree
        for name in path[:-1]:
            node = node.setdefault(name, {}) if node.get(name) is not True else {}
        node[path[-1]] = leaf if node.get(path[-1]) in (None, True) or leaf is True else {**node[path[-1]], **leaf}
        if not tokens or tokens[0] != ",":
            return tree, tokens
        tokens = tokens[1:]


def _check(tree: dict[str, Any], schema: Schema, prefix: str) -> None:
    for name, sub in tree.items():
        if name == ALL:
            continue
        if name not in schema:
            raise _bad(prefix + name)
        if isinstance(sub, dict) and isinstance(schema[name], dict):
            _check(sub, schema[name], f"{prefix}{name}/")


def _apply(value: Any, tree: Any) -> Any:
    if tree is True:
        return value
    if isinstance(value, list):
        return [_apply(v, tree) for v in value]
    if not isinstance(value, dict):
        return value
    if ALL in tree:
        return {k: _apply(v, tree.get(k, True)) for k, v in value.items()}
    return {k: _apply(value[k], sub) for k, sub in tree.items() if k in value}


def select(body: dict[str, Any], resource: str, fields: str | None) -> dict[str, Any]:
    """``body`` cut to ``fields`` (or the method's default set), after checking each name exists."""
    if fields is None or not fields.strip():
        if resource not in DEFAULTS:
            raise DriveError(400, "required", "The 'fields' parameter is required for this "
                             f"{REQUIRED_FOR.get(resource, 'operation')}.", location="fields")
        fields = DEFAULTS[resource]
    tree = parse(fields)
    _check(tree, RESOURCES[resource], "")
    return _apply(body, tree)
