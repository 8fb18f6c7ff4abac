"""Round 32: every recipient refused, some for now (4xx) and some for good (5xx), through the SMTP sandbox.

Before, smtplib's SMTPRecipientsRefused with mixed replies was one retryable EmailDeliveryError: every 10 minutes
the whole route was sent again, RCPT TO the address refused for good included (RFC 5321 4.2.1: do not repeat it),
six times. Now only the deferred ones are resent, the others are named with the fix; and since nobody had the
message, a resend that fails for good or runs out of attempts is a dead letter (``failed``), not ``sent``.
"""

from __future__ import annotations

import pytest

from assets.notifications.delivery import EMAIL_RESEND_ATTEMPTS, Deliverer
from resources.notifications import NotificationsResource
from resources.warehouse import WarehouseResource
from tests.notify_helpers import ledger, outbox_row

GONE, LATER, OK = "gone@projectx.io", "later@projectx.io", "risk@projectx.io"


@pytest.fixture
def smtp(delivery_sandboxes):
    relay = delivery_sandboxes[1]
    asked: list[str] = []
    rcpt = relay.faults.rcpt

    def recording(address: str):  # observes the relay's RCPT TO, answers as before
        asked.append(address)
        return rcpt(address)

    relay.faults.rcpt = recording
    relay.asked = asked
    return relay


def _deliver(rows: list[dict]):
    resource = NotificationsResource(backoff_base_seconds=0.01)
    with WarehouseResource.from_env().connect() as conn:
        return Deliverer(conn, resource.slack(), resource.email()).deliver(rows)


def _later(attempts: int | None = None) -> None:
    with WarehouseResource.from_env().connect() as conn:
        conn.execute("update notifications.delivery_ledger set next_attempt_at = next_attempt_at - interval 11 minute")
        if attempts is not None:
            conn.execute("update notifications.delivery_ledger set attempts = %s", (attempts,))
        conn.raw.commit()


ROWS = [outbox_row("mx:1", "onetrust_vendor_issue", "email", f"{GONE};{LATER}")]


def test_only_the_deferred_are_resent_and_the_refused_never_asked_again(smtp):
    smtp.faults.set(reject_recipients=["gone@*"], defer_recipients=["later@*"])
    report = _deliver(ROWS)
    [row] = ledger()
    assert row["status"] == "retrying" and row["resend_to"] == LATER and row["message_id"] is None
    assert GONE in row["error"] and "for good" in row["error"] and "notification_routing" in row["error"]
    assert (report.counts["email_resending"], report.counts["email_dead_letters"]) == (1, 0)
    smtp.faults.set(defer_recipients=[])  # the mailbox has room again; gone@ is still unknown
    _later()
    _deliver(ROWS)
    [row] = ledger()
    assert row["status"] == "sent" and row["message_id"]
    assert [m.rcpt_tos for m in smtp.messages()] == [[LATER]]
    assert smtp.asked.count(GONE) == 1  # asked once, never again


def test_a_resend_refused_for_good_when_nobody_has_it_is_a_dead_letter_not_sent(smtp):
    smtp.faults.set(reject_recipients=["gone@*"], defer_recipients=["later@*"])
    _deliver(ROWS)
    smtp.faults.set(reject_recipients=["gone@*", "later@*"], defer_recipients=[])  # later@ closed meanwhile
    _later()
    report = _deliver(ROWS)
    [row] = ledger()
    assert row["status"] == "failed" and "550" in row["error"], row
    assert (report.counts["email_dead_letters"], report.counts["sent"]) == (1, 0) and smtp.messages() == []


def test_deferred_to_the_last_attempt_when_nobody_has_it_is_a_dead_letter_not_sent(smtp):
    smtp.faults.set(reject_recipients=["gone@*"], defer_recipients=["later@*"])
    _deliver(ROWS)
    _later(attempts=EMAIL_RESEND_ATTEMPTS - 1)
    report = _deliver(ROWS)
    [row] = ledger()
    assert row["status"] == "failed" and f"after {EMAIL_RESEND_ATTEMPTS} attempts" in row["error"], row
    assert report.counts["email_dead_letters"] == 1 and smtp.messages() == []


def test_a_partly_delivered_message_stays_sent_when_its_resend_fails_at_the_last(smtp):
    """The round 29 rule still holds: once some recipients have it, a resend running out of attempts leaves it
    ``sent`` (kept across a failed resend, which before forgot who had it)."""
    rows = [outbox_row("mx:2", "onetrust_vendor_issue", "email", f"{OK};{LATER}")]
    smtp.faults.set(defer_recipients=["later@*"])
    _deliver(rows)
    assert ledger()[0]["message_id"]
    _later()
    _deliver(rows)  # deferred again: still retrying, still known as delivered to risk@
    assert ledger()[0]["status"] == "retrying" and ledger()[0]["message_id"]
    _later(attempts=EMAIL_RESEND_ATTEMPTS - 1)
    _deliver(rows)
    [row] = ledger()
    assert row["status"] == "sent" and "not resent" in row["error"], row
    assert [m.rcpt_tos for m in smtp.messages()] == [[OK]]
