"""The caller's identity beyond the user bean: `expand=groups,applicationRoles` on /myself and /user, and how
failed Basic logins look.

- `full_user(sb, c, account)`: the full user bean. `groups.size` and `applicationRoles.size` are always the
  real counts; their `items` are filled only when `expand` names them (`{"name","groupId","self"}` per group,
  `{"key","name"}` per application role), as Jira does.
- Failed Basic credentials: Jira Cloud treats the request as anonymous and says why in
  `X-Seraph-LoginReason: AUTHENTICATED_FAILED`; routes that need a user answer 401 (with that header), routes
  anonymous callers may use (serverInfo, jql/parse) answer normally with the header added.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.jira.routes_groups import group_id, groups_of

if TYPE_CHECKING:
    from sandbox.jira.call import Call
    from sandbox.jira.sandbox import JiraSandbox

LOGIN_REASON = ("X-Seraph-LoginReason", "AUTHENTICATED_FAILED")
ROLES = [{"key": "jira-software", "name": "Jira Software"}]


def full_user(sb: JiraSandbox, c: Call, account: str) -> dict[str, Any] | None:
    bean = c.r.user(account, full=True)
    if bean is None:
        return None
    expand = {e.strip() for item in c.qlist("expand") for e in item.split(",")}
    mine = [g for g, members in list(groups_of(sb).items()) if account in members]
    bean["groups"] = {"size": len(mine), "items": [
        {"name": g, "groupId": group_id(g), "self": f"{c.r.api}/group?groupId={group_id(g)}"} for g in mine]
        if "groups" in expand else []}
    roles = ROLES if sb.store.users[account].account_type == "atlassian" else []
    bean["applicationRoles"] = {"size": len(roles), "items": [dict(r) for r in roles]
                                if "applicationRoles" in expand else []}
    return bean
