"""Round 22: signatures and timestamps as an outside attacker (and an odd but honest sender) sends them, over
loopback against the real uvicorn server. Held before: missing, malformed and listed signatures, signatures
over another body, stale and non-numeric timestamps, ids reused with another body (test_webhooks_attacks.py,
test_webhooks_receiver.py). New here: timestamps from the future, signed bodies that are not UTF-8 (refused as
bad signatures, counted by the security alert, and not kept), repeated signature and id headers (refused), and Slack's
window following ``tolerance_seconds``."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import httpx
import pytest
from slack_sdk.signature import SignatureVerifier

from tests.webhook_helpers import (
    GENERIC,
    JIRA,
    SECRETS,
    SERVICENOW,
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
from webhooks.receiver.endpoints import ENDPOINTS

SN_BODY = json.dumps(
    {
        "table": "incident",
        "sys_id": "c" * 32,
        "number": "INC0022001",
        "operation": "update",
        "sys_updated_on": "2026-12-02 10:00:00",
        "fields": {"state": "2"},
    }
).encode()


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    settings = settings_for(tmp_path_factory.mktemp("round22_signatures"), failure_burst=1000)
    with LiveReceiver(create_app(settings)) as served, httpx.Client(base_url=served.url, timeout=10) as client:
        yield settings, client


def stored(settings) -> set[tuple[str, str]]:
    return set(inbox_rows(settings, "select source, delivery_id from webhook_events"))


def quarantined(settings, body: bytes) -> list[str]:
    ident = f"sha256:{hashlib.sha256(body).hexdigest()}"
    return [r for (r,) in inbox_rows(settings, f"select reason from webhook_quarantine where delivery_id = '{ident}'")]


def standard_signed(body: bytes, msg_id: str) -> dict:
    """Standard Webhooks over the raw bytes, as a partner's own code signs a body that is not UTF-8 text."""
    ts = str(int(time.time()))
    key = base64.b64decode(SECRETS["generic"].removeprefix("whsec_"))
    mac = hmac.new(key, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()
    return {
        "content": body,
        "headers": {
            "content-type": "application/json",
            "webhook-id": msg_id,
            "webhook-timestamp": ts,
            "webhook-signature": "v1," + base64.b64encode(mac).decode(),
        },
    }


@pytest.mark.parametrize("ahead", [360, 3600, 10**9])
def test_timestamps_from_the_future_are_401_stale_on_every_timestamped_endpoint(live, ahead):
    """A signed request dated ahead of our clock past the tolerance would stay fresh for its replay that much
    longer: refused like an old one. Signed correctly, so only the date refuses it."""
    settings, client = live
    stamp = int(time.time()) + ahead
    event = json.dumps({"type": "event_callback", "event_id": f"EvFuture{ahead}", "event": {"type": "x"}}).encode()
    cases = {
        "generic": (GENERIC, generic_request(generic_body(), f"msg_future_{ahead}", ts=stamp)),
        "servicenow": (SERVICENOW, servicenow_request(SN_BODY, f"sn-future-{ahead}", ts=stamp)),
        "slack_events": (SLACK_EVENTS, slack_request(event, ts=stamp)),
    }
    before = {name: metric("webhook_failures_total", endpoint=name, reason="stale_timestamp") for name in cases}
    for name, (path, kw) in cases.items():
        resp = client.post(path, **kw)
        assert (resp.status_code, resp.json()) == (401, {"error": "unauthorized"}), name
        assert metric("webhook_failures_total", endpoint=name, reason="stale_timestamp") == before[name] + 1
    assert not {d for _, d in stored(settings) if "future" in d.lower()}


def test_a_timestamp_just_inside_the_tolerance_either_side_is_accepted(live):
    settings, client = live
    now = int(time.time())
    for offset in (-240, 240):
        resp = client.post(GENERIC, **generic_request(generic_body(), f"msg_inside_{offset}", ts=now + offset))
        assert resp.text == "accepted", offset
    assert {("generic", "msg_inside_-240"), ("generic", "msg_inside_240")} <= stored(settings)


def test_a_signed_body_that_is_not_utf8_is_kept_in_quarantine_not_called_a_bad_signature(live):
    """Standard Webhooks and Slack sign the raw bytes. A body that is not UTF-8 could not be verified (both
    libraries decode it first), so a partner's signed delivery was a 401 bad_signature: counted by the
    security alert, and the body kept nowhere. Now it verifies and is quarantined as malformed (400), as on
    Jira. The same bytes under a wrong signature are still 401."""
    settings, client = live
    generic = b'{"type":"task.created","timestamp":"2026-12-02T10:00:00+00:00","data":{"x":"caf\xe9"}}'
    slack = b'{"type":"event_callback","event_id":"EvLatin1","event":{"type":"caf\xe9"}}'
    bad_before = {
        e: metric("webhook_failures_total", endpoint=e, reason="bad_signature") for e in ("generic", "slack_events")
    }
    resp = client.post(GENERIC, **standard_signed(generic, "msg_latin1"))
    assert (resp.status_code, resp.json()) == (400, {"error": "bad request"})
    resp = client.post(SLACK_EVENTS, **slack_request(slack))  # the sandbox's Slack signer hashes bytes
    assert (resp.status_code, resp.json()) == (400, {"error": "bad request"})
    for body in (generic, slack):
        reasons = quarantined(settings, body)
        assert len(reasons) == 1 and reasons[0].startswith("malformed: UnicodeDecodeError"), reasons
    assert {
        e: metric("webhook_failures_total", endpoint=e, reason="bad_signature") for e in ("generic", "slack_events")
    } == bad_before
    forged = standard_signed(generic, "msg_latin1_forged")
    forged["headers"]["webhook-signature"] = "v1," + base64.b64encode(b"\0" * 32).decode()
    assert client.post(GENERIC, **forged).status_code == 401
    other = slack_request(slack + b" ")
    assert client.post(SLACK_EVENTS, content=slack, headers=other["headers"]).status_code == 401
    assert not {d for _, d in stored(settings) if d in ("msg_latin1", "msg_latin1_forged", "EvLatin1")}


def test_the_mac_over_bytes_is_the_vendor_libraries_mac_for_text(live):
    """Signed by slack_sdk's own SignatureVerifier (and, everywhere else, by the standardwebhooks package):
    accepted, so hashing the bytes changed nothing for UTF-8 bodies, non-ASCII text included."""
    settings, client = live
    body = json.dumps(
        {"type": "event_callback", "event_id": "EvUnicode1", "event": {"type": "message", "text": "Grüße ☃"}},
        ensure_ascii=False,
    ).encode()
    ts = str(int(time.time()))
    signature = SignatureVerifier(SECRETS["slack"]).generate_signature(timestamp=ts, body=body.decode())
    resp = client.post(
        SLACK_EVENTS,
        content=body,
        headers={"content-type": "application/json", "X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature},
    )
    assert resp.text == "accepted" and ("slack", "EvUnicode1") in stored(settings)
    text = generic_body(note="Grüße ☃")
    assert client.post(GENERIC, **generic_request(text, "msg_unicode_lib")).text == "accepted"
    assert client.post(GENERIC, **standard_signed(text, "msg_unicode_raw")).text == "accepted"


@pytest.mark.parametrize("endpoint, make, name", [
    (GENERIC, lambda i: generic_request(generic_body(), i), "webhook-id"),
    (GENERIC, lambda i: generic_request(generic_body(), i), "webhook-signature"),
    (GENERIC, lambda i: generic_request(generic_body(), i), "webhook-timestamp"),
    (JIRA, lambda i: jira_request(jira_body(22001), i), "X-Hub-Signature"),
    (JIRA, lambda i: jira_request(jira_body(22001), i), "X-Atlassian-Webhook-Identifier"),
    (SERVICENOW, lambda i: servicenow_request(SN_BODY.replace(b"INC0022001", i.encode()), i), "Content-Type"),
])
@pytest.mark.parametrize("order", ["extra_first", "extra_last"])
def test_a_header_that_signs_or_names_a_delivery_sent_twice_is_refused(live, endpoint, make, name, order):
    """Two ``webhook-id`` (or signature, timestamp, delivery id, content type) headers: which one counts is
    a parser's choice, and a proxy in front may have checked the other, so the request is refused (400
    ``repeated_header``), whichever copy comes first, and nothing is stored, even when one copy is right."""
    settings, client = live
    ident = f"dup-{name}-{order}".lower()
    kw = make(ident)
    value = next(v for k, v in kw["headers"].items() if k.lower() == name.lower())
    extra = (name, "application/json" if name == "Content-Type" else "sha256=" + "0" * 64
             if "signature" in name.lower() else "1" if "timestamp" in name else "dup_unsigned")
    own = (name, value)
    rest = [(k, v) for k, v in kw["headers"].items() if k.lower() != name.lower()]
    headers = [*rest, *((extra, own) if order == "extra_first" else (own, extra))]
    before = stored(settings)
    resp = client.post(endpoint, content=kw["content"], headers=headers)
    assert resp.status_code == 400 and resp.json() == {"error": "bad request"}
    assert stored(settings) == before
    name_of = next(ep.name for ep in ENDPOINTS if ep.path == endpoint)
    assert metric("webhook_failures_total", endpoint=name_of, reason="repeated_header") >= 1
    # the same request with each header once is taken
    assert client.post(endpoint, content=kw["content"], headers=[*rest, own]).text == "accepted"
    assert any(d == ident for _, d in stored(settings))


def test_slacks_window_is_the_receivers_tolerance(tmp_path):
    """slack_sdk judged the timestamp again by its own clock and a fixed 5 minutes: with tolerance_seconds at
    600, a Slack request 400 s old passed the receiver's check and was then a 401 bad_signature (and with a
    tolerance under 300 the receiver's own check was the one that counted). One window now, the setting's."""
    settings = settings_for(tmp_path, tolerance_seconds=600, replay_window_seconds=3600)
    now = int(time.time())
    with LiveReceiver(create_app(settings)) as served, httpx.Client(base_url=served.url, timeout=10) as client:
        for event_id, age, expected in (("EvAge400", 400, 200), ("EvAge700", 700, 401)):
            body = json.dumps({"type": "event_callback", "event_id": event_id, "event": {"type": "x"}}).encode()
            assert client.post(SLACK_EVENTS, **slack_request(body, ts=now - age)).status_code == expected, event_id
    assert {d for _, d in stored(settings)} == {"EvAge400"}
