"""A child row of an issue (comment, changelog item, sprint membership) listed twice in one run: stored once.

Jira's comment and changelog lists come in ``startAt`` pages; a proxy, or a list that shifts while it is paged,
can repeat an entry [unc], and a Sprint field can name one sprint twice. Each copy became its own row under one
key (``jira.comments`` held a comment twice, ``jira.sprint_issues`` a membership twice), so every count built on
them doubled and staging's ``unique`` tests failed the dbt build. An issue is loaded at most once per run (see
:mod:`pipelines.jira.issues`), so one row per key is kept for the run:

- identical copies: one is kept, in silence (the same entry sent twice is no conflict);
- copies that differ (one id, another text or time): the newest (``updated``, else ``created``, then the larger
  text, whatever the order they came in) is kept, the others are quarantined with the reason;
- a key loaded under another issue in an earlier batch of this run (an id reused across issues [unc]): that
  copy is quarantined, as its first sighting was already handed to dlt.

Attachments have their own rules (:mod:`pipelines.jira.attachment_ledger`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pipelines.common.cursor import parse_vendor_ts
from pipelines.common.quarantine import quarantined

KEYS: dict[str, tuple[str, ...]] = {
    "issue_changelog": ("id",), "comments": ("id",), "sprint_issues": ("sprint_id", "issue_id"),
}


class ChildTwins:
    """One row per key of each child table for one run (the rules above)."""

    def __init__(self, run_id: str):
        self.run_id = run_id
        self._issue_of: dict[str, dict[tuple, Any]] = {table: {} for table in KEYS}  # key -> issue loaded under

    def split(self, table: str, rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[Any]]:
        """(rows kept, in their order; quarantine items for the copies held back)."""
        if table not in KEYS:
            return rows, []
        loaded = self._issue_of[table]
        groups: dict[tuple, list[dict[str, Any]]] = {}
        for row in rows:
            groups.setdefault(tuple(row.get(k) for k in KEYS[table]), []).append(row)
        if len(groups) == len(rows) and not loaded.keys() & groups.keys():
            for key, (row,) in groups.items():
                loaded[key] = row.get("issue_id")
            return rows, []
        keep: set[int] = set()
        items = []
        for key, group in groups.items():
            shown = ":".join(str(k) for k in key)
            if key in loaded:
                items += [self._held(table, shown, row, f"already loaded under issue {loaded[key]} in this run")
                          for row in _distinct(group) if row.get("issue_id") != loaded[key]]
                continue
            ranked = sorted(_distinct(group), key=_rank, reverse=True)
            winner = ranked[0]
            keep.add(id(winner))
            loaded[key] = winner.get("issue_id")
            items += [self._held(table, shown, loser, f"listed twice with different content; kept the copy of "
                                 f"issue {winner.get('issue_id')} ({_stamp(winner)})") for loser in ranked[1:]]
        return [row for row in rows if id(row) in keep], items

    def _held(self, table: str, key: str, row: dict[str, Any], why: str) -> Any:
        reason = (f"{table} {KEYS[table][0]} {key} reused: {why}; this copy (issue {row.get('issue_id')}, "
                  f"{_stamp(row)}) is held here")
        return quarantined(table, row, reason, self.run_id, key)


def _distinct(group: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The copies of one key less exact repeats (the first of each kept)."""
    seen: dict[str, dict[str, Any]] = {}
    for row in group:
        seen.setdefault(repr(sorted(row.items())), row)
    return list(seen.values())


def _stamp(row: dict[str, Any]) -> str:
    return f"updated {row.get('updated')}" if row.get("updated") else f"created {row.get('created')}"


def _rank(row: dict[str, Any]) -> tuple:
    stamp = row.get("updated") or row.get("created")
    try:
        at = parse_vendor_ts(stamp) if isinstance(stamp, str) else None
    except ValueError:
        at = None
    return at is not None, at or datetime.min, repr(sorted(row.items()))
