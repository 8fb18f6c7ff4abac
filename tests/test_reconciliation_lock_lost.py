"""The nightly ServiceNow reconciliation stops writing when its push lock is no longer its own (the row deleted,
or taken over by a push after a missed heartbeat), as a push does: before, its heartbeat only logged a warning
and the reconciliation went on rewriting, adopting and closing records beside the push that now held the lock.
Against the ServiceNow sandbox over HTTP."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from types import SimpleNamespace

import pytest

from assets.reverse_sync import reconcile, state
from assets.reverse_sync.engine import SCHEMA
from resources.warehouse import WarehouseResource
from tests.test_reverse_sync_round22_reconcile import _reconcile, _stored_as, pushed, servicenow

__all__ = ["pushed", "servicenow"]


def test_a_reconciliation_that_lost_its_lock_stops_before_the_next_write(pushed, monkeypatch):
    rows = pushed
    _stored_as(rows, {r["remediation_task_id"]: {"description": "Edited by hand at ServiceNow"} for r in rows})
    monkeypatch.setattr(state, "HEARTBEAT_SECONDS", 0.05)
    kept: list[str] = []
    original = reconcile.ServiceNowLinks._keep_ours

    def keep_ours(self, internal_id, link, record):
        original(self, internal_id, link, record)
        kept.append(internal_id)
        if len(kept) == 1:  # a push takes the lock over meanwhile (here: the row is deleted)
            other = self.conn.another()
            other.execute(f"delete from {SCHEMA}.run_locks where vendor = 'servicenow'")
            other.raw.commit()
            other.raw.close()
            deadline = time.monotonic() + 5
            while self.lock_lost is None and time.monotonic() < deadline:
                time.sleep(0.02)

    monkeypatch.setattr(reconcile.ServiceNowLinks, "_keep_ours", keep_ours)
    with pytest.raises(state.LockLost, match=r"reconciliation stopped: its row in reverse_sync\.run_locks is gone"):
        _reconcile(rows)
    assert len(kept) == 1  # the two other records were not rewritten beside the push
    with WarehouseResource.from_env().connect() as conn:
        rewrites = conn.scalar("select count(*) from audit.events where action = 'reconciliation' "
                               "and operation = 'rewrite'")
    assert rewrites <= 1


def test_a_heartbeat_that_cannot_refresh_for_half_the_stale_time_gives_the_lock_up(monkeypatch):
    """A database that keeps refusing the refresh: after half of STALE_LOCK another push may take the lock over."""
    class Refusing:
        def __init__(self):
            self.raw = self

        def commit(self):
            pass

        def rollback(self):
            pass

        def close(self):
            pass

    def refuse(conn, vendor, owner):
        raise RuntimeError("server closed the connection unexpectedly")

    monkeypatch.setattr(state, "HEARTBEAT_SECONDS", 0.01)
    monkeypatch.setattr(state, "STALE_LOCK", timedelta(seconds=0.2))
    monkeypatch.setattr(state, "refresh_run_lock", refuse)
    links = reconcile.ServiceNowLinks.__new__(reconcile.ServiceNowLinks)
    links.lock_lost = None
    links.conn = SimpleNamespace(another=Refusing)
    stop = threading.Event()
    beat = threading.Thread(target=reconcile._heartbeat, args=(links, Refusing(), "owner", stop), daemon=True)
    beat.start()
    beat.join(5)
    stop.set()
    assert not beat.is_alive() and "could not be refreshed" in (links.lock_lost or "")
    with pytest.raises(state.LockLost, match="could not be refreshed"):
        links._still_ours()


def test_a_heartbeat_refresh_that_fails_once_goes_on_on_a_fresh_connection(monkeypatch):
    """A dropped session (a PostgreSQL failover, an idle timeout) is replaced: the next beat refreshes the lock on a
    new connection, so the reconciliation is not stopped for a lock nobody took (it had kept the dead one)."""
    class Conn:
        opened = 0

        def __init__(self):
            Conn.opened += 1
            self.raw, self.dead = self, Conn.opened == 1

        def commit(self):
            pass

        def rollback(self):
            pass

        def close(self):
            pass

    beats: list[bool] = []

    def refresh(conn, vendor, owner):
        beats.append(conn.dead)
        if conn.dead:
            raise RuntimeError("server closed the connection unexpectedly")
        return True

    monkeypatch.setattr(state, "HEARTBEAT_SECONDS", 0.01)
    monkeypatch.setattr(state, "STALE_LOCK", timedelta(seconds=0.5))
    monkeypatch.setattr(state, "refresh_run_lock", refresh)
    links = reconcile.ServiceNowLinks.__new__(reconcile.ServiceNowLinks)
    links.lock_lost, links.conn = None, SimpleNamespace(another=Conn)
    stop = threading.Event()
    beat = threading.Thread(target=reconcile._heartbeat, args=(links, Conn(), "owner", stop), daemon=True)
    beat.start()
    time.sleep(0.6)  # past the stale bound: a heartbeat stuck on the dead connection would have given up
    stop.set()
    beat.join(5)
    assert beats[0] is True and beats[1:] and not any(beats[1:]) and Conn.opened == 2
    assert links.lock_lost is None
