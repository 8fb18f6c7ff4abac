"""`response_url`s: where an app answers a click, served at `<sandbox url>/actions/T…/<n>/<secret>`.

Each click (`sandbox.slack.interactivity`) gets its own URL, bound to the message clicked and the user
who clicked. It takes a JSON body (or a form `payload=<json>`, as `slack_sdk`'s `WebhookClient` never
sends but old apps do) for 30 minutes and at most 5 times, as Slack documents:

- `"delete_original": true` removes the message clicked (kept in `sb.messages()` with deleted=True);
- `"replace_original": true` replaces its text, blocks and attachments and keeps its ts (an ephemeral
  message stays ephemeral);
- otherwise a new message: `"response_type": "in_channel"` in the channel (`thread_ts` honoured),
  else ephemeral, Slack's default: kept in `sb.messages()` with `ephemeral: True` and
  `ephemeral_user` (the clicker), never in conversations.history.

Answers `{"ok": true}`; 404 `expired_url` (after 30 minutes), `used_url` (after 5 uses),
`no_service` (unknown URL), `message_not_found` (the original is gone); 400 `invalid_payload`,
`no_text`, `invalid_blocks`. Slack documents the limits but not these codes' statuses: the statuses,
`no_service` and `message_not_found` are guesses. Only accepted posts count as uses.

Time: the Slack sandbox has no record clock, so expiry runs on the wall clock plus
`sb.advance_clock(seconds)`.
"""

from __future__ import annotations

import copy
import hashlib
import json
import threading
import time
from typing import TYPE_CHECKING, Any

from sandbox.core.http import Request, Response, json_response
from sandbox.slack.authorship import shown_attachments
from sandbox.slack.blocks import block_problem
from sandbox.slack.webapi import bot_message

if TYPE_CHECKING:
    from sandbox.slack.app import SlackSandbox

TTL_SECONDS = 30 * 60
MAX_USES = 5
PATH = r"/actions/(?P<team>T[A-Z0-9]+)/(?P<n>\d+)/(?P<secret>[A-Za-z0-9]+)"


class ResponseUrls:
    """The response_urls handed out so far, each with its message, clicker, age and uses."""

    def __init__(self, sb: SlackSandbox) -> None:
        self.sb = sb
        self._lock = threading.Lock()
        self._urls: dict[str, dict[str, Any]] = {}  # path -> {channel, ts, user, at, uses}
        self._offset = 0.0

    def now(self) -> float:
        with self._lock:
            return time.time() + self._offset

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._offset += seconds

    def new(self, channel_id: str, ts: str, user_id: str) -> str:
        """A fresh response_url for a click by `user_id` on message `ts` of `channel_id`."""
        at = self.now()
        with self._lock:
            n = len(self._urls) + 1
            secret = hashlib.sha256(f"{self.sb.seed}:{n}:{time.time_ns()}".encode()).hexdigest()[:24]
            path = f"/actions/{self.sb.workspace.team_id}/{int(at) * 1000 + n % 1000}/{secret}"
            self._urls[path] = {"channel": channel_id, "ts": ts, "user": user_id, "at": at, "uses": 0}
        return self.sb.url + path

    def serve(self, req: Request) -> Response:
        now = self.now()
        with self._lock:  # a use is taken before the post applies, so two racing posts cannot both be the 5th
            entry = self._urls.get(req.path)
            if entry is None:
                return _answer(404, "no_service")
            if now - entry["at"] > TTL_SECONDS:
                return _answer(404, "expired_url")
            if entry["uses"] >= MAX_USES:
                return _answer(404, "used_url")
            entry["uses"] += 1
        resp = self._apply(entry, req)
        if resp.status != 200:
            with self._lock:
                entry["uses"] -= 1
        return resp

    def _apply(self, entry: dict[str, Any], req: Request) -> Response:
        body = _body(req)
        if body is None:
            return _answer(400, "invalid_payload")
        stored = self.sb.find_message(entry["channel"], entry["ts"], ephemeral=True)
        if _flag(body.get("delete_original")):
            if stored is None:
                return _answer(404, "message_not_found")
            self.sb.delete_message(stored)
            return _answer(200)
        blocks, attachments = body.get("blocks"), body.get("attachments")
        if blocks is not None and (not isinstance(blocks, list) or block_problem(blocks)):
            return _answer(400, "invalid_blocks")
        if not body.get("text") and not blocks and not attachments:
            return _answer(400, "no_text")
        content = {"text": str(body.get("text") or ""), "blocks": blocks or None,
                   "attachments": shown_attachments(attachments) or None}
        if _flag(body.get("replace_original")):
            if stored is None:
                return _answer(404, "message_not_found")
            self._replace(stored, content, body)
        else:
            self._post(entry, content, body)
        return _answer(200)

    def _replace(self, stored: dict[str, Any], content: dict[str, Any], body: dict[str, Any]) -> None:
        """Slack swaps the whole message (what the body leaves out is gone) under the same ts."""
        with self.sb._lock:
            previous = copy.deepcopy(stored["message"])
            message = {k: v for k, v in stored["message"].items() if k not in content}
            stored["message"] = {**message, **{k: v for k, v in content.items() if v is not None}}
            for key, value in content.items():
                stored[key] = value
            stored.setdefault("updates", []).append({"via": "response_url", **body})
        self.sb.message_changed(stored, previous)  # message_changed for an app subscribed to it

    def _post(self, entry: dict[str, Any], content: dict[str, Any], body: dict[str, Any]) -> None:
        ws = self.sb.workspace
        channel = ws.channels.get(entry["channel"]) or self.sb.dm_channel(entry["user"])
        message = bot_message(ws, content["text"], content["blocks"], content["attachments"], body.get("thread_ts"))
        in_channel = body.get("response_type") == "in_channel"
        self.sb.record_message(channel, message, "response_url", body,
                               ephemeral_user=None if in_channel else entry["user"])


def _body(req: Request) -> dict[str, Any] | None:
    try:
        if req.header("Content-Type").lower().startswith("application/json"):
            body = req.json()
        else:
            body = json.loads(req.form().get("payload", ""))
        json.dumps(body, ensure_ascii=False).encode("utf-8")  # an unpaired surrogate escape: refused [unc: round 30]
    except ValueError:  # UnicodeDecodeError / UnicodeEncodeError are ones
        return None
    return body if isinstance(body, dict) else None


def _flag(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def _answer(status: int, error: str | None = None) -> Response:
    body = {"ok": True} if error is None else {"ok": False, "error": error}
    resp = json_response(body, status)
    resp.content_type = "application/json; charset=utf-8"
    return resp
