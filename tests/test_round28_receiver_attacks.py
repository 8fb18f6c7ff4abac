"""Round 28: the receiver attacked over loopback (the real uvicorn server, ``LiveReceiver``), on both of its
HTTP parsers (httptools and, without it, h11), with cases the earlier webhook files do not send.

Found and fixed:

- on the h11 path, a chunked body's trailer section ended by a bare LF (``0\\r\\n\\n``, ``x: y\\n\\n``), a
  folded trailer line, or a bare CR inside a chunk extension was taken, and the bytes after it were served
  as the next request: a proxy that ends lines at CRLF only reads those bytes as part of the first request
  (its trailers), so a request it never saw (another path, another signature) was answered and stored
  here. httptools refuses every one of these shapes; h11 now does too, before the request's end
  (``webhooks/receiver/h11_protocol.py``, ``_StrictChunkedReader``);
- a percent-escaped letter in a path (``/metr%69cs``, ``/api/integrations/jira/%77ebhook``) was routed to
  the route it decodes to (Starlette matches the decoded path): a proxy rule written for the real path
  (``deny /metrics`` from outside, an address allowlist on a vendor's webhook path) did not see it. Only an
  encoded slash was refused (round 18); any ``%`` in the path is a 404 now, on every route
  (``webhooks/app.py``);
- on the httptools path a request with two ``Host`` headers, or an HTTP/1.1 request with none, was served
  (RFC 9112 3.2: a server MUST answer 400), while h11 refused both: the two parsers disagreed on which
  requests exist (``webhooks/receiver/server.py``);
- a chunked body's chunks were unbounded in number: 7 MB of one-byte chunks (unsigned, read before any
  verification) kept the one event loop busy for seconds on httptools and over 30 s on h11, and four such
  connections from one address delayed a vendor's delivery by 5 s (httptools) and 30 s (h11). Past
  ``MAX_CHUNKS`` (4096) data chunks the request is answered 400 naming the fix and closed, on both parsers
  (``webhooks/receiver/protocol_base.py``, ``server.py``, ``h11_protocol.py``).
- a request with ``Expect: 100-continue`` answered before its body was asked for (404, 405, a GET; uvicorn
  sends the 100 only when the app reads) kept its connection open with the body still due: a client or proxy
  that took the final answer and sent no body had its next request's first bytes read as that body and the
  rest served as a request of their own (a "0.CL" desync); and without Expect, a body declared a gigabyte
  long and trickled a byte at a time after such an answer held the connection with no deadline. An answer
  given before the declared body was all received closes the connection now (``webhooks/app.py``,
  ``CloseUnreadBody``).

Also checked (held): the same delivery sent 20 times at once is stored once and every copy is answered
200.
"""

from __future__ import annotations

import contextlib
import itertools
import re
import socket
import threading
import time

import httpx
import pytest

from tests.webhook_helpers import (
    GENERIC,
    JIRA,
    generic_body,
    generic_request,
    inbox_rows,
    jira_body,
    jira_request,
    served_with,
)
from webhooks.receiver import protocol_base


@pytest.fixture(scope="module", params=["httptools", "h11"])
def live(request, tmp_path_factory):
    with served_with(request.param, tmp_path_factory.mktemp(f"round28_{request.param}"), failure_burst=1000,
                     body_timeout_seconds=2.0, head_timeout_seconds=2.0) as (settings, (host, port), _):
        yield settings, (host, port), f"http://{host}:{port}"


def exchange(address, data: bytes, wait: float = 5.0) -> bytes:
    """Send ``data`` on a fresh connection and read until the server closes it (or ``wait`` passes)."""
    answer = b""
    with socket.create_connection(address, timeout=wait) as conn:
        with contextlib.suppress(OSError):
            conn.sendall(data)
        with contextlib.suppress(TimeoutError, ConnectionResetError):
            while chunk := conn.recv(65536):
                answer += chunk
    return answer


def statuses(answer: bytes) -> list[int]:
    return [int(s) for s in re.findall(rb"HTTP/1\.[01] (\d{3}) ", answer)]


def stored(settings) -> set[str]:
    return {d for (d,) in inbox_rows(settings, "select delivery_id from webhook_events")}


def request_head(path: str, headers: dict[str, str], method: str = "POST") -> bytes:
    lines = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return f"{method} {path} HTTP/1.1\r\nhost: receiver\r\n{lines}".encode("latin-1")


def signed_chunked(msg_id: str, framing) -> bytes:
    """A signed generic delivery sent chunked; ``framing(body)`` writes its chunks, last chunk and trailers."""
    kw = generic_request(generic_body(), msg_id)
    return request_head(GENERIC, {**kw["headers"], "transfer-encoding": "chunked"}) + b"\r\n" + framing(kw["content"])


def signed_plain(msg_id: str) -> bytes:
    kw = generic_request(generic_body(), msg_id)
    body = kw["content"]
    return request_head(GENERIC, {**kw["headers"], "content-length": str(len(body)), "connection": "close"}) \
        + b"\r\n" + body


def _chunk(body: bytes) -> bytes:
    return b"%x\r\n" % len(body) + body + b"\r\n"


DESYNC_SHAPES = {
    # what follows the chunks of the first request; a CRLF-only proxy reads the hidden request as part of it
    "last_chunk_then_bare_lf": lambda body: _chunk(body) + b"0\r\n\n",
    "trailer_ended_by_lf_lf": lambda body: _chunk(body) + b"0\r\nx-t: 1\n\n",
    "trailer_line_then_bare_lf": lambda body: _chunk(body) + b"0\r\nx-t: 1\r\n\n",
    "trailer_bare_lf_mid_section": lambda body: _chunk(body) + b"0\r\nx-t: 1\nx-u: 2\r\n\r\n",
    "folded_trailer_line": lambda body: _chunk(body) + b"0\r\nx-t: 1\r\n 2\r\n\r\n",
    "bare_cr_in_chunk_extension": lambda body: b"%x;a\rb\r\n" % len(body) + body + b"\r\n0\r\n\r\n",
    "bare_cr_in_last_chunk_extension": lambda body: _chunk(body) + b"0;a\rb\r\n\r\n",
}


@pytest.mark.parametrize("shape", sorted(DESYNC_SHAPES))
def test_a_request_hidden_behind_a_malformed_chunked_ending_is_never_served(live, shape):
    """Both requests signed: only the framing decides. The connection gets one 400 and is closed; neither
    delivery is stored (the first never ended; the second is a proxy's bytes of the first)."""
    settings, address, _ = live
    first, hidden = f"r28-first-{shape}", f"r28-hidden-{shape}"
    answer = exchange(address, signed_chunked(first, DESYNC_SHAPES[shape]) + signed_plain(hidden))
    assert statuses(answer) == [400], (shape, answer[:300])
    assert b"x-content-type-options: nosniff" in answer.lower()
    assert not {first, hidden} & stored(settings)


@pytest.mark.parametrize("path, method", [("/nope", "POST"), ("/healthz", "GET"), ("/metrics", "POST"),
                                          ("/api/integrations/generic/%77ebhook", "POST")])
def test_no_path_serves_a_request_hidden_behind_a_bare_lf_after_the_last_chunk(live, path, method):
    """The shape on paths the app answers without reading the body (404, 405, a GET): h11 de-chunks it
    all the same, so the hidden request followed whatever the route."""
    settings, address, _ = live
    hidden = f"r28-hidden-behind-{method}-{path.strip('/').replace('/', '_').replace('%', '')}"
    kw = generic_request(generic_body(), "r28-carrier")
    body = kw["content"]
    first = request_head(path, {**kw["headers"], "transfer-encoding": "chunked"}, method) + b"\r\n" \
        + _chunk(body) + b"0\r\n\n"
    answer = exchange(address, first + signed_plain(hidden))
    assert 200 not in statuses(answer) and statuses(answer)[-1:] == [400], answer[:300]
    assert hidden not in stored(settings)


def test_well_formed_chunk_extensions_and_trailers_still_serve_both_requests(live):
    """The control for the test above: the same two requests with CRLF line ends everywhere (an extension,
    trailers, a pipelined second request) are both answered 200 and stored."""
    settings, address, _ = live
    framing = lambda body: b"%x;ext=\"v\"\r\n" % len(body) + body + b"\r\n0;last\r\nx-t: 1\r\nx-u: 2\r\n\r\n"  # noqa: E731
    answer = exchange(address, signed_chunked("r28-ok-first", framing) + signed_plain("r28-ok-second"))
    assert statuses(answer) == [200, 200], answer[:300]
    assert {"r28-ok-first", "r28-ok-second"} <= stored(settings)


@pytest.mark.parametrize("target", ["/metr%69cs", "/%6Detrics", "/integration-health%2Ejson", "/integration-he%61lth",
                                    "/health%7A"])
def test_a_percent_escaped_path_reaches_no_route(live, target):
    """A proxy rule written for ``/metrics`` (or the health page) does not see ``/metr%69cs``; the route it
    decodes to must not answer it either. Nothing of the path is echoed."""
    _, address, _ = live
    answer = exchange(address, f"GET {target} HTTP/1.1\r\nhost: r\r\nconnection: close\r\n\r\n".encode())
    assert statuses(answer) == [404], answer[:300]
    assert b"webhook_failures_total" not in answer and b"<html" not in answer.lower() and b'"status"' not in answer
    assert target.encode() not in answer


def test_a_percent_escaped_webhook_path_stores_nothing_and_the_real_path_and_queries_still_serve(live):
    settings, address, url = live
    kw = jira_request(jira_body(28001), "r28-pct-jira")
    for path in ("/api/integrations/jira/%77ebhook", "/api/integrations/ji%72a/webhook",
                 "/%61pi/integrations/jira/webhook"):
        body = kw["content"]
        raw = request_head(path, {**kw["headers"], "content-length": str(len(body)), "connection": "close"})
        assert statuses(exchange(address, raw + b"\r\n" + body)) == [404], path
    assert "r28-pct-jira" not in stored(settings)
    with httpx.Client(base_url=url, timeout=10) as client:
        assert client.get("/metrics", params={"q": "%41/x"}).status_code == 200  # a query is not the path
        assert client.get("/healthz").status_code == 200
        assert client.post(JIRA, **kw).text == "accepted"
    assert "r28-pct-jira" in stored(settings)


@pytest.mark.parametrize("hosts, version", [
    ((), "1.1"),
    (("receiver", "receiver"), "1.1"),
    (("receiver", "elsewhere.example"), "1.1"),
    (("receiver", "elsewhere.example"), "1.0"),
])
def test_a_request_without_exactly_one_host_is_400_on_both_parsers(live, hosts, version):
    """RFC 9112 3.2: a server MUST answer 400 to an HTTP/1.1 request without Host and to any request with
    more than one. h11 did; httptools served both, so which requests exist depended on the parser. A
    signed delivery so shaped is not stored."""
    settings, address, _ = live
    msg_id = f"r28-host-{len(hosts)}-{version}-{'-'.join(hosts)}"
    kw = generic_request(generic_body(), msg_id)
    body = kw["content"]
    lines = "".join(f"host: {h}\r\n" for h in hosts) + "".join(f"{k}: {v}\r\n" for k, v in kw["headers"].items())
    raw = f"POST {GENERIC} HTTP/{version}\r\n{lines}content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    answer = exchange(address, raw.encode("latin-1") + body)
    assert statuses(answer) == [400], answer[:300]
    assert msg_id not in stored(settings)


def test_one_host_or_an_http10_request_without_one_is_still_served(live):
    settings, address, _ = live
    for version, host in (("1.1", "host: receiver\r\n"), ("1.0", "")):
        msg_id = f"r28-onehost-{version}"
        kw = generic_request(generic_body(), msg_id)
        body = kw["content"]
        lines = "".join(f"{k}: {v}\r\n" for k, v in kw["headers"].items())
        raw = f"POST {GENERIC} HTTP/{version}\r\n{host}{lines}content-length: {len(body)}\r\nconnection: close\r\n\r\n"
        assert statuses(exchange(address, raw.encode("latin-1") + body)) == [200], version
        assert msg_id in stored(settings)


def test_the_same_delivery_sent_twenty_times_at_once_is_stored_once(live):
    """Held: 20 connections released together with one signed delivery: every one is answered 200 (one
    "accepted", the rest "duplicate") and the inbox holds one row."""
    settings, _, url = live
    kw = generic_request(generic_body(), "r28-twenty")
    gate, answers = threading.Barrier(20, timeout=10), []

    def send() -> None:
        with httpx.Client(base_url=url, timeout=20) as client:
            gate.wait()
            answers.append(client.post(GENERIC, **kw).text)

    threads = [threading.Thread(target=send) for _ in range(20)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert time.monotonic() - started < 30
    assert sorted(answers) == ["accepted"] + ["duplicate"] * 19
    assert inbox_rows(settings, "select count(*) from webhook_events where delivery_id = 'r28-twenty'") == [(1,)]


def _signed_in_chunks(msg_id: str, size: int, pieces: int) -> tuple[bytes, bytes]:
    """A signed generic delivery whose body is ``size`` bytes, sent in ``pieces`` chunks (the last one
    holding what is left), then the last-chunk line; (request, body)."""
    base = generic_body("task.created", pad="")
    body = generic_body("task.created", pad="x" * (size - len(base)))
    assert len(body) == size
    kw = generic_request(body, msg_id)
    step = max(1, size // pieces)
    cuts = [i * step for i in range(pieces)] + [size]
    chunks = b"".join(_chunk(body[a:b]) for a, b in itertools.pairwise(cuts))
    headers = {**kw["headers"], "transfer-encoding": "chunked", "connection": "close"}
    return request_head(GENERIC, headers) + b"\r\n" + chunks + b"0\r\n\r\n", body


def test_a_body_in_more_chunks_than_the_cap_is_refused_at_once(live):
    """Each chunk costs the parser a callback (h11 tens of microseconds): 7 MB of one-byte chunks kept the
    receiver's one event loop busy for seconds (httptools) to over 30 s (h11) per connection, unsigned and
    before any verification, and four such connections from one address held a vendor's delivery for 5 s
    (httptools) or 30 s (h11). Past ``MAX_CHUNKS`` data chunks the request is answered 400 naming the fix
    and the connection closed, as soon as the chunk past the cap arrives."""
    settings, address, _ = live
    limit = protocol_base.MAX_CHUNKS
    request, _ = _signed_in_chunks("r28-too-many-chunks", limit + 1, limit + 1)
    started = time.monotonic()
    answer = exchange(address, request)
    assert time.monotonic() - started < 3
    assert statuses(answer) == [400] and b"larger chunks" in answer, answer[:300]
    assert "r28-too-many-chunks" not in stored(settings)
    # unsigned one-byte chunks (under 64 KiB: read whole, so the close is no reset that loses the answer)
    flood = request_head(GENERIC, {"content-type": "application/json", "transfer-encoding": "chunked"}) + b"\r\n" \
        + b"1\r\nx\r\n" * 6000
    started = time.monotonic()
    assert statuses(exchange(address, flood)) == [400]
    assert time.monotonic() - started < 3


def test_a_body_in_exactly_the_cap_of_chunks_or_fewer_larger_ones_is_accepted(live):
    settings, address, _ = live
    limit = protocol_base.MAX_CHUNKS
    for msg_id, size, pieces in (("r28-chunks-at-cap", limit, limit), ("r28-chunks-large", 300_000, 40)):
        request, body = _signed_in_chunks(msg_id, size, pieces)
        answer = exchange(address, request)
        assert statuses(answer) == [200] and answer.endswith(b"accepted"), (msg_id, answer[:300])
        assert inbox_rows(settings, f"select body from webhook_events where delivery_id = '{msg_id}'") \
            == [(body.decode(),)]


@pytest.mark.parametrize("method, path, expected", [
    ("POST", "/nope", 404), ("POST", "/metrics", 405), ("POST", "/api/integrations/generic/%77ebhook", 404),
    ("GET", "/healthz", 200),
])
def test_an_early_answer_to_an_expect_100_continue_request_closes_the_connection(live, method, path, expected):
    """Answered before its body was asked for (no 100 Continue sent), a request with ``Expect: 100-continue``
    left the connection open with its body still due: a client (or a proxy) that takes the final answer and
    sends no body, as RFC 9110 10.1.1 lets it, then had the first bytes of its next request read as that body
    and the rest served as a request of their own (a ``0.CL`` desync). The answer now says
    ``connection: close`` and the connection is closed."""
    _, address, _ = live
    with socket.create_connection(address, timeout=5) as conn:
        conn.sendall(f"{method} {path} HTTP/1.1\r\nhost: r\r\ncontent-type: application/json\r\n"
                     "expect: 100-continue\r\ncontent-length: 38\r\n\r\n".encode())
        answer, started = b"", time.monotonic()
        with contextlib.suppress(TimeoutError, ConnectionResetError):
            while chunk := conn.recv(65536):  # EOF: the server closed after its answer
                answer += chunk
        assert time.monotonic() - started < 4, answer[:300]
        # what such a client sends next on the connection it believes reusable: no answer can come of it
        with contextlib.suppress(OSError):
            conn.sendall(b"GET /healthz HTTP/1.1\r\nhost: r\r\n\r\n")
        late = b""
        with contextlib.suppress(TimeoutError, ConnectionResetError):
            late = conn.recv(65536)
    assert statuses(answer) == [expected] and b"100 continue" not in answer.lower(), answer[:300]
    assert b"connection: close" in answer.lower()
    assert late == b""


def test_a_webhook_request_with_expect_100_continue_still_gets_its_100_and_its_answer(live):
    settings, address, _ = live
    kw = generic_request(generic_body(), "r28-expect")
    body = kw["content"]
    with socket.create_connection(address, timeout=5) as conn:
        conn.sendall(request_head(GENERIC, {**kw["headers"], "content-length": str(len(body)),
                                            "expect": "100-continue", "connection": "close"}) + b"\r\n")
        interim = conn.recv(65536)
        assert interim.startswith(b"HTTP/1.1 100 "), interim
        conn.sendall(body)
        answer = b""
        with contextlib.suppress(TimeoutError, ConnectionResetError):
            while chunk := conn.recv(65536):
                answer += chunk
    assert statuses(answer) == [200] and answer.endswith(b"accepted"), answer[:300]
    assert "r28-expect" in stored(settings)


@pytest.mark.parametrize("framing", ["content-length: 1000000000", "transfer-encoding: chunked"])
def test_a_declared_body_left_unread_by_an_early_answer_is_not_read_on_without_a_deadline(live, framing):
    """A POST to a path that answers without reading (404) declaring a gigabyte: uvicorn kept reading and
    dropping it, each byte restarting keep-alive, so a byte every few seconds held the connection with no
    deadline (the body deadline is the app's, which had answered). The answer closes the connection now."""
    _, address, _ = live
    with socket.create_connection(address, timeout=5) as conn:
        conn.sendall(f"POST /nope HTTP/1.1\r\nhost: r\r\n{framing}\r\n\r\n".encode())
        answer, started = b"", time.monotonic()
        with contextlib.suppress(TimeoutError, ConnectionResetError):
            while chunk := conn.recv(65536):
                answer += chunk
        assert time.monotonic() - started < 4, answer[:300]
    assert statuses(answer) == [404] and b"connection: close" in answer.lower(), answer[:300]
