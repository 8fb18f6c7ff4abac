"""Round 18 attacks that already held, kept so they keep holding: HTTP framing and smuggling shapes over
raw sockets against the real uvicorn server, pipelining, Expect: 100-continue, odd methods and paths,
JSON edges and delivery-id collisions. Found weaknesses are in test_webhooks_round18_attacks.py."""

from __future__ import annotations

import hashlib
import json

import httpx
import pytest

from tests.test_webhooks_attacks import head, raw_exchange
from tests.webhook_helpers import (
    GENERIC,
    SLACK_ACTIONS,
    SLACK_EVENTS,
    LiveReceiver,
    generic_body,
    generic_request,
    inbox_rows,
    settings_for,
    slack_request,
)
from webhooks.app import create_app


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    settings = settings_for(tmp_path_factory.mktemp("round18"), body_timeout_seconds=1.0, failure_burst=1000)
    with LiveReceiver(create_app(settings)) as served, httpx.Client(base_url=served.url, timeout=10) as client:
        host, port = served.url.removeprefix("http://").split(":")
        yield settings, client, (host, int(port))


def stored(settings) -> dict[tuple[str, str], str]:
    return {(s, d): t for s, d, t in inbox_rows(settings, "select source, delivery_id, event_type from webhook_events")}


def status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.") else 0


def framed(msg_id: str, **extra: str) -> tuple[dict[str, str], bytes]:
    kw = generic_request(generic_body(), msg_id)
    return {**kw["headers"], "connection": "close", **extra}, kw["content"]


def test_smuggling_shapes_are_refused_by_the_parser_and_nothing_is_stored(live):
    """Signed and otherwise valid: each framing a front proxy could read differently is 400 at httptools."""
    settings, _, addr = live
    cases = {}
    for name, extra, body_fn in (
        ("obs_fold", {"x-pad": "a\r\n  folded"}, None),
        ("cl_plus", {"content-length": "+{n}"}, None),
        ("cl_twice_same", {"content-length": "{n}", "Content-Length": "{n}"}, None),
        ("cl_list", {"content-length": "{n}, {n}"}, None),
        ("te_space_before_colon", {"transfer-encoding ": "chunked"}, lambda b: b"0\r\n\r\n"),
        ("te_xchunked", {"transfer-encoding": "xchunked"}, lambda b: b"0\r\n\r\n"),
    ):
        headers, body = framed(f"msg_smuggle_{name}")
        n = str(len(body))
        headers.update({k: v.replace("{n}", n) for k, v in extra.items()})
        if "content-length" not in extra and "Content-Length" not in extra and "transfer" not in str(extra):
            headers["content-length"] = n
        cases[name] = head(GENERIC, headers) + b"\r\n" + (body_fn(body) if body_fn else body)
    headers, body = framed("msg_smuggle_bare_lf")
    headers["content-length"] = str(len(body))
    cases["bare_lf"] = head(GENERIC, headers).replace(b"\r\n", b"\n") + b"\n" + body
    answers = {name: status(raw_exchange(addr, request)[0]) for name, request in cases.items()}
    assert answers == dict.fromkeys(cases, 400)
    assert not [k for k in stored(settings) if k[1].startswith("msg_smuggle_")]


def test_pipelined_requests_are_answered_in_order_and_a_413_closes_before_the_next(live):
    settings, _, addr = live
    requests = b""
    for ident in ("msg_pipe_1", "msg_pipe_2"):
        kw = generic_request(generic_body(), ident)
        length = {"content-length": str(len(kw["content"]))}
        requests += head(GENERIC, {**kw["headers"], **length}) + b"\r\n" + kw["content"]
    answer, _ = raw_exchange(addr, requests + head("/healthz", {"connection": "close"}, "GET") + b"\r\n")
    assert answer.count(b"HTTP/1.1 200 OK") == 3 and answer.index(b"accepted") < answer.index(b'"status":"ok"')
    assert {("generic", "msg_pipe_1"), ("generic", "msg_pipe_2")} <= set(stored(settings))
    # an oversize declared body is refused before it is read; the request "inside" it is never run
    kw = generic_request(generic_body(), "msg_smuggled_inside")
    inner = head(GENERIC, {**kw["headers"], "content-length": str(len(kw["content"]))}) + b"\r\n" + kw["content"]
    outer = head(GENERIC, {"content-type": "application/json", "content-length": str(2 * 1024 * 1024)}) + b"\r\n"
    answer, _ = raw_exchange(addr, outer + inner)
    assert answer.startswith(b"HTTP/1.1 413 ") and answer.count(b"HTTP/1.1") == 1
    assert ("generic", "msg_smuggled_inside") not in stored(settings)


def test_expect_continue_with_an_oversize_length_is_413_without_a_100(live):
    _, _, addr = live
    request = head(GENERIC, {"content-type": "application/json", "content-length": str(50 * 1024 * 1024),
                             "expect": "100-continue"}) + b"\r\n"
    answer, took = raw_exchange(addr, request)
    assert answer.startswith(b"HTTP/1.1 413 ") and b"100 Continue" not in answer and took < 2, answer[:200]


def test_http10_without_host_methods_and_paths(live):
    """HTTP/1.0 without Host is served (nothing reads Host); HEAD/OPTIONS/PUT are 405, "//" and case 404."""
    settings, _, addr = live
    headers, body = framed("msg_http10")
    lines = "".join(f"{k}: {v}\r\n" for k, v in headers.items() if k != "connection")
    request = f"POST {GENERIC} HTTP/1.0\r\n{lines}content-length: {len(body)}\r\n\r\n".encode() + body
    assert status(raw_exchange(addr, request)[0]) == 200 and ("generic", "msg_http10") in stored(settings)
    close = {"connection": "close", "content-length": "0"}
    for method in ("HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"):
        assert status(raw_exchange(addr, head(GENERIC, close, method) + b"\r\n")[0]) == 405, method
    for path in ("/" + GENERIC, GENERIC.upper(), GENERIC + "%00", GENERIC + ";x"):
        assert status(raw_exchange(addr, head(path, close) + b"\r\n")[0]) == 404, path


def test_json_edges_are_quarantined_not_accepted(live):
    """A UTF-8 BOM and integers past Python's 4300-digit limit (a ValueError) are kept as evidence (400)."""
    settings, client, _ = live
    bom = b"\xef\xbb\xbf" + generic_body()
    huge = b'{"type":"task.created","data":{"n":' + b"9" * 5000 + b"}}"
    for ident, body in (("msg_bom", bom), ("msg_huge_int", huge)):
        assert client.post(GENERIC, **generic_request(body, ident)).status_code == 400
        digest = f"sha256:{hashlib.sha256(body).hexdigest()}"
        assert digest in {d for (d,) in inbox_rows(settings, "select delivery_id from webhook_quarantine")}
        assert ("generic", ident) not in stored(settings)


def test_ids_are_exact_keys_retries_dedupe_and_sources_do_not_collide(live):
    """Slack event ids outside ``Ev[A-Za-z0-9]`` (a fullwidth digit, a combining accent: ids that NFKC would
    fold onto another) are quarantined by the contract; header ids are exact keys ("msg-A" and "msg-a" are
    two deliveries); a Slack retry with any X-Slack-Retry-Num is a duplicate; one id reused on two
    endpoints is two deliveries (ids are per source)."""
    settings, client, _ = live
    for event_id, expected in (("Ev1", 200), ("Ev\uff11", 400), ("E\u0301v1", 400)):
        body = json.dumps({"type": "event_callback", "event_id": event_id, "team_id": "T1",
                           "event": {"type": "message"}}).encode()
        assert client.post(SLACK_EVENTS, **slack_request(body)).status_code == expected, event_id
        kw = slack_request(body)
        retry = client.post(SLACK_EVENTS, content=kw["content"], headers={
            **kw["headers"], "X-Slack-Retry-Num": "999999", "X-Slack-Retry-Reason": "http_timeout"})
        assert retry.status_code == expected and (expected != 200 or retry.text == "duplicate")
    for ident in ("Ev1", "msg-A", "msg-a"):
        assert client.post(GENERIC, **generic_request(generic_body(), ident)).text == "accepted"
    rows = set(stored(settings))
    assert {d for s, d in rows if s == "slack"} == {"Ev1"}
    assert {("generic", "Ev1"), ("generic", "msg-A"), ("generic", "msg-a")} <= rows


def test_a_slack_request_replayed_to_the_other_slack_endpoint_is_never_accepted(live):
    """Events and interactions share the signing secret and Slack signs the body, not the path: an event
    posted to /interactions (or a click to /events) verifies, but does not parse there: quarantined."""
    settings, client, _ = live
    event = json.dumps({"type": "event_callback", "event_id": "EvCross1", "event": {"type": "message"}}).encode()
    click = b"payload=" + json.dumps({"type": "block_actions", "trigger_id": "cross.1", "user": {"id": "U1"},
                                      "actions": []}).encode()
    for path, body, content_type in ((SLACK_ACTIONS, event, "application/x-www-form-urlencoded"),
                                     (SLACK_EVENTS, click, "application/json")):
        assert client.post(path, **slack_request(body, content_type)).status_code == 400, path
    assert not {d for s, d in stored(settings) if d in ("EvCross1", "cross.1")}
