"""Interactivity, shortcuts and slash commands over Socket Mode, as Slack delivers them to a Socket Mode app.

With Socket Mode on (`sb.configure_socket_mode(True)`) nothing goes to the Interactivity or slash
command Request URLs (none needs to be set): `sb.click`, `sb.click_view`, `sb.submit_view`,
`sb.close_view` and `sb.run_shortcut` send an `interactive` envelope and `sb.run_command` a
`slash_commands` one over an open connection (`sandbox.slack.socket_mode.SocketMode.exchange`):
`{"envelope_id", "payload", "type", "accepts_response_payload"}`. The payload is the one the Request URL
would get (a block_actions / view_submission / view_closed / shortcut / message_action object; a slash
command's fields as a JSON object of strings). `accepts_response_payload` is true for slash_commands and
view_submission (their ack may answer: a slash command's message, a view's `response_action`), false
otherwise [unc for shortcuts and view_closed].

The app acks with `{"envelope_id": …, "payload"?: …}` (slack_sdk: `SocketModeResponse(envelope_id,
payload)`) within 3 seconds; the ack's payload is the answer an HTTP app would have put in its body and
acts the same way (`sandbox.slack.commands`, `sandbox.slack.submissions`); a payload on an envelope that
does not accept one is ignored [unc]. The record (`sb.interactions()`) has `request_url` "socket_mode",
`envelope_id`, `status` None and `body` the ack's payload as JSON ("" without one).

Unlike `events_api` envelopes, these carry no `retry_attempt` / `retry_reason` and are not sent again
when the app does not ack: Slack shows the person an error after 3 seconds, as for an HTTP app that does
not answer in time (slack_sdk marks the retry fields as events_api's) [unc]. A missing ack is recorded as
`error` "timeout", no open connection as "no_connection" (the sandbox's names).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sandbox.slack.app import SlackSandbox

ANSWER_WITHIN = 3.0  # seconds Slack waits for the ack, as for an HTTP Request URL


def accepts_response(kind: str, payload: dict[str, Any]) -> bool:
    """Whether Slack lets the app answer this envelope in its ack (module docstring)."""
    return kind == "slash_commands" or payload.get("type") == "view_submission"


def deliver(sb: SlackSandbox, kind: str, payload: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Send one `interactive` / `slash_commands` envelope and wait for its ack, once: the same
    `({request_url, envelope_id, status, body, elapsed, ok, error}, headers)` a signed POST gives."""
    accepts = accepts_response(kind, payload)
    sent = sb.socket_mode.exchange(kind, payload, accepts, ANSWER_WITHIN)
    reply = (sent["ack"] or {}).get("payload") if accepts else None
    body = "" if reply in (None, "") else json.dumps(reply) if isinstance(reply, (dict, list)) else str(reply)
    record = {"request_url": "socket_mode", "envelope_id": sent["envelope_id"], "status": None, "body": body,
              "elapsed": sent["elapsed"], "ok": sent["ok"], "error": sent["error"]}
    return record, {"content-type": "application/json"}


def over_socket(sb: SlackSandbox) -> bool:
    """Whether the app takes its interactions over Socket Mode."""
    return bool(sb.socket_mode.enabled)
