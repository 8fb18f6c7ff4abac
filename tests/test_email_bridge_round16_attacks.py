"""The inbound e-mail bridge attacked again (round 16): Message-IDs the standard parser crashes on,
invalid base64 found only while decoding, ambiguous senders (two From headers, two mailboxes, two
Message-IDs), control characters in the envelope sender, repeated RCPT, too many connections, and
what a failure tells the sender and the log. Loopback only, each test bounded in time."""

from __future__ import annotations

import logging
import smtplib
import socket
import time
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

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


@pytest.mark.parametrize("limit", ["max_sessions", "max_sessions_per_peer"])
def test_too_many_connections_are_told_to_come_back_and_the_listener_survives(bridge, limit):
    """Past the bridge's connections (or one peer's share of them: here every test connection is one peer)
    a new one is told 421; the slots come back once the held sessions end."""
    setattr(bridge, limit, 3)
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
    logged = [r for r in caplog.records if r.name == "webhooks.email_smtp"]
    assert logged, "a refused message left no trace for the operator"
    for record in caplog.records:
        assert record.exc_info is None and "s3cr3t" not in record.getMessage()
    assert "RuntimeError" in logged[0].getMessage()
    # the failed attempt left no open transaction behind: the next message commits only its own rows
    bridge.library.ingest = type(bridge.library).ingest.__get__(bridge.library)  # type: ignore[method-assign]
    _send(bridge, HEAD + b"Subject: s\r\nMessage-ID: <fail@x>\r\n\r\nbody\r\n")
    assert len(wait_for_rows(bridge, "evidence", 1)) == 1


# -- round 16, second pass ---------------------------------------------------------------------------

def test_a_utf7_subject_the_parser_crashes_on_is_kept_with_its_raw_text(bridge):
    """CPython raises UnicodeEncodeError on an encoded word that decodes to a lone surrogate: the whole
    message was quarantined as "unparseable"; the body and files are fine, so they are kept."""
    _receive(bridge, HEAD + b"Subject: =?utf-7?Q?+2D0-?= report\r\nMessage-ID: <u7s@x>\r\n\r\nbody\r\n")
    (row,) = _rows(bridge, "evidence")
    assert row["subject"] == "=?utf-7?Q?+2D0-?= report" and _rows(bridge, "quarantine") == []


def test_a_utf7_body_with_a_lone_surrogate_is_kept_with_a_replacement_character(bridge):
    _receive(bridge, HEAD + b"Subject: s\r\nMessage-ID: <u7@x>\r\nContent-Type: text/plain; charset=utf-7\r\n\r\n"
                    b"hi +2D0- there\r\n")
    (row,) = _rows(bridge, "evidence")
    body = Path(url2pathname(urlparse(row["storage_uri"]).path)).read_bytes()
    assert body.decode("utf-8").startswith("hi ") and "there" in body.decode("utf-8")


def test_two_long_message_ids_with_one_prefix_are_two_messages(bridge):
    """The key was cut at 998 characters: two Message-IDs alike up to there collided and the second
    message was quarantined as a reused Message-ID with different content."""
    for n in (1, 2):
        message_id = b"<" + b"a" * 2000 + b"%d@x>" % n
        _receive(bridge, HEAD + b"Subject: s\r\nMessage-ID: " + message_id + b"\r\n\r\nbody %d\r\n" % n)
    rows = _rows(bridge, "evidence")
    assert len(rows) == 2 and _rows(bridge, "quarantine") == []
    assert len({r["message_key"] for r in rows}) == 2 and all(len(r["message_key"]) <= 998 for r in rows)


def test_control_characters_in_mail_from_over_smtp_are_escaped(bridge):
    bridge.start()
    with smtplib.SMTP(bridge.host, bridge.port, timeout=10) as smtp:
        smtp.ehlo()
        code, _ = smtp.docmd("MAIL FROM:<a\x00b\x1b[31m@x.example>")
        if code != 250:  # aiosmtpd refuses it at MAIL (501): nothing reaches the spool
            assert 500 <= code < 600
            return
        assert smtp.docmd(f"RCPT TO:<{INGEST}>")[0] == 250
        assert smtp.docmd("DATA")[0] == 354
        smtp.send(b"To: x\r\nSubject: no from\r\n\r\nbody\r\n.\r\n")
        assert smtp.getreply()[0] == 250
    (row,) = wait_for_rows(bridge, "quarantine", 1)
    assert "\x00" not in row[2] and "\x1b" not in row[2]


def test_message_content_never_reaches_the_log_even_at_debug(bridge, caplog):
    """aiosmtpd logs each DATA line at DEBUG ("mail.log"): a service run at DEBUG logged every body."""
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="mail.log")
    bridge.start()
    _send(bridge, HEAD + b"Subject: s\r\nMessage-ID: <log@x>\r\n\r\npassword=hunter2-secret\r\n")
    assert len(wait_for_rows(bridge, "evidence", 1)) == 1
    assert not [r for r in caplog.records if "hunter2" in r.getMessage()], "message bodies were logged"


# -- SMTP abuse, second pass -----------------------------------------------------------------------

def test_guessing_recipients_ends_the_session_and_the_listener_survives(bridge):
    """An address-harvesting sender: each unknown RCPT is 550; past the limit the session is told 421
    and closed."""
    bridge.start()
    codes = []
    with pytest.raises(smtplib.SMTPServerDisconnected), smtplib.SMTP(bridge.host, bridge.port, timeout=10) as smtp:
        smtp.ehlo()
        smtp.mail("prober@attacker.example")
        for n in range(200):
            codes.append(smtp.rcpt(f"guess{n}@projectx.io")[0])
            if codes[-1] == 421:
                smtp.noop()  # the server has hung up
    assert codes[0] == 550 and 421 in codes and len(codes) <= 60
    _send(bridge, HEAD + b"Subject: s\r\nMessage-ID: <after-probe@x>\r\n\r\nbody\r\n")
    assert len(wait_for_rows(bridge, "evidence", 1)) == 1


def test_an_idle_connection_is_closed_after_the_idle_timeout(bridge):
    bridge.idle_timeout = 1.0
    bridge.start()
    with socket.create_connection((bridge.host, bridge.port), timeout=5) as idle:
        assert idle.recv(512).startswith(b"220")
        started = time.monotonic()
        while idle.recv(512):  # "" once the server closes
            pass
        assert time.monotonic() - started < 4


def test_a_session_error_answers_a_bare_temporary_failure_and_logs_no_stack(bridge, caplog):
    """aiosmtpd's default answers "500 Error: (Type) text" and logs the stack; neither is for a sender."""

    class Broken(dict):
        def __contains__(self, key: object) -> bool:
            raise RuntimeError("vault token hvs.s3cr3t expired")

    bridge.addresses = Broken(bridge.addresses)
    bridge.start()
    caplog.set_level(logging.INFO)
    with smtplib.SMTP(bridge.host, bridge.port, timeout=10) as smtp:
        smtp.ehlo()
        smtp.mail("partner@vendor.example")
        code, text = smtp.rcpt(INGEST)
        assert code == 451 and b"s3cr3t" not in text and b"RuntimeError" not in text
        assert smtp.noop()[0] == 250  # the session goes on
    assert any("RuntimeError" in r.getMessage() for r in caplog.records if r.name.startswith("webhooks"))
    for record in caplog.records:
        assert record.exc_info is None and "s3cr3t" not in record.getMessage()


def test_an_attachment_that_decodes_to_nothing_is_quarantined_not_stored_empty(bridge):
    raw = (HEAD + b"Subject: f\r\nMessage-ID: <uu@x>\r\nMIME-Version: 1.0\r\n"
           b"Content-Type: multipart/mixed; boundary=\"B\"\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nbody\r\n"
           b"--B\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: x-uuencode\r\n"
           b"Content-Disposition: attachment; filename=report.pdf\r\n\r\nbegin 644 report.pdf\r\n garbage\r\nend\r\n"
           b"--B--\r\n")
    _receive(bridge, raw)
    _only_quarantined(bridge, "report.pdf", "decodes to nothing")


@pytest.mark.parametrize(("content_type", "boundary", "eol"), [
    (b'multipart/mixed; boundary*0="B"', b"B", b"\r\n"),  # RFC 2231 continuation
    (b"multipart/mixed; boundary*=utf-8''%42", b"B", b"\r\n"),  # RFC 2231 percent-encoded
    (b'multipart/mixed; (x) boundary = (y) "B"', b"B", b"\r\n"),  # RFC 5322 comments
    (b'multipart/mixed; boundary="\\B"', b"B", b"\r\n"),  # a quoted-pair
    (b'multipart/mixed; boundary="B"', b"B", b"\r"),  # bare CR line ends (the parser splits on them too)
])
def test_a_part_bomb_cannot_hide_its_boundary_from_the_precheck(bridge, content_type, boundary, eol):
    """The precheck counted delimiter lines of boundaries written plainly; these forms reached the parser
    (20,000 parts: 4-5 s of parsing per message, a full 25 MB one minutes) before the part limit."""
    raw = (HEAD + b"Subject: many\r\nMessage-ID: <many@x>\r\nMIME-Version: 1.0\r\nContent-Type: " + content_type +
           b"\r\n\r\n" + b"".join(b"--" + boundary + eol + b"Content-Type: text/plain" + eol + eol + b"x%d" % i + eol
                                  for i in range(20_000)) + b"--" + boundary + b"--" + eol)
    _receive(bridge, raw, budget=1.0)
    _only_quarantined(bridge, "MIME parts")


def test_a_session_kept_alive_with_noop_is_closed_at_its_lifetime(bridge):
    """The idle timeout restarts with every command: a NOOP every few minutes held a slot for ever."""
    bridge.max_session_seconds = 1.0
    bridge.start()
    started = time.monotonic()
    with pytest.raises(smtplib.SMTPServerDisconnected), smtplib.SMTP(bridge.host, bridge.port, timeout=5) as smtp:
        while time.monotonic() - started < 4:
            code = smtp.noop()[0]
            if code == 421:
                smtp.noop()
            time.sleep(0.2)
    assert time.monotonic() - started < 4


# -- who may send --------------------------------------------------------------------------------------

def test_only_allowed_senders_become_evidence_the_rest_is_quarantined_with_the_fix(tmp_path):
    """``EMAIL_BRIDGE_ALLOWED_SENDERS``: an address or a whole domain; a From or an envelope sender off the
    list is quarantined (kept, never evidence) with the variable to change; a subdomain is not the domain."""
    from webhooks.email_bridge import allowed_senders_from_env

    allowed = allowed_senders_from_env("Partner@Vendor.example; @trusted.example")
    b = EmailBridge(addresses={INGEST: "servicenow"}, spool=tmp_path / "spool.sqlite",
                    evidence_dir=tmp_path / "evidence", allowed_senders=allowed)
    try:
        def send(sender: bytes, envelope: str, mid: bytes) -> list[str]:
            raw = b"From: " + sender + b"\r\nTo: " + INGEST.encode() + b"\r\nSubject: s\r\nMessage-ID: <" + mid + \
                b">\r\n\r\nbody\r\n"
            return b.receive(raw, envelope, [INGEST])

        assert send(b"partner@vendor.example", "partner@vendor.example", b"m1@x")
        assert send(b"Anyone <anyone@TRUSTED.example>", "bounce@trusted.example", b"m2@x")
        assert send(b"mallory@evil.example", "mallory@evil.example", b"m3@x") == []
        assert send(b"partner@vendor.example", "mallory@evil.example", b"m4@x") == []  # a forged From
        assert send(b"x@sub.trusted.example", "x@sub.trusted.example", b"m5@x") == []
        assert send(b"undisclosed-recipients:;", "", b"m6@x") == []  # no sender at all: its own reason
        *reasons, nobody = [r["reason"] for r in _rows(b, "quarantine")]
        assert len(reasons) == 3 and all("EMAIL_BRIDGE_ALLOWED_SENDERS" in r for r in reasons)
        assert "no sender" in nobody
        assert "mallory@evil.example" in reasons[0] and "mallory@evil.example" in reasons[1]
        assert {r["source_email"] for r in _rows(b, "evidence")} == {"partner@vendor.example", "anyone@trusted.example"}
    finally:
        b.stop()


def test_a_malformed_allowed_senders_entry_is_refused_naming_the_variable():
    from webhooks.email_bridge import allowed_senders_from_env

    assert allowed_senders_from_env("") is None and allowed_senders_from_env(" , ") is None
    for bad in ("vendor.example", "@", "a@", "@localhost", "a@b@c.example"):
        with pytest.raises(ValueError, match="EMAIL_BRIDGE_ALLOWED_SENDERS"):
            allowed_senders_from_env(bad)
