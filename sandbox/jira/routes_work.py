"""Worklogs, remote links and watchers of an issue.

- Worklogs: GET `/issue/{key}/worklog` (PageOfWorklogs), POST (201; `timeSpent` "1w 2d 3h 4m" with
  Jira's 5-day week and 8-hour day, or `timeSpentSeconds`; 400 `errors.timeLogged` without either),
  GET/PUT/DELETE `/issue/{key}/worklog/{id}` (DELETE 204); `adjustEstimate` moves the remaining estimate
  (`estimates`). Each one is a changelog entry: `timespent` (total seconds), `WorklogId` (and, on edit and
  delete, `WorklogTimeSpent`), plus `timeestimate` when the remaining estimate moved. Rich-text comments:
  ADF on v3, string on v2.
- Remote links: GET list (optional `globalId` filter), POST (201 `{"id","self"}`, or 200 when a link with
  the same `globalId` is updated), GET/PUT/DELETE one, DELETE `?globalId=`.
- Watchers: GET `{"self","isWatching","watchCount","watchers"}`, POST a JSON string accountId (204; 404 for an
  account that does not exist, 400 for a body that is not a string), DELETE `?accountId=` (204; 400 without
  it, 404 for an account that does not exist, as the spec says).

Components and versions live in `routes_versions`, create/edit metadata and assignable users in `routes_meta`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.core.http import Response, json_response
from sandbox.jira import visibility
from sandbox.jira.adf import valid_adf
from sandbox.jira.call import Call
from sandbox.jira.errors import fail
from sandbox.jira.estimates import adjusted
from sandbox.jira.ids import body_int
from sandbox.jira.ownership import may_change
from sandbox.jira.routes_roles import sees
from sandbox.jira.timefmt import parse_duration, parse_jira_ts

if TYPE_CHECKING:
    from sandbox.jira.model import Issue
    from sandbox.jira.sandbox import JiraSandbox


def _state(sb: JiraSandbox) -> dict[str, Any]:
    """This store's worklogs, remote links and watchers (replaced on reset)."""
    return sb.store.work


def register(sb: JiraSandbox) -> None:
    from sandbox.jira.routes_issues import issue_of

    key = r"/issue/(?P<issue>[A-Za-z0-9_-]+)"

    # --- worklogs -----------------------------------------------------------------------------
    def worklogs_of(issue: Issue) -> list[dict[str, Any]]:
        return _state(sb)["worklogs"].setdefault(issue.id, [])

    def read_worklog(c: Call, issue: Issue, body: dict[str, Any], partial: bool) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if body.get("timeSpentSeconds") is not None:
            out["seconds"] = body_int(body["timeSpentSeconds"])  # not int(): 1e999 was an OverflowError, a 500
            if out["seconds"] is None:
                raise fail(400, None, {"timeLogged": "Invalid time duration entered."})
        elif body.get("timeSpent") not in (None, ""):
            seconds = parse_duration(str(body["timeSpent"]))
            if seconds is None:
                raise fail(400, None, {"timeLogged": "Invalid time duration entered."})
            out["seconds"] = seconds
        elif not partial:
            raise fail(400, None, {"timeLogged": "You must indicate the time spent working."})
        if "seconds" in out and out["seconds"] <= 0:
            raise fail(400, None, {"timeLogged": "Time Spent must be greater than 0."})
        if body.get("started"):
            try:
                out["started"] = parse_jira_ts(str(body["started"]))
            except ValueError:
                raise fail(400, None, {"started": "Invalid start date."}) from None
        if "comment" in body:
            comment = body["comment"]
            if comment is not None and (c.version == "3") != valid_adf(comment):
                raise fail(400, None, {"comment": "Comment body is not valid!"})
            out["comment"] = comment
        if "visibility" in body:  # as a comment's: a malformed one is a 400, never stored (round 33 review: a
            # stored "x" made every caller's worklog feeds a 500) [unc] the key Jira files the error under
            out["visibility"] = visibility.checked(sb, c.user, issue.project, body["visibility"])
        return out

    def list_worklogs(c: Call) -> Response:
        issue = issue_of(sb, c.p["issue"])
        logs = [w for w in worklogs_of(issue) if sees(sb, c.user, issue.project, w.get("visibility"))]
        after, before = c.q("startedAfter"), c.q("startedBefore")
        # qint, read once before any filtering, not int(): 'x' was a 500 and '٣' read as 3 [round 27]
        if after:
            since = c.qint("startedAfter", 0, -(2**63), 2**63 - 1)
            logs = [w for w in logs if w["started"] >= since]
        if before:
            until = c.qint("startedBefore", 0, -(2**63), 2**63 - 1)
            logs = [w for w in logs if w["started"] < until]
        start, limit = c.qint("startAt", 0), c.qint("maxResults", 5000, 0, 5000)
        return json_response({"startAt": start, "maxResults": limit, "total": len(logs),
                              "worklogs": [c.r.worklog(issue, w) for w in logs[start:start + limit]]})

    def add_worklog(c: Call) -> Response:
        issue = issue_of(sb, c.p["issue"])
        return json_response(c.r.worklog(issue, log_work(c, issue, c.obj())), 201)

    def log_work(c: Call, issue: Issue, body: dict[str, Any]) -> dict[str, Any]:
        """A new worklog on `issue` (also `update.worklog[{"add": ...}]` on edits and transitions)."""
        data = read_worklog(c, issue, body, partial=False)
        remaining = adjusted(c, issue, data["seconds"])  # before anything is written: a 400 logs nothing
        now = sb.store.now_ms()
        w = {"id": sb.store.new_id(), "author": c.user, "update_author": c.user, "created": now, "updated": now,
             "started": now, "comment": None, **data}
        with sb.store.lock:
            before = spent(issue)
            worklogs_of(issue).append(w)
            sb.store.relations_version += 1  # worklogDate/Author/Comment results are cached on it
        log = {"timespent": (before or None, spent(issue)), "WorklogId": (None, w["id"])}
        issue, _ = sb.store.update(issue.id, {"remaining_estimate": remaining, "_worklog": log}, c.user,
                                   "issue_work_logged")
        hooked(issue, "worklog_created", w)
        return w

    def hooked(issue: Issue, event: str, w: dict[str, Any]) -> None:
        """The admin webhooks' worklog event, the bean as REST v2 shows it (`webhooks.ENTITY_EVENTS`)."""
        sb.webhooks.on_entity(event, "worklog", sb.renderer(sb.url, "2").worklog(issue, w), issue)

    def spent(issue: Issue) -> int:
        return sum(x["seconds"] for x in worklogs_of(issue))

    sb.log_work = log_work  # type: ignore[attr-defined]  # for `update.worklog` in routes_issues

    def find_worklog(c: Call) -> tuple[Issue, dict[str, Any]]:
        issue = issue_of(sb, c.p["issue"])
        for w in worklogs_of(issue):
            if str(w["id"]) == c.p["worklog"] and sees(sb, c.user, issue.project, w.get("visibility")):
                return issue, w  # a restricted worklog the caller may not read is, to them, none
        raise fail(404, "Cannot find worklog with id: " + c.p["worklog"])

    def one_worklog(c: Call) -> Response:
        issue, w = find_worklog(c)
        return json_response(c.r.worklog(issue, w))

    def changeable(c: Call, verb: str) -> tuple[Issue, dict[str, Any]]:
        """The worklog, when the caller may `verb` it (Edit/Delete Own Worklogs for their own, All for anyone's),
        else the spec's 400."""
        issue, w = find_worklog(c)
        if not may_change(sb, c.user, issue.project, w.get("author"), f"{verb.upper()}_OWN_WORKLOGS",
                          f"{verb.upper()}_ALL_WORKLOGS"):
            raise fail(400, f"You do not have the permission to {verb} this worklog.")  # [unc] wording
        return issue, w

    def edit_worklog(c: Call) -> Response:
        issue, w = changeable(c, "edit")
        data = read_worklog(c, issue, c.obj(), partial=True)
        remaining = adjusted(c, issue, data.get("seconds", w["seconds"]) - w["seconds"])
        with sb.store.lock:
            before, old = spent(issue), w["seconds"]
            w.update(data, updated=sb.store.now_ms(), update_author=c.user)
            sb.store.relations_version += 1  # a new `started` or comment: worklogDate/Comment results move
        changes: dict[str, Any] = {"remaining_estimate": remaining}
        if w["seconds"] != old:  # [unc] the items Jira logs for a changed worklog
            changes["_worklog"] = {"timespent": (before, spent(issue)), "WorklogTimeSpent": (old, w["seconds"]),
                                   "WorklogId": (w["id"], w["id"])}
        issue, _ = sb.store.update(issue.id, changes, c.user, "issue_worklog_updated")
        hooked(issue, "worklog_updated", w)
        return json_response(c.r.worklog(issue, w))

    def delete_worklog(c: Call) -> Response:
        issue, w = changeable(c, "delete")
        remaining = adjusted(c, issue, -w["seconds"], deleting=True)
        with sb.store.lock:
            before = spent(issue)
            worklogs_of(issue).remove(w)
            sb.store.relations_version += 1
            sb.store.work.setdefault("worklogs_deleted", []).append({"id": w["id"], "time": sb.store.now_ms()})
        log = {"timespent": (before, spent(issue) or None), "WorklogTimeSpent": (w["seconds"], None),
               "WorklogId": (w["id"], None)}  # [unc] the items of a deleted worklog
        issue, _ = sb.store.update(issue.id, {"remaining_estimate": remaining, "_worklog": log}, c.user,
                                   "issue_worklog_deleted")
        hooked(issue, "worklog_deleted", w)
        return Response(status=204)

    # --- remote links -------------------------------------------------------------------------
    def remote_of(issue: Issue) -> list[dict[str, Any]]:
        return _state(sb)["remote"].setdefault(issue.id, [])

    def remote_bean(c: Call, issue: Issue, link: dict[str, Any]) -> dict[str, Any]:
        out = {"id": link["id"], "self": f"{c.r.api}/issue/{issue.key}/remotelink/{link['id']}"}
        for name in ("globalId", "application", "relationship", "object"):
            if link.get(name) is not None:
                out[name] = link[name]
        return out

    def read_remote(body: dict[str, Any]) -> dict[str, Any]:
        obj = body.get("object")
        errors = {}
        if not isinstance(obj, dict) or not obj.get("url"):
            errors["url"] = "'url' is required."
        if not isinstance(obj, dict) or not obj.get("title"):
            errors["title"] = "'title' is required."
        gid = body.get("globalId")
        if gid is not None and (not isinstance(gid, str) or len(gid) > 255):  # a list or dict was stored and
            # `issuesWithRemoteLinksByGlobalId` hashed it: a 500 [unc: the wording; Jira's column is 255 long]
            errors["globalId"] = "The globalId must be a string of at most 255 characters."
        if errors:
            raise fail(400, None, errors)
        return {k: body[k] for k in ("globalId", "application", "relationship", "object") if k in body}

    def list_remote(c: Call) -> Response:
        issue = issue_of(sb, c.p["issue"])
        links = remote_of(issue)
        gid = c.q("globalId")
        if gid is not None:
            hit = next((x for x in links if x.get("globalId") == gid), None)
            if hit is None:
                raise fail(404, "No remote link with the given globalId exists.")
            return json_response(remote_bean(c, issue, hit))
        return json_response([remote_bean(c, issue, x) for x in links])

    def add_remote(c: Call) -> Response:
        issue = issue_of(sb, c.p["issue"])
        data = read_remote(c.obj())
        with sb.store.lock:
            links = remote_of(issue)
            same = next((x for x in links if data.get("globalId") and x.get("globalId") == data["globalId"]), None)
            if same is not None:
                ident = same["id"]
                same.clear()
                same.update(data, id=ident)
                link, status = same, 200
            else:
                link, status = {"id": sb.store.new_id(), **data}, 201
                links.append(link)
            sb.store.relations_version += 1  # issuesWithRemoteLinksByGlobalId() results are cached on it
        return json_response({"id": link["id"], "self": f"{c.r.api}/issue/{issue.key}/remotelink/{link['id']}"},
                             status)

    def find_remote(c: Call) -> tuple[Issue, dict[str, Any]]:
        issue = issue_of(sb, c.p["issue"])
        for x in remote_of(issue):
            if str(x["id"]) == c.p["link"]:
                return issue, x
        raise fail(404, "No remote link with id " + c.p["link"] + " exists on this issue.")

    def one_remote(c: Call) -> Response:
        issue, link = find_remote(c)
        return json_response(remote_bean(c, issue, link))

    def edit_remote(c: Call) -> Response:
        _, link = find_remote(c)
        data = read_remote(c.obj())
        with sb.store.lock:
            ident = link["id"]
            link.clear()
            link.update(data, id=ident)
            sb.store.relations_version += 1
        return Response(status=204)

    def delete_remote(c: Call) -> Response:
        issue, link = find_remote(c)
        with sb.store.lock:
            links = remote_of(issue)
            links[:] = [x for x in links if x is not link]  # not remove(): a concurrent DELETE may have taken it
            sb.store.relations_version += 1
        return Response(status=204)

    def delete_remote_by_global(c: Call) -> Response:
        issue = issue_of(sb, c.p["issue"])
        gid = c.q("globalId")
        if not gid:
            raise fail(400, "The parameter 'globalId' is required.")
        with sb.store.lock:
            links = remote_of(issue)
            hit = next((x for x in links if x.get("globalId") == gid), None)
            if hit is None:
                raise fail(404, "No remote link with the given globalId exists.")
            links.remove(hit)
            sb.store.relations_version += 1
        return Response(status=204)

    # --- watchers -----------------------------------------------------------------------------
    def watchers_of(issue: Issue) -> list[str]:
        return _state(sb)["watchers"].setdefault(issue.id, [a for a in (issue.reporter,) if a])

    def get_watchers(c: Call) -> Response:
        issue = issue_of(sb, c.p["issue"])
        people = watchers_of(issue)
        return json_response({"self": f"{c.r.api}/issue/{issue.key}/watchers", "isWatching": c.user in people,
                              "watchCount": len(people), "watchers": [c.r.user(a) for a in people]})

    def add_watcher(c: Call) -> Response:
        issue = issue_of(sb, c.p["issue"])
        body = c.body()
        account = c.user if body in (None, "") else body
        if not isinstance(account, str):
            raise fail(400, "The request body must be a JSON string: the accountId of the user.")  # [unc: wording]
        if account not in sb.store.users:  # the spec: 404 when the user is not found
            raise fail(404, f"The user with account ID '{account}' does not exist.")  # [unc: wording]
        with sb.store.lock:
            people = watchers_of(issue)
            if account not in people:
                people.append(account)
                sb.store.relations_version += 1
        return Response(status=204)

    def remove_watcher(c: Call) -> Response:
        issue = issue_of(sb, c.p["issue"])
        account = c.q("accountId") or c.q("username")
        if not account:
            raise fail(400, "accountId must be provided.")
        if account not in sb.store.users:
            raise fail(404, f"The user with account ID '{account}' does not exist.")  # the spec; [unc: wording]
        with sb.store.lock:
            people = watchers_of(issue)
            if account in people:
                people.remove(account)
                sb.store.relations_version += 1
        return Response(status=204)

    from sandbox.jira import routes_worklog_bulk  # bulk delete and move (it reads this module's state)

    routes_worklog_bulk.register(sb)
    sb.route("GET", key + r"/worklog", list_worklogs)
    sb.route("POST", key + r"/worklog", add_worklog, "write")
    sb.route("GET", key + r"/worklog/(?P<worklog>\d+)", one_worklog)
    sb.route("PUT", key + r"/worklog/(?P<worklog>\d+)", edit_worklog, "write")
    sb.route("DELETE", key + r"/worklog/(?P<worklog>\d+)", delete_worklog, "write")
    sb.route("GET", key + r"/remotelink", list_remote)
    sb.route("POST", key + r"/remotelink", add_remote, "write")
    sb.route("DELETE", key + r"/remotelink", delete_remote_by_global, "write")
    sb.route("GET", key + r"/remotelink/(?P<link>\d+)", one_remote)
    sb.route("PUT", key + r"/remotelink/(?P<link>\d+)", edit_remote, "write")
    sb.route("DELETE", key + r"/remotelink/(?P<link>\d+)", delete_remote, "write")
    sb.route("GET", key + r"/watchers", get_watchers)
    sb.route("POST", key + r"/watchers", add_watcher, "write")
    sb.route("DELETE", key + r"/watchers", remove_watcher, "write")
