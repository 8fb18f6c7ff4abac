"""Admin scheme reads the other scheme modules lack, and the Administer-Jira guard the admin-only ones share.

- `/fieldconfigurationscheme` answers 403 without Administer Jira (`admin_guard`); `/priorityscheme` needs only
  "permission to access Jira" (no 403 in the spec).
- GET `/fieldconfigurationscheme?startAt&maxResults&id=` (paged, Administer Jira): a fresh Cloud site's
  projects use the system default field configuration, which is no scheme, so the page is empty [unc].
- GET `/fieldconfiguration?startAt&maxResults&id&isDefault&query` (paged, Administer Jira): the system "Default
  Field Configuration" (id 10000, `isDefault` true) [unc: description]; `id` / `query` (name or description,
  any case) filter it, a non-numeric id is a 400 [unc: wording].
- GET `/priorityscheme?startAt&maxResults&priorityId&schemeId&schemeName&onlyDefault&orderBy&expand` (paged):
  one "Default Priority Scheme" (id "1", every priority, every project, default priority Medium) [unc: id];
  it reads `"default": true` as the spec's schema has it (the spec's example shows the write-only `isDefault`);
  `expand=priorities` / `projects` add the paged `priorities` (PriorityWithSequence) / `projects`
  (ProjectDetails); an `orderBy` other than name|+name|-name is a 400.
- GET `/priorityscheme/{id}/priorities` (paged PriorityWithSequence) and `/priorityscheme/{id}/projects`
  (paged full project beans; `projectId` and `query` (key or name, case-insensitive [unc]) filter); a scheme
  other than "1" is a 400, the spec listing no 404 [unc].
- GET `/license/approximateLicenseCount` and `/license/approximateLicenseCount/product/{applicationKey}`
  (Administer Jira, else 403 with the spec's example words): a LicenseMetric `{"key","value"}` counting the
  site's active Atlassian accounts [unc: every account holds every product]; a key outside the spec's enum is a
  400 [unc].
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.core.http import Response, json_response
from sandbox.jira import catalog as C
from sandbox.jira.admin_guard import admin_only
from sandbox.jira.call import Call, paged
from sandbox.jira.errors import fail
from sandbox.jira.routes_catalog_search import COLORS, DEFAULT_PRIORITY, ids_of, page
from sandbox.jira.routes_platform import project_bean

if TYPE_CHECKING:
    from sandbox.jira.sandbox import JiraSandbox

FIELD_CONFIGURATION = {"id": 10000, "name": "Default Field Configuration",
                       "description": "The default field configuration", "isDefault": True}
PRODUCTS = ("jira-core", "jira-product-discovery", "jira-software", "jira-servicedesk")
PRIORITY_SCHEME = {"id": "1", "name": "Default Priority Scheme",
                   "description": "This is the default scheme used by all new and unassigned projects"}


def _sub_page(items: list[Any]) -> dict[str, Any]:
    return paged(items, 0, 50)


def register(sb: JiraSandbox) -> None:
    def field_configuration_schemes(c: Call) -> Response:
        for ident in ids_of(c, "id"):
            if not ident.isdecimal():
                raise fail(400, f"The value '{ident}' is not a valid number.")  # [unc] wording
        return json_response(page(c, [], "fieldconfigurationscheme"))

    def priority_bean(c: Call, pid: str, sequence: int) -> dict[str, Any]:
        return {"id": pid, "name": C.PRIORITIES[pid], "description": f"{C.PRIORITIES[pid]} priority.",
                "iconUrl": f"{c.r.base}/images/icons/priorities/{C.PRIORITIES[pid].lower()}.svg",
                "statusColor": COLORS[pid], "isDefault": pid == DEFAULT_PRIORITY, "sequence": str(sequence),
                "self": f"{c.r.api}/priority/{pid}"}

    def scheme_bean(c: Call, expand: set[str]) -> dict[str, Any]:
        out: dict[str, Any] = {**PRIORITY_SCHEME, "default": True,  # `isDefault` is write-only [unc]
                               "defaultPriorityId": DEFAULT_PRIORITY,
                               "self": f"{c.r.api}/priorityscheme/{PRIORITY_SCHEME['id']}"}
        if "priorities" in expand:
            out["priorities"] = _sub_page([priority_bean(c, p, n) for n, p in enumerate(C.PRIORITIES, 1)])
        if "projects" in expand:
            out["projects"] = _sub_page([c.r.project_ref(k) for k in sorted(sb.store.projects)])
        return out

    def priority_schemes(c: Call) -> Response:
        order = c.q("orderBy") or "+name"
        if order not in ("name", "+name", "-name"):
            raise fail(400, f"Invalid orderBy value: {order}.")  # [unc] wording
        for ident in ids_of(c, "schemeId") + ids_of(c, "priorityId"):
            if not ident.lstrip("-").isdecimal():
                raise fail(400, f"The value '{ident}' is not a valid number.")  # [unc] wording
        wanted, priorities = ids_of(c, "schemeId"), ids_of(c, "priorityId")
        name = (c.q("schemeName") or "").lower()
        keep = ((not wanted or PRIORITY_SCHEME["id"] in wanted) and name in PRIORITY_SCHEME["name"].lower()
                and all(p in C.PRIORITIES for p in priorities))
        expand = {x.strip() for x in (c.q("expand") or "").split(",") if x.strip()}
        rows = [scheme_bean(c, expand)] if keep else []  # the one scheme is the default: onlyDefault keeps it
        return json_response(page(c, rows, "priorityscheme"))

    def field_configurations(c: Call) -> Response:
        ids = ids_of(c, "id")
        for ident in ids:
            if not ident.isdecimal():
                raise fail(400, f"The value '{ident}' is not a valid number.")  # [unc] wording
        query = (c.q("query") or "").lower()
        words = [str(FIELD_CONFIGURATION[k]).lower() for k in ("name", "description")]
        keep = (not ids or str(FIELD_CONFIGURATION["id"]) in ids) and any(query in w for w in words)
        return json_response(page(c, [dict(FIELD_CONFIGURATION)] if keep else [], "fieldconfiguration"))

    def known_scheme(c: Call) -> None:
        if c.p["scheme"] != PRIORITY_SCHEME["id"]:
            raise fail(400, f"The priority scheme with ID {c.p['scheme']} does not exist.")  # [unc] 400, wording

    def scheme_priorities(c: Call) -> Response:
        known_scheme(c)
        rows = [priority_bean(c, p, n) for n, p in enumerate(C.PRIORITIES, 1)]
        return json_response(page(c, rows, f"priorityscheme/{PRIORITY_SCHEME['id']}/priorities"))

    def scheme_projects(c: Call) -> Response:
        known_scheme(c)
        wanted = ids_of(c, "projectId")
        query = (c.q("query") or "").lower()
        keys = [p.key for p in sorted(sb.store.projects.values(), key=lambda p: p.key)
                if (not wanted or p.id in wanted) and (query in p.key.lower() or query in p.name.lower())]
        return json_response(page(c, [project_bean(sb, c, k) for k in keys],
                                  f"priorityscheme/{PRIORITY_SCHEME['id']}/projects"))

    def licence_count(c: Call) -> Response:
        if not sb.holds(c.user, "ADMINISTER", []):  # type: ignore[attr-defined]  # routes_roles
            raise fail(403, "Only Jira administrators can access license details.")
        product = c.p.get("product")
        if product is not None and product not in PRODUCTS:
            raise fail(400, f"Invalid application key: {product}.")  # [unc] wording
        count = sum(1 for u in sb.store.users.values() if u.account_type == "atlassian" and u.active)
        key = f"license.{product}.approximateUserCount" if product else "license.totalApproximateUserCount"
        return json_response({"key": key, "value": str(count)})

    sb.route("GET", r"/fieldconfigurationscheme", admin_only(sb, field_configuration_schemes))
    sb.route("GET", r"/fieldconfiguration", admin_only(sb, field_configurations))
    sb.route("GET", r"/priorityscheme/(?P<scheme>[^/]+)/priorities", scheme_priorities)
    sb.route("GET", r"/priorityscheme/(?P<scheme>[^/]+)/projects", scheme_projects)
    sb.route("GET", r"/license/approximateLicenseCount", licence_count)
    sb.route("GET", r"/license/approximateLicenseCount/product/(?P<product>[^/]+)", licence_count)
    sb.route("GET", r"/priorityscheme", priority_schemes)
