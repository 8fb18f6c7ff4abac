"""What one raw Jira issue (a search "bean") tells about itself, before it is flattened: its id, its attachment
list, the child parts search left out of it (:func:`unsent_parts`), and which of two copies of one issue is the
newest (:func:`newest_copies`). Used by :class:`pipelines.jira.issues.IssuePass`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pipelines.common.cursor import parse_vendor_ts


def unsent_parts(bean: dict[str, Any], fm: Any) -> list[str]:
    """The child tables whose part search left out of ``bean`` although asked for it (a ``comment``, ``attachment``
    or ``changelog`` missing or null; the Sprint field's key missing, where null means "in no sprint"). Read
    as "none", each wiped the issue's stored rows (tombstones), and no later run read the unchanged issue again:
    such a table keeps its rows, and the issue is read again by id next run for its comments or changelog
    (see IssuePass.page; not for attachments or Sprint, which a site or a project may leave out for good)."""
    fields = bean.get("fields") if isinstance(bean.get("fields"), dict) else {}
    out = [table for table, part in (("comments", fields.get("comment")), ("attachments", fields.get("attachment")),
                                     ("issue_changelog", bean.get("changelog"))) if part is None]
    if fm.sprint and fm.sprint not in fields:
        out.append("sprint_issues")
    return out


def _attachment_list(bean: dict[str, Any]) -> list[Any]:
    fields = bean.get("fields")
    listed = fields.get("attachment") if isinstance(fields, dict) else None
    return listed if isinstance(listed, list) else []


def _issue_id(bean: Any) -> str | None:
    """A raw issue's id as its quarantine row keeps it, if it has one."""
    issue_id = bean.get("id") if isinstance(bean, dict) else None
    return issue_id if isinstance(issue_id, str) and issue_id else None


def newest_copies(beans: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``beans`` with one copy per issue id, the newest, where the first copy stood: a page (or batch) that
    serves an issue twice with different content kept the first, which could be a stale copy. Newest: a
    readable ``updated`` before one that is not (a broken copy must not hide the good one), then the later
    time, then (copies no time tells apart) the larger text, so that the same page always gives the same
    issue. Beans without an id are left as they are (validation quarantines them)."""
    best: dict[str, int] = {}
    for n, bean in enumerate(beans):
        iid = bean.get("id")
        if isinstance(iid, str | int) and not isinstance(iid, bool):
            key = str(iid)
            if key not in best or _age(bean) > _age(beans[best[key]]):
                best[key] = n
    if len(best) == len(beans):
        return beans
    keep = set(best.values())
    return [b for n, b in enumerate(beans) if n in keep or not isinstance(b.get("id"), str | int)
            or isinstance(b.get("id"), bool)]


def _age(bean: dict[str, Any]) -> tuple:
    fields = bean.get("fields")
    updated = fields.get("updated") if isinstance(fields, dict) else None
    try:
        at = parse_vendor_ts(updated) if isinstance(updated, str) else None
    except ValueError:
        at = None
    return at is not None, at or datetime.min, repr(bean)
