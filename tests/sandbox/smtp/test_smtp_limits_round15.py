"""SMTP sandbox limits and abuse: SIZE, bare LF, lines over 998 octets, endless lines and bodies (bounded
memory), the idle timeout, the per-connection error limit and the opt-in AUTH lockout."""

from __future__ import annotations

import smtplib
import socket
import time
import tracemalloc
from email.message import EmailMessage

import pytest


def _message(body: str = "Hi.\n", subject: str = "limits") -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "integrations@projectx.example"
    msg["To"] = "grc@projectx.example"
    msg["Subject"] = subject
    msg.set_content(body)
    return msg


class _Raw:
    """A raw client for what smtplib will not send (bare LF, over-long lines, endless data)."""

    def __init__(self, sb, timeout: float = 10.0) -> None:
        self.sock = socket.create_connection((sb.host, sb.port), timeout=timeout)
        self.file = self.sock.makefile("rb")
        assert self.reply().startswith("220 ")

    def reply(self) -> str:
        lines = []
        while True:
            line = self.file.readline().decode("utf-8", "replace").rstrip("\r\n")
            lines.append(line)
            if len(line) < 4 or line[3] != "-":
                return "\n".join(lines)

    def cmd(self, line: bytes) -> str:
        self.sock.sendall(line + b"\r\n")
        return self.reply()

    def envelope(self) -> None:
        assert self.cmd(b"EHLO x").startswith("250")
        assert self.cmd(b"MAIL FROM:<a@projectx.example>").startswith("250")
        assert self.cmd(b"RCPT TO:<b@projectx.example>").startswith("250")
        assert self.cmd(b"DATA").startswith("354")

    def close(self) -> None:
        self.file.close()
        self.sock.close()


@pytest.fixture
def raw():
    clients: list[_Raw] = []

    def connect(sb) -> _Raw:
        clients.append(_Raw(sb))
        return clients[-1]

    yield connect
    for c in clients:
        c.close()


def test_declared_and_actual_size_over_the_limit_is_552_5_3_4(make_smtp_sandbox, raw):
    sb = make_smtp_sandbox(max_message_size=4000)
    with smtplib.SMTP(sb.host, sb.port, timeout=10) as client:
        client.ehlo()
        assert client.esmtp_features["size"] == "4000"
        with pytest.raises(smtplib.SMTPSenderRefused) as info:  # smtplib declares SIZE=n itself
            client.send_message(_message(("y" * 70 + "\n") * 80))
        assert info.value.smtp_code == 552 and info.value.smtp_error.startswith(b"5.3.4")
        assert client.send_message(_message("small\n")) == {}
    c = raw(sb)
    assert c.cmd(b"EHLO x").startswith("250")
    assert c.cmd(b"MAIL FROM:<a@projectx.example> SIZE=100").startswith("250 2.1.0")  # under-declared
    assert c.cmd(b"RCPT TO:<b@projectx.example>").startswith("250")
    assert c.cmd(b"DATA").startswith("354")
    c.sock.sendall((b"z" * 70 + b"\r\n") * 100)
    assert c.cmd(b".") == "552 5.3.4 Error: message file too big"
    assert c.cmd(b"NOOP") == "250 2.0.0 OK"  # the connection stays usable
    assert [m.subject for m in sb.messages()] == ["limits"]


def test_bare_lf_in_data_is_refused_and_smtplib_mail_is_not_affected(make_smtp_sandbox, raw):
    sb = make_smtp_sandbox()
    c = raw(sb)
    c.envelope()
    c.sock.sendall(b"Subject: smuggle\r\n\r\nfirst\n.\nMAIL FROM:<evil@x>\r\n")
    assert c.reply() == "550 5.5.2 Error: bare <LF> received"  # at once, then the connection is closed
    assert c.file.read() == b""
    assert sb.messages() == []
    with smtplib.SMTP(sb.host, sb.port, timeout=10) as client:  # smtplib turns every \n into CRLF
        client.sendmail("a@projectx.example", ["b@projectx.example"], "Subject: lf\n\nline one\nline two\n")
    assert sb.messages()[0].raw == b"Subject: lf\r\n\r\nline one\r\nline two\r\n"
    lenient = make_smtp_sandbox(reject_bare_lf=False)
    c = raw(lenient)
    c.envelope()
    c.sock.sendall(b"Subject: lenient\r\n\r\nfirst\nsecond\r\n")
    assert c.cmd(b".").startswith("250 ")
    assert lenient.messages()[0].raw == b"Subject: lenient\r\n\r\nfirst\r\nsecond\r\n"  # Postfix `normalize`


def test_text_lines_over_998_octets_are_refused(make_smtp_sandbox, raw):
    sb = make_smtp_sandbox()
    c = raw(sb)
    c.envelope()
    c.sock.sendall(b"Subject: ok\r\n\r\n" + b"a" * 998 + b"\r\n" + b".." + b"d" * 997 + b"\r\n")
    assert c.cmd(b".").startswith("250 ")  # a dot-stuffed 998-octet line counts after un-stuffing
    assert c.cmd(b"MAIL FROM:<a@projectx.example>").startswith("250")
    assert c.cmd(b"RCPT TO:<b@projectx.example>").startswith("250")
    assert c.cmd(b"DATA").startswith("354")
    c.sock.sendall(b"Subject: long\r\n\r\n" + b"a" * 999 + b"\r\n")
    assert c.cmd(b".") == "500 5.5.2 Error: line too long (RFC 5321 4.5.3.1.6)"
    assert c.cmd(b"RSET") == "250 2.0.0 OK"
    assert [len(m.raw) for m in sb.messages()] == [len(b"Subject: ok\r\n\r\n") + 2000]


def _held_while(send) -> int:
    """Peak traced memory growth while `send` streams data into the sandbox (same process)."""
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        send()
        time.sleep(0.2)  # let the server thread drain what is in flight
        return tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("where", ["command", "data"])
def test_an_endless_line_does_not_grow_memory(make_smtp_sandbox, raw, where):
    sb = make_smtp_sandbox()
    c = raw(sb)
    if where == "data":
        c.envelope()
    else:
        assert c.cmd(b"EHLO x").startswith("250")
    chunk = b"A" * 65536
    held = _held_while(lambda: [c.sock.sendall(chunk) for _ in range(200)])  # 12.5 MiB, no CRLF yet
    assert held < 4 * 1024 * 1024, held
    if where == "data":
        c.sock.sendall(b"\r\n")
        assert c.cmd(b".") == "500 5.5.2 Error: line too long (RFC 5321 4.5.3.1.6)"
    else:
        assert c.cmd(b"") == "500 5.5.2 Command line too long"
    assert c.cmd(b"NOOP") == "250 2.0.0 OK"


def test_an_endless_body_is_capped_at_the_size_limit(make_smtp_sandbox, raw):
    sb = make_smtp_sandbox(max_message_size=1_000_000)
    c = raw(sb)
    c.envelope()
    block = (b"B" * 998 + b"\r\n") * 64
    held = _held_while(lambda: [c.sock.sendall(block) for _ in range(160)])  # 10 MiB of body
    assert held < 4 * 1024 * 1024, held
    assert c.cmd(b".") == "552 5.3.4 Error: message file too big"
    assert sb.messages() == []


def test_idle_connection_gets_421_then_is_closed(make_smtp_sandbox):
    sb = make_smtp_sandbox(idle_timeout=0.5)
    with smtplib.SMTP(sb.host, sb.port, timeout=10) as client:
        client.ehlo()
        time.sleep(1.0)
        code, text = client.getreply()  # the server spoke first
        assert (code, text) == (421, b"4.4.2 smtp.sandbox.local Error: timeout exceeded")
        with pytest.raises(smtplib.SMTPServerDisconnected):
            client.noop()


def test_too_many_errors_end_the_connection_with_421(make_smtp_sandbox):
    sb = make_smtp_sandbox(hard_error_limit=5)
    with smtplib.SMTP(sb.host, sb.port, timeout=10) as client:
        client.ehlo()
        for _ in range(4):
            assert client.rcpt("a@projectx.example")[0] == 503
        assert client.rcpt("a@projectx.example")[0] == 503
        assert client.getreply() == (421, b"4.7.0 smtp.sandbox.local Error: too many errors")
        with pytest.raises(smtplib.SMTPServerDisconnected):
            client.noop()
    sb.faults.set(reject_recipients=["*@blocked.example"])
    blocked = [f"u{i}@blocked.example" for i in range(8)]
    with smtplib.SMTP(sb.host, sb.port, timeout=10) as client:  # fault refusals do not count [unc]
        refused = client.send_message(_message(), to_addrs=[*blocked, "ok@projectx.example"])
        assert sorted(refused) == blocked


def test_auth_failures_are_535_and_the_opt_in_lockout_is_454(make_smtp_sandbox):
    sb = make_smtp_sandbox(username="u", password="p", auth_lockout=4)
    for _ in range(2):  # smtplib login() tries AUTH PLAIN, then LOGIN: two failures each
        with smtplib.SMTP(sb.host, sb.port, timeout=10) as client, \
                pytest.raises(smtplib.SMTPAuthenticationError) as bad:
            client.login("u", "wrong")
        assert bad.value.smtp_code == 535 and bad.value.smtp_error.startswith(b"5.7.8")
    with smtplib.SMTP(sb.host, sb.port, timeout=10) as client:
        with pytest.raises(smtplib.SMTPAuthenticationError) as locked:  # even the right password
            client.login("u", "p")
        assert locked.value.smtp_code == 454 and locked.value.smtp_error.startswith(b"4.7.0")
    sb.reset()
    with smtplib.SMTP(sb.host, sb.port, timeout=10) as client:
        assert client.login("u", "p")[0] == 235
    default = make_smtp_sandbox(username="u", password="p")  # no lockout unless asked for
    with smtplib.SMTP(default.host, default.port, timeout=10) as client:
        for _ in range(5):
            with pytest.raises(smtplib.SMTPAuthenticationError):
                client.login("u", "wrong")
        assert client.login("u", "p")[0] == 235


def test_auth_login_mechanism_and_auth_sequence_errors(make_smtp_sandbox):
    sb = make_smtp_sandbox(username="u", password="p")
    with smtplib.SMTP(sb.host, sb.port, timeout=10) as client:
        client.ehlo()
        code, text = client.docmd("AUTH", "CRAM-MD5")  # not offered
        assert (code, text[:5]) == (504, b"5.5.4")
        client.user, client.password = "u", "p"
        assert client.auth("LOGIN", client.auth_login)[0] == 235
        code, text = client.docmd("AUTH", "PLAIN AHUAcA==")
        assert (code, text[:5]) == (503, b"5.5.1")  # already authenticated
