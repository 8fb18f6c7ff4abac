"""Dashboard gadgets and their item properties, as pycontribs `jira` (`all_dashboard_gadgets`, `dashboard_gadgets`,
`add_gadget_to_dashboard`, `DashboardGadget.update/delete`, `set_dashboard_item_property`, `dashboard(id).gadgets`)
and the spec describe them.

- GET `/dashboard/gadgets`: AvailableDashboardGadgetsResponse, a few of Jira Cloud's built-in gadgets, each with
  `title` and its `uri` (and `moduleKey`, the spec's `{moduleKey|uri, title}`) [unc: Cloud's full catalogue].
- GET `/dashboard/{id}/gadget` (`moduleKey`, `uri`, `gadgetId` filters, repeatable): `{"gadgets": [DashboardGadget]}`
  (`id`, `moduleKey` or `uri`, `color`, `position {"row","column"}`, `title`), by column then row.
- POST `/dashboard/{id}/gadget` (DashboardGadgetSettings): 200 the gadget. Exactly one of `moduleKey` / `uri`
  (400 otherwise [unc: wording]); unless `ignoreUriAndModuleKeyValidation`, it must be an available gadget's
  (400). `color` one of the eight (default blue [unc]); `position` defaults to the first column's next row,
  and placing into a taken row moves that column's gadgets down; a row past the column's end is the spec's 400.
  `title` defaults to the gadget type's title. At most 20 gadgets [unc: Cloud's limit] (the spec's 400 text).
- PUT `/dashboard/{id}/gadget/{gid}` (DashboardGadgetUpdateRequest: `title`, `color`, `position`): 204.
  DELETE: 204, and the column closes up. Unknown dashboard: the spec's 404 text; unknown gadget: "The dashboard
  gadget was not found." (404). Only the dashboard's owner may change it (system dashboards: nobody) [unc].
- `/dashboard/{id}/items/{itemId}/properties[/{key}]`: entity properties of a gadget (`routes_more`'s rules).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.core.http import Response, json_response
from sandbox.jira.call import Call
from sandbox.jira.errors import fail
from sandbox.jira.ids import is_id
from sandbox.jira.ownership import edits_dashboard, sees_dashboard
from sandbox.jira.routes_config import dashboards_of
from sandbox.jira.routes_more import property_routes

if TYPE_CHECKING:
    from sandbox.jira.sandbox import JiraSandbox

COLORS = ("blue", "red", "yellow", "green", "cyan", "purple", "gray", "white")
MAX_GADGETS = 20
NO_DASHBOARD = ("The dashboard you requested either does not exist or you don't have the required permissions to "
                "perform this action.")


def _g(key: str) -> str:
    return f"rest/gadgets/1.0/g/{key}/gadgets/{key.split(':')[-1]}.xml"


BUILT_IN = (("filter-results-gadget", "Filter Results"), ("assigned-to-me-gadget", "Assigned to Me"),
            ("pie-chart-gadget", "Pie Chart"),
            ("created-vs-resolved-issues-chart-gadget", "Created vs. Resolved Chart"))
AVAILABLE = [{"moduleKey": f"com.atlassian.jira.gadgets:{k}", "title": t, "uri": _g(f"com.atlassian.jira.gadgets:{k}")}
             for k, t in BUILT_IN] + [
    {"title": "Activity Stream", "uri": _g("com.atlassian.streams.streams-jira-plugin:activitystream-gadget")}]


def register(sb: JiraSandbox) -> None:
    def board(c: Call, write: bool = False) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        raw = c.p["dashboard"]
        d = dashboards_of(sb).get(int(raw)) if is_id(raw) else None
        if d is None or not sees_dashboard(sb, c.user, d) or (write and not edits_dashboard(sb, c.user, d)):
            raise fail(404, NO_DASHBOARD)
        return d, sb.store.work.setdefault("gadgets", {}).setdefault(d["id"], [])

    def gadget_of(gadgets: list[dict[str, Any]], raw: str) -> dict[str, Any]:
        for g in gadgets:
            if str(g["id"]) == raw:
                return g
        raise fail(404, "The dashboard gadget was not found.")

    def bean(g: dict[str, Any]) -> dict[str, Any]:
        out = {"id": g["id"], "color": g["color"], "position": dict(g["position"]), "title": g["title"]}
        out.update({k: g[k] for k in ("moduleKey", "uri") if g.get(k)})
        return out

    def place(gadgets: list[dict[str, Any]], g: dict[str, Any], position: Any) -> None:
        """Put `g` at `position` (or the first column's end), moving that column's later gadgets down."""
        others = [x for x in gadgets if x is not g]
        if position is None:
            position = {"column": 0, "row": sum(1 for x in others if x["position"]["column"] == 0)}
        if not isinstance(position, dict) or not all(isinstance(position.get(k), int) for k in ("row", "column")):
            raise fail(400, "The gadget position must have an integer row and column.")  # [unc]
        col, row = position["column"], position["row"]
        column = sorted((x for x in others if x["position"]["column"] == col), key=lambda x: x["position"]["row"])
        if col < 0 or row < 0 or row > len(column):
            raise fail(400, "The gadget cannot be placed in the selected row. The selected row does not exist on "
                            "the dashboard.")
        column.insert(row, g)
        g["position"] = {"row": row, "column": col}
        for n, x in enumerate(column):
            x["position"] = {"row": n, "column": col}

    def close_up(gadgets: list[dict[str, Any]], col: int) -> None:
        column = sorted((x for x in gadgets if x["position"]["column"] == col), key=lambda x: x["position"]["row"])
        for n, x in enumerate(column):
            x["position"] = {"row": n, "column": col}

    def color_of(body: dict[str, Any], default: str) -> str:
        color = body.get("color") or default
        if color not in COLORS:
            raise fail(400, f"The gadget color must be one of {', '.join(COLORS)}.")  # [unc: wording]
        return str(color)

    def available(c: Call) -> Response:
        return json_response({"gadgets": [dict(g) for g in AVAILABLE]})

    def list_gadgets(c: Call) -> Response:
        gadgets = board(c)[1]
        keys, uris, ids = set(c.qlist("moduleKey")), set(c.qlist("uri")), set(c.qlist("gadgetId"))
        shown = [g for g in gadgets if (not keys or g.get("moduleKey") in keys) and (not uris or g.get("uri") in uris)
                 and (not ids or str(g["id"]) in ids)]
        shown.sort(key=lambda g: (g["position"]["column"], g["position"]["row"]))
        return json_response({"gadgets": [bean(g) for g in shown]})

    def add(c: Call) -> Response:
        gadgets = board(c, write=True)[1]
        body = c.obj()
        key, uri = body.get("moduleKey"), body.get("uri")
        if bool(key) == bool(uri):
            raise fail(400, "Either a moduleKey or a uri of a gadget must be provided, but not both.")  # [unc]
        kind = next((g for g in AVAILABLE if (key and g.get("moduleKey") == key) or (uri and g["uri"] == uri)), None)
        if kind is None and not body.get("ignoreUriAndModuleKeyValidation"):
            raise fail(400, f"The gadget {key or uri} is not available.")  # [unc: wording]
        if len(gadgets) >= MAX_GADGETS:
            raise fail(400, "Cannot add another gadget. The maximum number of gadgets the dashboard can hold has "
                            "been reached.")
        with sb.store.lock:
            g = {"id": sb.store.new_id(), "moduleKey": key, "uri": uri, "color": color_of(body, "blue"),
                 "title": body.get("title") or (kind or {}).get("title") or "", "position": {}}
            place(gadgets, g, body.get("position"))
            gadgets.append(g)
        return json_response(bean(g))

    def update(c: Call) -> Response:
        gadgets = board(c, write=True)[1]
        g = gadget_of(gadgets, c.p["gadget"])
        body = c.obj()
        color = color_of(body, g["color"])
        with sb.store.lock:
            if "position" in body:
                old = g["position"]["column"]
                place(gadgets, g, body["position"])
                close_up(gadgets, old)
            g["color"] = color
            if body.get("title") is not None:
                g["title"] = str(body["title"])
        return Response(status=204)

    def remove(c: Call) -> Response:
        gadgets = board(c, write=True)[1]
        g = gadget_of(gadgets, c.p["gadget"])
        with sb.store.lock:
            gadgets.remove(g)
            close_up(gadgets, g["position"]["column"])
            sb.store.work.get("dashboard_item_properties", {}).pop(g["id"], None)
        return Response(status=204)

    def item(c: Call) -> tuple[str, dict[str, Any]]:
        gadgets = board(c)[1]
        g = gadget_of(gadgets, c.p["item"])
        return str(g["id"]), sb.store.work.setdefault("dashboard_item_properties", {}).setdefault(g["id"], {})

    base = r"/dashboard/(?P<dashboard>[^/]+)"
    sb.route("GET", r"/dashboard/gadgets", available)
    sb.route("GET", base + r"/gadget", list_gadgets)
    sb.route("POST", base + r"/gadget", add, "write")
    sb.route("PUT", base + r"/gadget/(?P<gadget>[^/]+)", update, "write")
    sb.route("DELETE", base + r"/gadget/(?P<gadget>[^/]+)", remove, "write")
    def item_writes(c: Call, _owner: str) -> None:  # the dashboard's owner or editors [unc: 403]
        if not edits_dashboard(sb, c.user, board(c)[0]):
            raise fail(403, "You do not have permission to edit this dashboard.")

    property_routes(sb, base + r"/items/(?P<item>[^/]+)/properties", item,
                    lambda c, o, k: f"{c.r.api}/dashboard/{c.p['dashboard']}/items/{o}/properties/{k}",
                    may_write=item_writes)
