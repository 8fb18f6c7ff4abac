"""A record the vendor will not take now waits, with a doubling backoff, instead of being written on every push.

The bookkeeping is the record's dead letter and its audit rows: the episode starts when the record is
dead-lettered (``first_failed_at``) and ends when the dead letter is cleared; each refusal of the episode audited
with ``operation`` doubles the hold after the last one, up to a day. Used by ServiceNow's set-back closes and
updates (``sn_reverted.py``, ``sn_update_reverted.py``) and Jira's issues that take no edit (``jira_frozen.py``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from resources.audit import SCHEMA as AUDIT
from resources.audit import ensure_audit_table

from . import state

MAX_HOLD = timedelta(days=1)
# the setting's largest value: a hold is at most a day anyway (a larger value was an OverflowError that stopped
# the push once doubled)
MAX_SECONDS = int(MAX_HOLD.total_seconds())
# the refusal is audited a moment before the engine writes the dead letter (same record, same run)
_MARGIN = timedelta(minutes=10)


def setting(name: str) -> int:
    """A hold setting from the environment, in seconds (default 3600; 0: no hold; at most a day); a bad value
    raises before any vendor call."""
    from resources.evidence.limits import env_int

    return env_int(name, 3600, unit="a number of seconds", example="3600", minimum=0, maximum=MAX_SECONDS) or 0


def held_until(writes: Any, vendor: str, vendor_id: str, internal_id: str, hold_seconds: int,
               operation: str = "close_reverted") -> datetime | None:
    """When the close (``operation`` close_reverted) or the update (update_reverted) of ``vendor_id`` may be sent
    again (naive UTC), if that is still to come: None when no hold applies (no dead letter for the record, no
    revert in its episode, the setting 0, or the hold is over)."""
    if hold_seconds <= 0:
        return None
    with writes.lock, writes.committed():
        conn = writes.conn
        since = conn.scalar(f"select first_failed_at from {state.SCHEMA}.dead_letters where vendor = %s "
                            "and internal_id = %s", (vendor, internal_id))
        if since is None:
            return None
        ensure_audit_table(conn)  # a dead letter may come before this warehouse's first audited write
        rows = conn.query(f"select occurred_at from {AUDIT}.events where action = 'push' and system = %s and "
                          "operation = %s and object_id = %s and occurred_at >= %s order by occurred_at",
                          (vendor, operation, vendor_id, since - _MARGIN))
    if not rows:
        return None
    last = rows[-1]["occurred_at"]
    # doubled in whole seconds (Python ints do not overflow), capped before it becomes a timedelta
    hold = timedelta(seconds=min(MAX_SECONDS, hold_seconds * 2 ** min(len(rows) - 1, 16)))
    until = last + hold
    return until if until > state.now() else None
