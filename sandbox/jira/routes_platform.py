"""Platform metadata routes: serverInfo, myself, field, projects, issue types, statuses, users, link types."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.core.http import Response, json_response
from sandbox.jira import catalog as C
from sandbox.jira.call import Call, paged
from sandbox.jira.errors import fail
from sandbox.jira.identity import full_user
from sandbox.jira.project_views import arrange, insight
from sandbox.jira.routes_catalog_search import priority_details
from sandbox.jira.routes_field_admin import created_fields
from sandbox.jira.routes_roles import ROLES
from sandbox.jira.routes_versions import component_bean as _component
from sandbox.jira.routes_versions import version_bean as _version
from sandbox.jira.timefmt import jira_ts
from sandbox.jira.user_params import one_of_query_or_account, property_filter, strict_identity
from sandbox.jira.user_query import _prop_users

if TYPE_CHECKING:
    from sandbox.jira.sandbox import JiraSandbox


def register(sb: JiraSandbox) -> None:
    store = lambda: sb.store  # noqa: E731 - the store is replaced on reset

    def server_info(c: Call) -> Response:
        return json_response({"baseUrl": c.base, "displayUrl": c.base, "version": "1001.0.0-SNAPSHOT",
                              "versionNumbers": [1001, 0, 0], "deploymentType": "Cloud", "buildNumber": 100289,
                              "buildDate": "2026-11-01T00:00:00.000+0000", "serverTime": jira_ts(store().now_ms()),
                              "scmInfo": "5b2d4a1f0c9e8d7a6b5c4d3e2f1a0b9c8d7e6f5a", "serverTitle": "Jira",
                              "serverTimeZone": "Etc/UTC"})

    def fields(c: Call) -> Response:
        out = []
        for fid, name, typ, extra, clauses in C.system_fields() + C.custom_fields() + created_fields(sb):
            custom = fid.startswith("customfield_")
            schema = {"type": typ, **extra}
            entry: dict[str, Any] = {"id": fid, "key": fid, "name": name, "custom": custom, "orderable": True,
                                     "navigable": True, "searchable": True, "clauseNames": clauses, "schema": schema}
            out.append(entry)
        return json_response(out)

    def find_project(ref: str) -> str:
        for p in store().projects.values():
            if ref.upper() == p.key or ref == p.id:
                return p.key
        raise fail(404, f"No project could be found with key '{ref}'.")

    def projects(c: Call) -> Response:
        return json_response([project_bean(sb, c, k, c.q("expand") or "") for k in store().projects])

    def project_search(c: Call) -> Response:
        query = (c.q("query") or "").lower()
        keys = [k for k in store().projects if not query or query in k.lower()
                or query in store().projects[k].name.lower()]
        wanted = {k.upper() for item in c.qlist("keys") for k in item.split(",")}
        if wanted:
            keys = [k for k in keys if k in wanted]
        ids = {i.strip() for item in c.qlist("id") for i in item.split(",") if i.strip()}
        if ids:  # `id=10000&id=10001` (the spec's int64 array; an id no project has matches none)
            keys = [k for k in keys if str(store().projects[k].id) in ids]
        expand = c.q("expand") or ""
        beans = [project_bean(sb, c, k, expand) for k in arrange(sb, c, keys)]
        if "insight" in expand.split(","):
            for bean in beans:
                bean["insight"] = insight(sb, bean["key"])
        start, limit = c.qint("startAt", 0), c.qint("maxResults", 50, 1, 100)
        page = paged(beans, start, limit, f"{c.r.api}/project/search?startAt={start}&maxResults={limit}")
        if not page["isLast"]:
            page["nextPage"] = f"{c.r.api}/project/search?startAt={start + limit}&maxResults={limit}"
        return json_response(page)

    def project(c: Call) -> Response:
        return json_response(project_full(sb, c, find_project(c.p["project"])))

    def project_statuses(c: Call) -> Response:
        find_project(c.p["project"])
        statuses = [c.r.status(s) for s in C.STATUSES]
        types = sb.store.issue_types
        return json_response([{"self": f"{c.r.api}/issuetype/{t}", "id": t, "name": types[t][0],
                               "subtask": types[t][2], "statuses": statuses} for t in types])

    def users_list(c: Call) -> Response:
        users = [c.r.user(u) for u in store().users]
        start, limit = c.qint("startAt", 0), c.qint("maxResults", 50, 1, 1000)
        return json_response(users[start:start + limit])

    def user_search(c: Call) -> Response:
        strict_identity(c)  # `username` is 400 in GDPR strict mode (user_params)
        one_of_query_or_account(c)
        prop = property_filter(c)
        q, account = (c.q("query") or "").lower(), c.q("accountId")
        if not q and not account and prop is None:
            raise fail(400, "The username or property query parameter must be provided")  # [unc] see user_params
        owners = None if prop is None else _prop_users(sb, *prop)
        # "Returns a list of active users that match" (the OpenAPI text): deactivated accounts never come back.
        hits = [c.r.user(u.account_id) for u in store().users.values()
                if u.active and (not account or u.account_id == account)  # accountId: exact
                and (owners is None or u.account_id in owners)
                and (not q or u.found_by(q) or q == u.account_id)]  # hidden e-mails match too
        start, limit = c.qint("startAt", 0), c.qint("maxResults", 50, 1, 1000)
        return json_response(hits[start:start + limit])

    def user(c: Call) -> Response:
        strict_identity(c)  # `username` / `key`: 400 in GDPR strict mode (user_params)
        found = full_user(sb, c, c.q("accountId") or "")
        if found is None:  # [unc] without accountId: Cloud's answer is not documented beyond the spec's 404
            account = c.q("accountId")
            raise fail(404, "Specified user does not exist or you do not have required permissions"
                            + (f": {account}" if account else "."))
        return json_response(found)

    def link_types(c: Call) -> Response:
        return json_response({"issueLinkTypes": [
            {"id": k, "name": n, "inward": i, "outward": o, "self": f"{c.r.api}/issueLinkType/{k}"}
            for k, (n, i, o) in sb.store.link_types.items()]})

    def simple(items: Any) -> Any:
        return lambda c: json_response(items(c))

    sb.route("GET", r"/serverInfo", server_info, anonymous=True)
    sb.route("GET", r"/myself", lambda c: json_response(full_user(sb, c, c.user)))
    sb.route("GET", r"/field", fields)
    sb.route("GET", r"/project", projects)
    sb.route("GET", r"/project/search", project_search)
    sb.route("GET", r"/project/(?P<project>[^/]+)", project)
    sb.route("GET", r"/project/(?P<project>[^/]+)/statuses", project_statuses)
    sb.route("GET", r"/issuetype", simple(lambda c: [_type_details(c, t) for t in list(sb.store.issue_types)]))
    sb.route("GET", r"/status", simple(lambda c: [c.r.status(s) for s in C.STATUSES]))
    sb.route("GET", r"/statuscategory", simple(lambda c: [c.r.category(k) for k in C.CATEGORIES]))
    sb.route("GET", r"/priority", simple(lambda c: [priority_details(c, p) for p in C.PRIORITIES]))
    sb.route("GET", r"/resolution", simple(lambda c: [c.r.resolution(r) for r in C.RESOLUTIONS]))
    sb.route("GET", r"/users/search", users_list)
    sb.route("GET", r"/users", users_list)
    sb.route("GET", r"/user/search", user_search)
    sb.route("GET", r"/user", user)
    sb.route("GET", r"/issueLinkType", link_types)


def project_bean(sb: JiraSandbox, c: Call, key: str, expand: str = "") -> dict[str, Any]:
    p = sb.store.projects[key]
    out = {**c.r.project_ref(key), "description": p.description, "lead": c.r.user(p.lead),
           "assigneeType": "UNASSIGNED", "style": "next-gen" if p.simplified else "classic", "isPrivate": False,
           "expand": "description,lead,issueTypes,url,projectKeys,permissions,insight"}
    meta = sb.store.work.get("project_meta", {}).get(key, {})  # `routes_project_admin` (created/edited projects)
    out.update({k: v for k, v in meta.items() if k in ("assigneeType", "url")})
    wanted = set(expand.split(",")) | {e for v in c.qlist("expand") for e in v.split(",")}
    if "issueTypes" in wanted:
        out["issueTypes"] = [_type_details(c, t) for t in list(sb.store.issue_types)]
    if "projectKeys" in wanted:  # "All project keys associated with the project" (keys never change here)
        out["projectKeys"] = [key]
    return out


def project_full(sb: JiraSandbox, c: Call, key: str) -> dict[str, Any]:
    """One project: unlike the lists, Jira returns its issue types, components and versions unasked."""
    out = project_bean(sb, c, key, c.q("expand") or "")
    out["issueTypes"] = [_type_details(c, t) for t in list(sb.store.issue_types)]
    work = sb.store.work
    out["components"] = [_component(c, x) for x in work["components"].values() if x["project"] == key]
    out["versions"] = [_version(c, x) for x in work["versions"].values() if x["project"] == key]
    # and its project roles (name -> role URL) and the properties named in `properties` (always the object)
    pid = sb.store.projects[key].id
    out["roles"] = {name: f"{c.r.api}/project/{pid}/role/{rid}" for rid, (name, _d) in ROLES.items()}
    kept = work.get("project_properties", {}).get(key, {})
    asked = [k.strip() for v in c.qlist("properties") for k in v.split(",")]
    out["properties"] = {k: kept[k] for k in asked if k in kept}  # [unc] {} when none asked
    return out


def _type_details(c: Call, tid: str) -> dict[str, Any]:
    bean = c.r.issuetype(tid)
    return {k: bean[k] for k in ("self", "id", "description", "iconUrl", "name", "subtask", "avatarId",
                                 "hierarchyLevel")}
