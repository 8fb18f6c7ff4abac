"""Round 32: SMTP smuggling against the inbound e-mail bridge, over a real loopback SMTP session.

A relay in front of the bridge (which authenticates senders: SPF, DKIM) and the bridge must agree where a
message's DATA ends. If the bridge ended it at a bare-LF or bare-CR "dot line" (``\\n.\\r\\n``, ``\\r.\\r``...) that the
relay passes as message text, the bytes after it would be read as a second transaction the relay never
checked: a message ``From`` an allowed partner, smuggled inside a stranger's mail, stored as evidence.

Held (aiosmtpd 1.4.5+ ends DATA at ``<CRLF>.<CRLF>`` only): each variant is one message, the stranger's,
quarantined as not on ``EMAIL_BRIDGE_ALLOWED_SENDERS``; nothing is stored as evidence, and the session goes on
answering in step (one 250 for the one DATA).
"""

from __future__ import annotations

import socket

import pytest

from tests.test_email_bridge import INGEST, _library_env  # noqa: F401  (autouse fixture)
from webhooks.email_bridge import EmailBridge, wait_for_rows

PARTNER = "partner@vendor.example"
# what ends the stranger's DATA for a parser that takes line ends loosely (the 2023 "SMTP smuggling" family)
LOOSE_ENDS = {"lf_dot_crlf": b"\n.\r\n", "lf_dot_lf": b"\n.\n", "cr_dot_cr": b"\r.\r", "crlf_dot_lf": b"\r\n.\n",
              "cr_dot_crlf": b"\r.\r\n", "crlf_dot_cr": b"\r\n.\r"}


@pytest.fixture
def bridge(tmp_path):
    b = EmailBridge(addresses={INGEST: "servicenow"}, spool=tmp_path / "spool.sqlite",
                    evidence_dir=tmp_path / "evidence", allowed_senders=frozenset({PARTNER})).start()
    yield b
    b.stop()


def _session(bridge: EmailBridge, data: bytes) -> list[bytes]:
    """One SMTP session: EHLO, a stranger's envelope, DATA with ``data``, QUIT; the reply lines after DATA's 354."""
    with socket.create_connection((bridge.host, bridge.port), timeout=5) as conn, conn.makefile("rb") as replies:
        def command(line: bytes) -> bytes:
            conn.sendall(line + b"\r\n")
            reply = replies.readline()
            while reply[3:4] == b"-":  # a multi-line reply (EHLO)
                reply = replies.readline()
            return reply

        assert replies.readline().startswith(b"220")
        assert command(b"EHLO relay.example").startswith(b"250")
        assert command(b"MAIL FROM:<stranger@evil.example>").startswith(b"250")
        assert command(b"RCPT TO:<" + INGEST.encode() + b">").startswith(b"250")
        assert command(b"DATA").startswith(b"354")
        conn.sendall(data)
        after = [replies.readline()]
        after.append(command(b"QUIT"))
        return after


@pytest.mark.parametrize("end", LOOSE_ENDS, ids=list(LOOSE_ENDS))
def test_a_message_smuggled_behind_a_loose_end_of_data_is_never_a_message_of_its_own(bridge, end):
    smuggled = (b"MAIL FROM:<" + PARTNER.encode() + b">\r\nRCPT TO:<" + INGEST.encode() + b">\r\nDATA\r\n"
                b"From: " + PARTNER.encode() + b"\r\nTo: " + INGEST.encode() + b"\r\nSubject: smuggled\r\n"
                b"Message-ID: <smuggled@vendor.example>\r\n\r\nforged evidence\r\n.\r\n")
    data = (b"From: stranger@evil.example\r\nTo: " + INGEST.encode() + b"\r\nSubject: cover\r\n"
            b"Message-ID: <cover@evil.example>\r\n\r\nhello\r\n" + LOOSE_ENDS[end] + smuggled)
    after = _session(bridge, data)
    # one DATA, one answer, then QUIT's 221: a second transaction would have answered 250 three more times
    assert after[0].startswith(b"250") and after[1].startswith(b"221"), after
    wait_for_rows(bridge, "quarantine", 1)
    reasons = [r for (r,) in bridge._db.execute("select reason from quarantine")]
    assert len(reasons) == 1 and "stranger@evil.example" in reasons[0], reasons
    assert bridge._db.execute("select count(*) from evidence").fetchone() == (0,)
