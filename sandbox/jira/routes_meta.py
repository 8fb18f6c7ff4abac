"""Create and edit metadata, assignable users.

- `GET /issue/createmeta/{p}/issuetypes[/{typeId}]` (paged) and the older `GET /issue/createmeta`
  (`projectKeys`, `expand=projects.issuetypes.fields`), `GET /issue/{key}/editmeta` (also what
  `expand=editmeta` puts in an issue bean). Both list exactly the fields a create or edit takes
  (`field_screens`: the Default Screen less what the field configuration hides).
- `GET /user/assignable/search` (`project` or `issueKey`, `query`) and `/user/assignable/multiProjectSearch`
  (`projectKeys`, comma-separated; the users holding Assignable User in one of them, see `assignable`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.core.http import Response, json_response
from sandbox.jira import catalog as C
from sandbox.jira import custom_values, field_config, field_screens
from sandbox.jira.assignable import assignable as may_be_assigned
from sandbox.jira.call import Call
from sandbox.jira.errors import fail
from sandbox.jira.routes_field_admin import OPTION_KINDS, created_fields
from sandbox.jira.routes_versions import component_bean, find_project, project_things, version_bean
from sandbox.jira.user_params import one_of_query_or_account, strict_identity

if TYPE_CHECKING:
    from sandbox.jira.sandbox import JiraSandbox

# operations createmeta/editmeta list where the schema type alone does not say [unc: attachment/issuelinks]
OPERATIONS = {"timetracking": ["set", "edit"], "attachment": ["set", "copy"], "issuelinks": ["add", "copy"]}


def register(sb: JiraSandbox) -> None:
    """Register before `routes_issues`: its `GET /issue/{key}` would otherwise match `/issue/createmeta`."""
    from sandbox.jira.routes_issues import issue_of

    key = r"/issue/(?P<issue>[A-Za-z0-9_-]+)"

    def field_meta(c: Call, project: str, type_id: str, ids: list[str] | None = None) -> list[dict[str, Any]]:
        """FieldMetadata of the create screen's fields (`field_screens.create_fields`), or of `ids`."""
        r = c.r
        versions = [version_bean(c, x) for x in project_things(sb, "versions", project)]
        allowed: dict[str, list[Any]] = {
            "issuetype": [r.issuetype(type_id)], "project": [r.project_ref(project)],
            "priority": [r.priority(p) for p in C.PRIORITIES],
            "components": [component_bean(c, x) for x in project_things(sb, "components", project)],
            "fixVersions": versions, "versions": versions,
        }
        required = {"summary", "issuetype", "project"} | ({"parent"} if type_id == C.SUBTASK else set())
        required |= field_config.required(sb.store)  # the field configuration's (`field_config`)
        off = field_screens.not_for(sb, c.user, project)  # reporter without Modify Reporter
        wanted = [f for f in field_screens.create_fields(sb, project, type_id) if f not in off] if ids is None else ids
        meta = {f[0]: f for f in C.system_fields() + C.custom_fields()}
        for made in created_fields(sb):  # API-made custom fields (on the screen where their contexts apply)
            if made[0] not in wanted:
                continue
            meta[made[0]] = made
            if made[3]["custom"].split(":")[-1] in OPTION_KINDS:
                field = custom_values.created(sb.store, made[0]) or {}
                allowed[made[0]] = [custom_values.render(r, made[0], o) for o in sorted(
                    custom_values.options_of(sb.store, field)) if not
                    custom_values.options_of(sb.store, field)[o]["disabled"]]
        out = []
        for fid in dict.fromkeys(wanted):
            if fid not in meta:
                continue
            _, name, typ, extra, _clauses = meta[fid]
            entry: dict[str, Any] = {"required": fid in required, "schema": {"type": typ, **extra}, "name": name,
                                     "key": fid, "fieldId": fid, "hasDefaultValue": fid in ("priority", "reporter"),
                                     "operations": OPERATIONS.get(fid) or (["set", "add", "remove"] if typ == "array"
                                                                           else ["set"])}
            if fid in allowed:
                entry["allowedValues"] = allowed[fid]
            if fid in ("assignee", "reporter"):
                entry["autoCompleteUrl"] = f"{r.api}/user/search?query="
            if fid == "priority":
                entry["defaultValue"] = r.priority("3")
            if fid == "issuelinks":  # [unc: Cloud's picker URL on createmeta]
                entry["autoCompleteUrl"] = (f"{r.api}/issue/picker?currentProjectId=&showSubTaskParent=true"
                                            "&showSubTasks=true&currentIssueKey=&query=")
            out.append(entry)
        return out

    def meta_type(c: Call, tid: str) -> dict[str, Any]:
        bean = c.r.issuetype(tid)
        return {k: bean[k] for k in ("self", "id", "description", "iconUrl", "name", "subtask", "avatarId",
                                     "hierarchyLevel")}

    def createmeta_types(c: Call) -> Response:
        find_project(sb, c.p["project"])
        types = [meta_type(c, t) for t in sb.store.issue_types]
        start, limit = c.qint("startAt", 0), c.qint("maxResults", 50, 1, 200)
        return json_response({"issueTypes": types[start:start + limit], "maxResults": limit, "startAt": start,
                              "total": len(types)})

    def createmeta_fields(c: Call) -> Response:
        project = find_project(sb, c.p["project"])
        tid = c.p["type"]
        if tid not in sb.store.issue_types:
            raise fail(404, "Issue type with id '" + tid + "' not found in project '" + project + "'.")
        fields = field_meta(c, project, tid)
        start, limit = c.qint("startAt", 0), c.qint("maxResults", 50, 1, 200)
        return json_response({"fields": fields[start:start + limit], "maxResults": limit, "startAt": start,
                              "total": len(fields)})

    def createmeta_legacy(c: Call) -> Response:
        keys = [k for item in c.qlist("projectKeys") for k in item.split(",") if k]
        ids = [k for item in c.qlist("projectIds") for k in item.split(",") if k]
        type_ids = {t for item in c.qlist("issuetypeIds") for t in item.split(",") if t}
        type_names = {t.lower() for item in c.qlist("issuetypeNames") for t in item.split(",") if t}
        projects = [p for p in sb.store.projects.values()
                    if (not keys and not ids) or p.key in {k.upper() for k in keys} or p.id in ids]
        with_fields = "projects.issuetypes.fields" in (c.q("expand") or "")
        out = []
        for p in projects:
            types = []
            for t, spec in list(sb.store.issue_types.items()):
                if (type_ids and t not in type_ids) or (type_names and spec[0].lower() not in type_names):
                    continue
                bean = {**meta_type(c, t), "expand": "fields"}
                if with_fields:
                    bean["fields"] = {f["key"]: {k: v for k, v in f.items() if k != "fieldId"}
                                      for f in field_meta(c, p.key, t)}
                types.append(bean)
            ref = {k: v for k, v in c.r.project_ref(p.key).items() if k in ("self", "id", "key", "name", "avatarUrls")}
            out.append({**ref, "issuetypes": types, "expand": "issuetypes"})
        return json_response({"expand": "projects", "projects": out})

    def editmeta(c: Call) -> Response:
        return json_response(edit_meta(c, issue_of(sb, c.p["issue"])))

    def edit_meta(c: Call, issue: Any) -> dict[str, Any]:
        """GET /issue/{key}/editmeta's body, also what `expand=editmeta` puts in an issue bean: exactly the fields
        an edit accepts (`field_screens.edit_fields`)."""
        off = field_screens.not_for(sb, c.user, issue.project)  # reporter without Modify Reporter
        ids = [f for f in field_screens.edit_fields(sb, issue) if f not in off]
        out = {}
        for f in field_meta(c, issue.project, issue.type_id, ids):
            out[f["key"]] = {k: v for k, v in f.items() if k not in ("fieldId", "hasDefaultValue", "defaultValue")}
            out[f["key"]]["required"] = f["key"] == "summary" or f["key"] in field_config.required(sb.store)
        if "issuelinks" in out:
            out["issuelinks"]["autoCompleteUrl"] = (
                f"{c.r.api}/issue/picker?currentProjectId=&showSubTaskParent=true&showSubTasks=true"
                f"&currentIssueKey={issue.key}&query=")
        if "comment" in ids:
            out["comment"] = {"required": False, "schema": {"type": "comments-page", "system": "comment"},
                              "name": "Comment", "key": "comment", "operations": ["add", "edit", "remove"]}
        if "worklog" in ids:  # `update.worklog` add operations [unc: Cloud lists it when the screen holds Log Work]
            out["worklog"] = {"required": False, "schema": {"type": "array", "items": "worklog", "system": "worklog"},
                              "name": "Log Work", "key": "worklog", "operations": ["add"]}
        return {"fields": {k: out[k] for k in ids if k in out}}

    sb.edit_meta = edit_meta  # type: ignore[attr-defined]  # for `expand=editmeta` in routes_issues

    # --- assignable users ---------------------------------------------------------------------
    def assignable(c: Call) -> Response:
        strict_identity(c)  # `username`: 400 in GDPR strict mode; `query` with `accountId`: 400 (user_params)
        one_of_query_or_account(c)
        project, issue_key = c.q("project"), c.q("issueKey") or c.q("issueId")
        if not project and not issue_key:
            raise fail(400, "At least one of 'project', 'issueKey' or 'issueId' must be provided.")
        projects = [find_project(sb, project)] if project else []
        if issue_key:
            projects = [issue_of(sb, issue_key).project]
        return assignable_users(c, projects)

    def multi_project(c: Call) -> Response:
        keys = [k.strip() for item in c.qlist("projectKeys") for k in item.split(",") if k.strip()]
        if not keys:
            raise fail(400, "The 'projectKeys' parameter is required.")  # [unc] wording
        return assignable_users(c, [find_project(sb, k) for k in keys])

    def assignable_users(c: Call, projects: list[str]) -> Response:
        """Users holding Assignable User in one of `projects` (`assignable`); filtered, then paged [unc: the
        spec pages the first 1,000 users, then filters]."""
        q = (c.q("query") or c.q("username") or "").lower()
        wanted = c.q("accountId")
        hits = [c.r.user(u.account_id) for u in list(sb.store.users.values())
                if any(may_be_assigned(sb.store, u.account_id, p) for p in projects)
                and (not q or q in u.display_name.lower() or q in u.email.lower())
                and (not wanted or u.account_id == wanted)]
        start, limit = c.qint("startAt", 0), c.qint("maxResults", 50, 1, 1000)
        return json_response(hits[start:start + limit])

    sb.route("GET", key + r"/editmeta", editmeta)
    sb.route("GET", r"/issue/createmeta", createmeta_legacy)
    sb.route("GET", r"/issue/createmeta/(?P<project>[^/]+)/issuetypes", createmeta_types)
    sb.route("GET", r"/issue/createmeta/(?P<project>[^/]+)/issuetypes/(?P<type>[^/]+)", createmeta_fields)
    sb.route("GET", r"/user/assignable/search", assignable)
    sb.route("GET", r"/user/assignable/multiProjectSearch", multi_project)
