"""Two attacks on the receiver from outside, over loopback HTTP against a real uvicorn server
(``LiveReceiver``, as in test_webhooks_attacks):

1. A captured signed request re-sent under a fresh delivery id. ServiceNow and Jira do not sign their
   id header, so the inbox's id dedup let the copy in as a new event. Now a signed body already
   accepted within the replay window is refused (401, reason ``replayed_body``) whatever id it carries.
2. No per-sender rate limit. Now each (endpoint, client address) has a budget of verified deliveries
   and a much smaller, separate one of failed requests; over either, 429 with Retry-After.
"""

from __future__ import annotations

import concurrent.futures
import time

import httpx
import pytest

from tests.webhook_helpers import (
    GENERIC,
    JIRA,
    SERVICENOW,
    LiveReceiver,
    generic_body,
    generic_request,
    inbox_rows,
    jira_body,
    jira_request,
    metric,
    servicenow_request,
    settings_for,
)
from webhooks.app import create_app
from webhooks.inbox import InboxWriter
from webhooks.inbox.writer import REPLAY
from webhooks.receiver.limits import TokenBuckets, client_address, sender_key
from webhooks.settings import WebhookSettings


def sn_body(number: int, mod_count: int = 1) -> bytes:
    import json

    return json.dumps({"table": "incident", "sys_id": f"{number:032x}", "number": f"INC{number:07d}",
                       "operation": "update", "sys_updated_on": "2026-12-02 10:00:00",
                       "sys_mod_count": str(mod_count), "fields": {"state": "2"}}).encode()


def with_id(kw: dict, header: str, ident: str) -> dict:
    """The captured request with only its (unsigned) delivery id header replaced."""
    return {**kw, "headers": {**kw["headers"], header: ident}}


def rejections(settings, reason: str, at_least: int = 1) -> list[tuple]:
    """Rejection rows are written after the answer (not awaited): wait up to 5 s for ``at_least`` of them."""
    deadline = time.monotonic() + 5
    while True:
        rows = inbox_rows(settings, f"select endpoint, remote_addr from webhook_rejections where reason = '{reason}'")
        if len(rows) >= at_least or time.monotonic() > deadline:
            return rows
        time.sleep(0.05)


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    # replays count as failed requests; this module sends more of them than the default failure budget
    settings = settings_for(tmp_path_factory.mktemp("replays"), failure_burst=1000)
    with LiveReceiver(create_app(settings)) as served, httpx.Client(base_url=served.url, timeout=10) as client:
        yield settings, client


# --- 1. replays under a fresh delivery id -----------------------------------------------------------------

@pytest.mark.parametrize("vendor", ["servicenow", "jira"])
def test_a_captured_request_under_a_new_delivery_id_is_a_replay_and_a_vendor_retry_is_still_a_duplicate(
        live, vendor):
    settings, client = live
    if vendor == "servicenow":
        path, header, body = SERVICENOW, "X-ServiceNow-Delivery", sn_body(101)
        captured = servicenow_request(body, "incident:101:1:update")
    else:
        path, header, body = JIRA, "X-Atlassian-Webhook-Identifier", jira_body(40001)
        captured = jira_request(body, "jira-hook-40001")
    original = captured["headers"][header]
    before = metric("webhook_failures_total", endpoint=vendor, reason="replayed_body")
    assert client.post(path, **captured).text == "accepted"

    replays = [client.post(path, **with_id(captured, header, f"{original}-forged-{i}")) for i in range(3)]
    assert [(r.status_code, r.json()) for r in replays] == [(401, {"error": "unauthorized"})] * 3
    assert metric("webhook_failures_total", endpoint=vendor, reason="replayed_body") == before + 3
    assert len([r for r in rejections(settings, "replayed_body", 3 if vendor == "servicenow" else 6)
                if r[0] == vendor]) >= 3
    stored = inbox_rows(settings, f"select delivery_id from webhook_events where source = '{vendor}' "
                                  f"and body = '{body.decode()}'")
    assert stored == [(original,)]  # enqueued once

    # the vendor's own retry: the same id and body (ServiceNow signs each attempt afresh)
    retry = captured if vendor == "jira" else servicenow_request(body, original, ts=int(time.time()) + 1)
    assert (client.post(path, **retry).status_code, client.post(path, **retry).text) == (200, "duplicate")
    # and the next real event (another body, another id) still gets in
    nxt = servicenow_request(sn_body(101, 2), "incident:101:2:update") if vendor == "servicenow" \
        else jira_request(jira_body(40002), "jira-hook-40002")
    assert client.post(path, **nxt).text == "accepted"


def test_a_burst_of_copies_under_distinct_ids_at_first_sight_lets_exactly_one_in(live):
    """The check and the insert are one transaction in the inbox writer: racing copies cannot both pass."""
    settings, client = live
    body = jira_body(40100)
    captured = jira_request(body, "race-0")
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda i: client.post(JIRA, **with_id(captured, "X-Atlassian-Webhook-Identifier",
                                                                        f"race-{i}")), range(16)))
    assert sorted(r.status_code for r in answers) == [200] + [401] * 15
    assert inbox_rows(settings, f"select count(*) from webhook_events where body = '{body.decode()}'") == [(1,)]


def test_servicenow_replays_are_caught_with_the_timestamp_they_were_signed_with(live):
    """ServiceNow signs "<timestamp>." + body: a copy must keep the captured timestamp, and it is refused;
    the same body signed at another time is a different signed message (a retry with its stored id)."""
    settings, client = live
    body, stamp = sn_body(102), int(time.time()) - 30
    captured = servicenow_request(body, "incident:102:1:update", ts=stamp)
    assert client.post(SERVICENOW, **captured).text == "accepted"
    copy = with_id(captured, "X-ServiceNow-Delivery", "incident:102:9:update")
    assert client.post(SERVICENOW, **copy).status_code == 401
    # a forged timestamp does not verify at all
    forged = {**copy, "headers": {**copy["headers"], "X-ServiceNow-Timestamp": str(stamp + 1)}}
    assert client.post(SERVICENOW, **forged).status_code == 401
    assert inbox_rows(settings, "select delivery_id from webhook_events where delivery_id like 'incident:102:%'") \
        == [("incident:102:1:update",)]


def test_endpoints_that_sign_their_delivery_id_accept_identical_bodies_under_new_ids(live):
    """Standard Webhooks signs ``webhook-id``: a partner sending the same bytes under two signed ids sent
    two messages (an attacker cannot change the id without breaking the signature)."""
    settings, client = live
    body = generic_body("partner.ping")
    answers = [client.post(GENERIC, **generic_request(body, f"msg_same_body_{i}")).text for i in range(2)]
    assert answers == ["accepted", "accepted"]
    assert inbox_rows(settings, "select count(*) from webhook_events where delivery_id like 'msg_same_body_%'") \
        == [(2,)]
    forged = generic_request(body, "msg_same_body_0")
    forged["headers"]["webhook-id"] = "msg_same_body_forged"
    assert client.post(GENERIC, **forged).status_code == 401


def test_replay_detection_survives_a_restart_and_expires_after_the_window(tmp_path):
    """The digests live in the inbox (not the process): a restarted receiver, or another one on the
    same PostgreSQL inbox, still refuses the copy. Past ``replay_window_seconds`` the digest is forgotten."""
    settings = settings_for(tmp_path)
    body = jira_body(40200)
    captured = jira_request(body, "jira-restart-1")
    with LiveReceiver(create_app(settings)) as served:
        assert httpx.post(served.url + JIRA, **captured).text == "accepted"
    with LiveReceiver(create_app(settings)) as served:
        copy = with_id(captured, "X-Atlassian-Webhook-Identifier", "jira-restart-2")
        assert httpx.post(served.url + JIRA, **copy).status_code == 401

    writer = InboxWriter(settings)
    try:
        t0, window = time.time(), settings.replay_window_seconds
        def add(ident, at):
            return writer.add_event("jira", ident, "jira:issue_updated", "{}", at, replay_digest="d" * 64,
                                    replay_window=window).result(5)
        assert add("w-1", t0) is True
        assert add("w-2", t0 + window - 1) == REPLAY
        assert add("w-1", t0 + window - 1) is False  # the vendor's retry
        assert add("w-3", t0 + window + 1) is True  # outside the window: a new delivery
        assert add("w-4", t0 + window + 2) == REPLAY  # ... and the window restarts from it
    finally:
        writer.close()


def test_a_jira_body_signed_longer_ago_than_the_replay_window_is_refused_as_stale(live):
    """Jira signs no timestamp header, and body digests are kept for the replay window only: a body
    captured earlier than that would pass as new. Its own signed ``timestamp`` dates it."""
    import json

    settings, client = live
    window = settings.replay_window_seconds

    def body(age: float, issue: int) -> bytes:
        return json.dumps({"timestamp": int((time.time() - age) * 1000), "webhookEvent": "jira:issue_updated",
                           "issue": {"id": str(issue), "key": f"PX-{issue}", "fields": {}}}).encode()

    old = client.post(JIRA, **jira_request(body(window + 60, 40300), "jira-old-1"))
    assert old.status_code == 401 and old.json() == {"error": "unauthorized"}
    assert rejections(settings, "stale_timestamp")
    within = client.post(JIRA, **jira_request(body(window - 3600, 40301), "jira-late-1"))
    assert within.text == "accepted"  # a vendor retry late within the window still gets in
    ahead = client.post(JIRA, **jira_request(body(-600, 40302), "jira-ahead-1"))
    assert ahead.text == "accepted"  # a sender clock ahead of ours is not a replay
    assert inbox_rows(settings, "select delivery_id from webhook_events where delivery_id like 'jira-%-1' "
                                "and delivery_id in ('jira-old-1', 'jira-late-1', 'jira-ahead-1') order by 1") == \
        [("jira-ahead-1",), ("jira-late-1",)]


# --- 2. per-sender rate limits --------------------------------------------------------------------------

def _limited(tmp_path, **limits) -> WebhookSettings:
    return settings_for(tmp_path, **{"rate_per_second": 2.0, "rate_burst": 5, "failure_rate_per_second": 0.1,
                                     "failure_burst": 3, **limits})


def _bad(body: bytes, ident: str) -> dict:
    kw = jira_request(body, ident)
    kw["headers"]["X-Hub-Signature"] = "sha256=" + "0" * 64
    return kw


def test_a_sender_over_its_delivery_budget_gets_429_with_retry_after_and_its_retry_gets_in(tmp_path):
    settings = _limited(tmp_path)
    before = metric("webhook_rate_limited_total", endpoint="generic", limit="deliveries")
    with LiveReceiver(create_app(settings)) as served, httpx.Client(base_url=served.url, timeout=10) as client:
        answers = [client.post(GENERIC, **generic_request(generic_body(n=i), f"msg_rl_{i}")) for i in range(8)]
        assert [r.status_code for r in answers] == [200] * 5 + [429] * 3
        wait = answers[-1].headers["retry-after"]
        assert wait.isdigit() and 1 <= int(wait) <= 2
        assert metric("webhook_rate_limited_total", endpoint="generic", limit="deliveries") == before + 3
        assert {d for (d,) in inbox_rows(settings, "select delivery_id from webhook_events")} == \
            {f"msg_rl_{i}" for i in range(5)}
        # another endpoint has its own budget
        assert client.post(JIRA, **jira_request(jira_body(41000), "jira-rl-1")).text == "accepted"
        time.sleep(int(wait))  # the vendor retries after Retry-After: nothing is lost
        assert client.post(GENERIC, **generic_request(generic_body(n=5), "msg_rl_5")).text == "accepted"


def test_a_bad_signature_flood_is_limited_strictly_and_does_not_lock_out_the_vendor(tmp_path):
    """Failures have their own small budget: past it, 429 with Retry-After and no rejection row written.
    They never spend the deliveries budget, and a valid delivery from the same address (Atlassian and
    Slack send from shared ranges) is still verified and accepted."""
    settings = _limited(tmp_path)
    before = metric("webhook_failures_total", endpoint="jira", reason="bad_signature")
    limited = metric("webhook_rate_limited_total", endpoint="jira", limit="failures")
    with LiveReceiver(create_app(settings)) as served, httpx.Client(base_url=served.url, timeout=10) as client:
        flood = [client.post(JIRA, **_bad(jira_body(42000 + i), f"bad-{i}")) for i in range(30)]
        assert [r.status_code for r in flood] == [401] * 3 + [429] * 27
        assert all(1 <= int(r.headers["retry-after"]) <= 10 for r in flood[3:])
        time.sleep(0.5)  # let any stray write land before counting
        assert len(rejections(settings, "bad_signature", 3)) == 3  # the flood costs no more writes
        assert metric("webhook_failures_total", endpoint="jira", reason="bad_signature") == before + 30
        assert metric("webhook_rate_limited_total", endpoint="jira", limit="failures") == limited + 27
        valid = [client.post(JIRA, **jira_request(jira_body(42100 + i), f"good-{i}")).text for i in range(5)]
        assert valid == ["accepted"] * 5  # the full deliveries budget is still there
    assert inbox_rows(settings, "select count(*) from webhook_events") == [(5,)]


def test_forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy(tmp_path):
    """uvicorn rewrote the client from X-Forwarded-For for any request from 127.0.0.1 (its default
    FORWARDED_ALLOW_IPS): one sender could pose as many. Now only PROJECTX_WEBHOOK_TRUSTED_PROXIES counts."""
    settings = _limited(tmp_path)
    with LiveReceiver(create_app(settings)) as served, httpx.Client(base_url=served.url, timeout=10) as client:
        statuses = []
        for i in range(6):
            kw = _bad(b"{}", f"xff-{i}")
            statuses.append(client.post(JIRA, content=kw["content"], headers={
                **kw["headers"], "X-Forwarded-For": f"198.51.100.{i}"}).status_code)
    assert statuses == [401] * 3 + [429] * 3  # one budget: the real peer's
    assert {addr for _, addr in rejections(settings, "bad_signature", 3)} == {"127.0.0.1"}


def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_budget(tmp_path):
    settings = _limited(tmp_path, trusted_proxies=("127.0.0.0/8",))
    with LiveReceiver(create_app(settings)) as served, httpx.Client(base_url=served.url, timeout=10) as client:
        def post(ident, forwarded):
            kw = _bad(b"{}", ident)
            return client.post(JIRA, content=kw["content"], headers={**kw["headers"], "X-Forwarded-For": forwarded})

        # the client wrote the left part itself; the proxy appended the address it saw
        a = [post(f"a{i}", f"10.9.9.9, 203.0.113.{i % 2 + 5}").status_code for i in range(8)]
        assert a == [401, 401, 401, 401, 401, 401, 429, 429]
    assert {addr for _, addr in rejections(settings, "bad_signature", 6)} == {"203.0.113.5", "203.0.113.6"}


def test_a_flood_of_distinct_addresses_keeps_a_bounded_number_of_senders(tmp_path):
    settings = _limited(tmp_path, trusted_proxies=("127.0.0.1",), rate_max_senders=16)
    app = create_app(settings)
    with LiveReceiver(app) as served, httpx.Client(base_url=served.url, timeout=10) as client:
        kw = _bad(b"{}", "spoof")
        for i in range(200):
            client.post(JIRA, content=kw["content"],
                        headers={**kw["headers"], "X-Forwarded-For": f"192.0.2.{i}"})
        assert len(app.state.receiver.limits) <= 3 * 16  # three bucket kinds
        assert client.post(JIRA, **jira_request(jira_body(43000), "after-spoof")).text == "accepted"


# --- the pure parts ---------------------------------------------------------------------------------------

def test_token_buckets_refill_cap_and_evict_least_recently_used():
    now = [0.0]
    buckets = TokenBuckets(rate=1.0, burst=2, max_keys=3, clock=lambda: now[0])
    assert [buckets.take("a") for _ in range(3)] == [0.0, 0.0, 1.0]
    now[0] = 0.5
    assert buckets.take("a") == pytest.approx(0.5)
    now[0] = 100.0  # long idle: back to the burst, not 100 tokens
    assert [buckets.take("a") for _ in range(3)] == [0.0, 0.0, 1.0]
    for key in "bcd":
        buckets.take(key)
    assert len(buckets) == 3 and "a" not in buckets  # least recently used went first
    assert TokenBuckets(rate=0, burst=0, max_keys=3).take("x") == 0.0  # rate 0: no limit


def test_client_address_and_sender_key():
    trusted = ("10.0.0.0/8", "127.0.0.1")
    assert client_address("203.0.113.9", "1.1.1.1", ()) == "203.0.113.9"  # not trusted: header ignored
    assert client_address("10.1.2.3", "6.6.6.6, 203.0.113.9, 10.4.4.4", trusted) == "203.0.113.9"
    assert client_address("10.1.2.3", "garbage, 10.4.4.4", trusted) == "10.4.4.4"
    assert client_address("10.1.2.3", None, trusted) == "10.1.2.3"
    assert client_address("127.0.0.1", " 2001:DB8::5 ", trusted) == "2001:db8::5"
    assert sender_key("2001:db8:0:1:aaaa::1") == sender_key("2001:db8:0:1:ffff::2") == "2001:db8:0:1::/64"
    assert sender_key("192.0.2.1") == "192.0.2.1" and sender_key(None) == "unknown"


def test_limits_and_trusted_proxies_come_from_the_environment(monkeypatch):
    for name, value in {"PROJECTX_WEBHOOK_RATE_PER_SECOND": "7.5", "PROJECTX_WEBHOOK_RATE_BURST": "70",
                        "PROJECTX_WEBHOOK_FAILURE_RATE_PER_SECOND": "0.1", "PROJECTX_WEBHOOK_FAILURE_BURST": "4",
                        "PROJECTX_WEBHOOK_RATE_MAX_SENDERS": "100",
                        "PROJECTX_WEBHOOK_TRUSTED_PROXIES": "10.0.0.0/8, 192.0.2.7",
                        "PROJECTX_WEBHOOK_REPLAY_WINDOW_SECONDS": "86400"}.items():
        monkeypatch.setenv(name, value)
    s = WebhookSettings.from_env()
    assert (s.rate_per_second, s.rate_burst, s.failure_rate_per_second, s.failure_burst, s.rate_max_senders,
            s.trusted_proxies, s.replay_window_seconds) == (7.5, 70, 0.1, 4, 100, ("10.0.0.0/8", "192.0.2.7"),
                                                            86400.0)
    monkeypatch.setenv("PROJECTX_WEBHOOK_TRUSTED_PROXIES", "10.0.0.0/33")
    with pytest.raises(ValueError, match="PROJECTX_WEBHOOK_TRUSTED_PROXIES"):
        WebhookSettings.from_env()
    monkeypatch.delenv("PROJECTX_WEBHOOK_TRUSTED_PROXIES")
    monkeypatch.setenv("PROJECTX_WEBHOOK_REPLAY_WINDOW_SECONDS", "60")  # shorter than a signed timestamp lives
    with pytest.raises(ValueError, match="at least 600"):
        WebhookSettings.from_env()

