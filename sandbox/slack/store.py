"""The Slack sandbox's message log (a mixin of `SlackSandbox`): every accepted message is kept, edited or
marked deleted here, and each change is an Events API `message` event for an app subscribed to it
(`sandbox.slack.message_events`): the bot's own posts (with `bot_id` / `bot_profile`), `message_changed`
and `message_deleted`. Ephemeral messages are seen by one person only and send no event, as in Slack."""

from __future__ import annotations

import copy
import threading
import time
from typing import TYPE_CHECKING, Any

from sandbox.slack import message_events
from sandbox.slack.authorship import shown_attachments
from sandbox.slack.blocks import with_block_ids
from sandbox.slack.seed import im_id

if TYPE_CHECKING:
    from sandbox.slack.events import Events
    from sandbox.slack.seed import Workspace


class MessageStore:
    """record / find / edit / delete kept messages; the sandbox provides the fields annotated here."""

    workspace: Workspace
    events: Events
    _lock: threading.Lock
    _messages: list[dict[str, Any]]
    _seq: int

    def dm_channel(self, user_id: str) -> dict[str, Any]:
        cid = im_id(self.workspace, user_id)
        return self.workspace.channels.setdefault(cid, {
            "id": cid, "name": cid, "is_im": True, "is_private": True, "is_member": True, "is_archived": False,
            "user": user_id, "is_channel": False, "is_group": False, "is_mpim": False, "created": 1_700_000_000})

    def next_ts(self) -> str:
        """A fresh message-style ts, after every one given so far (an edit's, an event's)."""
        with self._lock:
            return self._next_ts()

    def _next_ts(self) -> str:
        self._seq += 1
        return f"{int(time.time())}.{self._seq % 1_000_000:06d}"

    def record_message(self, channel: dict[str, Any], message: dict[str, Any], via: str,
                       args: dict[str, Any], ephemeral_user: str | None = None) -> dict[str, Any]:
        with self._lock:
            ts = self._next_ts()
            message = {**message, "ts": ts}
            if message.get("thread_ts"):  # a reply's ts names its thread: Slack has no nested threads, the new
                message["thread_ts"] = self._thread_root(channel["id"], str(message["thread_ts"]))  # reply joins it
            if message.get("attachments"):
                message["attachments"] = shown_attachments(message["attachments"])
            if message.get("blocks"):
                message["blocks"] = with_block_ids(message["blocks"], ts)
            stored = {"channel": channel["id"], "channel_name": channel["name"], "ts": ts,
                      "text": message.get("text", ""), "blocks": message.get("blocks"),
                      "attachments": message.get("attachments"), "thread_ts": message.get("thread_ts"),
                      "via": via, "args": {k: v for k, v in args.items() if k != "token"}, "message": message}
            if ephemeral_user:  # seen by that user only: never in conversations.history
                stored.update(ephemeral=True, ephemeral_user=ephemeral_user)
            self._messages.append(stored)
        # a person's post sends its own events (Events.post_as_user); an assistant thread's root sends none
        if via not in ("user", "assistant_thread") and not ephemeral_user:
            message_events.posted(self.events, channel, stored, self.find_message)
        return stored

    def _thread_root(self, channel_id: str, thread_ts: str) -> str:
        """The thread a posted `thread_ts` puts a message in: the parent's ts when it names a live reply (the
        docs: "Avoid using a reply's ts value; use its parent's value instead" [unc: that Slack then files it in
        the parent's thread rather than refusing it]), else the value as sent. Called under the lock."""
        hit = next((m for m in self._messages if m["channel"] == channel_id and m["ts"] == thread_ts
                    and not m.get("deleted") and not m.get("ephemeral")), None)
        return str(hit["thread_ts"]) if hit and hit["thread_ts"] and hit["thread_ts"] != hit["ts"] else thread_ts

    def find_message(self, channel_id: str, ts: str, ephemeral: bool = False) -> dict[str, Any] | None:
        """The stored (live) message with this channel id and ts, or None. An ephemeral message only with
        ``ephemeral=True`` (a click, its response_url): the Web API cannot reach one (Slack answers
        message_not_found to chat.update/delete, reactions, pins and permalinks on it)."""
        with self._lock:
            return next((m for m in self._messages if m["channel"] == channel_id and m["ts"] == ts
                         and not m.get("deleted") and (ephemeral or not m.get("ephemeral"))), None)

    def edit_message(self, stored: dict[str, Any], message: dict[str, Any], args: dict[str, Any],
                     editor: str | None = None) -> None:
        """chat.update: replace text/blocks/attachments of a stored message and mark it edited."""
        with self._lock:
            previous = copy.deepcopy(stored["message"])
            if message.get("blocks"):
                message = {**message, "blocks": with_block_ids(message["blocks"], stored["ts"])}
            if message.get("attachments"):
                message = {**message, "attachments": shown_attachments(message["attachments"])}
            stored["message"] = {**stored["message"], **message,
                                 "edited": {"user": editor or self.workspace.bot_user_id, "ts": self._next_ts()}}
            for key in ("blocks", "attachments"):  # chat.update: "To remove previous <key>, include an empty array"
                if stored["message"].get(key) == []:
                    del stored["message"][key]
            for key in ("text", "blocks", "attachments"):
                stored[key] = stored["message"].get(key)
            stored.setdefault("updates", []).append({k: v for k, v in args.items() if k != "token"})
        self.message_changed(stored, previous)

    def message_changed(self, stored: dict[str, Any], previous: dict[str, Any]) -> None:
        """A kept message changed (chat.update, a response_url's replace_original): `message_changed`."""
        if not stored.get("ephemeral"):
            message_events.changed(self.events, self._channel_of(stored), stored, previous)

    def delete_message(self, stored: dict[str, Any]) -> None:
        """chat.delete: the message leaves conversations.history (kept in `messages()` with deleted=True)."""
        with self._lock:
            stored["deleted"] = True
        if not stored.get("ephemeral"):
            message_events.deleted(self.events, self._channel_of(stored), stored)

    def _channel_of(self, stored: dict[str, Any]) -> dict[str, Any]:
        return self.workspace.channels.get(stored["channel"]) or {"id": stored["channel"], "is_member": False}
