"""ServiceNow deletes: the delete audit (``sys_audit_delete``), checked against the table itself.

A record deleted and re-created with the same ``sys_id`` (a restore, an import that re-inserts) leaves
an audit row although the record exists again, possibly written in the same second as the re-creation.
So an audited id is marked deleted only if the table no longer has it when we look, stamped with
ServiceNow's delete time (the audit row's creation). A record re-loaded while a delete of it is
recorded has that delete withdrawn (:func:`pipelines.common.deletions.withdrawn_rows`).

A run reads the audit once for all its tables (:class:`DeleteAudit`), not once per table: each read is
a round trip on the run's critical path.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pipelines.common.cursor import parse_vendor_ts
from pipelines.common.deletions import deletion_rows
from pipelines.common.pages import text_problem
from pipelines.servicenow.helpers import ServiceNowClient, selected_resources
from pipelines.servicenow.settings import TableSpec

log = logging.getLogger(__name__)

CHUNK = 200
AUDIT_PAGE_SIZE = 1000
AUDIT_FIELDS = ["sys_id", "documentkey", "tablename", "sys_created_on"]


@dataclass
class Due:
    """One table's part of the delete audit: rows created in [since, until) (no end when until is None).
    ``known``: record_id -> epoch seconds of the deletes already recorded (updated as rows are sent)."""

    spec: TableSpec
    since: str
    until: str | None
    known: dict[str, float]

    def wants(self, created: Any) -> bool:
        """Whether an audit row created at ``created`` is in this table's window (the vendor's format,
        ``YYYY-MM-DD HH:MM:SS``, orders as text; a value that is not text was matched by the vendor)."""
        if not isinstance(created, str):
            return True
        return created >= self.since and (self.until is None or created < self.until)


class DeleteAudit:
    """The delete audit of one source run, read once for all its tables instead of once per table.

    Each table resource hands its part in (:meth:`deletes`) once its own read is done. When the last of
    the run's selected tables has done so, one query reads ``sys_audit_delete`` for all of them (from
    the earliest table's start; each table keeps only its own window) and that resource yields every
    table's deletion rows (all go to the ``deletions`` table, whichever resource sends them). The audit
    is still read after each table's read, so a record deleted after its table was read is in this
    read or in the next run's window. Outside a dlt extract (no current source) a table reads its own.
    """

    def __init__(self, resources: Iterable[str], run_id: str,
                 selected: Callable[[], set[str] | None] | None = None):
        self._resources = set(resources)
        self._run_id = run_id
        self._selected = selected or selected_resources
        self._due: dict[str, Due] = {}

    def deletes(self, client: ServiceNowClient, due: Due) -> Iterator[Any]:
        """Nothing until every selected table has handed its part in; then the deletes of them all."""
        self._due[due.spec.resource] = due
        selected = self._selected()
        waiting = (self._resources & selected) - set(self._due) if selected is not None else set()
        if waiting:
            return
        parts, self._due = list(self._due.values()), {}
        yield from deletes_from_audit(client, parts, self._run_id)

    def forget(self) -> None:
        """Drop the parts handed in (a table's read failed: this extract ends without deletes)."""
        self._due = {}


def deletes_from_audit(client: ServiceNowClient, parts: list[Due], run_id: str) -> Iterator[Any]:
    """Deletion rows for the audited deletes of each part's table in its window, less records that exist.

    One read for all the tables (``tablenameIN...``), page after page; each page's rows go to their
    table and are judged as that table's own read judged them."""
    by_table = {part.spec.table: part for part in parts}
    since = min(part.since for part in parts)
    untils = {part.until for part in parts}
    until = untils.pop() if len(untils) == 1 else None
    tables = sorted(by_table)
    query = (f"tablename={tables[0]}" if len(tables) == 1 else f"tablenameIN{','.join(tables)}") + \
        f"^sys_created_on>={since}" + (f"^sys_created_on<{until}" if until else "")
    for page in client.read_concurrently("sys_audit_delete", query, page_size=AUDIT_PAGE_SIZE, concurrency=1,
                                         fields=AUDIT_FIELDS):
        rows: dict[str, list[dict]] = {}
        for r in page:
            if not isinstance(r, dict):  # no documentkey to read: 'str' has no .get crashed every run
                log.warning("ServiceNow: sys_audit_delete answered a JSON %s where a row is an object; skipped",
                            type(r).__name__)
                continue
            # One table asked for: all its rows are its own (as when each table read its own audit).
            part = parts[0] if len(parts) == 1 else by_table.get(r.get("tablename"))
            if part is not None and part.wants(r.get("sys_created_on")):
                rows.setdefault(part.spec.table, []).append(r)
        for table, mine in rows.items():
            yield from _page_deletes(client, by_table[table], mine, run_id)


def _page_deletes(client: ServiceNowClient, part: Due, page: list[dict], run_id: str) -> Iterator[Any]:
    """Deletion rows for one page of ``part``'s audit rows."""
    spec, known = part.spec, part.known
    latest: dict[str, datetime | None] = {}
    for r in page:
        key = r.get("documentkey")
        if not isinstance(key, str) or not key or text_problem(key):
            continue
        try:  # when ServiceNow deleted it (the audit row's creation), not when we noticed
            at = parse_vendor_ts(r["sys_created_on"]).replace(tzinfo=UTC)
        except (KeyError, TypeError, ValueError):
            at = None
        if key not in latest or (at is not None and (latest[key] is None or at > latest[key])):
            latest[key] = at
    # Already recorded with this very time: sending it again could undo a later restore.
    fresh = {k: at for k, at in latest.items() if at is None or known.get(k) != at.timestamp()}
    alive = existing(client, spec.table, sorted(fresh))
    by_time: dict[datetime | None, list[str]] = {}
    for key, at in fresh.items():
        if key not in alive:
            by_time.setdefault(at, []).append(key)
            if at is not None:
                known[key] = at.timestamp()
    for at, ids in by_time.items():
        item = deletion_rows(spec.resource, ids, detected_by="feed", run_id=run_id, deleted_at=at)
        if item is not None:
            yield item


def existing(client: ServiceNowClient, table: str, sys_ids: list[str]) -> set[str]:
    """Which of ``sys_ids`` the table holds right now."""
    found: set[str] = set()
    usable = [s for s in sys_ids if s.isalnum()]
    for start in range(0, len(usable), CHUNK):
        chunk = ",".join(usable[start:start + CHUNK])
        for page in client.read_concurrently(table, f"sys_idIN{chunk}", page_size=CHUNK, concurrency=1,
                                             fields=["sys_id"]):
            found.update(r["sys_id"] for r in page if isinstance(r, dict) and isinstance(r.get("sys_id"), str))
    return found
