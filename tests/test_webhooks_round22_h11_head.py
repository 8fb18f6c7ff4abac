"""Round 22: the request-head deadline on both of uvicorn's HTTP paths, over loopback against the real server.

Without httptools the receiver serves with uvicorn's h11 protocol (``webhooks.receiver.server``), which had
no head deadline: a slow-loris trickling its head a byte at a time (each byte cancelling uvicorn's keep-alive
timer) or a connection sending nothing held its socket for good, whatever PROJECTX_WEBHOOK_HEAD_TIMEOUT_SECONDS
said. Each test runs on both paths; every socket has a timeout, so none can hang."""

from __future__ import annotations

import contextlib
import socket
import time

import pytest

from tests.webhook_helpers import GENERIC, LiveReceiver, generic_body, generic_request, inbox_rows, settings_for
from webhooks.app import create_app
from webhooks.receiver import server as bounded

HEAD_TIMEOUT = 0.6


@pytest.fixture(params=["h11", "httptools"])
def live(request, tmp_path, monkeypatch):
    if request.param == "h11":
        monkeypatch.setattr(bounded, "HttpToolsProtocol", None)
    elif bounded.HttpToolsProtocol is None:
        pytest.skip("httptools is not installed: the receiver serves with h11 only")
    settings = settings_for(tmp_path, head_timeout_seconds=HEAD_TIMEOUT, keep_alive_seconds=30.0)
    with LiveReceiver(create_app(settings)) as served:
        wanted = bounded.BoundedH11Protocol if request.param == "h11" else bounded.BoundedHttpToolsProtocol
        assert issubclass(served.server.config.http, wanted)
        host, port = served.url.removeprefix("http://").split(":")
        yield settings, (host, int(port))


def _read_all(conn: socket.socket) -> bytes:
    answer = b""
    with contextlib.suppress(TimeoutError, ConnectionResetError):
        while chunk := conn.recv(65536):
            answer += chunk
    return answer


def _signed(msg_id: str) -> bytes:
    kw = generic_request(generic_body(), msg_id)
    lines = "".join(f"{k}: {v}\r\n" for k, v in kw["headers"].items())
    return (
        f"POST {GENERIC} HTTP/1.1\r\nhost: receiver\r\ncontent-length: {len(kw['content'])}\r\n{lines}\r\n"
    ).encode() + kw["content"]


def _stored(settings) -> set[str]:
    return {r[0] for r in inbox_rows(settings, "select delivery_id from webhook_events")}


def test_a_head_trickled_a_byte_at_a_time_is_cut_off_with_408(live):
    """One byte every 50 ms: each arrives well within any per-read timeout, the head never ends. Cut off
    at the head deadline, not after the whole (5 s) trickle."""
    _, address = live
    trickle = _signed("msg_slowloris")[:100]
    started = time.monotonic()
    with socket.create_connection(address, timeout=5) as conn:
        for byte in trickle:
            try:
                conn.sendall(bytes([byte]))
            except OSError:  # closed by the server: what it said is still readable
                break
            time.sleep(0.05)
        answer = _read_all(conn)
    took = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 408 ") and b"request headers not complete within 0.6 s" in answer, answer
    assert took < 4, took


def test_a_connection_that_sends_nothing_is_closed_at_the_head_deadline(live):
    _, address = live
    started = time.monotonic()
    with socket.create_connection(address, timeout=5) as conn:
        answer = _read_all(conn)
    assert answer.startswith(b"HTTP/1.1 408 "), answer
    assert HEAD_TIMEOUT * 0.9 < time.monotonic() - started < 4


def test_the_deadline_is_the_heads_only_and_restarts_for_the_next_request(live):
    """A complete head stops the clock (the body has its own deadline): a body sent after the head deadline
    is accepted. The next request on the same keep-alive connection gets a fresh head deadline: trickled,
    it is answered 408 after the first answer, never in its place."""
    settings, address = live
    request = _signed("msg_head_then_late_body")
    split = request.index(b"\r\n\r\n") + 4
    with socket.create_connection(address, timeout=5) as conn:
        conn.sendall(request[:split])
        time.sleep(HEAD_TIMEOUT * 2)
        conn.sendall(request[split:])
        first = conn.recv(65536)
        assert first.startswith(b"HTTP/1.1 200 ") and first.endswith(b"accepted"), first
        started = time.monotonic()
        with contextlib.suppress(OSError):
            for byte in b"POST /api/integrations/generic/webhook HTTP/1.1\r\n":
                conn.sendall(bytes([byte]))
                time.sleep(0.05)
        second = _read_all(conn)
    assert second.startswith(b"HTTP/1.1 408 "), second
    assert time.monotonic() - started < 4
    assert "msg_head_then_late_body" in _stored(settings)


def test_a_pipelined_head_left_incomplete_gets_its_own_deadline(live):
    """Two requests in one write, the second's head cut short: the first is answered and stored, the
    second (buffered while the first was answered) is cut off 408, and the connection closes."""
    settings, address = live
    data = _signed("msg_pipelined_first") + b"POST /api/integrations/generic/webhook HTTP/1.1\r\nhost: r"
    started = time.monotonic()
    with socket.create_connection(address, timeout=5) as conn:
        conn.sendall(data)
        answer = _read_all(conn)
    assert answer.startswith(b"HTTP/1.1 200 ") and answer.count(b"HTTP/1.1 ") == 2, answer
    assert b"HTTP/1.1 408 " in answer and time.monotonic() - started < 4
    assert "msg_pipelined_first" in _stored(settings)


def test_a_head_over_the_size_limit_is_431_on_either_path(live):
    """h11 refused it too, but as a bare 400 "Invalid HTTP request received." that named no fix."""
    _, address = live
    request = f"POST {GENERIC} HTTP/1.1\r\nhost: r\r\nx-pad: {'a' * (bounded.MAX_HEAD_BYTES + 1024)}\r\n".encode()
    with socket.create_connection(address, timeout=5) as conn:
        with contextlib.suppress(OSError):
            conn.sendall(request)
        answer = _read_all(conn)
    assert answer.startswith(b"HTTP/1.1 431 ") and b"send fewer or smaller headers" in answer, answer[:200]


@pytest.mark.parametrize("shape", ["many_small_headers", "one_long_target", "value_padded_with_spaces"])
def test_a_head_over_the_limit_arriving_whole_in_one_read_is_431(live, shape):
    """The limit was only checked on a head still incomplete at the end of a read: 12,000 empty headers
    (97 KB, well under one 256 KiB read) were taken whole on both paths and handed to the app."""
    _, address = live
    if shape == "many_small_headers":
        request = f"POST {GENERIC} HTTP/1.1\r\nhost: r\r\ncontent-length: 2\r\n".encode()
        request += b"".join(b"h%d:\r\n" % i for i in range(12000)) + b"\r\n{}"
    elif shape == "value_padded_with_spaces":  # httptools hands on_header the value stripped: 80 KB counted as 1 B
        request = f"POST {GENERIC} HTTP/1.1\r\nhost: r\r\ncontent-length: 2\r\n".encode()
        request += b"x-pad:" + b" " * 40000 + b"v" + b" " * 40000 + b"\r\n\r\n{}"
    else:
        request = f"POST {GENERIC}?{'q' * (bounded.MAX_HEAD_BYTES + 100)} HTTP/1.1\r\nhost: r\r\n".encode()
        request += b"content-length: 2\r\n\r\n{}"
    assert bounded.MAX_HEAD_BYTES < len(request) < 200 * 1024
    with socket.create_connection(address, timeout=5) as conn:
        with contextlib.suppress(OSError):
            conn.sendall(request)
        answer = _read_all(conn)
    assert answer.startswith(b"HTTP/1.1 431 ") and answer.count(b"HTTP/1.1 ") == 1, answer[:200]


def test_a_head_just_under_the_limit_is_served(live):
    settings, address = live
    kw = generic_request(generic_body(), "msg_big_but_fine_head")
    pad = "a" * (bounded.MAX_HEAD_BYTES - 2048)
    lines = "".join(f"{k}: {v}\r\n" for k, v in kw["headers"].items())
    request = (
        f"POST {GENERIC} HTTP/1.1\r\nhost: r\r\nconnection: close\r\nx-pad: {pad}\r\n"
        f"content-length: {len(kw['content'])}\r\n{lines}\r\n"
    ).encode() + kw["content"]
    with socket.create_connection(address, timeout=5) as conn:
        conn.sendall(request)
        answer = _read_all(conn)
    assert answer.startswith(b"HTTP/1.1 200 ") and answer.endswith(b"accepted"), answer[:200]
    assert "msg_big_but_fine_head" in _stored(settings)
