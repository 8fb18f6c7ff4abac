"""Addresses with non-ASCII before the @ (RFC 6531), against the SMTP sandbox with and without SMTPUTF8.

A relay that advertises SMTPUTF8 gets the message with it; one that does not gets it for the other
recipients only, and the ledger names who was not sent it and why (a dead letter when nobody is
left). Vendor addresses still cannot add recipients or headers.
"""

from __future__ import annotations

import pytest

from assets.notifications import deliver_channel_type
from resources.email import EmailAddressError, mailbox
from resources.notifications import NotificationsResource
from resources.warehouse import WarehouseResource
from tests.notify_helpers import delivery_env, ledger, outbox_row, write_outbox

JOERG = "jörg.müller@projectx.example"


def smtp(make_smtp_sandbox, monkeypatch, make_slack_sandbox, smtputf8: bool):
    server = make_smtp_sandbox(username="mailer", password="pw", starttls=True, require_tls=True, smtputf8=smtputf8)
    delivery_env(monkeypatch, make_slack_sandbox(), server)
    return server


@pytest.fixture
def with_utf8(make_smtp_sandbox, make_slack_sandbox, duckdb_warehouse, monkeypatch):
    return smtp(make_smtp_sandbox, monkeypatch, make_slack_sandbox, True)


@pytest.fixture
def without_utf8(make_smtp_sandbox, make_slack_sandbox, duckdb_warehouse, monkeypatch):
    return smtp(make_smtp_sandbox, monkeypatch, make_slack_sandbox, False)


def deliver() -> dict[str, int]:
    with WarehouseResource.from_env().connect() as conn:
        report, _ = deliver_channel_type(conn, "email", NotificationsResource(), None, "prod")
    return report.as_metadata()


def test_a_relay_with_smtputf8_gets_the_message_with_it(with_utf8):
    write_outbox([outbox_row("v:1", "onetrust_vendor_issue", "email", f"Jörg Müller <{JOERG}>;vendors@projectx.io",
                             title="Prüfung überfällig")])
    assert deliver()["sent"] == 1
    [mail] = with_utf8.messages()
    assert sorted(mail.rcpt_tos) == sorted([JOERG, "vendors@projectx.io"]) and "SMTPUTF8" in mail.mail_options
    assert mail.message["To"].addresses[0].addr_spec == JOERG and mail.subject == "Prüfung überfällig"
    [row] = ledger()
    assert (row["status"], row["error"]) == ("sent", None)


def test_a_relay_without_smtputf8_gets_it_for_the_others_and_the_ledger_says_who_not_and_why(without_utf8):
    write_outbox([outbox_row("v:1", "onetrust_vendor_issue", "email", f"{JOERG};vendors@projectx.io")])
    deliver()
    [mail] = without_utf8.messages()
    assert mail.rcpt_tos == ["vendors@projectx.io"] and "SMTPUTF8" not in mail.mail_options
    assert JOERG not in str(mail.message["To"]) and mail.raw.split(b"\r\n\r\n", 1)[0].isascii()
    [row] = ledger()
    assert row["status"] == "sent" and "does not offer SMTPUTF8" in row["error"] and JOERG in row["error"]
    assert deliver()["sent"] == 0 and len(without_utf8.messages()) == 1  # not resent to the others


def test_only_smtputf8_recipients_on_a_relay_without_it_is_a_dead_letter_with_the_reason(without_utf8):
    write_outbox([outbox_row("v:1", "onetrust_vendor_issue", "email", JOERG),
                  outbox_row("v:2", "onetrust_vendor_issue", "email", "vendors@projectx.io")])
    result = deliver()
    rows = {r["notification_key"]: r for r in ledger()}
    assert rows["v:1"]["status"] == "failed" and "does not offer SMTPUTF8" in rows["v:1"]["error"]
    assert "notification_routing" in rows["v:1"]["error"] and JOERG in rows["v:1"]["error"]  # names the fix
    assert rows["v:2"]["status"] == "sent" and [m.rcpt_tos for m in without_utf8.messages()] == [
        ["vendors@projectx.io"]]
    assert result["failed"] == 1 and result["email_failures"] == 1  # an alert, as any failed e-mail
    assert deliver()["failed"] == 0  # recorded once, not retried forever


@pytest.mark.parametrize("entry", [
    "jörg\u2028@projectx.example", "jörg\r\nBcc: spy@evil.example", "jö rg@projectx.example",
    "jörg\u202e@projectx.example", "jörg\u200b@projectx.example", "jörg\x85@projectx.example",
    f"{JOERG}, spy@evil.example", "ü" * 33 + "@projectx.example", "a\udcff@projectx.example"])
def test_a_non_ascii_address_still_cannot_add_headers_recipients_or_hidden_characters(entry):
    with pytest.raises(EmailAddressError):
        mailbox(entry)


def test_a_hostile_non_ascii_target_sends_nothing_to_it_even_with_smtputf8(with_utf8):
    write_outbox([outbox_row("v:1", "onetrust_vendor_issue", "email",
                             "vendors@projectx.io;jörg@projectx.example\r\nBcc: spy@evil.example")])
    deliver()
    [mail] = with_utf8.messages()
    assert mail.rcpt_tos == ["vendors@projectx.io"] and mail.message["Bcc"] is None
    [row] = ledger()
    assert row["status"] == "sent" and "invalid e-mail address" in row["error"]
