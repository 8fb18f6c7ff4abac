"""Create and edit metadata, assignable users.

- `GET /issue/createmeta/{p}/issuetypes[/{typeId}]` (paged) and the older `GET /issue/createmeta`
  (`projectKeys`, `expand=projects.issuetypes.fields`), `GET /issue/{key}/editmeta` (also what
  `expand=editmeta` puts in an issue bean).
- `GET /user/assignable/search` (`project` or `issueKey`, `query`) and `/user/assignable/multiProjectSearch`
  (`projectKeys`, comma-separated; the users holding Assignable User in one of them, see `assignable`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.core.http import Response, json_response
from sandbox.jira import catalog as C
from sandbox.jira import custom_values, field_config
from sandbox.jira.assignable import assignable as may_be_assigned
from sandbox.jira.call import Call
from sandbox.jira.errors import fail
from sandbox.jira.routes_field_admin import OPTION_KINDS, created_fields, field_contexts
from sandbox.jira.routes_field_contexts import applying
from sandbox.jira.routes_versions import component_bean, find_project, project_things, version_bean

if TYPE_CHECKING:
    from sandbox.jira.sandbox import JiraSandbox


def register(sb: JiraSandbox) -> None:
    """Register before `routes_issues`: its `GET /issue/{key}` would otherwise match `/issue/createmeta`."""
    from sandbox.jira.routes_issues import issue_of

    key = r"/issue/(?P<issue>[A-Za-z0-9_-]+)"

    def field_meta(c: Call, project: str, type_id: str) -> list[dict[str, Any]]:
        r = c.r
        allowed: dict[str, list[Any]] = {
            "issuetype": [r.issuetype(type_id)], "project": [r.project_ref(project)],
            "priority": [r.priority(p) for p in C.PRIORITIES],
            "components": [component_bean(c, x) for x in project_things(sb, "components", project)],
            "fixVersions": [version_bean(c, x) for x in project_things(sb, "versions", project)],
        }
        required = {"summary", "issuetype", "project"} | ({"parent"} if type_id == C.SUBTASK else set())
        required |= field_config.required(sb.store)  # the field configuration's (`field_config`)
        wanted = ["summary", "issuetype", "project", "description", "priority", "assignee", "reporter", "labels",
                  "duedate", "parent", "components", "fixVersions", "timetracking", C.STORY_POINTS, C.SPRINT]
        wanted += sorted(f for f in required if f not in wanted and f in field_config.orderable(sb))
        meta = {f[0]: f for f in C.system_fields() + C.custom_fields()}
        pid = sb.store.projects[project].id
        for made in created_fields(sb):  # API-made custom fields whose contexts cover this project and type
            num = made[3]["customId"]
            if applying(list(field_contexts(sb, num).values()), pid, type_id) is not None:
                meta[made[0]] = made
                wanted.append(made[0])
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
                                     "operations": ["set", "add", "remove"] if typ == "array" else
                                     ["set", "edit"] if fid == "timetracking" else ["set"]}
            if fid in allowed:
                entry["allowedValues"] = allowed[fid]
            if fid in ("assignee", "reporter"):
                entry["autoCompleteUrl"] = f"{r.api}/user/search?query="
            if fid == "priority":
                entry["defaultValue"] = r.priority("3")
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
        """GET /issue/{key}/editmeta's body, also what `expand=editmeta` puts in an issue bean."""
        fields = field_meta(c, issue.project, issue.type_id)
        out = {}
        for f in fields:
            if f["key"] in ("project", "reporter"):
                continue
            out[f["key"]] = {k: v for k, v in f.items() if k not in ("fieldId", "hasDefaultValue", "defaultValue")}
            out[f["key"]]["required"] = f["key"] == "summary" or f["key"] in field_config.required(sb.store)
        out["comment"] = {"required": False, "schema": {"type": "comments-page", "system": "comment"},
                          "name": "Comment", "key": "comment", "operations": ["add", "edit", "remove"]}
        # the default edit screen also holds Attachment and Linked Issues [unc: their Cloud operations]
        out["attachment"] = {"required": False, "schema": {"type": "array", "items": "attachment",
                                                           "system": "attachment"},
                             "name": "Attachment", "key": "attachment", "operations": ["set", "copy"]}
        out["issuelinks"] = {"required": False, "schema": {"type": "array", "items": "issuelinks",
                                                           "system": "issuelinks"},
                             "name": "Linked Issues", "key": "issuelinks",
                             "autoCompleteUrl": f"{c.r.api}/issue/picker?currentProjectId=&showSubTaskParent=true"
                                                f"&showSubTasks=true&currentIssueKey={issue.key}&query=",
                             "operations": ["add", "copy"]}
        return {"fields": out}

    sb.edit_meta = edit_meta  # type: ignore[attr-defined]  # for `expand=editmeta` in routes_issues

    # --- assignable users ---------------------------------------------------------------------
    def assignable(c: Call) -> Response:
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
