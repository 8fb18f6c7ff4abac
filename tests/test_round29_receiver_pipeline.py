"""Round 29: answers in order and connections closed after errors, over loopback against the real uvicorn server
(``LiveReceiver``), on both of its HTTP parsers (httptools and, without it, h11).

Found and fixed:

- on httptools, a pipelined request refused while its body was being parsed (a chunked body past ``MAX_CHUNKS``,
  trailers past 64 KiB) had its 400/431 written at once, while the answer to the request before it was still
  owed: the client read the refusal as that earlier request's answer, and the earlier request's own answer was
  lost with the connection (``GET /healthz`` then a one-byte-chunk flood read ``400`` for the health check).
  The refusal now waits its turn (``webhooks/receiver/server.py``); h11 reads one request at a time and held;
- an exception raised in the app before its answer began was answered by Starlette's outermost middleware,
  outside the receiver's own: the 500 had neither ``connection: close`` (a request whose declared body was
  never read, ``Expect: 100-continue`` among them, looked reusable) nor the baseline headers every other
  answer carries. It is answered inside them now, 500 with ``connection: close`` (``webhooks/app.py``,
  ``AnswerErrors``), and still raised, so uvicorn logs it;
- a head could hold as many header fields as fit in 64 KiB (12,000 ``a:b`` lines): h11 took about 40 ms to parse
  them and the app more to search them, 20 times an ordinary request, before any signature or budget. Past
  ``MAX_HEADERS`` (128) fields the head is 431 and closed on both parsers (``webhooks/receiver/protocol_base.py``,
  ``server.py``, ``h11_protocol.py``): 2.8 ms a request on h11 and 0.4 ms on httptools, from 41 and 5.
"""

from __future__ import annotations

import contextlib
import socket
import time

import pytest

from tests.test_round28_receiver_attacks import exchange, statuses
from tests.webhook_helpers import (
    GENERIC,
    generic_body,
    generic_request,
    inbox_rows,
    served_with,
)
from webhooks.receiver import protocol_base

HEALTH = b"GET /healthz HTTP/1.1\r\nhost: r\r\n\r\n"


@pytest.fixture(scope="module", params=["httptools", "h11"])
def live(request, tmp_path_factory):
    with served_with(request.param, tmp_path_factory.mktemp(f"round29_pipe_{request.param}"), failure_burst=1000,
                     body_timeout_seconds=2.0, head_timeout_seconds=2.0) as (settings, address, app):
        yield settings, address, app, request.param


def chunked_head(path: str = GENERIC, extra: str = "") -> bytes:
    return (f"POST {path} HTTP/1.1\r\nhost: r\r\ncontent-type: application/json\r\n{extra}"
            "transfer-encoding: chunked\r\n\r\n").encode()


CHUNK_FLOOD = chunked_head() + b"1\r\nx\r\n" * (protocol_base.MAX_CHUNKS + 500)
TRAILER_FLOOD = chunked_head() + b"1\r\nx\r\n0\r\n" + b"".join(b"x-t%d: %s\r\n" % (i, b"a" * 1000)
                                                                for i in range(70)) + b"\r\n"


@pytest.mark.parametrize("flood, refusal", [(CHUNK_FLOOD, 400), (TRAILER_FLOOD, 431)], ids=["chunks", "trailers"])
def test_a_pipelined_body_refused_midway_is_answered_after_the_request_before_it(live, flood, refusal):
    """``GET /healthz`` then, pipelined in the same write, a body in more chunks than the cap (or trailers past
    64 KiB): the refusal was written while the health check's answer was owed, so it was read as that answer
    and the 200 never came. Both answers come now, in order, and the connection then closes."""
    _, address, _, _ = live  # h11 reads one request at a time; it bounds trailers as httptools does since round 32
    started = time.monotonic()
    answer = exchange(address, HEALTH + flood)
    assert time.monotonic() - started < 4, answer[:300]
    assert statuses(answer) == [200, refusal], answer[:600]
    first, _, rest = answer.partition(b"\r\n\r\n")
    assert b"connection: close" not in first.lower() and rest.startswith(b'{"status":"ok"'), answer[:600]
    assert b"connection: close" in rest.lower() and b"nosniff" in rest.lower()


def test_a_pipelined_signed_delivery_is_stored_and_answered_before_the_refusal_behind_it(live):
    settings, address, _, _ = live
    kw = generic_request(generic_body(), "r29-before-flood")
    body = kw["content"]
    lines = "".join(f"{k}: {v}\r\n" for k, v in {**kw["headers"], "content-length": len(body)}.items())
    first = f"POST {GENERIC} HTTP/1.1\r\nhost: r\r\n{lines}\r\n".encode() + body
    answer = exchange(address, first + CHUNK_FLOOD)
    assert statuses(answer) == [200, 400] and b"accepted" in answer.split(b"HTTP/1.1 400")[0], answer[:600]
    assert inbox_rows(settings, "select body from webhook_events where delivery_id = 'r29-before-flood'") \
        == [(body.decode(),)]


def test_refusals_on_a_connection_with_nothing_owed_are_still_written_at_once(live):
    _, address, _, parser = live
    for flood, refusal in ((CHUNK_FLOOD, 400), (TRAILER_FLOOD, 431))[:1 if parser == "h11" else 2]:
        answer = exchange(address, flood)
        assert statuses(answer) == [refusal], answer[:300]


@pytest.fixture
def failing(live, monkeypatch):
    """The receiver failing before it reads a body (a bug: what any unexpected exception does)."""
    _, address, app, _ = live

    def broken(key):
        raise RuntimeError("in-flight accounting broke")

    monkeypatch.setattr(app.state.receiver.limits.in_flight, "enter", broken)
    return address


@pytest.mark.parametrize("expect", [False, True])
def test_a_500_before_the_body_was_read_closes_the_connection_and_carries_the_baseline(failing, expect):
    """Starlette's 500 was written outside the receiver's middleware: no ``connection: close`` for a request
    whose body was never read (with ``Expect: 100-continue`` the body was never coming, and the client was
    told nothing), and no ``nosniff``/``no-store``. Now both, and nothing sent after it is served."""
    head = (f"POST {GENERIC} HTTP/1.1\r\nhost: r\r\ncontent-type: application/json\r\ncontent-length: 38\r\n"
            f"{'expect: 100-continue' + chr(13) + chr(10) if expect else ''}\r\n").encode()
    with socket.create_connection(failing, timeout=4) as conn:
        conn.sendall(head)
        answer = b""
        with contextlib.suppress(TimeoutError, ConnectionResetError):
            while chunk := conn.recv(65536):
                answer += chunk
        with contextlib.suppress(OSError):  # a client that took the connection for reusable
            conn.sendall(HEALTH)
        late = b""
        with contextlib.suppress(TimeoutError, OSError):
            late = conn.recv(65536)
    assert statuses(answer) == [500], answer[:400]
    lowered = answer.lower()
    assert b"connection: close" in lowered and b"x-content-type-options: nosniff" in lowered
    assert b"cache-control: no-store" in lowered and b"100 continue" not in lowered
    assert b"traceback" not in lowered and b"in-flight accounting" not in lowered  # nothing of the error shown
    assert late == b""


def test_a_500_on_a_request_without_a_body_carries_the_baseline_too(failing):
    answer = exchange(failing, f"POST {GENERIC} HTTP/1.1\r\nhost: r\r\ncontent-length: 0\r\n\r\n".encode())
    assert statuses(answer) == [500] and b"nosniff" in answer.lower() and b"connection: close" in answer.lower()


def head_with_fields(count: int, path: str = "/healthz") -> bytes:
    """A GET whose head holds ``count`` header fields in all (its Host and Connection among them)."""
    return (f"GET {path} HTTP/1.1\r\nhost: r\r\n" + "".join(f"x-f{i}: v\r\n" for i in range(count - 2))
            + "connection: close\r\n\r\n").encode()


@pytest.mark.parametrize("pieces", [1, 7])
def test_a_head_with_more_header_fields_than_the_cap_is_431(live, pieces):
    """64 KiB holds 12,000 ``a:b`` fields: h11 took about 40 ms to parse them and the app more to search them
    (20 times an ordinary request, unsigned and before any budget), so a few connections kept the one event
    loop busy. Past ``MAX_HEADERS`` fields (128) the head is 431 naming the fix, however it arrives; at the cap it
    is served."""
    _, address, _, _ = live
    cap = protocol_base.MAX_HEADERS
    for count, expected in ((cap, 200), (cap + 1, 431), (4_000, 431)):
        data = head_with_fields(count)
        with socket.create_connection(address, timeout=5) as conn:
            step = -(-len(data) // pieces)
            for at in range(0, len(data), step):
                with contextlib.suppress(OSError):
                    conn.sendall(data[at:at + step])
                time.sleep(0.01 if pieces > 1 else 0)
            answer = b""
            with contextlib.suppress(TimeoutError, ConnectionResetError):
                while chunk := conn.recv(65536):
                    answer += chunk
        assert statuses(answer) == [expected], (count, answer[:300])
        if expected == 431:
            assert b"header fields" in answer and b"send fewer or smaller headers" in answer and b"nosniff" in answer


def test_a_pipelined_head_with_too_many_fields_is_not_served(live):
    _, address, _, _ = live
    answer = exchange(address, HEALTH + head_with_fields(protocol_base.MAX_HEADERS + 1))
    assert statuses(answer)[0] == 200 and statuses(answer) in ([200], [200, 431]), answer[:600]
