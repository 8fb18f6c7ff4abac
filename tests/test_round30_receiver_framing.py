"""Round 30: request framing an outside checker tries, over loopback against the real uvicorn server on both of
its HTTP parsers (httptools and, without it, h11), with raw sockets.

Found and fixed:

- on httptools, a request its parser refuses (a header line without a colon, a bad method or version, a NUL in a
  value, a Content-Length that is no number) pipelined behind others had uvicorn's 400 written at once, while
  their answers were still owed: ``GET /healthz`` then a malformed request in the same write read ``400`` for the
  health check, and a signed delivery before it was answered 400 and never stored. The answers owed are now
  written in order, the last with ``connection: close``, and nothing after them is read
  (``webhooks/receiver/server.py``, ``send_400_response``); h11 reads one request at a time and held;
- httptools' URL parser dropped a fragment: ``GET /metrics#x`` served ``/metrics`` (and a signed delivery to
  ``.../webhook#f`` was stored) past a proxy rule that reads the whole target as the path, while h11 answered
  404. A target holding ``#`` (never part of a request target, RFC 9112 3.2) is 400 on both parsers, and so is
  one with a scheme other than http(s) (httptools served ``GET ftp://x/metrics`` as /metrics);
- httptools sent ``100 Continue`` to an HTTP/1.0 request with ``Expect: 100-continue`` (RFC 9110 15.2: no 1xx to
  a 1.0 client, which reads it as the final answer); the expectation is ignored on 1.0, as h11 does;
- httptools stops parsing at the end of a head asking to switch protocols (``Connection: upgrade`` with an
  ``Upgrade`` header, or ``CONNECT``): the app read an empty body (a signed delivery was 401 ``bad_signature``,
  a wrong lead counted by the security alert) and the declared body, arriving in a later read, was parsed as a
  request of its own, so a proxy's POST body ``GET /metrics ...`` was served (h2c-style smuggling). Such a
  request with a body is 400 before any route on both parsers; one without a body is answered as plain HTTP,
  and on httptools the connection then closes (the bytes after its head were dropped unanswered).
"""

from __future__ import annotations

import contextlib
import socket
import time

import pytest

from tests.test_round28_receiver_attacks import exchange, request_head, statuses
from tests.webhook_helpers import GENERIC, generic_body, generic_request, inbox_rows, served_with

HEALTH = b"GET /healthz HTTP/1.1\r\nhost: r\r\n\r\n"
HIDDEN = b"GET /metrics HTTP/1.1\r\nhost: r\r\n\r\n"


@pytest.fixture(scope="module", params=["httptools", "h11"])
def live(request, tmp_path_factory):
    with served_with(request.param, tmp_path_factory.mktemp(f"round30_framing_{request.param}"), failure_burst=1000,
                     body_timeout_seconds=3.0, head_timeout_seconds=3.0) as (settings, address, _app):
        yield settings, address, request.param


def stored(settings) -> set[str]:
    return {d for (d,) in inbox_rows(settings, "select delivery_id from webhook_events")}


def signed(msg_id: str, target: str = GENERIC, **extra: str) -> bytes:
    kw = generic_request(generic_body(), msg_id)
    body = kw["content"]
    return request_head(target, {**kw["headers"], "content-length": str(len(body)), **extra}) + b"\r\n" + body


def two_writes(address, first: bytes, second: bytes, wait: float = 4.0) -> bytes:
    """``first``, then ``second`` in a write of its own (a later read on the server), and every answer."""
    answer = b""
    with socket.create_connection(address, timeout=wait) as conn:
        conn.sendall(first)
        time.sleep(0.3)
        with contextlib.suppress(OSError):
            conn.sendall(second)
        with contextlib.suppress(TimeoutError, ConnectionResetError):
            while chunk := conn.recv(65536):
                answer += chunk
    return answer


MALFORMED = {
    "no_colon": b"GET /healthz HTTP/1.1\r\nhost: r\r\nbad header\r\n\r\n",
    "bad_method": b"G(T /healthz HTTP/1.1\r\nhost: r\r\n\r\n",
    "nul_in_value": b"GET /healthz HTTP/1.1\r\nhost: r\r\nx: a\x00b\r\n\r\n",
    "length_not_a_number": b"POST /healthz HTTP/1.1\r\nhost: r\r\ncontent-length: 1x\r\n\r\n",
    "tls_hello": b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n",
    "bad_chunk_size": b"POST /healthz HTTP/1.1\r\nhost: r\r\ntransfer-encoding: chunked\r\n\r\nzz\r\nx\r\n",
}


@pytest.mark.parametrize("malformed", list(MALFORMED), ids=list(MALFORMED))
def test_a_malformed_request_pipelined_behind_others_leaves_their_answers_in_order(live, malformed):
    """Two health checks and a malformed request in one write: the two 200s come first, in order (httptools'
    400 had been written at once and read as the first health check's answer, the 200s lost), then at most the
    400, and the connection closes."""
    _, address, _ = live
    started = time.monotonic()
    answer = exchange(address, HEALTH + HEALTH + MALFORMED[malformed], wait=4)
    assert time.monotonic() - started < 3.5, answer[:300]  # closed by the server, not by our timeout
    got = statuses(answer)
    assert got[:2] == [200, 200] and got[2:] in ([], [400]), answer[:600]
    assert answer.count(b'{"status":"ok"') == 2
    assert b"connection: close" in answer.rpartition(b"HTTP/1.1 ")[2].lower()


def test_a_signed_delivery_pipelined_before_a_malformed_request_is_stored_and_answered(live):
    settings, address, _ = live
    answer = exchange(address, signed("r30_before_malformed") + MALFORMED["no_colon"], wait=4)
    assert statuses(answer)[:1] == [200] and b"accepted" in answer, answer[:600]
    assert "r30_before_malformed" in stored(settings)


def test_a_lone_malformed_request_is_still_answered_400_at_once(live):
    _, address, _ = live
    for data in MALFORMED.values():
        started = time.monotonic()
        answer = exchange(address, data, wait=4)
        assert statuses(answer) == [400] and time.monotonic() - started < 2, answer[:300]
        assert b"nosniff" in answer.lower() and b"connection: close" in answer.lower()


FRAGMENTS = ["/metrics#x", "/healthz#x", "/integration-health#a", "/healthz?a=1#x", "/healthz?#",
             "http://receiver/metrics#x"]


@pytest.mark.parametrize("target", FRAGMENTS)
def test_a_fragment_in_the_target_is_400_on_both_parsers(live, target):
    """httptools served ``/metrics#x`` as ``/metrics``; h11 answered 404: now 400 on both, before any route."""
    _, address, _ = live
    answer = exchange(address, f"GET {target} HTTP/1.1\r\nhost: r\r\n\r\n".encode(), wait=4)
    assert statuses(answer) == [400], answer[:300]
    assert b"# HELP" not in answer and b'"status"' not in answer and b"fragment" in answer


def test_a_signed_delivery_to_a_target_with_a_fragment_is_not_stored_and_the_real_path_still_is(live):
    settings, address, _ = live
    assert statuses(exchange(address, signed("r30_fragment", GENERIC + "#f"), wait=4)) == [400]
    assert statuses(exchange(address, signed("r30_query", GENERIC + "?a=1", connection="close"), wait=4)) == [200]
    assert "r30_fragment" not in stored(settings) and "r30_query" in stored(settings)


def _upgrade_head(method: str = "POST", target: str = GENERIC, framing: str = f"content-length: {len(HIDDEN)}",
                  asks: str = "connection: upgrade\r\nupgrade: h2c\r\n") -> bytes:
    return (f"{method} {target} HTTP/1.1\r\nhost: r\r\ncontent-type: application/json\r\n{asks}{framing}\r\n\r\n"
            ).encode()


CHUNKED_HIDDEN = b"%x\r\n" % len(HIDDEN) + HIDDEN + b"\r\n0\r\n\r\n"
SWITCHES = {
    "upgrade_h2c": (_upgrade_head(), HIDDEN),
    "upgrade_websocket_token_list": (_upgrade_head(asks="connection: keep-alive, Upgrade\r\nupgrade: websocket\r\n"),
                                     HIDDEN),
    "upgrade_on_another_path": (_upgrade_head(target="/healthz"), HIDDEN),
    "upgrade_chunked": (_upgrade_head(framing="transfer-encoding: chunked"), CHUNKED_HIDDEN),
    "connect": (_upgrade_head(method="CONNECT", asks=""), HIDDEN),
}


@pytest.mark.parametrize("case", list(SWITCHES), ids=list(SWITCHES))
def test_a_request_asking_to_switch_protocols_with_a_body_is_400_and_its_body_is_never_a_request(live, case):
    """The body (``GET /metrics ...``) follows the head in a later write: httptools parsed it as a request and
    served /metrics. Refused at the head on both parsers, and nothing behind it is answered."""
    _, address, _ = live
    head, body = SWITCHES[case]
    answer = two_writes(address, head, body)
    assert statuses(answer) == [400], answer[:600]
    assert b"# HELP" not in answer and b"switch protocols" in answer


def test_a_signed_delivery_asking_to_upgrade_is_refused_not_called_a_bad_signature(live):
    """httptools handed the app an empty body: the delivery was 401 bad_signature and kept as a rejection."""
    settings, address, _ = live
    before = inbox_rows(settings, "select count(*) from webhook_rejections where reason = 'bad_signature'")[0][0]
    answer = exchange(address, signed("r30_upgrade", connection="upgrade", upgrade="h2c"), wait=4)
    assert statuses(answer) == [400] and b"switch protocols" in answer, answer[:300]
    assert "r30_upgrade" not in stored(settings)
    assert inbox_rows(settings, "select count(*) from webhook_rejections where reason = 'bad_signature'")[0][0] \
        == before


def test_a_bodiless_upgrade_is_answered_as_plain_http_and_nothing_behind_it_is_lost_unanswered(live):
    """``GET /healthz`` asking for a WebSocket: 200, never 101. On httptools the bytes after its head are not
    parsed, so the connection closes after the answer (it had waited, the pipelined request unanswered)."""
    _, address, parser = live
    asks = b"GET /healthz HTTP/1.1\r\nhost: r\r\nconnection: upgrade\r\nupgrade: websocket\r\n\r\n"
    started = time.monotonic()
    answer = exchange(address, asks + HEALTH.replace(b"\r\n\r\n", b"\r\nconnection: close\r\n\r\n"), wait=4)
    assert time.monotonic() - started < 3.5, answer[:300]
    got = statuses(answer)
    assert got[:1] == [200] and b" 101 " not in answer, answer[:300]
    assert got == ([200] if parser == "httptools" else [200, 200]), answer[:600]


@pytest.mark.parametrize("target", ["ftp://x/metrics", "gopher://x/healthz", "ws://x/integration-health",
                                    "file:///metrics", "http:/metrics"])
def test_a_target_with_another_scheme_is_400_on_both_parsers(live, target):
    """httptools' URL parser took any scheme (``ftp://x/metrics`` served /metrics) where h11 answered 404."""
    _, address, _ = live
    answer = exchange(address, f"GET {target} HTTP/1.1\r\nhost: r\r\n\r\n".encode(), wait=4)
    assert statuses(answer) == [400], answer[:300]
    assert b"# HELP" not in answer and b'"status"' not in answer


@pytest.mark.parametrize("target", ["/api//integrations/generic/webhook", "/api/integrations/./generic/webhook",
                                    "/api/integrations/x/../generic/webhook", "/api/integrations/generic/webhook/.",
                                    "/api\\integrations/generic/webhook", "/api/integrations/generic/webhook\\",
                                    "http://x/api/integrations/generic/../generic/webhook", "ftp://x" + GENERIC])
def test_path_tricks_reach_no_endpoint_and_store_nothing(live, target):
    """Double slashes, dot segments and backslashes are not normalised into a webhook path (a proxy's rule for
    the real path would not see them): 404 or 400, and the signed delivery is not stored."""
    settings, address, _ = live
    ident = f"r30_path_{abs(hash(target))}"
    answer = exchange(address, signed(ident, target, connection="close"), wait=4)
    assert statuses(answer) in ([404], [400]), answer[:300]
    assert ident not in stored(settings)


@pytest.mark.parametrize("expect", ["100-CONTINUE", "100-Continue"])
def test_expect_continue_in_any_case_with_an_oversize_length_is_413_before_the_body(live, expect):
    """The body is never asked for: no ``100 Continue``, 413 and the connection closed, with nothing sent."""
    _, address, _ = live
    head = request_head(GENERIC, {"content-type": "application/json", "content-length": str(2 * 1024 * 1024),
                                  "expect": expect}) + b"\r\n"
    started = time.monotonic()
    answer = exchange(address, head, wait=4)
    assert time.monotonic() - started < 3, answer[:300]
    assert statuses(answer) == [413] and b"100 Continue" not in answer, answer[:300]
    assert b"connection: close" in answer.lower()


def test_an_http10_request_expecting_100_continue_is_sent_no_1xx(live):
    """RFC 9110 15.2: no 1xx to an HTTP/1.0 client (10.1.1: its expectation is ignored). httptools sent
    ``HTTP/1.1 100 Continue``, which a 1.0 client or proxy reads as the final answer; h11 sent none."""
    settings, address, _ = live
    kw = generic_request(generic_body(), "r30_http10_expect")
    lines = "".join(f"{k}: {v}\r\n" for k, v in kw["headers"].items())
    data = (f"POST {GENERIC} HTTP/1.0\r\n{lines}content-length: {len(kw['content'])}\r\nexpect: 100-continue\r\n"
            "connection: close\r\n\r\n").encode() + kw["content"]
    answer = exchange(address, data, wait=4)
    assert statuses(answer) == [200] and b" 100 " not in answer, answer[:300]
    assert "r30_http10_expect" in stored(settings)
    one_one = signed("r30_http11_expect", expect="100-continue", connection="close")
    assert exchange(address, one_one, wait=4).startswith(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 ")
