"""Lookups both python clients call that the other route modules do not serve.

- `GET /field/search` (atlassian-python-api `get_custom_fields`): a page of fields (`startAt`, `maxResults`,
  `type` custom|system, `id`, `query` on name or description, `projectIds`, `orderBy` (`field_search_expand`);
  `key`/`stableId`, `isLocked`, `searcherKey`, `screensCount`, `contextsCount`, `projectsCount`, `lastUsed` only
  when expanded; `description` when the field has one.
- `GET /user/viewissue/search` (pycontribs `search_allowed_users_for_issue`, atlassian
  `get_users_with_browse_permission_to_a_project`): `query` or `accountId` (not both) and `issueKey` or
  `projectKey` are required (400). As Jira documents, the page (`startAt`/`maxResults`) is cut from all users
  first and then filtered, so a page is usually shorter than `maxResults`.
- `GET /attachment/{id}/expand/human` and `/expand/raw`: the entries of a ZIP attachment; any other file
  answers 200 with no entries ("empty, corrupt, or not an archive").
- `properties_of(sb, issue, wanted)`: the `properties` member of an issue bean for `?properties=`
  (`*all`, key lists, `-key` to leave one out).
"""

from __future__ import annotations

import io
import mimetypes
import zipfile
from typing import TYPE_CHECKING, Any

from sandbox.core.http import Response, json_response
from sandbox.jira import catalog as C
from sandbox.jira.call import Call, paged
from sandbox.jira.errors import fail
from sandbox.jira.field_search_expand import add_expanded, check_order, in_projects, project_filter, sort_fields
from sandbox.jira.ids import is_id
from sandbox.jira.routes_field_admin import created_fields

if TYPE_CHECKING:
    from sandbox.jira.model import Issue
    from sandbox.jira.sandbox import JiraSandbox


def properties_of(sb: JiraSandbox, issue: Issue, wanted: list[str]) -> dict[str, Any]:
    """The issue's entity properties named by the `properties` parameter values (comma lists allowed)."""
    names = [n.strip() for item in wanted for n in item.split(",") if n.strip()]
    stored = sb.store.work.get("properties", {}).get(issue.id, {})
    keep = set(stored) if "*all" in names else {n for n in names if not n.startswith("-")}
    keep -= {n[1:] for n in names if n.startswith("-")}
    return {k: v for k, v in stored.items() if k in keep}


def _human_size(n: int) -> str:
    # Jira's own examples: "0.0 k", "119 kB", "1.36 MB" [unc: exact rounding rules]
    if n < 1024:
        return f"{n / 1024:.1f} k"
    if n < 1024 * 1024:
        return f"{round(n / 1024)} kB"
    return f"{n / (1024 * 1024):.2f} MB"


def _zip_entries(data: bytes) -> list[zipfile.ZipInfo]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            return [i for i in zf.infolist() if not i.is_dir()]
    except (zipfile.BadZipFile, ValueError):
        return []


def register(sb: JiraSandbox) -> None:
    def field_search(c: Call) -> Response:
        kinds = {k.strip().lower() for item in c.qlist("type") for k in item.split(",") if k.strip()}
        ids = {i.strip() for item in c.qlist("id") for i in item.split(",") if i.strip()}
        query = (c.q("query") or "").lower()
        expand = {e.strip() for item in c.qlist("expand") for e in item.split(",")}
        projects, made = project_filter(sb, c.qlist("projectIds")), sb.store.work.get("fields", {})
        out = []
        for fid, name, typ, extra, _clauses in C.system_fields() + C.custom_fields() + created_fields(sb):
            custom = fid.startswith("customfield_")
            if kinds and ("custom" if custom else "system") not in kinds:
                continue
            about = str(made.get(extra.get("customId"), {}).get("description") or "")
            if (ids and fid not in ids) or (query and query not in name.lower() and query not in about.lower()):
                continue
            if projects is not None and not in_projects(sb, fid, projects):
                continue
            entry: dict[str, Any] = {"id": fid, "name": name, "schema": {"type": typ, **extra},
                                     **({"description": about} if about else {})}
            if "key" in expand:
                entry["key"] = fid
            if "stableId" in expand:
                entry["stableId"] = f"sfid:{fid}"
            out.append(add_expanded(sb, entry, expand))
        out = sort_fields(out, sb, check_order(c.q("orderBy") or ""))
        start, limit = c.qint("startAt", 0), c.qint("maxResults", 50, 1, 1000)
        return json_response(paged(out, start, limit, f"{c.r.api}/field/search?maxResults={limit}&startAt={start}"))

    def view_issue_users(c: Call) -> Response:
        query, account = c.q("query"), c.q("accountId")
        if not query and not account:
            raise fail(400, "The query parameter 'query' or 'accountId' is required.")
        if query and account:
            raise fail(400, "The query parameters 'query' and 'accountId' can not be used together.")
        issue_key, project_key = c.q("issueKey"), c.q("projectKey")
        if not issue_key and not project_key:
            raise fail(400, "The query parameter 'issueKey' or 'projectKey' is required.")
        if issue_key and sb.store.resolve(issue_key) is None:
            raise fail(404, f"Issue '{issue_key}' could not be found.")
        if project_key and project_key not in sb.store.projects:  # projectKey is case sensitive
            raise fail(404, f"No project could be found with key '{project_key}'.")
        start, limit = c.qint("startAt", 0), c.qint("maxResults", 50, 1, 1000)
        window = list(sb.store.users.values())[:1000][start:start + limit]
        q = (query or "").lower()
        hits = [c.r.user(u.account_id) for u in window if u.active and u.account_type == "atlassian"
                and (u.account_id == account if account else u.found_by(q))]
        return json_response(hits)

    def archive(c: Call) -> tuple[Any, list[zipfile.ZipInfo]]:
        ref = c.p["attachment"]
        att = sb.store.attachment(int(ref)) if is_id(ref) else None
        if att is None or att.issue_id not in sb.store.issues:
            raise fail(404, f"The attachment with id '{ref}' does not exist")
        return att, _zip_entries(att.data)

    def media(name: str) -> str:
        return mimetypes.guess_type(name)[0] or "application/octet-stream"

    def expand_human(c: Call) -> Response:
        att, entries = archive(c)
        return json_response({"id": att.id, "name": att.filename, "entries": [
            {"path": e.filename, "index": n, "size": _human_size(e.file_size), "mediaType": media(e.filename),
             "label": e.filename} for n, e in enumerate(entries)],
            "totalEntryCount": len(entries), "mediaType": att.mime_type})

    def expand_raw(c: Call) -> Response:
        _att, entries = archive(c)
        return json_response({"entries": [
            {"entryIndex": n, "name": e.filename, "size": e.file_size, "mediaType": media(e.filename)}
            for n, e in enumerate(entries)], "totalEntryCount": len(entries)})

    sb.route("GET", r"/field/search", field_search)
    sb.route("GET", r"/user/viewissue/search", view_issue_users)
    sb.route("GET", r"/attachment/(?P<attachment>\d+)/expand/human", expand_human)
    sb.route("GET", r"/attachment/(?P<attachment>\d+)/expand/raw", expand_raw)
