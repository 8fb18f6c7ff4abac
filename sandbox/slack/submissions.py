"""Modal submissions: a person submits (or closes) a modal the app opened, and the sandbox POSTs Slack's
signed `view_submission` (or `view_closed`) payload to the app's Interactivity Request URL, as Slack.

`sb.submit_view(view_id, values, user=None)`: `values` maps an input's `action_id` (or `block_id` ->
`action_id`) to what the person entered: a string for plain_text_input / email / url / number inputs,
an option value for static_select / radio_buttons, a list of option values for checkboxes /
multi_static_select, a user / channel / conversation id for the *_select pickers, "YYYY-MM-DD" for a
datepicker, "HH:MM" for a timepicker. The payload's `view.state.values` holds them as Slack shapes them
(`{block_id: {action_id: {"type", "value" | "selected_option" | ...}}}`). Slack's client does not let a
person submit without a required input (an `input` block not `optional`): `ClickError` here.

The app's answer (within 3 s) acts as Slack's `response_action`: an empty 2xx closes the modal;
`{"response_action": "errors", "errors": {block_id: message}}` keeps it open with those errors (returned
as `errors`); `"update"` replaces the view (same id, new hash), `"push"` stacks a new one, `"clear"`
closes every view of the stack. Any other body (or a non-2xx) leaves the modal open, `error` set. The
record `{at, request_url, payload, status, body, elapsed, ok, error, response_action, errors, view}` is
returned and kept with the clicks (`sb.interactions()`).

`sb.click_view(view_id, action_id, user=None, values=None)`: a button pressed inside a modal or Home tab,
`block_actions` with `container.type` "view" (the record, as a click's).

`sb.close_view(view_id, user=None)`: the person closes the modal; a view opened with `notify_on_close`
sends `view_closed` (`is_cleared` false), others nothing (None). Over HTTP: `POST /_sandbox/view_submissions`
`{"view_id", "values"?, "user"?}`, `POST /_sandbox/view_closures` `{"view_id", "user"?}`, `POST
/_sandbox/view_clicks` `{"view_id", "action_id", "user"?, "values"?}` (400 `{"error"}`).
"""

from __future__ import annotations

import copy
import json
from typing import TYPE_CHECKING, Any

from sandbox.core.http import Request, Response, Router, json_response
from sandbox.slack.interactivity import ClickError, button, button_action, person
from sandbox.slack.webapi import SlackError

if TYPE_CHECKING:
    from sandbox.slack.app import SlackSandbox

_SELECTED = {"users_select": "selected_user", "conversations_select": "selected_conversation",
             "channels_select": "selected_channel", "datepicker": "selected_date", "timepicker": "selected_time",
             "multi_users_select": "selected_users", "multi_conversations_select": "selected_conversations",
             "multi_channels_select": "selected_channels"}


def _option(element: dict[str, Any], value: str) -> dict[str, Any]:
    options = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        options += group.get("options") or []
    found = next((o for o in options if o.get("value") == value), None)
    if found is None:
        raise ClickError(f"No option {value!r} in {element.get('action_id')!r}: a person can only pick one shown")
    return copy.deepcopy(found)


def _state(element: dict[str, Any], value: Any) -> dict[str, Any]:
    """One input's entry in view.state.values, as Slack shapes it for the element's type."""
    kind = str(element.get("type"))
    out: dict[str, Any] = {"type": kind}
    if kind in ("static_select", "radio_buttons", "external_select"):
        out["selected_option"] = None if value is None else _option(element, str(value)) \
            if kind != "external_select" else {"text": {"type": "plain_text", "text": str(value)}, "value": str(value)}
    elif kind in ("checkboxes", "multi_static_select"):
        picked = [] if value is None else value if isinstance(value, list) else [value]
        out["selected_options"] = [_option(element, str(v)) for v in picked]
    elif kind in _SELECTED:
        out[_SELECTED[kind]] = value
    else:  # plain_text_input, email_text_input, url_text_input, number_input, rich text as text
        out["value"] = None if value is None else str(value)
    return out


def _values(view: dict[str, Any], given: dict[str, Any], required: bool = True) -> dict[str, dict[str, Any]]:
    values: dict[str, dict[str, Any]] = {}
    for block in view.get("blocks") or []:
        element = block.get("element") if block.get("type") == "input" else None
        if not isinstance(element, dict):
            continue
        bid, aid = block["block_id"], str(element.get("action_id") or "")
        nested = given.get(bid)
        value = nested.get(aid) if isinstance(nested, dict) else given.get(aid)
        if value in (None, "", []) and not block.get("optional") and required:
            raise ClickError(f"The input {aid!r} (block {bid!r}) is required: Slack would not let the person "
                             "submit without it")
        values[bid] = {aid: _state(element, value if value not in ("", []) else None)}
    return values


class Submissions:
    """view_submission / view_closed for the modals of `sb.api.views`."""

    def __init__(self, sb: SlackSandbox) -> None:
        self.sb = sb

    def _view(self, view_id: str) -> dict[str, Any]:
        views = self.sb.api.views
        with views._lock:
            view = views.views.get(view_id)
            if view is None or view["type"] != "modal" or view_id in views.closed:
                raise ClickError(f"No open modal {view_id!r}: see sb.views()")
            return copy.deepcopy(view)

    def _send(self, kind: str, view: dict[str, Any], user: str | None, extra: dict[str, Any]) -> dict[str, Any]:
        interactivity = self.sb.interactivity
        interactivity.url_or_socket()
        who, ws = person(self.sb, user, ClickError, "submit"), self.sb.workspace
        payload = {"type": kind, "team": {"id": ws.team_id, "domain": ws.domain},
                   "user": {"id": who["id"], "username": who["name"], "name": who["name"], "team_id": ws.team_id},
                   "api_app_id": ws.app_id, "token": interactivity.verification_token,
                   "view": view, **self.sb.enterprise.payload_fields(), **extra}
        return interactivity.send(payload)

    def submit(self, view_id: str, values: dict[str, Any] | None = None, user: str | None = None) -> dict[str, Any]:
        view = self._view(view_id)
        view["state"] = {"values": _values(view, values or {})}
        record = self._send("view_submission", view, user, {"trigger_id": self.sb.new_trigger_id(),
                                                             "response_urls": []})
        record.update(response_action=None, errors=None, view=None)
        if record["ok"]:
            self._act(record, view_id)
        return copy.deepcopy(record)

    def _act(self, record: dict[str, Any], view_id: str) -> None:
        views = self.sb.api.views
        text = record["body"].strip()
        try:
            answer = json.loads(text) if text else {}
        except ValueError:
            answer = None
        action = answer.get("response_action") if isinstance(answer, dict) else None
        record["response_action"] = action
        if answer == {}:
            views.close(view_id)
        elif action == "clear":
            views.close(view_id, whole_stack=True)
        elif action == "errors" and isinstance(answer.get("errors"), dict):
            record["errors"] = answer["errors"]
        elif action in ("update", "push"):
            try:
                view = views._view_arg({"view": answer.get("view")}, ("modal",))
            except SlackError as exc:
                record.update(ok=False, error=f"invalid_response: {exc.extra or exc.error}")
                return
            old = views.views[view_id]
            record["view"] = views._make(view, root=old["root_view_id"], previous=old["previous_view_id"],
                                         vid=view_id) if action == "update" else \
                views._make(view, root=old["root_view_id"], previous=view_id)
        else:
            record.update(ok=False, error="invalid_response")  # Slack shows the person an error, keeps the modal

    def click(self, view_id: str, action_id: str, user: str | None = None,
              values: dict[str, Any] | None = None) -> dict[str, Any]:
        """A person presses button `action_id` in an open modal or a Home tab: `block_actions` with
        `container.type` "view", the view (its inputs so far in `state.values`, none required yet) and a
        trigger_id (views.push / views.update follow); no response_url, as Slack."""
        views = self.sb.api.views
        with views._lock:
            view = copy.deepcopy(views.views.get(view_id))
        if not view or view_id in views.closed:
            raise ClickError(f"No open view {view_id!r}: see sb.views()")
        block_id, pressed = button({"blocks": view["blocks"], "ts": view_id}, action_id)
        view["state"] = {"values": _values(view, values or {}, required=False)}
        record = self._send("block_actions", view, user, {
            "container": {"type": "view", "view_id": view_id}, "trigger_id": self.sb.new_trigger_id(),
            "actions": [button_action(block_id, pressed)]})
        return copy.deepcopy(record)

    def close(self, view_id: str, user: str | None = None) -> dict[str, Any] | None:
        view = self._view(view_id)
        self.sb.api.views.close(view_id)
        if not view["notify_on_close"]:
            return None
        return copy.deepcopy(self._send("view_closed", view, user, {"is_cleared": False}))


def add_view_routes(sb: SlackSandbox, admin: Router) -> None:
    def call(fn: Any, *fields: str) -> Any:
        def handle(req: Request) -> Response:
            body = req.json() or {}
            if not isinstance(body, dict) or not isinstance(body.get("view_id"), str):
                return json_response({"error": f"the body is a JSON object with {list(fields)}"}, 400)
            try:
                return json_response(fn(**{k: body[k] for k in fields if k in body}) or {"sent": False})
            except (ClickError, TypeError, AttributeError) as exc:
                return json_response({"error": str(exc)}, 400)
        return handle

    admin.add("POST", r"/_sandbox/view_submissions", call(sb.submit_view, "view_id", "values", "user"))
    admin.add("POST", r"/_sandbox/view_closures", call(sb.close_view, "view_id", "user"))
    admin.add("POST", r"/_sandbox/view_clicks", call(sb.click_view, "view_id", "action_id", "user", "values"))
