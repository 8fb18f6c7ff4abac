"""Lookups by name or project that sit beside the catalog searches: GET `/statuses/byNames`,
`/issuetypescheme/project` and `/issuetypescheme/mapping` (the spec's JiraStatus list, PageBeanIssueTypeSchemeProjects
and PageBeanIssueTypeSchemeMapping).

- `/statuses/byNames?name=` (required, repeatable or comma-separated; 400 without [unc: wording]): the global
  statuses with those names (any case [unc]), in the order asked. With `projectId` (it must exist, else 400, as
  `/statuses/search` says) only that project's own statuses would match, and the sandbox has none [unc].
- `/issuetypescheme/project?projectId=` (required, repeatable): the schemes of those company-managed projects
  (`routes_site`'s list), each `{"issueTypeScheme": {...}, "projectIds": [...]}` with only the asked projects;
  team-managed projects have no scheme, so they add nothing. Paged (`startAt`, `maxResults` default 50).
- `/issuetypescheme/mapping[?issueTypeSchemeId=]`: `{"issueTypeSchemeId","issueTypeId"}` rows; every scheme holds
  every issue type here (as `expand=issueTypes` on `/issuetypescheme` shows).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sandbox.core.http import Response, json_response
from sandbox.jira import catalog as C
from sandbox.jira.admin_guard import admin_only
from sandbox.jira.call import Call
from sandbox.jira.errors import fail
from sandbox.jira.routes_catalog_search import ids_of, page, status_json
from sandbox.jira.routes_site import _schemes

if TYPE_CHECKING:
    from sandbox.jira.sandbox import JiraSandbox


def register(sb: JiraSandbox) -> None:
    def by_names(c: Call) -> Response:
        names = ids_of(c, "name")
        if not names:
            raise fail(400, "The name parameter is required.")  # [unc: wording]
        scoped = c.q("projectId")
        if scoped and not any(p.id == scoped for p in sb.store.projects.values()):
            raise fail(400, f"The project with ID '{scoped}' does not exist.")
        out = []
        for name in names:
            sid = C.STATUS_BY_NAME.get(name.lower())
            if sid and not scoped and sid not in [s["id"] for s in out]:
                out.append(status_json(sid))
        return json_response(out)

    def scheme_projects(c: Call) -> Response:
        wanted = ids_of(c, "projectId")
        if not wanted:
            raise fail(400, "The projectId parameter is required.")  # [unc: wording]
        rows = []
        for s in _schemes(sb):
            ids = [p.id for p in s["_projects"] if p.id in wanted]
            if ids:
                rows.append({"issueTypeScheme": {k: v for k, v in s.items() if not k.startswith("_")},
                             "projectIds": ids})
        return json_response(page(c, rows, "issuetypescheme/project"))

    def scheme_mapping(c: Call) -> Response:
        wanted = ids_of(c, "issueTypeSchemeId")
        rows = [{"issueTypeSchemeId": s["id"], "issueTypeId": t} for s in _schemes(sb)
                if not wanted or s["id"] in wanted for t in sb.store.issue_types]
        return json_response(page(c, rows, "issuetypescheme/mapping"))

    sb.route("GET", r"/statuses/byNames", by_names)
    sb.route("GET", r"/issuetypescheme/project", admin_only(sb, scheme_projects))
    sb.route("GET", r"/issuetypescheme/mapping", admin_only(sb, scheme_mapping))
