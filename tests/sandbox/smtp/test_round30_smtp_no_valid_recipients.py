"""Round 30: DATA after every RCPT of a transaction was refused. Postfix (smtpd.c ``data_cmd``) answers
``554 5.5.1 Error: no valid recipients`` there and does not count it as a protocol error (a pipelining client sends
DATA before it has read the RCPT replies); only DATA outside a transaction is ``503 5.5.1 Error: need RCPT
command``. The sandbox answered 503 to both and counted it towards the hard error limit. smtplib itself never
sends DATA then: it raises SMTPRecipientsRefused (pinned here too)."""

from __future__ import annotations

import smtplib
import socket
from email.message import EmailMessage

import pytest

from tests.sandbox.smtp.test_round29_smtplib_session import _reply


def _session(sb):
    conn = socket.create_connection((sb.host, sb.port), timeout=5)
    stream = conn.makefile("rb")
    assert _reply(stream).startswith(b"220")
    conn.sendall(b"EHLO client.example\r\n")
    assert b"PIPELINING" in _reply(stream)
    return conn, stream


def test_pipelined_data_after_every_recipient_refused_is_554_and_the_session_goes_on(make_smtp_sandbox):
    sb = make_smtp_sandbox(hard_error_limit=2)
    sb.faults.set(reject_recipients=["gone*"])
    conn, stream = _session(sb)
    with conn:
        conn.sendall(b"DATA\r\n")  # outside a transaction: a protocol error, as before
        assert _reply(stream).startswith(b"503 5.5.1 Error: need RCPT command")
        for _ in range(3):  # three pipelined groups: 554 is no protocol error, the limit of 2 is never reached
            conn.sendall(b"MAIL FROM:<ops@projectx.io>\r\nRCPT TO:<gone1@x.io>\r\nRCPT TO:<gone2@x.io>\r\nDATA\r\n")
            assert _reply(stream).startswith(b"250 2.1.0")
            assert _reply(stream).startswith(b"550 5.1.1")
            assert _reply(stream).startswith(b"550 5.1.1")
            assert _reply(stream) == b"554 5.5.1 Error: no valid recipients\r\n"
            conn.sendall(b"RSET\r\n")
            assert _reply(stream).startswith(b"250 2.0.0")
        conn.sendall(b"MAIL FROM:<ops@projectx.io>\r\nRCPT TO:<gone1@x.io>\r\nRCPT TO:<kept@x.io>\r\nDATA\r\n")
        replies = [_reply(stream)[:3] for _ in range(4)]
        assert replies == [b"250", b"550", b"250", b"354"]
        conn.sendall(b"Subject: partly\r\n\r\nbody\r\n.\r\nQUIT\r\n")
        assert _reply(stream).startswith(b"250 2.0.0")
    [kept] = sb.messages()
    assert kept.rcpt_tos == ["kept@x.io"]


def test_smtplib_raises_recipients_refused_and_sends_no_data(make_smtp_sandbox):
    sb = make_smtp_sandbox()
    sb.faults.set(reject_recipients=["gone*"])
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "ops@projectx.io", "gone1@x.io, gone2@x.io", "nobody"
    msg.set_content("body")
    with smtplib.SMTP(sb.host, sb.port, timeout=5) as client:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as exc:
            client.send_message(msg)
        assert sorted(exc.value.recipients) == ["gone1@x.io", "gone2@x.io"]
        assert client.noop()[0] == 250  # the session is usable afterwards (smtplib sent RSET)
    assert sb.messages() == []
