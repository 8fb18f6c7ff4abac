"""Round 31: the same bytes read alike by both HTTP parsers of the real uvicorn server (httptools and, without
it, h11), over loopback with raw sockets; and one delivery id raced under many bodies.

Found and fixed:

- httptools keeps the whitespace after a header value (it strips only the whitespace before it), which RFC 9110
  5.5 says is no part of the value and h11 strips: ``content-length: 120 `` was a 400 (``content_length``) on
  httptools and accepted on h11; ``webhook-timestamp: 1733000000 `` a ``bad_timestamp`` 401 (counted by the
  security alert, a wrong lead); a Standard Webhooks id, a ServiceNow timestamp, a Slack timestamp or signature
  followed by a space the same; and ``expect: 100-continue `` sent no ``100 Continue`` (a client waiting for it
  stalled). The bounded httptools protocol
  strips it now (``webhooks/receiver/server.py``, ``on_header``).

- on h11, an empty line before a request line (a client ending a POST body with an extra CRLF, which RFC 9112 2.2
  says a server SHOULD ignore, as httptools does) made the next delivery on the connection a 400, not stored. It is
  dropped now before the head's checks look at it (``webhooks/receiver/h11_protocol.py``); a bare LF there stays
  refused on h11 (httptools takes it).

- on h11, a control character other than NUL, CR and LF in a header value (ESC, DEL...) was taken, where httptools
  answers 400, and in a trailer field after a chunked body the same: now 400 on both (``h11_protocol.py``,
  ``protocol_base.CONTROL_IN_VALUE``).

- on h11, whitespace after a chunk size (``5 ``) and a chunk size of 2**64 or more (which a proxy counting in 64
  bits reads as another size) were taken, h11 then waiting for that many bytes until the body deadline; httptools
  answers 400 at once, and now h11 does too (``h11_protocol._StrictChunkedReader``).

Held: six bodies under one delivery id sent at once (Standard Webhooks, ServiceNow, Jira) store exactly one,
answer the five others 409 and keep each of them in quarantine; the first stands when any of them is sent again.
A charset label never changes how a body is read (UTF-8, RFC 8259): UTF-16 or Latin-1 bytes are quarantined.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import re
import socket
import threading
import time
import zlib

import httpx
import pytest

from tests.test_round28_receiver_attacks import exchange, request_head, statuses
from tests.test_webhooks_receiver import SN_BODY
from tests.webhook_helpers import (
    GENERIC,
    JIRA,
    SECRETS,
    SERVICENOW,
    SLACK_EVENTS,
    generic_body,
    generic_request,
    inbox_rows,
    jira_body,
    jira_request,
    served_with,
    servicenow_request,
    slack_request,
)
from webhooks.receiver.verify import _generic_key


@pytest.fixture(scope="module", params=["httptools", "h11"])
def live(request, tmp_path_factory):
    with served_with(request.param, tmp_path_factory.mktemp(f"round31_parsers_{request.param}"), failure_burst=1000,
                     body_timeout_seconds=3.0, head_timeout_seconds=3.0) as (settings, address, _app):
        yield settings, address


def stored(settings, source: str | None = None) -> dict[str, str]:
    where = f" where source = '{source}'" if source else ""
    return dict(inbox_rows(settings, f"select delivery_id, body from webhook_events{where}"))


def _raw(path: str, kw: dict, pad: str, length_too: bool = True, **extra: str) -> bytes:
    """The request with ``pad`` after its header values (the signing ones included; Content-Length when
    ``length_too``), closing the connection."""
    body = kw["content"]
    headers = {k: v + pad for k, v in {**kw["headers"], "connection": "close", **extra}.items()}
    length = str(len(body)) + (pad if length_too else "")
    return request_head(path, {**headers, "content-length": length}) + b"\r\n" + body


def _slack_event(tag: str) -> bytes:
    return json.dumps({"type": "event_callback", "event_id": f"EvR31{tag}", "event": {"type": "app_mention"}}).encode()


def _sn_body(tag: str) -> bytes:
    return json.dumps({**json.loads(SN_BODY), "fields": {"state": "2", "tag": tag}}).encode()


SIGNED = {  # one body per tag: ServiceNow and Jira refuse a signed body already accepted under another id
    "generic": lambda tag: (GENERIC, generic_request(generic_body(n=tag), f"r31_ws_{tag}"), f"r31_ws_{tag}"),
    "servicenow": lambda tag: (SERVICENOW, servicenow_request(_sn_body(tag), f"incident:r31ws:{tag}"),
                               f"incident:r31ws:{tag}"),
    "slack": lambda tag: (SLACK_EVENTS, slack_request(_slack_event(tag)), f"EvR31{tag}"),
    "jira": lambda tag: (JIRA, jira_request(jira_body(zlib.crc32(tag.encode()) % 10**9), f"r31-ws-{tag}"),
                         f"r31-ws-{tag}"),
}


@pytest.mark.parametrize("length_too", [True, False], ids=["every_header", "not_the_length"])
@pytest.mark.parametrize("pad", [" ", " \t "], ids=["space", "space_tab"])
@pytest.mark.parametrize("endpoint", list(SIGNED))
def test_whitespace_after_a_header_value_is_no_part_of_it_on_either_parser(live, endpoint, pad, length_too):
    """Header values followed by whitespace, the signature, timestamp and id among them: accepted and stored under
    the id without it, on both parsers (httptools answered 400 for the length, else 401 bad_timestamp or
    bad_signature, except on Jira, whose signature and id the receiver stripped itself)."""
    settings, address = live
    tag = f"{endpoint}{len(pad)}{'t' if chr(9) in pad else 's'}{int(length_too)}"
    path, kw, ident = SIGNED[endpoint](tag)
    answer = exchange(address, _raw(path, kw, pad, length_too), wait=4)
    assert statuses(answer) == [200] and answer.endswith(b"accepted"), answer[-300:]
    assert ident in stored(settings)
    again = exchange(address, _raw(path, kw, ""), wait=4)  # the same delivery without the padding: a duplicate
    assert again.endswith(b"duplicate"), again[-300:]


def test_expect_100_continue_followed_by_whitespace_is_answered_100_on_either_parser(live):
    """httptools compared ``100-continue `` with ``100-continue``: no 100 was sent, so a client waiting for it
    before sending its body stalled until its own timeout (h11 sent it)."""
    settings, address = live
    path, kw, ident = SIGNED["generic"]("expect")
    answer = exchange(address, _raw(path, kw, " ", expect="100-continue"), wait=4)
    assert answer.startswith(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 "), answer[:300]
    assert ident in stored(settings)


def _at_once(address, requests: list[tuple[str, dict]]) -> list[tuple[int, str]]:
    answers: list[tuple[int, str] | None] = [None] * len(requests)
    start = threading.Barrier(len(requests))

    def send(i: int) -> None:
        path, kw = requests[i]
        with httpx.Client(base_url=f"http://{address[0]}:{address[1]}", timeout=20) as client:
            start.wait(10)
            reply = client.post(path, **kw)
            answers[i] = (reply.status_code, reply.text)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(requests))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert all(a is not None for a in answers), answers
    return answers  # type: ignore[return-value]


RACERS = 6  # bodies sent at once under one delivery id


def _bodies(source: str) -> tuple[str, list[tuple[str, dict]]]:
    if source == "generic":
        return "r31_race", [(GENERIC, generic_request(generic_body(n=i), "r31_race")) for i in range(RACERS)]
    if source == "servicenow":
        sn = json.loads(SN_BODY)
        return "incident:r31:race", [(SERVICENOW, servicenow_request(
            json.dumps({**sn, "fields": {"state": str(i)}}).encode(), "incident:r31:race")) for i in range(RACERS)]
    jira = json.loads(jira_body(31999))
    return "r31-jira-race", [(JIRA, jira_request(json.dumps({**jira, "n": i}).encode(), "r31-jira-race"))
                             for i in range(RACERS)]


@pytest.mark.parametrize("source", ["generic", "servicenow", "jira"])
def test_bodies_under_one_delivery_id_at_once_store_one_and_keep_the_rest_in_quarantine(live, source):
    settings, address = live
    ident, requests = _bodies(source)
    answers = _at_once(address, requests)
    assert sorted(status for status, _ in answers) == [200] + [409] * (RACERS - 1), answers
    assert all(text.startswith('{"error":"conflict:') for status, text in answers if status == 409), answers
    winner = next(i for i, (status, _) in enumerate(answers) if status == 200)
    first = requests[winner][1]["content"].decode()
    assert stored(settings, source)[ident] == first
    kept = {b for (b,) in inbox_rows(settings, f"select body_b64 from webhook_quarantine where source = '{source}' "
                                               f"and delivery_id like '{ident}#sha256:%'")}
    assert len(kept) == RACERS - 1  # every losing body is evidence, none dropped
    # sent again, in any order: the first stands, the others are 409 again and not kept twice
    again = [httpx.post(f"http://{address[0]}:{address[1]}{path}", timeout=10, **kw) for path, kw in requests]
    assert [a.status_code for a in again] == [200 if i == winner else 409 for i in range(RACERS)]
    assert again[winner].text == "duplicate" and stored(settings, source)[ident] == first
    assert inbox_rows(settings, f"select count(*) from webhook_quarantine where source = '{source}' and "
                                f"delivery_id like '{ident}#sha256:%'")[0][0] == RACERS - 1


def _keep_alive(ident: str, n: int, **extra: str) -> bytes:
    kw = generic_request(generic_body(n=n), ident)
    body = kw["content"]
    return request_head(GENERIC, {**kw["headers"], "content-length": str(len(body)), **extra}) + b"\r\n" + body


@pytest.mark.parametrize("blank", [b"\r\n", b"\r\n\r\n\r\n"], ids=["one", "three"])
def test_empty_lines_before_a_pipelined_delivery_are_ignored_on_either_parser(live, blank):
    """RFC 9112 2.2: a client may end a POST body with an extra CRLF, and a server SHOULD ignore empty lines before
    a request line. httptools did; h11 answered the next delivery on the connection 400 ("no request line") and
    it was not stored."""
    settings, address = live
    tag = len(blank)
    first, second = f"r31_blank_first_{tag}", f"r31_blank_second_{tag}"
    answer = exchange(address, _keep_alive(first, 1) + blank + _keep_alive(second, 2, connection="close"), wait=4)
    assert statuses(answer) == [200, 200] and answer.count(b"accepted") == 2, answer[-400:]
    assert {first, second} <= set(stored(settings))


def test_a_folded_header_behind_empty_lines_is_still_refused(live):
    """The empty lines are dropped before the head is looked at: a folded header line after them (h11 unfolds it)
    is still 400, and the signed delivery carrying it is not stored."""
    settings, address = live
    kw = generic_request(generic_body(n=3), "r31_blank_folded")
    body = kw["content"]
    folded = request_head(GENERIC, {**kw["headers"], "content-length": str(len(body)), "connection": "close"}) \
        + b"x-pad: a\r\n b\r\n\r\n" + body
    answer = exchange(address, _keep_alive("r31_blank_before_fold", 4) + b"\r\n\r\n" + folded, wait=4)
    assert statuses(answer) in ([200], [200, 400]), answer[-400:]
    assert "r31_blank_before_fold" in stored(settings) and "r31_blank_folded" not in stored(settings)


def test_a_connection_sending_only_empty_lines_is_closed_by_the_head_deadline(live):
    """Empty lines are not a head in progress that may last for ever: the head deadline (3 s here) closes it."""
    _, address = live
    started, answer = time.monotonic(), b""
    with socket.create_connection(address, timeout=6) as conn, contextlib.suppress(OSError):
        while time.monotonic() - started < 6 and not answer:
            conn.sendall(b"\r\n")
            conn.settimeout(0.25)
            with contextlib.suppress(TimeoutError):
                answer = conn.recv(4096)
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
    assert time.monotonic() - started < 4.5


@pytest.mark.parametrize("control", [b"\x01", b"\x08", b"\x1b", b"\x1f", b"\x7f"],
                         ids=["soh", "bs", "esc", "us", "del"])
def test_a_control_character_in_a_header_value_is_400_on_either_parser(live, control):
    """httptools refuses a header value holding a control character (RFC 9110 5.5: no field-vchar); h11 took all
    but NUL, CR and LF and served the request, so which requests exist depended on the parser. A signed delivery
    carrying one is refused on both and not stored; a tab inside a value is not a control character here."""
    settings, address = live
    ident = f"r31_ctl_{control.hex()}"
    kw = generic_request(generic_body(n=ident), ident)
    body = kw["content"]
    head = request_head(GENERIC, {**kw["headers"], "content-length": str(len(body)), "connection": "close"})
    answer = exchange(address, head + b"x-note: a" + control + b"b\r\n\r\n" + body, wait=4)
    assert statuses(answer) == [400] and b"connection: close" in answer.lower(), answer[:300]
    assert ident not in stored(settings)
    tabbed = exchange(address, head + b"x-note: a\tb\r\n\r\n" + body, wait=4)
    assert statuses(tabbed) == [200] and ident in stored(settings), tabbed[-300:]


CHUNK_LINES = {"space_after_size": b"5 ", "tab_after_size": b"5\t", "size_of_2_64": b"10000000000000000",
               "size_over_2_64": b"fffffffffffffffffff"}


@pytest.mark.parametrize("line", list(CHUNK_LINES), ids=list(CHUNK_LINES))
def test_a_chunk_size_httptools_refuses_is_refused_at_once_on_either_parser(live, line):
    """h11 took whitespace after a chunk size and sizes of 2**64 or more (a proxy counting in 64 bits reads another
    size), and waited for that many bytes until the body deadline: 400 at once on both now, nothing stored, and
    nothing behind it served."""
    settings, address = live
    ident = f"r31_chunk_{line}"
    kw = generic_request(generic_body(n=ident), ident)
    head = request_head(GENERIC, {**kw["headers"], "transfer-encoding": "chunked"}) + b"\r\n"
    started = time.monotonic()
    answer = exchange(address, head + CHUNK_LINES[line] + b"\r\nhello\r\n0\r\n\r\n" + HEALTH_CHECK, wait=4)
    assert statuses(answer) == [400] and time.monotonic() - started < 2.5, answer[:300]
    assert ident not in stored(settings)


HEALTH_CHECK = b"GET /healthz HTTP/1.1\r\nhost: r\r\nconnection: close\r\n\r\n"


@pytest.mark.parametrize("content_type, encoding, expected", [
    ("application/json; charset=utf-16", "utf-16", 400),  # the label does not make other bytes JSON: quarantined
    ("application/json; charset=utf-16", "utf-8", 200),  # RFC 8259 11: no charset parameter; the bytes are UTF-8
    ("application/json; charset=iso-8859-1", "iso-8859-1", 400),  # \xe9 is no UTF-8: quarantined, not guessed at
    ("Application/JSON ; charset=\"UTF-8\"", "utf-8", 200),
], ids=["utf16_body", "utf16_label_only", "latin1_body", "quoted_charset"])
def test_a_charset_label_never_changes_how_the_body_is_read(live, content_type, encoding, expected):
    """Held: the body is read as UTF-8 whatever the label says (RFC 8259 8.1, 11); bytes that are not UTF-8 are kept
    in quarantine, never decoded as the label asks."""
    settings, address = live
    ident = f"r31_charset_{encoding}_{expected}_{len(content_type)}"
    body = json.dumps({"type": "task.created", "timestamp": "2026-12-02T10:00:00+00:00", "data": {"name": "caf\u00e9"}},
                      ensure_ascii=False).encode(encoding)
    kw = generic_request(generic_body(), ident)  # its headers, re-signed below over these bytes
    kw = {"content": body, "headers": {**kw["headers"], **_signed_bytes(ident, body), "content-type": content_type}}
    answer = exchange(address, _raw(GENERIC, kw, ""), wait=4)
    assert statuses(answer) == [expected], answer[-300:]
    if expected == 200:
        assert json.loads(stored(settings)[ident])["data"]["name"] == "caf\u00e9"
    else:
        assert ident not in stored(settings)
        kept = dict(inbox_rows(settings, "select body_b64, reason from webhook_quarantine where source = 'generic'"))
        assert kept[base64.b64encode(body).decode()].startswith("malformed"), "the signed body is kept as evidence"


def _signed_bytes(ident: str, body: bytes) -> dict[str, str]:
    """Standard Webhooks headers over raw bytes (the sandbox's signer takes text)."""
    stamp = str(int(time.time()))
    mac = hmac.new(_generic_key(SECRETS["generic"]), f"{ident}.{stamp}.".encode() + body, hashlib.sha256).digest()
    return {"webhook-id": ident, "webhook-timestamp": stamp,
            "webhook-signature": "v1," + base64.b64encode(mac).decode()}


@pytest.mark.parametrize("trailer", [b"x-t: a\x01b", b"x-t: a\x1bb", b"x-t: a\x7fb"], ids=["soh", "esc", "del"])
def test_a_control_character_in_a_trailer_is_400_on_either_parser(live, trailer):
    """The same rule after a chunked body: httptools refused it, h11 took the trailer (and the delivery)."""
    settings, address = live
    ident = f"r31_trailer_{trailer[-2]:02x}"
    kw = generic_request(generic_body(n=ident), ident)
    body = kw["content"]
    head = request_head(GENERIC, {**kw["headers"], "transfer-encoding": "chunked", "connection": "close"})
    answer = exchange(address, head + b"\r\n%x\r\n" % len(body) + body + b"\r\n0\r\n" + trailer + b"\r\n\r\n", wait=4)
    assert statuses(answer) == [400], answer[:300]
    assert ident not in stored(settings)


def _second_head_on_a_used_connection(address, reads: list[bytes]) -> bytes:
    """One request answered on a kept-open connection, then ``reads`` sent one by one (a pause between them)."""
    with socket.create_connection(address, timeout=5) as conn:
        conn.sendall(b"GET /healthz HTTP/1.1\r\nhost: r\r\n\r\n")
        first = b""
        while b"\r\n\r\n" not in first:
            first += conn.recv(4096)
        assert first.startswith(b"HTTP/1.1 200 "), first[:200]
        length = int(re.search(rb"(?i)content-length: *(\d+)", first).group(1))
        while len(first.split(b"\r\n\r\n", 1)[1]) < length:
            first += conn.recv(4096)
        for part in reads:
            conn.sendall(part)
            time.sleep(0.2)
        answer = b""
        with contextlib.suppress(OSError):
            while chunk := conn.recv(4096):
                answer += chunk
        return answer


@pytest.mark.parametrize("reads", [
    [b"\r\n\r\nGET /healthz HTTP/1.1\r\nhost: a\r\nx: a\r\n b\r\nconnection: close\r\n\r\n"],
    [b"\r\n\r\nGET /healthz HTTP/1.1\r\nhost: a\nx: a\r\nconnection: close\r\n\r\n"],
    [b"\r\n", b"\r\nGET /healthz HTTP/1.1\r\nhost: a\r\ntransfer-encoding:\r\n chunked\r\nconnection: close\r\n\r\n"
               b"0\r\n\r\n"],
], ids=["folded_same_read", "bare_lf_same_read", "folded_te_after_a_blank_read"])
def test_empty_lines_on_a_used_connection_never_hide_the_next_head_from_its_checks(live, reads):
    """Review of round 31: on h11, after a first answer on a kept-open connection, empty lines before the next
    request were taken for its head's end, so the folded-header, bare-LF and size checks skipped the head behind
    them: a folded Transfer-Encoding was de-chunked and served 200. Refused 400 on either parser, as on a new one."""
    _, address = live
    answer = _second_head_on_a_used_connection(address, reads)
    assert statuses(answer) == [400], answer[-400:]


def test_a_blank_line_split_across_reads_before_a_head_is_not_a_bare_lf(live):
    """``\\r\\n\\r`` then ``\\nGET``: the carried-over tail of the blank lines was read as a bare LF (400)."""
    _, address = live
    answer = _second_head_on_a_used_connection(
        address, [b"\r\n\r", b"\nGET /healthz HTTP/1.1\r\nhost: a\r\nconnection: close\r\n\r\n"])
    assert statuses(answer) == [200], answer[-400:]
