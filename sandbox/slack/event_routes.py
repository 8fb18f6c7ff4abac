"""HTTP control routes of the Slack sandbox's Events API (`sandbox.slack.events`), for the CLI-run sandbox:
`GET|PUT /_sandbox/events`, `POST /_sandbox/events/messages`, `POST /_sandbox/events/reactions`
(`"added": false` takes a reaction back), `POST /_sandbox/events/app_home` (`{"user"?, "tab"?}`),
`POST /_sandbox/events/edits` (`{"channel", "ts", "text"}`), `POST /_sandbox/events/deletions` (`{"channel", "ts"}`),
`POST /_sandbox/events/files` (`{"channel", "filename", "content", "user"?, "text"?}`),
`POST /_sandbox/events/assistant_threads` (`{"user"?, "context_channel"?}`: `sandbox.slack.assistant_threads`),
`POST /_sandbox/events/assistant_context` (`{"user", "context_channel", "thread_ts"?}`),
`GET|DELETE /_sandbox/event_deliveries` (`?wait=seconds` waits for pending deliveries first)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.core.http import Request, Response, Router, json_response
from sandbox.core.numbers import control_number
from sandbox.slack.events import EventError

if TYPE_CHECKING:
    from sandbox.slack.app import SlackSandbox


def add_event_routes(sb: SlackSandbox, admin: Router) -> None:
    """`/_sandbox/events…` and `/_sandbox/event_deliveries` (module docstrings)."""

    def call(fn: Any, *fields: str) -> Any:
        def handle(req: Request) -> Response:
            body = req.json() or {}
            if not isinstance(body, dict):
                return json_response({"error": f"the body is a JSON object with {list(fields)}"}, 400)
            try:
                return json_response(fn(**{k: body[k] for k in fields if k in body}))
            except (EventError, TypeError, ValueError) as exc:
                return json_response({"error": str(exc)}, 400)
        return handle

    def deliveries(req: Request) -> Response:
        if req.query.get("wait"):  # not float(): 'x' was a 500, '٣' read as 3, 'inf' waited forever [round 27]
            try:
                wait = control_number("wait", req.query["wait"], float, 0, 3600)
            except ValueError as exc:
                return json_response({"error": str(exc)}, 400)
            sb.wait_for_events(wait)
        return json_response({"deliveries": sb.event_deliveries()})

    admin.add("GET", r"/_sandbox/events", lambda r: json_response(sb.events.settings()))
    admin.add("PUT", r"/_sandbox/events", call(sb.configure_events, "request_url", "signing_secret", "events",
                                               "retry_waits", "answer_within"))
    admin.add("POST", r"/_sandbox/events/messages", call(sb.post_as_user, "channel", "text", "user", "thread_ts"))
    admin.add("POST", r"/_sandbox/events/reactions", call(
        lambda **kw: {"event_id": sb.react_as_user(**kw)}, "channel", "ts", "name", "user", "added"))
    admin.add("POST", r"/_sandbox/events/files", call(sb.upload_as_user, "channel", "filename", "content", "user",
                                                      "text"))
    admin.add("POST", r"/_sandbox/events/edits", call(
        lambda **kw: (sb.edit_as_user(**kw), {"edited": True})[1], "channel", "ts", "text"))
    admin.add("POST", r"/_sandbox/events/deletions", call(
        lambda **kw: (sb.delete_as_user(**kw), {"deleted": True})[1], "channel", "ts"))
    admin.add("POST", r"/_sandbox/events/app_home", call(
        lambda **kw: {"event_id": sb.open_app_home(**kw)}, "user", "tab"))
    admin.add("POST", r"/_sandbox/events/assistant_threads", call(sb.open_assistant_thread, "user",
                                                                   "context_channel"))
    admin.add("POST", r"/_sandbox/events/assistant_context", call(
        lambda **kw: {"event_id": sb.change_assistant_context(**kw)}, "user", "context_channel", "thread_ts"))
    admin.add("GET", r"/_sandbox/event_deliveries", deliveries)
    admin.add("DELETE", r"/_sandbox/event_deliveries", lambda r: (sb.events.clear(), Response(status=204))[1])
