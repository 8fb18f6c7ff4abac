"""Bare LF outside the body: a command line ending in LF alone is refused with Postfix's reply and the
connection closed (`smtpd_forbid_bare_newline = reject`), never left hanging; with `reject_bare_lf=False`
(Postfix 3.9 `normalize`) it is an ordinary line. Every read is bounded by a socket timeout."""

from __future__ import annotations

import select
import smtplib

import pytest

from tests.sandbox.smtp.test_smtp_limits_round15 import _Raw

REFUSAL = "550 5.5.2 Error: bare <LF> received"


@pytest.fixture
def connect():
    clients: list[_Raw] = []

    def make(sb) -> _Raw:
        clients.append(_Raw(sb, timeout=5.0))
        return clients[-1]

    yield make
    for c in clients:
        c.close()


def test_bare_lf_command_is_refused_and_closed(make_smtp_sandbox, connect):
    sb = make_smtp_sandbox()
    c = connect(sb)
    c.sock.sendall(b"EHLO x\n")
    assert c.reply() == REFUSAL
    assert c.file.read() == b""  # closed by the server, within the socket timeout
    c = connect(sb)  # the same after a good EHLO, and for a pipelined group
    assert c.cmd(b"EHLO x").startswith("250")
    c.sock.sendall(b"MAIL FROM:<a@projectx.example>\r\nRCPT TO:<b@projectx.example>\n")
    assert c.reply().startswith("250 2.1.0")
    assert c.reply() == REFUSAL
    assert c.file.read() == b""
    with smtplib.SMTP(sb.host, sb.port, timeout=5) as client:  # the server itself carries on
        client.sendmail("a@projectx.example", ["b@projectx.example"], "Subject: ok\n\nfine\n")
    assert [m.subject for m in sb.messages()] == ["ok"]


def test_bare_lf_end_of_data_does_not_hang(make_smtp_sandbox, connect):
    sb = make_smtp_sandbox()
    c = connect(sb)
    c.envelope()
    c.sock.sendall(b"Subject: lf\n\nbody\n.\n")  # a client that never sends CRLF
    assert c.reply() == REFUSAL
    assert c.file.read() == b""
    assert sb.messages() == []


def test_normalize_takes_bare_lf_commands_as_lines(make_smtp_sandbox, connect):
    sb = make_smtp_sandbox(reject_bare_lf=False)
    c = connect(sb)
    c.sock.sendall(b"EHLO x\n")
    assert c.reply().splitlines()[0].startswith("250-")
    c.sock.sendall(b"MAIL FROM:<a@projectx.example>\nRCPT TO:<b@projectx.example>\nDATA\n")
    assert [c.reply()[:3] for _ in range(3)] == ["250", "250", "354"]
    c.sock.sendall(b"Subject: n\n\nbody\n.\n")  # `.` + bare LF does not end DATA under `normalize` [unc]
    assert select.select([c.sock], [], [], 0.5)[0] == []  # no reply yet: still in DATA
    assert c.cmd(b".").startswith("250 ")
    assert sb.messages()[0].raw == b"Subject: n\r\n\r\nbody\r\n.\r\n"
