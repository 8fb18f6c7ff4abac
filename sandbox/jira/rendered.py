"""`expand=renderedFields` and `expand=schema` on issue beans.

renderedFields: the same keys as `fields`; rich text (description, comment bodies) as the HTML Jira's
renderer makes of it (escaped paragraphs, `<br/>` line breaks), timestamps as "dd/MMM/yy h:mm a"
(`09/Jan/26 1:22 PM`) in the site time zone (UTC), due dates as "dd/MMM/yy", everything else null.
schema: each returned field's schema from GET /field. (Time-tracking values: `estimates`.)
"""

from __future__ import annotations

import html
from datetime import UTC, datetime
from typing import Any

from sandbox.jira import catalog as C
from sandbox.jira.adf import as_version

_STAMPS = {"created": "created", "updated": "updated", "resolutiondate": "resolved",
           "statuscategorychangedate": "status_changed"}


TIME_FIELDS = {f[0] for f in C.TIME_FIELDS}


def to_html(text: str | None) -> str | None:
    if not text:
        return None
    paragraphs = [html.escape(p).replace("\n", "<br/>\n") for p in text.split("\n\n")]
    return "".join(f"<p>{p}</p>" for p in paragraphs)


def _stamp(ms: int | None) -> str | None:
    if ms is None:
        return None
    moment = datetime.fromtimestamp(ms / 1000, UTC)
    return f"{moment:%d/%b/%y} {int(moment.strftime('%I'))}:{moment:%M %p}"  # dd/MMM/yy h:mm a


def rendered_fields(issue: Any, values: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f, value in values.items():
        if f in _STAMPS:
            out[f] = _stamp(getattr(issue, _STAMPS[f]))
        elif f in ("description", "environment"):
            out[f] = to_html(as_version(getattr(issue, f), "2"))
        elif f == "duedate" and issue.duedate:
            out[f] = datetime.strptime(issue.duedate, "%Y-%m-%d").strftime("%d/%b/%y")
        elif f == "comment" and isinstance(value, dict):
            out[f] = {**value, "comments": [{**c, "body": to_html(as_version(c.get("body"), "2"))}
                                            for c in value.get("comments", [])]}
        else:
            out[f] = None
    return out


def schemas(ids: list[str]) -> dict[str, Any]:
    known = {fid: {"type": typ, **extra} for fid, _name, typ, extra, _clauses in C.system_fields() + C.custom_fields()}
    return {f: known[f] for f in ids if f in known}
