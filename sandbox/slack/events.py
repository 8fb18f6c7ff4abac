"""Events API: the sandbox POSTs signed `event_callback` envelopes to the app's Events Request URL, as Slack.

`sb.configure_events(url, signing_secret=None, events=[...])` first sends Slack's signed
`{"token", "challenge", "type": "url_verification"}` and keeps the URL only if the app answers 200 within
3 seconds with the challenge (plain text, JSON `{"challenge"}` or form `challenge=`); it returns the
attempt (`verified` True/False) and a refused URL delivers nothing. Without a URL it changes the other
settings only (Slack asks for the challenge when a URL is entered). The signing secret is the app's one,
shared with interactivity (`sb.configure_interactivity`). Then, for each event the app
subscribed to (`message.channels` public, `message.groups` private, `message.im`, `message.mpim`,
`app_mention`, `reaction_added`, `reaction_removed`, `member_joined_channel`, `member_left_channel`,
`file_shared` (the bot's shares and `sb.upload_as_user(channel, filename, content, user, text)`); the
channel, token and App Home events of `sandbox.slack.workspace_events`; the AI-app events of
`sandbox.slack.assistant_threads`) in a conversation the bot is a
member of (or workspace-wide ones; only subscribed types: Slack sends no other), an
envelope `{token, team_id, api_app_id, event, type: "event_callback", event_id, event_time,
authorizations, is_ext_shared_channel, event_context}` is POSTed as JSON, signed like interactivity
(`sandbox.slack.interactivity.post_signed`), from a background thread: the user's post returns at once.

A non-2xx answer (`http_error`), none within 3 s (`http_timeout`) or no connection (`connection_failed`)
is retried 3 times, same body and event_id, with `X-Slack-Retry-Num: 1..3` and `X-Slack-Retry-Reason`;
Slack waits 0 s, 1 min and 5 min before the retries (`retry_waits`, shorten it in tests). An answer with
`X-Slack-No-Retry: 1` is not retried. Slack's disabling of an app that keeps failing is not emulated.

Events come from `sb.post_as_user(channel, text, user=None)` (a person's message: `message`, and
`app_mention` when it names the bot as `<@U…>`), `sb.react_as_user(channel, ts, name, user=None,
added=True)` (`reaction_added` / `reaction_removed`), the bot's own reactions.add / remove, anyone joining
or leaving a conversation (`member_joined_channel` with `inviter` for an invite, `member_left_channel`),
and the bot's own messages, edits and deletions (`sandbox.slack.message_events`). Every attempt is kept:
`sb.event_deliveries()`, each `{event_id, event_type, attempt, retry_reason, at, request_url, envelope,
status, body, elapsed, ok, error, no_retry}` (`attempt` 0 is the first, 1..3 retries; the verification
has event_type "url_verification"); `sb.wait_for_events(timeout)` waits until none is pending.

Over HTTP (`sandbox.slack.event_routes`): `GET|PUT /_sandbox/events` `{"request_url", "signing_secret"?,
"events"?, "retry_waits"?, "answer_within"?}` (PUT answers the verification attempt), `POST
/_sandbox/events/messages` `{"channel", "text", "user"?, "thread_ts"?}`, `POST /_sandbox/events/reactions` `{"channel",
"ts", "name", "user"?}`, `GET /_sandbox/event_deliveries[?wait=seconds]`, `DELETE /_sandbox/event_deliveries`.
"""

from __future__ import annotations

import base64
import copy
import json
import secrets
import threading
import time
import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from sandbox.core.numbers import control_number
from sandbox.slack import workspace_events
from sandbox.slack.interactivity import person, post_signed
from sandbox.slack.seed import slack_id
from sandbox.slack.workspace_events import WORKSPACE_EVENTS

if TYPE_CHECKING:
    from sandbox.slack.app import SlackSandbox

RETRY_WAITS = (0.0, 60.0, 300.0)  # Slack: a retry at once, after 1 minute, after 5 minutes
EVENT_TYPES = ("message.channels", "message.groups", "message.im", "message.mpim", "app_mention",
               "reaction_added", "reaction_removed", "member_joined_channel", "member_left_channel",
               "file_shared", *WORKSPACE_EVENTS,
               "assistant_thread_started", "assistant_thread_context_changed")  # sandbox.slack.assistant_threads


class EventError(LookupError):
    """An event the sandbox cannot make: unknown channel, user or message, or an archived channel."""


class Events:
    """The app's Event Subscriptions (Request URL, signing secret, events) and every delivery attempt."""

    def __init__(self, sb: SlackSandbox) -> None:
        self.sb = sb
        self.request_url: str | None = None
        self.events: list[str] = []
        self.retry_waits, self.answer_within = RETRY_WAITS, 3.0
        self._lock = threading.Condition()
        self._attempts: list[dict[str, Any]] = []
        self._pending, self._seq = 0, 0
        self._stop = threading.Event()

    @property
    def signing_secret(self) -> str:
        """The app's one signing secret, shared with interactivity."""
        return self.sb.interactivity.signing_secret

    def settings(self) -> dict[str, Any]:
        return {"request_url": self.request_url, "signing_secret": self.signing_secret, "events": self.events,
                "retry_waits": list(self.retry_waits), "answer_within": self.answer_within}

    def configure(self, request_url: str | None = None, signing_secret: str | None = None,
                  events: list[str] | None = None, retry_waits: list[float] | None = None,
                  answer_within: float | None = None) -> dict[str, Any]:
        unknown = sorted(set(events or []) - set(EVENT_TYPES))
        if unknown:
            raise EventError(f"No event type {unknown} to subscribe to: the sandbox sends {list(EVENT_TYPES)}")
        if retry_waits is not None and len(retry_waits) != 3:
            raise EventError("retry_waits are the 3 waits before Slack's 3 retries, e.g. [0, 60, 300]")
        # not float(): '٣' read as 3, NaN and Infinity broke the delivery thread's waits [round 27]
        waits = None if retry_waits is None else tuple(
            float(control_number("retry_waits", w, float, 0, 86400)) for w in retry_waits)
        within = None if answer_within is None else float(control_number("answer_within", answer_within, float, 0,
                                                                          86400))
        if signing_secret:
            self.sb.interactivity.configure(signing_secret=signing_secret)
        with self._lock:
            self.events = list(events) if events is not None else self.events
            self.retry_waits = waits if waits is not None else self.retry_waits
            self.answer_within = within if within is not None else self.answer_within
            if request_url is None:  # Slack asks a URL for the challenge when it is entered, not after
                return {"verified": self.request_url is not None, **self.settings()}
            self.request_url = None  # until the new URL answers the challenge
        challenge = secrets.token_urlsafe(36)
        envelope = {"token": self.sb.interactivity.verification_token, "challenge": challenge,
                    "type": "url_verification"}
        record = self._attempt(request_url, "url_verification", envelope, _dumps(envelope), 0, None)
        with self._lock:
            record["verified"] = record["ok"] = record["ok"] and _answers(record["body"], challenge)
            if not record["ok"] and record["error"] is None:
                record["error"] = "challenge_failed"
            self.request_url = request_url if record["verified"] else None
        return copy.deepcopy(record)

    # --- events ------------------------------------------------------------------------------------
    def post_as_user(self, channel: str, text: str, user: str | None = None,
                     thread_ts: str | None = None) -> dict[str, Any]:
        """A person posts `text` (a reply in thread `thread_ts`): kept like any message; `message` (and
        `app_mention`) events for the app, a reply's with `thread_ts` and `parent_user_id`."""
        found, who = self._channel(channel), person(self.sb, user, EventError, "post")
        if found["is_archived"]:
            raise EventError(f"#{found['name']} is archived: nobody can post there")
        parent = self.sb.find_message(found["id"], str(thread_ts)) if thread_ts else None
        if thread_ts and parent is None:
            raise EventError(f"No message {thread_ts} in channel {channel!r} to reply to: see sb.messages()")
        message = {"type": "message", "user": who["id"], "text": text, "client_msg_id": str(uuid.uuid4()),
                   "team": self.sb.workspace.team_id, "blocks": [{"type": "rich_text", "block_id": uuid.uuid4().hex[:5],
                   "elements": [{"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}]}]}
        if parent is not None:
            message["thread_ts"] = parent["thread_ts"] or parent["ts"]
        stored = self.sb.record_message(found, message, "user", {"channel": found["id"], "text": text,
                                                                 "user": who["id"]})
        event = self._message_event(found, stored)
        if parent is not None:
            event["parent_user_id"] = parent["message"].get("user") or parent["message"].get("bot_id")
        kind = _kind(found)
        ids = [self.emit(found, f"message.{kind[0]}", event)]
        if f"<@{self.sb.workspace.bot_user_id}>" in text and kind[1] != "im":
            mention = {k: v for k, v in event.items() if k not in ("client_msg_id", "channel_type")}
            ids.append(self.emit(found, "app_mention", {**mention, "type": "app_mention"}))
        return {"channel": found["id"], "ts": stored["ts"], "event_ids": [i for i in ids if i]}

    @staticmethod
    def _message_event(channel: dict[str, Any], stored: dict[str, Any]) -> dict[str, Any]:
        return {**copy.deepcopy(stored["message"]), "event_ts": stored["ts"], "channel": channel["id"],
                "channel_type": _kind(channel)[1]}

    def upload_as_user(self, channel: str, filename: str, content: str | bytes, user: str | None = None,
                       text: str = "") -> dict[str, Any]:
        """A person uploads a file: a `file_share` message (`message` event) and `file_shared` for the app;
        files.info and `url_private` (with the bot token) give it back."""
        found, who = self._channel(channel), person(self.sb, user, EventError, "upload")
        if found["is_archived"]:
            raise EventError(f"#{found['name']} is archived: nobody can upload there")
        data = content.encode() if isinstance(content, str) else bytes(content)
        stored = self.sb.api.files.upload_as_user(found, who["id"], filename, data, text)
        event_id = self.emit(found, f"message.{_kind(found)[0]}", self._message_event(found, stored))
        return {"channel": found["id"], "ts": stored["ts"], "file_id": stored["message"]["files"][0]["id"],
                "event_ids": [event_id] if event_id else []}

    def react_as_user(self, channel: str, ts: str, name: str, user: str | None = None,
                      added: bool = True) -> str | None:
        """A person adds (or, `added=False`, removes) reaction `name` on a kept message: `reaction_added` /
        `reaction_removed` for the app (its event id; None when nothing changed, as Slack sends nothing)."""
        found, who = self._channel(channel), person(self.sb, user, EventError, "react")
        stored = self.sb.find_message(found["id"], ts)
        if stored is None:
            raise EventError(f"No message {ts} in channel {channel!r} to react to: see sb.messages()")
        name = name.strip(":")
        with self.sb._lock:
            reactions = stored["message"].setdefault("reactions", []) if added else \
                stored["message"].get("reactions") or []
            hit = next((r for r in reactions if r["name"] == name), None)
            if added and hit is None:
                reactions.append(hit := {"name": name, "users": [], "count": 0})
            if hit is None or (who["id"] in hit["users"]) == added:
                return None  # already_reacted / no_reaction
            (hit["users"].append if added else hit["users"].remove)(who["id"])
            hit["count"] += 1 if added else -1
            if not hit["count"]:
                reactions.remove(hit)
            if not reactions:
                stored["message"].pop("reactions", None)
        return self.reaction(found, stored, who["id"], name, added)

    def reaction(self, channel: dict[str, Any], stored: dict[str, Any], uid: str, name: str, added: bool
                 ) -> str | None:
        """`reaction_added` / `reaction_removed` by `uid` (a person's, or the bot's reactions.add/remove)."""
        kind = "reaction_added" if added else "reaction_removed"
        item_user = stored["message"].get("user") or self.sb.workspace.bot_user_id
        return self.emit(channel, kind, {
            "type": kind, "user": uid, "reaction": name, "item_user": item_user,
            "item": {"type": "message", "channel": channel["id"], "ts": stored["ts"]}, "event_ts": _now_ts()})

    def membership(self, channel: dict[str, Any], uid: str, joined: bool, inviter: str | None = None
                   ) -> str | None:
        """`member_joined_channel` (with `inviter` for an invite) or `member_left_channel`; the bot's own
        leaving is still sent (it was a member when it left)."""
        kind = "member_joined_channel" if joined else "member_left_channel"
        event = {"type": kind, "user": uid, "channel": channel["id"],
                 "channel_type": "G" if channel.get("is_private") else "C", "team": self.sb.workspace.team_id}
        if inviter and joined:
            event["inviter"] = inviter
        return self.emit({**channel, "is_member": True} if not joined else channel, kind,
                         {**event, "event_ts": _now_ts()})

    def open_app_home(self, user: str | None, tab: str = "home") -> str | None:
        if tab not in ("home", "messages"):
            raise EventError(f"No App Home tab {tab!r}: 'home' or 'messages'")
        who = person(self.sb, user, EventError, "open the App Home")
        view = self.sb.api.views.home_of(who["id"])
        return workspace_events.app_home_opened(self, self.sb.dm_channel(who["id"]), who["id"], tab, view)

    def emit(self, channel: dict[str, Any] | None, subscription: str, event: dict[str, Any]) -> str | None:
        """Queue one event for delivery if the app subscribed and the bot is in `channel` (None: a
        workspace-wide event, e.g. a public channel created); its event id."""
        socket_mode = self.sb.socket_mode.enabled  # events go over the socket, not to the Request URL
        with self._lock:
            url, wanted = None if socket_mode else self.request_url, subscription in self.events
            # a person's DM with someone else (sandbox.slack.actor, is_member False) is not the bot's to hear
            if not (url or socket_mode) or not wanted or (channel is not None and not (
                    channel.get("is_member") or (channel.get("is_im") and "is_member" not in channel))):
                return None
            self._seq += 1
            event_id = slack_id("Ev", self.sb.seed, f"event:{self._seq}:{time.time()}", 12)
            self._pending += 1
        ws = self.sb.workspace
        context = {"et": event["type"], "tid": ws.team_id, "aid": ws.app_id,
                   **({"cid": channel["id"]} if channel else {})}
        org = self.sb.enterprise.org_id  # Enterprise Grid, org-wide install (sandbox.slack.enterprise)
        envelope = {"token": self.sb.interactivity.verification_token, "team_id": ws.team_id,
                    **({"enterprise_id": org} if org else {}),
                    "context_team_id": ws.team_id, "context_enterprise_id": org, "api_app_id": ws.app_id,
                    "event": event, "type": "event_callback", "event_id": event_id, "event_time": int(time.time()),
                    "authorizations": [self.sb.enterprise.authorization(ws.bot_user_id)],
                    "is_ext_shared_channel": False,
                    "event_context": "4-" + base64.urlsafe_b64encode(_dumps(context)).decode().rstrip("=")}
        threading.Thread(target=self._deliver, args=(url, envelope), name=f"slack-event-{event_id}",
                         daemon=True).start()
        return event_id

    # --- delivery ----------------------------------------------------------------------------------
    def _deliver(self, url: str | None, envelope: dict[str, Any]) -> None:
        body = _dumps(envelope)  # the same bytes on every retry
        reason = None
        try:
            if url is None:
                self.sb.socket_mode.deliver(envelope, self)  # sandbox.slack.socket_mode
                return
            for attempt in range(4):
                if attempt and self._stop.wait(self.retry_waits[attempt - 1]):
                    return
                record = self._attempt(url, envelope["event"]["type"], envelope, body, attempt, reason)
                if record["ok"] or record["no_retry"]:
                    return
                reason = str(record["error"]).split(":")[0]
        finally:
            with self._lock:
                self._pending -= 1
                self._lock.notify_all()

    def _attempt(self, url: str, event_type: str, envelope: dict[str, Any], body: bytes, attempt: int,
                 reason: str | None) -> dict[str, Any]:
        extra = {"X-Slack-Retry-Num": str(attempt), "X-Slack-Retry-Reason": str(reason)} if attempt else {}
        at = time.time()
        answer, headers = post_signed(url, body, self.signing_secret, "application/json", extra, self.answer_within)
        record = {"event_id": envelope.get("event_id"), "event_type": event_type, "attempt": attempt,
                  "retry_reason": reason, "at": at, "request_url": url, "envelope": envelope, **answer,
                  "no_retry": headers.get("x-slack-no-retry") == "1"}
        with self._lock:
            self._attempts.append(record)
        return record  # the kept one (callers copy it out)

    def keep(self, record: dict[str, Any]) -> None:
        with self._lock:
            self._attempts.append(record)

    def deliveries(self) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._attempts)

    def clear(self) -> None:
        with self._lock:
            self._attempts.clear()

    def wait(self, timeout: float = 30.0) -> bool:
        """Wait until every queued event was delivered or given up on; False if some still are after `timeout`."""
        with self._lock:
            return self._lock.wait_for(lambda: self._pending == 0, timeout)

    def stop(self) -> None:
        self._stop.set()  # pending retries give up

    def _channel(self, ref: str) -> dict[str, Any]:
        found = self.sb.workspace.channel(ref)
        if found is None:
            raise EventError(f"No channel {ref!r} in the workspace")
        return found


def _kind(channel: dict[str, Any]) -> tuple[str, str]:
    """(subscription suffix, event channel_type) of a conversation."""
    if channel.get("is_im"):
        return "im", "im"
    if channel.get("is_mpim"):
        return "mpim", "mpim"
    return ("groups", "group") if channel.get("is_private") else ("channels", "channel")


def _answers(body: str, challenge: str) -> bool:
    """Slack takes the challenge back as plain text, JSON {"challenge"} or form challenge=."""
    if body.strip() == challenge:
        return True
    try:
        answer = json.loads(body)
    except ValueError:
        return parse_qs(body).get("challenge") == [challenge]
    return isinstance(answer, dict) and answer.get("challenge") == challenge


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def _now_ts() -> str:
    return f"{time.time():.6f}"
