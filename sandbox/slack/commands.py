"""Slash commands: a person runs `/command text` in a conversation and the sandbox POSTs Slack's signed form
(`application/x-www-form-urlencoded`: token, team_id, team_domain, channel_id, channel_name, user_id,
user_name, command, text, api_app_id, is_enterprise_install, response_url, trigger_id) to the command's
Request URL, once, waiting 3 seconds, as Slack.

`sb.configure_command("/approve", url)` sets a command's Request URL (None removes the command);
`sb.run_command("/approve", "task-1", channel="general", user="amelia.hart")` runs it. The app's
answer acts as Slack's: an empty 2xx shows nothing; a JSON body (`text` / `blocks` / `attachments`,
`response_type`) is a message, ephemeral to the person unless `"response_type": "in_channel"`; a plain
text body is an ephemeral message with that text; a failure is `dispatch_failed` to the person (the
record's `error` names it). The payload's `response_url` takes up to 5 follow-ups in 30 minutes
(`sandbox.slack.response_urls`; replace/delete_original have no original: message_not_found) and its
`trigger_id` opens a modal. Records (`{at, request_url, payload, status, body, elapsed, ok, error}`) are
kept with the clicks (`sb.interactions()`). Over HTTP: `PUT /_sandbox/commands` `{"command", "url"}`,
`POST /_sandbox/commands` `{"command", "text"?, "channel"?, "user"?}` (400 `{"error"}`). With Socket Mode on,
any `/command` runs without a Request URL and goes over the app's WebSocket as a `slash_commands`
envelope; the ack's payload is the immediate answer (`sandbox.slack.socket_interactions`).
"""

from __future__ import annotations

import copy
import json
import threading
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from sandbox.core.http import Request, Response, Router, json_response
from sandbox.slack.blocks import block_problem
from sandbox.slack.interactivity import ClickError, person, post_signed
from sandbox.slack.socket_interactions import deliver, over_socket

if TYPE_CHECKING:
    from sandbox.slack.app import SlackSandbox


class Commands:
    def __init__(self, sb: SlackSandbox) -> None:
        self.sb = sb
        self._lock = threading.Lock()
        self.urls: dict[str, str] = {}

    def configure(self, command: str, url: str | None) -> dict[str, str]:
        if not command.startswith("/") or len(command) < 2 or " " in command:
            raise ClickError(f"A slash command is '/name', not {command!r}")
        with self._lock:
            if url:
                self.urls[command] = url
            else:
                self.urls.pop(command, None)
            return dict(self.urls)

    def run(self, command: str, text: str = "", channel: str = "general", user: str | None = None) -> dict[str, Any]:
        with self._lock:
            url = self.urls.get(command)
        socket = over_socket(self.sb)
        if not socket and url is None:
            raise ClickError(f"No command {command!r}: sb.configure_command({command!r}, url) first")
        if socket and not command.startswith("/"):
            raise ClickError(f"A slash command is '/name', not {command!r}")
        found = self.sb.workspace.channel(channel)
        if found is None or found.get("is_archived"):
            raise ClickError(f"No live conversation {channel!r} to run {command} in")
        who, ws = person(self.sb, user, ClickError, "run a command"), self.sb.workspace
        interactivity = self.sb.interactivity
        name = "directmessage" if found.get("is_im") else "privategroup" if found.get("is_private") else found["name"]
        payload = {"token": interactivity.verification_token, "team_id": ws.team_id, "team_domain": ws.domain,
                   "channel_id": found["id"], "channel_name": name, "user_id": who["id"], "user_name": who["name"],
                   "command": command, "text": text, "api_app_id": ws.app_id, **self.sb.enterprise.command_fields(),
                   "response_url": interactivity.response_urls.new(found["id"], "", who["id"]),
                   "trigger_id": self.sb.new_trigger_id()}
        if socket:
            answer, headers = deliver(self.sb, "slash_commands", payload)
        else:
            answer, headers = post_signed(str(url), urlencode(payload).encode(), interactivity.signing_secret)
            answer = {"request_url": url, **answer}
        record = {"at": time.time(), "payload": payload, **answer}
        if record["ok"]:
            self._reply(record, headers.get("content-type", ""), {"channel": found["id"], "user": who["id"]})
        elif record["error"]:
            record["error"] = f"dispatch_failed: {record['error']}"
        with interactivity._lock:
            interactivity._sent.append(record)
        return copy.deepcopy(record)

    def _reply(self, record: dict[str, Any], content_type: str, entry: dict[str, Any]) -> None:
        """The app's immediate answer, shown as Slack shows it."""
        body = record["body"].strip()
        if not body:
            return
        if "json" in content_type.lower():
            try:
                reply = json.loads(body)
            except ValueError:
                reply = None
            if not isinstance(reply, dict) or (reply.get("blocks") is not None and (
                    not isinstance(reply["blocks"], list) or block_problem(reply["blocks"]))):
                record.update(ok=False, error="invalid_response")
                return
        else:
            reply = {"text": body}
        content = {"text": str(reply.get("text") or ""), "blocks": reply.get("blocks") or None,
                   "attachments": reply.get("attachments") or None}
        if any(content.values()):
            self.sb.interactivity.response_urls._post(entry, content, reply)


def add_command_routes(sb: SlackSandbox, admin: Router) -> None:
    def configure(req: Request) -> Response:
        body = req.json() or {}
        try:
            return json_response({"commands": sb.configure_command(str(body.get("command") or ""), body.get("url"))})
        except (ClickError, AttributeError) as exc:
            return json_response({"error": str(exc)}, 400)

    def run(req: Request) -> Response:
        body = req.json() or {}
        if not isinstance(body, dict):
            return json_response({"error": "the body is a JSON object: {command, text?, channel?, user?}"}, 400)
        try:
            return json_response(sb.run_command(str(body.get("command") or ""), str(body.get("text") or ""),
                                                str(body.get("channel") or "general"), body.get("user")))
        except ClickError as exc:
            return json_response({"error": str(exc)}, 400)

    admin.add("GET", r"/_sandbox/commands", lambda r: json_response({"commands": dict(sb.commands.urls)}))
    admin.add("PUT", r"/_sandbox/commands", configure)
    admin.add("POST", r"/_sandbox/commands", run)
