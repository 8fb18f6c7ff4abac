"""Slack Events API requests from the Slack sandbox reach the product's real receiver over HTTP, as Slack
sends them: the sandbox verifies the receiver's Request URL with its challenge, a person's message lands in
the inbox once, Slack's retry of an event whose answer came too late is a duplicate, and a delivery signed
with another secret is refused."""

from __future__ import annotations

import asyncio

from tests.webhook_helpers import SECRETS, SLACK_EVENTS, LiveReceiver, inbox_rows, settings_for
from webhooks.app import create_app

FAST = [0.05, 0.05, 0.05]  # Slack's 0 s / 1 min / 5 min before the retries, shortened


class SlowFirstAnswer:
    """ASGI wrapper: the receiver handles every request, but its answer to the first delivery of an event
    (no X-Slack-Retry-Num) reaches Slack `delay` seconds late, as from a receiver stalled on its inbox."""

    def __init__(self, app, delay: float) -> None:
        self.app, self.delay, self.delayed = app, delay, 0

    async def __call__(self, scope, receive, send) -> None:
        headers = dict(scope.get("headers") or []) if scope["type"] == "http" else {}
        if scope["type"] != "http" or b"x-slack-retry-num" in headers or scope["path"] != SLACK_EVENTS:
            await self.app(scope, receive, send)
            return
        held = []

        async def hold(message) -> None:
            held.append(message)

        await self.app(scope, receive, hold)
        if self.delayed == 1:  # the verification passes at once; the first event is late
            await asyncio.sleep(self.delay)
        self.delayed += 1
        for message in held:
            await send(message)


def test_the_sandbox_verifies_the_receiver_and_a_message_lands_in_the_inbox_once(slack_sandbox, tmp_path):
    settings = settings_for(tmp_path)
    with LiveReceiver(create_app(settings)) as served:
        verification = slack_sandbox.configure_events(served.url + SLACK_EVENTS, SECRETS["slack"],
                                                      events=["message.channels"], retry_waits=FAST)
        assert (verification["verified"], verification["status"]) == (True, 200), verification["body"]
        posted = slack_sandbox.post_as_user("general", "the vendor review is done", user="dana.okafor")
        assert slack_sandbox.wait_for_events(10)
    [event_id] = posted["event_ids"]
    attempts = [d for d in slack_sandbox.event_deliveries() if d["event_id"] == event_id]
    assert [(d["status"], d["body"]) for d in attempts] == [(200, "accepted")]
    assert inbox_rows(settings, "select source, delivery_id, event_type from webhook_events") == [
        ("slack", event_id, "event_callback:message")]
    assert inbox_rows(settings, "select count(*) from webhook_rejections") == [(0,)]


def test_slacks_retry_of_an_event_answered_too_late_is_a_duplicate(slack_sandbox, tmp_path):
    settings = settings_for(tmp_path)
    with LiveReceiver(SlowFirstAnswer(create_app(settings), delay=0.8)) as served:
        assert slack_sandbox.configure_events(served.url + SLACK_EVENTS, SECRETS["slack"], events=["message.channels"],
                                              retry_waits=FAST, answer_within=0.4)["verified"]
        [event_id] = slack_sandbox.post_as_user("general", "late answer")["event_ids"]
        assert slack_sandbox.wait_for_events(10)
    attempts = [d for d in slack_sandbox.event_deliveries() if d["event_id"] == event_id]
    assert [(d["attempt"], d["retry_reason"], d["error"]) for d in attempts] == [
        (0, None, "http_timeout"), (1, "http_timeout", None)]
    assert attempts[1]["body"] == "duplicate"  # the receiver had kept the first one
    assert inbox_rows(settings, "select delivery_id, event_type from webhook_events") == [
        (event_id, "event_callback:message")]


def test_an_event_signed_with_another_secret_is_refused_and_kept_as_a_rejection(slack_sandbox, tmp_path):
    settings = settings_for(tmp_path)
    with LiveReceiver(create_app(settings)) as served:
        assert slack_sandbox.configure_events(served.url + SLACK_EVENTS, SECRETS["slack"], events=["message.channels"],
                                              retry_waits=FAST)["verified"]
        slack_sandbox.configure_events(signing_secret="a-secret-the-receiver-does-not-know")
        [event_id] = slack_sandbox.post_as_user("general", "forged")["event_ids"]
        assert slack_sandbox.wait_for_events(10)
    attempts = [d for d in slack_sandbox.event_deliveries() if d["event_id"] == event_id]
    assert [(d["status"], d["error"]) for d in attempts] == [(401, "http_error")] * 4  # Slack retries a 401
    assert inbox_rows(settings, "select count(*) from webhook_events") == [(0,)]
    assert set(inbox_rows(settings, "select endpoint, reason from webhook_rejections")) == {
        ("slack_events", "bad_signature")}


def test_a_url_that_does_not_verify_is_not_kept(slack_sandbox, tmp_path):
    settings = settings_for(tmp_path)
    with LiveReceiver(create_app(settings)) as served:
        refused = slack_sandbox.configure_events(served.url + SLACK_EVENTS, "a-secret-the-receiver-does-not-know",
                                                 events=["message.channels"])
        assert (refused["verified"], refused["status"]) == (False, 401)
        assert slack_sandbox.post_as_user("general", "nobody listens")["event_ids"] == []
    assert inbox_rows(settings, "select endpoint, reason from webhook_rejections") == [
        ("slack_events", "bad_signature")]
