"""SMTP sandbox answers like a production relay (Postfix-style): EHLO keywords, enhanced status codes,
command sequencing, STARTTLS/AUTH ordering, SMTPUTF8 refusal, recipient limit, dot-stuffing, and a
message with attachments and a non-ASCII display name, all through plain smtplib (raw sockets only for
what smtplib will not send)."""

from __future__ import annotations

import smtplib
import socket
import ssl
from email.headerregistry import Address
from email.message import EmailMessage

import pytest


def _message(to: str = "grc-team@projectx.example", subject: str = "Evidence overdue", body: str = "Hi.\n"):
    msg = EmailMessage()
    msg["From"] = "integrations@projectx.example"
    msg["To"] = to
    msg["Subject"] = subject
    msg.set_content(body)
    return msg


def _raw(sb, lines: list[bytes], timeout: float = 5.0) -> list[str]:
    """Send each line and read one reply (all lines of a multi-line reply) after each; the greeting first."""
    with socket.create_connection((sb.host, sb.port), timeout=timeout) as s:
        f = s.makefile("rb")

        def reply() -> str:
            out = []
            while True:
                line = f.readline().decode("utf-8", "replace").rstrip("\r\n")
                out.append(line)
                if len(line) < 4 or line[3] != "-":
                    return "\n".join(out)

        replies = [reply()]
        for line in lines:
            s.sendall(line)
            replies.append(reply())
        return replies


def test_ehlo_keywords_like_postfix(make_smtp_sandbox):
    sb = make_smtp_sandbox(max_message_size=10_240_000)
    with smtplib.SMTP(sb.host, sb.port, timeout=10) as client:
        code, _ = client.ehlo("notifier.projectx.example")
        assert code == 250
        for keyword in ("pipelining", "enhancedstatuscodes", "8bitmime", "size"):
            assert client.has_extn(keyword), keyword
        assert client.esmtp_features["size"] == "10240000"
        assert not client.has_extn("smtputf8") and not client.has_extn("dsn") and not client.has_extn("auth")
    greeting = _raw(sb, [])[0]
    assert greeting.startswith("220 smtp.sandbox.local ESMTP")


def test_auth_is_advertised_only_inside_tls_when_tls_is_required(make_smtp_sandbox):
    sb = make_smtp_sandbox(username="u", password="p", require_tls=True)
    with smtplib.SMTP(sb.host, sb.port, timeout=10) as client:
        client.ehlo()
        assert client.has_extn("starttls") and not client.has_extn("auth")
        code, text = client.docmd("AUTH", "PLAIN AHUAcA==")
        assert (code, text[:5]) == (530, b"5.7.0")
        client.starttls(context=ssl.create_default_context(cafile=sb.ca_bundle))
        client.ehlo()
        assert client.esmtp_features["auth"].split() == ["LOGIN", "PLAIN"] and not client.has_extn("starttls")
        code, text = client.docmd("STARTTLS")  # RFC 3207: no second STARTTLS inside TLS
        assert (code, text) == (503, b"5.5.1 Error: TLS already active")
        client.login("u", "p")
        assert client.send_message(_message(subject="inside tls")) == {}
    assert [m.subject for m in sb.messages()] == ["inside tls"]


def test_replies_carry_enhanced_status_codes(make_smtp_sandbox):
    sb = make_smtp_sandbox()
    with smtplib.SMTP(sb.host, sb.port, timeout=10) as client:
        client.ehlo()
        assert client.rcpt("a@projectx.example") == (503, b"5.5.1 Error: need MAIL command")
        assert client.docmd("DATA")[0:1] == (503,)
        assert client.mail("integrations@projectx.example") == (250, b"2.1.0 OK")
        assert client.mail("again@projectx.example")[0] == 503  # nested MAIL
        assert client.rcpt("grc@projectx.example") == (250, b"2.1.5 OK")
        assert client.rset() == (250, b"2.0.0 OK")
        assert client.noop() == (250, b"2.0.0 OK")
        code, text = client.verify("grc@projectx.example")
        assert code == 252 and text.startswith(b"2.0.0 ")
        code, text = client.docmd("XFROB")
        assert (code, text) == (502, b"5.5.2 Error: command not recognized")
        code, text = client.docmd("HELP")
        assert code == 214 and text.startswith(b"2.0.0 ") and b"MAIL" in text and b"STARTTLS" not in text
        assert client.docmd("MAIL", "FROM:<a@projectx.example> BODY=8BITMIME")[0] == 250
        code, text = client.docmd("RCPT", "TO:<b@projectx.example> NOTIFY=SUCCESS")  # DSN not offered
        assert code == 555 and text.startswith(b"5.5.4 ")
        assert client.quit() == (221, b"2.0.0 Bye")


def test_smtputf8_and_non_ascii_addresses_refused_when_not_advertised(make_smtp_sandbox):
    sb = make_smtp_sandbox()
    with smtplib.SMTP(sb.host, sb.port, timeout=10) as client:
        client.ehlo()
        code, text = client.docmd("MAIL", "FROM:<a@projectx.example> SMTPUTF8")
        assert (code, text[:5]) == (555, b"5.5.4")
    replies = _raw(sb, [b"EHLO x\r\n", "MAIL FROM:<jörg@projectx.example>\r\n".encode(),
                        b"MAIL FROM:<a@projectx.example>\r\n", "RCPT TO:<jörg@projectx.example>\r\n".encode()])
    assert replies[2].startswith("553 5.6.7 ") and replies[4].startswith("553 5.6.7 ")
    assert sb.messages() == []


def test_too_many_recipients_is_452(make_smtp_sandbox):
    sb = make_smtp_sandbox(max_recipients=3)
    rcpts = [f"r{i}@projectx.example" for i in range(5)]
    with smtplib.SMTP(sb.host, sb.port, timeout=10) as client:
        refused = client.send_message(_message(), to_addrs=rcpts)
        assert refused == {a: (452, b"4.5.3 Error: too many recipients") for a in rcpts[3:]}
        client.ehlo()
        assert client.mail("a@projectx.example")[0] == 250  # the limit is per transaction
        assert client.rcpt("r9@projectx.example")[0] == 250
    assert sb.messages()[0].rcpt_tos == rcpts[:3]
    default = make_smtp_sandbox()
    with smtplib.SMTP(default.host, default.port, timeout=10) as client:
        many = [f"r{i}@projectx.example" for i in range(120)]
        assert client.send_message(_message(), to_addrs=many) == {}  # Postfix's default limit is 1000


def test_dot_stuffing_round_trips_and_a_lone_dot_line_is_kept(make_smtp_sandbox):
    sb = make_smtp_sandbox()
    body = "first\n.\n..two dots\n.leading dot\nlast\n"
    with smtplib.SMTP(sb.host, sb.port, timeout=10) as client:
        client.send_message(_message(body=body))
    [got] = sb.messages()
    assert got.text.replace("\r\n", "\n") == body
    assert b"\r\n.\r\n..two dots\r\n.leading dot\r\n" in got.raw  # un-stuffed, CRLF kept


def test_send_message_with_attachments_and_non_ascii_display_name(make_smtp_sandbox):
    sb = make_smtp_sandbox(username="u", password="p")
    msg = EmailMessage()
    msg["From"] = Address("Jörg Müller — GRC", addr_spec="integrations@projectx.example")
    msg["To"] = Address("Zoë Ærø", addr_spec="zoe@projectx.example")
    msg["Subject"] = "Prüfbericht Q3 ✓"
    msg.set_content("Siehe Anhang.\n")
    msg.add_alternative("<p>Siehe <b>Anhang</b>.</p>", subtype="html")
    pdf = bytes(range(256)) * 40
    msg.add_attachment(pdf, maintype="application", subtype="pdf", filename="bericht-ü.pdf")
    msg.add_attachment("id,status\n1,überfällig\n", subtype="csv", filename="controls.csv")
    with smtplib.SMTP(sb.host, sb.port, timeout=10) as client:
        client.login("u", "p")
        assert client.send_message(msg) == {}
    [got] = sb.messages()
    assert got.mail_from == "integrations@projectx.example" and got.rcpt_tos == ["zoe@projectx.example"]
    head = got.raw.split(b"\r\n\r\n", 1)[0]
    assert head.isascii() and b"=?utf-8?" in head  # no SMTPUTF8: RFC 2047 encoded words
    assert got.message["From"].addresses[0].display_name == "Jörg Müller — GRC"
    assert got.subject == "Prüfbericht Q3 ✓"
    attachments = {a.get_filename(): a.get_content() for a in got.message.iter_attachments()}
    assert attachments["bericht-ü.pdf"] == pdf
    assert attachments["controls.csv"].replace("\r\n", "\n") == "id,status\n1,überfällig\n"


@pytest.mark.parametrize("keyword", ["NOOP", "RSET"])
def test_pipelined_commands_are_answered_in_order(make_smtp_sandbox, keyword):
    sb = make_smtp_sandbox()
    batch = (b"MAIL FROM:<a@projectx.example>\r\nRCPT TO:<b@projectx.example>\r\n"
             + keyword.encode() + b"\r\nRCPT TO:<c@projectx.example>\r\n")
    with socket.create_connection((sb.host, sb.port), timeout=5) as s:
        f = s.makefile("rb")
        f.readline()
        s.sendall(b"EHLO x\r\n")
        while f.readline()[3:4] == b"-":
            pass
        s.sendall(batch)  # RFC 2920: one write, replies in order
        codes = [f.readline()[:3] for _ in range(4)]
    assert codes == [b"250", b"250", b"250", b"250" if keyword == "NOOP" else b"503"]


def test_implicit_tls_for_smtp_ssl(make_smtp_sandbox):
    sb = make_smtp_sandbox(username="u", password="p", implicit_tls=True, require_tls=True)
    ctx = ssl.create_default_context(cafile=sb.ca_bundle)
    with smtplib.SMTP_SSL(sb.host, sb.port, context=ctx, timeout=10) as client:
        client.ehlo()
        assert not client.has_extn("starttls") and client.has_extn("auth")
        client.login("u", "p")
        assert client.send_message(_message(subject="smtps")) == {}
    assert [(m.subject, m.auth_user) for m in sb.messages()] == [("smtps", "u")]
    with pytest.raises(OSError), smtplib.SMTP(sb.host, sb.port, timeout=1) as plain:  # plain text, TLS port
        plain.noop()
