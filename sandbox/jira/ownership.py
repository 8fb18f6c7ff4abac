"""Who may change what someone else made: the Own/All project permissions, board and sprint management,
dashboard sharing.

- Comments, worklogs, attachments (and comment properties): the "All" permission (Edit/Delete All Comments,
  Edit/Delete All Worklogs, Delete All Attachments: the Administrators role by default) changes anyone's; the
  "Own" one (the Member role) only the caller's own. `may_change` answers that; each route raises the status
  its spec entry gives (comments and worklogs 400, attachments and comment properties 403).
- Boards: "The user has to be a Jira Administrator or a board administrator" (DELETE /board). Board
  administrators here: the creator of a board located under a user, and the administrators of the board's
  project (Administer Projects) [unc: Cloud keeps an explicit board-admin list; its default is the creator].
  A board located in a project may be created by that project's administrators only [unc].
- Sprints: Jira Software's "Manage sprints" project permission (MANAGE_SPRINTS_PERMISSION, the Administrators
  role here [unc: Cloud's default scheme]) on the sprint's board's project; a sprint whose board is gone needs
  it on any project [unc].
- Dashboards: readable by the owner and those it is shared with (`sharePermissions`: global, loggedin,
  group, project, project role, user); the System dashboard by everyone. Writable by the owner and those its
  `editPermissions` name (the same kinds) [unc: edit shares in the sandbox follow the same rules as views].
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.jira.ids import is_id
from sandbox.jira.routes_groups import group_members
from sandbox.jira.routes_roles import in_role

if TYPE_CHECKING:
    from sandbox.jira.model import Board
    from sandbox.jira.sandbox import JiraSandbox


def _holds(sb: JiraSandbox, user: str, key: str, projects: list[str]) -> bool:
    return bool(sb.holds(user, key, projects))  # type: ignore[attr-defined]  # routes_roles


def may_change(sb: JiraSandbox, user: str, project: str, author: str | None, own: str, every: str) -> bool:
    """`every` (e.g. EDIT_ALL_COMMENTS) in `project`, or `own` (EDIT_OWN_COMMENTS) for what `user` wrote."""
    return _holds(sb, user, every, [project]) or (author == user and _holds(sb, user, own, [project]))


def board_admin(sb: JiraSandbox, user: str, board: Board) -> bool:
    """Jira admin, the creator of a user-located board, or an administrator of the board's project."""
    if _holds(sb, user, "ADMINISTER", []) or (board.owner is not None and board.owner == user):
        return True
    return board.project in sb.store.projects and _holds(sb, user, "ADMINISTER_PROJECTS", [board.project])


def manages_sprints(sb: JiraSandbox, user: str, board_id: int) -> bool:
    """Manage sprints on the project of the board `board_id` (any project when that board is gone)."""
    board = sb.store.boards.get(board_id)
    projects = [board.project] if board is not None and board.project in sb.store.projects else list(
        sb.store.projects)
    return _holds(sb, user, "MANAGE_SPRINTS_PERMISSION", projects)


BOARD_ADMIN_REQUIRED = "The user has to be a Jira Administrator or a board administrator to do this."  # [unc]
NO_SPRINT_PERMISSION = "You do not have permission to manage the sprints of this board."  # [unc] wording


def shared_with(sb: JiraSandbox, user: str, shares: Any) -> bool:
    """Whether any of the share permissions reaches `user`."""
    for share in shares if isinstance(shares, list) else []:
        if not isinstance(share, dict):
            continue
        kind = share.get("type")
        project = share.get("project") if isinstance(share.get("project"), dict) else {}
        key = next((p.key for p in sb.store.projects.values()
                    if str(project.get("id") or "") == p.id or str(project.get("key") or "").upper() == p.key), None)
        group = share.get("group") if isinstance(share.get("group"), dict) else {}
        role = share.get("role") if isinstance(share.get("role"), dict) else {}
        named = share.get("user") if isinstance(share.get("user"), dict) else {}
        if kind in ("global", "loggedin", "authenticated"):
            return True
        if kind == "group" and user in group_members(sb, str(group.get("name") or share.get("groupname") or "")):
            return True
        if kind == "project" and key and _holds(sb, user, "BROWSE_PROJECTS", [key]):
            return True
        if kind == "projectRole" and key and is_id(role.get("id") or "") and in_role(  # not isdecimal() [round 27]
                sb, user, key, int(role["id"])):
            return True
        if kind == "user" and named.get("accountId") == user:
            return True
    return False


def sees_dashboard(sb: JiraSandbox, user: str, d: dict[str, Any]) -> bool:
    return bool(d["system"]) or d["owner"] == user or shared_with(sb, user, d.get("share"))


def edits_dashboard(sb: JiraSandbox, user: str, d: dict[str, Any]) -> bool:
    if d["system"]:  # nobody changes the System dashboard here [unc: Cloud lets Jira admins configure it]
        return False
    return d["owner"] == user or shared_with(sb, user, d.get("edit"))
