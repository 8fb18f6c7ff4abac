"""Channel bookmarks: bookmarks.add / edit / list / remove (a bot with bookmarks:write, in the channel).

A bookmark is `{id: Bk…, channel_id, title, link, emoji, icon_url, type: "link", entity_id, date_created,
date_updated, rank, last_updated_by_user_id, last_updated_by_team_id, shortcut_id, app_id, app_action_id,
date_deleted}` (the fields of Slack's documented example). Errors: channel_not_found, not_in_channel,
is_archived, invalid_arguments (no title, a type other than "link" or a link that is not http(s); the
sandbox's choice of code, Slack's are undocumented), not_found (an unknown bookmark in that channel).
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

from sandbox.slack.actor import actor_id, is_member
from sandbox.slack.seed import slack_id
from sandbox.slack.webapi import SlackError, bad_args

if TYPE_CHECKING:
    from sandbox.slack.webapi import WebApi


class BookmarksApi:
    def __init__(self, api: WebApi) -> None:
        self.api, self.sb = api, api.sb
        self._lock = threading.Lock()
        self._marks: dict[str, list[dict[str, Any]]] = {}  # channel id -> bookmarks, oldest first
        self.methods = {"bookmarks.add": self.add, "bookmarks.edit": self.edit, "bookmarks.list": self.list_marks,
                        "bookmarks.remove": self.remove}

    def _channel(self, args: dict[str, Any], writing: bool = True) -> dict[str, Any]:
        channel = self.api._channel({"channel": args.get("channel_id")})
        if not is_member(self.sb, channel):
            raise SlackError("channel_not_found" if channel["is_private"] else "not_in_channel")
        if writing and channel["is_archived"]:
            raise SlackError("is_archived")
        return channel

    @staticmethod
    def _check(args: dict[str, Any], title_needed: bool) -> None:
        if title_needed and not str(args.get("title") or "").strip():
            raise bad_args("missing required field: title")
        if "type" in args and args["type"] != "link":
            raise bad_args("type must be link")
        link = args.get("link")
        if link is not None and not str(link).startswith(("https://", "http://")):
            raise bad_args("invalid link")

    def add(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args)
        self._check(args, True)
        if not args.get("link"):
            raise bad_args("missing required field: link")
        ws, now = self.sb.workspace, int(time.time())
        with self._lock:
            marks = self._marks.setdefault(channel["id"], [])
            mark = {"id": slack_id("Bk", self.sb.seed, f"{channel['id']}:{time.time_ns()}:{len(marks)}", 12),
                    "channel_id": channel["id"], "title": str(args["title"]), "link": str(args["link"]),
                    "emoji": args.get("emoji"), "icon_url": None, "type": "link", "entity_id": args.get("entity_id"),
                    "date_created": now, "date_updated": 0, "rank": chr(ord("U") + len(marks) % 6),
                    "last_updated_by_user_id": actor_id(self.sb), "last_updated_by_team_id": ws.team_id,
                    "shortcut_id": None, "app_id": ws.app_id, "app_action_id": None, "date_deleted": 0}
            marks.append(mark)
            return {"bookmark": dict(mark)}

    def _find(self, channel: dict[str, Any], args: dict[str, Any]) -> dict[str, Any]:
        mark = next((m for m in self._marks.get(channel["id"], []) if m["id"] == args.get("bookmark_id")), None)
        if mark is None:
            raise SlackError("not_found")
        return mark

    def edit(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args)
        self._check(args, False)
        with self._lock:
            mark = self._find(channel, args)
            for key in ("title", "link", "emoji"):
                if args.get(key) is not None:
                    mark[key] = str(args[key])
            mark.update(date_updated=int(time.time()), last_updated_by_user_id=actor_id(self.sb))
            return {"bookmark": dict(mark)}

    def list_marks(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args, writing=False)
        with self._lock:
            return {"bookmarks": [dict(m) for m in self._marks.get(channel["id"], [])]}

    def remove(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args)
        with self._lock:
            mark = self._find(channel, args)  # not_found in a channel without bookmarks too
            self._marks[channel["id"]].remove(mark)
        return {}
