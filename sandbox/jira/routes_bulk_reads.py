"""Bulk reads connectors use, and the issue e-mail notification.

- POST `/changelog/bulkfetch` `{"issueIdsOrKeys" (1..1000), "fieldIds"? (at most 10), "maxResults"? (default
  1000, at most 10000), "nextPageToken"?}`: every changelog of those issues, oldest first (then by issue id),
  cut into pages of `maxResults` changelogs and grouped per issue: `{"issueChangeLogs": [{"issueId",
  "changeHistories"}], "nextPageToken"?}`. With `fieldIds` only those items, and only changelogs that still
  have one, are returned. Unknown issues are left out.
- POST `/comment/list` `{"ids"}` (at most 1000; `expand=renderedBody,properties`): a page of the comments that
  exist, by id.
- POST `/issue/{key}/changelog/list` `{"changelogIds"}` (at most 1000): `{"histories", "startAt": 0,
  "maxResults", "total"}`, the issue's changelogs with those ids, oldest first.
- GET `/user/bulk?accountId=..` (repeatable, at most 90 ids; `startAt`, `maxResults` default 10): a page of the
  users found. GET `/label` (`startAt`, `maxResults` default 1000): every label in use, sorted.
- POST `/issue/{key}/notify` (204): needs a `subject`-less or subject'd body with at least one recipient in
  `to` (reporter/assignee/watchers/voters/users/groups); 400 when nobody would receive it. Sent mails are kept
  in `sb.store.work["notifications"]`.
"""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any

from sandbox.core.http import Response, json_response
from sandbox.core.numbers import json_int
from sandbox.jira.call import Call, paged
from sandbox.jira.errors import fail, not_found_issue
from sandbox.jira.extras import FIRST_NEW_ID
from sandbox.jira.ids import is_id
from sandbox.jira.routes_children import _comment_bean
from sandbox.jira.routes_roles import sees

if TYPE_CHECKING:
    from sandbox.jira.model import Comment
    from sandbox.jira.sandbox import JiraSandbox


def _token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode().rstrip("=")


def _offset(token: Any) -> int:
    if token in (None, ""):
        return 0
    try:
        offset = json_int(json.loads(base64.urlsafe_b64decode(str(token) + "=" * (-len(str(token)) % 4)))["o"])
    except (ValueError, KeyError, TypeError):
        offset = None
    if offset is None:  # json_int, not int(): an "o" of 1e999 was an OverflowError (a 500), "٣" read as 3 [round 27]
        raise fail(400, "The provided next page token is invalid.")
    return offset


def find_comment(sb: JiraSandbox, comment_id: int) -> Comment | None:
    """A live comment by id: seeded ones by their derived id, new ones from the store."""
    owner = (comment_id - 100_000) // 5 + 10_000 if 100_000 <= comment_id < FIRST_NEW_ID else None
    issues = [sb.store.issues[owner]] if owner in sb.store.issues else []
    if owner is None:
        issues = [sb.store.issues[i] for i in list(sb.store._comments) if i in sb.store.issues]
    for issue in issues:
        for comment in sb.store.comments_of(issue):
            if comment.id == comment_id:
                return comment
    return None


def register(sb: JiraSandbox) -> None:
    def changelogs(c: Call) -> Response:
        body = c.obj()
        refs, fields = body.get("issueIdsOrKeys"), body.get("fieldIds") or []
        if not isinstance(refs, list) or not refs:
            raise fail(400, None, {"issueIdsOrKeys": "Issue IDs or keys must be provided."})
        if len(refs) > 1000:
            raise fail(400, "The number of issues must not exceed 1000.")
        if not isinstance(fields, list) or len(fields) > 10:
            raise fail(400, "The number of field ids must not exceed 10.")
        limit = body.get("maxResults", 1000)
        if not isinstance(limit, int) or not 1 <= limit <= 10_000:
            raise fail(400, "maxResults must be between 1 and 10000.")
        issues = {i.id: i for i in (sb.store.resolve(r) for r in refs) if i is not None}
        rows = []
        for issue in issues.values():
            for h in sb.store.history_of(issue):
                bean = c.r.history(h)
                if fields:
                    bean["items"] = [x for x in bean["items"] if x.get("fieldId") in fields]
                    if not bean["items"]:
                        continue
                rows.append((h.created, issue.id, h.id, bean))
        rows.sort(key=lambda r: r[:3])
        start = _offset(body.get("nextPageToken"))
        chunk = rows[start:start + limit]
        grouped: dict[int, list[dict[str, Any]]] = {}
        for _created, issue_id, _hid, bean in chunk:
            grouped.setdefault(issue_id, []).append(bean)
        out: dict[str, Any] = {"issueChangeLogs": [{"issueId": str(i), "changeHistories": h}
                                                   for i, h in grouped.items()]}
        if start + limit < len(rows):
            out["nextPageToken"] = _token(start + limit)
        return json_response(out)

    def changelog_list(c: Call) -> Response:
        issue = sb.store.resolve(c.p["issue"])
        if issue is None:
            raise not_found_issue()
        ids = c.obj().get("changelogIds")
        if not isinstance(ids, list) or not ids:
            raise fail(400, None, {"changelogIds": "Changelog IDs must be provided."})
        if len(ids) > 1000:
            raise fail(400, "The number of changelog IDs must not exceed 1000.")
        wanted = {int(x) for x in ids if is_id(str(x))}
        found = [c.r.history(h) for h in sb.store.history_of(issue) if h.id in wanted]
        return json_response({"startAt": 0, "maxResults": len(found), "total": len(found), "histories": found})

    def comment_list(c: Call) -> Response:
        ids = c.obj().get("ids")
        if not isinstance(ids, list) or not ids:
            raise fail(400, None, {"ids": "The list of comment IDs must not be empty."})
        if len(ids) > 1000:
            raise fail(400, "The number of comment IDs must not exceed 1000.")
        found = [find_comment(sb, int(x)) for x in sorted({int(x) for x in ids if is_id(str(x))})]
        beans = [_comment_bean(c, x) for x in found if x is not None
                 and sees(sb, c.user, sb.store.issues[x.issue_id].project, x.visibility)]
        start, limit = c.qint("startAt", 0), c.qint("maxResults", 1_048_576, 1, 1_048_576)
        return json_response(paged(beans, start, limit))

    def user_bulk(c: Call) -> Response:
        ids = [x for item in c.qlist("accountId") for x in item.split(",") if x]
        if not ids:
            raise fail(400, "At least one accountId must be provided.")
        if len(ids) > 90:
            raise fail(400, "The number of account IDs must not exceed 90.")
        users = [c.r.user(a) for a in dict.fromkeys(ids) if a in sb.store.users]
        start, limit = c.qint("startAt", 0), c.qint("maxResults", 10, 1, 90)
        return json_response(paged(users, start, limit, f"{c.r.api}/user/bulk?startAt={start}&maxResults={limit}"))

    def labels(c: Call) -> Response:
        found = sorted({lab for i in list(sb.store.issues.values()) for lab in i.labels})
        start, limit = c.qint("startAt", 0), c.qint("maxResults", 1000, 1, 1000)
        return json_response(paged(found, start, limit, f"{c.r.api}/label?startAt={start}&maxResults={limit}"))

    def notify(c: Call) -> Response:
        issue = sb.store.resolve(c.p["issue"])
        if issue is None:
            raise not_found_issue()
        body = c.obj()
        to = body.get("to") or {}
        if not isinstance(to, dict):
            raise fail(400, "Can not deserialize instance of NotificationRecipients out of non-object token")
        people: set[str] = set()
        if to.get("reporter") and issue.reporter:
            people.add(issue.reporter)
        if to.get("assignee") and issue.assignee:
            people.add(issue.assignee)
        if to.get("watchers"):
            watching = sb.store.work["watchers"].get(issue.id)
            people.update([issue.reporter] if watching is None and issue.reporter else watching or ())
        if to.get("voters"):
            people.update(sb.store.work.get("votes", {}).get(issue.id, ()))
        for user in to.get("users") or []:
            account = user.get("accountId") if isinstance(user, dict) else None
            if account not in sb.store.users:
                raise fail(400, f"The user with accountId '{account}' does not exist.")
            people.add(account)
        groups = [g.get("name") or g.get("groupId") for g in to.get("groups") or [] if isinstance(g, dict)]
        if not people and not groups:
            raise fail(400, "The notification has no recipients.")
        with sb.store.lock:
            sb.store.work.setdefault("notifications", []).append(
                {"issue": issue.key, "subject": body.get("subject"), "textBody": body.get("textBody"),
                 "htmlBody": body.get("htmlBody"), "to": sorted(people), "groups": groups, "from": c.user})
        return Response(status=204)

    sb.route("POST", r"/changelog/bulkfetch", changelogs)
    sb.route("POST", r"/comment/list", comment_list)
    sb.route("POST", r"/issue/(?P<issue>[A-Za-z0-9_-]+)/changelog/list", changelog_list)
    sb.route("GET", r"/user/bulk", user_bulk)
    sb.route("GET", r"/label", labels)
    sb.route("POST", r"/issue/(?P<issue>[A-Za-z0-9_-]+)/notify", notify, "write")
