"""The caller's identity beyond the user bean: `expand=groups,applicationRoles` on /myself and /user, and how
failed Basic logins look.

- `full_user(sb, c, account)`: the full user bean. `groups.size` and `applicationRoles.size` are always the
  real counts; their `items` are filled only when `expand` names them (`{"name","groupId","self"}` per group,
  `{"key","name"}` per application role), as Jira does.
- Failed Basic credentials: Jira Cloud treats the request as anonymous and says why in
  `X-Seraph-LoginReason: AUTHENTICATED_FAILED`; routes that need a user answer 401 (with that header), routes
  anonymous callers may use (serverInfo, jql/parse) answer normally with the header added.
- XSRF: a POST/PUT/DELETE whose body is a form (`application/x-www-form-urlencoded`, `multipart/form-data`,
  `text/plain`) is what a browser could send cross-site, so Jira refuses it with 403 "XSRF check failed" unless
  `X-Atlassian-Token: no-check` comes with it; with the token, a form sent to a JSON resource is a 415
  (multipart goes through to attachment uploads and column settings, urlencoded too to a filter's columns,
  text/plain to preferences).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from sandbox.core.http import Response
from sandbox.jira.errors import body as error_body
from sandbox.jira.routes_groups import group_id, groups_of

if TYPE_CHECKING:
    from sandbox.core.http import Request
    from sandbox.jira.call import Call
    from sandbox.jira.sandbox import JiraSandbox

LOGIN_REASON = ("X-Seraph-LoginReason", "AUTHENTICATED_FAILED")
FORMS = {"application/x-www-form-urlencoded", "multipart/form-data", "text/plain"}
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


def xsrf_refusal(req: Request) -> Response | None:
    """Jira's answer to a form-encoded write (see the module notes), or None to go on."""
    kind = req.header("Content-Type").split(";")[0].strip().lower()
    if req.method not in ("POST", "PUT", "DELETE", "PATCH") or kind not in FORMS:
        return None
    if req.header("X-Atlassian-Token").lower() != "no-check":
        return Response(status=403, body=b"XSRF check failed", content_type="text/plain;charset=UTF-8")
    path = req.path.rstrip("/")
    if kind == "multipart/form-data" and path.endswith(("/attachments", "/user/columns", "/settings/columns")):
        return None
    if kind in FORMS - {"text/plain"} and re.search(r"/filter/[^/]+/columns$", path):
        return None  # the spec: "expressed as HTML form data", `curl -X PUT -d columns=summary ...`
    if kind == "text/plain" and path.endswith("/mypreferences"):
        return None
    return error_body(415, "Unsupported Media Type: the request body must be application/json.")
