"""ServiceNow deletes: the delete audit (``sys_audit_delete``), checked against the table itself.

A record deleted and re-created with the same ``sys_id`` (a restore, an import that re-inserts) leaves
an audit row although the record exists again, possibly written in the same second as the re-creation.
So an audited id is marked deleted only if the table no longer has it when we look, stamped with
ServiceNow's delete time (the audit row's creation). A record re-loaded while a delete of it is
recorded has that delete withdrawn (:func:`pipelines.common.deletions.withdrawn_rows`).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from pipelines.common.cursor import parse_vendor_ts
from pipelines.common.deletions import deletion_rows
from pipelines.common.pages import text_problem
from pipelines.servicenow.helpers import ServiceNowClient
from pipelines.servicenow.settings import TableSpec

CHUNK = 200


def deletes_from_audit(client: ServiceNowClient, spec: TableSpec, when: str, run_id: str,
                       known: dict[str, float]) -> Iterator[Any]:
    """Deletion rows for the audited deletes of ``spec``'s table matching ``when`` (a condition on the
    audit row's ``sys_created_on``: since the cursor, or within a window), less records that exist.

    ``known``: record_id -> epoch seconds of the deletes already recorded (updated as rows are sent)."""
    query = f"tablename={spec.table}^{when}"
    fields = ["sys_id", "documentkey", "tablename", "sys_created_on"]
    for page in client.read_concurrently("sys_audit_delete", query, page_size=1000, concurrency=1, fields=fields):
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
            found.update(r["sys_id"] for r in page if isinstance(r.get("sys_id"), str))
    return found
