"""Round 33, the inbox's processing semantics: an event storm on one record, poison events.

- A storm of changes to one record while its job's sync runs asked for one more whole sync per sensor tick
  (every 5 s), faster than they finish: events for a job whose run is in flight now wait for it, and the
  next run takes them all.
- A poison event whose handler raised something that is no ``Exception`` (``SystemExit`` from a library),
  or whose error text the inbox could not store (a lone surrogate on SQLite, a NUL on PostgreSQL), ended the
  whole pass at that event on every tick: never counted, never dead-lettered, and the events behind it
  never processed. It is now dead-lettered after the bounded attempts with its reason, and the rest go on.
"""

from __future__ import annotations

import dataclasses
import json
import uuid

import psycopg2
import pytest

from tests.webhook_helpers import settings_for
from webhooks import handlers
from webhooks.inbox import EventQueue, InboxWriter, open_database
from webhooks.inbox.queue import MAX_ATTEMPTS
from webhooks.processing import UNSEEN_GRACE, process


@pytest.fixture
def registry(monkeypatch):
    monkeypatch.setattr(handlers, "REGISTRY", dict(handlers.REGISTRY))
    return handlers.REGISTRY


def _store(settings, events: list[tuple[str, str, str, dict]]) -> None:
    writer = InboxWriter(settings)
    try:
        for source, delivery_id, event_type, body in events:
            assert writer.add_event(source, delivery_id, event_type, json.dumps(body), 0.0).result(10) is True
    finally:
        writer.close()


# --- an event storm on one record ---------------------------------------------------------------------------

def test_a_storm_on_one_record_while_its_sync_runs_asks_for_one_run_at_a_time(tmp_path):
    settings = settings_for(tmp_path)
    db = open_database(settings)
    queue = EventQueue(db)
    sys_id = "a" * 32
    status: dict[str, str] = {}
    runs = []
    try:
        for tick in range(8):  # 8 sensor ticks, 5 updates of the same incident between two ticks
            _store(settings, [("servicenow", f"{sys_id}:{tick}:{n}", "incident.update", {"sys_id": sys_id, "n": n})
                              for n in range(5)])
            result = process(queue, lambda key: status.get(key, "running"), now=1000.0 + 5 * tick)
            runs += result.runs
            assert result.failed == 0, result.errors
        assert [r.job_name for r in runs] == ["servicenow_incidents_to_tasks"]  # was one run per tick: 8
        assert len(runs[0].seqs) == 5
        status[runs[0].run_key] = "success"  # the run ends: the next one takes everything that waited
        after = process(queue, lambda key: status.get(key, "running"), now=1100.0)
        assert [(r.job_name, len(r.seqs)) for r in after.runs] == [("servicenow_incidents_to_tasks", 35)]
        assert after.settled == 5 and after.coalesced == 0
        # a run requested and not yet seen by Dagster (status None, within the run timeout) is in flight too
        _store(settings, [("servicenow", "late", "incident.update", {"sys_id": sys_id})])
        held = process(queue, lambda key: status.get(key), now=1105.0)
        assert held.runs == [] and held.coalesced == 1 and held.failed == 0
        # ... but not one Dagster has never seen after UNSEEN_GRACE (lost): new events no longer wait for it
        lost = process(queue, lambda key: status.get(key), now=1100.0 + UNSEEN_GRACE + 1)
        assert [(r.job_name, len(r.seqs)) for r in lost.runs] == [("servicenow_incidents_to_tasks", 1)]
        assert lost.failed == 0  # the lost run's own events wait for the run timeout, as before
    finally:
        db.close()


def test_events_of_other_jobs_are_not_held_by_a_run_in_flight(tmp_path):
    settings = settings_for(tmp_path)
    db = open_database(settings)
    queue = EventQueue(db, base_backoff=10)
    try:
        _store(settings, [("servicenow", "i1", "incident.update", {})])
        first = process(queue, lambda key: None, now=1000.0)
        _store(settings, [("servicenow", "i2", "incident.update", {}), ("jira", "j1", "jira:issue_updated", {}),
                          ("servicenow", "c1", "change_request.update", {})])
        second = process(queue, lambda key: "running", now=1005.0)
        assert sorted(r.job_name for r in second.runs) == ["jira_sync", "servicenow_changes_sync"]
        assert second.coalesced == 1
        # the run in flight fails: its event waits out its backoff; the one that waited goes now, alone
        third = process(queue, lambda key: "failure" if key == first.runs[0].run_key else "running", now=1010.0)
        assert third.failed == 1
        assert [(r.job_name, len(r.seqs)) for r in third.runs] == [("servicenow_incidents_to_tasks", 1)]
    finally:
        db.close()


@pytest.fixture
def pg_settings(tmp_path):
    from resources.warehouse import WarehouseSettings

    name = f"webhooks_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname="postgres")
    admin.autocommit = True
    admin.cursor().execute(f"create database {name}")
    pg = dataclasses.replace(WarehouseSettings(), kind="postgres", pg_database=name)
    try:
        yield dataclasses.replace(settings_for(tmp_path), inbox_kind="postgres", pg=pg)
    finally:
        admin.cursor().execute(f"drop database if exists {name} with (force)")
        admin.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def inbox_settings(request, tmp_path):
    return settings_for(tmp_path) if request.param == "sqlite" else request.getfixturevalue("pg_settings")


def test_a_storm_parked_behind_its_run_never_starves_the_other_sources(inbox_settings):
    """Parked events leave the pass's limit: held while due, a storm's backlog would fill every pass and a
    Slack click or a Jira change behind it would wait as long as the storm lasts."""
    settings = inbox_settings
    db = open_database(settings)
    queue = EventQueue(db)
    try:
        _store(settings, [("servicenow", "first", "incident.update", {})])
        process(queue, lambda key: None, now=1000.0, limit=3)
        _store(settings, [("servicenow", f"storm{n}", "incident.update", {"n": n}) for n in range(9)])
        _store(settings, [("jira", "j1", "jira:issue_updated", {})])
        passes = [process(queue, lambda key: "running", now=1005.0 + 5 * n, limit=3) for n in range(4)]
        assert [r.job_name for p in passes for r in p.runs] == ["jira_sync"]
        assert sum(p.coalesced for p in passes) == 9 and all(p.failed == 0 for p in passes)
        assert queue.low_water() == 11  # nothing pending: the sensor's cursor moves on
    finally:
        db.close()


def test_a_pass_of_slow_handlers_stops_at_its_time_budget_and_the_next_takes_the_rest(tmp_path, registry,
                                                                                    monkeypatch):
    """Slow handlers (Slack clicks while Slack is slow) had run one pass past the sensor's 60 s: the tick's run
    requests were lost and the pass went on beside the next tick. A pass now stops handing events over after
    its budget (30 s) and what it finished is recorded; the rest are due next tick."""
    clock = [0.0]
    monkeypatch.setattr("webhooks.processing.monotonic", lambda: clock[0], raising=False)

    def slow(event):  # each click takes 10 s of the pass
        clock[0] += 10.0

    registry[("generic", "t.slow")] = slow
    settings = settings_for(tmp_path)
    _store(settings, [("generic", f"click{n}", "t.slow", {"n": n}) for n in range(6)])
    db = open_database(settings)
    try:
        queue = EventQueue(db)
        first = process(queue, lambda key: None, now=1000.0)
        assert first.done == 4, "all 6 in one pass, however long it took"
        assert first.deferred == 2
        assert _states(db) == {**{f"click{n}": ("done", 0) for n in range(4)},
                               **{f"click{n}": ("pending", 0) for n in (4, 5)}}
        second = process(queue, lambda key: None, after_seq=queue.low_water(), now=1005.0)
        assert (second.done, second.deferred) == (2, 0)
    finally:
        db.close()


# --- poison events ------------------------------------------------------------------------------------------

def _poison_then_healthy(settings, registry, poison) -> tuple[EventQueue, object]:
    _store(settings, [("generic", "poison", "t.poison", {"n": 1}), ("generic", "healthy", "t.ok", {"n": 2})])
    registry[("generic", "t.poison")] = poison
    seen: list[str] = []
    registry[("generic", "t.ok")] = lambda event: seen.append(event.delivery_id)
    db = open_database(settings)
    queue = EventQueue(db, base_backoff=1, max_backoff=1)
    for tick in range(MAX_ATTEMPTS + 3):  # bounded: a few ticks past the attempts
        process(queue, lambda key: None, now=1000.0 + 2 * tick)
    assert seen == ["healthy"]
    return queue, db


def _states(db) -> dict[str, tuple[str, int]]:
    rows = db.query("select delivery_id, status, attempts from webhook_events")
    db.commit()
    return {d: (s, a) for d, s, a in rows}


def test_a_handler_raising_system_exit_is_dead_lettered_and_the_rest_go_on(tmp_path, registry):
    def poison(event):
        raise SystemExit("a library gave up")

    queue, db = _poison_then_healthy(settings_for(tmp_path), registry, poison)
    try:
        assert _states(db) == {"poison": ("dead", MAX_ATTEMPTS), "healthy": ("done", 0)}
        (dead,) = queue.dead_letters()
        assert dead["delivery_id"] == "poison" and dead["last_error"] == "SystemExit: a library gave up"
    finally:
        db.close()


def test_an_interrupt_is_not_counted_against_the_event(tmp_path, registry):
    _store(settings_for(tmp_path), [("generic", "e1", "t.stop", {})])
    registry[("generic", "t.stop")] = lambda event: (_ for _ in ()).throw(KeyboardInterrupt())
    db = open_database(settings_for(tmp_path))
    try:
        with pytest.raises(KeyboardInterrupt):
            process(EventQueue(db), lambda key: None, now=1000.0)
        assert _states(db) == {"e1": ("pending", 0)}
    finally:
        db.close()


def test_an_error_text_sqlite_cannot_store_is_dead_lettered_escaped(tmp_path, registry):
    def poison(event):  # text decoded with surrogateescape (a file name, a subprocess's output) in the message
        raise ValueError(b"no such table \xff".decode("utf-8", "surrogateescape"))

    queue, db = _poison_then_healthy(settings_for(tmp_path), registry, poison)
    try:
        assert _states(db) == {"poison": ("dead", MAX_ATTEMPTS), "healthy": ("done", 0)}
        assert queue.dead_letters()[0]["last_error"] == "ValueError: no such table \\udcff"
    finally:
        db.close()


def test_an_ignored_reason_sqlite_cannot_store_still_finishes_the_pass(tmp_path, registry):
    def ignored(event):
        raise handlers.Ignored("nothing to do for \udcff")

    _store(settings_for(tmp_path), [("generic", "i", "t.ignored", {})])
    registry[("generic", "t.ignored")] = ignored
    db = open_database(settings_for(tmp_path))
    try:
        result = process(EventQueue(db), lambda key: None, now=1000.0)
        assert result.ignored == 1
        assert _states(db) == {"i": ("ignored", 0)}
    finally:
        db.close()


@pytest.mark.postgres
def test_a_nul_in_the_error_text_is_dead_lettered_on_postgresql(pg_settings, registry):
    def poison(event):  # a payload's "\u0000" quoted by an error message
        raise ValueError("issue id 'a\x00b' is not a number")

    queue, db = _poison_then_healthy(pg_settings, registry, poison)
    try:
        assert _states(db) == {"poison": ("dead", MAX_ATTEMPTS), "healthy": ("done", 0)}
        assert queue.dead_letters()[0]["last_error"] == "ValueError: issue id 'a\\x00b' is not a number"
    finally:
        db.close()
