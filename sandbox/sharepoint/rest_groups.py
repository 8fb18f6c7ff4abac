"""SharePoint REST v1 site groups, as office365-rest-python-client's ``Web.site_groups`` and
``Web.associated_*_group`` read them (``rest.py`` routes ``web/SiteGroups…`` and ``web/Associated…Group`` here):

- ``web/SiteGroups`` (``$filter``/``$orderby``/``$top``/``$select`` over the rows): the site's three default
  groups, ``<site> Owners`` (3), ``<site> Visitors`` (4) and ``<site> Members`` (5), the same the web's
  ``RoleAssignments`` name (``rest_schema.py``);
- ``web/SiteGroups/GetById(n)``, ``web/SiteGroups(n)``, ``web/SiteGroups/GetByName('<title>')``: one group;
  an unknown one is 404 "Group cannot be found." [unc: the status and text];
- ``web/AssociatedOwnerGroup`` / ``AssociatedMemberGroup`` / ``AssociatedVisitorGroup``: the matching group;
- ``…/Users`` of a group: empty [unc: the sandbox has no people in the groups; an app-only principal is in
  none of them] and ``…/Owner``: the Owners group, as SharePoint makes it each default group's owner.

The groups are read-only here: any other method is 403 Access denied, as the role assignments are [unc]."""

from __future__ import annotations

from typing import Any

from sandbox.core.http import Request, Response
from sandbox.sharepoint.rest import args
from sandbox.sharepoint.rest_errors import BAD, DENIED, RestError
from sandbox.sharepoint.rest_filter import query_rows
from sandbox.sharepoint.rest_schema import GROUPS

NO_GROUP = ("-2146232832, Microsoft.SharePoint.SPException", "Group cannot be found.")  # [unc]
ASSOCIATED = {"associatedownergroup": 3, "associatedmembergroup": 5, "associatedvisitorgroup": 4}
GROUP_ROUTES = ("sitegroups", *ASSOCIATED)


class RestGroups:
    """Mixed into ``GraphSandbox`` with ``RestSchema`` (its ``_rest_group``)."""

    def _rest_group_rows(self, req: Request, site_name: str) -> list[dict[str, Any]]:
        return [self._rest_group(req, site_name, gid, suffix, False) for gid, suffix, _ in GROUPS]

    def rest_groups_route(self, req: Request, site_name: str, segs: list[tuple[str, str | None]],
                          verbose: bool) -> Response:
        """``segs`` after ``web``."""
        if req.method != "GET":
            raise RestError(403, DENIED)
        names = [n for n, _ in segs]
        rows = self._rest_group_rows(req, site_name)
        if names == ["sitegroups"] and not segs[0][1]:
            picked = query_rows(rows, req.query)
            keep = [s.strip() for s in req.query.get("$select", "").split(",") if s.strip()]
            if keep:
                picked = [{k: v for k, v in r.items() if k in keep or k == "Id"} for r in picked]
            return self._rest_json(self._rest_collection([self._group_entity(req, r, verbose) for r in picked],
                                                         verbose), verbose)
        if names[0] in ASSOCIATED:
            found, rest = next(r for r in rows if r["Id"] == ASSOCIATED[names[0]]), names[1:]
        else:
            by_call = names[1:2] in (["getbyid"], ["getbyname"])
            key = args(segs[1][1] if by_call else segs[0][1]).get("", "")
            field = "Title" if names[1:2] == ["getbyname"] else "Id"
            found = next((r for r in rows if str(r[field]).lower() == key.lower()), None)
            if found is None:
                raise RestError(404, NO_GROUP)
            rest = names[2:] if by_call else names[1:]
        if not rest:
            return self._rest_json(self._group_entity(req, found, verbose), verbose)
        if rest == ["users"]:
            return self._rest_json(self._rest_collection([], verbose), verbose)
        if rest == ["owner"]:
            return self._rest_json(self._group_entity(req, rows[0], verbose), verbose)
        raise RestError(400, BAD)

    def _group_entity(self, req: Request, row: dict[str, Any], verbose: bool) -> dict[str, Any]:
        uri = f"{self._rest_web_url(req)[0]}/_api/Web/SiteGroups/GetById({row['Id']})"
        return self._rest_entity(row, "SP.Group", uri, verbose)
