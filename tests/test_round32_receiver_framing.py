"""Round 32: trailers and absolute-form targets, over loopback with raw sockets against the real uvicorn server, on
both of its HTTP parsers (httptools and, without it, h11).

Found and fixed:

- on h11, a trailer section after a chunked body was bounded only while it was incomplete (h11's own
  ``max_incomplete_event_size``): one arriving whole in a read was taken at any size (a 70 KB trailer, where
  httptools answers 431 as the README says), and on either parser a section could hold as many fields as fit
  in 64 KiB: 12,000 tiny trailer fields cost h11 150 ms of the one event loop, unsigned, the cost that
  ``MAX_HEADERS`` had removed from heads in round 29. A trailer section is now held to the head's bounds on
  both parsers: 431 past 64 KiB or past ``MAX_HEADERS`` fields (``h11_protocol._StrictChunkedReader``,
  ``server.BoundedHttpToolsProtocol.on_header``);
- on h11, an absolute-form target was cut at its first slash and the rest served, whatever its authority:
  ``http:///metrics`` (no host), ``https://r:99999/healthz`` (no such port), ``http://r\\@evil/healthz`` (a
  backslash, which a WHATWG URL parser reads as a slash: host ``r``, path ``/@evil/healthz``), ``http://r``
  and ``http://r?x`` (no path: a 404 where httptools answers 400). httptools' URL parser refuses each of them,
  so which requests were served depended on the parser. h11 now takes the authority httptools takes and
  answers 400 to the rest (``h11_protocol._origin_form``);
- both parsers served a request written as HTTP/0.9 or HTTP/2.0 (h11 any ``HTTP/d.d``) with headers and a
  chunked body, de-chunked and stored, where ``Transfer-Encoding`` on HTTP/1.0 is refused as framing a proxy
  reads another way (an HTTP/0.9 request has no headers at all; a proxy answers 505 to a version it does not
  speak). Every version but 1.0 and 1.1 is now 505 before any route (``protocol_base.SERVED_VERSIONS``), or
  httptools' own 400 where its parser refuses the version first;
- on h11, a Content-Length sent twice (equal values) or as a list (``5, 5``) was merged, and a
  ``Transfer-Encoding: chunked`` followed by a tab was stripped to ``chunked``, and the delivery stored; httptools
  refuses each in its parser. h11 now answers 400 too, once the head is complete, whether it came in one read,
  in several, or pipelined behind another request (``h11_protocol._doubtful_framing``).

Held: well-formed trailers (up to ``MAX_HEADERS`` of them) are dropped and the delivery stored; userinfo, IPv6
literals, an upper-case scheme and port 65535 still route on both parsers.
"""

from __future__ import annotations

import socket
import time

import pytest

from tests.test_round28_receiver_attacks import exchange, request_head, statuses
from tests.webhook_helpers import GENERIC, generic_body, generic_request, inbox_rows, served_with
from webhooks.receiver.protocol_base import MAX_HEAD_BYTES, MAX_HEADERS


@pytest.fixture(scope="module", params=["httptools", "h11"])
def live(request, tmp_path_factory):
    with served_with(request.param, tmp_path_factory.mktemp(f"round32_framing_{request.param}"), failure_burst=1000,
                     body_timeout_seconds=3.0, head_timeout_seconds=3.0) as (settings, address, _app):
        yield settings, address


def stored(settings) -> set[str]:
    return {d for (d,) in inbox_rows(settings, "select delivery_id from webhook_events")}


def with_trailers(msg_id: str, trailers: bytes, target: str = GENERIC) -> bytes:
    """A signed generic delivery sent chunked, then ``trailers`` (whole lines) and the blank line."""
    kw = generic_request(generic_body(), msg_id)
    body = kw["content"]
    head = request_head(target, {**kw["headers"], "transfer-encoding": "chunked", "connection": "close"})
    return head + b"\r\n" + b"%x\r\n" % len(body) + body + b"\r\n0\r\n" + trailers + b"\r\n"


TRAILER_FLOODS = {
    "one_field_past_64_KiB": (b"x-t: " + b"a" * (MAX_HEAD_BYTES + 100) + b"\r\n", b"exceed 64 KiB"),
    "many_fields_past_64_KiB": (b"".join(b"x-t%d: %s\r\n" % (i, b"a" * 1000) for i in range(80)), b"exceed 64 KiB"),
    "one_field_past_the_cap": (b"a:b\r\n" * (MAX_HEADERS + 1), b"header fields"),
    "twelve_thousand_tiny_fields": (b"a:b\r\n" * 12000, b"header fields"),
}


@pytest.mark.parametrize("flood", TRAILER_FLOODS, ids=list(TRAILER_FLOODS))
def test_trailers_past_the_head_bounds_are_431_on_both_parsers_and_nothing_is_stored(live, flood):
    """On h11 each of these (sent in one write) was answered 200 and stored; on httptools the fields past the cap
    were taken (each a Python callback) while under 64 KiB. Now 431 and closed on both, at once."""
    settings, address = live
    trailers, says = TRAILER_FLOODS[flood]
    started = time.monotonic()
    answer = exchange(address, with_trailers(f"r32_trailers_{flood}", trailers), wait=4)
    assert statuses(answer) == [431], answer[:300]
    assert says in answer and b"connection: close" in answer.lower() and b"nosniff" in answer.lower()
    assert time.monotonic() - started < 2.5, answer[:300]
    assert f"r32_trailers_{flood}" not in stored(settings)


def test_trailers_trickled_past_64_KiB_are_431_on_both_parsers(live):
    """A section arriving in small reads: h11's own bound was a 400 naming no fix; now the 431 of a head."""
    settings, address = live
    request = with_trailers("r32_trailers_trickled", b"x-t: " + b"a" * (MAX_HEAD_BYTES + 4096) + b"\r\n")
    answer = b""
    with socket.create_connection(address, timeout=4) as conn:
        try:
            for at in range(0, len(request), 4096):
                conn.sendall(request[at:at + 4096])
                time.sleep(0.002)
        except OSError:  # closed by the refusal while still sending
            pass
        try:
            while chunk := conn.recv(65536):
                answer += chunk
        except (TimeoutError, ConnectionResetError):
            pass
    assert statuses(answer) == [431], answer[:300]
    assert "r32_trailers_trickled" not in stored(settings)


def test_trailers_within_the_bounds_are_dropped_and_the_delivery_is_stored(live):
    """``MAX_HEADERS`` trailer fields (and a signature among them, never read as a header) still serve."""
    settings, address = live
    trailers = b"webhook-signature: v1,AAAA\r\n" + b"".join(b"x-t%d: 1\r\n" % i for i in range(MAX_HEADERS - 1))
    answer = exchange(address, with_trailers("r32_trailers_ok", trailers), wait=4)
    assert statuses(answer) == [200] and answer.endswith(b"accepted"), answer[:300]
    assert "r32_trailers_ok" in stored(settings)


REFUSED_TARGETS = ["http:///healthz", "https://r:99999/healthz", "http://r:65536/healthz", "http://r\\@evil/healthz",
                   "http://r", "http://r?x=1", "http://r:80", "http://r*", "http://r:/healthz", "http://r_x/healthz",
                   "http://r@/healthz", "http://[::1/healthz", "http://r%41/healthz", "http://r!/healthz"]


@pytest.mark.parametrize("target", REFUSED_TARGETS)
def test_an_absolute_form_target_httptools_refuses_is_400_on_h11_too(live, target):
    """h11 took anything up to the first slash as the authority (``http:///healthz``, a port past 65535, a
    backslash) and served the rest, or answered 404 to a target with no path, where httptools answers 400."""
    _, address = live
    answer = exchange(address, f"GET {target} HTTP/1.1\r\nhost: r\r\n\r\n".encode(), wait=4)
    assert statuses(answer) == [400], answer[:300]
    assert b'"status"' not in answer and b"connection: close" in answer.lower()


def test_a_signed_delivery_behind_a_backslash_authority_is_not_stored(live):
    """``POST http://r\\@evil/api/...``: read by a WHATWG URL parser as the path ``/@evil/api/...`` (no rule of a
    proxy for the webhook path applies), it was stored on h11; 400 on both parsers now."""
    settings, address = live
    kw = generic_request(generic_body(), "r32_backslash")
    body = kw["content"]
    request = request_head("http://r\\@evil" + GENERIC, {**kw["headers"], "content-length": str(len(body))}) \
        + b"\r\n" + body
    assert statuses(exchange(address, request, wait=4)) == [400]
    assert "r32_backslash" not in stored(settings)


@pytest.mark.parametrize("target", ["http://u:p@r/healthz", "http://@r/healthz", "HTTP://R/healthz",
                                    "http://[::1]/healthz", "https://1.2.3.4:65535/healthz", "http://r:000080/healthz",
                                    "http://-r..x/healthz?a=1"])
def test_absolute_form_targets_httptools_takes_still_route_on_both_parsers(live, target):
    _, address = live
    answer = exchange(address, f"GET {target} HTTP/1.1\r\nhost: r\r\nconnection: close\r\n\r\n".encode(), wait=4)
    assert statuses(answer) == [200] and b'"status":"ok"' in answer, answer[:300]


def test_a_signed_delivery_in_absolute_form_is_still_stored_on_both_parsers(live):
    settings, address = live
    kw = generic_request(generic_body(), "r32_absolute")
    body = kw["content"]
    request = request_head("https://receiver.example:443" + GENERIC, {**kw["headers"], "content-length": str(len(body)),
                                                                       "connection": "close"}) + b"\r\n" + body
    assert statuses(exchange(address, request, wait=4)) == [200]
    assert "r32_absolute" in stored(settings)


def _signed_in_version(msg_id: str, version: str, chunked: bool) -> bytes:
    kw = generic_request(generic_body(), msg_id)
    body = kw["content"]
    framing = {"transfer-encoding": "chunked"} if chunked else {"content-length": str(len(body))}
    head = request_head(GENERIC, {**kw["headers"], **framing}).replace(b"HTTP/1.1", version.encode(), 1)
    return head + b"\r\n" + (b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n" if chunked else body)


@pytest.mark.parametrize("version", ["HTTP/0.9", "HTTP/2.0"])
@pytest.mark.parametrize("chunked", [True, False], ids=["chunked", "length"])
def test_a_delivery_in_http09_or_http2_syntax_is_505_on_both_parsers_and_not_stored(live, version, chunked):
    """Both parsers served these, a chunked body de-chunked, where ``Transfer-Encoding`` on HTTP/1.0 is refused as
    framing a proxy reads another way: an HTTP/0.9 request has no headers at all, and a proxy answers 505 to a
    version it does not speak, so a body it never framed was stored here."""
    settings, address = live
    msg_id = f"r32_{version[5:]}_{chunked}"
    answer = exchange(address, _signed_in_version(msg_id, version, chunked), wait=4)
    assert statuses(answer) == [505], answer[:300]
    assert b"HTTP/1.1" in answer and b"connection: close" in answer.lower() and b"nosniff" in answer.lower()
    assert msg_id not in stored(settings)


@pytest.mark.parametrize("version", ["HTTP/1.2", "HTTP/3.1", "HTTP/9.9"])
def test_other_versions_are_refused_on_both_parsers(live, version):
    """httptools refuses these in its parser (400); h11 took any ``HTTP/d.d`` as 1.1 and stored the delivery."""
    settings, address = live
    msg_id = f"r32_{version[5:]}"
    answer = exchange(address, _signed_in_version(msg_id, version, chunked=True), wait=4)
    assert statuses(answer) in ([400], [505]), answer[:300]
    assert msg_id not in stored(settings)


@pytest.mark.parametrize("version", ["HTTP/1.0", "HTTP/1.1"])
def test_http10_and_http11_deliveries_are_still_stored(live, version):
    settings, address = live
    msg_id = f"r32_served_{version[5:]}"
    answer = exchange(address, _signed_in_version(msg_id, version, chunked=False).replace(
        b"\r\n\r\n", b"\r\nconnection: close\r\n\r\n", 1), wait=4)
    assert statuses(answer) == [200], answer[:300]
    assert msg_id in stored(settings)


DOUBTFUL = {"two_equal_lengths": ("content-length", "{n}\r\ncontent-length: {n}"),
            "length_list": ("content-length", "{n}, {n}"),
            "chunked_then_tab": ("transfer-encoding", "chunked\t"),
            "chunked_then_space_tab": ("transfer-encoding", "chunked \t ")}


def _doubtful(msg_id: str, shape: str) -> bytes:
    kw = generic_request(generic_body(), msg_id)
    body = kw["content"]
    name, value = DOUBTFUL[shape]
    head = request_head(GENERIC, {**kw["headers"], "connection": "close"}) \
        + f"{name}: {value.format(n=len(body))}\r\n\r\n".encode()
    return head + (b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n" if name == "transfer-encoding" else body)


@pytest.mark.parametrize("shape", DOUBTFUL, ids=list(DOUBTFUL))
@pytest.mark.parametrize("delivery", ["one_write", "split_head", "pipelined"])
def test_framing_httptools_refuses_is_400_on_h11_too_however_the_head_arrives(live, shape, delivery):
    """A Content-Length sent twice (or ``5, 5``) and a ``Transfer-Encoding: chunked`` followed by a tab: httptools
    answers 400, h11 merged the lengths and stripped the tab and stored the delivery. Now 400 on both, whether the
    head comes in one read, split across two, or pipelined behind a health check (answered first)."""
    settings, address = live
    msg_id = f"r32_doubtful_{shape}_{delivery}"
    request = _doubtful(msg_id, shape)
    if delivery == "pipelined":
        answer = exchange(address, b"GET /healthz HTTP/1.1\r\nhost: r\r\n\r\n" + request, wait=4)
        # httptools refuses a doubled length in its parser while the health check's answer is owed: that answer
        # comes, with connection: close, and nothing after it (round 30); h11 answers the refusal in its turn
        assert statuses(answer) in ([200, 400], [200]) and b'"status":"ok"' in answer, answer[:600]
        assert b"connection: close" in answer.lower(), answer[:600]
    elif delivery == "split_head":
        at = request.index(b"\r\n\r\n") - 3
        answer = b""
        with socket.create_connection(address, timeout=4) as conn:
            conn.sendall(request[:at])
            time.sleep(0.2)
            try:
                conn.sendall(request[at:])
                while chunk := conn.recv(65536):
                    answer += chunk
            except (OSError, TimeoutError):
                pass
        assert statuses(answer) == [400], answer[:300]
    else:
        answer = exchange(address, request, wait=4)
        assert statuses(answer) == [400], answer[:300]
    assert msg_id not in stored(settings)


def test_one_length_and_chunked_with_spaces_still_serve_on_both_parsers(live):
    settings, address = live
    kw = generic_request(generic_body(), "r32_framing_ok")
    body = kw["content"]
    spaced = request_head(GENERIC, {**kw["headers"], "connection": "close"}) \
        + b"transfer-encoding:  chunked  \r\n\r\n" + b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n"
    assert statuses(exchange(address, spaced, wait=4)) == [200]
    assert "r32_framing_ok" in stored(settings)
