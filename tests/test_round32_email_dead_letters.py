"""Round 32: a notification with no e-mail address left is a dead letter, through the SMTP and Slack sandboxes.

Before, a message whose route had no valid address (every entry malformed, or none at all after a Slack
refusal) was ``failed`` in the ledger but not counted in ``email_failures`` / ``email_dead_letters``: the run log
said nothing of it ("failed for good") and the reason did not name the fix. Now it is counted and alerted like
any e-mail refused for good, its ledger error names the route (``notification_routing.csv``) or the owner, and
``cli notifications resend`` puts it back once fixed.
"""

from __future__ import annotations

import pytest

from assets.notifications import email_alerts, notifications_no_failing_email
from assets.notifications.delivery import Deliverer
from resources.notifications import NotificationsResource
from resources.warehouse import WarehouseResource
from tests.notify_helpers import ledger, outbox_row, write_outbox

SEED = "dbt_project/seeds/notification_routing.csv"


@pytest.fixture
def sandboxes(delivery_sandboxes):
    return delivery_sandboxes


def _deliver(rows: list[dict], directory=lambda ref: None, slack: bool = True):
    resource = NotificationsResource(backoff_base_seconds=0.01)
    with WarehouseResource.from_env().connect() as conn:
        return Deliverer(conn, resource.slack() if slack else None, resource.email(), directory=directory).deliver(rows)


def _mail(key: str, target: str, **extra) -> dict:
    return outbox_row(key, "onetrust_vendor_issue", "email", target, **extra)


def _assert_dead_letter(report, row) -> None:
    assert row["status"] == "failed" and row["next_attempt_at"] is None, row
    assert (report.counts["failed"], report.counts["email_failures"], report.counts["email_dead_letters"],
            report.counts["email_resending"]) == (1, 1, 1, 0), report.counts
    assert report.as_metadata()["email_dead_letters"] == 1
    [line] = email_alerts(report)
    assert line.startswith("1 ") and "failed for good" in line and "resent in 10" not in line
    assert "notifications resend --key" in row["error"]


@pytest.mark.parametrize("target", ["not an address", "a@b.example, c@d.example;risk@@projectx.io",
                                    "ann@projectx.io\r\nBcc: spy@evil.example", ";  ;"])
def test_an_email_route_with_no_valid_address_is_a_dead_letter_naming_the_route(sandboxes, target):
    _, smtp = sandboxes
    report = _deliver([_mail("nv:1", target)])
    [row] = ledger()
    _assert_dead_letter(report, row)
    assert SEED in row["error"] and "'onetrust_vendor_issue'" in row["error"] and "prod" in row["error"]
    assert smtp.messages() == []
    again = _deliver([_mail("nv:1", target)])  # recorded once: not retried, not counted again
    assert (again.counts["failed"], again.counts["email_dead_letters"]) == (0, 0) and smtp.messages() == []


def test_a_dm_whose_owner_has_no_address_and_no_route_is_a_dead_letter_naming_the_owner(sandboxes):
    slack, smtp = sandboxes
    report = _deliver([outbox_row("dm:1", "servicenow_task_assigned", "slack_dm", "sys_user:nobody",
                                  fallback_email=None)], directory=lambda ref: "not-an-address")
    [row] = ledger()
    _assert_dead_letter(report, row)
    assert "sys_user:nobody" in row["error"] and "owner" in row["error"] and SEED in row["error"]
    assert slack.messages() == [] and smtp.messages() == []


def test_a_slack_refusal_with_a_malformed_route_is_a_dead_letter_with_both_reasons(sandboxes):
    _, smtp = sandboxes
    report = _deliver([outbox_row("ar:1", "servicenow_p1_incident", "slack_channel", "#legacy-alerts",
                                  fallback_email="oncall at projectx")])
    [row] = ledger()
    _assert_dead_letter(report, row)
    assert "is_archived" in row["error"] and "oncall at projectx" in row["error"] and SEED in row["error"]
    assert smtp.messages() == []


def test_slack_disabled_and_no_route_is_a_dead_letter(sandboxes):
    _, smtp = sandboxes
    report = _deliver([outbox_row("sd:1", "servicenow_p1_incident", "slack_channel", "#alerts-servicenow",
                                  fallback_email=None)], slack=False)
    [row] = ledger()
    _assert_dead_letter(report, row)
    assert "Slack is disabled" in row["error"] and smtp.messages() == []


@pytest.mark.parametrize("target", ["gone@projectx.io;left@projectx.io", "gone@projectx.io;not an address"])
def test_every_recipient_refused_by_the_relay_or_malformed_is_a_dead_letter_too(sandboxes, target):
    _, smtp = sandboxes
    smtp.faults.set(reject_recipients=["*@projectx.io"])
    report = _deliver([_mail("rf:1", target)])
    [row] = ledger()
    _assert_dead_letter(report, row)
    assert "550" in row["error"] and "notification_routing" in row["error"] and smtp.messages() == []
    assert ("'not an address'" in row["error"]) == ("not an address" in target)  # both reasons kept


def test_the_dead_letter_shows_in_the_check_and_is_sent_once_resent_after_the_fix(sandboxes):
    from cli.notifications import resend

    _, smtp = sandboxes
    _deliver([_mail("fx:1", "risk analysts")])
    check = notifications_no_failing_email(WarehouseResource.from_env())
    assert not check.passed and check.metadata["failed_last_7_days"].value == 1
    write_outbox([_mail("fx:1", "risk@projectx.io")])  # the seed fixed, dbt rebuilt the outbox
    with WarehouseResource.from_env().connect() as conn:
        done, refused = resend(conn, ["fx:1"])
        conn.raw.commit()
    assert (done, refused) == (["fx:1"], {})
    report = _deliver([_mail("fx:1", "risk@projectx.io")])
    assert report.counts["sent"] == 1 and ledger()[0]["status"] == "sent"
    assert [m.rcpt_tos for m in smtp.messages()] == [["risk@projectx.io"]]


def _ten_minutes_later() -> None:
    """The resend is due and the Slack breaker (5 minutes) has cooled down."""
    with WarehouseResource.from_env().connect() as conn:
        conn.execute("update notifications.delivery_ledger set next_attempt_at = next_attempt_at - interval 11 minute")
        conn.execute("update notifications.slack_state set since = since - interval 11 minute")
        conn.raw.commit()


def _alert(key: str) -> dict:
    return outbox_row(key, "servicenow_p1_incident", "slack_channel", "#alerts-servicenow", fallback_email=None)


def test_slack_down_for_now_with_no_route_is_tried_in_slack_again_not_dead_lettered(sandboxes):
    """Slack answering 503 (for now) and no e-mail to fall back on: the message waits for Slack (retrying, 10
    minutes), counted as no e-mail failure; once Slack answers it is posted once, the second one too (it met the
    open breaker)."""
    slack, smtp = sandboxes
    slack.faults.set(rate_5xx=1.0, status_5xx=503)
    rows = [_alert("sd:1"), _alert("sd:2")]
    report = _deliver(rows)
    assert {r["status"] for r in ledger()} == {"retrying"}, ledger()
    assert all("Slack is tried again in 10 minutes" in r["error"] for r in ledger())
    assert (report.counts["failed"], report.counts["email_dead_letters"], report.counts["email_failures"]) == (0, 0, 0)
    assert _deliver(rows).counts["retrying"] == 0  # not due yet: nothing tried
    slack.faults.set(rate_5xx=0.0)
    _ten_minutes_later()
    report = _deliver(rows)
    assert report.counts["sent"] == 2 and {r["status"] for r in ledger()} == {"sent"}
    posted = [m for m in slack.messages("alerts-servicenow")]
    assert len(posted) == 2 and smtp.messages() == []


def test_slack_down_at_every_try_with_no_route_is_a_dead_letter_after_the_last(sandboxes):
    slack, smtp = sandboxes
    slack.faults.set(rate_5xx=1.0, status_5xx=503)
    rows = [_alert("sl:1")]
    _deliver(rows)
    with WarehouseResource.from_env().connect() as conn:  # five tries made: the next is the last
        conn.execute("update notifications.delivery_ledger set attempts = 5")
        conn.raw.commit()
    _ten_minutes_later()
    report = _deliver(rows)
    [row] = ledger()
    _assert_dead_letter(report, row)
    assert "503" in row["error"] and SEED in row["error"] and slack.messages() == [] and smtp.messages() == []


def test_the_email_asset_reports_and_logs_the_dead_letter(sandboxes):
    """End to end through the Dagster asset: its metadata counts the dead letter and its log says failed for good."""
    from dagster import AssetKey, instance_for_test, materialize

    from assets.notifications import build_notification_assets
    from resources.servicenow import ServiceNowResource

    _, smtp = sandboxes
    write_outbox([_mail("as:1", "vendor desk <no address here>")])
    [email_asset] = [a for a in build_notification_assets() if a.key == AssetKey(["notifications", "email"])]
    resources = {"warehouse": WarehouseResource.from_env(), "servicenow": ServiceNowResource(),
                 "notifications": NotificationsResource(backoff_base_seconds=0.01)}
    with instance_for_test() as instance:
        result = materialize([email_asset], instance=instance, resources=resources)
        logged = [e.user_message for e in instance.all_logs(result.run_id) if e.level >= 40]  # ERROR
    assert result.success
    [done] = result.asset_materializations_for_node("notifications__email")
    meta = {k: v.value for k, v in done.metadata.items()}
    assert (meta["failed"], meta["email_failures"], meta["email_dead_letters"], meta["sent"]) == (1, 1, 1, 0)
    assert any("1 notification e-mail(s) failed for good" in m and "resend --key" in m for m in logged), logged
    assert ledger()[0]["status"] == "failed" and smtp.messages() == []


def test_the_ops_alerts_asset_logs_a_dead_letter_as_failed_for_good(duckdb_warehouse, monkeypatch, make_slack_sandbox,
                                                                   make_smtp_sandbox):
    """Before, ops_alerts counted email_dead_letters in its metadata but logged only warnings: an alert e-mail
    refused for good (Slack refusing the channel, the relay every recipient) went by without an error line."""
    from datetime import UTC, datetime, timedelta

    from dagster import instance_for_test, materialize

    from assets.health.checks import integration_health
    from assets.notifications.alerts import ops_alerts
    from resources.environment import ENVIRONMENTS
    from tests.notify_helpers import delivery_env
    from tests.ops_helpers import record_sync

    stg = ENVIRONMENTS["stg"]
    slack, smtp = make_slack_sandbox(), make_smtp_sandbox(username="mailer", password="pw", starttls=True)
    delivery_env(monkeypatch, slack, smtp)
    monkeypatch.setenv("PROJECTX_ENV", "stg")
    monkeypatch.setattr("resources.secrets._strict_default", lambda: False)
    slack.archive("stg-integrations")
    smtp.faults.set(reject_recipients=["*"])
    resources = {"warehouse": WarehouseResource.from_env(),
                 "notifications": NotificationsResource(vault_prefix=stg.vault_prefix, backoff_base_seconds=0.01)}
    with instance_for_test() as instance:
        now = datetime.now(UTC)
        record_sync(instance, stg, "servicenow", now - timedelta(minutes=40))  # red
        record_sync(instance, stg, "jira", now - timedelta(minutes=1))
        record_sync(instance, stg, "onetrust", now - timedelta(minutes=1))
        result = materialize([integration_health, ops_alerts], instance=instance, resources=resources)
        logged = [e.user_message for e in instance.all_logs(result.run_id) if e.level >= 40]
    assert result.success
    [done] = result.asset_materializations_for_node("notifications__ops_alerts")
    assert done.metadata["email_dead_letters"].value == 1
    assert any("failed for good" in m and "resend --key" in m for m in logged), logged
    assert smtp.messages() == [] and slack.messages("stg-integrations") == []
