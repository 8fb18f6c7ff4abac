"""search.messages / search.files / search.all for a user token (scope search:read; a bot token answers
not_allowed_token_type, `sandbox.slack.personal.takes`), over what the person can see: every public
channel, and the private channels, DMs and group DMs they are in (`sandbox.slack.actor`); deleted and
ephemeral messages are never found.

Query syntax (the basics of Slack's [unc: its search also stems words and ranks by relevance]): words
(case-insensitive, each must occur as a word; `deploy*` a prefix), "quoted phrases", `-word` excludes,
`in:#channel` / `in:channel` / `in:<#C…>` / `in:@handle` (the person's DM with them), `from:@handle` /
`from:<@U…>` / `from:me`, `before:` / `after:` / `on:` a YYYY-MM-DD day in the person's time zone (before and
after exclusive); `has:` / `is:` modifiers are ignored [unc]. No query: no_query [unc].

Answers are Slack's shapes: `messages {total, matches, paging {count, total, page, pages}, pagination
{total_count, page, per_page, page_count, first, last}}`; each match has `iid`, `team`, `channel {id, name,
is_channel, is_group, is_im, is_mpim, is_private, ...}`, `type`, `user`, `username`, `ts`, `text`, `permalink`
(a reply's with `thread_ts`/`cid`). `count` (1-100, default 20) and `page` (1-100) page them, or `cursor`
(`*` first, then `response_metadata.next_cursor`; search.messages / search.files [unc: search.all]); `sort`
(score | timestamp; both newest first here [unc]) and `sort_dir` (desc | asc). search.files matches files
by name and title; search.all answers both (and empty `posts`).
"""

from __future__ import annotations

import calendar
import re
import time
import uuid
from typing import TYPE_CHECKING, Any

from sandbox.slack import paging
from sandbox.slack.actor import actor_id, dm_id, sees
from sandbox.slack.arg_numbers import whole
from sandbox.slack.file_access import public_file
from sandbox.slack.webapi import SlackError

if TYPE_CHECKING:
    from sandbox.slack.webapi import WebApi

_TOKEN = re.compile(r'-?"[^"]*"|\S+')
_WORD = re.compile(r"\w+(?:['\u2019]\w+)*")  # words split at punctuation and hyphens [unc]


class Query:
    """A parsed search query: words, phrases, exclusions and in:/from:/before:/after:/on: filters."""

    def __init__(self, api: WebApi, text: str) -> None:
        self.sb, self.api = api.sb, api
        self.words: list[str] = []
        self.phrases: list[str] = []
        self.excluded: list[str] = []
        self.channels: list[str | None] = []
        self.users: list[str | None] = []
        self.after: float = float("-inf")
        self.before: float = float("inf")
        me = actor_id(self.sb)
        offset = int(self.sb.workspace.users[me].get("tz_offset") or 0)
        for token in _TOKEN.findall(text):
            key, sep, value = token.partition(":")
            key = key.lower()
            if sep and value and key in ("in", "from"):
                (self.channels if key == "in" else self.users).append(self._ref(key, value))
            elif sep and value and key in ("before", "after", "on"):
                day = self._day(value) - offset
                if key == "before":
                    self.before = min(self.before, day)
                elif key == "after":
                    self.after = max(self.after, day + 86_400)
                else:
                    self.after, self.before = max(self.after, day), min(self.before, day + 86_400)
            elif sep and value and key in ("has", "is", "during", "with"):
                continue  # not emulated [unc]
            elif token.startswith("-") and len(token) > 1:
                self.excluded.append(token[1:].strip('"').lower())
            elif token.startswith('"'):
                self.phrases.append(token.strip('"').lower())
            else:
                self.words.extend(w.lower() for w in _WORD.findall(token.rstrip("*")) if w)
                if token.endswith("*") and self.words:
                    self.words[-1] += "*"

    @staticmethod
    def _day(value: str) -> float:
        try:
            return float(calendar.timegm(time.strptime(value, "%Y-%m-%d")))
        except ValueError as exc:
            raise SlackError("invalid_search_query") from exc  # [unc: Slack's code]

    def _ref(self, key: str, value: str) -> str | None:
        """The channel (in:) or user (from:) id named, None when there is none (nothing then matches)."""
        ws = self.sb.workspace
        value = value.strip("<>").split("|", 1)[0]
        if key == "from":
            if value.lower() == "me":
                return actor_id(self.sb)
            value = value.lstrip("@")
            return value if value in ws.users else next((u for u, p in ws.users.items() if p["name"] == value), None)
        if value.startswith("@"):
            user = self._ref("from", value)
            return dm_id(self.sb, user) if user else None
        channel = ws.channel(value.lstrip("#"))
        return channel["id"] if channel is not None and sees(self.sb, channel) else None

    def matches(self, text: str, channel_id: str, user: str | None, at: float) -> bool:
        if self.channels and channel_id not in self.channels:
            return False
        if self.users and user not in self.users:
            return False
        if not self.after <= at < self.before:
            return False
        low = text.lower()
        words = set(_WORD.findall(low))
        for word in self.words:
            if word.endswith("*"):
                if not any(w.startswith(word[:-1]) for w in words):
                    return False
            elif word not in words:
                return False
        if any(p not in low for p in self.phrases):
            return False
        return not any(x in words or (" " in x and x in low) for x in self.excluded)


def _paged(rows: list[tuple[str, dict[str, Any]]], args: dict[str, Any], kind: str = "msg") -> dict[str, Any]:
    """One page of matches by `count` and `page`, or, when a `cursor` is sent, from the cursor (`*` the first page;
    Slack's "cursormark" paging, `page` then ignored): `_next_cursor` carries the next page's cursor for the
    answer's top-level `response_metadata` (`_answer`). `rows` are (ident, match) in the answer's order; the
    cursor names the next page's first match (its ts and channel, or a file's created and id), so a message
    posted or deleted between pages makes none repeat or go missing (`sandbox.slack.paging`)."""
    count, page = whole(args.get("count") or 20), whole(args.get("page") or 1)  # not int(): '٣', 1e999 [round 27]
    if count is None or page is None:
        raise SlackError("invalid_arguments")
    count, page = min(max(count, 1), 100), min(max(page, 1), 100)
    cursor = str(args.get("cursor") or "")
    start, next_cursor = (page - 1) * count, ""
    if cursor:
        key_of = _KEYS[kind]
        shown_rows, next_cursor, start = paging.page(rows, "" if cursor == "*" else cursor, count, kind,
                                                     lambda r: r[0], key_of, descending=not _ascending(args))
        page = start // count + 1
    else:
        shown_rows = rows[start:start + count]
    total, pages = len(rows), max((len(rows) + count - 1) // count, 1)
    shown = [match for _, match in shown_rows]
    first = start + 1 if shown else 0
    out = {"total": total, "matches": shown, "paging": {"count": count, "total": total, "page": page, "pages": pages},
           "pagination": {"total_count": total, "page": page, "per_page": count, "page_count": pages,
                          "first": first, "last": first + len(shown) - 1 if shown else 0}}
    if cursor:
        out["_next_cursor"] = next_cursor
    return out


def _ascending(args: dict[str, Any]) -> bool:
    return str(args.get("sort_dir") or "desc").lower() == "asc"


_KEYS = {"msg": lambda ident: paging.parts_key(ident, paging.ts_key, str),
         "file": lambda ident: paging.parts_key(ident, paging.int_key, str)}


def _answer(query: str, key: str, block: dict[str, Any]) -> dict[str, Any]:
    """search.messages / search.files: the page under `key`; with cursor paging, the next cursor in
    `response_metadata.next_cursor` (as the SDKs document it: "a next_cursor attribute returned by a previous
    request's response_metadata"), so slack_sdk's iterator pages on."""
    next_cursor = block.pop("_next_cursor", None)
    out: dict[str, Any] = {"query": query, key: block}
    if next_cursor is not None:
        out["response_metadata"] = {"next_cursor": next_cursor}
    return out


class SearchApi:
    def __init__(self, api: WebApi) -> None:
        self.api, self.sb = api, api.sb
        self.methods = {"search.messages": self.messages, "search.files": self.files, "search.all": self.all}

    def _query(self, args: dict[str, Any]) -> Query:
        if not str(args.get("query") or "").strip():
            raise SlackError("no_query")
        return Query(self.api, str(args["query"]))

    @staticmethod
    def _order(rows: list[tuple[str, dict[str, Any]]], args: dict[str, Any], kind: str) -> list[tuple[str, Any]]:
        """(ident, match) pairs by their cursor key: oldest first with `sort_dir=asc`, else newest first."""
        return sorted(rows, key=lambda r: _KEYS[kind](r[0]) or (), reverse=not _ascending(args))

    def _channel_ref(self, channel: dict[str, Any]) -> dict[str, Any]:
        out = {k: channel.get(k, False) for k in ("id", "is_channel", "is_group", "is_im", "is_mpim", "is_private",
                                                   "is_shared", "is_org_shared", "is_ext_shared",
                                                   "is_pending_ext_shared")}
        if channel.get("is_im"):
            others = [u for u in self.api.channels.member_ids(channel) if u != actor_id(self.sb)]
            out["name"] = others[0] if others else channel["user"]
        else:
            out["name"] = channel["name"]
        return {**out, "pending_shared": []}

    def _message_matches(self, query: Query, args: dict[str, Any]) -> list[dict[str, Any]]:
        ws, rows = self.sb.workspace, []
        for stored in self.sb.messages():
            channel = ws.channels.get(stored["channel"])
            if stored.get("deleted") or stored.get("ephemeral") or channel is None or not sees(self.sb, channel):
                continue
            message = stored["message"]
            user = message.get("user")
            if not query.matches(str(message.get("text") or ""), channel["id"], user, float(stored["ts"])):
                continue
            link = self.api._link(channel["id"], stored["ts"])
            if stored["thread_ts"] and stored["thread_ts"] != stored["ts"]:
                link += f"?thread_ts={stored['thread_ts']}&cid={channel['id']}"
            username = ws.users[user]["name"] if user in ws.users else str(message.get("username") or "")
            match = {"iid": str(uuid.uuid5(uuid.NAMESPACE_URL, link)), "team": ws.team_id, "score": 0,
                     "channel": self._channel_ref(channel), "type": "message", "user": user or "",
                     "username": username, "ts": stored["ts"], "text": message.get("text") or "",
                     "permalink": link, "no_reactions": not message.get("reactions")}
            for key in ("blocks", "attachments", "files", "bot_id"):
                if message.get(key):
                    match[key] = message[key]
            rows.append((f"{stored['ts']}|{channel['id']}", match))
        return self._order(rows, args, "msg")

    def _file_matches(self, query: Query, args: dict[str, Any]) -> list[dict[str, Any]]:
        files, ws, me = self.api.files, self.sb.workspace, actor_id(self.sb)
        with files._lock:
            found = [f for f in files._files.values() if f["_state"] == "complete"]
        rows = []
        for f in found:
            shared = [c for c in f["channels"] + f["groups"] + f["ims"] if c in ws.channels]
            seen_in = [c for c in shared if sees(self.sb, ws.channels[c])]
            if not seen_in and f["user"] != me:
                continue
            text = f"{f['name']} {f['title']}".replace(".", " ")
            wanted = [c for c in seen_in if c in query.channels] if query.channels else seen_in
            if query.channels and not wanted:
                continue
            if query.matches(text, wanted[0] if wanted else "", f["user"], float(f["created"])):
                rows.append((f"{int(f['created'])}|{f['id']}", public_file(f)))
        return self._order(rows, args, "file")

    def messages(self, args: dict[str, Any]) -> dict[str, Any]:
        query = self._query(args)
        return _answer(str(args["query"]), "messages", _paged(self._message_matches(query, args), args))

    def files(self, args: dict[str, Any]) -> dict[str, Any]:
        query = self._query(args)
        return _answer(str(args["query"]), "files", _paged(self._file_matches(query, args), args, "file"))

    def all(self, args: dict[str, Any]) -> dict[str, Any]:
        query = self._query(args)
        args = {k: v for k, v in args.items() if k != "cursor"}  # [unc] cursor paging: search.messages / files
        return {"query": str(args["query"]), "messages": _paged(self._message_matches(query, args), args),
                "files": _paged(self._file_matches(query, args), args, "file"), "posts": {"total": 0, "matches": []}}
