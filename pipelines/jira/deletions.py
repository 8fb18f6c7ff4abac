"""Jira issues deleted, as Jira says so one by one: ``jira:issue_deleted`` webhook events.

Jira's search never returns a deleted issue and has no delete feed, so an incremental sync cannot see
a delete. Two things do: the id census (:mod:`pipelines.jira.reconcile`, ``ENABLE_JIRA_DELTA_RECON``,
nightly) and the webhook. :func:`mark_issues_deleted` is what the webhook receiver's inbox processing
calls for each ``jira:issue_deleted`` event: it writes the same ``jira.deletions`` table the census
writes (entity ``issues``, merged on the issue id), with Jira's own delete time and ``detected_by =
'webhook'``, so staging flags the issue deleted. It is idempotent: the same event twice writes one
row. It runs its own small dlt pipeline (``projectx_jira_deletes_<warehouse>``, dataset ``jira``),
crash-safe like every sync (:mod:`pipelines.common.recovery`), so it never touches the issue sync's
cursor. It writes the warehouse: call it where warehouse writers take turns (a Dagster op in the
``warehouse`` pool), since DuckDB has one writer at a time.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import dlt

from pipelines.common.deletions import deletion_rows
from pipelines.common.recovery import recovered_pipeline
from pipelines.common.warehouse import WarehouseSettings

PIPELINE = "jira_deletes"


def mark_issues_deleted(issue_ids: Iterable[str | int] | Any, deleted_at: datetime | None = None, *,
                        run_id: str | None = None, detected_by: str = "webhook",
                        settings: WarehouseSettings | None = None) -> int | None:
    """Mark these Jira issue ids deleted at ``deleted_at`` (Jira's time, timezone-aware; a webhook's
    ``timestamp`` is epoch milliseconds: ``datetime.fromtimestamp(ms / 1000, UTC)``).

    Returns how many ids were written. ``run_id`` (default: a new one) lands in the row, like a sync's
    run id, so the write can be traced. ValueError names the fix for a naive time or a non-numeric id.

    Given one inbox event instead (an object whose ``payload()`` is the ``jira:issue_deleted`` body, as
    the webhook receiver's handler registry passes it), it marks that event's ``issue.id`` at the
    event's ``timestamp`` and returns None (the work is done; no sync needed).
    """
    if callable(getattr(issue_ids, "payload", None)):
        event = issue_ids
        body = event.payload()
        issue = body.get("issue") or {}
        stamp = body.get("timestamp")
        at = (datetime.fromtimestamp(stamp / 1000, UTC) if isinstance(stamp, int | float)
              else datetime.fromtimestamp(getattr(event, "received_at", None) or datetime.now(UTC).timestamp(), UTC))
        mark_issues_deleted([issue.get("id")], at, run_id=run_id or f"webhook:{getattr(event, 'delivery_id', '')}",
                            detected_by=detected_by, settings=settings)
        return None
    if deleted_at is None:
        raise ValueError("deleted_at is required with issue ids: Jira's delete time, timezone-aware")
    # As Jira writes an id: ``010003`` (a gateway's padding) or ``10003.0`` (one re-serialising numbers) is issue
    # 10003; stored as sent, the delete matched no issue and 10003 stayed live.
    ids = sorted({_canonical(i) for i in issue_ids})
    bad = [i for i in ids if not (i.isascii() and i.isdigit() and len(i) <= 18)]
    if bad:
        raise ValueError(f"Jira issue ids are numbers (the webhook's issue.id), not {bad[:3]}; pass issue.id, "
                         "not the issue key")
    if deleted_at.tzinfo is None:
        raise ValueError("deleted_at must be timezone-aware (UTC), e.g. datetime.fromtimestamp(ms / 1000, UTC)")
    if not ids:
        return 0
    settings = settings or WarehouseSettings.from_env()
    rows = deletion_rows("issues", ids, detected_by=detected_by, run_id=run_id or uuid.uuid4().hex,
                         deleted_at=deleted_at)
    def issue_deletes():
        yield rows

    with recovered_pipeline(settings, PIPELINE, dataset="jira") as run:
        run.pipeline.run(dlt.resource(issue_deletes, name="issue_deletes"))
    return len(ids)


def _canonical(issue_id: Any) -> str:
    """An issue id as Jira writes it (digits, no leading zero) when it is one in another form; else its text."""
    if isinstance(issue_id, float) and issue_id.is_integer():
        issue_id = int(issue_id)
    text = str(issue_id).strip()
    return str(int(text)) if text.isascii() and text.isdigit() and len(text.lstrip("0")) <= 18 else text
