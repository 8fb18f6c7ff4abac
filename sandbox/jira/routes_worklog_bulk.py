"""Bulk worklog operations (the spec's experimental pair; atlassian-python-api `JiraCloud.bulk_delete_worklogs`
and `bulk_move_worklogs`). Both answered 405/404 before round 33.

- `DELETE /issue/{key}/worklog` `{"ids": [...]}`: 204; each worklog as DELETE `/worklog/{id}` would remove it
  (one changelog entry for the lot [unc]), no notifications. `adjustEstimate` leave|auto (default auto).
- `POST /issue/{key}/worklog/move` `{"ids": [...], "issueIdOrKey": "<destination>"}`: 204; the worklogs keep
  their ids, authors and dates; no history, events or webhooks, as the spec says (the issues' remaining
  estimates follow `adjustEstimate`, and their `updated` moves [unc]). Worklogs restricted to a project role
  can't be moved (400).
- Both: 400 for a missing or malformed `ids` (not a non-empty list of unique integers), more than 5000 ids, or
  a worklog the caller may not delete (Delete Own/All Worklogs; move also Edit); 404 when the issue (or the
  destination) is not found or an id is not a worklog of the issue the caller can see. Wordings are [unc].
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from sandbox.core.http import Response
from sandbox.jira.call import Call
from sandbox.jira.errors import fail
from sandbox.jira.estimates import adjusted
from sandbox.jira.ownership import may_change
from sandbox.jira.routes_roles import sees
from sandbox.jira.routes_work import _state

if TYPE_CHECKING:
    from sandbox.jira.model import Issue
    from sandbox.jira.sandbox import JiraSandbox

MAX_IDS = 5000


def register(sb: JiraSandbox) -> None:
    from sandbox.jira.routes_issues import issue_of

    key = r"/issue/(?P<issue>[A-Za-z0-9_-]+)"

    def logs_of(issue: Issue) -> list[dict[str, Any]]:
        return _state(sb)["worklogs"].setdefault(issue.id, [])

    def estimate_mode(c: Call) -> None:
        if (c.q("adjustEstimate") or "auto").lower() not in ("auto", "leave"):
            raise fail(400, None, {"adjustEstimate": "adjustEstimate must be one of leave or auto."})

    def chosen(c: Call, issue: Issue, verbs: tuple[str, ...]) -> list[dict[str, Any]]:
        """The request's worklogs of `issue`, once every one may be changed by the caller."""
        ids = c.obj().get("ids")
        if not isinstance(ids, list) or not ids or any(isinstance(i, bool) or not isinstance(i, int) for i in ids) \
                or len(set(ids)) != len(ids):
            raise fail(400, "The request is not valid: 'ids' must be a list of unique worklog ids.")
        if len(ids) > MAX_IDS:
            raise fail(400, f"You can't change more than {MAX_IDS} worklogs at once.")
        mine = {w["id"]: w for w in logs_of(issue) if sees(sb, c.user, issue.project, w.get("visibility"))}
        missing = [i for i in ids if i not in mine]
        if missing:
            raise fail(404, f"Worklogs {missing} are not associated with the issue {issue.key}.")
        picked = [mine[i] for i in ids]
        for w in picked:
            for verb in verbs:
                if not may_change(sb, c.user, issue.project, w.get("author"), f"{verb}_OWN_WORKLOGS",
                                  f"{verb}_ALL_WORKLOGS"):
                    raise fail(400, f"You do not have the permission to {verb.lower()} worklog {w['id']}.")
        return picked

    def bulk_delete(c: Call) -> Response:
        issue = issue_of(sb, c.p["issue"])
        estimate_mode(c)
        picked = chosen(c, issue, ("DELETE",))
        seconds = sum(w["seconds"] for w in picked)
        remaining = adjusted(c, issue, -seconds, deleting=True)
        with sb.store.lock:
            before = sum(w["seconds"] for w in logs_of(issue))
            gone = {w["id"] for w in picked}
            logs_of(issue)[:] = [w for w in logs_of(issue) if w["id"] not in gone]
            sb.store.relations_version += 1  # worklogDate/Author/Comment results are cached on it
            now = sb.store.now_ms()
            sb.store.work.setdefault("worklogs_deleted", []).extend({"id": i, "time": now} for i in sorted(gone))
        log = {"timespent": (before, (before - seconds) or None)}  # [unc] the items of a bulk delete
        sb.store.update(issue.id, {"remaining_estimate": remaining, "_worklog": log}, c.user, "issue_worklog_deleted")
        return Response(status=204)

    def quietly(issue: Issue, remaining: int | None) -> None:
        """A new remaining estimate and `updated`, with no history or event (the spec's move)."""
        with sb.store.lock:
            old = sb.store.issues[issue.id]
            sb.store._put(dataclasses.replace(sb.store._freeze(old), remaining_estimate=remaining,
                                              updated=sb.store.now_ms()))

    def bulk_move(c: Call) -> Response:
        issue = issue_of(sb, c.p["issue"])
        estimate_mode(c)
        target_ref = c.obj().get("issueIdOrKey")
        if not isinstance(target_ref, str) or not target_ref:
            raise fail(400, "The request is not valid: 'issueIdOrKey' of the destination issue is required.")
        target = issue_of(sb, target_ref)
        if target.id == issue.id:
            raise fail(400, "The destination issue must not be the source issue.")
        picked = chosen(c, issue, ("DELETE", "EDIT"))
        if any((w.get("visibility") or {}).get("type") == "role" for w in picked):
            raise fail(400, "Worklogs restricted by project roles can't be moved.")
        seconds = sum(w["seconds"] for w in picked)
        source_left, target_left = adjusted(c, issue, -seconds, deleting=True), adjusted(c, target, seconds)
        with sb.store.lock:
            gone = {w["id"] for w in picked}
            logs_of(issue)[:] = [w for w in logs_of(issue) if w["id"] not in gone]
            logs_of(target).extend(picked)
            sb.store.relations_version += 1
        quietly(issue, source_left)
        quietly(target, target_left)
        return Response(status=204)

    sb.route("DELETE", key + r"/worklog", bulk_delete, "write")
    sb.route("POST", key + r"/worklog/move", bulk_move, "write")
