"""Stable cursors for the Slack list methods (conversations.list, users.conversations, users.list,
conversations.members, reactions.list, stars.list, files.remote.list, chat.scheduledMessages.list, and
search.messages / search.files with `cursor`).

Slack's cursors are opaque and name the item the next page starts at, not an offset (its documented examples
are base64 of `user:U061NFTT2`, and for conversations.list `team:C061FA5PB`; [unc] what each list keys on):
an item added or removed while a client pages makes the next page neither repeat nor skip another one. So here:
each method orders its rows by a key that does not move (a channel's or user's place in the workspace, which
only grows at its end; a message's ts; a file's creation sequence), and `next_cursor` is base64 of
`<kind>:<the next page's first row's key>`. The next page starts at the first row whose key is at or past it
(so a removed row is simply passed; a new row with a key before it belongs to pages already read). A cursor
that is not one of these (no base64, another kind, a key that does not parse, the old `next_id:<offset>` ones)
is invalid_cursor, as Slack. conversations.history / replies have their own `next_ts:` cursors
(`sandbox.slack.history`).
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from sandbox.slack.webapi import SlackError

T = TypeVar("T")
Key = Any  # any totally ordered value (an int, a tuple)


def encode(kind: str, ident: str) -> str:
    return base64.b64encode(f"{kind}:{ident}".encode()).decode()


def decode(kind: str, cursor: str) -> str:
    """The ident in a cursor of `kind`; invalid_cursor for anything else."""
    try:
        text = base64.b64decode(cursor, validate=True).decode()
    except ValueError as exc:  # binascii.Error and UnicodeDecodeError are ValueErrors
        raise SlackError("invalid_cursor") from exc
    got, sep, ident = text.partition(":")
    if got != kind or not sep or not ident:
        raise SlackError("invalid_cursor")
    return ident


def page(rows: Sequence[T], cursor: Any, limit: int, kind: str, ident: Callable[[T], str],
         key_of: Callable[[str], Key | None], *, descending: bool = False) -> tuple[list[T], str, int]:
    """One page of `rows` (already in key order: ascending, or descending when `descending`) from `cursor`
    ("" or None: the first page): (the page, the next page's cursor or "", the page's first row's index).
    `ident(row)` is the string a cursor carries, `key_of(ident)` its order key (None: not a key of this list,
    invalid_cursor)."""
    start = 0
    if cursor:
        at = key_of(decode(kind, str(cursor)))
        if at is None:
            raise SlackError("invalid_cursor")
        start = next((i for i, row in enumerate(rows)
                      if (key_of(ident(row)) <= at if descending else key_of(ident(row)) >= at)), len(rows))
    shown = list(rows[start:start + limit])
    more = start + limit < len(rows)
    return shown, encode(kind, ident(rows[start + limit])) if more else "", start


def positions(ids: Any) -> Callable[[str], int | None]:
    """`key_of` for rows keyed by their place in a collection that only grows at its end (the workspace's
    channels and users: none is ever taken out, an archived channel or deactivated user stays)."""
    place = {str(i): n for n, i in enumerate(ids)}
    return place.get


def int_key(ident: str) -> int | None:
    return int(ident) if ident.isascii() and ident.isdecimal() else None


def ts_key(ident: str) -> tuple[int, int] | None:
    """A message ts (`1700000000.000123`) as (seconds, micros), compared exactly; None if it is none."""
    whole, dot, frac = ident.partition(".")
    if not (dot and whole.isascii() and whole.isdecimal() and frac.isascii() and frac.isdecimal() and len(frac) <= 6):
        return None
    return int(whole), int((frac + "000000")[:6])


def parts_key(ident: str, *parsers: Callable[[str], Key | None]) -> tuple[Any, ...] | None:
    """A compound key `a|b|c`: each part through its parser (`str` keeps it as it is); None if any fails."""
    bits = ident.split("|")
    if len(bits) != len(parsers):
        return None
    out = tuple(p(b) for p, b in zip(parsers, bits, strict=True))
    return None if any(v is None or v == "" for v in out) else out
