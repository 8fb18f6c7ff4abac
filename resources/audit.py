"""The audit trail: one append-only ``audit.events`` table in the warehouse, shared by every part.

Grain: one row per external interaction — a pull, a push, a notification, an evidence action, a
webhook processed, a secret rotated. ``correlation_id`` joins the rows of one piece of work across
systems: it is sent to vendors as the ``X-Correlation-ID`` request header, set as the Dagster run tag
``projectx/correlation_id`` and written into log lines. ``detail`` is JSON for the figures of the
event; it never holds a secret (callers pass ids, counts and statuses, not payloads or credentials).

Writers hold a warehouse connection (``resources.warehouse.Connection``); the webhook receiver,
which never writes the warehouse, leaves its events in its inbox and the inbox sensor records them.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from resources.warehouse import Connection

SCHEMA = "audit"
CORRELATION_HEADER = "X-Correlation-ID"
CORRELATION_TAG = "projectx/correlation_id"
ACTIONS = ("pull", "push", "notification", "evidence", "webhook", "secret", "reconciliation")

DDL = (
    f"create schema if not exists {SCHEMA}",
    f"""create table if not exists {SCHEMA}.events (
        event_id varchar not null primary key, occurred_at timestamp not null,
        correlation_id varchar not null, action varchar not null, system varchar not null,
        operation varchar, object_id varchar, status varchar, run_id varchar, detail varchar)""",
)


def new_correlation_id() -> str:
    """A fresh correlation id (a UUID4 string)."""
    return str(uuid.uuid4())


def ensure_audit_table(conn: Connection) -> None:
    for statement in DDL:
        conn.execute(statement)


def record_event(conn: Connection, *, action: str, system: str, correlation_id: str,
                 operation: str | None = None, object_id: str | None = None, status: str | int | None = None,
                 run_id: str | None = None, detail: dict[str, Any] | None = None,
                 event_id: str | None = None) -> str:
    """Append one event; returns its id. ``action`` is one of ``ACTIONS``.

    ``event_id``: the caller's id for an event that may be recorded more than once (the same vendor
    delivery handed over again); a second event with that id is not added (the first one stands)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}: use one of {', '.join(ACTIONS)}")
    ensure_audit_table(conn)
    event_id = event_id or str(uuid.uuid4())
    conn.execute(
        f"insert into {SCHEMA}.events (event_id, occurred_at, correlation_id, action, system, operation,"
        " object_id, status, run_id, detail) values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
        " on conflict (event_id) do nothing",
        (event_id, datetime.now(UTC).replace(tzinfo=None), correlation_id, action, system, operation,
         object_id, None if status is None else str(status), run_id,
         None if detail is None else json.dumps(detail, sort_keys=True, default=str)),
    )
    return event_id
