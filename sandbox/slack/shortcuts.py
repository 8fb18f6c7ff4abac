"""Shortcuts: a person starts one of the app's global shortcuts (from the composer's shortcut menu) or a
message shortcut (from a message's "More actions" menu), and Slack sends the app its payload, as it does.

`sb.run_shortcut(callback_id, user=None)`: a global shortcut, payload `{"type": "shortcut", "token",
"action_ts", "team", "user", "is_enterprise_install", "enterprise", "callback_id", "trigger_id"}` (the
trigger opens a modal with views.open). `sb.run_shortcut(callback_id, user, channel=…, ts=…)`: a message
shortcut on a kept message, `{"type": "message_action", …, "channel", "message_ts", "message",
"response_url"}` (`ClickError` when there is no such message; an ephemeral message has no shortcuts).
Both go where the app's other interactions go: a signed form POST to the Interactivity Request URL, or
with Socket Mode on an `interactive` envelope (`sandbox.slack.socket_interactions`); the record is returned
and kept (`sb.interactions()`). Slack's client only offers the shortcuts the app's settings declare; the
sandbox takes any callback_id [unc: which shortcuts exist is the app configuration's business].
Over HTTP: `POST /_sandbox/shortcuts` `{"callback_id", "user"?, "channel"?, "ts"?}` (400 `{"error"}`).
"""

from __future__ import annotations

import copy
import time
from typing import TYPE_CHECKING, Any

from sandbox.core.http import Request, Response, Router, json_response
from sandbox.slack.interactivity import ClickError, person

if TYPE_CHECKING:
    from sandbox.slack.app import SlackSandbox


def run_shortcut(sb: SlackSandbox, callback_id: str, user: str | None = None, channel: str | None = None,
                 ts: str | None = None) -> dict[str, Any]:
    """Send one shortcut (module docstring): the interaction record."""
    if not isinstance(callback_id, str) or not callback_id:
        raise ClickError("A shortcut needs its callback_id (a string), as set in the app's settings")
    if (channel is None) != (ts is None):
        raise ClickError("A message shortcut needs both channel and ts; a global shortcut neither")
    interactivity, ws = sb.interactivity, sb.workspace
    interactivity.url_or_socket()
    who = person(sb, user, ClickError, "run a shortcut")
    payload: dict[str, Any] = {
        "type": "shortcut", "token": interactivity.verification_token, "action_ts": f"{time.time():.6f}",
        "team": {"id": ws.team_id, "domain": ws.domain},
        "user": {"id": who["id"], "username": who["name"], "team_id": ws.team_id},
        **sb.enterprise.payload_fields(), "callback_id": callback_id,
        "trigger_id": sb.new_trigger_id()}
    if channel is not None:
        stored = interactivity._message(channel, str(ts))
        if stored.get("ephemeral"):
            raise ClickError("An ephemeral message has no message shortcuts")
        found = ws.channels.get(stored["channel"]) or {"id": stored["channel"], "name": stored["channel_name"]}
        name = "directmessage" if found.get("is_im") else "privategroup" if found.get("is_private") \
            else found["name"]
        payload.update(type="message_action", user={"id": who["id"], "name": who["name"]},
                       channel={"id": found["id"], "name": name}, message_ts=stored["ts"],
                       message=copy.deepcopy(stored["message"]),
                       response_url=interactivity.response_urls.new(found["id"], stored["ts"], who["id"]))
    return copy.deepcopy(interactivity.send(payload))


def add_shortcut_routes(sb: SlackSandbox, admin: Router) -> None:
    def run(req: Request) -> Response:
        body = req.json() or {}
        if not isinstance(body, dict):
            return json_response({"error": "the body is a JSON object: {callback_id, user?, channel?, ts?}"}, 400)
        try:
            return json_response(run_shortcut(sb, body.get("callback_id"), body.get("user"), body.get("channel"),
                                              body.get("ts")))
        except ClickError as exc:
            return json_response({"error": str(exc)}, 400)

    admin.add("POST", r"/_sandbox/shortcuts", run)
