"""The inbound e-mail bridge attacked again (round 17): a flood of junk that would fill the quarantine
(per peer, per envelope sender, in all) and a forger pre-empting a partner's Message-ID. Over the real
SMTP listener on loopback, with small limits and an injected clock (no sleeping); each test bounded."""

from __future__ import annotations

import logging
import smtplib
import time

import pytest

from tests.test_email_bridge import INGEST, _library_env  # noqa: F401  (autouse fixture)
from tests.test_email_bridge_attacks import _review, _rows
from webhooks.email_bridge import EmailBridge
from webhooks.email_limits import QuarantineLimits, scoped_key

AUDITOR = "auditor@partner.example"
ALLOWED = frozenset({AUDITOR, "@vendor.example"})
START = 1_800_000_000.0


class Clock:
    def __init__(self) -> None:
        self.t = START

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock():
    return Clock()


def _bridge(tmp_path, clock, **limits) -> EmailBridge:
    limits = {"per_window": 3, "bytes_per_window": 1 << 20, "max_bytes": 10 << 20, **limits}
    return EmailBridge(addresses={INGEST: "servicenow"}, spool=tmp_path / "spool.sqlite",
                       evidence_dir=tmp_path / "evidence", allowed_senders=ALLOWED,
                       quarantine_limits=QuarantineLimits(clock=clock, **limits)).start()


@pytest.fixture
def bridge(tmp_path, clock):
    b = _bridge(tmp_path, clock)
    yield b
    b.stop()


def _smtp(bridge: EmailBridge, raw: bytes, sender: str, source: str = "127.0.0.1") -> tuple[int, str]:
    """(code, text) of the answer to DATA."""
    started = time.monotonic()
    with smtplib.SMTP(bridge.host, bridge.port, timeout=10, source_address=(source, 0)) as smtp:
        try:
            smtp.sendmail(sender, [INGEST], raw)
            code, text = 250, ""
        except smtplib.SMTPDataError as exc:
            code, text = exc.smtp_code, exc.smtp_error.decode()
    assert time.monotonic() - started < 5, "the bridge must answer promptly"
    return code, text


def _junk(i: int, size: int = 0) -> bytes:
    lines = (b"j" * 98 + b"\r\n") * (size // 100)  # about size bytes, in lines SMTP allows
    return b"To: x\r\nSubject: junk %d\r\n\r\n" % i + lines + b"\r\n"  # no From: quarantined


def _count(bridge: EmailBridge, table: str) -> int:
    with bridge._lock:
        return bridge._db.execute(f"select count(*) from {table}").fetchone()[0]


# -- the quarantine flood ----------------------------------------------------------------------------

def test_a_flood_from_one_peer_gets_450_and_the_quarantine_stops_growing(bridge, caplog):
    caplog.set_level(logging.WARNING, "webhooks.email_limits")
    codes = [_smtp(bridge, _junk(i), f"bot{i}@spam.example") for i in range(8)]  # a new sender each time
    assert [c for c, _ in codes] == [250] * 3 + [450] * 5
    text = codes[-1][1]
    assert "4.7.1" in text and "this peer" in text and "try again after" in text and "UTC" in text
    assert _count(bridge, "quarantine") == 3  # nothing stored past the bound
    assert bridge.quarantine_limits.refused["peer"] == 5
    warnings = [r for r in caplog.records if "refused with 450" in r.getMessage()]
    assert len(warnings) == 1  # once per window per peer, not once per message


def test_an_allowed_senders_evidence_goes_through_during_the_flood(bridge):
    for i in range(5):
        _smtp(bridge, _junk(i), "bot@spam.example")
    assert _smtp(bridge, _junk(99), "bot@spam.example")[0] == 450
    assert _smtp(bridge, _review("the real review", "<q1@partner.example>"), AUDITOR) == (250, "")
    assert len(_rows(bridge, "evidence")) == 2  # body and attachment


def test_the_window_rolls_over_on_the_clock(bridge, clock):
    for i in range(3):
        assert _smtp(bridge, _junk(i), f"bot{i}@spam.example")[0] == 250
    assert _smtp(bridge, _junk(3), "bot3@spam.example")[0] == 450
    clock.t += 3599
    assert _smtp(bridge, _junk(4), "bot4@spam.example")[0] == 450  # still inside the hour
    clock.t += 2
    assert _smtp(bridge, _junk(5), "bot5@spam.example")[0] == 250
    assert _count(bridge, "quarantine") == 4


def test_one_envelope_sender_from_many_peers_is_bounded_too(bridge):
    codes = [_smtp(bridge, _junk(i), "bot@spam.example", source=f"127.0.0.{i + 2}")[0] for i in range(5)]
    assert codes == [250] * 3 + [450] * 2
    assert bridge.quarantine_limits.refused["sender"] == 2 and _count(bridge, "quarantine") == 3


def test_the_byte_bound_per_window_refuses_a_large_junk_flood(tmp_path, clock):
    b = _bridge(tmp_path, clock, per_window=100, bytes_per_window=50_000)
    try:
        codes = [_smtp(b, _junk(i, 20_000), f"bot{i}@spam.example")[0] for i in range(4)]
        assert codes == [250, 250, 450, 450]
    finally:
        b.stop()


def test_past_the_total_the_rejected_mail_gets_452_and_evidence_still_goes_through(tmp_path, clock):
    b = _bridge(tmp_path, clock, per_window=100, max_bytes=30_000)
    try:
        assert _smtp(b, _junk(1, 20_000), "a@spam.example", "127.0.0.2")[0] == 250
        code, text = _smtp(b, _junk(2, 20_000), "b@spam.example", "127.0.0.3")
        assert code == 452 and "4.3.1" in text and "EMAIL_BRIDGE_QUARANTINE_MAX_MB" in text
        assert _count(b, "quarantine") == 1 and b.quarantine_limits.refused["full"] == 1
        assert _smtp(b, _review("evidence", "<full@partner.example>"), AUDITOR)[0] == 250
        with b._lock:  # reviewed rows deleted: room again once the total is read again
            b._db.execute("delete from quarantine")
            b._db.commit()
        clock.t += 61
        assert _smtp(b, _junk(3, 20_000), "c@spam.example", "127.0.0.4")[0] == 250
    finally:
        b.stop()


def test_quarantine_rows_from_before_the_limits_count_toward_the_total(tmp_path, clock):
    b = _bridge(tmp_path, clock, max_bytes=1 << 30)
    _smtp(b, _junk(1, 20_000), "a@spam.example")
    with b._lock:
        b._db.execute("delete from quarantine_sizes")  # a spool written before the limits
        b._db.commit()
    b.stop()
    again = _bridge(tmp_path, clock, per_window=100, max_bytes=30_000)
    try:
        assert _smtp(again, _junk(2, 20_000), "b@spam.example", "127.0.0.3")[0] == 452
    finally:
        again.stop()


# -- Message-ID pre-emption --------------------------------------------------------------------------

def test_a_forged_message_id_from_another_sender_does_not_block_the_partner(bridge):
    forged = _review("a forged review", "<q2@partner.example>").replace(AUDITOR.encode(), b"intern@vendor.example")
    assert _smtp(bridge, forged, "intern@vendor.example")[0] == 250  # allowed, so stored as its own message
    assert _smtp(bridge, _review("the real review", "<q2@partner.example>"), AUDITOR)[0] == 250
    rows = _rows(bridge, "evidence")
    assert len(rows) == 4 and _rows(bridge, "quarantine") == []
    assert {r["source_email"] for r in rows} == {"intern@vendor.example", AUDITOR}
    assert len({r["evidence_id"] for r in rows}) == 4


def test_a_forger_not_on_the_list_is_quarantined_for_that_alone(bridge):
    forged = _review("a forged review", "<q3@partner.example>").replace(AUDITOR.encode(), b"mallory@evil.example")
    _smtp(bridge, forged, "mallory@evil.example")
    assert _smtp(bridge, _review("the real review", "<q3@partner.example>"), AUDITOR)[0] == 250
    (held,) = _rows(bridge, "quarantine")
    assert "EMAIL_BRIDGE_ALLOWED_SENDERS" in held["reason"]
    assert {r["source_email"] for r in _rows(bridge, "evidence")} == {AUDITOR}


def test_the_same_senders_retry_dedupes_and_a_different_content_is_held(bridge):
    _smtp(bridge, _review("the real review"), AUDITOR)
    _smtp(bridge, b"Received: from relay2.example\r\n" + _review("the real review"), AUDITOR)
    first = _rows(bridge, "evidence")
    assert len(first) == 2 and _rows(bridge, "quarantine") == []
    assert _smtp(bridge, _review("changed"), AUDITOR)[0] == 250
    assert _rows(bridge, "evidence") == first
    (held,) = _rows(bridge, "quarantine")
    assert "different content" in held["reason"]
    with bridge._lock:
        (key,) = bridge._db.execute("select message_key from messages").fetchone()
    assert key == scoped_key(AUDITOR, "<dup@partner.example>")


def test_an_old_format_key_still_dedupes_the_same_senders_retry(bridge, monkeypatch):
    with monkeypatch.context() as m:  # written as before: the bare Message-ID is the key and the id seed
        m.setattr("webhooks.email_limits.scoped_key", lambda sender, message_id: message_id)
        _smtp(bridge, _review("the real review"), AUDITOR)
    with bridge._lock:
        assert bridge._db.execute("select message_key from messages").fetchall() == [("<dup@partner.example>",)]
    first = _rows(bridge, "evidence")
    _smtp(bridge, b"Received: from relay2.example\r\n" + _review("the real review"), AUDITOR)
    assert _rows(bridge, "evidence") == first and _rows(bridge, "quarantine") == []
    assert _count(bridge, "messages") == 1  # the old row served: no second claim
    _smtp(bridge, _review("changed"), AUDITOR)  # same sender, different content: held as before
    assert "different content" in _rows(bridge, "quarantine")[0]["reason"]
    other = _review("another sender", "<dup@partner.example>").replace(AUDITOR.encode(), b"ops@vendor.example")
    assert _smtp(bridge, other, "ops@vendor.example")[0] == 250  # another sender: its own message
    assert len(_rows(bridge, "evidence")) == 4 and len(_rows(bridge, "quarantine")) == 1
