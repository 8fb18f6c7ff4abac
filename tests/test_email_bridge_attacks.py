"""The inbound e-mail bridge attacked: MIME bombs (nesting, thousands of parts, encoded-word headers),
charset lies, hostile attachment names, lying content types, HTML with script, forwarded messages,
duplicate and colliding Message-IDs, spoofed senders, a crash mid-ingest and a slow ingest holding
the SMTP listener. Every refused message is quarantined with its reason, never dropped; all on
loopback, each test bounded in time."""

from __future__ import annotations

import hashlib
import smtplib
import socket
import threading
import time
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

import pytest

from assets.notifications.email_bridge import copy_spool
from resources.warehouse import WarehouseResource
from tests.test_email_bridge import INGEST, _library_env, _send  # noqa: F401  (autouse fixture)
from webhooks.email_bridge import EmailBridge, wait_for_rows

HEAD = b"From: partner@vendor.example\r\nTo: " + INGEST.encode() + b"\r\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 200 + b"PE\x00\x00" + b"\x00" * 400


@pytest.fixture
def bridge(tmp_path):
    b = EmailBridge(addresses={INGEST: "servicenow"}, spool=tmp_path / "spool.sqlite",
                    evidence_dir=tmp_path / "evidence")
    yield b
    b.stop()


def _rows(bridge: EmailBridge, table: str) -> list[dict]:
    cur = bridge._db.execute(f"select * from {table} order by rowid")
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


def _receive(bridge: EmailBridge, raw: bytes, budget: float = 5.0) -> list[str]:
    started = time.monotonic()
    ids = bridge.receive(raw, "partner@vendor.example", [INGEST])
    assert time.monotonic() - started < budget, "a hostile message must not hold the bridge"
    return ids


def _only_quarantined(bridge: EmailBridge, *words: str) -> dict:
    (row,) = _rows(bridge, "quarantine")
    for word in words:
        assert word in row["reason"]
    assert Path(url2pathname(urlparse(row["storage_uri"]).path)).exists()  # the raw message kept for review
    assert _rows(bridge, "evidence") == []
    return row


def _with_attachment(disposition: bytes, message_id: bytes, data: bytes = b"DATA",
                     ctype: bytes = b"application/octet-stream") -> bytes:
    return (HEAD + b"Subject: files\r\nMessage-ID: <" + message_id + b">\r\nMIME-Version: 1.0\r\n"
            b"Content-Type: multipart/mixed; boundary=\"B\"\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nbody\r\n"
            b"--B\r\nContent-Type: " + ctype + b"\r\nContent-Disposition: attachment; " + disposition +
            b"\r\n\r\n" + data + b"\r\n--B--\r\n")


# -- MIME bombs ------------------------------------------------------------------------------------

@pytest.mark.parametrize("depth", [40, 3000])
def test_a_nesting_bomb_is_quarantined_as_too_deep(bridge, depth):
    raw = HEAD + b"Subject: nest\r\nMessage-ID: <nest@x>\r\n"
    for i in range(depth):
        raw += b"Content-Type: multipart/mixed; boundary=\"b%d\"\r\n\r\n--b%d\r\n" % (i, i)
    raw += b"Content-Type: text/plain\r\n\r\nhello\r\n" + b"".join(b"--b%d--\r\n" % i for i in reversed(range(depth)))
    _receive(bridge, raw)
    row = _only_quarantined(bridge)
    assert "nested" in row["reason"] or "multipart containers" in row["reason"]


@pytest.mark.parametrize("parts", [1000, 200_000])
def test_thousands_of_parts_are_quarantined_not_stored_one_by_one(bridge, parts):
    raw = (HEAD + b"Subject: many\r\nMessage-ID: <many@x>\r\nMIME-Version: 1.0\r\n"
           b"Content-Type: multipart/mixed; boundary=\"B\"\r\n\r\n" +
           b"".join(b"--B\r\nContent-Type: text/plain\r\n\r\nx%d\r\n" % i for i in range(parts)) + b"--B--\r\n")
    _receive(bridge, raw)
    _only_quarantined(bridge, "MIME parts", "split")


def test_an_encoded_word_bomb_in_a_header_is_quarantined_quickly(bridge):
    bomb = b" ".join([b"=?utf-8?q?a?="] * 50_000)  # 700 kB: 49 s of header parsing before the limit
    _receive(bridge, HEAD + b"Subject: " + bomb + b"\r\nMessage-ID: <ew@x>\r\n\r\nhello\r\n")
    _only_quarantined(bridge, "header")


def test_an_encoded_word_bomb_in_an_attachment_name_is_quarantined_quickly(bridge):
    bomb = b"\r\n ".join([b"filename*%d*=utf-8''a" % i for i in range(40_000)])
    _receive(bridge, _with_attachment(bomb, b"ew-part@x"))
    _only_quarantined(bridge, "header")


# -- charsets --------------------------------------------------------------------------------------

def test_an_unknown_charset_is_quarantined_with_its_reason(bridge):
    _receive(bridge, HEAD + b"Subject: cs\r\nMessage-ID: <cs@x>\r\nContent-Type: text/plain; charset=x-klingon\r\n"
                    b"\r\nhello\r\n")
    _only_quarantined(bridge, "LookupError")


def test_utf8_with_invalid_bytes_is_kept_with_replacement_characters(bridge):
    _receive(bridge, HEAD + b"Subject: caf\xe9 =?utf-8?q?a=00b?=\r\nMessage-ID: <u8@x>\r\n"
                    b"Content-Type: text/plain; charset=utf-8\r\n\r\nbad \xff\xfe bytes\r\n")
    (row,) = _rows(bridge, "evidence")
    assert "\x00" not in row["subject"] and "\x00" not in row["title"]  # PostgreSQL refuses NUL in text
    body = Path(url2pathname(urlparse(row["storage_uri"]).path)).read_bytes()
    assert body.decode("utf-8").rstrip() == "bad \ufffd\ufffd bytes"


# -- hostile names and types -----------------------------------------------------------------------

@pytest.mark.parametrize(("disposition", "expected"), [
    (b"filename*=utf-8''..%2F..%2Fetc%2Fpasswd", "passwd"),
    (b"filename=\"..\\\\..\\\\windows\\\\win.ini\"", "win.ini"),
    (b"filename*=utf-8''a%00b%0d%0aX-Evil%3a1.txt", "a\\x00b\\x0d\\x0aX-Evil:1.txt"),
    (b"filename*=utf-8''invoice%E2%80%AEfdp.exe", "invoice\\u202efdp.exe"),
    (b"filename*=utf-8''..%2F", "attachment"),
])
def test_attachment_names_are_reduced_to_a_plain_name(bridge, tmp_path, disposition, expected, duckdb_warehouse):
    _receive(bridge, _with_attachment(disposition, hashlib.sha256(disposition).hexdigest().encode()))
    attachment = [r for r in _rows(bridge, "evidence") if r["evidence_type"] == "email_attachment"]
    assert [r["title"] for r in attachment] == [expected]
    assert not list(tmp_path.parent.glob("**/passwd")) and not list(tmp_path.parent.glob("**/win.ini"))
    with WarehouseResource.from_env().connect() as conn:
        assert copy_spool(conn, bridge._db)["evidence"] == 2


def test_a_very_long_attachment_name_is_capped_and_keeps_its_extension(bridge):
    _receive(bridge, _with_attachment(b"filename=\"" + b"a" * 100_000 + b".pdf\"", b"long@x"))
    (attachment,) = [r for r in _rows(bridge, "evidence") if r["evidence_type"] == "email_attachment"]
    assert len(attachment["title"]) <= 255 and attachment["title"].endswith(".pdf")


def test_an_executable_named_pdf_is_held_and_types_come_from_the_bytes(bridge):
    msg = EmailMessage()
    msg["From"], msg["Subject"], msg["Message-ID"] = "partner@vendor.example", "invoice", "<exe@x>"
    msg.set_content("see attached")
    msg.add_attachment(EXE, maintype="application", subtype="pdf", filename="invoice.pdf")
    msg.add_attachment(b"plain words, not a picture", maintype="image", subtype="png", filename="chart.png")
    _receive(bridge, msg.as_bytes())
    (held,) = _rows(bridge, "quarantine")
    assert "invoice.pdf" in held["reason"] and "application/x-msdownload" in held["reason"]
    stored = {r["title"]: r["content_type"] for r in _rows(bridge, "evidence")}
    assert "invoice.pdf" not in stored
    assert stored["chart.png"] == "text/plain"  # what the bytes are, not what the sender declared


def test_an_html_body_with_script_is_stored_as_data_never_as_html(bridge):
    html = "<html><body><script>alert(1)</script><img src=x onerror=alert(2)></body></html>"
    msg = EmailMessage()
    msg["From"], msg["Subject"], msg["Message-ID"] = "partner@vendor.example", "html", "<html@x>"
    msg.set_content(html, subtype="html")
    _receive(bridge, msg.as_bytes())
    (row,) = _rows(bridge, "evidence")
    assert Path(url2pathname(urlparse(row["storage_uri"]).path)).read_text() == html + "\n"  # verbatim data
    assert row["content_type"] != "text/html"  # nothing downstream renders it as a page


def test_a_forwarded_message_is_kept_whole_not_as_an_empty_file(bridge):
    inner = EmailMessage()
    inner["From"], inner["Subject"] = "auditor@partner.example", "Access review sign-off"
    inner.set_content("I approve the Q1 access review.")
    msg = EmailMessage()
    msg["From"], msg["Subject"], msg["Message-ID"] = "partner@vendor.example", "fwd", "<fwd@x>"
    msg.set_content("forwarding the sign-off")
    msg.add_attachment(inner)
    _receive(bridge, msg.as_bytes())
    (attachment,) = [r for r in _rows(bridge, "evidence") if r["evidence_type"] == "email_attachment"]
    kept = Path(url2pathname(urlparse(attachment["storage_uri"]).path)).read_bytes()
    assert attachment["size_bytes"] > 0 and b"I approve the Q1 access review." in kept
    assert attachment["title"].endswith(".eml") and attachment["content_type"] == "message/rfc822"


# -- duplicates, spoofing, crashes -----------------------------------------------------------------

def _review(body: str, message_id: str = "<dup@partner.example>") -> bytes:
    msg = EmailMessage()
    msg["From"], msg["Subject"], msg["Message-ID"] = "auditor@partner.example", "review", message_id
    msg.set_content(body)
    msg.add_attachment(body.encode() * 3, maintype="text", subtype="csv", filename="export.csv")
    return msg.as_bytes()


def test_the_same_message_twice_is_stored_once_and_a_different_one_under_its_id_is_quarantined(bridge):
    _receive(bridge, _review("the real review"))
    _receive(bridge, b"Received: from relay2.example\r\n" + _review("the real review"))  # a retry via another hop
    first = _rows(bridge, "evidence")
    assert len(first) == 2 and _rows(bridge, "quarantine") == []
    _receive(bridge, _review("a forged review"))
    assert _rows(bridge, "evidence") == first  # the first copy stands, not overwritten
    (held,) = _rows(bridge, "quarantine")
    assert "<dup@partner.example>" in held["reason"] and "different content" in held["reason"]
    assert b"a forged review" in Path(url2pathname(urlparse(held["storage_uri"]).path)).read_bytes()


def test_a_message_without_message_id_resent_through_another_relay_is_stored_once(bridge):
    def plain(body: str, date: str = "Thu, 03 Dec 2026 09:00:00 +0000") -> bytes:
        raw = _review(body)
        return raw.replace(b"Message-ID: <dup@partner.example>\n", f"Date: {date}\n".encode())

    assert b"Message-ID" not in plain("q4 review")
    _receive(bridge, plain("q4 review"))
    _receive(bridge, b"Received: from relay2.example by mx.projectx\r\n" + plain("q4 review"))
    first = _rows(bridge, "evidence")
    assert len(first) == 2 and first[0]["message_key"].startswith("content:")
    _receive(bridge, plain("q4 review", date="Fri, 04 Dec 2026 09:00:00 +0000"))  # the same text sent again later
    _receive(bridge, plain("q1 review"))  # other content, same Date
    assert len(_rows(bridge, "evidence")) == 6 and _rows(bridge, "quarantine") == []
    undated = plain("weekly report").replace(b"Date: Thu, 03 Dec 2026 09:00:00 +0000\n", b"")
    assert b"Date:" not in undated
    _receive(bridge, undated)
    _receive(bridge, b"Received: from cron.vendor.example\r\n" + undated)  # next week's identical report
    assert len(_rows(bridge, "evidence")) == 10  # without a Date, two deliveries are two messages


def test_a_spoofed_from_is_recorded_beside_the_envelope_sender(bridge):
    bridge.receive(_review("spoof", "<spoof@x>"), "mallory@attacker.example", [INGEST])
    for row in _rows(bridge, "evidence"):
        assert row["source_email"] == "auditor@partner.example"
        assert "envelope_from:mallory@attacker.example" in row["tags"].split(",")
    bridge.receive(_review("honest", "<honest@x>"), "auditor@partner.example", [INGEST])
    honest = [r for r in _rows(bridge, "evidence") if r["message_key"] == "<honest@x>"]
    assert honest and all("envelope_from:" not in r["tags"] for r in honest)


def test_a_crash_mid_ingest_loses_nothing_and_duplicates_nothing_on_rerun(tmp_path):
    spool = tmp_path / "spool.sqlite"
    first = EmailBridge(addresses={INGEST: "servicenow"}, spool=spool, evidence_dir=tmp_path / "evidence")
    real = first.library.ingest
    calls = []

    def crash_on_second(*args, **kwargs):
        calls.append(args[1])
        if len(calls) == 2:
            raise KeyboardInterrupt("the process dies here")
        return real(*args, **kwargs)

    first.library.ingest = crash_on_second  # type: ignore[method-assign]
    with pytest.raises(KeyboardInterrupt):
        first.receive(_review("crash"), "auditor@partner.example", [INGEST])
    first._db.rollback()  # what dying does to the open transaction
    first._lock = threading.Lock()
    first.stop()
    again = EmailBridge(addresses={INGEST: "servicenow"}, spool=spool, evidence_dir=tmp_path / "evidence")
    try:
        again.receive(_review("crash"), "auditor@partner.example", [INGEST])
        again.receive(_review("crash"), "auditor@partner.example", [INGEST])
        rows = _rows(again, "evidence")
        assert sorted(r["evidence_type"] for r in rows) == ["email_attachment", "email_body"]
        assert _rows(again, "quarantine") == []
    finally:
        again.stop()


# -- the SMTP listener -----------------------------------------------------------------------------

def test_a_slow_ingest_does_not_hold_other_smtp_sessions(tmp_path):
    bridge = EmailBridge(addresses={INGEST: "servicenow"}, spool=tmp_path / "spool.sqlite",
                         evidence_dir=tmp_path / "evidence").start()
    real, entered = bridge.library.ingest, threading.Event()

    def slow(*args, **kwargs):
        entered.set()
        time.sleep(2)
        return real(*args, **kwargs)

    bridge.library.ingest = slow  # type: ignore[method-assign]
    sender = threading.Thread(target=_send, args=(bridge, _review("slow", "<slow@x>")))
    sender.start()
    try:
        assert entered.wait(5)
        started = time.monotonic()
        with smtplib.SMTP(bridge.host, bridge.port, timeout=5) as other:
            assert other.noop()[0] == 250
        assert time.monotonic() - started < 1.0, "one message's ingest blocked every other connection"
    finally:
        sender.join(15)
        bridge.stop()


def test_an_oversize_message_is_refused_with_its_reason_and_nothing_is_half_stored(bridge):
    bridge.start()
    with pytest.raises(smtplib.SMTPException) as refused:
        _send(bridge, HEAD + b"Subject: big\r\n\r\n" + b"x" * (26 * 1024 * 1024))
    assert getattr(refused.value, "smtp_code", None) == 552 or isinstance(refused.value,
                                                                          smtplib.SMTPServerDisconnected)
    with socket.create_connection((bridge.host, bridge.port), timeout=5):
        pass  # still listening
    assert wait_for_rows(bridge, "evidence", 1, timeout=0.2) == []
    assert not (bridge.evidence_dir / "email-quarantine").exists()
