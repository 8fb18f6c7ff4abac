"""AI-app methods: assistant.threads.setStatus / setTitle / setSuggestedPrompts and streamed replies
(chat.startStream / appendStream / stopStream, what slack_sdk's `chat_stream()` helper calls).

A stream is a bot reply in a thread that grows: chat.startStream posts it (`markdown_text` and any
`markdown_text` chunks; a bot token must name `recipient_team_id` and `recipient_user_id`, else
missing_recipient_team_id / missing_recipient_user_id), chat.appendStream adds text, chat.stopStream ends
it (final text, `blocks`, `metadata`) and answers the message. A stream stopped, or older than Slack's
5 minutes, answers message_not_in_streaming_state; another's message or a plain post is
message_not_found. The message is kept like any other (`sb.messages()`, via "chat.startStream");
the stop sends `message_changed` to a subscribed app. What the assistant methods set is kept per thread:
`sb.api.assistant.threads[(channel_id, thread_ts)]` -> {status, loading_messages, title, prompts}."""

from __future__ import annotations

import copy
import threading
import time
from typing import TYPE_CHECKING, Any

from sandbox.slack.authorship import bot_message, customized
from sandbox.slack.blocks import MAX_MARKDOWN_TEXT, check_blocks
from sandbox.slack.webapi import SlackError, _json_arg, _metadata, bad_args

if TYPE_CHECKING:
    from sandbox.slack.webapi import WebApi

STREAM_SECONDS = 300  # Slack ends a stream about 5 minutes after it started


class AssistantApi:
    def __init__(self, api: WebApi) -> None:
        self.api, self.sb = api, api.sb
        self._lock = threading.Lock()
        self.threads: dict[tuple[str, str], dict[str, Any]] = {}
        self._streams: dict[tuple[str, str], float | None] = {}  # (channel, ts) -> started (None: stopped)
        self.methods = {"assistant.threads.setStatus": self.set_status, "assistant.threads.setTitle": self.set_title,
                        "assistant.threads.setSuggestedPrompts": self.set_prompts,
                        "chat.startStream": self.start, "chat.appendStream": self.append,
                        "chat.stopStream": self.stop}

    # --- assistant.threads.* ---------------------------------------------------------------------
    def _thread(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self.api._channel({"channel": args.get("channel_id")})
        ts = str(args.get("thread_ts") or "")
        if not ts:
            raise bad_args("missing required field: thread_ts")
        with self._lock:
            return self.threads.setdefault((channel["id"], ts), {"status": "", "loading_messages": [],
                                                                  "title": "", "prompts": []})

    def set_status(self, args: dict[str, Any]) -> dict[str, Any]:
        if args.get("status") is None:
            raise bad_args("missing required field: status")
        thread = self._thread(args)
        loading = _json_arg(args.get("loading_messages"), "invalid_arguments") or []
        thread.update(status=str(args["status"]), loading_messages=[str(m) for m in loading])
        return {}

    def set_title(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("title"):
            raise bad_args("missing required field: title")
        self._thread(args)["title"] = str(args["title"])
        return {}

    def set_prompts(self, args: dict[str, Any]) -> dict[str, Any]:
        prompts = _json_arg(args.get("prompts"), "invalid_arguments")
        if not prompts:
            raise bad_args("missing required field: prompts")
        if len(prompts) > 4 or not all(isinstance(p, dict) and p.get("title") and p.get("message") for p in prompts):
            raise bad_args("prompts must be 1 to 4 objects with a title and a message [json-pointer:/prompts]")
        channel = self.api._channel({"channel": args.get("channel_id")})
        key = (channel["id"], str(args.get("thread_ts") or ""))
        with self._lock:
            thread = self.threads.setdefault(key, {"status": "", "loading_messages": [], "title": "", "prompts": []})
            thread["prompts"] = copy.deepcopy(prompts)
            if args.get("title"):
                thread["title"] = str(args["title"])
        return {}

    # --- streams -----------------------------------------------------------------------------------
    @staticmethod
    def _text(args: dict[str, Any]) -> str:
        """The markdown this call adds: `markdown_text` and the text of markdown_text chunks."""
        parts = [str(args["markdown_text"])] if args.get("markdown_text") else []
        for chunk in _json_arg(args.get("chunks"), "invalid_chunks") or []:
            if isinstance(chunk, dict) and chunk.get("type") == "markdown_text":
                parts.append(str(chunk.get("text") or ""))
        text = "".join(parts)
        if len(text) > MAX_MARKDOWN_TEXT:
            raise SlackError("msg_too_long")
        return text

    def start(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self.api._writable(args)
        thread_ts = str(args.get("thread_ts") or "")
        if not thread_ts:
            raise bad_args("missing required field: thread_ts")
        for field in ("recipient_team_id", "recipient_user_id"):
            if not args.get(field):
                raise SlackError("missing_" + field)
        text = self._text(args)
        message = customized(bot_message(self.sb.workspace, text, None, None, thread_ts), args)
        stored = self.sb.record_message(channel, message, "chat.startStream", args)
        with self._lock:
            self._streams[(channel["id"], stored["ts"])] = time.monotonic()
        return {"channel": channel["id"], "ts": stored["ts"]}

    def _streaming(self, args: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        channel = self.api._channel(args)
        stored = self.sb.find_message(channel["id"], str(args.get("ts") or ""))
        key = (channel["id"], str(args.get("ts") or ""))
        with self._lock:
            if stored is None or key not in self._streams:
                raise SlackError("message_not_found")
            started = self._streams[key]
            if started is None or time.monotonic() - started > STREAM_SECONDS:
                raise SlackError("message_not_in_streaming_state")
        return channel, stored

    def _grow(self, stored: dict[str, Any], text: str) -> None:
        with self.sb._lock:
            stored["message"]["text"] = stored["text"] = str(stored["message"].get("text") or "") + text

    def append(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, stored = self._streaming(args)
        text = self._text(args)
        if not text and not args.get("chunks"):
            raise SlackError("no_text")
        self._grow(stored, text)
        return {"channel": channel["id"], "ts": stored["ts"]}

    def stop(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, stored = self._streaming(args)
        previous = copy.deepcopy(stored["message"])
        self._grow(stored, self._text(args))
        blocks = _json_arg(args.get("blocks"), "invalid_blocks_format")
        if blocks:
            check_blocks(blocks, SlackError)
        metadata = _metadata(args.get("metadata"))
        with self.sb._lock:
            if blocks:
                stored["message"]["blocks"] = stored["blocks"] = blocks
            if metadata:
                stored["message"]["metadata"] = metadata
        with self._lock:
            self._streams[(channel["id"], stored["ts"])] = None
        self.sb.message_changed(stored, previous)
        message = {k: v for k, v in stored["message"].items() if k != "metadata"}
        return {"channel": channel["id"], "ts": stored["ts"], "message": copy.deepcopy(message)}
