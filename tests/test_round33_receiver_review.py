"""Round 33 review of the inbox's parking and poison guards, and of the Standard Webhooks secret check.

- A run that never ends (stuck queued/started/canceling: a dead worker, no run monitoring) held its job's new events
  for ever: each time their wait ran out they were parked again, no attempt counted, no run ever requested.
- An event parked behind a run an overlapping pass had already settled waited an hour; ``park`` turned an event
  another pass had launched back into ``retry``.
- An exception whose ``__str__`` raises ended the pass at that event on every tick (GeneratorExit, first re-raised
  here, counts a failed attempt again after the final review: it ended every pass); a finished event kept the
  ``after:<run>`` key of a run it never rode on (named by the audit).
- The settle loop wrote one UPDATE per event: a storm's batch was thousands of round trips.
- An unpadded ``whsec_`` secret (valid: the Standard Webhooks package pads it itself) stopped the receiver's start.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from tests import test_round33_receiver_inbox as inbox_tests
from tests.test_round33_receiver_inbox import _poison_then_healthy, _states, _store
from tests.webhook_helpers import SECRETS, settings_for
from webhooks.inbox import EventQueue, open_database
from webhooks.inbox.queue import MAX_ATTEMPTS
from webhooks.processing import process
from webhooks.receiver.verify import secret_problem, verify_generic

JOB = "servicenow_incidents_to_tasks"
# that module's fixtures: an inbox on SQLite and on PostgreSQL, the handlers' registry restored after each test
inbox_settings, pg_settings, registry = inbox_tests.inbox_settings, inbox_tests.pg_settings, inbox_tests.registry


def _seq(db, delivery_id: str) -> int:
    (seq,), = db.query("select seq from webhook_events where delivery_id = ?", (delivery_id,))
    db.commit()
    return seq


def _row(db, delivery_id: str) -> tuple:
    (row,) = db.query("select status, attempts, run_key from webhook_events where delivery_id = ?", (delivery_id,))
    db.commit()
    return row


# --- a run that never ends ----------------------------------------------------------------------------------

def test_events_behind_a_run_that_never_ends_go_on_toward_a_run_or_the_dead_letter(inbox_settings):
    """6 hours of 60-s passes while every run stays STARTED: the event behind the first run had ended ``retry``
    with 0 attempts and no run requested for it, and the stuck run's own event stayed ``launched``."""
    settings = inbox_settings
    db = open_database(settings)
    queue = EventQueue(db)
    try:
        _store(settings, [("servicenow", "first", "incident.update", {})])
        first = process(queue, lambda key: "running", now=1000.0)
        assert [r.job_name for r in first.runs] == [JOB]
        _store(settings, [("servicenow", "behind", "incident.update", {})])
        behind, runs = _seq(db, "behind"), []
        for n in range(1, 6 * 60 + 1):  # bounded: 360 passes
            result = process(queue, lambda key: "running", now=1000.0 + 60 * n)
            runs += result.runs
        assert any(behind in r.seqs for r in runs)  # was never in a run
        assert _row(db, "first")[1] >= 1  # the stuck run counted a failed attempt: it heads to the dead letter
        assert all(status in ("launched", "retry", "dead") for status, _, _ in
                   db.query("select status, attempts, run_key from webhook_events"))
    finally:
        db.close()


def test_an_event_whose_wait_ran_out_is_not_parked_again(tmp_path):
    settings = settings_for(tmp_path)
    db = open_database(settings)
    queue = EventQueue(db)
    try:
        _store(settings, [("servicenow", "first", "incident.update", {})])
        (run,) = process(queue, lambda key: "running", now=1000.0).runs
        _store(settings, [("servicenow", "behind", "incident.update", {})])
        queue.park([_seq(db, "behind")], run.run_key, 1000.0, 10.0)
        later = process(queue, lambda key: "running", now=1020.0)  # its run still in flight, its wait over
        assert [(r.job_name, len(r.seqs)) for r in later.runs] == [(JOB, 1)]  # was parked again
        assert later.coalesced == 0
    finally:
        db.close()


# --- overlapping passes -------------------------------------------------------------------------------------

def test_an_event_parked_behind_a_run_another_pass_settled_is_released_by_the_next_pass(inbox_settings):
    settings = inbox_settings
    db = open_database(settings)
    queue = EventQueue(db)
    try:
        _store(settings, [("servicenow", "first", "incident.update", {}),
                          ("servicenow", "behind", "incident.update", {})])
        (run,) = process(queue, lambda key: "running", now=1000.0, limit=1).runs
        queue.park([_seq(db, "behind")], run.run_key, 1005.0, 3600.0)
        queue.mark_done([_seq(db, "first")], 1010.0)  # another pass settled the run (and released before this park)
        after = process(queue, lambda key: "success", now=1015.0)
        assert [(r.job_name, len(r.seqs)) for r in after.runs] == [(JOB, 1)]  # had waited until 4605
    finally:
        db.close()


def test_a_pass_never_parks_behind_a_run_an_overlapping_pass_settles(tmp_path):
    settings = settings_for(tmp_path)
    db, other = open_database(settings), open_database(settings)
    queue = EventQueue(db)
    try:
        _store(settings, [("servicenow", "first", "incident.update", {})])
        assert len(process(queue, lambda key: "running", now=1000.0).runs) == 1

        def status(key):  # while this pass asks Dagster, another one settles the run; then a change arrives
            process(EventQueue(other), lambda k: "success", now=1004.0)
            _store(settings, [("servicenow", "behind", "incident.update", {})])
            return "running"

        assert process(queue, status, now=1005.0).runs == []
        nxt = process(queue, lambda key: "success", now=1010.0)
        assert [(r.job_name, len(r.seqs)) for r in nxt.runs] == [(JOB, 1)]  # was parked until 4605
    finally:
        other.close()
        db.close()


def test_park_never_turns_an_event_another_pass_launched_back_into_retry(inbox_settings):
    settings = inbox_settings
    db = open_database(settings)
    queue = EventQueue(db)
    try:
        _store(settings, [("servicenow", "first", "incident.update", {}), ("jira", "j1", "jira:issue_updated", {})])
        (run,) = process(queue, lambda key: "running", now=1000.0, limit=1).runs
        queue.mark_launched([_seq(db, "j1")], "webhooks:jira_sync:abc", 1001.0)  # another pass launched it
        queue.park([_seq(db, "j1")], run.run_key, 1002.0, 3600.0)
        assert _row(db, "j1") == ("launched", 0, "webhooks:jira_sync:abc")  # was ("retry", 0, "after:...")
    finally:
        db.close()


# --- poison guards ------------------------------------------------------------------------------------------

def test_an_error_whose_text_cannot_be_printed_is_dead_lettered(tmp_path, registry):
    class Unprintable(Exception):
        def __str__(self):
            raise RuntimeError("no text")

    def poison(event):
        raise Unprintable()

    queue, db = _poison_then_healthy(settings_for(tmp_path), registry, poison)  # ended every pass at the poison
    try:
        assert _states(db) == {"poison": ("dead", MAX_ATTEMPTS), "healthy": ("done", 0)}
        assert queue.dead_letters()[0]["last_error"] == "Unprintable: <unprintable>"
    finally:
        db.close()


def _raising(exc: BaseException):
    def handler(event):
        raise exc
    return handler


def test_a_handler_raising_generator_exit_counts_a_failed_attempt_and_the_rest_go_on(tmp_path, registry):
    """Final review: process() is no generator, so a GeneratorExit can only be a handler's own poison; re-raised, it
    ended every pass at that event, never counted (as SystemExit had)."""
    _, db = _poison_then_healthy(settings_for(tmp_path), registry, _raising(GeneratorExit("a handler's own")))
    try:
        assert _states(db) == {"poison": ("dead", MAX_ATTEMPTS), "healthy": ("done", 0)}
    finally:
        db.close()


def test_a_run_queued_behind_its_vendors_live_sync_is_waited_for_however_long(inbox_settings):
    """Final review: the run timeout counted from the request, so a webhook run waiting over an hour in Dagster's
    queue (one live sync per vendor) was failed, asked for again every hour, and its events dead-lettered after ten."""
    settings = inbox_settings
    db = open_database(settings)
    queue = EventQueue(db)
    try:
        _store(settings, [("servicenow", "first", "incident.update", {})])
        assert len(process(queue, lambda key: "queued", now=1000.0).runs) == 1
        for n in range(1, 13):  # bounded: 12 hours of hourly passes, the run still queued
            assert process(queue, lambda key: "queued", now=1000.0 + 3600 * n).runs == []
        assert _row(db, "first")[:2] == ("launched", 0)
        process(queue, lambda key: "success", now=1000.0 + 3600 * 13)
        assert _row(db, "first")[0] == "done"
    finally:
        db.close()


def test_dagsters_interruption_is_not_counted_against_the_event(tmp_path, registry):
    from dagster._core.errors import DagsterExecutionInterruptedError

    _store(settings_for(tmp_path), [("generic", "e1", "t.stop", {})])
    registry[("generic", "t.stop")] = _raising(DagsterExecutionInterruptedError())
    db = open_database(settings_for(tmp_path))
    try:
        with pytest.raises(DagsterExecutionInterruptedError):
            process(EventQueue(db), lambda key: None, now=1000.0)
        assert _states(db) == {"e1": ("pending", 0)}
    finally:
        db.close()


# --- the audit names only the run an event rode on ----------------------------------------------------------

def test_a_finished_event_forgets_the_run_it_was_parked_behind(inbox_settings):
    settings = inbox_settings
    db = open_database(settings)
    queue = EventQueue(db)
    try:
        _store(settings, [("servicenow", "first", "incident.update", {}), ("servicenow", "d", "incident.update", {}),
                          ("servicenow", "i", "incident.update", {})])
        (run,) = process(queue, lambda key: "running", now=1000.0, limit=1).runs
        queue.park([_seq(db, "d"), _seq(db, "i")], run.run_key, 1001.0, 3600.0)
        queue.mark_done([_seq(db, "d")], 1002.0)
        queue.mark_ignored({_seq(db, "i"): "nothing to do"}, 1002.0)
        queue.mark_done([_seq(db, "first")], 1003.0)  # settled by its run: keeps it
        keys = {ev["delivery_id"]: ev["run_key"] for ev in queue.unaudited()}
        assert keys == {"first": run.run_key, "d": None, "i": None}  # were "after:<run>"
    finally:
        db.close()


# --- set-based updates --------------------------------------------------------------------------------------

def test_a_storm_batch_is_launched_and_parked_in_a_few_statements(inbox_settings):
    settings = inbox_settings
    db = open_database(settings)
    try:
        db.begin()
        for n in range(1200):
            db.execute("insert into webhook_events (source, delivery_id, event_type, received_at, body) "
                       "values (?, ?, ?, ?, ?)", ("jira", f"s{n}", "jira:issue_updated", 0.0, "{}")).close()
        db.commit()
        calls = [0]
        execute = db.execute

        def counted(statement, params=()):
            calls[0] += 1
            return execute(statement, params)

        db.execute = counted
        queue = EventQueue(db)
        (run,) = process(queue, lambda key: "running", now=1000.0, limit=600).runs
        assert len(run.seqs) == 600
        assert calls[0] < 30, calls[0]  # was one UPDATE per event: 600 and more
        calls[0] = 0
        parked = process(queue, lambda key: "running", now=1005.0)
        assert parked.coalesced == 600 and calls[0] < 30, calls[0]
        assert _row(db, "s1199")[2] == "after:" + run.run_key
    finally:
        db.close()


# --- Standard Webhooks secrets ------------------------------------------------------------------------------

def _signed(key: bytes, secret: str) -> str | None:
    body, msg_id, ts = b'{"type":"task.created","data":{}}', "msg_1", 1_700_000_000
    sig = base64.b64encode(hmac.new(key, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()).decode()
    headers = {"webhook-id": msg_id, "webhook-timestamp": str(ts), "webhook-signature": f"v1,{sig}"}
    return verify_generic(secret, body, headers, ts, 300)


@pytest.mark.parametrize("size", [32, 31, 24])
def test_an_unpadded_generic_secret_is_taken_and_verifies(tmp_path, size):
    key = bytes(range(size))
    secret = "whsec_" + base64.b64encode(key).decode().rstrip("=")
    assert secret_problem("generic", secret) is None  # 32 and 31 bytes: refused as "not standard base64"
    settings = settings_for(tmp_path)
    type(settings)(**{**settings.__dict__, "secrets": {**SECRETS, "generic": secret}}).resolved()
    assert _signed(key, secret) is None


def test_url_safe_characters_in_an_unpadded_secret_are_still_refused(tmp_path):
    secret = "whsec_" + base64.urlsafe_b64encode(bytes([251] * 32)).decode().rstrip("=")
    assert "-" in secret or "_" in secret.removeprefix("whsec_")
    assert secret_problem("generic", secret) is not None
    settings = settings_for(tmp_path)
    with pytest.raises(ValueError, match="GENERIC_WEBHOOK_SECRET"):
        type(settings)(**{**settings.__dict__, "secrets": {**SECRETS, "generic": secret}}).resolved()
