"""Reading a conversation's messages: conversations.history and conversations.replies.

Both take `oldest` / `latest` (exclusive unless `inclusive`; a bad one is invalid_ts_oldest /
invalid_ts_latest), `limit` and `cursor` (`response_metadata.next_cursor`, `has_more`; like Slack's, the
cursor is `next_ts:<ts>`, the message the next page starts at, so a message posted or deleted while a client
pages makes no page repeat or skip one; any other cursor is invalid_cursor); messages carry
`metadata` only with `include_all_metadata`. conversations.history lists top-level messages and broadcast
replies, newest first; a page holds the messages closest to `latest` (the newest ones, paging back in time),
except when `oldest` is given without `latest`: then, as Slack documents ("the messages returned are those
closest to oldest, allowing you to page forward through history"), a page holds the messages right after
`oldest`, still newest first within the page, and the cursor pages forward (newer) [unc: the order within a
forward page]. conversations.replies: the thread's parent first, then its replies oldest first.
Reading needs the bot in the conversation (not_in_channel; a person's user token reads any public channel
[unc]) and the history scope of its type (missing_scope).
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

from sandbox.slack.actor import is_member, person
from sandbox.slack.arg_numbers import stamp
from sandbox.slack.scopes import channel_type
from sandbox.slack.threads import thread_of, with_threads
from sandbox.slack.webapi import SlackError, _flag, _limit, bad_args

if TYPE_CHECKING:
    from sandbox.slack.webapi import WebApi


def _ts_arg(args: dict[str, Any], name: str) -> float | None:
    value = args.get(name)
    if value is None or value == "":
        return None
    at = stamp(value)  # not float(): '٣' read as 3, ' 3' and '1_0' taken, 1e999 inf [round 27]
    if at is None or at < 0:  # nan / inf / negative are no ts either
        raise SlackError("invalid_ts_" + name)
    return at


def _in_window(ts: str, args: dict[str, Any]) -> bool:
    """Whether a message's ts lies between `oldest` and `latest` (both exclusive unless `inclusive`)."""
    at, oldest, latest = float(ts), _ts_arg(args, "oldest"), _ts_arg(args, "latest")
    inclusive = _flag(args.get("inclusive"))
    if oldest is not None and (at < oldest or (at == oldest and not inclusive)):
        return False
    return latest is None or at < latest or (at == latest and inclusive)


def _ts_key(ts: str) -> tuple[int, int]:
    """A message ts as (seconds, micros): compared exactly (a float of seconds.micros loses the last digit)."""
    whole, _, frac = ts.partition(".")
    return int(whole), int((frac + "000000")[:6])


def _ts_cursor(ts: str) -> str:
    """Slack's message cursor: base64 of `next_ts:<the next page's first ts without its dot>`."""
    return base64.b64encode(f"next_ts:{ts.replace('.', '')}".encode()).decode()


def _cursor_key(cursor: str) -> tuple[int, int]:
    try:
        kind, _, digits = base64.b64decode(cursor, validate=True).decode().partition(":")
    except ValueError as exc:  # binascii.Error and UnicodeDecodeError are ValueErrors
        raise SlackError("invalid_cursor") from exc
    if kind != "next_ts" or not (digits.isascii() and digits.isdecimal()) or len(digits) < 7:
        raise SlackError("invalid_cursor")
    return int(digits[:-6]), int(digits[-6:])


def _page(msgs: list[dict[str, Any]], args: dict[str, Any], limit: int, forward: bool = False,
          ascending: bool = False) -> dict[str, Any]:
    """One page of `msgs` from the request's `cursor`, metadata only with `include_all_metadata`.
    `forward`: `msgs` is newest first but pages start from its oldest end (each page still newest first);
    `ascending`: `msgs` is oldest first (a thread). The cursor names the ts the next page starts at, as Slack's
    (`next_ts:…`), so messages posted or deleted between two pages neither repeat nor skip one."""
    rows = list(reversed(msgs)) if forward else msgs
    start = 0
    if args.get("cursor"):
        at, up = _cursor_key(str(args["cursor"])), forward or ascending
        start = next((i for i, m in enumerate(rows)
                      if (_ts_key(m["ts"]) >= at if up else _ts_key(m["ts"]) <= at)), len(rows))
    page, more = rows[start:start + limit], start + limit < len(rows)
    if forward:
        page.reverse()
    if not _flag(args.get("include_all_metadata")):
        page = [{k: v for k, v in m.items() if k != "metadata"} for m in page]
    return {"messages": page, "has_more": more,
            "response_metadata": {"next_cursor": _ts_cursor(rows[start + limit]["ts"]) if more else ""}}


class HistoryApi:
    def __init__(self, api: WebApi) -> None:
        self.api, self.sb = api, api.sb
        self.methods = {"conversations.history": self.conversations_history,
                        "conversations.replies": self.conversations_replies}

    def _readable(self, args: dict[str, Any]) -> dict[str, Any]:
        """A channel whose messages the bot may read: a bot token must be a member, public channel or not
        (Slack answers not_in_channel until conversations.join; chat:write.public only covers posting), with
        the history scope of its type (a private channel: groups:history; missing_scope otherwise)."""
        channel = self.api._channel(args)
        missing = self.sb.grants.lacking({channel_type(channel)}, "history")
        if missing:
            raise SlackError("missing_scope", **missing)
        if not is_member(self.sb, channel) and not (person(self.sb) and not channel["is_private"]):
            raise SlackError("not_in_channel")  # a person reads any public channel [unc]
        return channel

    def conversations_history(self, args: dict[str, Any]) -> dict[str, Any]:
        """Top-level messages newest first, between `oldest` and `latest` (exclusive unless `inclusive`),
        `limit` (1-999, default 100) a page, paged by `cursor` (`response_metadata.next_cursor`)."""
        channel = self._readable(args)
        _ts_arg(args, "latest"), _ts_arg(args, "oldest")  # a bad one fails even when no message is compared
        limit = _limit(args, 100, 999)
        rows = self.sb.messages(channel["id"])
        shown = with_threads(rows)
        # thread replies are not in the channel's history (Slack: conversations.replies), broadcasts are
        msgs = [shown[m["ts"]] for m in reversed(rows) if m["ts"] in shown
                and (not m["thread_ts"] or m["thread_ts"] == m["ts"] or _flag(m["args"].get("reply_broadcast"))
                     or m["message"].get("subtype") == "thread_broadcast")
                and _in_window(m["ts"], args)]
        forward = _ts_arg(args, "oldest") is not None and _ts_arg(args, "latest") is None
        return {**_page(msgs, args, limit, forward), "pin_count": self.api.pins.count(channel["id"])}

    def conversations_replies(self, args: dict[str, Any]) -> dict[str, Any]:
        """A thread: its parent message first, then the replies oldest first (thread_not_found otherwise);
        `oldest` / `latest` / `inclusive` bound the replies (the parent always leads the first page), paged
        by `cursor`."""
        channel = self._readable(args)
        if not args.get("ts"):
            raise bad_args("missing required field: ts")
        _ts_arg(args, "latest"), _ts_arg(args, "oldest")
        limit = _limit(args, 1000, 1000)
        rows = self.sb.messages(channel["id"])
        ts = thread_of(rows, str(args["ts"]))  # a reply's ts reads its whole thread, as Slack
        shown = with_threads(rows)
        if ts not in shown:
            raise SlackError("thread_not_found")
        replies = [{k: v for k, v in shown[m["ts"]].items() if k != "root"} for m in rows
                   if m["ts"] in shown and m["thread_ts"] == ts and m["ts"] != ts and _in_window(m["ts"], args)]
        return _page([shown[ts], *replies], args, limit, ascending=True)
