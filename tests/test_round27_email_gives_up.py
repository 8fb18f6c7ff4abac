"""Round 27: an e-mail the relay refuses every time is given up on after six attempts (spec 2.5: retries
with jitter, max 6 attempts), kept in the ledger as ``failed`` with the fix, and the asset check stays red for
seven days instead of going quiet (before: retried every 10 minutes for ever, the backlog never drained)."""

from __future__ import annotations

from assets.notifications import notifications_no_failing_email
from assets.notifications.delivery import EMAIL_RESEND_ATTEMPTS
from resources.warehouse import WarehouseResource
from tests.notify_helpers import ledger, outbox_row, write_outbox
from tests.test_notifications_delivery import deliver, sandboxes

__all__ = ["sandboxes"]


def _due_now() -> None:
    with WarehouseResource.from_env().connect() as conn:
        conn.execute("update notifications.delivery_ledger set next_attempt_at = next_attempt_at - interval 11 minute")


def test_a_refused_email_is_failed_after_six_attempts_and_the_check_stays_red(sandboxes):
    _, smtp = sandboxes
    write_outbox([outbox_row("vendor:9", "onetrust_vendor_issue", "email", "vendors@projectx.io")])
    smtp.faults.set(defer_recipients=["vendors@*"])  # a 450 every time (a 5xx is a dead letter at once)
    for attempt in range(1, EMAIL_RESEND_ATTEMPTS):
        deliver()
        row = ledger()[0]
        assert (row["status"], row["attempts"]) == ("retrying", attempt)
        _due_now()
    result = deliver()
    row = ledger()[0]
    assert row["status"] == "failed" and row["attempts"] == EMAIL_RESEND_ATTEMPTS
    assert "gave up after 6 attempts" in row["error"] and "notifications resend --key" in row["error"]
    assert result["backlog"] == 0 and smtp.messages() == []
    _due_now()
    assert deliver()["email_failures"] == 0  # not tried a seventh time
    check = notifications_no_failing_email(WarehouseResource.from_env())
    assert not check.passed
    assert (check.metadata["retrying"].value, check.metadata["failed_last_7_days"].value) == (0, 1)
    with WarehouseResource.from_env().connect() as conn:  # a week on, the failure no longer holds the check
        conn.execute("update notifications.delivery_ledger set updated_at = updated_at - interval 8 day")
    assert notifications_no_failing_email(WarehouseResource.from_env()).passed


def test_passes_without_an_smtp_relay_are_not_attempts(sandboxes, monkeypatch):
    """An hour without SMTP_HOST sent nothing: the first real send that fails afterwards is retried, not final."""
    _, smtp = sandboxes
    host = smtp.host
    write_outbox([outbox_row("vendor:10", "onetrust_vendor_issue", "email", "vendors@projectx.io")])
    monkeypatch.delenv("SMTP_HOST")
    for _ in range(EMAIL_RESEND_ATTEMPTS + 1):
        deliver()
        _due_now()
    row = ledger()[0]
    assert (row["status"], row["attempts"]) == ("retrying", 0) and "SMTP_HOST" in row["error"]
    monkeypatch.setenv("SMTP_HOST", host)
    smtp.faults.set(defer_recipients=["vendors@*"])  # a 450 every time (a 5xx is a dead letter at once)
    deliver()
    assert (ledger()[0]["status"], ledger()[0]["attempts"]) == ("retrying", 1)
    smtp.faults.clear()
    _due_now()
    deliver()
    assert ledger()[0]["status"] == "sent" and len(smtp.messages()) == 1
