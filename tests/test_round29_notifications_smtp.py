"""Round 29: SMTP relays that misbehave after (or while) taking a notification, over a real loopback socket.

A relay that has answered 250 to DATA has the message: whatever it says to QUIT afterwards (a 421 while it
shuts down, a 500 from a broken proxy), the notification went out and must not be resent (before: smtplib's
``with`` raised on the non-221 QUIT, the ledger said ``retrying``, and the recipient got six copies in fifty
minutes before the row was marked ``failed``). A 4xx at DATA mid-batch leaves that message in line for the
resend (a 5xx: failed at once since round 31) and the rest of the batch goes out; a crash between the relay's
250 and the ledger's record resends with the same Message-ID, so the recipient's mail client folds the two.
"""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Iterator
from email import message_from_bytes

import pytest

from assets.notifications import deliver_channel_type
from assets.notifications import ledger as ledger_mod
from resources.notifications import NotificationsResource
from resources.warehouse import WarehouseResource
from tests.notify_helpers import ledger, outbox_row, write_outbox


class _Relay:
    """A plain SMTP relay on loopback: ``data_replies`` answers successive DATA ends (then 250), ``quit_reply``
    answers QUIT. ``accepted`` keeps each message it answered 250 to."""

    def __init__(self) -> None:
        self.data_replies: list[str] = []
        self.quit_reply = "221 2.0.0 Bye"
        self.accepted: list[bytes] = []
        self.lock = threading.Lock()


def _handler(relay: _Relay):
    class Handler(socketserver.StreamRequestHandler):
        timeout = 5

        def reply(self, line: str) -> None:
            self.wfile.write(line.encode() + b"\r\n")

        def handle(self) -> None:
            self.reply("220 relay.test ESMTP")
            while True:
                line = self.rfile.readline()
                if not line:
                    return
                verb = line.strip().split(b" ")[0].upper()
                if verb == b"EHLO":
                    self.reply("250-relay.test")
                    self.reply("250 8BITMIME")
                elif verb in (b"MAIL", b"RCPT", b"RSET", b"NOOP"):
                    self.reply("250 2.0.0 OK")
                elif verb == b"DATA":
                    self.reply("354 go ahead")
                    body = b""
                    while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                        body += chunk
                    with relay.lock:
                        answer = relay.data_replies.pop(0) if relay.data_replies else "250 2.0.0 queued"
                        if answer.startswith("250"):
                            relay.accepted.append(body)
                    self.reply(answer)
                elif verb == b"QUIT":
                    self.reply(relay.quit_reply)
                    return
                else:
                    self.reply("502 5.5.2 not implemented")
    return Handler


@pytest.fixture
def relay(duckdb_warehouse, monkeypatch) -> Iterator[_Relay]:
    state = _Relay()
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _handler(state))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.delenv("VAULT_ADDR", raising=False)
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    for name, value in {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(server.server_address[1]),
                        "SMTP_STARTTLS": "false", "SMTP_FROM_ADDRESS": "projectx@projectx.io"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("SMTP_USERNAME", raising=False)
    monkeypatch.delenv("SMTP_PASSWORD", raising=False)
    yield state
    server.shutdown()
    server.server_close()


def _deliver() -> dict[str, int]:
    with WarehouseResource.from_env().connect() as conn:
        report, _ = deliver_channel_type(conn, "email", NotificationsResource(), None, "prod")
    return report.as_metadata()


def _due_now() -> None:
    with WarehouseResource.from_env().connect() as conn:
        conn.execute("update notifications.delivery_ledger set next_attempt_at = next_attempt_at - interval 11 minute")


@pytest.mark.parametrize("quit_reply", ["421 4.3.2 Service shutting down", "500 5.5.1 Command unrecognized",
                                        "250 OK"])
def test_a_message_the_relay_took_is_sent_whatever_it_answers_to_quit(relay, quit_reply):
    relay.quit_reply = quit_reply
    write_outbox([outbox_row("vendor:q", "onetrust_vendor_issue", "email", "vendors@projectx.io")])
    counts = _deliver()
    assert len(relay.accepted) == 1
    row = ledger()[0]
    assert (row["status"], counts["sent"], counts["email_failures"]) == ("sent", 1, 0), row["error"]
    assert row["message_id"] and row["next_attempt_at"] is None
    _due_now()
    _deliver()
    assert len(relay.accepted) == 1  # never resent


def test_a_4xx_then_a_5xx_at_data_mid_batch_keep_the_4xx_in_line_dead_letter_the_5xx_and_the_rest_goes_out(relay):
    """Round 31: a 5xx is the relay's final word (RFC 5321 4.2.1): that message is failed at once with the reply and
    the fix, not resent five times; the 4xx one is resent once due (round 29 resent both)."""
    write_outbox([outbox_row(f"vendor:{n}", "onetrust_vendor_issue", "email", f"team{n}@projectx.io")
                  for n in (1, 2, 3)])
    relay.data_replies = ["451 4.3.0 Temporary failure", "554 5.7.1 Message refused by policy"]
    counts = _deliver()
    assert (counts["sent"], counts["email_failures"]) == (1, 2)
    rows = {r["notification_key"]: r for r in ledger()}
    assert [rows[f"vendor:{n}"]["status"] for n in (1, 2, 3)] == ["retrying", "failed", "sent"]
    assert "451" in rows["vendor:1"]["error"] and "554" in rows["vendor:2"]["error"]
    assert "refused the message for good" in rows["vendor:2"]["error"] and "resend --key" in rows["vendor:2"]["error"]
    _deliver()  # not due yet: nothing resent early
    assert len(relay.accepted) == 1
    _due_now()
    assert _deliver()["sent"] == 1
    to = sorted(message_from_bytes(body)["To"] for body in relay.accepted)
    assert to == ["team1@projectx.io", "team3@projectx.io"]  # each exactly once; the refused one not again
    assert [r["status"] for r in sorted(ledger(), key=lambda r: r["notification_key"])] == ["sent", "failed", "sent"]


def test_a_crash_between_the_relays_250_and_the_ledger_resends_with_the_same_message_id(relay, monkeypatch):
    write_outbox([outbox_row("vendor:c", "onetrust_vendor_issue", "email", "vendors@projectx.io")])
    real = ledger_mod.mark_done

    def crash(*args, **kwargs):
        raise KeyboardInterrupt("killed between the send and the record")

    monkeypatch.setattr(ledger_mod, "mark_done", crash)
    with pytest.raises(KeyboardInterrupt):
        _deliver()
    assert ledger()[0]["status"] == "sending" and len(relay.accepted) == 1
    monkeypatch.setattr(ledger_mod, "mark_done", real)
    _deliver()
    assert ledger()[0]["status"] == "sent"
    first, second = (message_from_bytes(body) for body in relay.accepted)
    assert first["Message-ID"] == second["Message-ID"] == ledger()[0]["message_id"]
    assert first["X-ProjectX-Delivery-Key"] == second["X-ProjectX-Delivery-Key"]
