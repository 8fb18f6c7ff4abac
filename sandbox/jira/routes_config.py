"""Site configuration read one at a time, dashboards and board configuration.

- Lookups: GET `/priority/{id}`, `/status/{idOrName}`, `/statuscategory/{idOrKey}`, `/resolution/{id}`,
  `/issuetype/{id}` (404 with Jira's message when unknown); `/issueLinkType/{id}` is in `routes_schemes`.
- Dashboards: GET `/dashboard?filter=favourite|my&startAt&maxResults` (`{"startAt","maxResults","total",
  "prev"?,"next"?,"dashboards"}`, default 20 per page), GET `/dashboard/search` (PageBean,
  `dashboardName` partial match), GET/PUT/DELETE `/dashboard/{id}`, POST `/dashboard` (name required), POST
  `/dashboard/{id}/copy` (gadgets too) and the internal PUT `.../dashboards/{id}/automatic-refresh-ms`.
  Seeded: the system "Default dashboard" (10000, not writable) and the API user's "Security posture" (10001).
- Agile: GET `/board/{id}/configuration` (filter, columns mapped to statuses, Story point estimation on
  scrum boards, `subQuery` on kanban ones, rank field). A board's filter is a saved filter
  (`project = KEY ORDER BY Rank ASC`) created on first use, so GET `/filter/{id}` finds it.
  GET `/board/filter/{filterId}`: the boards using a filter (atlassian `get_agile_board_by_filter_id`).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from sandbox.core.http import Response, json_response
from sandbox.jira import catalog as C
from sandbox.jira.call import Call, paged
from sandbox.jira.errors import fail
from sandbox.jira.ids import is_id
from sandbox.jira.ownership import edits_dashboard, sees_dashboard
from sandbox.jira.routes_catalog_search import priority_details
from sandbox.jira.routes_filter_shares import sees_filter
from sandbox.jira.routes_platform import _type_details

if TYPE_CHECKING:
    from sandbox.jira.sandbox import JiraSandbox

COLUMNS = (("To Do", ("10000",)), ("In Progress", ("3",)), ("In Review", ("10001",)), ("Done", ("10002",)))


def dashboards_of(sb: JiraSandbox) -> dict[int, dict[str, Any]]:
    """The site's dashboards by id (the system one and a seeded one the first time they are asked for)."""
    table = sb.store.work.setdefault("dashboards", {})
    if not table:
        me = sb.store.me.account_id
        table[10000] = {"id": 10000, "name": "Default dashboard", "description": "", "owner": None,
                        "fans": [], "system": True, "share": [{"type": "global"}]}
        table[10001] = {"id": 10001, "name": "Security posture", "description": "Open SEC work by priority",
                        "owner": me, "fans": [me], "system": False, "share": [{"type": "loggedin"}]}
    return table


def register(sb: JiraSandbox) -> None:
    def lookup(table: Any, message: str, render: Any, by_name: dict[str, str] | None = None) -> Any:
        """`table` is a dict, or a callable giving one at request time (per-store tables)."""
        def handler(c: Call) -> Response:
            ident = c.p["ident"]
            ident = (by_name or {}).get(ident.lower(), ident)
            if ident not in (table() if callable(table) else table):
                raise fail(404, message.format(c.p["ident"]))
            return json_response(render(c, ident))
        return handler

    def category(c: Call, ident: str) -> dict[str, Any]:
        return c.r.category(ident)

    cat_by_id = {str(v[0]): k for k, v in C.CATEGORIES.items()}
    sb.route("GET", r"/priority/(?P<ident>[^/]+)", lookup(C.PRIORITIES, "The priority with id '{}' does not exist",
                                                           priority_details))
    sb.route("GET", r"/status/(?P<ident>[^/]+)", lookup(C.STATUSES, "The status with id '{}' does not exist",
                                                         lambda c, i: c.r.status(i), C.STATUS_BY_NAME))
    sb.route("GET", r"/statuscategory/(?P<ident>[^/]+)", lookup(
        C.CATEGORIES, "The status category with id '{}' does not exist", category, cat_by_id))
    sb.route("GET", r"/resolution/(?P<ident>[^/]+)", lookup(
        C.RESOLUTIONS, "The resolution with ID '{}' does not exist.", lambda c, i: c.r.resolution(i)))
    sb.route("GET", r"/issuetype/(?P<ident>[^/]+)", lookup(
        lambda: sb.store.issue_types, "The issue type with ID '{}' does not exist.", _type_details))

    # --- dashboards -------------------------------------------------------------------------------
    def dashboards() -> dict[int, dict[str, Any]]:
        return dashboards_of(sb)

    def dashboard_bean(c: Call, d: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {"id": str(d["id"]), "isFavourite": c.user in d["fans"], "name": d["name"]}
        if d["description"]:
            out["description"] = d["description"]
        if d["owner"]:
            user = c.r.user(d["owner"]) or {}
            out["owner"] = {"key": d["owner"], "accountId": d["owner"], "displayName": user.get("displayName"),
                            "active": True, "avatarUrls": user.get("avatarUrls")}
        out.update(popularity=len(d["fans"]), self=f"{c.r.api}/dashboard/{d['id']}", sharePermissions=d["share"],
                   editPermissions=d.get("edit", []), isWritable=edits_dashboard(sb, c.user, d),
                   systemDashboard=d["system"],
                   view=f"{c.base}/jira/dashboards/{d['id']}")
        return out

    def find(c: Call) -> dict[str, Any]:
        raw = c.p["dashboard"]
        d = dashboards().get(int(raw)) if is_id(raw) else None
        if d is None or not sees_dashboard(sb, c.user, d):  # the spec: "not owned by or shared with the user"
            raise fail(404, f"The dashboard with id '{raw}' does not exist.")
        return d

    def list_dashboards(c: Call) -> Response:
        which = c.q("filter")
        items = [d for d in list(dashboards().values()) if sees_dashboard(sb, c.user, d)]
        if which == "favourite":
            items = [d for d in items if c.user in d["fans"]]
        elif which == "my":
            items = [d for d in items if d["owner"] == c.user]
        elif which:
            raise fail(400, f"The filter '{which}' is not valid. Valid filters are 'favourite' and 'my'.")
        start, limit = c.qint("startAt", 0), c.qint("maxResults", 20, 1, 1000)
        out: dict[str, Any] = {"startAt": start, "maxResults": limit, "total": len(items)}
        if start > 0:
            out["prev"] = f"{c.r.api}/dashboard?startAt={max(0, start - limit)}&maxResults={limit}"
        if start + limit < len(items):
            out["next"] = f"{c.r.api}/dashboard?startAt={start + limit}&maxResults={limit}"
        out["dashboards"] = [dashboard_bean(c, d) for d in items[start:start + limit]]
        return json_response(out)

    def search_dashboards(c: Call) -> Response:
        name = (c.q("dashboardName") or "").lower()
        items = [dashboard_bean(c, d) for d in list(dashboards().values())
                 if name in d["name"].lower() and sees_dashboard(sb, c.user, d)]
        start, limit = c.qint("startAt", 0), c.qint("maxResults", 50, 1, 1000)
        return json_response(paged(items, start, limit, f"{c.r.api}/dashboard/search?startAt={start}"))

    def read(c: Call, current: dict[str, Any] | None) -> dict[str, Any]:
        body = c.obj()
        name = str(body.get("name", current["name"] if current else "") or "").strip()
        if not name:
            raise fail(400, None, {"name": "You must specify a dashboard name."})
        share = body.get("sharePermissions", current["share"] if current else [])
        if not isinstance(share, list):
            raise fail(400, None, {"sharePermissions": "data was not an array"})
        # the spec's SharePermission.type: `loggedin` "is set in a request by specifying `authenticated`"
        share = [{**x, "type": "loggedin"} if isinstance(x, dict) and x.get("type") == "authenticated" else x
                 for x in share]
        edit_share = body.get("editPermissions", current.get("edit", []) if current else [])
        if not isinstance(edit_share, list):
            raise fail(400, None, {"editPermissions": "data was not an array"})
        return {"name": name, "description": str(body.get("description", current["description"] if current else "")
                                                  or ""), "share": share, "edit": edit_share}

    def next_ident() -> int:
        """Dashboard ids only grow: a deleted dashboard's id is not given again (its gadgets went with it)."""
        work = sb.store.work
        work["dashboard_next_id"] = max(work.get("dashboard_next_id", 0), max(dashboards()) + 1)
        ident = work["dashboard_next_id"]
        work["dashboard_next_id"] += 1
        return ident

    def create(c: Call) -> Response:
        data = read(c, None)
        with sb.store.lock:
            ident = next_ident()
            d = dashboards()[ident] = {"id": ident, "owner": c.user, "fans": [c.user], "system": False, **data}
        return json_response(dashboard_bean(c, d))

    def edit(c: Call) -> Response:
        d = find(c)
        if not edits_dashboard(sb, c.user, d):  # the spec: 404 when the dashboard "is not owned by the user"
            raise fail(404, f"The dashboard with id '{d['id']}' does not exist or you may not edit it.")  # [unc]
        data = read(c, d)
        if d["owner"] != c.user:  # an editor shares no further [unc]
            data["share"], data["edit"] = d["share"], d.get("edit", [])
        with sb.store.lock:
            d.update(data)
        return json_response(dashboard_bean(c, d))

    def copy(c: Call) -> Response:
        """POST /dashboard/{id}/copy: a new dashboard of the caller's, the body's values over the source's, with
        copies of the source's gadgets and their item properties (`routes_gadgets`) [unc: Cloud copies them]."""
        source = find(c)
        data = read(c, source)
        with sb.store.lock:
            ident = next_ident()
            d = dashboards()[ident] = {"id": ident, "owner": c.user, "fans": [c.user], "system": False, **data}
            gadgets, props = (sb.store.work.setdefault(k, {}) for k in ("gadgets", "dashboard_item_properties"))
            for g in gadgets.get(source["id"], []):
                new = {**g, "id": sb.store.new_id(), "position": dict(g["position"])}
                gadgets.setdefault(ident, []).append(new)
                if g["id"] in props:
                    props[new["id"]] = json.loads(json.dumps(props[g["id"]]))
        return json_response(dashboard_bean(c, d))

    def auto_refresh(c: Call) -> Response:
        """PUT /rest/internal/{2|latest}/dashboards/{id}/automatic-refresh-ms `{"automaticRefreshMs": ms|null}`
        (pycontribs' `update_dashboard_automatic_refresh_minutes`; an internal resource) [unc]: 204."""
        d = find(c)
        if not edits_dashboard(sb, c.user, d):
            raise fail(404, f"The dashboard with id '{d['id']}' does not exist or you may not edit it.")  # [unc]
        ms = c.obj().get("automaticRefreshMs")
        if ms is not None and (not isinstance(ms, int) or isinstance(ms, bool) or ms < 0):
            raise fail(400, "automaticRefreshMs must be a non-negative number of milliseconds.")  # [unc]
        with sb.store.lock:
            d["refresh_ms"] = ms
        return Response(204)

    def delete(c: Call) -> Response:
        d = find(c)
        if d["owner"] != c.user:
            raise fail(400, None, {"dashboard": "You do not have permission to delete this dashboard."})
        with sb.store.lock:
            dashboards().pop(d["id"], None)
            props = sb.store.work.get("dashboard_item_properties", {})
            for g in sb.store.work.get("gadgets", {}).pop(d["id"], []):  # its gadgets and their properties go too
                props.pop(g["id"], None)
        return Response(204)

    sb.route("GET", r"/dashboard", list_dashboards)
    sb.route("POST", r"/dashboard", create, "write")
    sb.route("GET", r"/dashboard/search", search_dashboards)
    sb.route("GET", r"/dashboard/(?P<dashboard>[^/]+)", lambda c: json_response(dashboard_bean(c, find(c))))
    sb.route("PUT", r"/dashboard/(?P<dashboard>[^/]+)", edit, "write")
    sb.route("DELETE", r"/dashboard/(?P<dashboard>[^/]+)", delete, "write")
    sb.route("POST", r"/dashboard/(?P<dashboard>[^/]+)/copy", copy, "write")
    sb.route("PUT", r"/rest/internal/(?:2|latest)/dashboards/(?P<dashboard>[^/]+)/automatic-refresh-ms", auto_refresh,
             "write", prefix="none")

    # --- board configuration --------------------------------------------------------------------------
    def board_filter(board: Any) -> int:
        links = sb.store.work.setdefault("board_filters", {})
        if board.id not in links:
            filters = sb.store.work.setdefault("filters", {})
            ident = sb.store.new_id()
            filters[ident] = {"id": ident, "owner": sb.store.projects[board.project].lead, "fans": [],
                              "name": f"Filter for {board.name}", "description": None,
                              "jql": f"project = {board.project} ORDER BY Rank ASC",
                              # shared with the board's project, as Jira shares a board's own filter [unc]; the
                              # share reuses the filter's id so that no new id is drawn
                              "share": [{"id": ident, "type": "project", "project": board.project, "role": None}]}
            links[board.id] = ident
        return links[board.id]

    def configuration(c: Call) -> Response:
        board = sb.store.boards.get(int(c.p["board"]))
        if board is None:
            raise fail(404, "Board does not exist or you do not have permission to see it.")
        with sb.store.lock:
            fid = board_filter(board)
        api2 = f"{c.base}/rest/api/2"
        out: dict[str, Any] = {
            "id": board.id, "name": board.name, "type": board.type,
            "self": f"{c.base}/rest/agile/1.0/board/{board.id}/configuration",
            "location": ({"type": "user"} if board.owner else
                         {"type": "project", "projectKeyOrId": sb.store.projects[board.project].id}),
            "filter": {"id": str(fid), "self": f"{api2}/filter/{fid}"},
            "columnConfig": {"columns": [{"name": name, "statuses": [{"id": s, "self": f"{api2}/status/{s}"}
                                                                     for s in ids]} for name, ids in COLUMNS],
                             "constraintType": "none"},
            "ranking": {"rankCustomFieldId": int(C.RANK.rsplit("_", 1)[1])},
        }
        if board.type == "kanban":
            out["subQuery"] = {"query": "fixVersion in unreleasedVersions() OR fixVersion is EMPTY"}
        else:
            out["estimation"] = {"type": "field", "field": {"fieldId": C.STORY_POINTS,
                                                            "displayName": "Story point estimate"}}
        return json_response(out)

    def boards_by_filter(c: Call) -> Response:
        """Boards whose saved filter is this one (`{id, self, name}` only, as in the spec). A filter no board
        uses, or none at all, is an empty page [unc: Jira may 400 an unknown filter id]; so is one the caller may
        not see (`sees_filter`), as if it did not exist [unc]."""
        fid = int(c.p["filter"])
        with sb.store.lock:
            links = dict(sb.store.work.get("board_filters", {}))
            saved = sb.store.work.get("filters", {}).get(fid)
            boards = [b for bid, b in sorted(sb.store.boards.items()) if links.get(bid) == fid]
        if saved is not None and not sees_filter(sb, c.user, saved):
            boards = []
        values = [{"id": b.id, "self": f"{c.base}/rest/agile/1.0/board/{b.id}", "name": b.name} for b in boards]
        start, limit = max(0, c.qint("startAt", 0)), max(1, min(c.qint("maxResults", 50), 50))
        return json_response(paged(values, start, limit))

    sb.route("GET", r"/board/(?P<board>\d+)/configuration", configuration, prefix="agile")
    sb.route("GET", r"/board/filter/(?P<filter>\d+)", boards_by_filter, prefix="agile")
