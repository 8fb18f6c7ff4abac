"""reactions.add / reactions.remove / reactions.get / reactions.list: the bot user's reactions on kept messages
(message_not_found, already_reacted, no_reaction, invalid_name, no_item_specified, too_many_emoji, is_archived).
conversations.history shows a message's `reactions`.

`file` / `file_comment` (deprecated since files live in messages: react to the sharing message): a file
can't be reacted to any more, reactions.add answers not_reactable as Slack documents (reactions.remove
no_reaction [unc]); reactions.get reads one (`{"type": "file", "file": {...}}`, files.info's object, without
`reactions` as none can be added); an unknown file is file_not_found (file_deleted once deleted, as
files.info); file comments no longer exist, so any `file_comment` is file_comment_not_found [unc].

A name must be a standard emoji (`sandbox.slack.emoji_names`) or one of the workspace's custom emoji
(emoji.list, aliases included), else invalid_name; a skin tone only on a standard one that has skin tones.

reactions.get and reactions.list show a message with its `permalink` and each reaction's `users` cut to the first
SHOWN_USERS (the caller kept in) while `count` stays whole, unless `full` is true; reactions.list lists a message once
per reaction the user made on it (identical items, as Slack documents)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from sandbox.slack import paging
from sandbox.slack.actor import actor_id
from sandbox.slack.arg_numbers import whole
from sandbox.slack.directory import EMOJI
from sandbox.slack.emoji_names import CANONICAL, SKIN_TONED, STANDARD
from sandbox.slack.file_access import public_file
from sandbox.slack.webapi import SlackError, _flag, _limit

if TYPE_CHECKING:
    from sandbox.slack.webapi import WebApi

_EMOJI = re.compile(r"[a-z0-9_+'\-]{1,100}")
_TONE = re.compile(r"skin-tone-[2-6]")


class ReactionsApi:
    def __init__(self, api: WebApi) -> None:
        self.api, self.sb = api, api.sb
        self.methods = {"reactions.add": self.reactions_add, "reactions.remove": self.reactions_remove,
                        "reactions.get": self.reactions_get, "reactions.list": self.reactions_list}

    def _file_item(self, args: dict[str, Any]) -> dict[str, Any] | None:
        """The file a `file` argument names (None when a message is meant: `timestamp` wins)."""
        if args.get("timestamp"):
            return None
        if not args.get("file") and not args.get("file_comment"):
            raise SlackError("no_item_specified")
        if args.get("file_comment"):
            raise SlackError("file_comment_not_found")  # file comments are gone from Slack [unc]
        return self.api.files._file({"file": args["file"]})  # file_not_found / file_deleted

    def _reaction_target(self, args: dict[str, Any], file_error: str) -> tuple[dict[str, Any], dict[str, Any]]:
        if self._file_item(args) is not None:
            raise SlackError(file_error)
        channel = self.api._channel(args)
        stored = self.sb.find_message(channel["id"], str(args.get("timestamp")))
        if stored is None:
            raise SlackError("message_not_found")
        return channel, stored

    @staticmethod
    def _reaction_name(args: dict[str, Any]) -> str:
        name = str(args.get("name") or "").strip(":")
        base, _, tone = name.partition("::")
        if not base or not _EMOJI.fullmatch(base) or (tone and not _TONE.fullmatch(tone)):
            raise SlackError("invalid_name")
        if base not in STANDARD and (base not in EMOJI or tone):
            raise SlackError("invalid_name")  # neither a standard emoji nor the workspace's own
        if tone and base not in SKIN_TONED:
            raise SlackError("invalid_name")  # a skin tone on an emoji that has none (fire::skin-tone-2)
        if base in CANONICAL and base not in EMOJI:  # thumbsup is kept, and reported, as +1
            return CANONICAL[base] + (f"::{tone}" if tone else "")
        return name

    def reactions_add(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, stored = self._reaction_target(args, "not_reactable")
        name = self._reaction_name(args)
        if channel["is_archived"]:
            raise SlackError("is_archived")
        me = actor_id(self.sb)  # a user token reacts as the person
        with self.sb._lock:
            reactions = stored["message"].setdefault("reactions", [])
            hit = next((r for r in reactions if r["name"] == name), None)
            if hit is not None and me in hit["users"]:
                raise SlackError("already_reacted")
            if hit is None:
                if len(reactions) >= 50:
                    raise SlackError("too_many_emoji")
                hit = {"name": name, "users": [], "count": 0}
                reactions.append(hit)
            hit["users"].append(me)
            hit["count"] += 1
        self.sb.events.reaction(channel, stored, me, name, True)  # the app hears its own reactions too
        return {}

    def reactions_remove(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, stored = self._reaction_target(args, "no_reaction")
        name = self._reaction_name(args)
        me = actor_id(self.sb)
        with self.sb._lock:
            reactions = stored["message"].get("reactions") or []
            hit = next((r for r in reactions if r["name"] == name and me in r["users"]), None)
            if hit is None:
                raise SlackError("no_reaction")
            hit["users"].remove(me)
            hit["count"] -= 1
            if not hit["count"]:
                reactions.remove(hit)
            if not reactions:
                stored["message"].pop("reactions", None)
        self.sb.events.reaction(channel, stored, me, name, False)
        return {}

    def reactions_get(self, args: dict[str, Any]) -> dict[str, Any]:
        f = self._file_item(args)
        if f is not None:
            return {"type": "file", "file": public_file(f)}
        channel, stored = self._reaction_target(args, "")
        return {"type": "message", "channel": channel["id"], "message": self._shown(stored, args)}

    def _shown(self, stored: dict[str, Any], args: dict[str, Any]) -> dict[str, Any]:
        """A reacted message as reactions.get / reactions.list show it: no metadata, its `permalink`, and each
        reaction's `users` cut to the first SHOWN_USERS (the caller always kept) unless `full` is true; `count`
        stays the whole count (Slack: "might not always contain all users that have reacted")."""
        message = {k: v for k, v in stored["message"].items() if k != "metadata"}
        if message.get("reactions"):
            full, me = _flag(args.get("full")), actor_id(self.sb)
            message["reactions"] = [dict(r, users=_users(r["users"], full, me)) for r in message["reactions"]]
        return {**message, "permalink": self.api._link(stored["channel"], stored["ts"])}

    def reactions_list(self, args: dict[str, Any]) -> dict[str, Any]:
        """Items the bot user (or `user`) reacted to, newest first, paged by cursor."""
        user = str(args.get("user") or actor_id(self.sb))
        if user not in self.sb.workspace.users and user != self.sb.workspace.bot_user_id:
            raise SlackError("user_not_found")
        items = []
        for stored in reversed(self.sb.messages()):
            if stored.get("deleted") or stored.get("ephemeral"):
                continue
            mine = sum(user in r["users"] for r in stored["message"].get("reactions") or [])
            item = {"type": "message", "channel": stored["channel"], "message": self._shown(stored, args)}
            # one identical item per reaction, as Slack documents; each keyed by its message for the cursor
            items.extend((f"{stored['ts']}|{stored['channel']}|{n}", dict(item)) for n in range(mine))
        items.sort(key=lambda it: _item_key(it[0]) or (), reverse=True)
        return _paged(items, args)


SHOWN_USERS = 50  # [unc] Slack limits a reaction's `users` "to X users, and X might change" without naming X


def _users(users: list[str], full: bool, me: str) -> list[str]:
    if full or len(users) <= SHOWN_USERS:
        return list(users)
    shown = users[:SHOWN_USERS]
    return shown if me in shown else [*shown[:-1], me]


def _paged(items: list[tuple[str, dict[str, Any]]], args: dict[str, Any]) -> dict[str, Any]:
    """reactions.list pages two ways, as Slack documents both: by `cursor` + `limit` (response_metadata.next_cursor,
    "" on the last page) or by the older `count` + `page` (a `paging` block {count, total, page, pages}). A call
    with neither gets the first 100 with both [unc: which blocks Slack shows]; limit 0 is the default [unc]."""
    limit = _limit(args, 0, 1000)  # 0 when absent, 0 or negative: then count + page
    count, page = whole(args.get("count") or 0), whole(args.get("page") or 1)  # not int(): '٣', 1e999 [round 27]
    if count is None or page is None:
        raise SlackError("invalid_arguments")
    cursored = bool(args.get("cursor")) or limit > 0
    if cursored:  # a stable cursor: the ts, channel and number of the next page's first item (`sandbox.slack.paging`)
        size = limit or (min(count, 1000) if count > 0 else 100)  # slack_sdk resends count with a cursor [unc]
        shown, cursor, _ = paging.page(items, args.get("cursor"), size, "item", lambda it: it[0], _item_key,
                                       descending=True)
    else:
        size = min(count, 1000) if count > 0 else 100
        start = (max(page, 1) - 1) * size
        shown, more = items[start:start + size], start + size < len(items)
        cursor = paging.encode("item", items[start + size][0]) if more else ""
    out: dict[str, Any] = {"items": [it[1] for it in shown], "response_metadata": {"next_cursor": cursor}}
    if not cursored:
        out["paging"] = {"count": size, "total": len(items), "page": max(page, 1),
                         "pages": max((len(items) + size - 1) // size, 1)}
    return out


def _item_key(ident: str) -> tuple[Any, ...] | None:
    return paging.parts_key(ident, paging.ts_key, str, paging.int_key)
