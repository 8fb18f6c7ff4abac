"""Components and versions of a project.

- GET `/project/{p}/components|versions` (arrays), `/project/{p}/component|version` (paged),
  POST `/component` / `/version` (201; 400 on an empty or duplicate name, an unknown lead),
  GET/PUT/DELETE `/component/{id}` / `/version/{id}` (DELETE 204).
- A component's `assigneeType` (PROJECT_DEFAULT, COMPONENT_LEAD, PROJECT_LEAD, UNASSIGNED; else 400) names who
  issues created with it go to: `realAssigneeType`/`realAssignee` say who really does (the project default when
  the nominal user is missing or inactive), and `default_assignee` applies it to a new issue created without an
  assignee (the first component, by name, not on PROJECT_DEFAULT decides; else the project's default
  assignee). [unc: which of several components wins]
- GET `/project/{key}/version` filters and orders as `version_views` says.
- Version beans carry `overdue` (release date before the site user's today, released or not; false without one)
  and `userStartDate` / `userReleaseDate` (d/MMM/yyyy, as the spec's examples); `expand=issuesstatus` adds
  `issuesStatusForFixVersion` (toDo / inProgress / done / unmapped counts of the issues fixed in it).
"""

from __future__ import annotations

from datetime import UTC, date
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sandbox.core.http import Response, json_response
from sandbox.jira import catalog as C
from sandbox.jira.admin_guard import require_project_admin
from sandbox.jira.call import Call, paged
from sandbox.jira.component_views import arrange_components, issue_counts
from sandbox.jira.errors import fail
from sandbox.jira.ids import is_id
from sandbox.jira.timefmt import from_ms
from sandbox.jira.version_views import arrange_versions

if TYPE_CHECKING:
    from sandbox.jira.render import Renderer
    from sandbox.jira.sandbox import JiraSandbox


def _state(sb: JiraSandbox) -> dict[str, Any]:
    """This store's components and versions (replaced on reset)."""
    return sb.store.work


def find_project(sb: JiraSandbox, ref: str) -> str:
    """A project key from a key (any case) or id; 404 as Jira words it."""
    for p in sb.store.projects.values():
        if str(ref).upper() == p.key or str(ref) == p.id:
            return p.key
    raise fail(404, f"No project could be found with key '{ref}'.")


def project_things(sb: JiraSandbox, kind: str, project: str) -> list[dict[str, Any]]:
    """`kind` ("components" or "versions") of one project, in creation (or moved) order."""
    return [x for x in _state(sb)[kind].values() if x["project"] == project]


def component_bean(c: Call, comp: dict[str, Any]) -> dict[str, Any]:
    return component_json(c.r, comp)


def version_operations(c: Call, v: dict[str, Any]) -> list[dict[str, Any]]:
    """The operations a version offers: edit, release or unrelease, archive or unarchive, delete [unc]."""
    release = ("unrelease", "Unrelease") if v.get("released") else ("release", "Release")
    archive = ("unarchive", "Unarchive") if v.get("archived") else ("archive", "Archive")
    page = f"{c.base}/projects/{v['project']}/versions/{v['id']}" if v.get("project") else f"{c.base}/versions"
    return [{"id": ident, "styleClass": f"project-config-operations-{ident}", "label": label,
             "href": f"{page}#{ident}", "weight": 10 * (n + 1)}
            for n, (ident, label) in enumerate((("edit", "Edit"), release, archive, ("delete", "Delete")))]


def version_bean(c: Call, v: dict[str, Any]) -> dict[str, Any]:
    """A version; `expand=issuesstatus` adds its fix-version issue counts by status category, `operations` the
    links a user may follow (SimpleLink beans [unc: Jira's exact ids and labels]), `approvers` its approvers
    (none are ever set here)."""
    out = version_json(c.r, v)
    wanted = {e.strip() for x in c.qlist("expand") for e in x.split(",")}
    if "operations" in wanted:
        out["operations"] = version_operations(c, v)
    if "approvers" in wanted:
        out["approvers"] = []
    if "issuesstatus" in wanted:
        counts = {"unmapped": 0, "toDo": 0, "inProgress": 0, "done": 0}
        bucket = {"new": "toDo", "indeterminate": "inProgress", "done": "done"}
        for issue in list(c.r.store.issues.values()):
            if v["id"] in issue.fix_versions:
                counts[bucket.get(C.STATUSES[issue.status_id][1], "unmapped")] += 1
        out["issuesStatusForFixVersion"] = counts
    return out


ASSIGNEE_TYPES = ("PROJECT_DEFAULT", "COMPONENT_LEAD", "PROJECT_LEAD", "UNASSIGNED")


def _project_default(store: Any, project: str) -> str | None:
    """The project's default assignee: its lead when the project says PROJECT_LEAD (`routes_project_admin`)."""
    kind = store.work.get("project_meta", {}).get(project, {}).get("assigneeType", "UNASSIGNED")
    return store.projects[project].lead if kind == "PROJECT_LEAD" else None


def real_assignee(store: Any, comp: dict[str, Any]) -> tuple[str, str | None, str | None]:
    """(realAssigneeType, the nominal user, the user really assigned) of a component."""
    kind = comp.get("assigneeType") or "PROJECT_DEFAULT"
    nominal = {"COMPONENT_LEAD": comp.get("lead"),
               "PROJECT_LEAD": store.projects[comp["project"]].lead}.get(kind)
    user = store.users.get(nominal) if nominal else None
    if kind == "UNASSIGNED" or (user is not None and user.active):
        return kind, nominal, nominal
    return "PROJECT_DEFAULT", nominal, _project_default(store, comp["project"])


def default_assignee(store: Any, project: str, component_ids: Any) -> str | None:
    """Who a new issue with these components and no assignee goes to."""
    comps = sorted((c for c in (store.work["components"].get(i) for i in component_ids or ()) if c),
                   key=lambda c: c["name"].lower())
    for comp in comps:
        real, _nominal, user = real_assignee(store, comp)
        if real != "PROJECT_DEFAULT":
            return user
    return _project_default(store, project)


def component_json(r: Renderer, comp: dict[str, Any]) -> dict[str, Any]:
    project = r.store.projects[comp["project"]]
    kind = comp.get("assigneeType") or "PROJECT_DEFAULT"
    real, nominal, user = real_assignee(r.store, comp)
    out = {"self": f"{r.api}/component/{comp['id']}", "id": str(comp["id"]), "name": comp["name"],
           "description": comp.get("description") or "", "assigneeType": kind, "realAssigneeType": real,
           "isAssigneeTypeValid": real == kind != "PROJECT_DEFAULT", "project": project.key,
           "projectId": int(project.id)}
    if comp.get("lead"):
        out["lead"] = r.user(comp["lead"])
    if nominal:
        out["assignee"] = r.user(nominal)
    if user:
        out["realAssignee"] = r.user(user)
    return out


def _assignee_type(body: dict[str, Any]) -> None:
    if "assigneeType" in body and body["assigneeType"] not in ASSIGNEE_TYPES:
        raise fail(400, None, {"assigneeType": f"The assignee type must be one of {', '.join(ASSIGNEE_TYPES)}."})


def version_json(r: Renderer, v: dict[str, Any]) -> dict[str, Any]:
    project = r.store.projects[v["project"]]
    out = {"self": f"{r.api}/version/{v['id']}", "id": str(v["id"]), "name": v["name"],
           "archived": bool(v.get("archived")), "released": bool(v.get("released")),
           "projectId": int(project.id)}
    for name in ("description", "startDate", "releaseDate"):
        if v.get(name):
            out[name] = v[name]
    # overdue: the release date before the site user's today, released or not, and false without a release date,
    # as the spec's examples show ("released":true with "overdue":true; "Next Version", no date, "overdue":false)
    # [unc: the examples are the only source; Jira Server's VersionManager called a released version not overdue]
    out["overdue"] = False
    if v.get("releaseDate"):
        zone = ZoneInfo(r.store.me.time_zone) if r.store.me.time_zone else UTC  # the site user's today
        today = from_ms(r.store.now_ms()).astimezone(zone).date()
        out["overdue"] = str(v["releaseDate"])[:10] < today.isoformat()
    for name, user in (("startDate", "userStartDate"), ("releaseDate", "userReleaseDate")):
        if v.get(name):  # d/MMM/yyyy, as the spec's examples ("6/Jul/2010") [unc: the site's date-picker format]
            try:
                day = date.fromisoformat(str(v[name])[:10])
            except ValueError:
                continue
            out[user] = f"{day.day}/{day.strftime('%b')}/{day.year:04d}"
    return out


def register(sb: JiraSandbox) -> None:
    def list_components(c: Call) -> Response:
        project = find_project(sb, c.p["project"])
        return json_response([component_bean(c, x) for x in project_things(sb, "components", project)])

    def list_versions(c: Call) -> Response:
        project = find_project(sb, c.p["project"])
        return json_response([version_bean(c, x) for x in project_things(sb, "versions", project)])

    def paged_things(kind: str, bean: Any) -> Any:
        def handler(c: Call) -> Response:
            project = find_project(sb, c.p["project"])
            things = project_things(sb, kind, project)
            if kind == "versions":
                items = [bean(c, x) for x in arrange_versions(c, list(things))]
            else:  # ComponentWithIssueCount beans, filtered and ordered as the spec's parameters say
                counts = issue_counts(c, things)
                items = [{**bean(c, x), "issueCount": counts[x["id"]]}
                         for x in arrange_components(c, things, counts)]
            start, limit = c.qint("startAt", 0), c.qint("maxResults", 50, 1, 100)
            return json_response(paged(items, start, limit))
        return handler

    def refuse(c: Call, kind: str, project: str, version_status: int) -> None:
        """Versions and components need Administer Projects for their project or Administer Jira: the spec answers
        a component's 403 and a version's 404 (create) or 401 (update, delete) [unc: texts, the version PUT's 401]."""
        if kind == "components":
            require_project_admin(sb, c, project, 403,
                                  "You do not have permission to manage the project containing the component.")
        else:
            require_project_admin(sb, c, project, version_status)

    def create_thing(kind: str, bean: Any) -> Any:
        def handler(c: Call) -> Response:
            body = c.obj()
            ref = body.get("project") or body.get("projectId")
            if ref is None:
                raise fail(400, None, {"project": "Project must be specified."})
            project = find_project(sb, str(ref))
            refuse(c, kind, project, 404)  # the spec: a version's 404, a component's 403
            name = str(body.get("name") or "").strip()
            if not name:
                raise fail(400, None, {"name": f"The {kind[:-1]} name must not be empty."})
            if any(x["name"].lower() == name.lower() for x in project_things(sb, kind, project)):
                what = "A component" if kind == "components" else "A version"
                raise fail(400, None, {"name": f"{what} with this name already exists in this project."})
            lead = body.get("leadAccountId")
            if lead is not None and lead not in sb.store.users:
                raise fail(400, None, {"leadAccountId": "The user does not exist."})
            if kind == "components":
                _assignee_type(body)
            item = {k: v for k, v in body.items() if k in ("description", "startDate", "releaseDate", "archived",
                                                           "released", "assigneeType")}
            with sb.store.lock:
                item.update(id=sb.store.new_id(), project=project, name=name, lead=lead)
                _state(sb)[kind][item["id"]] = item
            return json_response(bean(c, item), 201)
        return handler

    def one_thing(kind: str, bean: Any, label: str) -> Any:
        def find(c: Call) -> dict[str, Any]:
            ident = c.p["thing"]
            item = _state(sb)[kind].get(int(ident)) if is_id(ident) else None
            if item is None:
                raise fail(404, f"The {label} with id {ident} does not exist.")
            return item

        def get(c: Call) -> Response:
            return json_response(bean(c, find(c)))

        def put(c: Call) -> Response:
            item = find(c)
            refuse(c, kind, item["project"], 401)
            body = c.obj()
            if kind == "components":
                _assignee_type(body)
            if body.get("name") is not None:  # a rename follows create's rules
                name = str(body["name"]).strip()
                if not name:
                    raise fail(400, None, {"name": f"The {kind[:-1]} name must not be empty."})
                if any(x["name"].lower() == name.lower() and x is not item
                       for x in project_things(sb, kind, item["project"])):
                    what = "A component" if kind == "components" else "A version"
                    raise fail(400, None, {"name": f"{what} with this name already exists in this project."})
                body = {**body, "name": name}
            with sb.store.lock:
                for name in ("name", "description", "startDate", "releaseDate", "archived", "released",
                             "assigneeType"):
                    if body.get(name) is not None:  # null leaves the value as it is, as Jira's update does [unc]
                        item[name] = body[name]
                if "leadAccountId" in body:
                    item["lead"] = body["leadAccountId"]
                # componentsLeadByUser() and releasedVersions()-like results are cached on it
                sb.store.relations_version += 1
            return json_response(bean(c, item))

        def delete(c: Call) -> Response:
            item = find(c)
            refuse(c, kind, item["project"], 401)
            with sb.store.lock:
                _state(sb)[kind].pop(item["id"], None)
                sb.store.relations_version += 1  # search results naming it are cached on it
            return Response(status=204)
        return get, put, delete

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
