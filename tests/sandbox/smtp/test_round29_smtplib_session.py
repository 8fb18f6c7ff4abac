"""Round 29: the SMTP sandbox against smtplib unchanged and a raw socket, where earlier rounds had not looked: what
STARTTLS forgets (RFC 3207 4.2: the HELO and the AUTH of the plain-text session), plain-text commands pipelined
behind STARTTLS (the CVE-2011-0411 injection: never answered), partial refusals of different kinds in
send_message's refused dict, and RSET between two transactions on one connection. No bug was found here; these
pin the behaviour."""

from __future__ import annotations

import base64
import smtplib
import socket
import ssl
from email.message import EmailMessage

USER, PASSWORD = "mailer", "sandbox-secret"


def _reply(stream) -> bytes:
    lines = []
    while True:
        line = stream.readline()
        if not line:
            return b"<closed>"
        lines.append(line)
        if line[3:4] != b"-":
            return b"".join(lines)


def _tls_after_starttls(sb, before: list[bytes], injected: bytes = b""):
    """Speak ``before`` in plain text, then ``STARTTLS`` (followed in the same packet by ``injected``); the TLS
    socket and its reader."""
    plain = socket.create_connection((sb.host, sb.port), timeout=5)
    stream = plain.makefile("rb")
    assert _reply(stream).startswith(b"220")
    for line in before:
        plain.sendall(line)
        _reply(stream)
    plain.sendall(b"STARTTLS\r\n" + injected)
    assert _reply(stream).startswith(b"220 ")
    context = ssl.create_default_context(cafile=sb.ca_bundle)
    tls = context.wrap_socket(plain, server_hostname="127.0.0.1")
    return tls, tls.makefile("rb")


def test_starttls_forgets_the_plain_text_helo_and_auth(make_smtp_sandbox):
    sb = make_smtp_sandbox(username=USER, password=PASSWORD, starttls=True)
    auth = b"AUTH PLAIN " + base64.b64encode(f"\0{USER}\0{PASSWORD}".encode()) + b"\r\n"
    tls, stream = _tls_after_starttls(sb, [b"EHLO client\r\n", auth])
    with tls:
        tls.sendall(b"MAIL FROM:<a@example.org>\r\n")
        assert _reply(stream).startswith(b"503 5.5.1")  # HELO / EHLO again first
        tls.sendall(b"EHLO client\r\n")
        assert b"STARTTLS" not in _reply(stream)
        tls.sendall(b"MAIL FROM:<a@example.org>\r\n")
        assert _reply(stream).startswith(b"530 5.7.0")  # the plain-text AUTH no longer counts
    assert sb.messages() == []


def test_commands_pipelined_behind_starttls_are_never_answered(make_smtp_sandbox):
    sb = make_smtp_sandbox(starttls=True)
    injected = b"MAIL FROM:<evil@example.org>\r\nRCPT TO:<victim@example.org>\r\n"
    tls, stream = _tls_after_starttls(sb, [b"EHLO client\r\n"], injected)
    with tls:
        tls.sendall(b"EHLO client\r\n")
        assert _reply(stream).startswith(b"250-")  # the first answer inside TLS is the EHLO's
        tls.sendall(b"RCPT TO:<other@example.org>\r\n")
        assert _reply(stream).startswith(b"503")  # no MAIL FROM was taken from the injected text


def test_send_message_reports_each_kind_of_refusal(make_smtp_sandbox):
    sb = make_smtp_sandbox(username=USER, password=PASSWORD, max_recipients=2)
    sb.faults.set(reject_recipients=["gone*@example.org"])
    msg = EmailMessage()
    msg["From"], msg["Subject"] = "evidence@example.org", "partial"
    msg["To"] = "ok1@example.org, gone@example.org, ok2@example.org, ok3@example.org"
    msg.set_content("body\n.leading dot\n")
    with smtplib.SMTP(sb.host, sb.port, timeout=5) as client:
        client.login(USER, PASSWORD)
        refused = client.send_message(msg)
    assert refused["gone@example.org"][0] == 550
    assert refused["ok3@example.org"][0] == 452  # past max_recipients: try later, not bounced
    assert set(refused) == {"gone@example.org", "ok3@example.org"}
    (got,) = sb.messages()
    assert got.rcpt_tos == ["ok1@example.org", "ok2@example.org"]
    assert got.message.get_content().replace("\r\n", "\n") == "body\n.leading dot\n"  # dot-stuffed, un-stuffed


def test_rset_between_transactions_keeps_only_the_second(make_smtp_sandbox):
    sb = make_smtp_sandbox()
    with smtplib.SMTP(sb.host, sb.port, timeout=5) as client:
        client.ehlo()
        assert client.mail("first@example.org")[0] == 250
        assert client.rcpt("dropped@example.org")[0] == 250
        assert client.rset()[0] == 250
        assert client.rcpt("late@example.org")[0] == 503  # no MAIL FROM after RSET
        client.sendmail("second@example.org", ["kept@example.org"], b"Subject: s\r\n\r\nsecond\r\n")
        client.sendmail("third@example.org", ["kept@example.org"], b"Subject: t\r\n\r\nthird\r\n")
    first, second = sb.messages()
    assert (first.mail_from, first.rcpt_tos) == ("second@example.org", ["kept@example.org"])
    assert second.mail_from == "third@example.org" and b"dropped" not in first.raw + second.raw
