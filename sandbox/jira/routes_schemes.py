"""Permission schemes, project categories and issue link type administration.

- Permission schemes: GET `/permissionscheme` (`{"permissionSchemes": [...]}`), GET/PUT/DELETE
  `/permissionscheme/{id}`, POST `/permissionscheme` (201), GET/POST `/permissionscheme/{id}/permission`,
  GET/DELETE `/permissionscheme/{id}/permission/{grantId}`; GET/PUT `/project/{key}/permissionscheme`
  (PUT `{"id": n}` assigns). Any `expand` (permissions, user, group, projectRole, field, all) includes
  the grants, as on Jira; holders stay `{type, parameter, value, expand}` (the spec allows no more).
  Seeded: "Default Permission Scheme" (10000, every project) granting each project permission to
  the roles that hold it in `routes_roles`.
- Project categories: GET/POST `/projectCategory`, GET/PUT/DELETE `/projectCategory/{id}`; a name is
  required on create (400), unique (409), at most 255 characters. Seeded: 10000 and 10001.
- Issue link types: GET/POST `/issueLinkType`, GET/PUT/DELETE `/issueLinkType/{id}`. Create needs
  name, inward and outward; a name in use answers 404 as the spec documents; deleting a type deletes
  the links of that type. A non-numeric id is a 400, an unknown one a 404.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.core.http import Response, json_response
from sandbox.jira.admin_guard import admin_only, require_project_admin
from sandbox.jira.call import Call
from sandbox.jira.errors import fail
from sandbox.jira.ids import is_id
from sandbox.jira.routes_groups import group_id, group_names
from sandbox.jira.routes_roles import _PROJECT, _RANK, ROLES

if TYPE_CHECKING:
    from sandbox.jira.sandbox import JiraSandbox

DEFAULT_SCHEME = 10000
EXPANDS = "permissions,user,group,projectRole,field,all"
HOLDER_TYPES = frozenset({"anyone", "applicationRole", "assignee", "group", "groupCustomField", "projectLead",
                          "projectRole", "reporter", "sd.customer.portal.only", "user", "userCustomField"})
SEEDED_CATEGORIES = {10000: ("Security & Compliance", "Security, risk and audit projects"),
                     10001: ("Operations", "Service operations and support projects")}


def _default_grants() -> list[dict[str, Any]]:
    grants, n = [], 10000
    for key, (_pid, _name, least) in _PROJECT.items():
        for role in sorted(ROLES, key=lambda r: -_RANK[r]):
            if _RANK[role] >= _RANK[least]:
                grants.append({"id": n, "permission": key, "holder": {"type": "projectRole", "parameter": str(role)}})
                n += 1
    return grants

# the spec: issue link type writes need Administer Jira and answer 404 without it [unc: the text]
LINKING_REFUSED = "You do not have the required permissions to administer issue link types."


def register(sb: JiraSandbox) -> None:
    def state() -> dict[str, Any]:
        work = sb.store.work
        if "perm_schemes" not in work:
            work["perm_schemes"] = {DEFAULT_SCHEME: {
                "id": DEFAULT_SCHEME, "name": "Default Permission Scheme",
                "description": "This is the default Permission Scheme. Any new projects that are created will be "
                               "assigned this scheme.", "grants": _default_grants()}}
            work["project_schemes"] = {}
            work["categories"] = {k: {"id": k, "name": n, "description": d} for k, (n, d) in SEEDED_CATEGORIES.items()}
        return work

    # --- permission schemes ---------------------------------------------------------------------
    def expands(c: Call) -> set[str]:
        return {x.strip() for item in c.qlist("expand") for x in item.split(",") if x.strip()}

    def holder_bean(holder: dict[str, Any]) -> dict[str, Any]:
        kind, param = holder["type"], holder.get("parameter")
        out: dict[str, Any] = {"type": kind}
        if param is None:
            return out
        out.update(parameter=param, value=param)
        if kind == "group":
            out["value"] = group_id(param)
        if kind in ("group", "user", "projectRole"):
            out["expand"] = kind  # the spec's PermissionHolder has no room for the expanded objects
        return out

    def grant_bean(c: Call, scheme: dict[str, Any], g: dict[str, Any], wanted: set[str]) -> dict[str, Any]:
        return {"id": g["id"], "self": f"{c.r.api}/permissionscheme/{scheme['id']}/permission/{g['id']}",
                "holder": holder_bean(g["holder"]), "permission": g["permission"]}

    def scheme_bean(c: Call, s: dict[str, Any], grants: bool | None = None) -> dict[str, Any]:
        wanted = expands(c)
        out: dict[str, Any] = {"expand": EXPANDS, "id": s["id"], "self": f"{c.r.api}/permissionscheme/{s['id']}",
                               "name": s["name"]}
        if s["description"]:
            out["description"] = s["description"]
        if grants or (grants is None and wanted):
            out["permissions"] = [grant_bean(c, s, g, wanted) for g in s["grants"]]
        return out

    def scheme_of(raw: str) -> dict[str, Any]:
        s = state()["perm_schemes"].get(int(raw)) if is_id(raw) else None
        if s is None:
            raise fail(404, f"Permission scheme with id '{raw}' not found.")
        return s

    def read_grant(body: Any, next_id: int) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise fail(400, "A permission grant must be an object with 'holder' and 'permission'.")
        key = str(body.get("permission") or "")
        if key not in _PROJECT:
            raise fail(400, f"The permission with key '{key}' does not exist or is not a project permission.")
        holder = body.get("holder")
        if not isinstance(holder, dict) or holder.get("type") not in HOLDER_TYPES:
            kind = holder.get("type") if isinstance(holder, dict) else None
            raise fail(400, f"Invalid permission holder type: {kind}. "
                            f"Expected one of: {', '.join(sorted(HOLDER_TYPES))}.")
        kind, param = holder["type"], holder.get("parameter", holder.get("value"))
        if kind == "projectRole" and not (is_id(str(param)) and int(param) in ROLES):
            raise fail(400, f"The project role with id '{param}' does not exist.")
        if kind == "group" and param not in group_names(sb):
            named = next((g for g in group_names(sb) if group_id(g) == param), None)
            if named is None:
                raise fail(400, f"Group '{param}' does not exist.")
            param = named
        if kind == "user" and user_missing(param):
            raise fail(400, f"User with account id '{param}' does not exist.")
        return {"id": next_id, "permission": key,
                "holder": {"type": kind, **({"parameter": str(param)} if param not in (None, "") else {})}}

    def user_missing(account: Any) -> bool:
        return str(account or "") not in sb.store.users

    def next_grant_id() -> int:
        return 1 + max((g["id"] for s in state()["perm_schemes"].values() for g in s["grants"]), default=10000)

    def read_scheme(c: Call, current: dict[str, Any] | None) -> dict[str, Any]:
        body = c.obj()
        name = str(body.get("name", current["name"] if current else "") or "").strip()
        if not name:
            raise fail(400, None, {"name": "You must specify a name for the permission scheme."})
        taken = [s for s in state()["perm_schemes"].values() if s["name"].lower() == name.lower() and s is not current]
        if taken:
            raise fail(400, f"A permission scheme with name '{name}' already exists.")
        grants = current["grants"] if current else []
        if "permissions" in body:
            if not isinstance(body["permissions"], list):
                raise fail(400, None, {"permissions": "data was not an array"})
            first = next_grant_id()
            grants = [read_grant(g, first + i) for i, g in enumerate(body["permissions"])]
        description = body.get("description", current["description"] if current else "")
        return {"name": name, "description": str(description or ""), "grants": grants}

    def list_schemes(c: Call) -> Response:
        return json_response({"permissionSchemes": [scheme_bean(c, s) for s in state()["perm_schemes"].values()]})

    def create_scheme(c: Call) -> Response:
        with sb.store.lock:
            data = read_scheme(c, None)
            ident = max(state()["perm_schemes"]) + 1
            s = state()["perm_schemes"][ident] = {"id": ident, **data}
        return json_response(scheme_bean(c, s, True), 201)

    def update_scheme(c: Call) -> Response:
        with sb.store.lock:
            s = scheme_of(c.p["scheme"])
            s.update(read_scheme(c, s))
        return json_response(scheme_bean(c, s, True))

    def delete_scheme(c: Call) -> Response:
        with sb.store.lock:
            s = scheme_of(c.p["scheme"])
            if s["id"] == DEFAULT_SCHEME:
                raise fail(400, "The default permission scheme cannot be deleted.")
            del state()["perm_schemes"][s["id"]]
            links = state()["project_schemes"]
            for key in [k for k, v in links.items() if v == s["id"]]:
                del links[key]
        return Response(204)

    def grant_of(s: dict[str, Any], raw: str) -> dict[str, Any]:
        g = next((g for g in s["grants"] if str(g["id"]) == raw), None)
        if g is None:
            raise fail(404, f"Permission grant with id '{raw}' not found in permission scheme {s['id']}.")
        return g

    def list_grants(c: Call) -> Response:
        s = scheme_of(c.p["scheme"])
        return json_response({"expand": EXPANDS, "permissions": [grant_bean(c, s, g, expands(c)) for g in s["grants"]]})

    def add_grant(c: Call) -> Response:
        with sb.store.lock:
            s = scheme_of(c.p["scheme"])
            g = read_grant(c.obj(), next_grant_id())
            s["grants"].append(g)
        return json_response(grant_bean(c, s, g, expands(c)), 201)

    def delete_grant(c: Call) -> Response:
        with sb.store.lock:
            s = scheme_of(c.p["scheme"])
            s["grants"].remove(grant_of(s, c.p["grant"]))
        return Response(204)

    def project_key(ref: str) -> str:
        for p in sb.store.projects.values():
            if ref.upper() == p.key or ref == p.id:
                return p.key
        raise fail(404, f"No project could be found with key '{ref}'.")

    def project_scheme(c: Call) -> Response:
        key = project_key(c.p["project"])
        require_project_admin(sb, c, key, 403, "You do not have permission to view the project's configuration.")
        ident = state()["project_schemes"].get(key, DEFAULT_SCHEME)
        return json_response(scheme_bean(c, state()["perm_schemes"][ident]))

    def assign_scheme(c: Call) -> Response:
        key = project_key(c.p["project"])
        raw = c.obj().get("id")
        if raw is None:
            raise fail(400, None, {"id": "The permission scheme id is required."})
        with sb.store.lock:
            s = scheme_of(str(raw))
            state()["project_schemes"][key] = s["id"]
        return json_response(scheme_bean(c, s))

    scheme = r"/permissionscheme/(?P<scheme>[^/]+)"
    sb.route("GET", r"/permissionscheme", list_schemes)
    sb.route("POST", r"/permissionscheme", admin_only(sb, create_scheme), "write")
    sb.route("GET", scheme, lambda c: json_response(scheme_bean(c, scheme_of(c.p["scheme"]))))
    sb.route("PUT", scheme, admin_only(sb, update_scheme), "write")
    sb.route("DELETE", scheme, admin_only(sb, delete_scheme), "write")
    sb.route("GET", scheme + r"/permission", list_grants)
    sb.route("POST", scheme + r"/permission", admin_only(sb, add_grant), "write")
    sb.route("GET", scheme + r"/permission/(?P<grant>[^/]+)", lambda c: json_response(grant_bean(
        c, scheme_of(c.p["scheme"]), grant_of(scheme_of(c.p["scheme"]), c.p["grant"]), expands(c))))
    sb.route("DELETE", scheme + r"/permission/(?P<grant>[^/]+)", admin_only(sb, delete_grant), "write")
    sb.route("GET", r"/project/(?P<project>[^/]+)/permissionscheme", project_scheme)
    sb.route("PUT", r"/project/(?P<project>[^/]+)/permissionscheme", admin_only(sb, assign_scheme), "write")

    # --- project categories -------------------------------------------------------------------------
    def category_bean(c: Call, cat: dict[str, Any]) -> dict[str, Any]:
        return {"self": f"{c.r.api}/projectCategory/{cat['id']}", "id": str(cat["id"]), "name": cat["name"],
                "description": cat["description"]}

    def category_of(raw: str) -> dict[str, Any]:
        cat = state()["categories"].get(int(raw)) if is_id(raw) else None
        if cat is None:
            raise fail(404, f"No project category with id '{raw}' exists.")
        return cat

    def read_category(c: Call, current: dict[str, Any] | None) -> dict[str, Any]:
        body = c.obj()
        name = str(body.get("name", current["name"] if current else "") or "").strip()
        description = str(body.get("description", current["description"] if current else "") or "")
        if not name:
            raise fail(400, None, {"name": "The project category name must be specified."})
        if len(name) > 255:
            raise fail(400, None, {"name": "The project category name must not exceed 255 characters."})
        if len(description) > 1000:
            raise fail(400, None, {"description": "The project category description must not exceed 1000 characters."})
        if any(x["name"].lower() == name.lower() and x is not current for x in state()["categories"].values()):
            raise fail(409, None, {"name": f"A project category with the name '{name}' already exists."})
        return {"name": name, "description": description}

    def create_category(c: Call) -> Response:
        with sb.store.lock:
            data = read_category(c, None)
            ident = max(state()["categories"], default=9999) + 1
            cat = state()["categories"][ident] = {"id": ident, **data}
        return json_response(category_bean(c, cat), 201)

    def update_category(c: Call) -> Response:
        with sb.store.lock:
            cat = category_of(c.p["category"])
            cat.update(read_category(c, cat))
        return json_response(category_bean(c, cat))

    def delete_category(c: Call) -> Response:
        with sb.store.lock:
            del state()["categories"][category_of(c.p["category"])["id"]]
        return Response(204)

    category = r"/projectCategory/(?P<category>[^/]+)"
    sb.route("GET", r"/projectCategory", lambda c: json_response([category_bean(c, x)
                                                                   for x in state()["categories"].values()]))
    sb.route("POST", r"/projectCategory", admin_only(sb, create_category), "write")
    sb.route("GET", category, lambda c: json_response(category_bean(c, category_of(c.p["category"]))))
    sb.route("PUT", category, admin_only(sb, update_category), "write")
    sb.route("DELETE", category, admin_only(sb, delete_category), "write")

    # --- issue link types -------------------------------------------------------------------------------
    def link_type_bean(c: Call, ident: str) -> dict[str, Any]:
        name, inward, outward = sb.store.link_types[ident]
        return {"id": ident, "name": name, "inward": inward, "outward": outward,
                "self": f"{c.r.api}/issueLinkType/{ident}"}

    def link_type_of(raw: str) -> str:
        if not raw.isdecimal():
            raise fail(400, f"The issue link type id '{raw}' is invalid.")
        if raw not in sb.store.link_types:
            raise fail(404, f"No issue link type with id '{raw}' found.")
        return raw

    def read_link_type(c: Call, current: str | None) -> tuple[str, str, str]:
        body = c.obj()
        old = sb.store.link_types[current] if current else ("", "", "")
        values = tuple(str(body.get(k, old[i]) or "").strip() for i, k in enumerate(("name", "inward", "outward")))
        missing = {k: f"The issue link type {k} must not be empty." for k, v in zip(("name", "inward", "outward"),
                                                                                    values, strict=True) if not v}
        if missing:
            raise fail(400, None, missing)
        name = values[0]
        if any(n.lower() == name.lower() and k != current for k, (n, _i, _o) in sb.store.link_types.items()):
            raise fail(404 if current is None else 400, f"An issue link type with the name '{name}' already exists.")
        return values  # type: ignore[return-value]

    def create_link_type(c: Call) -> Response:
        with sb.store.lock:
            values = read_link_type(c, None)
            ident = str(max((int(k) for k in sb.store.link_types), default=9999) + 1)
            sb.store.link_types[ident] = values
        return json_response(link_type_bean(c, ident), 201)

    def update_link_type(c: Call) -> Response:
        with sb.store.lock:
            ident = link_type_of(c.p["ident"])
            sb.store.link_types[ident] = read_link_type(c, ident)
        return json_response(link_type_bean(c, ident))

    def delete_link_type(c: Call) -> Response:
        with sb.store.lock:
            ident = link_type_of(c.p["ident"])
            for link in [lk for lk in sb.store.links.values() if lk.type_id == ident]:
                sb.store.remove_link(link.id)
            del sb.store.link_types[ident]
        return Response(204)

    link_type = r"/issueLinkType/(?P<ident>[^/]+)"
    sb.route("POST", r"/issueLinkType", admin_only(sb, create_link_type, 404, LINKING_REFUSED), "write")
    sb.route("GET", link_type, lambda c: json_response(link_type_bean(c, link_type_of(c.p["ident"]))))
    sb.route("PUT", link_type, admin_only(sb, update_link_type, 404, LINKING_REFUSED), "write")
    sb.route("DELETE", link_type, admin_only(sb, delete_link_type, 404, LINKING_REFUSED), "write")
