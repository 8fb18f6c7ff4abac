"""Notification delivery against the Slack and SMTP sandboxes over real HTTP/SMTP: once each, fallback,
Retry-After, revoked tokens, e-mail retries, threads."""

from __future__ import annotations

import contextlib
import time

import pytest

from assets.notifications import deliver_channel_type
from resources.notifications import NotificationsResource
from resources.warehouse import WarehouseResource
from tests.notify_helpers import delivery_env, ledger, outbox_row, write_outbox

AMELIA, BRUNO = "amelia.hart@projectx.example", "bruno.keller@projectx.example"


@pytest.fixture
def sandboxes(make_slack_sandbox, make_smtp_sandbox, duckdb_warehouse, monkeypatch, tmp_path):
    slack = make_slack_sandbox()
    smtp = make_smtp_sandbox(username="mailer", password="mail-secret", starttls=True, require_tls=True)
    delivery_env(monkeypatch, slack, smtp)
    return slack, smtp


def deliver(**settings) -> dict[str, int]:
    """One delivery cycle over every channel type; merged counts plus the backlog after."""
    resource = NotificationsResource(backoff_base_seconds=settings.pop("backoff", 0.01), **settings)
    totals: dict[str, int] = {}
    with WarehouseResource.from_env().connect() as conn:
        for channel_type in ("slack_channel", "slack_dm", "email"):
            report, backlog = deliver_channel_type(conn, channel_type, resource, None, "prod")
            for k, v in report.as_metadata().items():
                totals[k] = totals.get(k, 0) + v
    totals["backlog"] = backlog
    return totals


def cycle_rows() -> list[dict]:
    return [
        outbox_row("p1:a", "servicenow_p1_incident", "slack_channel", "#alerts-servicenow",
                   group_key="servicenow_p1_incident", title="INC001: database down", link_url="https://sn/inc1"),
        outbox_row("p1:b", "servicenow_p1_incident", "slack_channel", "#alerts-servicenow",
                   group_key="servicenow_p1_incident", title="INC002: VPN down"),
        outbox_row("task:1", "task_assigned", "slack_dm", AMELIA, group_key="task:amelia", title="Review INC001",
                   link_url="https://sn/inc1"),
        outbox_row("task:2", "task_assigned", "slack_dm", AMELIA, group_key="task:amelia", title="Review INC002"),
        outbox_row("task:3", "task_assigned", "slack_dm", BRUNO, group_key="task:bruno", title="Review INC003"),
        outbox_row("vendor:1", "onetrust_vendor_issue", "email", "vendors@projectx.io;risk@projectx.io"),
    ]


def test_one_summary_one_dm_per_owner_and_nothing_on_rerun(sandboxes):
    slack, smtp = sandboxes
    write_outbox(cycle_rows())
    first = deliver()
    alerts = slack.messages("alerts-servicenow")
    assert len(alerts) == 1
    assert "INC001: database down" in str(alerts[0]["blocks"]) and "INC002: VPN down" in str(alerts[0]["blocks"])
    amelia = slack.workspace.users[next(u for u, v in slack.workspace.users.items()
                                        if v["profile"].get("email") == AMELIA)]["id"]
    dms = [m for m in slack.messages() if m["channel"].startswith("D")]
    assert sorted(m["channel"] for m in dms) == sorted(["D" + amelia[1:], dms[1]["channel"] if
                                                        dms[0]["channel"] == "D" + amelia[1:] else dms[0]["channel"]])
    assert len(dms) == 2  # one per owner, Amelia's two tasks in one DM
    assert "<https://sn/inc1|Review INC001>" in str(next(m for m in dms if m["channel"] == "D" + amelia[1:])["blocks"])
    assert len(smtp.messages()) == 1 and sorted(smtp.messages()[0].rcpt_tos) == ["risk@projectx.io",
                                                                                 "vendors@projectx.io"]
    assert first["sent"] == 4 and first["backlog"] == 0
    assert slack.method_calls("users.lookupByEmail") == 2  # cached per person

    second = deliver()
    assert len(slack.messages()) == 3 and len(smtp.messages()) == 1
    assert second["sent"] == 0 and second["backlog"] == 0

    write_outbox([*cycle_rows(), outbox_row("p1:c", "servicenow_p1_incident", "slack_channel", "#alerts-servicenow",
                                            group_key="servicenow_p1_incident", title="INC009: new one")])
    deliver()
    alerts = slack.messages("alerts-servicenow")
    assert len(alerts) == 2 and "INC009" in alerts[1]["text"] + str(alerts[1]["blocks"])
    assert "INC001" not in str(alerts[1]["blocks"])


def test_slack_down_5xx_then_timeouts_falls_back_to_email_once_each(sandboxes):
    slack, smtp = sandboxes
    write_outbox(cycle_rows())
    slack.faults.set(rate_5xx=1.0, status_5xx=503)
    calls = []

    def switch_to_timeouts(seconds: float) -> None:  # after two 5xx answers Slack stops answering at all
        calls.append(seconds)
        if len(calls) == 2:
            slack.faults.set(rate_5xx=1.0, delay_seconds=2.0)

    resource_kwargs = {"slack_timeout_seconds": 0.5}
    import resources.slack as slack_module

    original = slack_module.SlackSender.__post_init__

    def patched(self):  # record the backoff waits through the sender's own sleep hook
        original(self)
        self.sleep = switch_to_timeouts

    slack_module.SlackSender.__post_init__ = patched
    try:
        result = deliver(**resource_kwargs)
    finally:
        slack_module.SlackSender.__post_init__ = original
    deadline = time.monotonic() + 5  # the sandbox logs a timed-out request when its delay ends
    while slack.method_calls("chat.postMessage") < 6 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert slack.method_calls("chat.postMessage") == 6  # the six attempts of the first message, then the breaker
    assert slack.messages() == []
    assert len(calls) == 5 and slack.method_calls("users.lookupByEmail") == 0
    mails = smtp.messages()
    keys = [m.message["X-ProjectX-Delivery-Key"] for m in mails]
    assert len(mails) == 4 == len(set(keys))  # summary, two DMs, the e-mail route: once each
    assert {AMELIA, BRUNO} <= {r for m in mails for r in m.rcpt_tos}
    assert result["fallback"] == 3 and result["sent"] == 1 and result["retried"] == 5
    assert any(m.message.get_body(("html",)) is not None for m in mails)
    slack.faults.clear()
    deliver()
    assert slack.messages() == [] and len(smtp.messages()) == 4


def test_429_waits_exactly_retry_after(sandboxes):
    slack, _ = sandboxes
    write_outbox(cycle_rows()[:1])
    slack.faults.set(rate_429=1.0, retry_after=2)
    waits: list[float] = []

    import resources.slack as slack_module

    original = slack_module.SlackSender.__post_init__

    def patched(self):
        original(self)

        def sleep(seconds: float) -> None:
            waits.append(seconds)
            slack.faults.clear()  # Slack lets the next call through
            time.sleep(seconds)

        self.sleep = sleep

    slack_module.SlackSender.__post_init__ = patched
    started = time.monotonic()
    try:
        result = deliver()
    finally:
        slack_module.SlackSender.__post_init__ = original
    assert waits == [2.0]
    assert time.monotonic() - started >= 2.0
    assert slack.method_calls("chat.postMessage") == 2
    assert len(slack.messages("alerts-servicenow")) == 1 and result["retried"] == 1


def test_revoked_token_stops_slack_one_admin_email_no_loop(sandboxes, monkeypatch):
    slack, smtp = sandboxes
    with WarehouseResource.from_env().connect() as conn:
        conn.execute("create schema if not exists catalog")
        conn.execute("create table catalog.notification_routing as select 'slack_token_revoked' as event_type, "
                     "'prod' as environment, 'slack-admins@projectx.io' as email")
    write_outbox(cycle_rows())
    slack.faults.set(revoke_tokens=True)
    first = deliver()
    posts = slack.method_calls("chat.postMessage")
    assert posts == 1  # the first answer token_revoked stops Slack
    admin = [m for m in smtp.messages() if "slack-admins@projectx.io" in m.rcpt_tos]
    assert len(admin) == 1 and "oauth/v2/authorize" in admin[0].text
    assert first["slack_disabled"] == 2 and first["fallback"] == 3  # both Slack assets report it
    checks = slack.method_calls("auth.test")
    extra = []
    for n in range(3):  # later runs with new work: one auth.test each, no posts, no more admin mail
        extra.append(outbox_row(f"p1:new{n}", "servicenow_p1_incident", "slack_channel", "#alerts-servicenow"))
        write_outbox([*cycle_rows(), *extra])
        assert deliver()["fallback"] == 1
    assert slack.method_calls("chat.postMessage") == posts
    assert slack.method_calls("auth.test") == checks + 3
    assert len([m for m in smtp.messages() if "slack-admins@projectx.io" in m.rcpt_tos]) == 1
    assert slack.messages() == []
    slack.token.state = "ok"  # the app is reinstalled
    write_outbox([*cycle_rows(), *extra,
                  outbox_row("p1:z", "servicenow_p1_incident", "slack_channel", "#alerts-servicenow")])
    deliver()
    assert len(slack.messages("alerts-servicenow")) == 1


def test_email_failure_is_retried_after_ten_minutes(sandboxes):
    _, smtp = sandboxes
    write_outbox([outbox_row("vendor:1", "onetrust_vendor_issue", "email", "vendors@projectx.io")])
    smtp.faults.set(rate_451=1.0)
    first = deliver()
    assert first["email_failures"] == 1 and smtp.messages() == []
    row = ledger()[0]
    assert row["status"] == "retrying" and "451" in row["error"]
    wait = (row["next_attempt_at"] - row["updated_at"]).total_seconds()
    assert 599 <= wait <= 601
    smtp.faults.clear()
    deliver()
    assert smtp.messages() == []  # not before the ten minutes
    with WarehouseResource.from_env().connect() as conn:
        conn.execute("update notifications.delivery_ledger set next_attempt_at = next_attempt_at - interval 11 minute")
    deliver()
    deliver()
    assert len(smtp.messages()) == 1 and ledger()[0]["status"] == "sent"


def test_follow_ups_of_an_anomaly_thread_under_the_first(sandboxes):
    slack, _ = sandboxes
    first = outbox_row("anomaly:amber", "servicenow_sync_anomaly", "slack_channel", "#alerts-servicenow",
                       thread_key="servicenow_sync_anomaly:2026-01-01", runbook_id="RB-002")
    write_outbox([first])
    deliver()
    write_outbox([first, outbox_row("anomaly:red", "servicenow_sync_anomaly", "slack_channel",
                                    "#alerts-servicenow", thread_key="servicenow_sync_anomaly:2026-01-01")])
    deliver()
    top, reply = slack.messages("alerts-servicenow")
    assert top["thread_ts"] is None and reply["thread_ts"] == top["ts"]
    assert "RB-002" in str(top["blocks"])


def test_kill_during_a_batch_then_rerun_loses_nothing_and_sends_nothing_twice(make_slack_sandbox, sandboxes,
                                                                              monkeypatch):
    import os
    import signal
    import subprocess
    import sys

    _, smtp = sandboxes
    slack = make_slack_sandbox(latency_ms=400)  # the answer comes 0.4 s after the message is stored
    delivery_env(monkeypatch, slack, smtp)
    rows = [outbox_row(f"p1:{n}", "servicenow_p1_incident", "slack_channel", "#alerts-servicenow", title=f"INC{n}")
            for n in range(10)]
    write_outbox(rows)
    proc = subprocess.Popen([sys.executable, "-c", "from tests.test_notifications_delivery import deliver; deliver()"],
                            cwd=os.getcwd(), env=dict(os.environ))
    try:
        deadline = time.monotonic() + 60
        while len(slack.messages()) < 4 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert 4 <= len(slack.messages()) < 10, "the kill must land mid-batch"
    sending = [r for r in ledger() if r["status"] == "sending"]
    assert sending, "the killed message was recorded before its send"
    deliver()
    keys = [m["message"]["metadata"]["event_payload"]["delivery_key"] for m in slack.messages()]
    assert len(keys) == 10 == len(set(keys))
    statuses = [r["status"] for r in ledger()]
    assert set(statuses) <= {"sent", "deduplicated"} and statuses.count("deduplicated") == 1
    assert {f"INC{n}" for n in range(10)} == {m["text"].split(":")[0] for m in slack.messages()}


@pytest.mark.postgres
def test_ledger_works_on_postgres(make_slack_sandbox, make_smtp_sandbox, monkeypatch):
    import uuid

    import psycopg2

    name = f"i14_notify_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname="postgres")
    admin.autocommit = True
    admin.cursor().execute(f"create database {name}")
    try:
        for key, value in {"PROJECTX_WAREHOUSE": "postgres", "PGHOST": "127.0.0.1", "PGPORT": "5432",
                           "PGUSER": "postgres", "PGDATABASE": name}.items():
            monkeypatch.setenv(key, value)
        slack = make_slack_sandbox()
        smtp = make_smtp_sandbox(username="mailer", password="pw", starttls=True)
        delivery_env(monkeypatch, slack, smtp)
        write_outbox(cycle_rows())
        assert deliver()["sent"] == 4
        assert deliver()["sent"] == 0
        assert len(slack.messages()) == 3 and len(smtp.messages()) == 1
        assert {r["status"] for r in ledger()} == {"sent"}
    finally:
        admin.cursor().execute(f"drop database if exists {name} with (force)")
        admin.close()


def test_a_post_whose_answer_timed_out_is_found_not_posted_again(sandboxes):
    slack, smtp = sandboxes
    write_outbox(cycle_rows()[:1])
    # Slack stores the message but answers after the client gave up (0.5 s timeout, 1.2 s server delay)
    slack.faults.set(delay_seconds=1.2, paths=[r"/api/chat\.postMessage"])

    import resources.slack as slack_module

    original = slack_module.SlackSender.__post_init__

    def patched(self):
        original(self)
        self.sleep = lambda seconds: time.sleep(1.0)  # by the retry, the slow post has been stored

    slack_module.SlackSender.__post_init__ = patched
    try:
        result = deliver(slack_timeout_seconds=0.5)
    finally:
        slack_module.SlackSender.__post_init__ = original
    assert len(slack.messages("alerts-servicenow")) == 1 and smtp.messages() == []
    assert slack.method_calls("conversations.history") >= 1
    assert result["sent"] == 1 and ledger()[0]["slack_ts"] == slack.messages()[0]["ts"]


def test_failing_email_raises_the_asset_check(sandboxes):
    from assets.notifications import notifications_no_failing_email

    _, smtp = sandboxes
    write_outbox([outbox_row("vendor:1", "onetrust_vendor_issue", "email", "vendors@projectx.io")])
    assert notifications_no_failing_email(WarehouseResource.from_env()).passed
    smtp.faults.set(defer_recipients=["vendors@*"])  # a 450 every time (a 5xx is a dead letter at once)
    deliver()
    result = notifications_no_failing_email(WarehouseResource.from_env())
    assert not result.passed and result.metadata["retrying"].value == 1
    assert "vendors@projectx.io" in str(result.metadata["latest"].value)


def test_a_person_nobody_can_reach_is_failed_with_the_fix_not_retried_forever(sandboxes):
    slack, smtp = sandboxes
    write_outbox([outbox_row("task:x", "task_assigned", "slack_dm", "servicenow:unknown-sys-id", fallback_email=None)])
    result = deliver()
    row = ledger()[0]
    assert result["failed"] == 1 and row["status"] == "failed" and "notification_routing" in row["error"]
    assert slack.messages() == [] and smtp.messages() == []
    assert deliver()["failed"] == 0  # recorded once, not retried every cycle


def test_an_outcome_is_durable_as_soon_as_it_is_recorded(any_warehouse):
    """mark_done commits: a process killed right after recording a send (before the batch's own commit)
    must not find the message unsent on its rerun and post it twice."""
    from assets.notifications import ledger as L

    row = outbox_row("durable:1", "task_assigned", "slack_dm", AMELIA)
    with WarehouseResource.from_env().connect() as conn:
        L.ensure_ledger(conn)
        L.mark_sending(conn, [row], "delivery-durable-1", "corr-1")
        L.mark_done(conn, "delivery-durable-1", "sent", slack_channel="D1", slack_ts="1700000000.000100")
        with contextlib.suppress(Exception):  # nothing pending is fine: the outcome was committed
            conn.raw.rollback()  # what a kill before any later commit amounts to
        status = conn.scalar(f"select status from {L.SCHEMA}.delivery_ledger where delivery_key = %s",
                             ("delivery-durable-1",))
    assert status == "sent"
