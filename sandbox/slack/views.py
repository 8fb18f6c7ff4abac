"""Modals and App Home: views.open / push / update / publish.

trigger_ids come from interactions; get a fresh one with `sb.new_trigger_id()` (or `POST
/_sandbox/trigger_ids`). As in Slack a trigger is good for 3 seconds and once: an old or unknown but
well-formed id answers expired_trigger_id, a used one exchanged_trigger_id, a malformed one
invalid_trigger_id (Slack cannot tell unknown from expired; treating unknown as expired is a guess).
A bad view answers invalid_arguments with `response_metadata.messages` naming the field
(`[ERROR] … [json-pointer:/view/title]`, wording guessed). views.update takes view_id or external_id
(not_found otherwise) and an optional `hash` (hash_conflict when stale); a modal stack holds 3 views
(push_limit_reached). Every opened or published view is kept: `sb.views()`.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import threading
import time
from typing import TYPE_CHECKING, Any

from sandbox.slack.blocks import BLOCK_TYPES, with_block_ids
from sandbox.slack.seed import slack_id
from sandbox.slack.webapi import SlackError, bad_args

if TYPE_CHECKING:
    from sandbox.slack.webapi import WebApi

TRIGGER_TTL = 3.0
_TRIGGER = re.compile(r"\d+\.\d+\.[0-9a-fA-F]+")




class ViewsApi:
    def __init__(self, api: WebApi) -> None:
        self.api, self.sb = api, api.sb
        self._lock = threading.Lock()
        self._triggers: dict[str, dict[str, Any]] = {}
        self.views: dict[str, dict[str, Any]] = {}
        self._homes: dict[str, str] = {}  # user id -> home view id
        self.closed: set[str] = set()  # modals the person closed or submitted (sandbox.slack.submissions)
        self.methods = {"views.open": self.open, "views.push": self.push, "views.update": self.update,
                        "views.publish": self.publish}

    def new_trigger_id(self) -> str:
        with self._lock:
            n = len(self._triggers) + 1
            tid = f"{int(time.time())}{n:04d}.{int(self.sb.workspace.team_id[1:], 36) % 10**12}." \
                  f"{hashlib.sha256(f'{self.sb.seed}:{n}:{time.time_ns()}'.encode()).hexdigest()[:32]}"
            self._triggers[tid] = {"at": time.monotonic(), "used": False, "root": None}
        return tid

    def _take_trigger(self, args: dict[str, Any]) -> dict[str, Any]:
        tid = str(args.get("trigger_id") or args.get("interactivity_pointer") or "")
        if not tid:
            raise bad_args("missing required field: trigger_id")
        if not _TRIGGER.fullmatch(tid):
            raise SlackError("invalid_trigger_id")
        with self._lock:
            trig = self._triggers.get(tid)
            if trig is None or time.monotonic() - trig["at"] > TRIGGER_TTL:
                raise SlackError("expired_trigger_id")
            if trig["used"]:
                raise SlackError("exchanged_trigger_id")
            trig["used"] = True
        return trig

    def _view_arg(self, args: dict[str, Any], kinds: tuple[str, ...]) -> dict[str, Any]:
        view = args.get("view")
        if isinstance(view, str):
            try:
                view = json.loads(view)
            except ValueError as exc:
                raise bad_args("invalid JSON [json-pointer:/view]") from exc
        if not isinstance(view, dict):
            raise bad_args("missing required field: view")
        if view.get("type") not in kinds:
            raise bad_args(f"must be one of {', '.join(kinds)} [json-pointer:/view/type]")
        if view["type"] == "modal":
            title = view.get("title")
            if not isinstance(title, dict) or title.get("type") != "plain_text" or not str(title.get("text", "")):
                raise bad_args("missing required field: title [json-pointer:/view/title]")
            if len(str(title["text"])) > 24:
                raise bad_args("must be less than 25 characters [json-pointer:/view/title/text]")
        blocks = view.get("blocks")
        if not isinstance(blocks, list) or len(blocks) > 100:
            raise bad_args("must provide an array of at most 100 blocks [json-pointer:/view/blocks]")
        seen: set[str] = set()
        for n, block in enumerate(blocks):
            if not isinstance(block, dict) or block.get("type") not in BLOCK_TYPES:
                raise bad_args(f"unsupported type [json-pointer:/view/blocks/{n}/type]")
            if block.get("block_id"):  # "unique for each message and each iteration of a message" [unc: wording]
                if str(block["block_id"]) in seen:
                    raise bad_args(f"duplicate block_id [json-pointer:/view/blocks/{n}/block_id]")
                seen.add(str(block["block_id"]))
            if view["type"] == "modal" and block["type"] == "input" and not view.get("submit"):
                # as Slack words it (node-slack-sdk #875)
                raise bad_args(f"must define `submit` to use `input` block [json-pointer:/view/blocks/{n}/input]")
        if len(str(view.get("private_metadata", ""))) > 3000:
            raise bad_args("must be less than 3001 characters [json-pointer:/view/private_metadata]")
        return view

    def _make(self, view: dict[str, Any], root: str | None = None, previous: str | None = None,
              vid: str | None = None) -> dict[str, Any]:
        ws = self.sb.workspace
        vid = vid or slack_id("V", self.sb.seed, f"view:{time.time_ns()}:{len(self.views)}")
        external = str(view.get("external_id") or "")
        with self._lock:
            if external and any(v["external_id"] == external and v["id"] != vid for v in self.views.values()):
                raise SlackError("duplicate_external_id")
            out = {"id": vid, "team_id": ws.team_id, "type": view["type"],
                   "blocks": with_block_ids(view.get("blocks", []), vid),  # as Slack names unnamed blocks
                   "private_metadata": str(view.get("private_metadata") or ""),
                   "callback_id": str(view.get("callback_id") or ""), "state": {"values": {}},
                   "hash": f"{int(time.time())}.{hashlib.sha1(str(time.time_ns()).encode()).hexdigest()[:8]}",
                   "clear_on_close": bool(view.get("clear_on_close")),
                   "notify_on_close": bool(view.get("notify_on_close")),
                   "root_view_id": root or vid, "previous_view_id": previous, "app_id": ws.app_id,
                   "external_id": external, "app_installed_team_id": ws.team_id, "bot_id": ws.bot_id}
            for key in ("title", "close", "submit"):
                out[key] = view.get(key)
            self.views[vid] = out
        return dict(out)

    def open(self, args: dict[str, Any]) -> dict[str, Any]:
        view = self._view_arg(args, ("modal",))
        trig = self._take_trigger(args)
        made = self._make(view)
        trig["root"] = made["id"]
        return {"view": made}

    def push(self, args: dict[str, Any]) -> dict[str, Any]:
        view = self._view_arg(args, ("modal",))
        self._take_trigger(args)
        with self._lock:
            modals = [v for v in self.views.values() if v["type"] == "modal" and v["id"] not in self.closed]
            top = modals[-1] if modals else None
            depth = sum(1 for v in modals if top and v["root_view_id"] == top["root_view_id"])
        if top is None:
            raise SlackError("not_found")  # nothing to push onto (guessed code)
        if depth >= 3:
            raise SlackError("push_limit_reached")
        return {"view": self._make(view, root=top["root_view_id"], previous=top["id"])}

    def update(self, args: dict[str, Any]) -> dict[str, Any]:
        view = self._view_arg(args, ("modal", "home"))
        vid, external = str(args.get("view_id") or ""), str(args.get("external_id") or "")
        if not vid and not external:
            raise bad_args("view_id or external_id is required")
        with self._lock:
            old = self.views.get(vid) if vid else next(
                (v for v in self.views.values() if v["external_id"] == external), None)
        if old is None or old["id"] in self.closed:
            raise SlackError("not_found")
        if args.get("hash") and str(args["hash"]) != old["hash"]:
            raise SlackError("hash_conflict")
        view = {**view, "external_id": view.get("external_id") or old["external_id"]}
        return {"view": self._make(view, old["root_view_id"], old["previous_view_id"], old["id"])}

    def close(self, view_id: str, whole_stack: bool = False) -> None:
        """The person closed (or submitted) a modal; `whole_stack` closes its whole stack (response_action
        clear). A closed modal is gone: views.update / push on it answer not_found."""
        with self._lock:
            root = self.views[view_id]["root_view_id"]
            self.closed.update(v for v in self.views if v == view_id or (whole_stack and
                                                                         self.views[v]["root_view_id"] == root))

    def home_of(self, uid: str) -> dict[str, Any] | None:
        """The Home view published for this person (None before views.publish)."""
        with self._lock:
            found = self.views.get(self._homes.get(uid, ""))
            return copy.deepcopy(found) if found else None

    def publish(self, args: dict[str, Any]) -> dict[str, Any]:
        uid = str(args.get("user_id") or "")
        if uid not in self.sb.workspace.users:
            raise SlackError("user_not_found")
        view = self._view_arg(args, ("home",))
        with self._lock:
            old = self.views.get(self._homes.get(uid, ""))
        if old and args.get("hash") and str(args["hash"]) != old["hash"]:
            raise SlackError("hash_conflict")
        made = self._make(view, vid=old["id"] if old else None)
        with self._lock:
            self._homes[uid] = made["id"]
        return {"view": made}
