"""Canvases: canvases.create / edit / delete / access.set / access.delete / sections.lookup and
conversations.canvases.create (a channel's own canvas), as slack_sdk's own integration test test_canvases
drives them. Scopes: canvases:write (sections.lookup: canvases:read).

A canvas is a file (`F…` id, filetype "canvas" [unc: not listed by files.list here]) holding markdown
(`document_content: {"type": "markdown", "markdown": …}`; another type is invalid_arguments). Its sections are
its blocks: each header line (`#`, `##`, `###`) and each paragraph / list item between them, with ids
`temp:C:<hex>` [unc: Slack's id format]. canvases.sections.lookup `criteria` `{"section_types": [h1, h2, h3,
any_header], "contains_text": …}` (at least one; invalid_arguments otherwise) answers `{"sections": [{"id"}]}`
in document order. canvases.edit `changes` (exactly one [unc: Slack takes one change a call]): insert_at_start /
insert_at_end, insert_before / insert_after / delete (a `section_id`), replace (a `section_id`, or the whole
canvas without one), rename (`title_content`); an unknown section is canvas_editing_failed [unc]. Access:
`access_level` read / write (owner for users only), `channel_ids` or `user_ids` (comma-separated; neither, or
both, is invalid_arguments); an unknown user is user_not_found, an unknown channel channel_not_found.
conversations.canvases.create: channel_canvas_already_exists the second time for a channel. An unknown or
deleted canvas is canvas_not_found.

Who may do what, as Slack documents it ("the canvas does not exist, or is not visible to the calling user":
canvas_not_found; "user does not have permission to perform this action": restricted_action). The caller is
the token's actor (`sandbox.slack.actor`: a user token's person, else the bot user). The creator owns the
canvas; canvases.access.set grants `read` or `write` to users, or to channels (their members, the bot by its
own membership), and `owner` to one user (the owner is then that user; the previous owner keeps write
[unc]); a channel canvas's channel has write from the start [unc: that access.delete can revoke it].
canvases.sections.lookup needs read, canvases.edit write, canvases.delete and canvases.access.set / delete
the owner (write holders get restricted_action [unc for access.set: Slack only documents that "only the
current file owner can set another user as the owner"]). A caller with no access at all gets
canvas_not_found, as if the canvas did not exist.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from typing import TYPE_CHECKING, Any

from sandbox.slack.actor import actor_id, is_member
from sandbox.slack.seed import slack_id
from sandbox.slack.webapi import SlackError, bad_args

if TYPE_CHECKING:
    from sandbox.slack.webapi import WebApi

_HEADER = re.compile(r"^(#{1,3})\s+(.*)$")
_OPS = ("insert_after", "insert_before", "insert_at_start", "insert_at_end", "replace", "delete", "rename")
_AT_SECTION = ("insert_after", "insert_before", "delete")
_SECTION_TYPES = ("h1", "h2", "h3", "any_header")
READ, WRITE, OWNER = 1, 2, 3
_LEVELS = {"read": READ, "write": WRITE, "owner": OWNER}


def _markdown(content: Any, field: str = "document_content") -> str:
    if isinstance(content, str):
        try:
            content = json.loads(content)
        except ValueError as exc:
            raise bad_args(f"invalid JSON [json-pointer:/{field}]") from exc
    if not isinstance(content, dict) or content.get("type") != "markdown" or not isinstance(
            content.get("markdown"), str):
        raise bad_args(f"must be a markdown document [json-pointer:/{field}]")
    return content["markdown"]


def _blocks(markdown: str) -> list[str]:
    """The markdown's sections: header lines, list items and paragraphs (blank lines separate)."""
    out: list[str] = []
    para: list[str] = []
    for line in markdown.splitlines():
        item = re.match(r"^\s*([-*+]|\d+\.)\s+", line)
        if not line.strip() or _HEADER.match(line) or item:
            if para:
                out.append("\n".join(para))
                para = []
            if line.strip():
                out.append(line)
        else:
            para.append(line)
    if para:
        out.append("\n".join(para))
    return out


class CanvasesApi:
    def __init__(self, api: WebApi) -> None:
        self.api, self.sb = api, api.sb
        self._lock = threading.Lock()
        self._canvases: dict[str, dict[str, Any]] = {}
        self._channel_canvas: dict[str, str] = {}  # channel id -> its canvas id
        self._seq = 0
        self.methods = {"canvases.create": self.create, "canvases.edit": self.edit, "canvases.delete": self.delete,
                        "canvases.access.set": self.access_set, "canvases.access.delete": self.access_delete,
                        "canvases.sections.lookup": self.lookup,
                        "conversations.canvases.create": self.channel_canvas}

    def _sections(self, cid: str, markdown: str) -> list[dict[str, str]]:
        rows = []
        for text in _blocks(markdown):
            self._seq += 1
            rows.append({"id": "temp:C:" + hashlib.sha256(f"{cid}:{self._seq}".encode()).hexdigest()[:25],
                         "text": text})
        return rows

    def _new(self, title: str, markdown: str, channel: str | None = None) -> dict[str, Any]:
        with self._lock:
            cid = slack_id("F", self.sb.seed, f"canvas:{len(self._canvases)}:{time.time_ns()}")
            access = {("channel", channel): "write"} if channel else {}  # a channel canvas: its members write
            self._canvases[cid] = {"id": cid, "title": title, "owner": actor_id(self.sb), "channel": channel,
                                   "sections": self._sections(cid, markdown), "access": access,
                                   "created": int(time.time())}
        return {"canvas_id": cid}

    def _level(self, canvas: dict[str, Any]) -> int:
        """The caller's access to the canvas: OWNER, WRITE, READ or 0 (none)."""
        me = actor_id(self.sb)
        if canvas["owner"] == me:
            return OWNER
        best = 0
        for (kind, ref), level in canvas["access"].items():
            if kind == "user" and ref == me:
                best = max(best, _LEVELS.get(level, 0))
            elif kind == "channel":
                channel = self.sb.workspace.channels.get(ref)
                if channel is not None and is_member(self.sb, channel):
                    best = max(best, min(_LEVELS.get(level, 0), WRITE))
        return best

    def _canvas(self, args: dict[str, Any], need: int) -> dict[str, Any]:
        """The canvas `canvas_id` names, if the caller has at least `need` access to it (hold `_lock`)."""
        canvas = self._canvases.get(str(args.get("canvas_id") or ""))
        level = 0 if canvas is None else self._level(canvas)
        if canvas is None or not level:
            raise SlackError("canvas_not_found")  # also: not visible to the caller, as Slack documents
        if level < need:
            raise SlackError("restricted_action")
        return canvas

    def create(self, args: dict[str, Any]) -> dict[str, Any]:
        markdown = _markdown(args["document_content"]) if args.get("document_content") else ""
        return self._new(str(args.get("title") or "Untitled"), markdown)

    def channel_canvas(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self.api._writable({"channel": args.get("channel_id")})
        markdown = _markdown(args["document_content"]) if args.get("document_content") else ""
        with self._lock:
            if channel["id"] in self._channel_canvas:
                raise SlackError("channel_canvas_already_exists")
            self._channel_canvas[channel["id"]] = "pending"
        made = self._new(str(args.get("title") or channel.get("name") or ""), markdown, channel["id"])
        with self._lock:
            self._channel_canvas[channel["id"]] = made["canvas_id"]
        return made

    def delete(self, args: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            canvas = self._canvas(args, OWNER)
            del self._canvases[canvas["id"]]
            if canvas["channel"]:
                self._channel_canvas.pop(canvas["channel"], None)
        return {}

    def edit(self, args: dict[str, Any]) -> dict[str, Any]:
        changes = _json_arg(args, "changes")
        if not isinstance(changes, list) or len(changes) != 1 or not isinstance(changes[0], dict):
            raise bad_args("must provide exactly 1 change [json-pointer:/changes]")
        change = changes[0]
        op = change.get("operation")
        if op not in _OPS:
            raise bad_args(f"must be one of {', '.join(_OPS)} [json-pointer:/changes/0/operation]")
        with self._lock:
            canvas = self._canvas(args, WRITE)
            if op == "rename":
                canvas["title"] = _markdown(change.get("title_content"), "changes/0/title_content").strip()
                return {}
            rows = canvas["sections"]
            at = None
            if change.get("section_id") or op in _AT_SECTION:
                at = next((i for i, r in enumerate(rows) if r["id"] == change.get("section_id")), None)
                if at is None:
                    raise SlackError("canvas_editing_failed")  # [unc: Slack's code for an unknown section]
            new = [] if op == "delete" else self._sections(canvas["id"], _markdown(
                change.get("document_content"), "changes/0/document_content"))
            if op == "insert_at_start":
                rows[:0] = new
            elif op == "insert_at_end":
                rows.extend(new)
            elif op == "insert_before":
                rows[at:at] = new
            elif op == "insert_after":
                rows[at + 1:at + 1] = new
            elif at is None:  # replace without a section: the whole document
                rows[:] = new
            else:  # replace / delete one section
                rows[at:at + 1] = new
        return {}

    def lookup(self, args: dict[str, Any]) -> dict[str, Any]:
        criteria = _json_arg(args, "criteria")
        if not isinstance(criteria, dict) or not (criteria.get("section_types") or criteria.get("contains_text")):
            raise bad_args("must provide section_types or contains_text [json-pointer:/criteria]")
        kinds = criteria.get("section_types") or []
        if not isinstance(kinds, list) or not all(isinstance(k, str) and k in _SECTION_TYPES for k in kinds):
            raise bad_args(f"must be a list of {', '.join(_SECTION_TYPES)} [json-pointer:/criteria/section_types]")
        text = criteria.get("contains_text") or ""
        if not isinstance(text, str):
            raise bad_args("must be a string [json-pointer:/criteria/contains_text]")
        with self._lock:
            rows = list(self._canvas(args, READ)["sections"])
        found = []
        for row in rows:
            head = _HEADER.match(row["text"])
            level = f"h{len(head.group(1))}" if head else None
            if kinds and not (level and (level in kinds or "any_header" in kinds)):
                continue
            if text and text.lower() not in row["text"].lower():
                continue
            found.append({"id": row["id"]})
        return {"sections": found}

    def _targets(self, args: dict[str, Any]) -> tuple[str, list[str]]:
        channels = [c for c in str(args.get("channel_ids") or "").split(",") if c.strip()]
        users = [u for u in str(args.get("user_ids") or "").split(",") if u.strip()]
        if bool(channels) == bool(users):
            raise bad_args("must provide exactly one of channel_ids or user_ids")
        if users:
            if any(u.strip() not in self.sb.workspace.users for u in users):
                raise SlackError("user_not_found")
            return "user", [u.strip() for u in users]
        return "channel", [self.api._channel({"channel": c.strip()})["id"] for c in channels]

    def access_set(self, args: dict[str, Any]) -> dict[str, Any]:
        level = str(args.get("access_level") or "")
        kind, ids = self._targets(args)
        if level not in _LEVELS or (level == "owner" and (kind == "channel" or len(ids) != 1)):
            # [unc: Slack documents invalid_arguments for owner with channel_ids; one owner at a time is a guess]
            raise bad_args("must be one of read, write (owner: one user only) [json-pointer:/access_level]")
        with self._lock:
            canvas = self._canvas(args, OWNER)
            if level == "owner":
                old, canvas["owner"] = canvas["owner"], ids[0]
                canvas["access"].pop(("user", ids[0]), None)
                canvas["access"][("user", old)] = "write"  # the previous owner keeps write [unc]
            else:
                canvas["access"].update({(kind, i): level for i in ids if (kind, i) != ("user", canvas["owner"])})
        return {}

    def access_delete(self, args: dict[str, Any]) -> dict[str, Any]:
        kind, ids = self._targets(args)
        with self._lock:
            canvas = self._canvas(args, OWNER)
            for i in ids:
                canvas["access"].pop((kind, i), None)
        return {}


def _json_arg(args: dict[str, Any], name: str) -> Any:
    """An argument sent as a JSON string (form-encoded calls) or already decoded (JSON bodies)."""
    value = args.get(name)
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError as exc:
            raise bad_args(f"invalid JSON [json-pointer:/{name}]") from exc
    return value
