"""Processing the inbox: exactly once under duplicates, batched sync runs, retries, dead letters, replay."""

from __future__ import annotations

import asyncio
import collections
import json
import random

import pytest
from dagster import DagsterInstance, build_sensor_context

from cli.__main__ import main as cli_main
from resources.environment import ENVIRONMENTS
from sensors.webhook_inbox import webhook_inbox_sensor
from tests.webhook_helpers import GENERIC, asgi_client, generic_body, generic_request, metric, settings_for
from webhooks import handlers
from webhooks.app import create_app
from webhooks.inbox import EventQueue, InboxWriter, open_database
from webhooks.processing import process


@pytest.fixture
def registry(monkeypatch):
    """A private copy of the handler registry for the test's own handlers."""
    monkeypatch.setattr(handlers, "REGISTRY", dict(handlers.REGISTRY))
    return handlers.REGISTRY


def test_ten_thousand_deliveries_with_30_percent_duplicates_are_processed_exactly_once(tmp_path, registry):
    settings = settings_for(tmp_path, rate_per_second=0)  # one sender, faster than a vendor may send
    rng = random.Random(11)
    distinct = [(f"msg_{i}", generic_body("test.counted", n=i)) for i in range(7000)]
    sends = distinct + [rng.choice(distinct) for _ in range(3000)]
    rng.shuffle(sends)
    accepted_before = metric("webhook_deliveries_accepted_total", endpoint="generic")
    dup_before = metric("webhook_deliveries_duplicate_total", endpoint="generic")

    async def go():
        app = create_app(settings)
        gate = asyncio.Semaphore(50)
        async with app.router.lifespan_context(app), asgi_client(app) as client:
            async def send(msg_id, body):
                async with gate:
                    return (await client.post(GENERIC, **generic_request(body, msg_id))).text
            return await asyncio.gather(*(send(m, b) for m, b in sends))

    answers = asyncio.run(go())
    assert collections.Counter(answers) == {"accepted": 7000, "duplicate": 3000}
    assert metric("webhook_deliveries_accepted_total", endpoint="generic") - accepted_before == 7000
    assert metric("webhook_deliveries_duplicate_total", endpoint="generic") - dup_before == 3000
    seen: collections.Counter[str] = collections.Counter()
    registry[("generic", "test.counted")] = lambda event: seen.update([event.delivery_id])
    db = open_database(settings)
    queue = EventQueue(db)
    cursor, passes = 0, 0
    while queue.due(cursor):  # the sensor's loop, 1,000 events a pass
        process(queue, lambda key: None, after_seq=cursor, limit=1000)
        cursor = queue.low_water()
        passes += 1
    assert passes == 7
    assert len(seen) == 7000 and set(seen.values()) == {1}
    assert seen.keys() == {m for m, _ in distinct}
    process(queue, lambda key: None, after_seq=0)  # a rerun from an old cursor changes nothing
    assert set(seen.values()) == {1}
    db.close()


def _store(settings, source, delivery_id, event_type, body):
    writer = InboxWriter(settings)
    assert writer.add_event(source, delivery_id, event_type, json.dumps(body), 0.0).result(10)
    writer.close()


def test_syncs_are_batched_per_job_and_settled_by_their_run(tmp_path):
    settings = settings_for(tmp_path)
    for i in range(5):
        _store(settings, "servicenow", f"incident:{i}:1:update", "incident.update", {"n": i})
    _store(settings, "servicenow", "change_request:1:1:update", "change_request.update", {})
    _store(settings, "jira", "j1", "jira:issue_updated", {})
    db = open_database(settings)
    queue = EventQueue(db, base_backoff=60)
    first = process(queue, lambda key: None, now=1000.0)
    assert sorted((r.job_name, len(r.seqs)) for r in first.runs) == [
        ("jira_sync", 1), ("servicenow_changes_sync", 1), ("servicenow_incidents_to_tasks", 5)]
    again = process(queue, lambda key: "running", now=1001.0)  # nothing launched twice
    assert again.runs == [] and again.failed == 0
    keys = {r.job_name: r.run_key for r in first.runs}
    statuses = {keys["servicenow_incidents_to_tasks"]: "success", keys["jira_sync"]: "failure"}
    settled = process(queue, lambda key: statuses.get(key, "running"), now=1002.0)
    assert settled.settled == 5 and settled.failed == 1
    retry = process(queue, lambda key: statuses.get(key, "running"), now=1003.0)
    assert retry.runs == []  # the failed Jira event waits out its backoff (60 s)
    later = process(queue, lambda key: statuses.get(key, "running"), now=1063.0)
    assert [(r.job_name, r.run_key != keys["jira_sync"]) for r in later.runs] == [("jira_sync", True)]
    held = process(EventQueue(db), lambda key: None, now=1064.0, blocked_jobs=frozenset({"jira_sync"}))
    assert held.runs == []
    db.close()


def test_a_remediation_task_changed_in_servicenow_requests_the_sync_that_reads_it_back(tmp_path, monkeypatch):
    """Two-way sync: a remediation task closed (or our own insert echoed) at ServiceNow is announced on its
    table, configurable as SERVICENOW_REMEDIATION_TABLE; the changes job reads that table back, and the CIs.
    Neither had a handler, so every such delivery was retried ten times and dead-lettered."""
    settings = settings_for(tmp_path)
    db = open_database(settings)
    monkeypatch.delenv("SERVICENOW_REMEDIATION_TABLE", raising=False)
    _store(settings, "servicenow", "rem:1:1:insert", "x_pjx_grc_remediation_task.insert", {})
    _store(settings, "servicenow", "cmdb:1:1:update", "cmdb_ci.update", {})
    first = process(EventQueue(db), lambda key: None, now=1000.0)
    assert first.failed == 0 and first.errors == [], first.errors
    assert [(r.job_name, r.tables) for r in first.runs] == [
        ("servicenow_changes_sync", ("cmdb_ci", "x_pjx_grc_remediation_task"))]
    monkeypatch.setenv("SERVICENOW_REMEDIATION_TABLE", "u_grc_fix")  # an instance that named it otherwise
    _store(settings, "servicenow", "rem:2:1:update", "u_grc_fix.update", {})
    _store(settings, "servicenow", "rem:3:1:update", "x_pjx_grc_remediation_task.update", {})
    # the first run has ended (one run at a time per job: events for a job whose run is in flight wait for it)
    second = process(EventQueue(db), lambda key: "success", now=1001.0)
    db.close()
    assert [(r.job_name, r.tables) for r in second.runs] == [("servicenow_changes_sync", ("u_grc_fix",))]
    assert second.failed == 1 and "x_pjx_grc_remediation_task" in second.errors[0]  # not a table read here


@pytest.fixture(scope="module")
def defs():
    import definitions

    return definitions.build_definitions()


def test_sensor_requests_runs_with_run_keys_and_reports_the_inbox(tmp_path, defs, monkeypatch, duckdb_warehouse):
    settings = settings_for(tmp_path)
    _store(settings, "servicenow", "incident:a:1:update", "incident.update", {})
    sensor = webhook_inbox_sensor(ENVIRONMENTS["local"], settings)
    with DagsterInstance.ephemeral() as instance:
        # a new warehouse: the event waits for the first full_sync instead of failing a vendor job
        waiting = sensor.evaluate_tick(build_sensor_context(instance=instance, definitions=defs))
        assert not waiting.run_requests and "waiting for the first full_sync" in waiting.skip_message
        monkeypatch.setattr("sensors.webhook_inbox.unbuilt_dbt_parents", lambda context, job: [])
        result = sensor.evaluate_tick(build_sensor_context(instance=instance, definitions=defs,
                                                           cursor=waiting.cursor))
        (request,) = result.run_requests
        assert request.job_name == "servicenow_incidents_to_tasks"
        assert request.run_key.startswith("webhooks:servicenow_incidents_to_tasks:")
        assert request.tags["projectx/webhook_tables"] == "incident"
        assert request.tags["projectx/live_sync"] == "true"
        assert len(request.tags["projectx/correlation_id"]) == 36
        (observation,) = result.asset_events
        assert observation.metadata["servicenow"].data == {"launched": 1}
        again = sensor.evaluate_tick(build_sensor_context(instance=instance, definitions=defs, cursor=result.cursor))
        assert not again.run_requests and "No webhook event needs a sync now" in again.skip_message
        assert not again.asset_events  # nothing changed, nothing reported


def test_dead_letter_after_ten_failed_attempts_and_a_replay_drains_it(tmp_path, registry, monkeypatch, capsys,
                                                                    duckdb_warehouse):
    settings = settings_for(tmp_path)
    monkeypatch.setenv("PROJECTX_WEBHOOK_INBOX", settings.sqlite_path)
    monkeypatch.setenv("WEBHOOK_RETRY_BASE_SECONDS", "0")  # no waiting between attempts in a test
    calls = []

    def flaky(event):
        calls.append(event.seq)
        raise RuntimeError("the partner bridge is down")

    registry[("generic", "test.flaky")] = flaky
    _store(settings, "generic", "msg_flaky", "test.flaky", {"type": "test.flaky"})
    sensor = webhook_inbox_sensor(ENVIRONMENTS["local"], settings)
    cursor = None
    with DagsterInstance.ephemeral() as instance:
        for _ in range(12):
            result = sensor.evaluate_tick(build_sensor_context(instance=instance, cursor=cursor))
            cursor = result.cursor
        assert len(calls) == 10  # ten attempts, then it stops
        db = open_database(settings)
        (dead,) = EventQueue(db).dead_letters()
        assert dead["attempts"] == 10 and "the partner bridge is down" in dead["last_error"]
        assert EventQueue(db).health()["generic"]["dead"] == 1
        assert cli_main(["webhooks", "dead-letters"]) == 0
        assert "msg_flaky" in capsys.readouterr().out
        registry[("generic", "test.flaky")] = lambda event: calls.append(("ok", event.seq))
        assert cli_main(["webhooks", "replay"]) == 0
        assert "replayed 1 dead letter" in capsys.readouterr().out
        result = sensor.evaluate_tick(build_sensor_context(instance=instance, cursor=cursor))
        assert calls[-1] == ("ok", dead["seq"])
        assert EventQueue(db).dead_letters() == []
        assert EventQueue(db).health()["generic"] == {"done": 1}
        observed = result.asset_events[0].metadata
        assert observed["dead_letters"].value == 0
        db.close()
    import duckdb

    with duckdb.connect(duckdb_warehouse.duckdb_path, read_only=True) as wh:
        audited = wh.execute("select system, operation, object_id, status from audit.events "
                             "where action = 'webhook' order by occurred_at").fetchall()
    assert audited == [("generic", "test.flaky", "msg_flaky", "dead"), ("generic", "test.flaky", "msg_flaky", "done")]


def test_events_without_a_handler_yet_say_so_and_end_in_dead_letters(tmp_path, monkeypatch):
    """A handler declared as a plugin whose module is not installed: the event is retried, then
    dead-lettered with a message that says so and how to replay it."""
    monkeypatch.setitem(handlers.PLUGINS, ("jira", "jira:board_created"), "pipelines.jira.not_installed:on_board")
    settings = settings_for(tmp_path)
    _store(settings, "jira", "j-board", "jira:board_created", {})
    db = open_database(settings)
    queue = EventQueue(db, base_backoff=0)
    for _ in range(10):
        process(queue, lambda key: None)
    (dead,) = queue.dead_letters()
    assert "no handler yet for jira event jira:board_created" in dead["last_error"]
    assert "python -m cli webhooks replay" in dead["last_error"]
    db.close()


def test_rejection_records_are_kept_30_days(tmp_path):
    settings = settings_for(tmp_path)
    writer = InboxWriter(settings)
    now = 2_000_000_000.0
    writer.add_rejection(now - 31 * 86400, "jira", "203.0.113.9", "bad_signature", 10, "").result(10)
    writer.add_rejection(now - 29 * 86400, "jira", "203.0.113.9", "bad_signature", 10, "").result(10)
    writer.close()
    db = open_database(settings)
    EventQueue(db).prune_rejections(keep_days=30, now=now)
    assert db.query("select received_at from webhook_rejections") == [(now - 29 * 86400,)]
    assert EventQueue(db).health(now=now) == {}  # none in the last 24 hours
    db.close()


def test_rejection_records_are_capped_to_the_newest_rows(tmp_path):
    """A flood from many addresses stays bounded: beyond the row cap only the newest records are kept."""
    settings = settings_for(tmp_path)
    writer = InboxWriter(settings)
    now = 2_000_000_000.0
    for i in range(30):
        writer.add_rejection(now - 60 + i, "jira", "203.0.113.9", f"bad_signature_{i}", 10, "").result(10)
    writer.close()
    db = open_database(settings)
    EventQueue(db).prune_rejections(keep_days=30, now=now, keep_rows=10)
    assert [r[0] for r in db.query("select reason from webhook_rejections order by id")] == \
        [f"bad_signature_{i}" for i in range(20, 30)]
    EventQueue(db).prune_rejections(keep_days=30, now=now)  # under the default cap: nothing more goes
    assert len(db.query("select id from webhook_rejections")) == 10
    db.close()
