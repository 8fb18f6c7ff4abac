"""The nightly ServiceNow reconciliation's hold on the push lock: taken (waiting for a running push) and kept
fresh by a heartbeat while the reconciliation writes (``reconcile.ServiceNowLinks`` uses both)."""
from __future__ import annotations

import logging
import threading
import time
from contextlib import suppress
from typing import Any

from assets.reverse_sync import state

log = logging.getLogger("assets.reverse_sync.reconcile")  # the reconciliation's own logger

LOCK_WAIT_SECONDS = 300.0  # how long the reconciliation waits for a running ServiceNow push (its lock)
LOCK_POLL_SECONDS = 2.0


def _take_push_lock(conn, run_id: str) -> str:
    """The ServiceNow push lock for the reconciliation, waiting up to LOCK_WAIT_SECONDS for a push to finish."""
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    while True:
        try:
            return state.acquire_run_lock(conn, "servicenow", f"reconciliation:{run_id}")
        except state.PushAlreadyRunning as exc:
            if time.monotonic() >= deadline:
                raise state.PushAlreadyRunning(
                    f"the nightly reconciliation waited {LOCK_WAIT_SECONDS:.0f} s for a ServiceNow push to finish and "
                    f"wrote nothing: {exc}. Run the reconciliation again once the push is done") from None
        time.sleep(min(LOCK_POLL_SECONDS, max(0.0, deadline - time.monotonic())))


def _heartbeat(links: Any, conn, owner: str, stop: threading.Event) -> None:
    """Keep the lock fresh while the reconciliation runs (a push takes over a lock unrefreshed for STALE_LOCK).
    When the lock is found gone or taken over, or could not be refreshed for half of STALE_LOCK, ``links.lock_lost``
    says why and the reconciliation writes nothing more (as a push does: ``runloop._heartbeat``)."""
    last_ok = time.monotonic()
    try:
        while not stop.wait(state.HEARTBEAT_SECONDS):
            try:
                if conn is None:  # the last one failed: a fresh session (a failover, an idle timeout)
                    conn = links.conn.another()
                held = state.refresh_run_lock(conn, "servicenow", owner)
                conn.raw.commit()
            except Exception as exc:
                log.warning("reconciliation: could not refresh its ServiceNow push lock: %s", exc)
                with suppress(Exception):
                    conn.raw.rollback()
                with suppress(Exception):
                    conn.raw.close()
                conn = None
                if time.monotonic() - last_ok > state.STALE_LOCK.total_seconds() / 2:
                    links.lock_lost = (f"its ServiceNow push lock could not be refreshed for "
                                       f"{time.monotonic() - last_ok:.0f} s, so a push may have taken it over")
                    return
                continue
            if not held:
                log.warning("reconciliation: its ServiceNow push lock is gone or taken over: it stops writing")
                links.lock_lost = ("its row in reverse_sync.run_locks is gone or now belongs to a push (its heartbeat "
                                   "was taken for stale, or the row was deleted)")
                return
            last_ok = time.monotonic()
    finally:
        if conn is not None:
            with suppress(Exception):
                conn.raw.close()
