"""A second reviewer's attacks on the receiver, over loopback HTTP against a real uvicorn server (the
``ServedApp`` of ``make demo``): what test_webhooks_attacks does not send. Signed payloads only reach
the parser, so each attack here is signed: whatever is wrong with it must be answered 4xx and kept in
quarantine with its reason, never a 500 or a 503 (the sender retrying a poisoned delivery forever)."""

from __future__ import annotations

import hashlib
import json
import time
from urllib.parse import quote

import httpx
import pytest

from tests.test_webhooks_attacks import head, raw_exchange
from tests.webhook_helpers import (
    GENERIC,
    JIRA,
    SERVICENOW,
    SLACK_ACTIONS,
    SLACK_EVENTS,
    LiveReceiver,
    generic_request,
    inbox_rows,
    jira_request,
    metric,
    servicenow_request,
    settings_for,
    slack_request,
)
from webhooks.app import create_app

FORM = "application/x-www-form-urlencoded"
CLICK = ('{"type":"block_actions","trigger_id":"%s","user":{"id":"U1"},'
         '"actions":[{"action_id":"approve","value":"task-1"}]}')
SN_BODY = (b'{"table":"incident","sys_id":"' + b"c" * 32 + b'","operation":"update",'
           b'"sys_updated_on":"2026-12-02 10:00:00"}')


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    settings = settings_for(tmp_path_factory.mktemp("round15"), body_timeout_seconds=1.0, failure_burst=1000)
    with LiveReceiver(create_app(settings)) as served, httpx.Client(base_url=served.url, timeout=10) as client:
        host, port = served.url.removeprefix("http://").split(":")
        yield settings, client, (host, int(port))


def events(settings) -> dict[str, str]:
    return dict(inbox_rows(settings, "select delivery_id, event_type from webhook_events"))


def quarantined(settings, body: bytes) -> list[str]:
    digest = f"sha256:{hashlib.sha256(body).hexdigest()}"
    return [r for d, r in inbox_rows(settings, "select delivery_id, reason from webhook_quarantine") if d == digest]


def interaction(trigger: str, raw: str | None = None) -> bytes:
    return ("payload=" + (raw if raw is not None else quote(CLICK % trigger))).encode()


def jira_at(timestamp, issue: int) -> bytes:
    stamp = timestamp if isinstance(timestamp, str) else json.dumps(timestamp)
    return (f'{{"timestamp":{stamp},"webhookEvent":"jira:issue_updated",'
            f'"issue":{{"id":"{issue}","key":"PX-{issue}","fields":{{}}}}}}').encode()


# --- Jira's signed timestamp: overflow was a 500, a far-future one never went stale -----------------------

@pytest.mark.parametrize("stamp", ["1" + "0" * 400, "1e308", "253402300800000"])
def test_a_jira_timestamp_past_the_year_9999_is_quarantined_never_a_500(live, stamp):
    """``timestamp / 1000`` of a 401-digit integer raised OverflowError: a 500 with a traceback in the
    log, the signed body kept nowhere, and Jira retrying it. ``1e308`` (a float JSON Schema calls an
    integer) was accepted and could never be stale. Both now break the contract (year 9999 at most)."""
    settings, client, _ = live
    body = jira_at(stamp, 50001)
    resp = client.post(JIRA, **jira_request(body, f"jira-ts-{stamp[:6]}"))
    assert (resp.status_code, resp.json()) == (400, {"error": "bad request"})
    reasons = quarantined(settings, body)
    assert len(reasons) == 1 and "timestamp" in reasons[0], reasons
    assert f"jira-ts-{stamp[:6]}" not in events(settings)


def test_a_jira_body_signed_far_ahead_of_our_clock_is_stale_so_its_copy_never_outlives_the_replay_window(live):
    """Body digests are kept ``replay_window_seconds`` after receipt; a signed time a day ahead would
    still be inside the window when its digest is forgotten, so a captured copy would get in again. Such
    a body is kept in quarantine instead (Jira signed it), and one near the window's end is stale. A
    clock up to 15 minutes ahead is still accepted (test_webhooks_replay_and_limits: 10 minutes)."""
    settings, client, _ = live
    now_ms = int(time.time() * 1000)
    day_ahead = jira_at(now_ms + 86_400_000, 50010)
    ahead = client.post(JIRA, **jira_request(day_ahead, "jira-day-ahead"))
    assert (ahead.status_code, ahead.json()) == (400, {"error": "bad request"})
    reasons = quarantined(settings, day_ahead)  # a body Jira signed: kept for an operator, not dropped
    assert len(reasons) == 1 and "ahead of the receiver's clock" in reasons[0], reasons
    assert client.post(JIRA, **jira_request(day_ahead, "jira-day-ahead-copy")).status_code == 400
    assert len(quarantined(settings, day_ahead)) == 1
    near_end = now_ms - int((settings.replay_window_seconds - 300) * 1000)  # digest gone before it goes stale
    assert client.post(JIRA, **jira_request(jira_at(near_end, 50011), "jira-near-end")).status_code == 401
    ok = client.post(JIRA, **jira_request(jira_at(now_ms + 600_000, 50012), "jira-ten-min-ahead"))
    assert ok.text == "accepted"
    assert {"jira-day-ahead", "jira-near-end"}.isdisjoint(events(settings))


# --- lone surrogates: the inbox could not encode them (503 for the whole write batch) ---------------------

def test_lone_surrogates_in_signed_json_are_quarantined_not_a_503(live):
    r"""``"\ud800"`` is valid JSON syntax but not Unicode text: the string reached the inbox as an event
    type or delivery id, SQLite could not encode it and the write batch failed (503: Slack retried the
    poisoned event, and every delivery committed in the same batch got a 503 too). Now every string,
    key or value, must be text; a proper surrogate pair (an emoji) is still accepted."""
    settings, client, _ = live
    attacks = {
        "slack_event_type": (SLACK_EVENTS, slack_request(
            b'{"type":"event_callback","event_id":"EvSur1","event":{"type":"\\ud800"}}')),
        "generic_key": (GENERIC, generic_request(
            b'{"type":"a.b","timestamp":"2026-12-02T10:00:00+00:00","data":{"\\udc00x":1}}', "msg_sur_key")),
        "jira_deep_value": (JIRA, jira_request(jira_at(int(time.time() * 1000), 50020).replace(
            b'"fields":{}', b'"fields":{"summary":["ok","\\uDBFF"]}'), "jira-sur")),
        "interaction_trigger": (SLACK_ACTIONS, slack_request(interaction("\\ud800x"), FORM)),
    }
    answers = {k: client.post(path, **kw) for k, (path, kw) in attacks.items()}
    assert {k: (r.status_code, r.json()) for k, r in answers.items()} == dict.fromkeys(attacks,
                                                                                      (400, {"error": "bad request"}))
    for name, (_, kw) in attacks.items():
        reasons = quarantined(settings, kw["content"])
        assert len(reasons) == 1 and "surrogate" in reasons[0], (name, reasons)
    assert {"EvSur1", "msg_sur_key", "jira-sur"}.isdisjoint(events(settings))
    emoji = b'{"type":"event_callback","event_id":"EvPair1","event":{"type":"message","text":"\\ud83d\\ude00"}}'
    assert client.post(SLACK_EVENTS, **slack_request(emoji)).text == "accepted"


# --- control characters in what the inbox keys on -------------------------------------------------------

def test_control_characters_in_delivery_ids_and_event_types_are_quarantined(live):
    r"""A Slack ``trigger_id`` or ``event.type`` of ``"a\u0000b"`` was stored as the delivery id / event
    type (PostgreSQL refuses NUL in text: there it was a 503 for the whole batch), and a ServiceNow
    delivery header with a tab in it was stored as is. Ids and event types are now text without
    control characters; anything else is kept in quarantine."""
    settings, client, address = live
    signed = {
        "trigger_nul": (SLACK_ACTIONS, slack_request(interaction("a\\u0000b"), FORM)),
        "trigger_newline": (SLACK_ACTIONS, slack_request(interaction("1.2.\\nforged log line"), FORM)),
        "event_type_nul": (SLACK_EVENTS, slack_request(
            b'{"type":"event_callback","event_id":"EvNul1","event":{"type":"a\\u0000b"}}')),
        "event_type_escape": (SLACK_EVENTS, slack_request(
            b'{"type":"event_callback","event_id":"EvEsc1","event":{"type":"\\u001b[31mred"}}')),
    }
    answers = {k: client.post(path, **kw).status_code for k, (path, kw) in signed.items()}
    assert answers == dict.fromkeys(signed, 400)
    for name, (_, kw) in signed.items():
        assert len(quarantined(settings, kw["content"])) == 1, name
    kw = servicenow_request(SN_BODY, "unused")
    headers = {**kw["headers"], "X-ServiceNow-Delivery": "sn-a\tb", "content-length": str(len(SN_BODY)),
               "connection": "close"}
    answer, _ = raw_exchange(address, head(SERVICENOW, headers) + b"\r\n" + SN_BODY)
    assert answer.startswith(b"HTTP/1.1 400 "), answer[:200]
    assert len(quarantined(settings, SN_BODY)) == 1
    stored = events(settings)
    assert not [d for d in stored if any(ord(c) < 32 or 127 <= ord(c) < 160 for c in d)]
    assert not [t for t in stored.values() if any(ord(c) < 32 for c in t)]
    ok = servicenow_request(SN_BODY, "sn-after-tab")
    assert client.post(SERVICENOW, **ok).text == "accepted"  # the same body under a clean id gets in


# --- Slack interactivity: invalid UTF-8 behind percent-escapes ------------------------------------------

def test_invalid_utf8_behind_percent_escapes_is_quarantined_not_replaced(live):
    """``parse_qs`` decodes percent-escapes with errors="replace": ``%FF`` became U+FFFD and the click
    was accepted with a payload its sender never wrote (and two different bodies could map to one
    trigger_id). Interactivity is UTF-8: invalid bytes are malformed, kept in quarantine."""
    settings, client, _ = live
    for n, junk in enumerate(("%FF", "%C3%28", "%ED%A0%80")):
        body = interaction("", raw=quote(CLICK % f"7.7.{n}Z").replace("Z", junk))
        resp = client.post(SLACK_ACTIONS, **slack_request(body, FORM))
        assert (resp.status_code, resp.json()) == (400, {"error": "bad request"}), junk
        reasons = quarantined(settings, body)
        assert len(reasons) == 1 and reasons[0].startswith("malformed: "), reasons
    assert not [d for d in events(settings) if d.startswith("7.7.")]
    before = metric("webhook_failures_total", endpoint="slack_interactions", reason="malformed")
    good = interaction("7.7.ok")
    assert client.post(SLACK_ACTIONS, **slack_request(good, FORM)).text == "accepted"
    assert metric("webhook_failures_total", endpoint="slack_interactions", reason="malformed") == before


# --- the HTTP layer: transfer codings and trailing slashes ----------------------------------------------

def test_a_transfer_coding_other_than_chunked_is_refused_not_ignored(live):
    """``Transfer-Encoding: gzip, chunked`` was de-chunked and the gzip coding silently ignored, so the
    receiver read other bytes than a proxy honouring the coding would (RFC 9112 6.1: a server must not
    guess). Only ``chunked`` is taken; anything else is 400 before the signature is even checked."""
    settings, _, address = live
    kw = jira_request(jira_at(int(time.time() * 1000), 50030), "jira-te-gzip")
    body = kw["content"]
    framed = b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n"
    for coding in ("gzip, chunked", "deflate,chunked", "x-custom, chunked"):
        request = head(JIRA, {**kw["headers"], "transfer-encoding": coding, "connection": "close"}) + b"\r\n" + framed
        answer, took = raw_exchange(address, request)
        assert answer.startswith(b"HTTP/1.1 400 ") and took < 5, (coding, answer[:200])
    assert "jira-te-gzip" not in events(settings)
    plain = head(JIRA, {**kw["headers"], "transfer-encoding": "chunked", "connection": "close"}) + b"\r\n" + framed
    answer, _ = raw_exchange(address, plain)
    assert answer.startswith(b"HTTP/1.1 200 ") and answer.endswith(b"accepted"), answer[-200:]


@pytest.mark.parametrize("path", [JIRA + "/", GENERIC + "/", SLACK_EVENTS + "/"])
def test_a_webhook_path_with_a_trailing_slash_is_404_not_a_redirect_to_the_callers_host(live, path):
    """Starlette answered 307 with ``Location: http://<the request's Host header>/...``: an unverified
    redirect to wherever the caller said it was (a host-header open redirect scanners report), and a
    sender following it would post its signed delivery there."""
    _, client, address = live
    request = head(path, {"content-type": "application/json", "content-length": "2", "connection": "close"})
    answer, _ = raw_exchange(address, request.replace(b"host: receiver", b"host: evil.example") + b"\r\n{}")
    assert answer.startswith(b"HTTP/1.1 404 ") and b"evil.example" not in answer, answer[:300]
    assert client.get("/integration-health/", follow_redirects=False).status_code == 404  # no page redirects


# --- the inbox writer: one refused write must not fail its batch --------------------------------------------

def test_one_write_the_inbox_refuses_fails_alone_not_every_delivery_in_its_batch(tmp_path):
    """Writes are group-committed; a lone surrogate in an event type (now refused by the receiver, but any
    value the database cannot store) failed the whole transaction, and every delivery in it got a 503.
    The writer now retries a failed batch one write at a time. The SQLite write lock is held so the bad
    and the good write are queued into one batch."""
    import sqlite3

    from webhooks.inbox import InboxWriter

    settings = settings_for(tmp_path)
    writer = InboxWriter(settings)
    try:
        assert writer.add_event("slack", "EvFirst", "event_callback:message", "{}", time.time()).result(10) is True
        hold = sqlite3.connect(settings.sqlite_path, timeout=5, isolation_level=None)
        hold.execute("begin immediate")
        waiting = writer.add_event("slack", "EvWaiting", "event_callback:message", "{}", time.time())
        time.sleep(0.3)  # the writer took that one alone and waits for the lock
        bad = writer.add_event("slack", "EvBad", "event_callback:\ud800", "{}", time.time())
        good = writer.add_event("slack", "EvGood", "event_callback:message", "{}", time.time())
        hold.rollback()
        hold.close()
        assert waiting.result(10) is True and good.result(10) is True
        with pytest.raises(RuntimeError):
            bad.result(10)
    finally:
        writer.close()
    assert set(events(settings)) == {"EvFirst", "EvWaiting", "EvGood"}


# --- hex signatures: case is representation, the prefix is not --------------------------------------------

def test_hex_signatures_match_in_either_case_and_the_prefix_must_be_exact(live):
    """``sha256=ABCD...`` is the same HMAC as ``sha256=abcd...`` (RFC 4648's base16 alphabet is upper
    case; Java and ServiceNow helpers print either [unc]): it was refused 401. A missing, doubled or
    foreign prefix, or a truncated value, is still refused."""
    settings, client, _ = live
    body = jira_at(int(time.time() * 1000), 50040)
    kw = jira_request(body, "jira-upper-hex")
    good = kw["headers"]["X-Hub-Signature"]
    hexpart = good.removeprefix("sha256=")
    refused = {"missing_prefix": hexpart, "double_prefix": "sha256=" + good, "sha1_prefix": "sha1=" + hexpart,
               "truncated": good[:-2], "with_junk": good + "00", "upper_prefix": "SHA256=" + hexpart}
    for name, value in refused.items():
        resp = client.post(JIRA, content=body, headers={**kw["headers"], "X-Hub-Signature": value})
        assert resp.status_code == 401, name
    upper = client.post(JIRA, content=body, headers={**kw["headers"], "X-Hub-Signature": "sha256=" + hexpart.upper()})
    assert upper.text == "accepted"
    sn = servicenow_request(SN_BODY.replace(b"c" * 32, b"d" * 32), "sn-upper-hex")
    value = sn["headers"]["X-ServiceNow-Signature"]
    assert client.post(SERVICENOW, content=sn["content"], headers={
        **sn["headers"], "X-ServiceNow-Signature": "v1=" + value.removeprefix("v1=").upper()}).text == "accepted"
    assert client.post(SERVICENOW, content=sn["content"], headers={
        **sn["headers"], "X-ServiceNow-Signature": "v1=v1=" + value.removeprefix("v1=")}).status_code == 401
    assert {"jira-upper-hex", "sn-upper-hex"} <= set(events(settings))


def test_a_servicenow_signature_in_base64_is_the_same_mac(live):
    """ServiceNow's ``GlideCertificateEncryption.generateMac`` returns the MAC in base64 [unc]: a business
    rule may send ``v1=<base64>``. The same 32 bytes are accepted; a MAC for another body, unpadded,
    URL-safe with its characters changed, or with junk after it is refused."""
    import base64

    settings, client, _ = live
    body = SN_BODY.replace(b"c" * 32, b"e" * 32)
    sn = servicenow_request(body, "sn-base64")
    mac = bytes.fromhex(sn["headers"]["X-ServiceNow-Signature"].removeprefix("v1="))
    as_b64 = base64.b64encode(mac).decode()
    other = base64.b64encode(bytes(b ^ 1 for b in mac)).decode()
    for value in ("v1=" + other, "v1=" + as_b64.rstrip("="), "v1=" + as_b64 + "AA", as_b64,
                  "v1=" + as_b64.replace("+", "-").replace("/", "_") if ("+" in as_b64 or "/" in as_b64) else "v1=!"):
        resp = client.post(SERVICENOW, content=body, headers={**sn["headers"], "X-ServiceNow-Signature": value})
        assert resp.status_code == 401, value
    resp = client.post(SERVICENOW, content=body, headers={**sn["headers"], "X-ServiceNow-Signature": "v1=" + as_b64})
    assert resp.text == "accepted"
    assert "sn-base64" in set(events(settings))
