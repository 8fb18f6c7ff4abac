"""GET `/rest/api/{2,3}/component`: "Find components for projects" (the spec's PageBean2ComponentJsonBean).

- `projectIdsOrKeys`: project ids or keys (case sensitive, as the spec says), repeated or comma-separated; an
  unknown one is the spec's 404. Without it, the components of every project [unc].
- `query`: case-insensitive substring of the `name` or `description`; `orderBy`: `name` or `description`, `+`/`-`
  for the direction (default by name [unc]).
- Page: `self`, `nextPage` (while not the last), `startAt`, `maxResults` (default 50), `total`, `isLast`, `values`.
  Each value is a ComponentJsonBean as the spec's example shows it: `self`, `id`, `name`, `description` (the
  sandbox has no global, `ari`-carrying components).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.core.http import Response, json_response
from sandbox.jira.call import Call
from sandbox.jira.errors import fail
from sandbox.jira.routes_catalog_search import page

if TYPE_CHECKING:
    from sandbox.jira.sandbox import JiraSandbox

ORDERS = ("name", "description")


def _projects(sb: JiraSandbox, refs: list[str]) -> list[str]:
    keys = []
    for ref in refs:
        found = [p.key for p in sb.store.projects.values() if ref in (p.key, str(p.id))]
        if not found:
            raise fail(404, f"No project could be found with key '{ref}'.")  # [unc: wording]
        keys += found
    return keys


def register(sb: JiraSandbox) -> None:
    def find(c: Call) -> Response:
        refs = [r.strip() for v in c.qlist("projectIdsOrKeys") for r in v.split(",") if r.strip()]
        keys = set(_projects(sb, refs)) if refs else set(sb.store.projects)
        order = c.q("orderBy") or "name"
        field, reverse = order.lstrip("+-"), order.startswith("-")
        if field not in ORDERS:
            raise fail(400, f"Invalid orderBy value '{order}'.")  # [unc: wording]
        needle = (c.q("query") or "").lower()
        comps: list[dict[str, Any]] = [x for x in sb.store.work.get("components", {}).values()
                                       if x["project"] in keys]
        if needle:
            comps = [x for x in comps if needle in x["name"].lower() or needle in (x.get("description") or "").lower()]
        comps.sort(key=lambda x: ((x.get(field) or "").lower(), int(x["id"])), reverse=reverse)
        values = [{"self": f"{c.r.api}/component/{x['id']}", "id": str(x["id"]), "name": x["name"],
                   "description": x.get("description") or ""} for x in comps]
        return json_response(page(c, values, "component"))

    sb.route("GET", r"/component", find)
