"""The GreenHopper sprint report: GET `/rest/greenhopper/1.0/rapid/charts/sprintreport?rapidViewId=&sprintId=`.

A private path Jira Cloud still serves (the board's Sprint report reads it). pycontribs' `incompletedIssuesEstimateSum`,
`removed_issues` and `removedIssuesEstimateSum` call `rapid/charts/sprintreport` under the agile base URL, so
they reach it when the client is made with `options={"agile_rest_path": "greenhopper"}` (with the default
`agile` path they get a 404, as from Jira Cloud, whose Agile 1.0 API has no such resource).

`contents`: `completedIssues` (in the sprint, status category done), `issuesNotCompletedInCurrentSprint` (in
the sprint, not done), `puntedIssues` (taken out of the sprint after it started, per the Sprint changelog),
`issuesCompletedInAnotherSprint` (always empty here), `issueKeysAddedDuringSprint` (`{key: true}` for issues
put in after the start), and story-point sums `{"value", "text"}` for each list. Both the current
`issuesNotCompletedEstimateSum` and the older `incompletedIssuesEstimateSum` (the one pycontribs reads) are
given [unc: which of the two Cloud still sends]. `sprint` is GreenHopper's sprint bean (upper-case `state`,
dates as "07/Dec/26 9:00 AM", `completeDate` "<unknown>" until closed) [unc: the full key set].
Errors [unc: wording]: without both ids 400; an unknown board or sprint 404.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sandbox.core.http import Request, Response, json_response
from sandbox.jira import catalog as C
from sandbox.jira.call import Call
from sandbox.jira.errors import fail
from sandbox.jira.ids import is_id

if TYPE_CHECKING:
    from sandbox.jira.model import Issue, Sprint
    from sandbox.jira.sandbox import JiraSandbox

GREENHOPPER = r"(?:/ex/jira/(?P<cloud>[^/]+))?/rest/greenhopper/1\.0"  # as in `routes_boards`


def _gh_date(ms: int | None) -> str:
    if ms is None:
        return "None"
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%d/%b/%y %-I:%M %p")


def _sum(issues: list[Issue]) -> dict[str, Any]:
    total = float(sum(i.points or 0 for i in issues))
    return {"value": total, "text": f"{total:g}"}


def _sprint_ids(text: Any) -> set[int]:
    return {int(p) for p in str(text or "").replace(" ", "").split(",") if is_id(p)}


def register(sb: JiraSandbox) -> None:
    def entry(c: Call, issue: Issue) -> dict[str, Any]:
        name, category, desc = C.STATUSES[issue.status_id][:3]
        who = c.r.user(issue.assignee) if issue.assignee else None
        stat = {"statFieldId": C.STORY_POINTS,
                "statFieldValue": {} if issue.points is None else {"value": float(issue.points)}}
        out: dict[str, Any] = {
            "id": int(issue.id), "key": issue.key, "hidden": False, "typeName": C.ISSUE_TYPES[issue.type_id][0],
            "typeId": issue.type_id, "summary": issue.summary, "priorityName": C.PRIORITIES.get(
                issue.priority_id or "", None), "done": category == "done", "hasCustomUserAvatar": False,
            "flagged": False, "estimateStatisticRequired": False, "estimateStatistic": stat,
            "currentEstimateStatistic": stat, "statusId": issue.status_id, "statusName": name,
            "status": {"id": issue.status_id, "name": name, "description": desc,
                       "statusCategory": {"key": category}},
            "fixVersions": [], "projectId": int(sb.store.projects[issue.project].id), "linkedPagesCount": 0,
            "updatedAt": issue.updated}
        if who:
            out.update(assigneeAccountId=issue.assignee, assigneeName=who.get("displayName"),
                       avatarUrl=(who.get("avatarUrls") or {}).get("48x48"))
        return out

    def moves(issue: Issue, sid: int) -> tuple[int | None, int | None]:
        """When (ms) the issue was last put into and last taken out of the sprint, per its changelog."""
        added = removed = None
        for h in sb.store.history_of(issue):
            for item in h.items:
                if item.get("field") != "Sprint":
                    continue
                before, after = _sprint_ids(item.get("from")), _sprint_ids(item.get("to"))
                if sid in after and sid not in before:
                    added = h.created
                elif sid in before and sid not in after:
                    removed = h.created
        return added, removed

    def gh_sprint(s: Sprint) -> dict[str, Any]:
        return {"id": s.id, "sequence": s.id, "name": s.name, "state": s.state.upper(), "linkedPagesCount": 0,
                "goal": s.goal, "startDate": _gh_date(s.start), "endDate": _gh_date(s.end),
                "completeDate": _gh_date(s.complete) if s.complete else "<unknown>",
                "canUpdateSprint": True, "remoteLinks": [], "daysRemaining": 0}

    def report(req: Request) -> Response:
        c = sb.context(req, "read", default_ver="2")
        board_ref, sprint_ref = c.q("rapidViewId") or "", c.q("sprintId") or ""
        if not is_id(board_ref) or not is_id(sprint_ref):  # not isdecimal(): '٣' read as 3 [round 27]
            raise fail(400, "The rapidViewId and sprintId parameters are required.")
        board = sb.store.boards.get(int(board_ref))
        if board is None:
            raise fail(404, "The requested board cannot be viewed because it either does not exist or you do not "
                            "have permission to view it.")
        s = sb.store.sprints.get(int(sprint_ref))
        if s is None:
            raise fail(404, f"Sprint with id {sprint_ref} does not exist or you do not have permission to see it.")
        inside, punted, added = [], [], {}
        for issue in sorted(list(sb.store.issues.values()), key=lambda i: i.rank):
            if issue.project != board.project:  # the board's own issues, as the velocity chart [unc]
                continue
            put_in, taken_out = moves(issue, s.id) if s.start is not None else (None, None)
            if s.id in issue.sprints:
                inside.append(issue)
                since = put_in if put_in is not None or sb.store.from_seed(issue) else issue.created
                if s.start is not None and since is not None and since > s.start:  # or made into it through the
                    # API after the start (no Sprint changelog item then), as the velocity chart leaves it out of
                    # the commitment; the seed files its issues with no changelog: there from the start
                    added[issue.key] = True
            elif taken_out is not None and s.start is not None and taken_out > s.start and (
                    s.complete is None or taken_out <= s.complete):
                punted.append(issue)
        done = [i for i in inside if C.STATUSES[i.status_id][1] == "done"]
        open_ = [i for i in inside if C.STATUSES[i.status_id][1] != "done"]
        contents = {
            "completedIssues": [entry(c, i) for i in done],
            "issuesNotCompletedInCurrentSprint": [entry(c, i) for i in open_],
            "puntedIssues": [entry(c, i) for i in punted], "issuesCompletedInAnotherSprint": [],
            "completedIssuesInitialEstimateSum": _sum(done), "completedIssuesEstimateSum": _sum(done),
            "issuesNotCompletedInitialEstimateSum": _sum(open_), "issuesNotCompletedEstimateSum": _sum(open_),
            "incompletedIssuesEstimateSum": _sum(open_), "allIssuesEstimateSum": _sum(inside),
            "puntedIssuesInitialEstimateSum": _sum(punted), "puntedIssuesEstimateSum": _sum(punted),
            "issuesCompletedInAnotherSprintInitialEstimateSum": _sum([]),
            "issuesCompletedInAnotherSprintEstimateSum": _sum([]), "issueKeysAddedDuringSprint": added}
        return json_response({"contents": contents, "sprint": gh_sprint(s), "lastUserToClose": None,
                              "supportsPages": False})

    sb.router.add("GET", GREENHOPPER + r"/rapid/charts/sprintreport", report)
