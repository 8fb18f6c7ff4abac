"""The receiver: each endpoint's scheme, dedup, quarantine, and a 10,000-request hostile flood (in process)."""

from __future__ import annotations

import asyncio
import base64
import json
import random
import time
from urllib.parse import urlencode

import pytest

from tests.webhook_helpers import (
    GENERIC,
    JIRA,
    SECRET_ENV,
    SECRETS,
    SERVICENOW,
    SLACK_ACTIONS,
    SLACK_EVENTS,
    asgi_client,
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
from webhooks.receiver.app import ANSWERS

SN_BODY = json.dumps({"table": "incident", "sys_id": "a" * 32, "number": "INC0010001", "operation": "update",
                      "sys_updated_on": "2026-12-02 10:00:00", "sys_mod_count": "3",
                      "fields": {"state": "2"}}).encode()


def run(coro):
    return asyncio.run(coro)


async def _with_app(settings, fn):
    app = create_app(settings)
    async with app.router.lifespan_context(app), asgi_client(app) as client:
        return await fn(client)


def test_every_endpoint_accepts_its_signed_delivery_once(tmp_path):
    settings = settings_for(tmp_path)
    interaction = {"type": "block_actions", "trigger_id": "1.2.abc", "user": {"id": "U1"},
                   "actions": [{"action_id": "approve", "value": "task-1"}]}
    form = urlencode({"payload": json.dumps(interaction)}).encode()
    event = json.dumps({"type": "event_callback", "event_id": "Ev0001", "event": {"type": "app_mention"}}).encode()

    async def go(client):
        requests = [(SERVICENOW, servicenow_request(SN_BODY, "incident:x:3:update")),
                    (JIRA, jira_request(jira_body(), "jira-1")),
                    (GENERIC, generic_request(generic_body(), "msg_1")),
                    (SLACK_EVENTS, slack_request(event)),
                    (SLACK_ACTIONS, slack_request(form, "application/x-www-form-urlencoded"))]
        first = [await client.post(path, **kw) for path, kw in requests]
        again = [await client.post(path, **kw) for path, kw in requests]
        return first, again, await client.get("/healthz")

    first, again, health = run(_with_app(settings, go))
    assert [(r.status_code, r.text) for r in first] == [(200, "accepted")] * 5
    assert [(r.status_code, r.text) for r in again] == [(200, "duplicate")] * 5
    assert health.json()["status"] == "ok"
    rows = inbox_rows(settings, "select source, delivery_id, event_type, status from webhook_events order by seq")
    assert rows == [("servicenow", "incident:x:3:update", "incident.update", "pending"),
                    ("jira", "jira-1", "jira:issue_updated", "pending"),
                    ("generic", "msg_1", "task.created", "pending"),
                    ("slack", "Ev0001", "event_callback:app_mention", "pending"),
                    ("slack", "1.2.abc", "interaction:block_actions", "pending")]


def test_every_answer_says_nosniff_and_no_store(tmp_path):
    """Accepted, refused and health answers alike: a browser never sniffs a 4xx body into a page, and no
    cache or proxy keeps an answer; the health page keeps its own stricter headers."""
    settings = settings_for(tmp_path)

    async def go(client):
        return [await client.post(SERVICENOW, **servicenow_request(SN_BODY, "incident:h:1:update")),
                await client.post(JIRA, content=b"{}", headers={"content-type": "application/json"}),
                await client.get("/healthz"), await client.get("/no-such-path"),
                await client.get("/integration-health")]

    answers = run(_with_app(settings, go))
    assert [r.status_code for r in answers[:4]] == [200, 401, 200, 404]
    for answer in answers:
        assert answer.headers["x-content-type-options"] == "nosniff", answer.request.url
        assert answer.headers["cache-control"] == "no-store", answer.request.url
        assert len(answer.headers.get_list("cache-control")) == 1
    assert "default-src 'none'" in answers[4].headers["content-security-policy"]


def test_slack_url_verification_answers_the_challenge_and_stores_nothing(tmp_path):
    settings = settings_for(tmp_path)
    body = json.dumps({"token": "t", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
                       "type": "url_verification"}).encode()
    resp = run(_with_app(settings, lambda c: c.post(SLACK_EVENTS, **slack_request(body))))
    assert resp.status_code == 200
    assert resp.json() == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}
    assert inbox_rows(settings, "select count(*) from webhook_events") == [(0,)]


def test_slacks_app_rate_limited_notice_is_accepted_once_and_warned_about(tmp_path, caplog):
    """Slack sends this (no event, no event id) when it drops an app's events over 30,000 an hour in a
    workspace: it must be taken like any Slack request, not quarantined as a broken contract, and the
    warning says events are missing."""
    import logging

    from webhooks.inbox import EventQueue, open_database
    from webhooks.processing import process

    settings = settings_for(tmp_path)
    body = json.dumps({"token": "Jhj5dZrVaK7ZwHHjRyZWjbDl", "type": "app_rate_limited", "team_id": "T123456",
                       "minute_rate_limited": 1518467820, "api_app_id": "A123456"}).encode()

    async def twice(client):
        return [await client.post(SLACK_EVENTS, **slack_request(body)) for _ in range(2)]

    first, again = run(_with_app(settings, twice))
    assert (first.status_code, again.status_code) == (200, 200), (first.text, again.text)
    assert inbox_rows(settings, "select source, delivery_id, event_type from webhook_events") == [
        ("slack", "app_rate_limited:T123456:A123456:1518467820", "app_rate_limited")]
    assert inbox_rows(settings, "select count(*) from webhook_quarantine") == [(0,)]
    db = open_database(settings)
    try:
        with caplog.at_level(logging.WARNING, logger="webhooks.handlers"):
            result = process(EventQueue(db), lambda key: None)
    finally:
        db.close()
    assert (result.done, result.failed) == (1, 0)
    assert any("Slack dropped events" in r.getMessage() and "T123456" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("notice", [
    {"team_id": "T1", "api_app_id": "A1", "minute_rate_limited": int("9" * 4000)},  # a 4,000-digit id
    {"team_id": "T1\nCRITICAL forged log line", "api_app_id": "A1", "minute_rate_limited": 1},
    {"team_id": "T1:A2", "api_app_id": "", "minute_rate_limited": 1},  # would collide with T1 / A2:
    {"team_id": 7, "api_app_id": "A1", "minute_rate_limited": 1},
    {"api_app_id": "A1", "minute_rate_limited": 1},
    {"team_id": "T1", "api_app_id": "A1", "minute_rate_limited": True},
], ids=["huge-minute", "newline", "separator", "number-team", "no-team", "bool-minute"])
def test_a_signed_but_malformed_rate_limit_notice_is_quarantined_not_stored(tmp_path, notice):
    settings = settings_for(tmp_path)
    body = json.dumps({"type": "app_rate_limited", **notice}).encode()
    resp = run(_with_app(settings, lambda c: c.post(SLACK_EVENTS, **slack_request(body))))
    assert (resp.status_code, resp.json()) == (400, {"error": "bad request"})
    assert inbox_rows(settings, "select count(*) from webhook_events") == [(0,)]
    [(reason,)] = inbox_rows(settings, "select reason from webhook_quarantine")
    assert reason.startswith("contract slack.event") and len(reason) < 1000


def test_one_rate_limit_minute_is_one_delivery_however_the_number_is_written(tmp_path):
    settings = settings_for(tmp_path)
    bodies = [json.dumps({"type": "app_rate_limited", "team_id": "T1", "api_app_id": "A1",
                          "minute_rate_limited": minute}).encode() for minute in (1518467820, 1518467820.0)]

    async def both(client):
        return [await client.post(SLACK_EVENTS, **slack_request(b)) for b in bodies]

    assert [r.status_code for r in run(_with_app(settings, both))] == [200, 409]  # same id, another body
    assert inbox_rows(settings, "select delivery_id from webhook_events") == [("app_rate_limited:T1:A1:1518467820",)]


def test_signed_payload_breaking_its_contract_is_quarantined_with_its_reason(tmp_path):
    settings = settings_for(tmp_path)
    bad = json.dumps({"timestamp": 1, "webhookEvent": "jira:issue_updated", "issue": {"id": "x", "key": "PX-1"}})
    resp = run(_with_app(settings, lambda c: c.post(JIRA, **jira_request(bad.encode(), "jira-bad"))))
    assert (resp.status_code, resp.json()) == (400, {"error": "bad request"})
    (reason, body_b64), = inbox_rows(settings, "select reason, body_b64 from webhook_quarantine")
    assert "contract jira.issue_event: at issue/id" in reason
    assert base64.b64decode(body_b64) == bad.encode()
    assert inbox_rows(settings, "select count(*) from webhook_events") == [(0,)]


def test_an_endpoint_without_its_secret_rejects_everything(tmp_path):
    settings = settings_for(tmp_path)
    settings.secrets["jira"] = None
    resp = run(_with_app(settings, lambda c: c.post(JIRA, **jira_request(jira_body(), "jira-1"))))
    assert resp.status_code == 401
    assert inbox_rows(settings, "select count(*) from webhook_events") == [(0,)]


def hostile_requests(rng: random.Random, n: int) -> list[tuple[str, str, dict]]:
    """(expected reason, path, httpx kwargs): every kind of request that must not get in."""
    stale = int(time.time()) - 600
    big = b"{" + b" " * (1024 * 1024) + b"}"
    kinds = []
    for i in range(n):
        k = i % 10
        body = generic_body(n=i)
        if k == 0:  # no signature at all
            kinds.append(("missing_signature", GENERIC, {"content": body,
                                                         "headers": {"content-type": "application/json"}}))
        elif k == 1:  # a signature over another body
            kw = generic_request(generic_body(n=-i), f"msg_h{i}")
            kinds.append(("bad_signature", GENERIC, {**kw, "content": body}))
        elif k == 2:  # replay of a correctly signed delivery from 10 minutes ago
            kinds.append(("stale_timestamp", GENERIC, generic_request(body, f"msg_old{i}", ts=stale)))
        elif k == 3:  # oversize, announced or streamed without a length
            kw = {"content": big} if i % 20 == 3 else {"content": _stream(big)}
            kinds.append(("oversize", GENERIC, {**kw, "headers": {"content-type": "application/json"}}))
        elif k == 4:  # wrong content type (correctly signed)
            kw = generic_request(body, f"msg_ct{i}")
            kinds.append(("content_type", GENERIC, {**kw, "headers": {**kw["headers"], "content-type": "text/plain"}}))
        elif k == 5:  # malformed JSON, signed: quarantined as evidence, not accepted
            junk = body[: rng.randrange(1, len(body) - 1)]
            kinds.append(("malformed", GENERIC, generic_request(junk, f"msg_mal{i}")))
        elif k == 6:  # random bytes with a made-up Jira signature
            raw = rng.randbytes(rng.randrange(1, 2000))
            kinds.append(("bad_signature", JIRA, {"content": raw, "headers": {
                "content-type": "application/json", "X-Hub-Signature": f"sha256={rng.randbytes(32).hex()}",
                "X-Atlassian-Webhook-Identifier": f"h{i}"}}))
        elif k == 7:  # Slack replay outside the window
            event = json.dumps({"type": "event_callback", "event_id": f"Ev{i}", "event": {"type": "x"}}).encode()
            kinds.append(("stale_timestamp", SLACK_EVENTS, slack_request(event, ts=stale)))
        elif k == 8:  # ServiceNow with garbage signature header and random bytes
            kinds.append(("bad_signature", SERVICENOW, {"content": rng.randbytes(64), "headers": {
                "content-type": "application/json", "X-ServiceNow-Timestamp": str(int(time.time())),
                "X-ServiceNow-Signature": "v1=" + "0" * 64, "X-ServiceNow-Delivery": f"h{i}"}}))
        else:  # malformed signature headers (not base64, no version) on the generic endpoint
            kinds.append(("bad_signature", GENERIC, {"content": body, "headers": {
                "content-type": "application/json", "webhook-id": f"msg_x{i}",
                "webhook-timestamp": str(int(time.time())),
                "webhook-signature": rng.choice(["v1,@@@", "garbage", "v1,", "v2,abc v1"])}}))
    rng.shuffle(kinds)
    return kinds


async def _stream(data: bytes):
    for start in range(0, len(data), 65536):
        yield data[start:start + 65536]


def test_ten_thousand_hostile_requests_get_nothing_in_and_valid_ones_still_pass(tmp_path):
    settings = settings_for(tmp_path, rejections_per_minute=100_000)
    rng = random.Random(7)
    hostile = hostile_requests(rng, 10_000)
    expected: dict[tuple[str, str], int] = {}
    names = {GENERIC: "generic", JIRA: "jira", SLACK_EVENTS: "slack_events", SERVICENOW: "servicenow"}
    for reason, path, _ in hostile:
        expected[(names[path], reason)] = expected.get((names[path], reason), 0) + 1
    before = {key: metric("webhook_failures_total", endpoint=key[0], reason=key[1]) for key in expected}
    valid = [(f"ok{i}", generic_request(generic_body(ok=i), f"msg_valid{i}")) for i in range(300)]

    async def go(client):
        gate = asyncio.Semaphore(50)
        statuses: list[tuple[int, str]] = []
        ok: list[int] = []

        async def send_hostile(path, kw):
            async with gate:
                r = await client.post(path, **kw)
                statuses.append((r.status_code, r.json()["error"]))

        async def send_valid(kw):
            async with gate:
                ok.append((await client.post(GENERIC, **kw)).status_code)

        tasks = [send_hostile(path, kw) for _, path, kw in hostile]
        for i, (_, kw) in enumerate(valid[:200]):  # interleaved with the flood
            tasks.insert(i * 50, send_valid(kw))
        started = time.monotonic()
        await asyncio.gather(*tasks)
        for _, kw in valid[200:]:  # and after it
            ok.append((await client.post(GENERIC, **kw)).status_code)
        return statuses, ok, time.monotonic() - started

    statuses, ok, elapsed = run(_with_app(settings, go))
    assert ok == [200] * 300  # from the flood's own address: bad signatures do not lock a sender out
    assert {s for s, _ in statuses} <= {400, 401, 413, 429}
    # all from one address: past its failure budget (200, then one a second while the flood lasts) the 9,000
    # requests refused before verification are answered 429; the 1,000 signed malformed ones are not
    assert sum(s == 429 for s, _ in statuses) >= 8_000
    assert {(s, e) for s, e in statuses} <= {(k, v) for k, v in ANSWERS.items()}  # no detail beyond these words
    assert len(statuses) == 10_000
    ids = {row[0] for row in inbox_rows(settings, "select delivery_id from webhook_events")}
    assert ids == {f"msg_valid{i}" for i in range(300)}  # 0 hostile accepted
    for key, n in expected.items():
        assert metric("webhook_failures_total", endpoint=key[0], reason=key[1]) - before[key] == n, key
    recorded = dict(inbox_rows(settings, "select reason, count(*) from webhook_rejections group by reason"))
    assert recorded["bad_signature"] > 0 and recorded["oversize"] > 0
    assert max(len(r[0] or "") for r in inbox_rows(settings, "select body_prefix_b64 from webhook_rejections")) <= 344
    quarantined = inbox_rows(settings, "select count(*) from webhook_quarantine")[0][0]
    # signed junk is kept once per distinct body (the same bytes twice are one piece of evidence)
    assert quarantined == len({kw["content"] for reason, _, kw in hostile if reason == "malformed"})
    assert elapsed < 120


@pytest.mark.parametrize("length", ["-1", "abc", "99999999999999999999"])
def test_a_lying_content_length_is_refused(tmp_path, length):
    from starlette.testclient import TestClient

    with TestClient(create_app(settings_for(tmp_path))) as client:
        resp = client.post(GENERIC, content=b"{}", headers={"content-type": "application/json",
                                                            "content-length": length})
    assert resp.status_code in (400, 413)


def _jira_signed(secret: str, ident: str) -> dict:
    from webhooks.receiver.verify import jira_signature

    body = jira_body()
    return {"content": body, "headers": {"content-type": "application/json", "X-Atlassian-Webhook-Identifier": ident,
                                         "X-Hub-Signature": jira_signature(secret, body)}}


def test_a_rotated_secret_takes_effect_without_a_restart_and_the_old_one_has_a_grace_period(tmp_path):
    settings = settings_for(tmp_path, secret_grace_seconds=600)
    app = create_app(settings)
    receiver = app.state.receiver
    old, new = SECRETS["jira"], "jira-rotated-secret"

    async def go():
        async with app.router.lifespan_context(app), asgi_client(app) as client:
            answers = [(await client.post(JIRA, **_jira_signed(new, "r-0"))).status_code]  # not yet rotated
            assert receiver.refresh_secrets({"jira": new, "generic": None}) == ["jira"]
            answers += [(await client.post(JIRA, **_jira_signed(s, f"r-{i}"))).status_code
                        for i, s in enumerate((new, old, "a-guess"), 1)]
            assert (await client.post(GENERIC, **generic_request(generic_body(), "g-1"))).status_code == 200
            receiver.clock = lambda: time.time() + 601  # the grace period is over
            answers += [(await client.post(JIRA, **_jira_signed(s, f"r-{i}"))).status_code
                        for i, s in enumerate((old, new), 4)]
            return answers

    assert run(go()) == [401, 200, 200, 401, 401, 200]  # a missing key ("generic": None) kept its secret
    assert "jira-rotated-secret" not in settings.describe()


def test_two_rotations_within_the_grace_period_keep_both_replaced_secrets(tmp_path):
    """A -> B, then B -> C minutes later (B had a typo): deliveries the vendor still signs with A verify until A's
    grace period ends (only the last replaced secret was kept: A's deliveries were refused at once)."""
    settings = settings_for(tmp_path, secret_grace_seconds=600)
    app = create_app(settings)
    receiver = app.state.receiver
    a, b, c = SECRETS["jira"], "jira-rotated-b", "jira-rotated-c"
    start = time.time()

    async def go():
        async with app.router.lifespan_context(app), asgi_client(app) as client:
            receiver.clock = lambda: start
            assert receiver.refresh_secrets({"jira": b}) == ["jira"]
            receiver.clock = lambda: start + 300
            assert receiver.refresh_secrets({"jira": c}) == ["jira"]
            answers = [(await client.post(JIRA, **_jira_signed(s, f"t-{i}"))).status_code
                       for i, s in enumerate((a, b, c))]
            receiver.clock = lambda: start + 700  # A's grace is over, B's (replaced at +300) is not
            answers += [(await client.post(JIRA, **_jira_signed(s, f"t-{i}"))).status_code
                        for i, s in enumerate((a, b, c), 3)]
            return answers

    assert run(go()) == [200, 200, 200, 401, 200, 200]


def test_the_receiver_rereads_its_secrets_while_it_runs(tmp_path, monkeypatch):
    """Secrets it read itself (here the local env fallback, as from Vault) are read again every
    secret_refresh_seconds; a Vault outage during a re-read keeps the current ones."""
    from webhooks.settings import WebhookSettings

    for env, value in SECRET_ENV.items():
        monkeypatch.setenv(env, value)
    monkeypatch.setenv("PROJECTX_ENV", "local")
    monkeypatch.delenv("VAULT_ADDR", raising=False)
    settings = WebhookSettings(sqlite_path=str(tmp_path / "inbox.sqlite3"), secret_refresh_seconds=0.1)
    app = create_app(settings)

    async def go():
        async with app.router.lifespan_context(app), asgi_client(app) as client:
            first = (await client.post(JIRA, **_jira_signed(SECRETS["jira"], "t-0"))).status_code
            monkeypatch.setenv("JIRA_WEBHOOK_SECRET", "jira-from-the-next-read")
            deadline, status = time.monotonic() + 10, None
            while time.monotonic() < deadline and status != 200:
                await asyncio.sleep(0.1)
                status = (await client.post(JIRA, **_jira_signed("jira-from-the-next-read", "t-1"))).status_code
            return first, status

    assert run(go()) == (200, 200)
    assert app.state.receiver._refresher is None  # stopped with the app


def test_a_secret_from_a_crlf_env_file_verifies(tmp_path, monkeypatch):
    """Locally the secrets come from the environment; a .env written on Windows leaves "\\r" on each value, which
    made every delivery a 401 bad_signature (Vault values were already trimmed)."""
    from webhooks.settings import load_secrets

    for env, value in SECRET_ENV.items():
        monkeypatch.setenv(env, value + "\r")
    monkeypatch.setenv("PROJECTX_ENV", "local")
    monkeypatch.delenv("VAULT_ADDR", raising=False)
    assert load_secrets()["jira"] == SECRETS["jira"]
