"""GET `/project/{key}/component`'s filters and order (the spec's parameters), before paging.

- `query`: case-insensitive substring of the name or the description.
- `orderBy`: `[+-]` description, issueCount, lead, name (the spec's enum; another value is a 400 [unc: text]).
  `lead` sorts by the component lead's account id (the spec: "the user key"); components without a lead or a
  description sort last whichever way, as versions without a date do [unc]. Ties keep the project's own order
  (that of `/project/{key}/components`); no `orderBy` is that order.
- Each value is a ComponentWithIssueCount: the component plus `issueCount` (issues naming it).
- `componentSource` (`jira`, `compass`, `auto`): only Jira components exist here, so every source answers them
  [unc: `compass` on a site without Compass]; another value is a 400 [unc: text].
"""

from __future__ import annotations

from typing import Any

from sandbox.jira.call import Call
from sandbox.jira.errors import fail

__all__ = ["arrange_components", "issue_counts"]
ORDERS = ("description", "issueCount", "lead", "name")
SOURCES = ("jira", "compass", "auto")


def issue_counts(c: Call, components: list[dict[str, Any]]) -> dict[int, int]:
    """How many issues name each component."""
    wanted = {x["id"] for x in components}
    counts = dict.fromkeys(wanted, 0)
    for issue in list(c.r.store.issues.values()):
        for ident in issue.components or ():
            if ident in wanted:
                counts[ident] += 1
    return counts


def arrange_components(c: Call, components: list[dict[str, Any]], counts: dict[int, int]) -> list[dict[str, Any]]:
    source = c.q("componentSource") or "jira"
    if source not in SOURCES:
        raise fail(400, f"Invalid componentSource value '{source}'.")  # [unc]
    query = (c.q("query") or "").lower()
    found = [x for x in components if not query or query in str(x.get("name") or "").lower()
             or query in str(x.get("description") or "").lower()]
    order = c.q("orderBy")
    if not order:
        return found
    desc, key = order.startswith("-"), order[1:] if order[:1] in ("+", "-") else order
    if key not in ORDERS:
        raise fail(400, f"Invalid orderBy value '{order}'.")  # [unc]
    if key == "issueCount":
        return sorted(found, key=lambda x: counts.get(x["id"], 0), reverse=desc)
    present = [x for x in found if x.get(key)]
    present.sort(key=lambda x: str(x[key]).lower(), reverse=desc)
    return present + [x for x in found if not x.get(key)]
