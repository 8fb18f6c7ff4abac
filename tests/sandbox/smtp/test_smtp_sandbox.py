"""SMTP sandbox through plain smtplib: auth, delivery, STARTTLS and run-time 550/451 faults."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage

import pytest

from sandbox.smtp.fixtures import SMTP_PASSWORD, SMTP_USERNAME


def _message(to: str = "grc-team@projectx.example", subject: str = "Evidence overdue") -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "integrations@projectx.example"
    msg["To"] = to
    msg["Subject"] = subject
    msg.set_content("Three controls have no attestation this quarter.")
    return msg


def test_send_with_auth_is_received_and_readable(smtp_sandbox):
    with smtplib.SMTP(smtp_sandbox.host, smtp_sandbox.port, timeout=10) as client:
        client.login(SMTP_USERNAME, SMTP_PASSWORD)
        refused = client.send_message(_message(), to_addrs=["grc-team@projectx.example", "cc@projectx.example"])
    assert refused == {}
    [got] = smtp_sandbox.messages()
    assert got.subject == "Evidence overdue" and got.message["To"] == "grc-team@projectx.example"
    assert got.text.strip() == "Three controls have no attestation this quarter."
    assert got.mail_from == "integrations@projectx.example"
    assert got.rcpt_tos == ["grc-team@projectx.example", "cc@projectx.example"]
    assert got.auth_user == SMTP_USERNAME and got.peer == "127.0.0.1"


def test_auth_is_required_and_checked(smtp_sandbox):
    with smtplib.SMTP(smtp_sandbox.host, smtp_sandbox.port, timeout=10) as client:
        with pytest.raises(smtplib.SMTPSenderRefused) as unauth:
            client.send_message(_message())
        assert unauth.value.smtp_code == 530
    with smtplib.SMTP(smtp_sandbox.host, smtp_sandbox.port, timeout=10) as client:
        with pytest.raises(smtplib.SMTPAuthenticationError) as bad:
            client.login(SMTP_USERNAME, "wrong")
        assert bad.value.smtp_code == 535
    assert smtp_sandbox.messages() == []


def test_no_auth_sandbox_accepts_anonymous_mail(make_smtp_sandbox):
    sb = make_smtp_sandbox()
    with smtplib.SMTP(sb.host, sb.port, timeout=10) as client:
        client.send_message(_message(subject="anon"))
    assert [m.subject for m in sb.wait_for_messages(1)] == ["anon"]


def test_recipient_rejection_550_switches_at_run_time(smtp_sandbox):
    smtp_sandbox.faults.set(reject_recipients=["*@blocked.example"])
    with smtplib.SMTP(smtp_sandbox.host, smtp_sandbox.port, timeout=10) as client:
        client.login(SMTP_USERNAME, SMTP_PASSWORD)
        with pytest.raises(smtplib.SMTPRecipientsRefused) as info:
            client.send_message(_message(to="ceo@blocked.example"))
        assert info.value.recipients["ceo@blocked.example"][0] == 550
        partly = client.send_message(_message(), to_addrs=["ok@projectx.example", "x@blocked.example"])
        assert partly["x@blocked.example"][0] == 550
        smtp_sandbox.faults.set(rate_550=1.0)
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            client.send_message(_message())
        smtp_sandbox.faults.clear()
        assert client.send_message(_message(to="ceo@blocked.example")) == {}
    assert [m.rcpt_tos for m in smtp_sandbox.messages()] == [["ok@projectx.example"], ["ceo@blocked.example"]]


def test_temporary_failure_451_switches_at_run_time(smtp_sandbox):
    with smtplib.SMTP(smtp_sandbox.host, smtp_sandbox.port, timeout=10) as client:
        client.login(SMTP_USERNAME, SMTP_PASSWORD)
        smtp_sandbox.faults.set(rate_451=1.0)
        with pytest.raises(smtplib.SMTPDataError) as info:
            client.send_message(_message())
        assert info.value.smtp_code == 451
        smtp_sandbox.faults.clear()
        client.send_message(_message(subject="retried"))
    assert [m.subject for m in smtp_sandbox.messages()] == ["retried"]
    with pytest.raises(ValueError):
        smtp_sandbox.faults.set(rate_999=1)


def test_starttls_required_before_auth(make_smtp_sandbox):
    sb = make_smtp_sandbox(username="u", password="p", require_tls=True)
    with smtplib.SMTP(sb.host, sb.port, timeout=10) as client, pytest.raises(smtplib.SMTPException):
        client.login("u", "p")
    with smtplib.SMTP(sb.host, sb.port, timeout=10) as client:
        client.starttls(context=ssl.create_default_context(cafile=sb.ca_bundle))
        client.login("u", "p")
        client.send_message(_message(subject="over tls"))
    assert sb.messages()[0].subject == "over tls"


def test_stop_frees_the_port(make_smtp_sandbox):
    sb = make_smtp_sandbox()
    port = sb.port
    sb.stop()
    with pytest.raises(OSError):
        smtplib.SMTP(sb.host, port, timeout=2)


def test_smtputf8_is_advertised_only_when_switched_on(make_smtp_sandbox):
    from email import policy

    plain, utf8 = make_smtp_sandbox(), make_smtp_sandbox(smtputf8=True)
    msg = _message(to="jörg.müller@projectx.example", subject="Prüfung überfällig")
    msg.policy = policy.SMTPUTF8
    with smtplib.SMTP(plain.host, plain.port, timeout=10) as client:
        client.ehlo()
        assert not client.has_extn("smtputf8")
        with pytest.raises(smtplib.SMTPNotSupportedError):  # smtplib refuses before sending
            client.send_message(msg)
    with smtplib.SMTP(utf8.host, utf8.port, timeout=10) as client:
        client.ehlo()
        assert client.has_extn("smtputf8")
        assert client.send_message(msg) == {}
    [got] = utf8.messages()
    assert got.rcpt_tos == ["jörg.müller@projectx.example"] and "SMTPUTF8" in got.mail_options
    assert got.message["To"].addresses[0].addr_spec == "jörg.müller@projectx.example"
    assert got.subject == "Prüfung überfällig"
    assert "jörg.müller@projectx.example".encode() in got.raw  # raw UTF-8 headers, as RFC 6531 allows
    assert plain.messages() == []
