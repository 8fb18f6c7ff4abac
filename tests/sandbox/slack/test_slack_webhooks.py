"""Slack sandbox incoming webhooks through slack_sdk.webhook.WebhookClient and plain HTTP."""

from __future__ import annotations

import threading

import requests
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.webhook import WebhookClient


def test_webhook_posts_plain_text_ok_and_keeps_message(slack_sandbox):
    client = WebhookClient(slack_sandbox.webhook_url)
    resp = client.send(text="Nightly sync finished", blocks=[{"type": "divider"}])
    assert resp.status_code == 200 and resp.body == "ok"
    kept = slack_sandbox.messages("alerts-servicenow")
    assert len(kept) == 1 and kept[0]["via"] == "webhook" and [b["type"] for b in kept[0]["blocks"]] == ["divider"]
    other = WebhookClient(slack_sandbox.webhook_url_for("compliance-delivery")).send(text="evidence due")
    assert other.body == "ok" and slack_sandbox.messages("compliance-delivery")[0]["text"] == "evidence due"


def test_webhook_error_codes(slack_sandbox):
    url = slack_sandbox.webhook_url
    no_text = WebhookClient(url).send(blocks=[])
    assert no_text.status_code == 400 and no_text.body == "no_text"
    bad = requests.post(url, data="{not json", headers={"Content-Type": "application/json"}, timeout=10)
    assert bad.status_code == 400 and bad.text == "invalid_payload"
    legacy = requests.post(url, data={"payload": '{"text": "legacy form"}'}, timeout=10)
    assert legacy.text == "ok" and slack_sandbox.messages()[-1]["text"] == "legacy form"
    unknown = requests.post(slack_sandbox.url + "/services/T000/B000/nope", json={"text": "x"}, timeout=10)
    assert unknown.status_code == 404 and unknown.text == "no_service"
    archived = WebhookClient(slack_sandbox.webhook_url_for("legacy-alerts")).send(text="x")
    assert archived.status_code == 410 and archived.body == "channel_is_archived"
    slack_sandbox.archive("alerts-servicenow")
    assert WebhookClient(url).send(text="x").status_code == 410
    slack_sandbox.archive("alerts-servicenow", archived=False)
    assert WebhookClient(url).send(text="x").body == "ok"


def test_webhook_429_switches_on_and_off_and_retry_handler_recovers(slack_sandbox):
    slack_sandbox.faults.set(rate_429=1.0, retry_after=1)
    limited = WebhookClient(slack_sandbox.webhook_url).send(text="x")
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "1"
    assert '"error":"rate_limited"' in limited.body
    assert slack_sandbox.messages() == []
    client = WebhookClient(slack_sandbox.webhook_url, retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=2)])
    timer = threading.Timer(0.3, slack_sandbox.faults.clear)
    timer.start()
    try:
        assert client.send(text="eventually").body == "ok"
    finally:
        timer.cancel()
    assert [m["text"] for m in slack_sandbox.messages()] == ["eventually"]
