"""Round 29: slow bodies from a few addresses, over loopback against the real uvicorn server (``LiveReceiver``),
senders told apart by their loopback source address (127.0.0.2, .3, ...).

Found and fixed:

- the in-flight cap (``max_in_flight``, 512) bounded the memory slow bodies hold, but not who holds it: a few
  addresses trickling bodies (eight at 64 each; eight IPv6 /64s are one /56) took every slot, and every
  vendor delivery was answered 503 for as long as they kept it up (each body held its slot up to
  ``body_timeout_seconds``, then was sent again). Now a newcomer takes the slot of the heaviest sender's
  oldest body still arriving after ``CUT_AFTER_SECONDS`` (5 s, or half the body timeout), if that sender holds
  more than the newcomer's: that body is answered 408 and its connection closed (counted as
  ``webhook_failures_total{reason="slow_body_cut"}``); a body younger than that is never cut
  (``webhooks/receiver/limits.py``, ``InFlight``; ``webhooks/receiver/app.py``);
- uvicorn logged a warning for every request its parser refused, and two for every request with an ``Upgrade``
  header on h11: anyone wrote log lines as fast as they sent requests (40 malformed requests, 40 lines). Each
  such warning is logged at most 10 times a minute now, and the first after a quiet spell says how many were
  left out (``webhooks/receiver/protocol_base.py``, ``_QuietWarnings``).
"""

from __future__ import annotations

import contextlib
import logging
import socket
import time

import pytest

from tests.webhook_helpers import (
    GENERIC,
    LiveReceiver,
    generic_body,
    generic_request,
    inbox_rows,
    metric,
    settings_for,
)
from webhooks.app import create_app
from webhooks.receiver import protocol_base
from webhooks.receiver import server as bounded
from webhooks.receiver.limits import InFlight

BODY_TIMEOUT = 4.0  # slow bodies may be cut after half of it


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_in_flight_cuts_only_the_heaviest_senders_oldest_body_old_enough():
    clock, cuts = Clock(), []
    flight = InFlight(per_sender=3, total=4, cut_after=5.0, clock=clock)

    def cutter(name):
        return lambda: cuts.append(name)

    a1, a2, a3, b1 = cutter("a1"), cutter("a2"), cutter("a3"), cutter("b1")
    for key, cut in (("a", a1), ("a", a2), ("b", b1)):
        assert flight.enter(key, cut) is None
        clock.now += 1
    assert flight.enter("a", a3) is None and flight.count == 4
    assert flight.enter("c", cutter("c1")) == "total" and cuts == []  # all younger than 5 s: nothing cut
    clock.now += 3  # a1 is 6 s old, a2 5 s, b1 4 s
    assert flight.enter("a", cutter("a4")) == "sender"  # a sender at its own cap takes nothing
    assert flight.enter("b", cutter("b2")) is None and cuts == ["a1"]  # b holds 1 < a's 3: a's oldest goes
    assert flight.count == 4
    flight.leave("a", a1)  # the cut request ends later: it is no longer counted
    assert flight.count == 4
    assert flight.enter("b", cutter("b3")) == "total"  # b holds 2 = a's 2: no cut to even it out
    clock.now += 10
    c2 = cutter("c2")
    assert flight.enter("c", c2) is None and cuts == ["a1", "a2"]
    assert flight.enter("d") is None and cuts == ["a1", "a2", "b1"]  # a and b at 2: the oldest of them
    for key, cut in (("a", a3), ("c", c2), ("d", None), ("c", None)):
        flight.leave(key, cut)
    assert flight.count == 1  # b's second body
    uncuttable = InFlight(per_sender=3, total=1, cut_after=0.0, clock=clock)
    assert uncuttable.enter("a") is None and uncuttable.enter("b") == "total"  # no cut given: never cut
    uncuttable.leave("a")
    assert uncuttable.count == 0 and uncuttable.enter("b") is None


@pytest.fixture
def live(tmp_path):
    settings = settings_for(tmp_path, max_in_flight=6, max_in_flight_per_sender=3, failure_burst=1000,
                            body_timeout_seconds=BODY_TIMEOUT)
    app = create_app(settings)
    with LiveReceiver(app) as served:
        host, port = served.url.removeprefix("http://").split(":")
        yield settings, (host, int(port)), app.state.receiver.limits.in_flight


def slow(address, source: str) -> socket.socket:
    """A connection from ``source`` sending a head and part of its body (declared 100 bytes, 2 sent)."""
    conn = socket.create_connection(address, timeout=6, source_address=(source, 0))
    conn.sendall(f"POST {GENERIC} HTTP/1.1\r\nhost: r\r\ncontent-type: application/json\r\n"
                 "content-length: 100\r\n\r\n{\"".encode())
    return conn


def until(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the receiver did not get there in time"
        time.sleep(0.02)


def deliver(address, source: str, msg_id: str) -> bytes:
    kw = generic_request(generic_body(), msg_id)
    body = kw["content"]
    lines = "".join(f"{k}: {v}\r\n" for k, v in {**kw["headers"], "content-length": len(body),
                                                 "connection": "close"}.items())
    answer = b""
    with socket.create_connection(address, timeout=6, source_address=(source, 0)) as conn:
        conn.sendall(f"POST {GENERIC} HTTP/1.1\r\nhost: r\r\n{lines}\r\n".encode() + body)
        with contextlib.suppress(TimeoutError, ConnectionResetError):
            while chunk := conn.recv(65536):
                answer += chunk
    return answer


def test_a_vendor_gets_a_slot_held_by_a_slow_flood_from_a_few_addresses(live):
    """Two addresses fill every in-flight slot with bodies that never finish: a vendor at a third address was
    answered 503 until they stopped. Once those bodies have been arriving for half the body timeout, the
    vendor's delivery takes the slot of the oldest and is stored; that body is answered 408 and closed."""
    settings, address, flight = live
    held = [slow(address, src) for src in ("127.0.0.2", "127.0.0.3") for _ in range(3)]
    try:
        until(lambda: flight.count == 6)
        young = deliver(address, "127.0.0.4", "r29-vendor-young")
        assert young.startswith(b"HTTP/1.1 503 "), young[:200]  # bodies 0 s old are not cut
        cut_before = metric("webhook_failures_total", endpoint="generic", reason="slow_body_cut")
        time.sleep(BODY_TIMEOUT / 2 + 0.2)
        started = time.monotonic()
        answer = deliver(address, "127.0.0.4", "r29-vendor")
        assert answer.startswith(b"HTTP/1.1 200 ") and answer.endswith(b"accepted"), answer[:300]
        assert time.monotonic() - started < 1.5
        assert inbox_rows(settings, "select count(*) from webhook_events where delivery_id = 'r29-vendor'") == [(1,)]
        held[0].settimeout(2)
        cut = held[0].recv(65536)  # the oldest slow body (of 127.0.0.2)
        assert cut.startswith(b"HTTP/1.1 408 ") and b"connection: close" in cut.lower(), cut[:300]
        assert metric("webhook_failures_total", endpoint="generic", reason="slow_body_cut") == cut_before + 1
        assert flight.count == 5 and flight.cut == 1  # the vendor's slot was given back
    finally:
        for conn in held:
            conn.close()
    until(lambda: flight.count == 0)


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.mark.parametrize("parser", ["httptools", "h11"])
def test_a_flood_of_malformed_requests_writes_a_bounded_number_of_log_lines(tmp_path, monkeypatch, parser):
    """uvicorn logs a warning for each request its parser refuses, and two for each request with an
    ``Upgrade`` header on h11: anyone could write log lines as fast as they could send requests. Each of these
    warnings is logged at most ``WARNINGS_PER_MINUTE`` times a minute now; the rest are counted."""
    if parser == "h11":
        monkeypatch.setattr(bounded, "HttpToolsProtocol", None)
    elif bounded.HttpToolsProtocol is None:
        pytest.skip("httptools is not installed")
    monkeypatch.setattr(protocol_base._QuietWarnings, "_seen", {})
    records = Records()
    logger = logging.getLogger("uvicorn.error")
    try:
        with LiveReceiver(create_app(settings_for(tmp_path))) as served:
            logger.addHandler(records)  # after uvicorn configured its logging (which drops handlers)
            host, port = served.url.removeprefix("http://").split(":")
            for request in (b"GET /healthz HTTP/1.1\r\nhost: r\r\nx-h: a\x00b\r\n\r\n",
                            b"GET /healthz HTTP/1.1\r\nhost: r\r\nupgrade: foo\r\nconnection: upgrade, close\r\n\r\n"):
                for _ in range(40):
                    with socket.create_connection((host, int(port)), timeout=5) as conn:
                        conn.sendall(request)
                        with contextlib.suppress(TimeoutError, ConnectionResetError):
                            while conn.recv(65536):
                                pass
    finally:
        logger.removeHandler(records)
    invalid = [line for line in records.lines if line.startswith("Invalid HTTP request")]
    assert len(invalid) == protocol_base.WARNINGS_PER_MINUTE, records.lines[:3]
    assert len(records.lines) <= 3 * protocol_base.WARNINGS_PER_MINUTE


def test_the_first_warning_after_a_quiet_spell_says_how_many_were_left_out(monkeypatch):
    monkeypatch.setattr(protocol_base._QuietWarnings, "_seen", {})
    clock, records = Clock(), Records()
    logger = logging.getLogger("r29rx.quiet")
    logger.addHandler(records)
    try:
        quiet = protocol_base._QuietWarnings(logger, clock)
        for _ in range(protocol_base.WARNINGS_PER_MINUTE + 5):
            quiet.warning("Invalid HTTP request received.")
        clock.now += 60
        quiet.warning("Invalid HTTP request received.")
        quiet.info("other levels pass")  # delegated as it is
    finally:
        logger.removeHandler(records)
    assert len(records.lines) == protocol_base.WARNINGS_PER_MINUTE + 1
    assert records.lines[-1] == "Invalid HTTP request received. (5 more like it left out of the log)"
