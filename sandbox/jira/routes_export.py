"""The issue navigator's CSV export (atlassian-python-api `Jira.csv`), served at the site root.

GET `/sr/jira.issueviews:searchrequest-csv-{all|current}-fields/temp/SearchRequest.csv?jqlQuery=` with
`tempMax` (default and at most 1000 rows), `pager/start` and `delimiter` (`,` `;` `|` or a tab): a `text/csv`
file, one header row then an issue per row, in the query's order. Multi-valued fields (labels, components,
fix versions, sprints) repeat their column as many times as the widest issue needs, as Jira does. Dates are in
the caller's time zone as "dd/MMM/yy h:mm AM" (due dates at 12:00 AM). "current" fields are the navigator's
default columns. A JQL error is a 400 with Jira's message; Basic auth or a PAT is needed (401).
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sandbox.core.http import Response
from sandbox.jira import catalog as C
from sandbox.jira.adf import plain
from sandbox.jira.call import Call
from sandbox.jira.errors import fail
from sandbox.jira.jql import JQLError

if TYPE_CHECKING:
    from sandbox.jira.model import Issue
    from sandbox.jira.sandbox import JiraSandbox

CURRENT = ["Issue Type", "Issue key", "Issue id", "Summary", "Assignee", "Reporter", "Priority", "Status",
           "Resolution", "Created", "Updated", "Due Date"]
ALL = ["Summary", "Issue key", "Issue id", "Issue Type", "Status", "Project key", "Project name", "Project type",
       "Project lead", "Project description", "Priority", "Resolution", "Assignee", "Reporter", "Creator", "Created",
       "Updated", "Last Viewed", "Resolved", "Fix Version/s", "Component/s", "Due Date", "Labels", "Description",
       "Parent", "Parent summary", "Sprint", "Custom field (Story point estimate)"]
MULTI = {"Fix Version/s", "Component/s", "Labels", "Sprint"}
DELIMITERS = {",", ";", "|", "\t"}


def register(sb: JiraSandbox) -> None:
    def when(ms: int | None) -> str:
        if ms is None:
            return ""
        local = datetime.fromtimestamp(ms / 1000, ZoneInfo(sb.user_time_zone))
        return local.strftime("%d/%b/%y ") + f"{local.hour % 12 or 12}:{local.minute:02d} " + local.strftime("%p")

    def due(day: str | None) -> str:
        return datetime.strptime(day, "%Y-%m-%d").strftime("%d/%b/%y 12:00 AM") if day else ""

    def values(issue: Issue, column: str) -> list[str]:
        s = sb.store
        users = lambda a: s.users[a].display_name if a in s.users else ""  # noqa: E731
        parent = s.issues.get(issue.parent_id) if issue.parent_id else None
        project = s.projects.get(issue.project)
        one: dict[str, Any] = {
            "Summary": issue.summary, "Issue key": issue.key, "Issue id": issue.id,
            "Issue Type": s.issue_types[issue.type_id][0], "Status": C.STATUSES[issue.status_id][0],
            "Project key": issue.project, "Project name": project.name if project else "",
            "Project type": "software", "Project lead": users(project.lead) if project else "",
            "Project description": project.description if project else "",
            "Priority": C.PRIORITIES.get(issue.priority_id or "", ""),
            "Resolution": C.RESOLUTIONS[issue.resolution_id][0] if issue.resolution_id else "",
            "Assignee": users(issue.assignee), "Reporter": users(issue.reporter), "Creator": users(issue.creator),
            "Created": when(issue.created), "Updated": when(issue.updated), "Last Viewed": "",
            "Resolved": when(issue.resolved), "Due Date": due(issue.duedate),
            "Description": plain(issue.description) or "", "Parent": parent.id if parent else "",
            "Parent summary": parent.summary if parent else "",
            "Custom field (Story point estimate)": "" if issue.points is None else f"{issue.points:g}"}
        if column in one:
            return [str(one[column])]
        work = s.work
        many = {"Fix Version/s": [work["versions"][v]["name"] for v in issue.fix_versions if v in work["versions"]],
                "Component/s": [work["components"][x]["name"] for x in issue.components if x in work["components"]],
                "Labels": list(issue.labels),
                "Sprint": [s.sprints[x].name for x in issue.sprints if x in s.sprints]}
        return many[column]

    def export(c: Call) -> Response:
        jql = c.q("jqlQuery") or ""
        delimiter = c.q("delimiter") or ","
        if delimiter not in DELIMITERS:
            raise fail(400, f"The delimiter '{delimiter}' is not supported.")
        limit = c.qint("tempMax", 1000, 1, 1000)
        start = c.qint("pager/start", 0)
        try:
            compiled = sb.jql(jql if jql.strip() else "created IS NOT EMPTY ORDER BY created DESC", c.user)
        except JQLError as exc:
            raise fail(400, str(exc)) from None
        issues = sb.store.index.snapshot(compiled, f"csv:{c.user}:{jql}")[start:start + limit]
        columns = ALL if c.p["which"] == "all" else CURRENT
        rows = [{col: values(i, col) for col in columns} for i in issues]
        widths = {col: max([len(r[col]) for r in rows] + [1]) if col in MULTI else 1 for col in columns}
        out = io.StringIO()
        writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
        writer.writerow([col for col in columns for _ in range(widths[col])])
        for r in rows:
            writer.writerow([(r[col] + [""] * widths[col])[n] for col in columns for n in range(widths[col])])
        return Response(status=200, body=out.getvalue().encode("utf-8"), content_type="text/csv;charset=UTF-8",
                        headers=[("Content-Disposition", 'attachment; filename="Jira.csv"')])

    sb.route("GET", r"/sr/jira\.issueviews:searchrequest-csv-(?P<which>all|current)-fields/temp/SearchRequest\.csv",
             export, prefix="none")
