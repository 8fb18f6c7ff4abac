"""Round 29: slack_sdk's own retry handlers, unchanged, against the Slack sandbox's 5xx and 429 answers.

Earlier rounds drove RateLimitErrorRetryHandler only (Web API). Here ServerErrorRetryHandler (sync and async),
a webhook's 429 and 5xx under WebhookClient's handlers, and Retry-After being waited out. The handlers act on the
HTTP status only (500/503 for server errors, 429 for rate limits): an emulator answering such faults HTTP 200
`ok: false` would never be retried, and one answering Slack's own errors 5xx would be retried for nothing."""

from __future__ import annotations

import asyncio
import time

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncServerErrorRetryHandler
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler, ServerErrorRetryHandler
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook import WebhookClient

FAST = FixedValueRetryIntervalCalculator(0.05)


def _client(sb, *handlers) -> WebClient:
    return WebClient(token=sb.bot_token, base_url=sb.url + "/api/", retry_handlers=list(handlers))


@pytest.mark.parametrize("status", [500, 503])
def test_server_errors_are_retried_then_reported(slack_sandbox, status):
    slack_sandbox.faults.set(rate_5xx=1.0, status_5xx=status, paths=[r"^/api/auth\.test$"])
    client = _client(slack_sandbox, ServerErrorRetryHandler(max_retry_count=2, interval_calculator=FAST))
    with pytest.raises(SlackApiError) as info:
        client.auth_test()
    assert info.value.response.status_code == status
    assert info.value.response["error"] == "internal_error"
    assert slack_sandbox.method_calls("auth.test") == 3  # the first try and two retries
    slack_sandbox.faults.clear()
    assert client.auth_test()["ok"]


def test_a_lost_reply_is_retried_and_the_post_is_kept_twice(slack_sandbox):
    """Slack's 5xx after the write: the retried post is a second message (what a sender's look-up must catch)."""
    slack_sandbox.faults.set(rate_lost_reply=1.0, status_5xx=500, paths=[r"^/api/chat\.postMessage$"])
    client = _client(slack_sandbox, ServerErrorRetryHandler(max_retry_count=1, interval_calculator=FAST))
    with pytest.raises(SlackApiError):
        client.chat_postMessage(channel="#alerts-jira", text="lost reply")
    slack_sandbox.faults.clear()
    assert [m["text"] for m in slack_sandbox.messages("alerts-jira")] == ["lost reply", "lost reply"]


def test_slack_errors_are_not_server_errors(slack_sandbox):
    client = _client(slack_sandbox, ServerErrorRetryHandler(max_retry_count=3, interval_calculator=FAST),
                     RateLimitErrorRetryHandler(max_retry_count=3))
    for call, kwargs in ((client.chat_postMessage, {"channel": "#no-such-channel", "text": "x"}),
                         (client.chat_postMessage, {"channel": "#alerts-jira", "text": "x" * 40_001}),
                         (client.users_lookupByEmail, {"email": "nobody@projectx.example"})):
        with pytest.raises(SlackApiError) as info:
            call(**kwargs)
        assert info.value.response.status_code == 200
    assert slack_sandbox.method_calls("chat.postMessage") == 2
    assert slack_sandbox.method_calls("users.lookupByEmail") == 1


def test_async_server_error_handler(slack_sandbox):
    slack_sandbox.faults.set(rate_5xx=1.0, status_5xx=503, paths=[r"^/api/team\.info$"])

    async def go():
        handler = AsyncServerErrorRetryHandler(max_retry_count=2, interval_calculator=FAST)
        client = AsyncWebClient(token=slack_sandbox.bot_token, base_url=slack_sandbox.url + "/api/",
                                retry_handlers=[handler])
        with pytest.raises(SlackApiError) as info:
            await client.team_info()
        slack_sandbox.faults.clear()
        return info.value.response.status_code, (await client.team_info())["team"]["id"]

    status, team = asyncio.run(go())
    assert status == 503 and team == slack_sandbox.workspace.team_id
    assert slack_sandbox.method_calls("team.info") == 4


def test_retry_after_is_waited_out(slack_sandbox):
    slack_sandbox.set_method_error("reactions.add", "ratelimited")  # 429 with Retry-After: 1
    client = _client(slack_sandbox, RateLimitErrorRetryHandler(max_retry_count=1))
    posted = client.chat_postMessage(channel="#alerts-jira", text="react to me")
    started = time.monotonic()
    with pytest.raises(SlackApiError) as info:
        client.reactions_add(channel=posted["channel"], timestamp=posted["ts"], name="eyes")
    assert time.monotonic() - started >= 1.0
    assert info.value.response.status_code == 429 and info.value.response.headers["Retry-After"] == "1"
    assert slack_sandbox.method_calls("reactions.add") == 2


def test_webhook_rate_limit_and_server_error_are_retried(slack_sandbox):
    slack_sandbox.faults.set(rate_429=1.0, retry_after=1, paths=[r"^/services/"])
    hook = WebhookClient(slack_sandbox.webhook_url, retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)])
    started = time.monotonic()
    limited = hook.send(text="limited")
    assert limited.status_code == 429 and time.monotonic() - started >= 1.0
    assert {k.lower(): v for k, v in limited.headers.items()}["retry-after"] in ("1", ["1"])

    slack_sandbox.faults.set(rate_429=0.0, rate_5xx=1.0, status_5xx=500)
    hook = WebhookClient(slack_sandbox.webhook_url,
                         retry_handlers=[ServerErrorRetryHandler(max_retry_count=2, interval_calculator=FAST)])
    failed = hook.send(text="down")
    assert (failed.status_code, failed.body) == (500, "rollup_error")
    calls = sum(1 for r in slack_sandbox.request_log if r["path"].startswith("/services/"))
    assert calls == 2 + 3
    slack_sandbox.faults.clear()
    assert hook.send(text="back").body == "ok"
    assert [m["text"] for m in slack_sandbox.messages()] == ["back"]
