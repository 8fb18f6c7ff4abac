"""GET `/user/picker` (FoundUsers) and the classic workflow reads GET `/workflow/search` (PageBeanWorkflow) and
GET `/workflow` (a list), which the spec still lists, deprecated, and atlassian-python-api's
`get_workflows_paginated` / pycontribs' `JIRA.workflows()` call.

- `/user/picker?query=` (required: 400 without it [unc: wording]): active users the query finds (as
  `/user/search`: a prefix of the display name, one of its words or the e-mail), minus `exclude` /
  `excludeAccountIds`; `maxResults` (default 50). Each is a UserPickerUser `{"accountId","accountType",
  "displayName","html","avatarUrl"}` — `avatarUrl` only with `showAvatar=true`; `html` is the display name with
  the matched prefix in `<strong>` and, when the e-mail is visible, " - " and the e-mail, as the spec's example
  shows. `header` reads "Showing N of M matching users" [unc]; `total` is M.
- `/groupuserpicker?query=` (required, 400 without it): `{"users": <as /user/picker>, "groups": <as
  /groups/picker>}`, one `maxResults` for both (default 50); `excludeConnectAddons=true` leaves app accounts
  out [unc: the apps' accountType].
- `/workflow/search`: the site's one workflow (`routes_catalog_search`'s), `{"id": {"name","entityId"},
  "description","isDefault","created","updated"}`, with `transitions` (classic Transition beans: `from`, `to`,
  `type` "global"/"initial") when `expand` names `transitions` or `transitions.rules`, `statuses` when it names
  `statuses`; `workflowName` (repeatable, exact) and `queryString` (partial, any case) filter it.
- `/workflow`: `[{"name","description","lastModifiedDate","lastModifiedUser","lastModifiedUserAccountId",
  "steps","default"}]`, the spec's DeprecatedWorkflow (its example writes the date "01-01-2011" [unc: format]).
"""

from __future__ import annotations

import html
import json
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from sandbox.core.http import Response, json_response
from sandbox.jira import catalog as C
from sandbox.jira.call import Call
from sandbox.jira.errors import fail
from sandbox.jira.routes_catalog_search import WORKFLOW_ID, WORKFLOW_NAME, page

if TYPE_CHECKING:
    from sandbox.jira.model import User
    from sandbox.jira.sandbox import JiraSandbox

WORKFLOW_TIME = "2025-11-01T00:00:00.000+0000"
WORKFLOW_TEXT = "The workflow every project of this site uses."


def _strong(text: str, query: str) -> str:
    """`text` with each word that starts with `query` marked as Jira's picker does."""
    out = []
    for word in text.split(" "):
        if query and word.lower().startswith(query):
            out.append(f"<strong>{html.escape(word[:len(query)])}</strong>{html.escape(word[len(query):])}")
        else:
            out.append(html.escape(word))
    return " ".join(out)


def picker_user(c: Call, u: User, query: str, avatar: bool) -> dict[str, Any]:
    label = _strong(u.display_name, query)
    if u.email_visible:
        label += " - " + _strong(u.email, query)
    out = {"accountId": u.account_id, "accountType": u.account_type, "displayName": u.display_name, "html": label}
    if avatar:
        out["avatarUrl"] = c.r.user(u.account_id)["avatarUrls"]["16x16"]  # type: ignore[index]
    return out


def workflow_bean(c: Call, expand: set[str]) -> dict[str, Any]:
    out: dict[str, Any] = {"id": {"name": WORKFLOW_NAME, "entityId": WORKFLOW_ID}, "description": WORKFLOW_TEXT,
                           "isDefault": True, "created": WORKFLOW_TIME, "updated": WORKFLOW_TIME}
    if expand & {"transitions", "transitions.rules"}:
        out["transitions"] = [{"id": "1", "name": "Create", "description": "", "from": [], "to": C.TODO_STATUS,
                               "type": "initial"}] + [
            {"id": tid, "name": C.STATUSES[sid][0], "description": "", "from": [], "to": sid, "type": "global"}
            for tid, sid in C.TRANSITIONS.items()]
        if "transitions.rules" in expand:
            for t in out["transitions"]:
                t["rules"] = {"validators": [], "postFunctions": []}  # no conditions: no `conditionsTree`
    if expand & {"statuses", "statuses.properties"}:
        out["statuses"] = [{"id": sid, "name": C.STATUSES[sid][0], **(
            {"properties": {}} if "statuses.properties" in expand else {})} for sid in C.STATUSES]
    return out


def register(sb: JiraSandbox) -> None:
    def user_picker(c: Call) -> Response:
        query = (c.q("query") or "").strip().lower()
        if not query:
            raise fail(400, "The query parameter 'query' is required.")  # [unc: wording]
        skip = {x for key in ("exclude", "excludeAccountIds") for v in c.qlist(key) for x in v.split(",") if x}
        found = [u for u in list(sb.store.users.values())
                 if u.active and u.account_id not in skip and (u.found_by(query) or query == u.account_id)]
        limit = c.qint("maxResults", 50, 0, 1000)
        shown = found[:limit]
        return json_response({"users": [picker_user(c, u, query, bool(c.qbool("showAvatar"))) for u in shown],
                              "total": len(found), "header": f"Showing {len(shown)} of {len(found)} matching users"})

    def group_user_picker(c: Call) -> Response:
        if not (c.q("query") or "").strip():
            raise fail(400, "The query parameter 'query' is required.")  # spec 400 [unc: wording]
        users = json.loads(user_picker(c).body)
        if c.qbool("excludeConnectAddons"):
            apps = {u.account_id for u in sb.store.users.values() if u.account_type == "app"}
            users["users"] = [u for u in users["users"] if u["accountId"] not in apps]
        if c.q("maxResults") is None:  # the groups picker's own default is 20
            c = replace(c, req=replace(c.req, raw_query=f"{c.req.raw_query}&maxResults=50".lstrip("&")))
        groups = json.loads(sb.groups_picker(c).body)  # type: ignore[attr-defined]  # routes_groups
        return json_response({"users": users, "groups": groups})

    def workflow_search(c: Call) -> Response:
        expand = {e.strip() for v in c.qlist("expand") for e in v.split(",")}
        names = set(c.qlist("workflowName"))
        text = (c.q("queryString") or "").lower()
        active = c.q("isActive")
        keep = (not names or WORKFLOW_NAME in names) and text in WORKFLOW_NAME.lower() and active != "false"
        return json_response(page(c, [workflow_bean(c, expand)] if keep else [], "workflow/search"))

    def workflows(c: Call) -> Response:
        name = c.q("workflowName")
        if name and name != WORKFLOW_NAME:
            return json_response([])
        me = c.r.user(sb.store.me.account_id) or {}
        return json_response([{"name": WORKFLOW_NAME, "description": WORKFLOW_TEXT,
                               "lastModifiedDate": "01/Nov/25 12:00 AM", "lastModifiedUser": me.get("displayName"),
                               "lastModifiedUserAccountId": me.get("accountId"), "steps": len(C.STATUSES),
                               "default": True}])

    sb.route("GET", r"/user/picker", user_picker)
    sb.route("GET", r"/groupuserpicker", group_user_picker)
    sb.route("GET", r"/workflow/search", workflow_search)
    sb.route("GET", r"/workflow", workflows)
