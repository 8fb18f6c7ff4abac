"""A Jira attachment id that shows up under another issue than the one it is stored under: the later
sighting wins.

Jira keeps an attachment's id when its issue moves, and a vendor may serve one id on a second issue (a
move seen half-way [unc], a reused id). The child tables are replaced per issue (merge key ``issue_id``),
so loading the id under issue B leaves its row under issue A, stored by an earlier run, in place: the id
was stored twice, and the evidence mart had two evidence rows with one ``evidence_id``.

At the end of the issues resource (:func:`settle`), the ids loaded this run are looked up in the
warehouse: each stored under another issue that this run did not load (an issue loaded this run had its
set replaced already; one listing the id again is handled by :mod:`pipelines.jira.attachment_ledger`) is
taken out of that issue's set, the set written again from the warehouse without it (or a tombstone when
nothing is left). The move is recorded in ``jira.attachment_moves`` (appended, one row per move: from and
to which issue, with the content's sha256 and storage URI), so the evidence link's history is kept; the
files are content-addressed and stay where they are. All of it goes in the run's own load package: a run
that dies before its load changes nothing, and the next run, whose cursor has not moved, does it again.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import dlt

from pipelines.jira import destination
from pipelines.jira.frames import CHILD_COLUMNS

log = logging.getLogger(__name__)

MOVES_TABLE = "attachment_moves"
MOVE_COLUMNS = ("attachment_id", "from_issue_id", "from_issue_key", "to_issue_id", "to_issue_key", "sha256",
                "storage_uri", "content_status", "run_id", "moved_at")
CHUNK = 500


def settle(kept: Mapping[str, dict[str, Any]], loaded: set[str], run_id: str
           ) -> tuple[list[dict[str, Any]], list[str], list[dict[str, Any]]]:
    """``kept``: attachment id -> the row loaded this run; ``loaded``: the issue ids loaded this run.

    Returns (the attachment rows to write again for the issues the ids left, the issues left with none
    (tombstones), the move rows); all empty when nothing moved or the warehouse cannot be read."""
    ids = sorted(k for k in kept if isinstance(k, str) and k.isascii() and k.isdigit())
    stale: dict[str, set[str]] = {}  # issue id the attachment left -> attachment ids
    moves: list[dict[str, Any]] = []
    now = datetime.now(UTC).isoformat()
    for start in range(0, len(ids), CHUNK):
        for aid, owner, owner_key in destination.attachment_owners(ids[start:start + CHUNK]):
            row = kept.get(aid)
            if row is None or owner == row["issue_id"] or owner in loaded:
                continue
            stale.setdefault(owner, set()).add(aid)
            moves.append({"attachment_id": aid, "from_issue_id": owner, "from_issue_key": owner_key,
                          "to_issue_id": row["issue_id"], "to_issue_key": row.get("issue_key"),
                          "sha256": row.get("sha256"), "storage_uri": row.get("storage_uri"),
                          "content_status": row.get("content_status"), "run_id": run_id, "moved_at": now})
    if not stale:
        return [], [], []
    stored = destination.attachment_rows_of(sorted(stale), CHILD_COLUMNS["attachments"])
    if stored is None:  # unreadable: change nothing rather than empty an issue's set
        log.warning("Jira: %d attachment id(s) now listed under another issue, but the issues they left could "
                    "not be read back from the warehouse: they stay under both until those issues load again",
                    len(moves))
        return [], [], []
    rows = [r for r in stored if r["id"] not in stale.get(r["issue_id"], ())]
    having = {r["issue_id"] for r in rows}
    for move in moves:
        log.warning("Jira: attachment %s moved from issue %s to issue %s (the later sighting wins; recorded in "
                    "jira.%s)", move["attachment_id"], move["from_issue_id"], move["to_issue_id"], MOVES_TABLE)
    return rows, sorted(a for a in stale if a not in having), moves


def moves_item(moves: list[dict[str, Any]]) -> Any:
    """The move rows for ``jira.attachment_moves`` (appended: the history is never rewritten); none: the
    empty table is created all the same, so an analyst (and dbt's source) finds it before the first move."""
    hints = dlt.mark.make_hints(table_name=MOVES_TABLE, write_disposition="append", primary_key=(),
                                columns={c: {"data_type": "text", "nullable": True} for c in MOVE_COLUMNS})
    return dlt.mark.with_hints(moves or dlt.mark.materialize_table_schema(), hints, create_table_variant=True)
