"""The Calls API: calls.add / calls.info / calls.update / calls.end / calls.participants.add / .remove.

A Call a 3rd-party provider registers (`R…` id), shown in a channel by a `{"type": "call", "call_id"}` block
(chat.postMessage). calls.add needs `external_unique_id` and `join_url` (invalid_arguments, Slack's
`missing required field` messages, otherwise); `created_by` defaults to a user token's person and, with a
bot token, to the bot user [unc: Slack's docs call it required then, but slack_sdk's own integration test
test_calls adds Calls with a bot token and no created_by and expects ok]; an unknown created_by is
invalid_created_by, a `users` entry naming an unknown `slack_id` user_not_found, a date_start that is not a
number invalid_start_time; `date_start` defaults to now. `users` is a JSON array (slack_sdk sends a string)
of `{"slack_id"}` or `{"external_id", "display_name", "avatar_url"}`. The answer (and calls.info's,
calls.update's) is `{"call": {id, date_start, external_unique_id, join_url, desktop_app_join_url,
external_display_id, title, users}}` as Slack documents, the optional fields only when set. An unknown id is
invalid_call_id. calls.end (`duration` seconds, default until now) answers `{}`; the ended Call keeps its
`date_end` [unc] and is still read by calls.info; participants.add / .remove answer `{}` [unc: Slack's
answer body], adding a participant already there or removing one not there is a no-op [unc]. Scopes:
calls:write (calls.info: calls:read).
"""

from __future__ import annotations

import json
import threading
import time
from typing import TYPE_CHECKING, Any

from sandbox.slack.actor import person
from sandbox.slack.arg_numbers import stamp, whole
from sandbox.slack.seed import slack_id
from sandbox.slack.webapi import SlackError, bad_args

if TYPE_CHECKING:
    from sandbox.slack.webapi import WebApi

_OPTIONAL = ("desktop_app_join_url", "external_display_id", "title")


class CallsApi:
    def __init__(self, api: WebApi) -> None:
        self.api, self.sb = api, api.sb
        self._lock = threading.Lock()
        self._calls: dict[str, dict[str, Any]] = {}
        self.methods = {"calls.add": self.add, "calls.info": self.info, "calls.update": self.update,
                        "calls.end": self.end, "calls.participants.add": self.participants_add,
                        "calls.participants.remove": self.participants_remove}

    def _users(self, value: Any, required: bool = False) -> list[dict[str, str]]:
        if value is None or value == "":
            if required:
                raise bad_args("missing required field: users")
            return []
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError as exc:
                raise bad_args("users must be a JSON array") from exc  # [unc] wording
        if not isinstance(value, list) or not all(isinstance(u, dict) for u in value):
            raise bad_args("users must be a JSON array")
        out = []
        for u in value:
            if u.get("slack_id"):
                if u["slack_id"] not in self.sb.workspace.users:
                    raise SlackError("user_not_found")
                out.append({"slack_id": str(u["slack_id"])})
            elif u.get("external_id"):
                out.append({k: str(u[k]) for k in ("external_id", "display_name", "avatar_url") if u.get(k)})
            else:
                raise SlackError("user_not_found")  # neither a Slack user nor an external one [unc]
        return out

    def _call(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("id"):
            raise bad_args("missing required field: id")
        call = self._calls.get(str(args["id"]))
        if call is None:
            raise SlackError("invalid_call_id")
        return call

    @staticmethod
    def _shown(call: dict[str, Any]) -> dict[str, Any]:
        return {"call": {k: (list(v) if k == "users" else v) for k, v in call.items() if not k.startswith("_")}}

    def add(self, args: dict[str, Any]) -> dict[str, Any]:
        missing = [f"missing required field: {k}" for k in ("external_unique_id", "join_url") if not args.get(k)]
        if missing:
            raise bad_args(*missing)
        creator = str(args.get("created_by") or person(self.sb) or self.sb.workspace.bot_user_id)
        if creator not in self.sb.workspace.users:
            raise SlackError("invalid_created_by")
        at = stamp(args.get("date_start") or time.time())  # not float(): '٣' read as 3; 1e999 inf [round 27]
        if at is None:
            raise SlackError("invalid_start_time")
        start = int(at)
        users = self._users(args.get("users"))
        with self._lock:
            cid = slack_id("R", self.sb.seed, f"call:{len(self._calls)}:{args['external_unique_id']}")
            call: dict[str, Any] = {"id": cid, "date_start": start,
                                    "external_unique_id": str(args["external_unique_id"]),
                                    "join_url": str(args["join_url"])}
            call.update({k: str(args[k]) for k in _OPTIONAL if args.get(k)})
            call.update(users=users, _created_by=creator)
            self._calls[cid] = call
            return self._shown(call)

    def info(self, args: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            return self._shown(self._call(args))

    def update(self, args: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            call = self._call(args)
            call.update({k: str(args[k]) for k in ("join_url", *_OPTIONAL) if args.get(k)})
            return self._shown(call)

    def end(self, args: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            call = self._call(args)
            duration = whole(args["duration"]) if args.get("duration") not in (None, "") else None
            if args.get("duration") not in (None, "") and duration is None:  # not int(): '٣', 1e999 [round 27]
                raise bad_args("duration must be an integer")  # [unc] wording
            call.setdefault("date_end", call["date_start"] + duration if duration is not None else int(time.time()))
        return {}

    def participants_add(self, args: dict[str, Any]) -> dict[str, Any]:
        users = self._users(args.get("users"), required=True)
        with self._lock:
            call = self._call(args)
            call["users"] += [u for u in users if u not in call["users"]]
        return {}

    def participants_remove(self, args: dict[str, Any]) -> dict[str, Any]:
        users = self._users(args.get("users"), required=True)
        with self._lock:
            call = self._call(args)
            call["users"] = [u for u in call["users"] if u not in users]
        return {}
