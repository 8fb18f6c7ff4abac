"""The Events API side of AI apps ("Agents & AI apps"): a person opening the app's assistant container and
moving around Slack while it is open, as Slack sends it to an app subscribed to the events.

- `sb.open_assistant_thread(user, context_channel)`: the person opens the container while viewing
  `context_channel`. Slack starts a thread in the app's DM with them: a root message (`subtype:
  assistant_app_thread`, with `assistant_app_thread: {title, title_blocks, artifacts}`) whose ts is the
  thread's `thread_ts`, and sends `assistant_thread_started` with `assistant_thread: {user_id, context:
  {channel_id, team_id, enterprise_id}, channel_id, thread_ts}` and `event_ts`. Returns `{channel, thread_ts,
  context, event_ids}`.
- `sb.change_assistant_context(user, context_channel, thread_ts=None)`: the person switches to another
  channel with the container open (their latest thread unless `thread_ts`): `assistant_thread_context_changed`,
  same shape, the new context. Its event id (None when not subscribed).
- What the person then writes in the thread is `sb.post_as_user(channel, text, user, thread_ts=thread_ts)`:
  a `message` event (`message.im`), `channel_type: "im"`, with `thread_ts` and `parent_user_id`.

The thread is an ordinary DM thread: conversations.replies reads it, chat.postMessage / chat.startStream
reply in it, assistant.threads.setStatus / setTitle / setSuggestedPrompts act on it (they take any
thread, opened here or not, as before: `sandbox.slack.assistant`). Only subscribed types are sent, as
everywhere (`sandbox.slack.events`). Opening needs the app's `assistant:write` scope (granted with the
feature): without it the person has no container to open, so the call raises EventError naming the scope.

Shapes, from the sources searched: Slack's event reference pages (docs.slack.dev/reference/events/
assistant_thread_started and .../assistant_thread_context_changed: the example payloads above), @slack/types
`events/assistant.d.ts` (`context` fields optional, `enterprise_id: string | null`), Slack's
`assistant_app_thread` message subtype page (the root message and its `assistant_app_thread` object), and
slack_bolt's `request/payload_utils.py` (a user's message in an assistant thread is an `im` message event
with `thread_ts` and no `bot_id`) and its `DefaultAssistantThreadContextStore` (reads the thread with
conversations.replies and takes the first bot message *without a subtype*, so the root must carry one).
[unc] who authors the root: the bot user here (Slack's example root is edited by its own author, as
setTitle by the app would); [unc] its text ("Chats from <ISO time>", as the example); [unc] Slack's
`message` event for the root itself is not sent; [unc] `enterprise_id` is null outside Enterprise Grid and
a container opened with no channel in view has no `context.channel_id`.
"""

from __future__ import annotations

import copy
import threading
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sandbox.slack.events import EventError
from sandbox.slack.interactivity import person

if TYPE_CHECKING:
    from sandbox.slack.app import SlackSandbox

ASSISTANT_EVENTS = ("assistant_thread_started", "assistant_thread_context_changed")
VIA = "assistant_thread"  # how the root is kept in sb.messages(); it sends no `message` event


class AssistantThreads:
    """Assistant threads people opened: (DM id, thread_ts) -> {user_id, context}, in opening order."""

    def __init__(self, sb: SlackSandbox) -> None:
        self.sb = sb
        self._lock = threading.Lock()
        self.threads: dict[tuple[str, str], dict[str, Any]] = {}

    def _context(self, context_channel: str | None) -> dict[str, Any]:
        context: dict[str, Any] = {}
        if context_channel is not None:
            found = self.sb.workspace.channel(context_channel)
            if found is None:
                raise EventError(f"No channel {context_channel!r} in the workspace for the assistant's context")
            context["channel_id"] = found["id"]
        return {**context, "team_id": self.sb.workspace.team_id, "enterprise_id": self.sb.enterprise.org_id}

    def open(self, user: str | None, context_channel: str | None = None) -> dict[str, Any]:
        if not self.sb.grants.has("assistant:write"):
            raise EventError("The app lacks assistant:write (the Agents & AI apps feature): no assistant "
                             "container to open; grant it with sb.set_scopes([..., 'assistant:write'])")
        who = person(self.sb, user, EventError, "open the assistant")
        context, dm = self._context(context_channel), self.sb.dm_channel(who["id"])
        ws = self.sb.workspace
        title = "Chats from " + datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        root = {"type": "message", "subtype": "assistant_app_thread", "user": ws.bot_user_id, "text": title,
                "team": ws.team_id, "assistant_app_thread": {"title": title, "title_blocks": [], "artifacts": []}}
        stored = self.sb.record_message(dm, root, VIA, {"user": who["id"], "context": context})
        with self._lock:
            self.threads[(dm["id"], stored["ts"])] = {"user_id": who["id"], "context": context}
        event_id = self._emit("assistant_thread_started", dm, who["id"], stored["ts"], context)
        return {"channel": dm["id"], "thread_ts": stored["ts"], "context": copy.deepcopy(context),
                "event_ids": [event_id] if event_id else []}

    def change_context(self, user: str | None, context_channel: str | None,
                       thread_ts: str | None = None) -> str | None:
        who = person(self.sb, user, EventError, "change the assistant's context")
        dm = self.sb.dm_channel(who["id"])
        with self._lock:
            mine = [ts for (cid, ts) in self.threads if cid == dm["id"]]
        ts = str(thread_ts) if thread_ts else (mine[-1] if mine else "")
        if ts not in mine:
            which = f"thread {thread_ts}" if thread_ts else "thread"
            raise EventError(f"{who['name']} has no assistant {which} open: "
                             "sb.open_assistant_thread(user, context_channel) first")
        context = self._context(context_channel)
        with self._lock:
            self.threads[(dm["id"], ts)]["context"] = context
        return self._emit("assistant_thread_context_changed", dm, who["id"], ts, context)

    def _emit(self, kind: str, dm: dict[str, Any], user_id: str, thread_ts: str,
              context: dict[str, Any]) -> str | None:
        return self.sb.events.emit(dm, kind, {"type": kind, "assistant_thread": {
            "user_id": user_id, "context": copy.deepcopy(context), "channel_id": dm["id"], "thread_ts": thread_ts},
            "event_ts": f"{time.time():.6f}"})

    def opened(self) -> list[dict[str, Any]]:
        """Each opened thread: {channel, thread_ts, user_id, context}, oldest first."""
        with self._lock:
            return [{"channel": c, "thread_ts": ts, **copy.deepcopy(v)} for (c, ts), v in self.threads.items()]
