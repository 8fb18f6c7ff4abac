"""dialog.open: Slack's legacy dialogs (outmoded by modals, still served), opened by exchanging a trigger_id.

No scope needed. The trigger is views.open's (`sb.new_trigger_id()`: 3 seconds, one use); dialog.open names
the faults its own way: missing_trigger, invalid_trigger (not a trigger id's shape), expired_trigger_id
(old, or unknown: Slack cannot tell them apart), trigger_exchanged (used already), missing_dialog,
validation_errors (`response_metadata.messages`, `[ERROR] …`) for a dialog outside Slack's limits: a title
of 1-24 characters, 1-10 elements of type text / textarea / select each with a label (at most 48) and a
name, a submit_label of one word (at most 48) [unc: the wording of the messages]; app_missing_action_url
when the app has no Interactivity Request URL (`sb.configure_interactivity`) and Socket Mode is off, where
the submission could go [unc: checked after the dialog, before the trigger is spent]. The dialogs opened are
kept in `sb.api.dialogs.opened`.
"""

from __future__ import annotations

import json
import threading
from typing import TYPE_CHECKING, Any

from sandbox.slack.socket_interactions import over_socket
from sandbox.slack.webapi import SlackError

if TYPE_CHECKING:
    from sandbox.slack.webapi import WebApi

_TRIGGER_ERRORS = {"invalid_trigger_id": "invalid_trigger", "exchanged_trigger_id": "trigger_exchanged",
                   "expired_trigger_id": "expired_trigger_id"}


def _problems(dialog: dict[str, Any]) -> list[str]:
    out = []
    title = dialog.get("title")
    if not isinstance(title, str) or not 0 < len(title) <= 24:
        out.append("title must be 1 to 24 characters [json-pointer:/dialog/title]")
    label = dialog.get("submit_label")
    if label is not None and (not isinstance(label, str) or not 0 < len(label) <= 48 or " " in label.strip()):
        out.append("submit_label must be one word of at most 48 characters [json-pointer:/dialog/submit_label]")
    elements = dialog.get("elements")
    if not isinstance(elements, list) or not 0 < len(elements) <= 10:
        return [*out, "elements must hold 1 to 10 items [json-pointer:/dialog/elements]"]
    for i, el in enumerate(elements):
        where = f"[json-pointer:/dialog/elements/{i}]"
        if not isinstance(el, dict) or el.get("type") not in ("text", "textarea", "select"):
            out.append(f"type must be text, textarea or select {where}")
            continue
        if not isinstance(el.get("label"), str) or not 0 < len(el["label"]) <= 48:
            out.append(f"label must be 1 to 48 characters {where}")
        if not isinstance(el.get("name"), str) or not el["name"]:
            out.append(f"missing required field: name {where}")
    return out


class DialogsApi:
    def __init__(self, api: WebApi) -> None:
        self.api, self.sb = api, api.sb
        self._lock = threading.Lock()
        self.opened: list[dict[str, Any]] = []
        self.methods = {"dialog.open": self.open}

    def open(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("trigger_id"):
            raise SlackError("missing_trigger")
        dialog = args.get("dialog")
        if dialog is None or dialog == "":
            raise SlackError("missing_dialog")
        if isinstance(dialog, str):
            try:
                dialog = json.loads(dialog)
            except ValueError as exc:
                raise SlackError("validation_errors", response_metadata={
                    "messages": ["[ERROR] dialog must be a JSON object [json-pointer:/dialog]"]}) from exc
        if not isinstance(dialog, dict):
            raise SlackError("validation_errors", response_metadata={
                "messages": ["[ERROR] dialog must be a JSON object [json-pointer:/dialog]"]})
        problems = _problems(dialog)
        if problems:
            raise SlackError("validation_errors", response_metadata={"messages": [f"[ERROR] {p}" for p in problems]})
        if not self.sb.interactivity.request_url and not over_socket(self.sb):
            raise SlackError("app_missing_action_url")  # nowhere to send the submission; the trigger is kept [unc]
        try:
            self.api.views._take_trigger({"trigger_id": args["trigger_id"]})
        except SlackError as exc:
            raise SlackError(_TRIGGER_ERRORS.get(exc.error, exc.error)) from exc
        with self._lock:
            self.opened.append({"trigger_id": str(args["trigger_id"]), "dialog": dialog})
        return {}
