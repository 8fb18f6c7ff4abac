"""Round 20: HTTP-layer attacks over raw loopback sockets against the real uvicorn server: trailers after a
chunked body (they became request headers, without limit), a POST with no framing (HTTP/1.0, no
Content-Length), bogus chunk sizes, a body trickled under the size cap, Expect: 100-continue with no body."""

from __future__ import annotations

import contextlib
import socket
import time

import httpx
import pytest

from tests.test_webhooks_attacks import head, raw_exchange
from tests.webhook_helpers import GENERIC, LiveReceiver, generic_body, generic_request, inbox_rows, settings_for
from webhooks.app import create_app


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    settings = settings_for(tmp_path_factory.mktemp("round20"), body_timeout_seconds=1.5, failure_burst=1000)
    with LiveReceiver(create_app(settings)) as served, httpx.Client(base_url=served.url, timeout=10) as client:
        host, port = served.url.removeprefix("http://").split(":")
        yield settings, client, (host, int(port))


def stored(settings) -> set[str]:
    return {d for (d,) in inbox_rows(settings, "select delivery_id from webhook_events")}


def status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.") else 0


def chunked(msg_id: str, trailers: bytes = b"") -> bytes:
    kw = generic_request(generic_body(), msg_id)
    body = kw["content"]
    return (head(GENERIC, {**kw["headers"], "transfer-encoding": "chunked", "connection": "close"}) + b"\r\n"
            + b"%x\r\n" % len(body) + body + b"\r\n0\r\n" + trailers + b"\r\n")


def test_trailers_never_become_request_headers(live):
    """A trailer ``content-encoding: gzip`` after a signed chunked body was read by the receiver as a
    header (uvicorn appended trailers to the request's headers), and the good delivery was quarantined."""
    settings, _, addr = live
    answer, _ = raw_exchange(addr, chunked("msg_trailer", b"content-encoding: gzip\r\nwebhook-id: msg_other\r\n"))
    assert status(answer) == 200 and b"accepted" in answer, answer[-200:]
    assert "msg_trailer" in stored(settings) and "msg_other" not in stored(settings)


def test_trailers_are_bounded_like_a_head(live):
    """Trailers were buffered without limit (400 MB in 3 s on loopback); past 64 KiB they are 431."""
    settings, client, addr = live
    trailers = b"".join(b"x-t%d: %s\r\n" % (i, b"a" * 1000) for i in range(2000))  # 2 MB
    answer, took = raw_exchange(addr, chunked("msg_big_trailer", trailers))
    assert status(answer) == 431 and took < 3, answer[:200]
    assert "msg_big_trailer" not in stored(settings)
    assert client.post(GENERIC, **generic_request(generic_body(), "msg_after_trailer")).text == "accepted"


def test_a_post_with_no_length_and_no_chunking_is_411_and_closed(live):
    """HTTP/1.0 (or 1.1) without Content-Length: the body was taken as empty (401 "unauthorized", a wrong
    lead) and its bytes read as the next request. Now 411 naming the fix, and the connection closes."""
    settings, _, addr = live
    kw = generic_request(generic_body(), "msg_no_length")
    lines = "".join(f"{k}: {v}\r\n" for k, v in kw["headers"].items())
    for version, extra in (("1.0", ""), ("1.1", "host: receiver\r\nconnection: close\r\n")):  # 1.1 needs its Host
        answer, took = raw_exchange(addr, f"POST {GENERIC} HTTP/{version}\r\n{extra}{lines}\r\n".encode()
                                    + kw["content"])
        assert status(answer) == 411 and b"send the body with a Content-Length" in answer, answer[:300]
        assert answer.count(b"HTTP/1.1 ") == 1 and took < 3
    # keep-alive asked for: whatever the parser makes of the body's bytes, nothing is stored
    answer, _ = raw_exchange(addr, f"POST {GENERIC} HTTP/1.0\r\nconnection: keep-alive\r\n{lines}\r\n".encode()
                             + kw["content"])
    assert status(answer) in (400, 411) and b" 200 " not in answer
    assert "msg_no_length" not in stored(settings)


@pytest.mark.parametrize("chunks", [b"fffffffffffffffffffff\r\n", b"-1\r\n", b"0x10\r\n", b"1 0\r\n",
                                    b"2\r\nabcdef\r\n0\r\n\r\n", b"5\r\nabcdeXX0\r\n\r\n", b"5\nabcde\n0\n\n"])
def test_bogus_chunk_sizes_are_400_at_the_parser(live, chunks):
    settings, _, addr = live
    kw = generic_request(generic_body(), "msg_bogus_chunk")
    answer, took = raw_exchange(addr, head(GENERIC, {**kw["headers"], "transfer-encoding": "chunked"}) + b"\r\n"
                                + chunks)
    assert status(answer) == 400 and took < 2, answer[:200]
    assert "msg_bogus_chunk" not in stored(settings)


def test_a_huge_valid_chunk_size_or_endless_chunk_extension_is_cut_by_the_body_deadline(live):
    """Neither buffers anything (the parser holds no extension, the size is only a count); the body
    deadline (body_timeout_seconds) ends them with 408."""
    _, _, addr = live
    kw = generic_request(generic_body(), "msg_huge_chunk")
    start = head(GENERIC, {**kw["headers"], "transfer-encoding": "chunked"}) + b"\r\n"
    for chunks in (b"7fffffffffffffff\r\n", b"10;" + b"a" * 200_000):
        answer, took = raw_exchange(addr, start + chunks, wait=8)
        assert status(answer) == 408 and 1.2 < took < 4, answer[:200]


def test_a_body_trickled_under_the_cap_does_not_extend_its_deadline(live):
    """A byte every 100 ms keeps the connection busy but the body deadline counts from the head: 408."""
    settings, _, addr = live
    kw = generic_request(generic_body(), "msg_trickle")
    conn = socket.create_connection(addr, timeout=5)
    conn.sendall(head(GENERIC, {**kw["headers"], "content-length": "4000"}) + b"\r\n")
    started, answer = time.monotonic(), b""
    conn.setblocking(False)
    with contextlib.suppress(OSError):
        for _ in range(60):  # at most 6 s
            conn.send(b" ")
            time.sleep(0.1)
            with contextlib.suppress(BlockingIOError):
                answer += conn.recv(4096)
            if answer:
                break
    conn.close()
    assert status(answer) == 408 and time.monotonic() - started < 3, answer[:200]
    assert "msg_trickle" not in stored(settings)


def test_expect_continue_then_no_body_is_408_after_the_body_deadline(live):
    _, _, addr = live
    kw = generic_request(generic_body(), "msg_expect")
    request = head(GENERIC, {**kw["headers"], "content-length": str(len(kw["content"])),
                             "expect": "100-continue"}) + b"\r\n"
    answer, took = raw_exchange(addr, request, wait=8)
    assert answer.startswith(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 408 ") and 1.2 < took < 4, answer[:200]
