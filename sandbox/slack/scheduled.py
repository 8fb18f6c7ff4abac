"""chat.scheduleMessage / chat.scheduledMessages.list / chat.deleteScheduledMessage, chat.meMessage and
chat.unfurl.

A scheduled message is checked like chat.postMessage (channel, text/blocks) and posted when its `post_at`
has passed: due messages are delivered before each Web API call and before `sb.messages()` reads, kept
with via "chat.scheduleMessage". Errors: invalid_time (not a number), time_in_past, time_too_far (over
120 days ahead, Slack's documented limit), restricted_too_many (a 31st message due within 5 minutes in one
channel), invalid_scheduled_message_id (unknown, already posted or
deleted, or another channel's). chat.unfurl needs channel + ts of a kept message (or source + unfurl_id)
and an `unfurls` JSON object: cannot_find_channel, message_not_found (guessed), invalid_unfurls_format
(guessed), missing_unfurls (guessed); accepted unfurls are kept on the message as `sb_unfurls`.
chat.meMessage posts a `me_message` (text only, checked as chat.postMessage's) and answers `{channel, ts}`.
With a user token (`sandbox.slack.actor`) both act as the person: the scheduled message is theirs (`user`, no
`bot_id` [unc]), listed by chat.scheduledMessages.list / deleted by chat.deleteScheduledMessage for their
token only (the bot's list shows the bot's), posted as them when due; their me_message needs them in the
channel (not_in_channel). The bot schedules into a public channel it is not in only with chat:write.public, as
chat.postMessage (not_in_channel otherwise; Slack lists it for chat.scheduleMessage) [unc: that the scope covers
scheduling too]. As Slack's docs warn ("Bug alert"), a message scheduled with `metadata` is accepted and
listed but never posted when due; the answer's `message` carries it (slack_sdk's own integration test
test_message_metadata reads `message.metadata` from it).
"""

from __future__ import annotations

import json
import threading
import time
from typing import TYPE_CHECKING, Any

from sandbox.slack import paging
from sandbox.slack.actor import is_member, person
from sandbox.slack.arg_numbers import stamp
from sandbox.slack.authorship import shown_attachments
from sandbox.slack.seed import slack_id
from sandbox.slack.webapi import SlackError, _flag, _limit, _metadata, check_thread_ts

if TYPE_CHECKING:
    from sandbox.slack.webapi import WebApi

MAX_AHEAD = 120 * 86_400
# "you cannot schedule more than 30 messages to post within a 5-minute window to the same channel"
# (restricted_too_many); counted here as those due less than 5 minutes either side [unc: Slack's window]
MAX_IN_WINDOW, WINDOW = 30, 300


def _bound(args: dict[str, Any], name: str, default: float) -> float:
    """chat.scheduledMessages.list's `oldest` / `latest` (Unix seconds); one that is not a number is refused as
    conversations.history refuses it, invalid_ts_oldest / invalid_ts_latest [unc: Slack's code here], not a
    server error."""
    raw = args.get(name)
    if raw is None or str(raw).strip() == "":
        return default
    value = stamp(str(raw))  # not float(): '٣' read as 3, ' 3', '1_0', 'inf' taken [round 27]
    if value is None:
        raise SlackError("invalid_ts_" + name)
    return value


class ScheduledApi:
    def __init__(self, api: WebApi) -> None:
        self.api, self.sb = api, api.sb
        self._lock = threading.Lock()
        self._pending: dict[str, dict[str, Any]] = {}
        self.methods = {"chat.scheduleMessage": self.schedule, "chat.scheduledMessages.list": self.list_scheduled,
                        "chat.deleteScheduledMessage": self.delete, "chat.unfurl": self.unfurl,
                        "chat.meMessage": self.me_message}

    def schedule(self, args: dict[str, Any]) -> dict[str, Any]:
        at = stamp(args.get("post_at"))  # not float(): '٣' read as 3; "1e400" is inf: no time either [round 27]
        if at is None:
            raise SlackError("invalid_time")
        post_at = int(at)
        now = int(time.time())
        if post_at <= now:
            raise SlackError("time_in_past")
        if post_at > now + MAX_AHEAD:
            raise SlackError("time_too_far")
        channel = self.api._writable(args, names=True)
        text, blocks, attachments = self.api._content(args)
        check_thread_ts(args)
        metadata = _metadata(args.get("metadata"))
        ws, uid = self.sb.workspace, person(self.sb)
        if uid is not None and not is_member(self.sb, channel):
            raise SlackError("not_in_channel")
        if uid is None and not channel["is_member"] and not self.sb.grants.has("chat:write.public"):
            raise SlackError("not_in_channel")  # as chat.postMessage: a public channel needs chat:write.public
        sid = slack_id("Q", self.sb.seed, f"scheduled:{time.time_ns()}:{len(self._pending)}")
        message: dict[str, Any] = {"bot_id": ws.bot_id, "type": "delayed_message", "text": text or "",
                                   "user": ws.bot_user_id, "team": ws.team_id, "app_id": ws.app_id}
        if uid is not None:
            message = {"type": "delayed_message", "text": text or "", "user": uid, "team": ws.team_id}
        for key, value in (("blocks", blocks), ("attachments", shown_attachments(attachments)), ("metadata", metadata)):
            if value:
                message[key] = value  # the metadata too, as slack_sdk's integration test reads it back
        with self._lock:
            near = [x for x in self._pending.values() if x["channel_id"] == channel["id"]
                    and abs(x["post_at"] - post_at) < WINDOW]
            if len(near) >= MAX_IN_WINDOW:
                raise SlackError("restricted_too_many")
            self._pending[sid] = {"id": sid, "channel_id": channel["id"], "post_at": post_at, "date_created": now,
                                  "text": text or "", "args": {k: v for k, v in args.items() if k != "token"},
                                  "by": uid}
        return {"channel": channel["id"], "scheduled_message_id": sid, "post_at": post_at, "message": message}

    def deliver_due(self) -> None:
        """Post every scheduled message whose time has come (through chat.postMessage's own path)."""
        now = time.time()
        with self._lock:
            due = sorted((s for s in self._pending.values() if s["post_at"] <= now), key=lambda s: s["post_at"])
            for item in due:
                del self._pending[item["id"]]
        for item in due:
            channel = self.sb.workspace.channels.get(item["channel_id"])
            if channel is None or channel["is_archived"]:
                continue  # Slack drops it silently (guessed)
            if item["args"].get("metadata"):
                continue  # Slack's documented "bug alert": a message scheduled with metadata never posts
            args = {**item["args"], "channel": channel["id"]}
            if item["by"] is None:
                self.api.post_message(args, via="chat.scheduleMessage")
                continue
            text, blocks, attachments = self.api._content(args)  # the person's own message
            message = {"type": "message", "user": item["by"], "text": text or "", "team": self.sb.workspace.team_id}
            for key, value in (("blocks", blocks), ("attachments", attachments), ("thread_ts", args.get("thread_ts"))):
                if value:
                    message[key] = str(value) if key == "thread_ts" else value
            if message.get("thread_ts") and _flag(args.get("reply_broadcast")):
                message["subtype"] = "thread_broadcast"  # as the person's chat.postMessage (sandbox.slack.user_tokens)
            self.sb.record_message(channel, message, "chat.scheduleMessage", args)

    def list_scheduled(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self.api._channel(args)["id"] if args.get("channel") else None
        oldest, latest = _bound(args, "oldest", 0.0), _bound(args, "latest", float("inf"))
        with self._lock:
            rows = sorted(self._pending.values(), key=lambda s: (s["post_at"], s["id"]))
        rows = [{k: v for k, v in s.items() if k not in ("args", "by")} for s in rows
                if s["by"] == person(self.sb) and (channel is None or s["channel_id"] == channel)
                and oldest <= s["post_at"] <= latest]
        limit = _limit(args, 100, 1000)
        # a stable cursor: the next page's first message by (post_at, id) (`sandbox.slack.paging`)
        shown, cursor, _ = paging.page(rows, args.get("cursor"), limit, "scheduled",
                                       lambda s: f"{s['post_at']}|{s['id']}", _key)
        return {"scheduled_messages": shown, "response_metadata": {"next_cursor": cursor}}

    def delete(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self.api._channel(args)
        sid = str(args.get("scheduled_message_id") or "")
        with self._lock:
            item = self._pending.get(sid)
            if item is None or item["channel_id"] != channel["id"] or item["by"] != person(self.sb):
                raise SlackError("invalid_scheduled_message_id")
            del self._pending[sid]
        return {}

    def unfurl(self, args: dict[str, Any]) -> dict[str, Any]:
        unfurls = args.get("unfurls")
        if unfurls in (None, "") and not args.get("metadata"):
            raise SlackError("missing_unfurls")
        if isinstance(unfurls, str):
            try:
                unfurls = json.loads(unfurls)
            except ValueError as exc:
                raise SlackError("invalid_unfurls_format") from exc
        if unfurls is not None and not isinstance(unfurls, dict):
            raise SlackError("invalid_unfurls_format")
        if args.get("source") and args.get("unfurl_id"):
            return {}  # composer / link-shared unfurls: nothing kept to attach them to
        ref = str(args.get("channel") or "")
        channel = self.sb.workspace.channel(ref) if ref else None
        if channel is None:
            raise SlackError("cannot_find_channel")
        stored = self.sb.find_message(channel["id"], str(args.get("ts") or ""))
        if stored is None:
            raise SlackError("message_not_found")
        with self.sb._lock:
            stored.setdefault("sb_unfurls", {}).update(unfurls or {})
        return {}

    def me_message(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self.api._writable(args, names=True)
        text = args.get("text")
        if not text:
            raise SlackError("no_text")
        self.api._content({"text": text})
        ws, uid = self.sb.workspace, person(self.sb)
        message = {"type": "message", "subtype": "me_message", "text": str(text), "user": ws.bot_user_id,
                   "bot_id": ws.bot_id, "app_id": ws.app_id, "team": ws.team_id}
        if uid is not None:  # a user token: the person's own /me message, in a channel they are in
            if not is_member(self.sb, channel):
                raise SlackError("not_in_channel")
            message = {"type": "message", "subtype": "me_message", "text": str(text), "user": uid, "team": ws.team_id}
        stored = self.sb.record_message(channel, message, "chat.meMessage", args)
        return {"channel": channel["id"], "ts": stored["ts"]}


def _key(ident: str) -> tuple[object, ...] | None:
    return paging.parts_key(ident, paging.int_key, str)
