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

from tests.webhook_helpers import (
    JIRA,
    LiveReceiver,
    inbox_rows,
    jira_request,
    settings_for,
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
    still be inside the window when its digest is forgotten, so a captured copy would get in again.
    A clock up to 15 minutes ahead is still accepted (test_webhooks_replay_and_limits: 10 minutes)."""
    settings, client, _ = live
    now_ms = int(time.time() * 1000)
    ahead = client.post(JIRA, **jira_request(jira_at(now_ms + 86_400_000, 50010), "jira-day-ahead"))
    assert (ahead.status_code, ahead.json()) == (401, {"error": "unauthorized"})
    near_end = now_ms - int((settings.replay_window_seconds - 300) * 1000)  # digest gone before it goes stale
    assert client.post(JIRA, **jira_request(jira_at(near_end, 50011), "jira-near-end")).status_code == 401
    ok = client.post(JIRA, **jira_request(jira_at(now_ms + 600_000, 50012), "jira-ten-min-ahead"))
    assert ok.text == "accepted"
    assert {"jira-day-ahead", "jira-near-end"}.isdisjoint(events(settings))
