"""Round 31 review of the notification changes, through the SMTP and Slack sandboxes over loopback.

- An encoded-word before the @ (``=?utf-8?q?...?=@projectx.io``) passed the address check: Python's ``email``
  decoded it in the To header, raising ValueError (a CR/LF: the message failed for every recipient of the route)
  or sending RCPT to ``"spy@evil.example"@projectx.io``, an address nobody checked. Now refused by name; the
  route's other recipients still get the message.
- A display name with a lone surrogate failed the message for all (UnicodeEncodeError); C0/C1 controls reached
  the To header raw. Now removed.
- 552 at RCPT is "too many recipients" read as 452 (RFC 5321 4.5.3.1.10): resent, not a dead letter; a 552 to
  the size at MAIL FROM stays a dead letter.
- A dead letter is logged as failed for good with the resend command, not "resent in 10 minutes".
- The not_in_channel hint's chat:write.public is in the reinstall link.
- The run failure sensor stops retrying an announcement the relay refused for good, and keeps the reason.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from dagster import DagsterInstance, build_sensor_context

from assets.notifications import email_alerts
from assets.notifications.delivery import Deliverer, reinstall_url
from resources.notifications import NotificationsResource
from resources.slack_errors import REFUSAL_HINTS
from resources.warehouse import WarehouseResource
from tests.notify_helpers import delivery_env, ledger, outbox_row

GOOD = "risk@projectx.io"


@pytest.fixture
def sandboxes(delivery_sandboxes):
    return delivery_sandboxes


def _deliver(rows: list[dict]):
    resource = NotificationsResource(backoff_base_seconds=0.01)
    with WarehouseResource.from_env().connect() as conn:
        return Deliverer(conn, resource.slack(), resource.email()).deliver(rows)


def _mail(key: str, target: str, **extra) -> dict:
    return outbox_row(key, "onetrust_vendor_issue", "email", target, **extra)


def _ten_minutes_later() -> None:
    with WarehouseResource.from_env().connect() as conn:
        conn.execute("update notifications.delivery_ledger set next_attempt_at = next_attempt_at - interval 11 minute")
        conn.raw.commit()


@pytest.mark.parametrize("local", ["=?utf-8?q?=0D=0ABcc=3A_spy=40evil.example=0D=0A?=",  # ValueError for all
                                   "=?utf-8?q?spy=40evil.example?="])  # RCPT to "spy@evil.example"@projectx.io
def test_an_encoded_word_before_the_at_is_refused_by_name_and_the_others_still_get_it(sandboxes, local):
    _, smtp = sandboxes
    _deliver([_mail("ew:1", f"{local}@projectx.io;{GOOD}")])
    [row] = ledger()
    assert row["status"] == "sent", row["error"]
    [mail] = smtp.messages()
    assert mail.rcpt_tos == [GOOD]  # nothing else, and nothing at evil.example
    assert "spy" not in str(mail.message["To"]) and "bcc" not in mail.raw.split(b"\r\n\r\n")[0].lower().decode()
    assert "encoded-word" in row["error"] and local[:12] in row["error"]  # the refused entry is named


@pytest.mark.parametrize("name", ["\ud800x Vendor", "Ann\x01\x1b[31m Lee", "Ann\x01\x1b[31m\x9b Lee\u202e"])
def test_a_display_name_with_a_lone_surrogate_or_controls_is_cleaned_not_fatal(sandboxes, name):
    """The person's e-mail from the vendor directory (JSON decodes ``\\ud800`` to a lone surrogate), for a DM
    that goes by e-mail: before, UnicodeEncodeError failed the message; controls reached the To header raw."""
    _, smtp = sandboxes
    resource = NotificationsResource(backoff_base_seconds=0.01)
    with WarehouseResource.from_env().connect() as conn:
        Deliverer(conn, None, resource.email(), directory=lambda ref: f'"{name}" <vendors@projectx.io>').deliver(
            [outbox_row("sg:1", "servicenow_task_assigned", "slack_dm", "sys_user:abc")])
    [row] = ledger()
    assert row["status"] == "fallback", row["error"]
    [mail] = smtp.messages()
    assert mail.rcpt_tos == ["vendors@projectx.io"]
    head = mail.raw.split(b"\r\n\r\n", 1)[0]
    assert not re.search(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", head) and b"\xc2\x9b" not in head
    shown = str(mail.message["To"])  # as the recipient's client decodes it (RFC 2047)
    assert ("Vendor" in shown or "Ann[31m Lee" in shown) and not re.search("[\x00-\x1f\x7f-\x9f\u202e]", shown)


def test_552_at_rcpt_for_every_recipient_is_resent_then_delivered(sandboxes):
    _, smtp = sandboxes
    smtp.faults.set(recipients_552=["*"])
    report = _deliver([_mail("q:1", GOOD)])
    [row] = ledger()
    assert row["status"] == "retrying" and "552" in row["error"] and row["next_attempt_at"] is not None
    assert (report.counts["email_resending"], report.counts["email_dead_letters"]) == (1, 0)
    smtp.faults.clear()
    _ten_minutes_later()
    _deliver([_mail("q:1", GOOD)])
    assert ledger()[0]["status"] == "sent" and [m.rcpt_tos for m in smtp.messages()] == [[GOOD]]


def test_552_at_rcpt_for_one_recipient_resends_to_that_one_only(sandboxes):
    _, smtp = sandboxes
    smtp.faults.set(recipients_552=["busy@*"])
    rows = [_mail("q:2", f"{GOOD};busy@projectx.io")]
    _deliver(rows)
    [row] = ledger()
    assert row["status"] == "retrying" and row["resend_to"] == "busy@projectx.io"
    smtp.faults.clear()
    _ten_minutes_later()
    _deliver(rows)
    assert ledger()[0]["status"] == "sent"
    assert [m.rcpt_tos for m in smtp.messages()] == [[GOOD], ["busy@projectx.io"]]


def test_552_to_the_size_stays_a_dead_letter_logged_as_failed_for_good(make_slack_sandbox, make_smtp_sandbox,
                                                                        duckdb_warehouse, monkeypatch):
    smtp = make_smtp_sandbox(username="mailer", password="mail-secret", starttls=True, require_tls=True,
                             max_message_size=3000)
    delivery_env(monkeypatch, make_slack_sandbox(), smtp)
    report = _deliver([_mail("big:1", GOOD, body="x" * 5000)])
    [row] = ledger()
    assert row["status"] == "failed" and "552" in row["error"] and smtp.messages() == []
    assert (report.counts["email_dead_letters"], report.counts["email_resending"]) == (1, 0)
    [line] = email_alerts(report)
    assert "failed for good" in line and "notifications resend --key" in line and "resent in 10" not in line


def test_the_run_log_says_resent_only_for_the_e_mails_that_are(sandboxes):
    _, smtp = sandboxes
    smtp.faults.set(reject_recipients=["gone@*"], defer_recipients=["later@*"])
    report = _deliver([_mail("l:1", "gone@projectx.io"), _mail("l:2", "later@projectx.io")])
    assert (report.counts["email_failures"], report.counts["email_dead_letters"],
            report.counts["email_resending"]) == (2, 1, 1)
    resent, dead = email_alerts(report)
    assert resent.startswith("1 ") and "resent in 10 minutes" in resent
    assert dead.startswith("1 ") and "failed for good" in dead and "python -m cli notifications resend --key" in dead


def test_every_scope_a_slack_hint_names_is_in_the_reinstall_link():
    asked = set(parse_qs(urlsplit(reinstall_url()).query)["scope"][0].split(","))
    named = {s for hint in REFUSAL_HINTS.values() for s in re.findall(r"\b[a-z]+:[a-z.]+[a-z]\b", hint)}
    assert "chat:write.public" in named and named <= asked, named - asked


def test_a_run_failure_e_mail_refused_for_good_is_not_retried_and_keeps_the_reason(make_smtp_sandbox, monkeypatch):
    from tests.test_round30_run_failure import Daemon, failing_full_sync

    smtp = make_smtp_sandbox(username="mailer", password="mail-secret", starttls=True)
    monkeypatch.delenv("VAULT_ADDR", raising=False)
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)  # Slack not configured: the alert goes by e-mail
    for name, value in {"SMTP_HOST": smtp.host, "SMTP_PORT": str(smtp.port), "SMTP_USERNAME": "mailer",
                        "SMTP_PASSWORD": "mail-secret", "SMTP_FROM_ADDRESS": "projectx@projectx.io",
                        "SMTP_CA_BUNDLE": smtp.ca_bundle, "PROJECTX_ENV": "prod"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr("resources.secrets._strict_default", lambda: False)
    from sensors.run_failure import (
        ALERT_ERROR_TAG,
        ALERT_TAG,
        build_run_failure_retry_sensor,
        build_run_failure_sensor,
    )

    smtp.faults.set(rate_554=1.0)
    resource = NotificationsResource(backoff_base_seconds=0.01)
    retry = build_run_failure_retry_sensor(resource)
    with DagsterInstance.ephemeral() as instance:
        daemon = Daemon(build_run_failure_sensor(resource), instance)
        daemon.tick()
        failed = failing_full_sync.execute_in_process(instance=instance, raise_on_error=False)
        reactions = daemon.tick().dagster_run_reactions
        assert reactions and reactions[0].error is not None, "the tick still shows the refusal"
        tags = instance.get_run_by_id(failed.run_id).tags
        assert tags[ALERT_TAG] == "failed" and "554" in tags[ALERT_ERROR_TAG], tags
        assert "mail-secret" not in tags[ALERT_ERROR_TAG]
        smtp.faults.clear()
        with build_sensor_context(instance=instance) as context:
            assert "No failed run" in retry.evaluate_tick(context).skip_message  # never resent every 5 minutes
        assert smtp.messages() == []


def test_a_run_failure_e_mail_refused_for_one_recipient_is_sent_once_and_never_retried(make_smtp_sandbox,
                                                                                      monkeypatch, caplog):
    """Review of round 31: a relay refusing one address of the route (550 unknown user) raised EmailPartlyRefused,
    which left the run ``pending``: the retry sensor sent the alert again to everyone every 5 minutes, for ever."""
    from tests.test_round30_run_failure import Daemon, failing_full_sync

    smtp = make_smtp_sandbox(username="mailer", password="mail-secret", starttls=True)
    monkeypatch.delenv("VAULT_ADDR", raising=False)
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    for name, value in {"SMTP_HOST": smtp.host, "SMTP_PORT": str(smtp.port), "SMTP_USERNAME": "mailer",
                        "SMTP_PASSWORD": "mail-secret", "SMTP_FROM_ADDRESS": "projectx@projectx.io",
                        "SMTP_CA_BUNDLE": smtp.ca_bundle, "PROJECTX_ENV": "prod"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr("resources.secrets._strict_default", lambda: False)
    import sensors.run_failure as rf

    monkeypatch.setattr(rf, "route", lambda env: ("", ["oncall@projectx.io", "gone@projectx.io", "not an address"]))
    smtp.faults.set(reject_recipients=["gone@*"])
    resource = NotificationsResource(backoff_base_seconds=0.01)
    retry = rf.build_run_failure_retry_sensor(resource)
    with DagsterInstance.ephemeral() as instance:
        daemon = Daemon(rf.build_run_failure_sensor(resource), instance)
        daemon.tick()
        failed = failing_full_sync.execute_in_process(instance=instance, raise_on_error=False)
        with caplog.at_level("WARNING", logger="sensors.run_failure"):
            reactions = daemon.tick().dagster_run_reactions
        assert reactions and reactions[0].error is None, reactions[0].error
        assert instance.get_run_by_id(failed.run_id).tags.get(rf.ALERT_TAG) != rf.PENDING
        with build_sensor_context(instance=instance) as context:
            assert "No failed run" in retry.evaluate_tick(context).skip_message
    assert len(smtp.messages()) == 1  # to oncall once; never again to those who got it
    logged = caplog.text
    assert "gone@projectx.io" in logged and "not an address" in logged  # the route's faults are reported
    assert "mail-secret" not in logged
