"""GET `/project/{key}/version`'s filters and order (the spec's parameters), before paging.

- `status`: comma list of `released`, `unreleased`, `archived`; an archived version counts only as `archived`
  (a released or unreleased one is one that is not archived) [unc: Jira Server's VersionService did so].
- `query`: case-insensitive substring of the name or the description.
- `orderBy`: `[+-]` description, name, releaseDate, sequence, startDate (the spec's enum; another value is a 400
  [unc: text]); versions without the date sort last whichever way; `sequence` (the default) is the project's
  own order (that of `/project/{key}/versions`).
"""

from __future__ import annotations

from typing import Any

from sandbox.jira.call import Call
from sandbox.jira.errors import fail

__all__ = ["arrange_versions"]
ORDERS = ("description", "name", "releaseDate", "sequence", "startDate")
STATUSES = ("released", "unreleased", "archived")


def _status(v: dict[str, Any]) -> str:
    if v.get("archived"):
        return "archived"
    return "released" if v.get("released") else "unreleased"


def arrange_versions(c: Call, versions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    wanted = {s.strip().lower() for item in c.qlist("status") for s in item.split(",") if s.strip()}
    if wanted - set(STATUSES):
        raise fail(400, f"Invalid status: {', '.join(sorted(wanted - set(STATUSES)))}.")  # [unc]
    query = (c.q("query") or "").lower()
    found = [v for v in versions if (not wanted or _status(v) in wanted) and (
        not query or query in str(v.get("name") or "").lower() or query in str(v.get("description") or "").lower())]
    order = c.q("orderBy") or "sequence"
    desc, key = order.startswith("-"), order.lstrip("+-")
    if key not in ORDERS:
        raise fail(400, f"Invalid orderBy value '{order}'.")  # [unc]
    if key == "sequence":
        return found[::-1] if desc else found
    dated = [v for v in found if v.get(key)]
    text = key in ("name", "description")
    dated.sort(key=lambda v: str(v[key]).lower() if text else str(v[key])[:10], reverse=desc)
    return dated + [v for v in found if not v.get(key)]
