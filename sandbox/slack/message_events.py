"""Events API `message` events for changes to kept messages (`sandbox.slack.store`), as Slack sends them to
an app subscribed to `message.channels` / `message.groups` / `message.im` / `message.mpim`:

- the bot's own posts (chat.postMessage, files, scheduled, response_url in_channel, incoming webhooks):
  a `message` event carrying `bot_id` (and `bot_profile`, `app_id`); apps tell their own messages apart
  by these (Bolt's ignoring_self_events does), so they are sent like anyone's;
- chat.update or a response_url's replace_original: `subtype: message_changed`, `hidden: true`, the new
  `message` (with `edited`) and the `previous_message`, under a new `ts` / `event_ts`;
- chat.delete or delete_original: `subtype: message_deleted`, `hidden: true`, `deleted_ts`,
  `previous_message`;
- a person editing or deleting their own message (`sb.edit_as_user`, `sb.delete_as_user`): the same two.

A reply posted with reply_broadcast (`thread_broadcast`) carries its parent as `root`, with the thread's counts.
In message_changed / message_deleted, a thread reply's `message` / `previous_message` carry its `thread_ts`
and `parent_user_id`, a thread parent's its reply counts (`sandbox.slack.threads.thread_fields`).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from sandbox.slack.events import EventError, Events, _kind
from sandbox.slack.threads import thread_fields, with_threads


def _message(stored: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in copy.deepcopy(stored["message"]).items() if k != "metadata"}


def _threaded(events: Events, stored: dict[str, Any], message: dict[str, Any]) -> dict[str, Any]:
    """`message` with the thread fields `stored` shows on read."""
    rows = [m for m in list(events.sb._messages) if m["channel"] == stored["channel"]]
    return {**message, **thread_fields(rows, stored["ts"])}


def posted(events: Events, channel: dict[str, Any], stored: dict[str, Any],
           find: Callable[[str, str], dict[str, Any] | None]) -> str | None:
    """A message the bot (or a webhook) posted: the same event a person's post makes."""
    event = {**_message(stored), "channel": channel["id"], "event_ts": stored["ts"]}
    thread_ts = event.get("thread_ts")
    if thread_ts and thread_ts != stored["ts"]:
        parent = find(channel["id"], thread_ts)
        if parent is not None:
            event["parent_user_id"] = parent["message"].get("user") or parent["message"].get("bot_id")
        if event.get("subtype") == "thread_broadcast":  # a broadcast carries its thread's parent as `root`
            rows = [m for m in list(events.sb._messages) if m["channel"] == channel["id"]]
            root = with_threads(rows).get(stored["ts"], {}).get("root")
            if root is not None:
                event["root"] = root
    kind = _kind(channel)
    return events.emit(channel, f"message.{kind[0]}", {**event, "channel_type": kind[1]})


def changed(events: Events, channel: dict[str, Any], stored: dict[str, Any], previous: dict[str, Any]
            ) -> str | None:
    kind, ts = _kind(channel), events.sb.next_ts()
    previous = {k: v for k, v in previous.items() if k != "metadata"}
    return events.emit(channel, f"message.{kind[0]}", {
        "type": "message", "subtype": "message_changed", "message": _threaded(events, stored, _message(stored)),
        "previous_message": _threaded(events, stored, previous), "channel": channel["id"], "hidden": True,
        "ts": ts, "event_ts": ts, "channel_type": kind[1]})


def deleted(events: Events, channel: dict[str, Any], stored: dict[str, Any]) -> str | None:
    kind, ts = _kind(channel), events.sb.next_ts()
    return events.emit(channel, f"message.{kind[0]}", {
        "type": "message", "subtype": "message_deleted",
        "previous_message": _threaded(events, stored, _message(stored)),
        "channel": channel["id"], "hidden": True, "deleted_ts": stored["ts"], "ts": ts, "event_ts": ts,
        "channel_type": kind[1]})


def _persons_message(sb: Any, channel: str, ts: str) -> dict[str, Any]:
    found = sb.workspace.channel(channel)
    stored = sb.find_message(found["id"], ts) if found else None
    if stored is None:
        raise EventError(f"No message {ts} in channel {channel!r}: see sb.messages()")
    if stored["message"].get("bot_id") or not stored["message"].get("user"):
        raise EventError(f"Message {ts} is the bot's: a person edits or deletes only their own")
    return stored


def edit_as_user(sb: Any, channel: str, ts: str, text: str) -> None:
    """The person who posted message `ts` edits it: `message_changed` (edited by them)."""
    stored = _persons_message(sb, channel, ts)
    with sb._lock:
        previous = copy.deepcopy(stored["message"])
        block = {"type": "rich_text", "block_id": (previous.get("blocks") or [{}])[0].get("block_id", "edit"),
                 "elements": [{"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}]}
        stored["message"].update(text=text, blocks=[block], edited={"user": previous["user"], "ts": sb._next_ts()})
        stored.update(text=text, blocks=[block])
    sb.message_changed(stored, previous)


def delete_as_user(sb: Any, channel: str, ts: str) -> None:
    """The person who posted message `ts` deletes it: `message_deleted`."""
    sb.delete_message(_persons_message(sb, channel, ts))
