"""Round 32 review: the Slack-only retry and the resend's ledger error, through the Slack and SMTP sandboxes.

1. A message whose first post Slack stored but answered 503 was meant to start its thread (posted top-level). When
   another message of that thread resumed first and became the thread, the first was looked for only in the new
   thread's replies, not found, and posted twice. Now it is also looked for top-level.
2. Slack failing for now while the relay refused every address of the route for good (550): dead-lettered at once
   (a run failure tagged failed), though Slack might answer in 10 minutes. Now it waits for Slack (retrying /
   pending), within the attempt cap.
3. A resend that got through overwrote the ledger error naming the addresses refused for good: now kept after it.
"""

from __future__ import annotations

import pytest

from assets.notifications.delivery import Deliverer
from resources.notifications import NotificationsResource
from resources.warehouse import WarehouseResource
from tests.notify_helpers import ledger, outbox_row


@pytest.fixture
def sandboxes(delivery_sandboxes):
    return delivery_sandboxes


def _deliver(rows: list[dict], max_attempts: int | None = None):
    kwargs = {"max_attempts": max_attempts} if max_attempts else {}
    resource = NotificationsResource(backoff_base_seconds=0.01, **kwargs)
    with WarehouseResource.from_env().connect() as conn:
        return Deliverer(conn, resource.slack(), resource.email()).deliver(rows)


def _ten_minutes_later() -> None:
    """The retry is due and the Slack breaker (5 minutes) has cooled down."""
    with WarehouseResource.from_env().connect() as conn:
        conn.execute("update notifications.delivery_ledger set next_attempt_at = next_attempt_at - interval 11 minute")
        conn.execute("update notifications.slack_state set since = since - interval 11 minute")
        conn.raw.commit()


def _alert(key: str, **extra) -> dict:
    return outbox_row(key, "servicenow_p1_incident", "slack_channel", "#alerts-servicenow", **extra)


def test_a_stored_first_post_is_found_top_level_after_another_became_the_thread(sandboxes):
    """A (tt:a0) goes first in the first run and C (tt:c1) first when resumed: resumed messages go in the order of
    their delivery keys, and C's sorts before A's."""
    slack, smtp = sandboxes
    rows = [_alert("tt:a0", thread_key="INC-7", fallback_email=None),
            _alert("tt:c1", thread_key="INC-7", fallback_email=None)]
    # one attempt: Slack stores A's post and answers 503, A is not looked for within the call; C meets the breaker
    slack.faults.set(rate_lost_reply=1.0, status_5xx=503, paths=[r"/api/chat\.postMessage"])
    _deliver(rows, max_attempts=1)
    assert [r["status"] for r in ledger()] == ["retrying", "retrying"], ledger()
    assert len(slack.messages("alerts-servicenow")) == 1  # A's, stored
    slack.faults.set(rate_lost_reply=0.0)
    _ten_minutes_later()
    report = _deliver(rows)
    posted = slack.messages("alerts-servicenow")
    keys = [m["message"]["metadata"]["event_payload"]["delivery_key"] for m in posted]
    assert len(keys) == len(set(keys)) == 2, posted  # before: A posted a second time, under C
    assert (report.counts["deduplicated"], report.counts["sent"]) == (1, 1), report.counts
    assert {r["status"] for r in ledger()} == {"sent", "deduplicated"} and smtp.messages() == []


def test_slack_down_for_now_and_every_address_refused_for_good_waits_for_slack(sandboxes):
    slack, smtp = sandboxes
    slack.faults.set(rate_5xx=1.0, status_5xx=503)
    smtp.faults.set(reject_recipients=["*@projectx.io"])
    rows = [_alert("rj:1", fallback_email="gone@projectx.io")]
    report = _deliver(rows, max_attempts=2)
    [row] = ledger()
    assert row["status"] == "retrying" and row["resend_to"] is None and row["next_attempt_at"], row
    assert "550" in row["error"] and "Slack is tried again in 10 minutes" in row["error"]
    assert (report.counts["failed"], report.counts["email_dead_letters"]) == (0, 0), report.counts
    slack.faults.set(rate_5xx=0.0)
    _ten_minutes_later()
    report = _deliver(rows)
    assert report.counts["sent"] == 1 and ledger()[0]["status"] == "sent"
    assert len(slack.messages("alerts-servicenow")) == 1 and smtp.messages() == []


def test_slack_down_and_every_address_refused_at_the_last_attempt_is_a_dead_letter(sandboxes):
    slack, smtp = sandboxes
    slack.faults.set(rate_5xx=1.0, status_5xx=503)
    smtp.faults.set(reject_recipients=["*@projectx.io"])
    rows = [_alert("rj:2", fallback_email="gone@projectx.io")]
    _deliver(rows, max_attempts=2)
    with WarehouseResource.from_env().connect() as conn:  # five tries made: the next is the last
        conn.execute("update notifications.delivery_ledger set attempts = 5")
        conn.raw.commit()
    _ten_minutes_later()
    report = _deliver(rows, max_attempts=2)
    [row] = ledger()
    assert row["status"] == "failed" and "550" in row["error"] and report.counts["email_dead_letters"] == 1, row
    assert slack.messages() == [] and smtp.messages() == []


def test_a_run_failure_refused_by_the_relay_while_slack_fails_for_now_stays_pending(sandboxes, monkeypatch):
    import sensors.run_failure as rf
    from tests.test_round32_email_run_failure import _fail_once

    slack, smtp = sandboxes
    monkeypatch.setenv("PROJECTX_ENV", "prod")
    monkeypatch.setattr("resources.secrets._strict_default", lambda: False)
    monkeypatch.setattr(rf, "route", lambda env: ("#alerts-servicenow", ["gone@projectx.io"]))
    resource = NotificationsResource(backoff_base_seconds=0.01, max_attempts=2)
    slack.faults.set(rate_5xx=1.0)
    smtp.faults.set(reject_recipients=["*@projectx.io"])
    instance, run_id, _ = _fail_once(rf, resource)
    with instance:
        tags = instance.get_run_by_id(run_id).tags
        assert tags[rf.ALERT_TAG] == rf.PENDING, tags  # before: failed (EmailRejected), never tried again
        slack.faults.set(rate_5xx=0.0)
        from dagster import build_sensor_context

        with build_sensor_context(instance=instance) as context:
            assert "Announced 1" in rf.build_run_failure_retry_sensor(resource).evaluate_tick(context).skip_message
        assert instance.get_run_by_id(run_id).tags[rf.ALERT_TAG] == rf.SENT
    assert [m for m in slack.messages("alerts-servicenow") if "full_sync" in m["text"]] and smtp.messages() == []


def test_a_resend_that_gets_through_keeps_the_addresses_refused_for_good_in_the_ledger(sandboxes):
    _, smtp = sandboxes
    rows = [outbox_row("kp:1", "onetrust_vendor_issue", "email", "gone@projectx.io;later@projectx.io")]
    smtp.faults.set(reject_recipients=["gone@*"], defer_recipients=["later@*"])
    _deliver(rows)
    named = ledger()[0]["error"].count("gone@projectx.io")
    assert named
    _ten_minutes_later()
    _deliver(rows)  # deferred again: its reason, and still the first refusal
    [row] = ledger()
    assert row["status"] == "retrying" and row["error"].count("gone@projectx.io") == named, row
    smtp.faults.set(defer_recipients=[])
    _ten_minutes_later()
    _deliver(rows)
    [row] = ledger()
    assert row["status"] == "sent" and "gone@projectx.io" in row["error"] and "550" in row["error"], row
    assert len(row["error"]) < 1000 and [m.rcpt_tos for m in smtp.messages()] == [["later@projectx.io"]]
