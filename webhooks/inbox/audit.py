"""Audit rows for processed webhook events: the sensor writes them, the receiver never touches the warehouse.

Grain: one ``audit.events`` row (action ``webhook``) per inbox event that reached ``done`` or ``dead``:
system = source, operation = event type, object_id = delivery id, status, the run's correlation id
(a fresh one for events finished without a run). Best effort per tick: when the warehouse is busy
(DuckDB allows one writer and a load may hold it) the rows wait in the inbox for the next tick.
"""

from __future__ import annotations

import logging

from resources.audit import new_correlation_id, record_event
from resources.warehouse import WarehouseResource
from webhooks.inbox.queue import EventQueue

log = logging.getLogger(__name__)


def audit_processed(queue: EventQueue, warehouse: WarehouseResource | None = None) -> int:
    """Record the finished events not yet audited; returns how many (0 when the warehouse is busy)."""
    pending = queue.unaudited()
    if not pending:
        return 0
    try:
        with (warehouse or WarehouseResource.from_env()).connect() as conn:
            for ev in pending:
                record_event(conn, action="webhook", system=ev["source"],
                             correlation_id=ev["correlation_id"] or new_correlation_id(), operation=ev["event_type"],
                             object_id=ev["delivery_id"], status=ev["status"],
                             detail={"inbox_seq": ev["seq"], "attempts": ev["attempts"], "run_key": ev["run_key"]})
    except Exception as exc:  # the warehouse is busy or down: the rows wait for the next tick
        log.info("webhook audit rows wait for the warehouse (%s)", type(exc).__name__)
        return 0
    queue.mark_audited([ev["seq"] for ev in pending])
    return len(pending)
