"""The inbound e-mail bridge attacked again (round 16): Message-IDs the standard parser crashes on,
invalid base64 found only while decoding, ambiguous senders (two From headers, two mailboxes, two
Message-IDs), control characters in the envelope sender, repeated RCPT, too many connections, and
what a failure tells the sender and the log. Loopback only, each test bounded in time."""

from __future__ import annotations

import logging
import smtplib
import socket
import time

import pytest

from tests.test_email_bridge import INGEST, _library_env, _send  # noqa: F401  (autouse fixture)
from tests.test_email_bridge_attacks import HEAD, _only_quarantined, _receive, _rows
from webhooks.email_bridge import EmailBridge, wait_for_rows


@pytest.fixture
def bridge(tmp_path):
    b = EmailBridge(addresses={INGEST: "servicenow"}, spool=tmp_path / "spool.sqlite",
                    evidence_dir=tmp_path / "evidence")
    yield b
    b.stop()


# -- headers the standard parser cannot read ---------------------------------------------------------

@pytest.mark.parametrize("message_id", [b"<@>", b"<", b"<a@[>"])
def test_a_message_id_the_parser_crashes_on_is_kept_not_refused_forever(bridge, message_id):
    """CPython's Message-ID parser raises IndexError/AttributeError on these: the bridge used to answer
    451 for ever (the sender retries until it bounces: silent loss). Now the raw header is the key."""
    raw = HEAD + b"Subject: s\r\nMessage-ID: " + message_id + b"\r\n\r\nbody\r\n"
    _receive(bridge, raw)
    (row,) = _rows(bridge, "evidence")
    assert row["message_key"] == message_id.decode()
    _receive(bridge, raw)  # a retry is the same message
    assert len(_rows(bridge, "evidence")) == 1 and _rows(bridge, "quarantine") == []


# -- transfer encodings ------------------------------------------------------------------------------

def test_invalid_base64_in_an_attachment_is_quarantined_not_stored_as_garbage(bridge):
    raw = (HEAD + b"Subject: f\r\nMessage-ID: <b64@x>\r\nMIME-Version: 1.0\r\n"
           b"Content-Type: multipart/mixed; boundary=\"B\"\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nbody\r\n"
           b"--B\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n"
           b"Content-Disposition: attachment; filename=a.pdf\r\n\r\nQU!!JD===\r\n%%%%\r\n--B--\r\n")
    _receive(bridge, raw)
    _only_quarantined(bridge, "malformed MIME", "InvalidBase64")


def test_an_invalid_base64_body_is_quarantined(bridge):
    _receive(bridge, HEAD + b"Subject: s\r\nMessage-ID: <bb@x>\r\nContent-Type: text/plain\r\n"
                    b"Content-Transfer-Encoding: base64\r\n\r\naGVsbG8gd29ybGQ!!*\r\n")
    _only_quarantined(bridge, "malformed MIME", "InvalidBase64")


# -- who sent it -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("headers", "word"), [
    (b"From: auditor@partner.example\r\nFrom: mallory@evil.example\r\n", "From"),
    (b"From: auditor@partner.example, mallory@evil.example\r\n", "From"),
    (b"From: auditor@partner.example\r\nMessage-ID: <a@x>\r\nMessage-ID: <b@x>\r\n", "Message-ID"),
])
def test_an_ambiguous_sender_or_message_id_is_quarantined_not_guessed(bridge, headers, word):
    """RFC 5322 3.6: one From, one Message-ID. The bridge used to take the first From, so a forger could
    put a partner's address first; the first Message-ID, so a retry could dodge the duplicate check."""
    _receive(bridge, headers + b"Subject: s\r\n\r\nbody\r\n")
    row = _only_quarantined(bridge, word)
    assert "\x00" not in row["reason"]


def test_control_characters_in_the_envelope_sender_never_reach_the_spool(bridge):
    bridge.receive(b"To: x\r\nSubject: no from\r\n\r\nbody\r\n", "a\x00b\r\nX-Evil: 1@x", [INGEST])
    (row,) = _rows(bridge, "quarantine")
    assert "\x00" not in row["source_email"] and "\r" not in row["source_email"]
    assert row["source_email"] == "a\\x00b\\x0d\\x0ax-evil: 1@x"


# -- SMTP ------------------------------------------------------------------------------------------

def test_repeated_rcpt_of_one_address_ingests_the_message_once(bridge):
    bridge.start()
    calls = []
    real = bridge.library.ingest

    def counting(*args, **kwargs):
        calls.append(args[1])
        return real(*args, **kwargs)

    bridge.library.ingest = counting  # type: ignore[method-assign]
    raw = HEAD + b"Subject: s\r\nMessage-ID: <rcpt@x>\r\n\r\nbody\r\n"
    with smtplib.SMTP(bridge.host, bridge.port, timeout=10) as smtp:
        smtp.sendmail("partner@vendor.example", [INGEST] * 50 + [INGEST.upper()] * 50, raw)
    assert len(wait_for_rows(bridge, "evidence", 1)) == 1
    assert calls == ["s"], "each repeated RCPT made the library scan and store the message again"


def test_too_many_connections_are_told_to_come_back_and_the_listener_survives(bridge):
    bridge.max_sessions = 3
    bridge.start()
    held = [socket.create_connection((bridge.host, bridge.port), timeout=5) for _ in range(3)]
    try:
        for s in held:
            assert s.recv(512).startswith(b"220")
        with socket.create_connection((bridge.host, bridge.port), timeout=5) as extra:
            assert extra.recv(512).startswith(b"421")
    finally:
        for s in held:
            s.close()
    deadline = time.monotonic() + 5
    while True:  # the slots come back once those sessions end
        try:
            _send(bridge, HEAD + b"Subject: s\r\nMessage-ID: <after@x>\r\n\r\nbody\r\n")
            break
        except smtplib.SMTPConnectError:
            assert time.monotonic() < deadline
            time.sleep(0.1)
    assert len(wait_for_rows(bridge, "evidence", 1)) == 1


def test_a_failure_answers_451_and_logs_no_stack_trace_or_detail_to_the_sender(bridge, caplog):
    bridge.start()

    def broken(*args, **kwargs):
        raise RuntimeError("store https://key:s3cr3t@store.example refused")

    bridge.library.ingest = broken  # type: ignore[method-assign]
    caplog.set_level(logging.DEBUG)
    with pytest.raises(smtplib.SMTPDataError) as refused:
        _send(bridge, HEAD + b"Subject: s\r\nMessage-ID: <fail@x>\r\n\r\nbody\r\n")
    assert refused.value.smtp_code == 451 and b"s3cr3t" not in refused.value.smtp_error
    logged = [r for r in caplog.records if r.name.startswith("webhooks")]
    assert logged, "a refused message left no trace for the operator"
    for record in caplog.records:
        assert record.exc_info is None and "s3cr3t" not in record.getMessage()
    assert "RuntimeError" in logged[0].getMessage()
    # the failed attempt left no open transaction behind: the next message commits only its own rows
    bridge.library.ingest = type(bridge.library).ingest.__get__(bridge.library)  # type: ignore[method-assign]
    _send(bridge, HEAD + b"Subject: s\r\nMessage-ID: <fail@x>\r\n\r\nbody\r\n")
    assert len(wait_for_rows(bridge, "evidence", 1)) == 1
