"""Version/component issue counts and ordering, worklog change feeds, project and user properties, attachment
settings and filter share permissions.

- GET `/version/{id}/relatedIssueCounts` (`issuesFixedCount`, `issuesAffectedCount`, ...),
  GET `/version/{id}/unresolvedIssueCount`, POST `/version/{id}/move` (`{"position": "Earlier|Later|First|
  Last"}` or `{"after": <version URL>}`; 200, the version; Browse projects, as the spec says),
  GET `/component/{id}/relatedIssueCounts`.
- GET `/worklog/updated?since=` and `/worklog/deleted?since=` (ChangedWorklogs: `values` of
  `{"worklogId","updatedTime","properties"}`, `since`, `until`, `lastPage`, `nextPage` while more; 1000 a
  page; as the spec says, nothing changed in the minute before the request, on the sandbox clock), POST
  `/worklog/list` `{"ids"}` (at most 1000; unknown ids are left out). A worklog restricted to a group or role
  is left out of `updated` and `list` for others (round 33).
- Project properties: GET `/project/{p}/properties` (`{"keys"}`), GET/PUT (201 created, 200 replaced; a
  non-empty JSON value of at most 32768 bytes)/DELETE (204) `/project/{p}/properties/{key}`.
- User properties (`?accountId=`, required: 400 without it, and for `username`/`userKey` as in GDPR strict
  mode; 404 for an unknown user): GET `/user/properties` (`{"keys"}`), GET/PUT (201 created, 200 replaced;
  a non-empty JSON value of at most 32768 bytes)/DELETE (204) `/user/properties/{key}`.
- GET `/attachment/meta` (`{"enabled","uploadLimit"}`); a filter's share permissions are `routes_filter_shares`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from sandbox.core.http import Response, json_response
from sandbox.jira.admin_guard import require_project_admin
from sandbox.jira.call import Call
from sandbox.jira.errors import fail
from sandbox.jira.ids import is_id
from sandbox.jira.routes_roles import sees
from sandbox.jira.routes_versions import version_bean

if TYPE_CHECKING:
    from sandbox.jira.sandbox import JiraSandbox

WORKLOG_PAGE = 1000
QUIET_MS = 60_000  # /worklog/updated and /deleted leave out the last minute (the spec)
UPLOAD_LIMIT = 10_485_760


def register(sb: JiraSandbox) -> None:
    """Register before `routes_issues`: its `GET /attachment/{id}` would otherwise match `/attachment/meta`."""
    # the store is replaced on reset: always read `sb.store.work` at call time
    def thing(kind: str, label: str, ident: str) -> dict[str, Any]:
        item = sb.store.work[kind].get(int(ident)) if is_id(ident) else None
        if item is None:
            raise fail(404, f"The {label} with id {ident} does not exist.")
        return item

    # --- versions and components ----------------------------------------------------------------
    def version_counts(c: Call) -> Response:
        v = thing("versions", "version", c.p["id"])
        issues = list(sb.store.issues.values())
        return json_response({"self": f"{c.r.api}/version/{v['id']}",
                              "issuesFixedCount": sum(v["id"] in i.fix_versions for i in issues),
                              "issuesAffectedCount": sum(v["id"] in i.versions for i in issues),
                              "issueCountWithCustomFieldsShowingVersion": 0, "customFieldUsage": []})

    def version_unresolved(c: Call) -> Response:
        v = thing("versions", "version", c.p["id"])
        fixed = [i for i in list(sb.store.issues.values()) if v["id"] in i.fix_versions]
        return json_response({"self": f"{c.r.api}/version/{v['id']}", "issuesCount": len(fixed),
                              "issuesUnresolvedCount": sum(i.resolution_id is None for i in fixed)})

    def move_version(c: Call) -> Response:
        v = thing("versions", "version", c.p["id"])
        # the spec's "Permissions required" here is Browse projects for the version's project (not Administer
        # Projects); without it the version is, to the caller, not there [unc: 404 rather than the spec's 401]
        if not sb.holds(c.user, "BROWSE_PROJECTS", [v["project"]]):  # type: ignore[attr-defined]  # routes_roles
            raise fail(404, f"The version with id {c.p['id']} does not exist.")
        body = c.obj()
        position, after = body.get("position"), body.get("after")
        if bool(position) == bool(after):
            raise fail(400, "You must specify either 'position' or 'after' (but not both).")
        with sb.store.lock:
            versions = sb.store.work["versions"]
            mine = [x for x in versions.values() if x["project"] == v["project"]]
            at = mine.index(v)
            mine.remove(v)
            if after:
                ident = str(after).rstrip("/").rsplit("/", 1)[-1]
                target = versions.get(int(ident)) if is_id(ident) else None
                if target is None or target is v or target["project"] != v["project"]:
                    raise fail(400, f"Version '{after}' is not a valid version to move after.")
                mine.insert(mine.index(target) + 1, v)
            else:
                spots = {"first": 0, "last": len(mine), "earlier": max(0, at - 1), "later": min(len(mine), at + 1)}
                where = spots.get(str(position).lower())
                if where is None:
                    raise fail(400, f"Invalid position '{position}'. Expected one of Earlier, Later, First, Last.")
                mine.insert(where, v)
            others = {k: x for k, x in versions.items() if x["project"] != v["project"]}
            versions.clear()
            versions.update(others)
            versions.update({x["id"]: x for x in mine})
        return json_response(version_bean(c, v))

    def component_counts(c: Call) -> Response:
        comp = thing("components", "component", c.p["id"])
        count = sum(comp["id"] in i.components for i in list(sb.store.issues.values()))
        return json_response({"self": f"{c.r.api}/component/{comp['id']}/relatedIssueCounts", "issueCount": count})

    # --- worklog change feeds -------------------------------------------------------------------
    def since_of(c: Call) -> int:
        return c.qint("since", 0, 0, 1 << 62)

    def feed(c: Call, rows: list[tuple[int, int]], path: str) -> Response:
        since = since_of(c)
        settled = sb.store.now_ms() - QUIET_MS  # the spec: nothing changed in the minute before the request
        rows = sorted(r for r in rows if since <= r[0] <= settled)
        page = rows[:WORKLOG_PAGE]
        last = len(rows) <= WORKLOG_PAGE
        until = page[-1][0] if page else since
        out: dict[str, Any] = {"values": [{"worklogId": wid, "updatedTime": t, "properties": []} for t, wid in page],
                               "since": since, "until": until, "self": f"{c.r.api}/worklog/{path}?since={since}",
                               "lastPage": last}
        if not last:
            out["nextPage"] = f"{c.r.api}/worklog/{path}?since={until + 1}"
        return json_response(out)

    def visible_logs(c: Call) -> list[tuple[Any, dict[str, Any]]]:
        """(issue, worklog) pairs the caller may read (a restricted worklog only for its group or role)."""
        out = []
        for issue_id, logs in list(sb.store.work["worklogs"].items()):
            issue = sb.store.issues.get(issue_id)
            if issue is not None:
                out += [(issue, w) for w in list(logs) if sees(sb, c.user, issue.project, w.get("visibility"))]
        return out

    def worklogs_updated(c: Call) -> Response:
        return feed(c, [(w["updated"], w["id"]) for _issue, w in visible_logs(c)], "updated")

    def worklogs_deleted(c: Call) -> Response:
        rows = [(d["time"], d["id"]) for d in list(sb.store.work.get("worklogs_deleted", []))]
        return feed(c, rows, "deleted")

    def worklog_list(c: Call) -> Response:
        ids = c.obj().get("ids")
        if not isinstance(ids, list):
            raise fail(400, None, {"ids": "Worklog ids must be provided."})
        if len(ids) > WORKLOG_PAGE:
            raise fail(400, f"The number of worklog ids must not exceed {WORKLOG_PAGE}.")
        wanted = {int(x) for x in ids if is_id(str(x))}
        return json_response([c.r.worklog(issue, w) for issue, w in visible_logs(c) if w["id"] in wanted])

    # --- project properties ---------------------------------------------------------------------
    def project_props(c: Call) -> tuple[str, dict[str, Any]]:
        ref = c.p["project"]
        project = next((p for p in sb.store.projects.values() if ref.upper() == p.key or ref == p.id), None)
        if project is None:
            raise fail(404, f"No project could be found with key '{ref}'.")
        return project.key, sb.store.work.setdefault("project_properties", {}).setdefault(project.key, {})

    # --- user properties ------------------------------------------------------------------------
    def user_props(c: Call) -> tuple[str, dict[str, Any]]:
        account = c.q("accountId")
        if not account:
            if c.q("username") or c.q("userKey"):
                which = "username" if c.q("username") else "userKey"
                raise fail(400, f"The query parameter '{which}' is not supported in GDPR strict mode.")
            raise fail(400, "The accountId query parameter needs to be provided.")  # [unc] wording
        if account not in sb.store.users:
            raise fail(404, f"The user with account ID '{account}' does not exist.")  # [unc] wording
        return account, sb.store.work.setdefault("user_properties", {}).setdefault(account, {})

    # --- settings -------------------------------------------------------------------------------
    sb.route("GET", r"/version/(?P<id>\d+)/relatedIssueCounts", version_counts)
    sb.route("GET", r"/version/(?P<id>\d+)/unresolvedIssueCount", version_unresolved)
    sb.route("POST", r"/version/(?P<id>\d+)/move", move_version, "write")
    sb.route("GET", r"/component/(?P<id>\d+)/relatedIssueCounts", component_counts)
    sb.route("GET", r"/worklog/updated", worklogs_updated)
    sb.route("GET", r"/worklog/deleted", worklogs_deleted)
    sb.route("POST", r"/worklog/list", worklog_list)
    def own_user_or_admin(c: Call, account: str) -> None:  # the spec: any user's with Administer Jira, else one's own
        if account != c.user and not sb.holds(c.user, "ADMINISTER", []):  # type: ignore[attr-defined]
            raise fail(403, "You do not have permission to change the properties of this user.")  # [unc] wording

    # the spec: Administer Jira, or Administer Projects for the project (403 without)
    property_routes(sb, r"/project/(?P<project>[^/]+)/properties", project_props,
                    lambda c, key, name: f"{c.r.api}/project/{key}/properties/{quote(name)}",
                    may_write=lambda c, key: require_project_admin(
                        sb, c, key, 403, "You do not have permission to administer this project."))  # [unc] text
    property_routes(sb, r"/user/properties", user_props,
                    lambda c, account, name: f"{c.r.api}/user/properties/{quote(name)}?accountId={account}",
                    may_write=own_user_or_admin)
    sb.route("GET", r"/attachment/meta", lambda c: json_response({"enabled": True, "uploadLimit": UPLOAD_LIMIT}))


def property_routes(sb: JiraSandbox, base: str, scope: Callable[[Call], tuple[str, dict[str, Any]]],
                    link: Callable[[Call, str, str], str], prefix: str = "api",
                    may_write: Callable[[Call, str], None] | None = None) -> None:
    """list / get / set / delete of one kind of entity property, under Jira's shared rules: a key of at
    most 255 characters, a non-empty JSON value of at most 32768 bytes, 201 when created and 200 when
    replaced. ``scope(call)``: (the owner as the ``self`` link names it, its properties), or a 4xx;
    ``may_write(call, owner)`` raises the 403 of a caller who may not set or delete them."""

    def existing(c: Call) -> dict[str, Any]:
        props = scope(c)[1]
        if c.p["prop"] not in props:
            raise fail(404, f"The property with key '{c.p['prop']}' does not exist.")
        return props

    def list_props(c: Call) -> Response:
        owner, props = scope(c)
        return json_response({"keys": [{"self": link(c, owner, k), "key": k} for k in props]})

    def get_prop(c: Call) -> Response:
        return json_response({"key": c.p["prop"], "value": existing(c)[c.p["prop"]]})

    def put_prop(c: Call) -> Response:
        owner, props = scope(c)
        name, raw = c.p["prop"], c.req.body or b""
        if may_write:
            may_write(c, owner)
        if len(name) > 255:
            raise fail(400, "The property key is too long. Maximum length is 255 characters.")
        if not raw.strip():
            raise fail(400, "The property value must be a valid, non-empty JSON value.")
        if len(raw) > 32768:
            raise fail(400, "The property value is too long. Maximum length is 32768 bytes.")
        value = c.body()
        with sb.store.lock:
            created = name not in props
            props[name] = value
        return json_response({}, 201 if created else 200)

    def delete_prop(c: Call) -> Response:
        if may_write:
            may_write(c, scope(c)[0])
        with sb.store.lock:
            del existing(c)[c.p["prop"]]
        return Response(status=204)

    sb.route("GET", base, list_props, prefix=prefix)
    sb.route("GET", base + r"/(?P<prop>[^/]+)", get_prop, prefix=prefix)
    sb.route("PUT", base + r"/(?P<prop>[^/]+)", put_prop, "write", prefix=prefix)
    sb.route("DELETE", base + r"/(?P<prop>[^/]+)", delete_prop, "write", prefix=prefix)
