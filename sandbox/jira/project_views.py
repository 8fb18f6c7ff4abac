"""How `GET /project/search` filters, orders and expands (used by `routes_platform`).

- `orderBy`: key (the default, as on Jira), name, category, owner (the lead's display name), issueCount,
  lastIssueUpdatedDate, each with an optional `+`/`-`; an unknown value is a 400.
- `typeKey` (comma list of software | business | service_desk), `categoryId`, `status` (only `live` projects
  exist here: `archived`/`deleted` give an empty page).
- `expand=insight`: `{"totalIssueCount", "lastIssueUpdateTime"}` from the live issues.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.jira.errors import fail
from sandbox.jira.timefmt import jira_ts

if TYPE_CHECKING:
    from sandbox.jira.call import Call
    from sandbox.jira.sandbox import JiraSandbox

ORDERS = ("key", "name", "category", "owner", "issueCount", "lastIssueUpdatedDate")


def _meta(sb: JiraSandbox, key: str) -> dict[str, Any]:
    return sb.store.work.get("project_meta", {}).get(key, {})


def _issue_stats(sb: JiraSandbox) -> dict[str, tuple[int, int]]:
    stats: dict[str, tuple[int, int]] = {}
    for issue in list(sb.store.issues.values()):
        count, last = stats.get(issue.project, (0, 0))
        stats[issue.project] = (count + 1, max(last, issue.updated))
    return stats


def arrange(sb: JiraSandbox, c: Call, keys: list[str]) -> list[str]:
    """`keys` filtered by typeKey/categoryId/status and sorted by orderBy."""
    types = {t for item in c.qlist("typeKey") for t in item.split(",") if t}
    if types:
        keys = [k for k in keys if _meta(sb, k).get("projectTypeKey", "software") in types]
    category = c.q("categoryId")
    if category:
        keys = [k for k in keys if str(_meta(sb, k).get("categoryId")) == category]
    statuses = {s for item in c.qlist("status") for s in item.split(",") if s}
    if statuses and "live" not in statuses:
        keys = []
    raw = c.q("orderBy") or "key"
    field, desc = raw.lstrip("+-"), raw.startswith("-")
    if field not in ORDERS:
        raise fail(400, f"Invalid orderBy value '{raw}'.")
    projects = sb.store.projects
    stats = _issue_stats(sb) if field in ("issueCount", "lastIssueUpdatedDate") else {}
    users = sb.store.users
    sort_key = {"key": lambda k: k, "name": lambda k: projects[k].name.lower(),
                "category": lambda k: _meta(sb, k).get("categoryId") or 0,
                "owner": lambda k: users[projects[k].lead].display_name.lower() if projects[k].lead in users else "",
                "issueCount": lambda k: stats.get(k, (0, 0))[0],
                "lastIssueUpdatedDate": lambda k: stats.get(k, (0, 0))[1]}[field]
    return sorted(keys, key=lambda k: (sort_key(k), k), reverse=desc)


def insight(sb: JiraSandbox, key: str) -> dict[str, Any]:
    count, last = _issue_stats(sb).get(key, (0, 0))
    out: dict[str, Any] = {"totalIssueCount": count}
    if last:
        out["lastIssueUpdateTime"] = jira_ts(last)
    return out
