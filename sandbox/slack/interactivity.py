"""Interactivity: a user clicks a button in a kept message and the sandbox POSTs it to the app, as Slack.

`sb.click(channel, ts, action_id, user=None)` finds the message and the button (`actions` block
elements and section accessories; `ClickError` if either is missing: nobody can click a button that is
not there), builds Slack's `block_actions` payload from the message as kept and the workspace's user
(default: the first person of the workspace; `user` is a Slack id, e-mail or handle), and POSTs it to
the app's Interactivity Request URL over real HTTP: `application/x-www-form-urlencoded` body
`payload=<json>`, signed with the app's signing secret (`X-Slack-Request-Timestamp`,
`X-Slack-Signature: v0=<hex HMAC-SHA256(secret, "v0:<ts>:<body>")>`). The payload carries a live
`trigger_id` (views.open) and a `response_url` (`sandbox.slack.response_urls`). A click on an ephemeral
message has `container.is_ephemeral` true and no `message`, as Slack sends it. With Socket Mode on the
payload goes over the app's WebSocket instead (`sandbox.slack.socket_interactions`).

Slack waits 3 seconds and never retries an interaction: an answer that is not 2xx (`error`
"http_error"), comes later (`http_timeout`, the socket gives up at 3 s) or never (`connection_failed`)
is recorded and returned with `ok` False, as Slack would show the user a warning (the error names are
the sandbox's). Every click sent is kept: `sb.interactions()`, each `{at, request_url, payload, status,
body, elapsed, ok, error}` (`body`: the answer's first 64 KiB, read within the 3 seconds).

Configure with `SlackSandbox(interactivity_url=..., signing_secret=...)`, `sb.configure_interactivity()`
or over HTTP (the CLI-run sandbox): `GET|PUT /_sandbox/interactivity` `{"request_url", "signing_secret"}`,
`POST /_sandbox/clicks` `{"channel", "ts", "action_id", "user"?}` (the record; 400 `{"error"}` when the
click cannot be made), `GET|DELETE /_sandbox/interactions`.
"""

from __future__ import annotations

import copy
import hashlib
import http.client
import json
import threading
import time
import urllib.error
import urllib.request
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from sandbox.core.http import Request, Response, Router, json_response
from sandbox.partner import slack_headers
from sandbox.slack.response_urls import ResponseUrls
from sandbox.slack.seed import SLACKBOT_ID
from sandbox.slack.socket_interactions import deliver, over_socket

if TYPE_CHECKING:
    from sandbox.slack.app import SlackSandbox

ANSWER_WITHIN = 3.0  # seconds Slack waits for the app's 200
MAX_ANSWER = 64 * 1024  # bytes of the app's answer read and kept; Slack ignores a block_actions answer's body
USER_AGENT = "Slackbot 1.0 (+https://api.slack.com/robots)"


class ClickError(LookupError):
    """A click Slack could not make: no Request URL, no such message, button or user."""


class Interactivity:
    """The app's Interactivity settings (Request URL, signing secret) and every click sent to it."""

    def __init__(self, sb: SlackSandbox, request_url: str | None, signing_secret: str) -> None:
        self.sb, self.request_url, self.signing_secret = sb, request_url, signing_secret
        self.response_urls = ResponseUrls(sb)
        self._lock = threading.Lock()
        self._sent: list[dict[str, Any]] = []

    @property
    def verification_token(self) -> str:
        """The deprecated `token` field Slack still sends (apps should check the signature instead)."""
        return hashlib.sha256(f"slack-sandbox:{self.sb.seed}:verification".encode()).hexdigest()[:24]

    def configure(self, request_url: str | None = None, signing_secret: str | None = None) -> None:
        with self._lock:
            if request_url is not None:
                self.request_url = request_url
            if signing_secret is not None:
                self.signing_secret = signing_secret

    def settings(self) -> dict[str, Any]:
        return {"request_url": self.request_url, "signing_secret": self.signing_secret}

    def sent(self) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._sent)

    def clear(self) -> None:
        with self._lock:
            self._sent.clear()

    def click(self, channel: str, ts: str, action_id: str, user: str | None = None) -> dict[str, Any]:
        self.url_or_socket()
        stored = self._message(channel, ts)
        block_id, pressed = button(stored, action_id)
        clicker = self._user(user)
        return copy.deepcopy(self.send(self.payload(stored, block_id, pressed, clicker)))

    def url_or_socket(self) -> str | None:
        """The Request URL interactions go to (None over Socket Mode); ClickError when there is neither."""
        if over_socket(self.sb):
            return None
        if not self.request_url:
            raise ClickError("No Interactivity Request URL: pass SlackSandbox(interactivity_url=...), call "
                             "sb.configure_interactivity(url) or PUT /_sandbox/interactivity {\"request_url\": ...}"
                             " (or turn Socket Mode on)")
        return self.request_url

    def send(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Deliver one interaction payload (a signed form POST, or an `interactive` envelope over Socket Mode,
        `sandbox.slack.socket_interactions`) and keep the record."""
        url = self.url_or_socket()
        if url is None:
            answer = deliver(self.sb, "interactive", payload)[0]
        else:
            # Slack's JSON escapes "/" ("https:\/\/hooks.slack.com\/actions\/…"): valid JSON, a parser's job
            body = urlencode({"payload": json.dumps(payload, separators=(",", ":")).replace("/", "\\/")}).encode()
            answer = {"request_url": url, **_post(url, body, self.signing_secret)}
        record = {"at": time.time(), "payload": payload, **answer}
        with self._lock:
            self._sent.append(record)
        return record

    def payload(self, stored: dict[str, Any], block_id: str, button: dict[str, Any],
                clicker: dict[str, Any]) -> dict[str, Any]:
        """Slack's block_actions payload for `clicker` pressing `button` on the kept message `stored`."""
        ws = self.sb.workspace
        channel = ws.channels.get(stored["channel"]) or {"id": stored["channel"], "name": stored["channel_name"]}
        name = "directmessage" if channel.get("is_im") else "privategroup" if channel.get("is_private") \
            else channel["name"]
        ephemeral = bool(stored.get("ephemeral"))
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": {"id": clicker["id"], "username": clicker["name"], "name": clicker["name"],
                     "team_id": ws.team_id},
            "api_app_id": ws.app_id, "token": self.verification_token,
            "container": {"type": "message", "message_ts": stored["ts"], "channel_id": channel["id"],
                          "is_ephemeral": ephemeral},
            "trigger_id": self.sb.new_trigger_id(), "team": {"id": ws.team_id, "domain": ws.domain},
            **self.sb.enterprise.payload_fields(), "channel": {"id": channel["id"], "name": name},
            "message": copy.deepcopy(stored["message"]), "state": {"values": {}},
            "response_url": self.response_urls.new(channel["id"], stored["ts"], clicker["id"]),
            "actions": [button_action(block_id, button)],
        }
        if ephemeral:  # Slack does not send an ephemeral message back to the app
            del payload["message"]
        return payload

    def _message(self, channel: str, ts: str) -> dict[str, Any]:
        found = self.sb.workspace.channel(channel)
        cid = found["id"] if found else channel
        stored = self.sb.find_message(cid, ts, ephemeral=True)
        if stored is None:
            raise ClickError(f"No message {ts} in channel {channel!r} (deleted, or never posted): see sb.messages()")
        return copy.deepcopy(stored)

    def _user(self, ref: str | None) -> dict[str, Any]:
        return person(self.sb, ref, ClickError, "click")


def person(sb: SlackSandbox, ref: str | None, error: type[LookupError], doing: str) -> dict[str, Any]:
    """The workspace's person `ref` (Slack id, e-mail or handle; None: the first person), else `error`."""
    people = [u for u in sb.workspace.users.values() if not u["is_bot"] and not u["deleted"] and u["id"] != SLACKBOT_ID]
    if ref is not None and not isinstance(ref, str):
        raise error(f"user must be a Slack id, e-mail or handle (a string), not {type(ref).__name__}")
    if ref is None:
        if not people:
            raise error(f"No person in the workspace to {doing}: add one with sb.add_user(email)")
        return people[0]
    want = ref.lower()
    found = next((u for u in people if want in (u["id"].lower(), u["name"].lower(),
                                                u["profile"].get("email", "").lower())), None)
    if found is None:
        raise error(f"No person {ref!r} in the workspace to {doing}: add one with sb.add_user(email)")
    return found


def button_action(block_id: str, button: dict[str, Any]) -> dict[str, Any]:
    """The `actions` entry of a block_actions payload for a pressed button, as Slack sends it."""
    text = button.get("text") or {}
    action = {"action_id": button["action_id"], "block_id": block_id,
              "text": {"emoji": True, **text} if text.get("type") == "plain_text" else text,
              "value": button.get("value"), "style": button.get("style"), "type": "button",
              "action_ts": f"{time.time():.6f}"}
    return {k: v for k, v in action.items() if v is not None}


def button(stored: dict[str, Any], action_id: str) -> tuple[str, dict[str, Any]]:
    """(block_id, element) of the button `action_id` in an actions block or a section's accessory."""
    for n, block in enumerate(stored.get("blocks") or []):
        elements = block.get("elements") if block.get("type") == "actions" else [block.get("accessory")]
        for element in elements or []:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                if element.get("type") != "button":
                    raise ClickError(f"{action_id!r} is a {element.get('type')}, not a button: click() presses "
                                     "buttons only")
                # Slack gives a block without block_id one of its own when the message is posted
                block_id = block.get("block_id") or hashlib.sha256(f"{stored['ts']}:{n}".encode()).hexdigest()[:5]
                return block_id, element
    ids = [e.get("action_id") for b in stored.get("blocks") or []
           for e in (b.get("elements") if b.get("type") == "actions" else [b.get("accessory")]) or []
           if isinstance(e, dict)]
    raise ClickError(f"No button with action_id {action_id!r} in message {stored['ts']} (it has {ids}): "
                     "a user cannot click a button that is not there")


def _post(url: str, body: bytes, secret: str) -> dict[str, Any]:
    """POST a signed interaction once (Slack does not retry) and report how the app answered."""
    return post_signed(url, body, secret)[0]


def post_signed(url: str, body: bytes, secret: str, content_type: str = "application/x-www-form-urlencoded",
                extra: dict[str, str] | None = None, within: float | None = None
                ) -> tuple[dict[str, Any], dict[str, str]]:
    """POST `body` signed as Slack signs (fresh timestamp) once, waiting `within` seconds (Slack's 3 s):
    `{status, body, elapsed, ok, error}` and the answer's headers (lower-case names)."""
    within = ANSWER_WITHIN if within is None else within
    headers = {"Content-Type": content_type, "User-Agent": USER_AGENT, **(extra or {}),
               **slack_headers(secret, body)}
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # Slack reaches the app directly
    started = time.monotonic()
    status: int | None = None
    text, error, answer = "", None, {}
    deadline = started + within
    try:
        with opener.open(request, timeout=within) as resp:
            status, text, answer = resp.status, _read(resp, deadline), dict(resp.headers.items())
    except urllib.error.HTTPError as exc:
        status, text, answer = exc.code, _read(exc, deadline), dict(exc.headers.items())
    except TimeoutError:
        error = "http_timeout"
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        error = "http_timeout" if isinstance(reason, TimeoutError) else f"connection_failed: {reason}"
    took = time.monotonic() - started
    elapsed = round(took, 3)
    if error is None and took >= within:
        error = "http_timeout"  # an answer after Slack stopped waiting does not count
    elif error is None and not 200 <= int(status or 0) < 300:
        error = "http_error"
    record = {"status": status, "body": text, "elapsed": elapsed, "ok": error is None, "error": error}
    return record, {k.lower(): v for k, v in answer.items()}


def _read(stream: Any, deadline: float) -> str:
    """At most MAX_ANSWER bytes of the answer, read until `deadline` (monotonic): a huge or trickling body
    neither fills the sandbox's memory nor holds the click past Slack's wait (the caller sees the time)."""
    read = getattr(stream, "read1", None) or stream.read
    chunks: list[bytes] = []
    size = 0
    while size < MAX_ANSWER and time.monotonic() < deadline:
        try:
            chunk = read(min(16384, MAX_ANSWER - size))
        except (OSError, http.client.HTTPException):  # a socket timeout or a cut body: what came is the answer
            break
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks).decode("utf-8", "replace")


def add_admin_routes(sb: SlackSandbox, admin: Router) -> None:
    """`/_sandbox/interactivity`, `/_sandbox/clicks` and `/_sandbox/interactions` (module docstring)."""

    def configure(req: Request) -> Response:
        body = req.json() or {}
        sb.configure_interactivity(body.get("request_url"), body.get("signing_secret"))
        return json_response(sb.interactivity.settings())

    def click(req: Request) -> Response:
        body = req.json() or {}
        if not isinstance(body, dict):
            return json_response({"error": "the body is a JSON object: {channel, ts, action_id, user?}"}, 400)
        try:
            return json_response(sb.click(str(body.get("channel") or ""), str(body.get("ts") or ""),
                                          str(body.get("action_id") or ""), body.get("user")))
        except ClickError as exc:
            return json_response({"error": str(exc)}, 400)

    admin.add("GET", r"/_sandbox/interactivity", lambda r: json_response(sb.interactivity.settings()))
    admin.add("PUT", r"/_sandbox/interactivity", configure)
    admin.add("POST", r"/_sandbox/clicks", click)
    admin.add("GET", r"/_sandbox/interactions", lambda r: json_response({"interactions": sb.interactions()}))
    admin.add("DELETE", r"/_sandbox/interactions", lambda r: (sb.interactivity.clear(), Response(status=204))[1])
