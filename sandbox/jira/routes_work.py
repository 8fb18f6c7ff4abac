"""Worklogs, remote links, watchers, components/versions, create/edit metadata, assignable users.

- Worklogs: GET `/issue/{key}/worklog` (PageOfWorklogs), POST (201; `timeSpent` "1w 2d 3h 4m" with
  Jira's 5-day week and 8-hour day, or `timeSpentSeconds`; 400 `errors.timeLogged` without either),
  GET/PUT/DELETE `/issue/{key}/worklog/{id}` (DELETE 204). Rich-text comments: ADF on v3, string on v2.
- Remote links: GET list (optional `globalId` filter), POST (201 `{"id","self"}`, or 200 when a link with
  the same `globalId` is updated), GET/PUT/DELETE one, DELETE `?globalId=`.
- Watchers: GET `{"self","isWatching","watchCount","watchers"}`, POST a JSON string accountId (204),
  DELETE `?accountId=` (204).
- Components and versions: GET `/project/{p}/components|versions` (arrays), `/project/{p}/component|version`
  (paged), POST `/component` / `/version` (201), GET/PUT/DELETE `/component/{id}` / `/version/{id}`.
- `GET /issue/createmeta/{p}/issuetypes[/{typeId}]` (paged) and the older `GET /issue/createmeta`
  (`projectKeys`, `expand=projects.issuetypes.fields`), `GET /issue/{key}/editmeta`.
- `GET /user/assignable/search` (`project` or `issueKey`, `query`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.core.http import Response, json_response
from sandbox.jira import catalog as C
from sandbox.jira.adf import is_adf
from sandbox.jira.call import Call, paged
from sandbox.jira.errors import fail
from sandbox.jira.timefmt import parse_duration, parse_jira_ts

if TYPE_CHECKING:
    from sandbox.jira.model import Issue
    from sandbox.jira.sandbox import JiraSandbox

def _state(sb: JiraSandbox) -> dict[str, Any]:
    """This store's worklogs, remote links, watchers, components and versions (replaced on reset)."""
    return sb.store.work


def component_bean(c: Call, comp: dict[str, Any]) -> dict[str, Any]:
    project = c.r.store.projects[comp["project"]]
    out = {"self": f"{c.r.api}/component/{comp['id']}", "id": str(comp["id"]), "name": comp["name"],
           "description": comp.get("description") or "", "assigneeType": "PROJECT_DEFAULT",
           "realAssigneeType": "PROJECT_DEFAULT", "isAssigneeTypeValid": False, "project": project.key,
           "projectId": int(project.id)}
    if comp.get("lead"):
        out["lead"] = c.r.user(comp["lead"])
    return out

def version_bean(c: Call, v: dict[str, Any]) -> dict[str, Any]:
    project = c.r.store.projects[v["project"]]
    out = {"self": f"{c.r.api}/version/{v['id']}", "id": str(v["id"]), "name": v["name"],
           "archived": bool(v.get("archived")), "released": bool(v.get("released")),
           "projectId": int(project.id)}
    for name in ("description", "startDate", "releaseDate"):
        if v.get(name):
            out[name] = v[name]
    return out


def register(sb: JiraSandbox) -> None:
    """Register before `routes_issues`: its `GET /issue/{key}` would otherwise match `/issue/createmeta`."""
    from sandbox.jira.routes_issues import issue_of

    key = r"/issue/(?P<issue>[A-Za-z0-9_-]+)"

    def find_project(ref: str) -> str:
        for p in sb.store.projects.values():
            if str(ref).upper() == p.key or str(ref) == p.id:
                return p.key
        raise fail(404, f"No project could be found with key '{ref}'.")

    # --- worklogs -----------------------------------------------------------------------------
    def worklogs_of(issue: Issue) -> list[dict[str, Any]]:
        return _state(sb)["worklogs"].setdefault(issue.id, [])

    def read_worklog(c: Call, body: dict[str, Any], partial: bool) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if body.get("timeSpentSeconds") is not None:
            try:
                out["seconds"] = int(body["timeSpentSeconds"])
            except (TypeError, ValueError):
                raise fail(400, None, {"timeLogged": "Invalid time duration entered."}) from None
        elif body.get("timeSpent") not in (None, ""):
            seconds = parse_duration(str(body["timeSpent"]))
            if seconds is None:
                raise fail(400, None, {"timeLogged": "Invalid time duration entered."})
            out["seconds"] = seconds
        elif not partial:
            raise fail(400, None, {"timeLogged": "You must indicate the time spent working."})
        if "seconds" in out and out["seconds"] <= 0:
            raise fail(400, None, {"timeLogged": "Time Spent must be greater than 0."})
        if body.get("started"):
            try:
                out["started"] = parse_jira_ts(str(body["started"]))
            except ValueError:
                raise fail(400, None, {"started": "Invalid start date."}) from None
        if "comment" in body:
            comment = body["comment"]
            if comment is not None and (c.version == "3") != is_adf(comment):
                raise fail(400, None, {"comment": "Comment body is not valid!"})
            out["comment"] = comment
        if "visibility" in body:
            out["visibility"] = body["visibility"]
        return out

    def list_worklogs(c: Call) -> Response:
        issue = issue_of(sb, c.p["issue"])
        logs = list(worklogs_of(issue))
        after, before = c.q("startedAfter"), c.q("startedBefore")
        if after:
            logs = [w for w in logs if w["started"] >= int(after)]
        if before:
            logs = [w for w in logs if w["started"] < int(before)]
        start, limit = c.qint("startAt", 0), c.qint("maxResults", 5000, 0, 5000)
        return json_response({"startAt": start, "maxResults": limit, "total": len(logs),
                              "worklogs": [c.r.worklog(issue, w) for w in logs[start:start + limit]]})

    def add_worklog(c: Call) -> Response:
        issue = issue_of(sb, c.p["issue"])
        return json_response(c.r.worklog(issue, log_work(c, issue, c.obj())), 201)

    def log_work(c: Call, issue: Issue, body: dict[str, Any]) -> dict[str, Any]:
        """A new worklog on `issue` (also `update.worklog[{"add": ...}]` on edits and transitions)."""
        data = read_worklog(c, body, partial=False)
        now = sb.store.now_ms()
        w = {"id": sb.store.new_id(), "author": c.user, "update_author": c.user, "created": now, "updated": now,
             "started": now, "comment": None, **data}
        with sb.store.lock:
            worklogs_of(issue).append(w)
        sb.store.update(issue.id, {}, c.user, "issue_work_logged", comment=None)
        return w

    sb.log_work = log_work  # type: ignore[attr-defined]  # for `update.worklog` in routes_issues

    def find_worklog(c: Call) -> tuple[Issue, dict[str, Any]]:
        issue = issue_of(sb, c.p["issue"])
        for w in worklogs_of(issue):
            if str(w["id"]) == c.p["worklog"]:
                return issue, w
        raise fail(404, "Cannot find worklog with id: " + c.p["worklog"])

    def one_worklog(c: Call) -> Response:
        issue, w = find_worklog(c)
        return json_response(c.r.worklog(issue, w))

    def edit_worklog(c: Call) -> Response:
        issue, w = find_worklog(c)
        data = read_worklog(c, c.obj(), partial=True)
        with sb.store.lock:
            w.update(data, updated=sb.store.now_ms(), update_author=c.user)
        return json_response(c.r.worklog(issue, w))

    def delete_worklog(c: Call) -> Response:
        issue, w = find_worklog(c)
        with sb.store.lock:
            worklogs_of(issue).remove(w)
            sb.store.work.setdefault("worklogs_deleted", []).append({"id": w["id"], "time": sb.store.now_ms()})
        return Response(status=204)

    # --- remote links -------------------------------------------------------------------------
    def remote_of(issue: Issue) -> list[dict[str, Any]]:
        return _state(sb)["remote"].setdefault(issue.id, [])

    def remote_bean(c: Call, issue: Issue, link: dict[str, Any]) -> dict[str, Any]:
        out = {"id": link["id"], "self": f"{c.r.api}/issue/{issue.key}/remotelink/{link['id']}"}
        for name in ("globalId", "application", "relationship", "object"):
            if link.get(name) is not None:
                out[name] = link[name]
        return out

    def read_remote(body: dict[str, Any]) -> dict[str, Any]:
        obj = body.get("object")
        errors = {}
        if not isinstance(obj, dict) or not obj.get("url"):
            errors["url"] = "'url' is required."
        if not isinstance(obj, dict) or not obj.get("title"):
            errors["title"] = "'title' is required."
        if errors:
            raise fail(400, None, errors)
        return {k: body[k] for k in ("globalId", "application", "relationship", "object") if k in body}

    def list_remote(c: Call) -> Response:
        issue = issue_of(sb, c.p["issue"])
        links = remote_of(issue)
        gid = c.q("globalId")
        if gid is not None:
            hit = next((x for x in links if x.get("globalId") == gid), None)
            if hit is None:
                raise fail(404, "No remote link with the given globalId exists.")
            return json_response(remote_bean(c, issue, hit))
        return json_response([remote_bean(c, issue, x) for x in links])

    def add_remote(c: Call) -> Response:
        issue = issue_of(sb, c.p["issue"])
        data = read_remote(c.obj())
        with sb.store.lock:
            links = remote_of(issue)
            same = next((x for x in links if data.get("globalId") and x.get("globalId") == data["globalId"]), None)
            if same is not None:
                ident = same["id"]
                same.clear()
                same.update(data, id=ident)
                link, status = same, 200
            else:
                link, status = {"id": sb.store.new_id(), **data}, 201
                links.append(link)
        return json_response({"id": link["id"], "self": f"{c.r.api}/issue/{issue.key}/remotelink/{link['id']}"},
                             status)

    def find_remote(c: Call) -> tuple[Issue, dict[str, Any]]:
        issue = issue_of(sb, c.p["issue"])
        for x in remote_of(issue):
            if str(x["id"]) == c.p["link"]:
                return issue, x
        raise fail(404, "No remote link with id " + c.p["link"] + " exists on this issue.")

    def one_remote(c: Call) -> Response:
        issue, link = find_remote(c)
        return json_response(remote_bean(c, issue, link))

    def edit_remote(c: Call) -> Response:
        _, link = find_remote(c)
        data = read_remote(c.obj())
        with sb.store.lock:
            ident = link["id"]
            link.clear()
            link.update(data, id=ident)
        return Response(status=204)

    def delete_remote(c: Call) -> Response:
        issue, link = find_remote(c)
        with sb.store.lock:
            remote_of(issue).remove(link)
        return Response(status=204)

    def delete_remote_by_global(c: Call) -> Response:
        issue = issue_of(sb, c.p["issue"])
        gid = c.q("globalId")
        if not gid:
            raise fail(400, "The parameter 'globalId' is required.")
        with sb.store.lock:
            links = remote_of(issue)
            hit = next((x for x in links if x.get("globalId") == gid), None)
            if hit is None:
                raise fail(404, "No remote link with the given globalId exists.")
            links.remove(hit)
        return Response(status=204)

    # --- watchers -----------------------------------------------------------------------------
    def watchers_of(issue: Issue) -> list[str]:
        return _state(sb)["watchers"].setdefault(issue.id, [a for a in (issue.reporter,) if a])

    def get_watchers(c: Call) -> Response:
        issue = issue_of(sb, c.p["issue"])
        people = watchers_of(issue)
        return json_response({"self": f"{c.r.api}/issue/{issue.key}/watchers", "isWatching": c.user in people,
                              "watchCount": len(people), "watchers": [c.r.user(a) for a in people]})

    def add_watcher(c: Call) -> Response:
        issue = issue_of(sb, c.p["issue"])
        body = c.body()
        account = c.user if body in (None, "") else body
        if not isinstance(account, str) or account not in sb.store.users:
            raise fail(400, "The user \"" + str(account) + "\" does not have permission to view this issue. "
                       "This user will not be added to the watch list.")
        with sb.store.lock:
            people = watchers_of(issue)
            if account not in people:
                people.append(account)
        return Response(status=204)

    def remove_watcher(c: Call) -> Response:
        issue = issue_of(sb, c.p["issue"])
        account = c.q("accountId") or c.q("username")
        if not account:
            raise fail(400, "accountId must be provided.")
        with sb.store.lock:
            people = watchers_of(issue)
            if account in people:
                people.remove(account)
        return Response(status=204)

    # --- components and versions --------------------------------------------------------------
    def project_things(kind: str, project: str) -> list[dict[str, Any]]:
        return [x for x in _state(sb)[kind].values() if x["project"] == project]

    def list_components(c: Call) -> Response:
        project = find_project(c.p["project"])
        return json_response([component_bean(c, x) for x in project_things("components", project)])

    def list_versions(c: Call) -> Response:
        project = find_project(c.p["project"])
        return json_response([version_bean(c, x) for x in project_things("versions", project)])

    def paged_things(kind: str, bean: Any) -> Any:
        def handler(c: Call) -> Response:
            project = find_project(c.p["project"])
            items = [bean(c, x) for x in project_things(kind, project)]
            start, limit = c.qint("startAt", 0), c.qint("maxResults", 50, 1, 100)
            return json_response(paged(items, start, limit))
        return handler

    def create_thing(kind: str, bean: Any) -> Any:
        def handler(c: Call) -> Response:
            body = c.obj()
            ref = body.get("project") or body.get("projectId")
            if ref is None:
                raise fail(400, None, {"project": "Project must be specified."})
            project = find_project(str(ref))
            name = str(body.get("name") or "").strip()
            if not name:
                raise fail(400, None, {"name": f"The {kind[:-1]} name must not be empty."})
            if any(x["name"].lower() == name.lower() for x in project_things(kind, project)):
                what = "A component" if kind == "components" else "A version"
                raise fail(400, None, {"name": f"{what} with this name already exists in this project."})
            lead = body.get("leadAccountId")
            if lead is not None and lead not in sb.store.users:
                raise fail(400, None, {"leadAccountId": "The user does not exist."})
            item = {k: v for k, v in body.items() if k in ("description", "startDate", "releaseDate", "archived",
                                                           "released")}
            with sb.store.lock:
                item.update(id=sb.store.new_id(), project=project, name=name, lead=lead)
                _state(sb)[kind][item["id"]] = item
            return json_response(bean(c, item), 201)
        return handler

    def one_thing(kind: str, bean: Any, label: str) -> Any:
        def find(c: Call) -> dict[str, Any]:
            ident = c.p["thing"]
            item = _state(sb)[kind].get(int(ident)) if ident.isdigit() else None
            if item is None:
                raise fail(404, f"The {label} with id {ident} does not exist.")
            return item

        def get(c: Call) -> Response:
            return json_response(bean(c, find(c)))

        def put(c: Call) -> Response:
            item = find(c)
            body = c.obj()
            with sb.store.lock:
                for name in ("name", "description", "startDate", "releaseDate", "archived", "released"):
                    if name in body:
                        item[name] = body[name]
                if "leadAccountId" in body:
                    item["lead"] = body["leadAccountId"]
            return json_response(bean(c, item))

        def delete(c: Call) -> Response:
            item = find(c)
            with sb.store.lock:
                _state(sb)[kind].pop(item["id"], None)
            return Response(status=204)
        return get, put, delete

    # --- metadata -----------------------------------------------------------------------------
    def field_meta(c: Call, project: str, type_id: str) -> list[dict[str, Any]]:
        r = c.r
        allowed: dict[str, list[Any]] = {
            "issuetype": [r.issuetype(type_id)], "project": [r.project_ref(project)],
            "priority": [r.priority(p) for p in C.PRIORITIES],
            "components": [component_bean(c, x) for x in project_things("components", project)],
            "fixVersions": [version_bean(c, x) for x in project_things("versions", project)],
        }
        required = {"summary", "issuetype", "project"} | ({"parent"} if type_id == C.SUBTASK else set())
        wanted = ["summary", "issuetype", "project", "description", "priority", "assignee", "reporter", "labels",
                  "duedate", "parent", "components", "fixVersions", C.STORY_POINTS, C.SPRINT]
        meta = {f[0]: f for f in C.system_fields() + C.custom_fields()}
        out = []
        for fid in wanted:
            _, name, typ, extra, _clauses = meta[fid]
            entry: dict[str, Any] = {"required": fid in required, "schema": {"type": typ, **extra}, "name": name,
                                     "key": fid, "fieldId": fid, "hasDefaultValue": fid in ("priority", "reporter"),
                                     "operations": ["set", "add", "remove"] if typ == "array" else ["set"]}
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
        find_project(c.p["project"])
        types = [meta_type(c, t) for t in C.ISSUE_TYPES]
        start, limit = c.qint("startAt", 0), c.qint("maxResults", 50, 1, 200)
        return json_response({"issueTypes": types[start:start + limit], "maxResults": limit, "startAt": start,
                              "total": len(types)})

    def createmeta_fields(c: Call) -> Response:
        project = find_project(c.p["project"])
        tid = c.p["type"]
        if tid not in C.ISSUE_TYPES:
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
            for t in C.ISSUE_TYPES:
                if (type_ids and t not in type_ids) or (type_names and C.ISSUE_TYPES[t][0].lower() not in type_names):
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
            out[f["key"]]["required"] = f["key"] == "summary"
        out["comment"] = {"required": False, "schema": {"type": "comments-page", "system": "comment"},
                          "name": "Comment", "key": "comment", "operations": ["add", "edit", "remove"]}
        return {"fields": out}

    sb.edit_meta = edit_meta  # type: ignore[attr-defined]  # for `expand=editmeta` in routes_issues

    # --- assignable users ---------------------------------------------------------------------
    def assignable(c: Call) -> Response:
        project, issue_key = c.q("project"), c.q("issueKey") or c.q("issueId")
        if not project and not issue_key:
            raise fail(400, "At least one of 'project', 'issueKey' or 'issueId' must be provided.")
        if project:
            find_project(project)
        if issue_key:
            issue_of(sb, issue_key)
        q = (c.q("query") or c.q("username") or "").lower()
        wanted = c.q("accountId")
        hits = [c.r.user(u.account_id) for u in sb.store.users.values() if u.active and u.account_type == "atlassian"
                and (not q or q in u.display_name.lower() or q in u.email.lower())
                and (not wanted or u.account_id == wanted)]
        start, limit = c.qint("startAt", 0), c.qint("maxResults", 50, 1, 1000)
        return json_response(hits[start:start + limit])

    sb.route("GET", key + r"/worklog", list_worklogs)
    sb.route("POST", key + r"/worklog", add_worklog, "write")
    sb.route("GET", key + r"/worklog/(?P<worklog>\d+)", one_worklog)
    sb.route("PUT", key + r"/worklog/(?P<worklog>\d+)", edit_worklog, "write")
    sb.route("DELETE", key + r"/worklog/(?P<worklog>\d+)", delete_worklog, "write")
    sb.route("GET", key + r"/remotelink", list_remote)
    sb.route("POST", key + r"/remotelink", add_remote, "write")
    sb.route("DELETE", key + r"/remotelink", delete_remote_by_global, "write")
    sb.route("GET", key + r"/remotelink/(?P<link>\d+)", one_remote)
    sb.route("PUT", key + r"/remotelink/(?P<link>\d+)", edit_remote, "write")
    sb.route("DELETE", key + r"/remotelink/(?P<link>\d+)", delete_remote, "write")
    sb.route("GET", key + r"/watchers", get_watchers)
    sb.route("POST", key + r"/watchers", add_watcher, "write")
    sb.route("DELETE", key + r"/watchers", remove_watcher, "write")
    sb.route("GET", key + r"/editmeta", editmeta)
    project = r"/project/(?P<project>[^/]+)"
    sb.route("GET", project + r"/components", list_components)
    sb.route("GET", project + r"/component", paged_things("components", component_bean))
    sb.route("GET", project + r"/versions", list_versions)
    sb.route("GET", project + r"/version", paged_things("versions", version_bean))
    for kind, bean, path, label in (("components", component_bean, "component", "component"),
                                    ("versions", version_bean, "version", "version")):
        sb.route("POST", "/" + path, create_thing(kind, bean), "write")
        get, put, delete = one_thing(kind, bean, label)
        sb.route("GET", "/" + path + r"/(?P<thing>[^/]+)", get)
        sb.route("PUT", "/" + path + r"/(?P<thing>[^/]+)", put, "write")
        sb.route("DELETE", "/" + path + r"/(?P<thing>[^/]+)", delete, "write")
    sb.route("GET", r"/issue/createmeta", createmeta_legacy)
    sb.route("GET", r"/issue/createmeta/(?P<project>[^/]+)/issuetypes", createmeta_types)
    sb.route("GET", r"/issue/createmeta/(?P<project>[^/]+)/issuetypes/(?P<type>[^/]+)", createmeta_fields)
    sb.route("GET", r"/user/assignable/search", assignable)
