"""An attacker's view of the receiver, over loopback HTTP against a real uvicorn server (the same
``ServedApp`` as ``make demo``): what the flood in test_webhooks_receiver does not send. Every test
checks both directions: nothing rejected is stored as accepted, nothing answered 2xx is missing."""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import socket
import subprocess
import time
from urllib.parse import urlencode

import httpx
import pytest
from prometheus_client import REGISTRY, generate_latest

from tests.conftest import require_tool
from tests.webhook_helpers import (
    GENERIC,
    JIRA,
    SECRETS,
    SERVICENOW,
    SLACK_ACTIONS,
    SLACK_EVENTS,
    LiveReceiver,
    generic_body,
    generic_request,
    inbox_rows,
    jira_body,
    jira_request,
    metric,
    servicenow_request,
    settings_for,
    slack_request,
)
from webhooks.app import create_app
from webhooks.receiver import server as bounded
from webhooks.receiver.verify import servicenow_signature

SN_BODY = json.dumps({"table": "incident", "sys_id": "b" * 32, "number": "INC0020001", "operation": "update",
                      "sys_updated_on": "2026-12-02 10:00:00", "fields": {"state": "2"}}).encode()
RULES = bounded.__file__.replace("receiver/server.py", "operations/alert_rules.yml")


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    settings = settings_for(tmp_path_factory.mktemp("attacks"), body_timeout_seconds=1.0)
    with LiveReceiver(create_app(settings)) as served, httpx.Client(base_url=served.url, timeout=10) as client:
        host, port = served.url.removeprefix("http://").split(":")
        yield settings, client, (host, int(port))


def events(settings) -> set[tuple[str, str]]:
    return set(inbox_rows(settings, "select source, delivery_id from webhook_events"))


def quarantine(settings) -> dict[str, str]:
    return dict(inbox_rows(settings, "select delivery_id, reason from webhook_quarantine"))


def raw_exchange(address, data: bytes, *, wait: float = 5.0, pause_after: bytes | None = None) -> tuple[bytes, float]:
    """Send ``data`` on a fresh connection and read until the server closes it; (answer, seconds taken)."""
    started = time.monotonic()
    with socket.create_connection(address, timeout=wait) as conn:
        with contextlib.suppress(OSError):  # the server may answer and close while we are still sending
            conn.sendall(data)
        answer = b""
        try:
            while chunk := conn.recv(65536):
                answer += chunk
        except (TimeoutError, ConnectionResetError):
            pass
    return answer, time.monotonic() - started


def head(path: str, headers: dict[str, str], method: str = "POST") -> bytes:
    lines = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return f"{method} {path} HTTP/1.1\r\nhost: receiver\r\n{lines}".encode("latin-1")


# --- timestamps: overflow was a 500 -------------------------------------------------------------------

def _with_timestamp(path: str, stamp: str) -> dict:
    if path == GENERIC:
        kw = generic_request(generic_body(), "msg_ts_attack")
        return {**kw, "headers": {**kw["headers"], "webhook-timestamp": stamp}}
    if path == SERVICENOW:
        return {"content": SN_BODY, "headers": {
            "content-type": "application/json", "X-ServiceNow-Delivery": "ts-attack", "X-ServiceNow-Timestamp": stamp,
            "X-ServiceNow-Signature": servicenow_signature(SECRETS["servicenow"], stamp, SN_BODY)}}
    event = json.dumps({"type": "event_callback", "event_id": "EvTs1", "event": {"type": "x"}}).encode()
    kw = slack_request(event)
    return {**kw, "headers": {**kw["headers"], "X-Slack-Request-Timestamp": stamp}}


@pytest.mark.parametrize("path", [GENERIC, SERVICENOW, SLACK_EVENTS])
@pytest.mark.parametrize("stamp", ["9" * 400, "1" + "0" * 13, "1_700_000_000", "+1700000000", "1.7e9", "0x65"])
def test_overflowing_or_non_decimal_timestamps_are_401_bad_timestamp(live, path, stamp):
    """A 400-digit timestamp overflowed ``now - ts`` (OverflowError: a 500 with a traceback); forms
    ``int()`` tolerates (underscores, a sign) were let through to the signature check."""
    settings, client, _ = live
    before = {e: metric("webhook_failures_total", endpoint=e, reason="bad_timestamp")
              for e in ("generic", "servicenow", "slack_events")}
    stored = events(settings)
    resp = client.post(path, **_with_timestamp(path, stamp))
    assert (resp.status_code, resp.json()) == (401, {"error": "unauthorized"})
    name = {GENERIC: "generic", SERVICENOW: "servicenow", SLACK_EVENTS: "slack_events"}[path]
    assert metric("webhook_failures_total", endpoint=name, reason="bad_timestamp") == before[name] + 1
    assert events(settings) == stored


# --- Standard Webhooks signature lists -----------------------------------------------------------------

def test_standard_webhooks_signature_lists_skip_malformed_entries_and_decode_strictly(live):
    """``v1,sig1 v1,sig2`` (key rotation): a valid entry beside a malformed one is accepted (the
    standardwebhooks package raised on the malformed one and refused the delivery); junk around a valid
    signature, or only invalid entries, is refused."""
    settings, client, _ = live

    def send(msg_id: str, signature_of) -> int:
        kw = generic_request(generic_body(n=msg_id), msg_id)
        good = kw["headers"]["webhook-signature"]
        return client.post(GENERIC, content=kw["content"], headers={
            **kw["headers"], "webhook-signature": signature_of(good)}).status_code

    accepted = {"sig_after_garbage": lambda g: f"garbage {g}", "sig_after_bad_padding": lambda g: f"v1,abc {g}",
                "sig_after_v1a": lambda g: f"v1a,AAAA {g}", "sig_between_spaces": lambda g: f"v1,@@   {g}",
                "rotated_second": lambda g: f"v1,{base64.b64encode(b'x' * 32).decode()} {g}"}
    refused = {"junk_inside": lambda g: g[:10] + "!" + g[10:], "junk_after": lambda g: g + "!!",
               "only_bad": lambda g: "v1,abc v1,@@@ v2," + g.split(",")[1], "wrong_version": lambda g: "v2," + g[3:],
               "empty": lambda g: "v1,", "hex_not_base64": lambda g: "v1," + "ab" * 32}
    assert {k: send(k, f) for k, f in accepted.items()} == dict.fromkeys(accepted, 200)
    assert {k: send(k, f) for k, f in refused.items()} == dict.fromkeys(refused, 401)
    ids = {d for s, d in events(settings) if s == "generic"}
    assert set(accepted) <= ids and not set(refused) & ids


# --- strict JSON: signed bodies only (an unsigned one never reaches the parser) --------------------------

HOSTILE_JSON = {
    "deep_nesting": b'{"type":"a.b","timestamp":"2026-12-02T10:00:00+00:00","data":{"x":'
                    + b"[" * 50_000 + b"]" * 50_000 + b"}}",
    "nan": b'{"type":"a.b","timestamp":"2026-12-02T10:00:00+00:00","data":{"x":NaN}}',
    "infinity": b'{"type":"a.b","timestamp":"2026-12-02T10:00:00+00:00","data":{"x":-Infinity}}',
    "overflowing_number": b'{"type":"a.b","timestamp":"2026-12-02T10:00:00+00:00","data":{"x":1e999}}',
    "duplicate_keys": b'{"type":"a.b","timestamp":"2026-12-02T10:00:00+00:00","data":{},"type":"c.d"}',
    "invalid_utf8": b'{"type":"a.b","timestamp":"2026-12-02T10:00:00+00:00","data":{"x":"\xff\xfe"}}',
    "huge_integer": b'{"type":"a.b","timestamp":"2026-12-02T10:00:00+00:00","data":{"x":' + b"9" * 5000 + b"}}",
    # within the parser's own limit (about 950) but past MAX_JSON_DEPTH: the whole document nests 129 deep
    "nesting_past_the_cap": b'{"type":"a.b","timestamp":"2026-12-02T10:00:00+00:00","data":{"x":'
                            + b"[" * 127 + b"]" * 127 + b"}}",
}


@pytest.mark.parametrize("kind", sorted(HOSTILE_JSON))
def test_signed_hostile_json_is_quarantined_with_its_reason_never_accepted_or_a_500(live, kind):
    """Deep nesting was a RecursionError (a 500, the sender retrying forever, nothing kept); NaN,
    Infinity, 1e999 and duplicate keys were accepted into the inbox (not JSON by RFC 8259; with
    duplicates, which ``type`` counts depends on the parser reading it)."""
    settings, client, _ = live
    body, msg_id = HOSTILE_JSON[kind], f"jira_json_{kind}"
    kw = jira_request(body, msg_id)  # Jira signs raw bytes: any body reaches the parser once signed
    resp = client.post(JIRA, **kw)
    assert (resp.status_code, resp.json()) == (400, {"error": "bad request"})
    assert ("jira", msg_id) not in events(settings)
    reasons = [r for d, r in quarantine(settings).items() if d == _digest_id(body)]
    assert len(reasons) == 1 and reasons[0].startswith("malformed: "), reasons
    assert client.post(JIRA, **kw).status_code == 400  # a retry: the same evidence, not a 500


def _digest_id(body: bytes) -> str:
    import hashlib

    return f"sha256:{hashlib.sha256(body).hexdigest()}"


def test_slack_interactions_url_encoded_attacks(live):
    """Interactivity is ``payload=<json>`` form-encoded: strict JSON inside it too; two payload fields,
    other fields or a JSON body are refused; a bad or missing signature never reaches the parser."""
    settings, client, _ = live
    click = {"type": "block_actions", "trigger_id": "9.9.attack", "user": {"id": "U1"},
             "actions": [{"action_id": "approve", "value": "task-9"}]}
    form = "application/x-www-form-urlencoded"
    signed = {
        "nan_inside": urlencode({"payload": json.dumps({**click, "x": float("nan")})}),
        "duplicate_key_inside": "payload=" + '{"type":"view_closed","type":"block_actions"}',
        "two_payloads": urlencode([("payload", json.dumps(click)), ("payload", json.dumps(click))]),
        "extra_field": urlencode({"payload": json.dumps(click), "token": "x"}),
        "bad_percent": "payload=%7B%ZZ",
        "many_fields": "&".join(f"f{i}=1" for i in range(50)),
    }
    answers = {k: client.post(SLACK_ACTIONS, **slack_request(v.encode(), form)).status_code for k, v in signed.items()}
    assert answers == dict.fromkeys(signed, 400)
    unsigned = slack_request(urlencode({"payload": json.dumps(click)}).encode(), form)
    forged = {**unsigned["headers"], "X-Slack-Signature": "v0=" + "0" * 64}
    assert client.post(SLACK_ACTIONS, content=unsigned["content"], headers=forged).status_code == 401
    as_json = slack_request(json.dumps(click).encode(), form)
    assert client.post(SLACK_ACTIONS, **as_json).status_code == 400
    assert client.post(SLACK_ACTIONS, **slack_request(b"payload=x", "application/json")).status_code == 400
    assert not {d for s, d in events(settings) if s == "slack"} & {"9.9.attack"}
    assert client.post(SLACK_ACTIONS, **unsigned).text == "accepted"  # the real click still gets in


# --- same delivery id, another body ---------------------------------------------------------------------

def test_a_stored_delivery_id_with_another_body_is_409_and_the_body_is_kept_in_quarantine(live):
    """A redelivery was answered 200 "duplicate" whatever its body: a sender reusing an id for new
    content got a 2xx while the content was dropped. Now a retry (same bytes) is still 200 duplicate;
    other bytes under the id get 409 naming the fix, and are kept in quarantine (nothing answered is lost)."""
    settings, client, _ = live
    first, other = generic_body("task.created", n=1), generic_body("task.created", n=2)
    answers = [client.post(GENERIC, **generic_request(first, "msg_conflict")),
               client.post(GENERIC, **generic_request(other, "msg_conflict")),
               client.post(GENERIC, **generic_request(first, "msg_conflict"))]
    jira_a, jira_b = jira_body(20001), jira_body(20002)
    answers += [client.post(JIRA, **jira_request(jira_a, "jira-conflict")),
                client.post(JIRA, **jira_request(jira_b, "jira-conflict"))]
    assert [(r.status_code, r.text if r.status_code == 200 else r.json()["error"][:9]) for r in answers] == [
        (200, "accepted"), (409, "conflict:"), (200, "duplicate"), (200, "accepted"), (409, "conflict:")]
    assert "new delivery id" in answers[1].json()["error"]
    stored = dict(inbox_rows(settings, "select delivery_id, body from webhook_events where delivery_id in "
                                       "('msg_conflict', 'jira-conflict')"))
    assert stored == {"msg_conflict": first.decode(), "jira-conflict": jira_a.decode()}
    kept = {d: b for d, b in inbox_rows(settings, "select delivery_id, body_b64 from webhook_quarantine")
            if d.startswith(("msg_conflict#", "jira-conflict#"))}
    assert sorted(base64.b64decode(b) for b in kept.values()) == sorted([other, jira_b])
    assert all("already in the inbox with a different body" in quarantine(settings)[d] for d in kept)


# --- the HTTP layer: head size, slow clients, framing ----------------------------------------------------

def test_a_huge_request_head_is_431_and_the_server_keeps_serving(live):
    """httptools buffered headers without limit: a 2 MB header value was read whole (and accepted)."""
    settings, client, address = live
    kw = generic_request(generic_body(), "msg_big_head")
    big_value = head(GENERIC, {**kw["headers"], "x-pad": "a" * 2_000_000, "content-length": str(len(kw["content"]))})
    many = head(GENERIC, {**{f"x-h{i}": "a" * 16 for i in range(5000)}, "content-length": "2"})
    long_url = head(GENERIC + "?" + "q" * 1_000_000, {"content-length": "2"})
    for request in (big_value + b"\r\n" + kw["content"], many + b"\r\n{}", long_url + b"\r\n{}"):
        answer, took = raw_exchange(address, request)
        assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
        assert b"send fewer or smaller headers" in answer and took < 5
    assert ("generic", "msg_big_head") not in events(settings)
    ok = generic_request(generic_body(), "msg_after_big_head")
    assert client.post(GENERIC, **ok).text == "accepted"


def test_slow_bodies_and_slow_heads_are_cut_off_with_408(live, monkeypatch):
    """A client trickling its headers or its body held a connection (and, for the body, a task)
    forever; now the head has HEAD_TIMEOUT from its first byte and the body body_timeout_seconds."""
    settings, _, address = live
    monkeypatch.setattr(bounded.BoundedHttpToolsProtocol, "head_timeout", 1.0)
    kw = generic_request(generic_body(), "msg_slow_body")
    partial_body = head(GENERIC, {**kw["headers"], "content-length": str(len(kw["content"]))}) + b"\r\n" + b'{"ty'
    answer, took = raw_exchange(address, partial_body, wait=10)
    assert answer.startswith(b"HTTP/1.1 408 ") and b"body came too slowly" in answer and 0.9 < took < 5, answer
    assert metric("webhook_failures_total", endpoint="generic", reason="slow_body") >= 1
    for request in (head(GENERIC, {"content-type": "application/json"}), b"POST /api/integ", b""):
        answer, took = raw_exchange(address, request, wait=10)
        assert answer.startswith(b"HTTP/1.1 408 ") and b"request headers not complete" in answer, answer
        assert 0.9 < took < 5
    assert ("generic", "msg_slow_body") not in events(settings)


def test_framing_methods_paths_and_encodings_that_already_held(live):
    """Checked over real HTTP; these held before this file: CL+TE and two Content-Lengths are 400 at
    the parser, chunked bodies over the limit 413 before they are read whole, other methods 405,
    traversal and unknown vendors 404, and a gzip body is never inflated (unsigned: 401)."""
    settings, client, address = live
    chunk = b"a" * 65536
    chunked = b"".join(b"%x\r\n" % len(chunk) + chunk + b"\r\n" for _ in range(20)) + b"0\r\n\r\n"
    json_type = {"content-type": "application/json"}
    cases = {
        "chunked_over_limit": (head(GENERIC, {**json_type, "transfer-encoding": "chunked"}) + b"\r\n" + chunked, 413),
        "cl_and_te": (head(GENERIC, {**json_type, "transfer-encoding": "chunked", "content-length": "5"})
                      + b"\r\n" + chunked, 400),
        "two_lengths": (head(GENERIC, {**json_type, "content-length": "2", "Content-Length": "3"}) + b"\r\n{}", 400),
        "put": (head(GENERIC, {"content-length": "0"}, "PUT") + b"\r\n", 405),
        "get": (head(JIRA, {}, "GET") + b"\r\n", 405),
        "traversal": (head("/api/integrations/../integrations/jira/webhook", {"content-length": "0"}) + b"\r\n", 404),
        "encoded_traversal": (head("/api/integrations/%2e%2e/jira/webhook", {"content-length": "0"}) + b"\r\n", 404),
        "unknown_vendor": (head("/api/integrations/onetrust/webhook", {"content-length": "0"}) + b"\r\n", 404),
        "gzip_bomb_header": (head(GENERIC, {**json_type, "content-encoding": "gzip", "content-length": "22"})
                             + b"\r\n\x1f\x8b" + b"\0" * 20, 401),
    }
    statuses = {}
    for name, (request, _) in cases.items():
        answer, _took = raw_exchange(address, request.replace(b"host: receiver\r\n",
                                                              b"host: receiver\r\nconnection: close\r\n", 1))
        statuses[name] = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else answer[:80]
    assert statuses == {name: status for name, (_, status) in cases.items()}
    # a signed gzip body is kept as evidence (malformed), not inflated into something accepted
    import gzip

    packed = gzip.compress(jira_body(30001))
    signed = jira_request(packed, "jira-gzip")
    signed["headers"]["content-encoding"] = "gzip"
    assert client.post(JIRA, **signed).status_code == 400
    assert ("jira", "jira-gzip") not in events(settings) and _digest_id(packed) in quarantine(settings)


# --- secrets, and the security alert that was never going to fire --------------------------------------------

def test_no_secret_in_any_answer_log_record_or_metric(live, caplog):
    settings, client, _ = live
    caplog.set_level(logging.DEBUG)
    answers = []
    for path, kw in [(GENERIC, _with_timestamp(GENERIC, "9" * 400)), (SERVICENOW, servicenow_request(b"{", "s-1")),
                     (JIRA, jira_request(b'{"x":NaN}', "j-nan")), (SLACK_EVENTS, slack_request(b"[" * 5000)),
                     (JIRA, {"content": b"{}", "headers": {"content-type": "application/json",
                                                           "X-Hub-Signature": "sha256=" + SECRETS["jira"]}})]:
        resp = client.post(path, **kw)
        answers.append(resp.text + "".join(f"{k}:{v}" for k, v in resp.headers.items()))
    answers.append(client.get("/healthz").text)
    exposed = "\n".join([*answers, caplog.text, generate_latest(REGISTRY).decode(),
                         *(r[0] for r in inbox_rows(settings, "select reason from webhook_quarantine"))])
    secrets = [*SECRETS.values(), SECRETS["generic"].removeprefix("whsec_")]
    assert not [s for s in secrets if s in exposed]


def test_the_security_alert_fires_on_the_reasons_the_receiver_counts(tmp_path):
    """WebhookSignatureFailures matched reason=~"signature.*|timestamp.*|replay.*", anchored by
    PromQL, while the receiver counts bad_signature, missing_signature, stale_timestamp: it could
    never fire. promtool now checks it fires on each of them (and on replays under a fresh delivery id)
    and not on oversize."""
    promtool = require_tool("promtool", "prometheus")
    series = [{"series": f'webhook_failures_total{{endpoint="jira",reason="{r}"}}', "values": "0+5x10"}
              for r in ("bad_signature", "missing_signature", "stale_timestamp", "bad_timestamp", "replayed_body",
                        "oversize")]
    alerts = [{"exp_labels": {"severity": "security", "endpoint": "jira", "runbook": "RB-003"},
               "exp_annotations": {"summary": "125 webhook deliveries to jira failed signature checks in 5 minutes: "
                                              "notify the security team (spec 2.5)"}}]
    test = {"rule_files": [RULES], "evaluation_interval": "1m", "tests": [{
        "interval": "1m", "input_series": series,
        "alert_rule_test": [{"eval_time": "5m", "alertname": "WebhookSignatureFailures", "exp_alerts": alerts}]}]}
    path = tmp_path / "signature_alert_test.yml"
    path.write_text(json.dumps(test))  # JSON is YAML
    out = subprocess.run([promtool, "test", "rules", str(path)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr


def test_nesting_up_to_the_cap_is_accepted(live):
    """128 levels (the document itself counted) is within MAX_JSON_DEPTH: an honest deep payload is kept."""
    from webhooks.receiver.endpoints import MAX_JSON_DEPTH

    settings, client, _ = live
    inner = MAX_JSON_DEPTH - 3  # the document, "data" and "x"'s first array are three of the levels
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
    deep = b"[" * inner + b"]" * inner
    body = b'{"type":"a.b","timestamp":"' + stamp.encode() + b'","data":{"x":[' + deep + b"]}}"
    assert client.post(GENERIC, **generic_request(body, "msg_deep_ok")).status_code == 200
    assert ("generic", "msg_deep_ok") in events(settings)
    deeper = body.replace(deep, b"[" + deep + b"]")  # one level more: quarantined as malformed
    assert client.post(GENERIC, **generic_request(deeper, "msg_deep_over")).status_code == 400
    assert ("generic", "msg_deep_over") not in events(settings)
