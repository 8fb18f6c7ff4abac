"""Creates whose outcome is not known yet, so that a rerun does not make a second record.

A create may land at the vendor while nobody records it: the push is killed (SIGKILL, an OOM, a lost node)
after the request left and before its answer was audited, or the answer never came (a read timeout, a dropped
connection, a gateway's 504) while the vendor kept working on it. A rerun looks the record up by our id first,
but that look-up may not show it yet: Jira's JQL search lags its writes, and a ServiceNow create still being
carried out is not in the table yet. So:

- ``reverse_sync.pending_creates`` holds one row per (vendor, internal id) whose create was sent and whose
  answer is not audited yet: written and committed *before* the request is sent, deleted once its outcome is
  audited (any answer, or none), and when the record is linked. A row left there is a create killed mid-send.
- :func:`unsettled_create` says when such a create (or an audited one of unknown outcome) was sent, if within
  the vendor's window: the writer then holds the record (dead letter ``deferred: ...``) instead of creating it
  again; after the window the look-up by our id is trusted (adopt, else create).

This table is not in ``audit.events``: nothing was answered yet, and the audit log keeps one row per answer.
"""

from __future__ import annotations

import json
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from typing import Any

from resources.audit import SCHEMA as AUDIT
from resources.audit import ensure_audit_table
from resources.evidence.limits import env_int
from resources.warehouse import Connection

from .ratelimits import DEFAULT_SECONDS as RATE_LIMIT_SECONDS
from .ratelimits import SECONDS as RATE_LIMIT_ENV
from .state import DDL as DDL_ALL
from .state import SCHEMA

DDL = next(d for d in DDL_ALL if ".pending_creates (" in d)

KEEP_MARKS = timedelta(days=1)  # a mark older than every window holds nothing: pruned when the next is taken
# Audited statuses of a create that got no answer (``error``: a timeout or dropped connection) or a gateway's 504.
IN_FLIGHT = frozenset({"error", "504"})


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def ensure_table(conn: Connection) -> None:
    conn.execute(DDL)


def _rate_limit_seconds() -> int:
    """How long one push may wait on 429s (``PROJECTX_PUSH_RATE_LIMIT_SECONDS``): a mark is taken before the
    send, whose rate-limit waits come first, so a killed create may have left that much later than marked."""
    try:
        return env_int(RATE_LIMIT_ENV, RATE_LIMIT_SECONDS, unit="a number of seconds", example="300") or 0
    except ValueError:  # the push itself names the bad value
        return RATE_LIMIT_SECONDS


def mark_sent(conn: Connection, vendor: str, internal_id: str, run_id: str, correlation_id: str) -> None:
    """A create of ``internal_id`` is about to be sent (the caller commits before sending). Marks older than a
    day, left by records never pushed again (resolved meanwhile, adopted by the reconciliation), go."""
    ensure_table(conn)
    clear(conn, vendor, internal_id)
    conn.execute(f"delete from {SCHEMA}.pending_creates where sent_at < %s", (_now() - KEEP_MARKS,))
    conn.execute(f"insert into {SCHEMA}.pending_creates (vendor, internal_id, run_id, correlation_id, sent_at) "
                 "values (%s, %s, %s, %s, %s)", (vendor, internal_id, run_id, correlation_id, _now()))


def clear(conn: Connection, vendor: str, internal_id: str) -> None:
    conn.execute(f"delete from {SCHEMA}.pending_creates where vendor = %s and internal_id = %s",
                 (vendor, internal_id))


def unsettled_create(conn: Connection, vendor: str, internal_id: str, within_seconds: float,
                     in_flight_only: bool = False) -> Any:
    """The time of the latest create this vendor was sent for ``internal_id`` in the last ``within_seconds``
    (any run) that may have made a record not linked to it, else None. Unsettled: one sent and never answered
    (killed mid-send: a row of ``pending_creates``), or one audited without answer (a timeout, a dropped
    connection) or with a gateway's 504; unless ``in_flight_only`` (a vendor whose look-up is a consistent
    read, so an answer from the vendor itself settles the question) also one answered with a 5xx or with
    another record's id. A create the vendor refused (4xx) made nothing; one answered with the id the record
    is linked to now, or followed by an adoption, is settled."""
    since = _now() - timedelta(seconds=within_seconds)
    ensure_table(conn)
    ensure_audit_table(conn)
    marked_since = since - timedelta(seconds=_rate_limit_seconds())  # the send may have waited on 429s first
    sent = conn.scalar(f"select max(sent_at) from {SCHEMA}.pending_creates where vendor = %s and internal_id = %s "
                       "and sent_at >= %s", (vendor, internal_id, marked_since))
    if sent is not None:
        return sent
    rows = conn.query(
        f"select operation, object_id, status, occurred_at, detail from {AUDIT}.events where system = %s and "
        "action = 'push' and operation in ('create', 'adopt') and occurred_at >= %s and detail like %s "
        "order by occurred_at desc", (vendor, since, f'%{internal_id}%'))
    linked = conn.scalar(f"select vendor_id from {SCHEMA}.external_links where vendor = %s and internal_id = %s",
                         (vendor, internal_id))
    for row in rows:
        with suppress(ValueError, TypeError):
            if json.loads(row["detail"] or "{}").get("internal_id") != internal_id:
                continue
            settled = row["operation"] == "adopt" or str(row["status"]).startswith("4")
            if settled or (linked is not None and row["object_id"] == str(linked)):
                return None
            if in_flight_only and str(row["status"]) not in IN_FLIGHT:
                return None
            return row["occurred_at"]
    return None
