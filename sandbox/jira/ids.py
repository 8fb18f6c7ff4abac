"""Numeric ids read from requests."""

from __future__ import annotations


def is_id(text) -> bool:
    """Whether ``text`` is an id Jira could hold: ASCII digits, fewer than 19 (a Java long). ``str.isdigit`` also
    holds for "²" and the like (``int()`` refuses them) and ``int()`` refuses over 4300 digits: both were HTTP 500
    where Jira answers 404 / 400."""
    text = str(text)
    return text.isascii() and text.isdecimal() and len(text) < 19


def new_board_id(store) -> int:
    """The next board id, from a counter that only grows (`store.work["next_board_id"]`): a deleted board's id is
    never handed out again, so a new board cannot inherit its `board_filters` / `board_features`. The counter
    starts above the seeded boards, whose ids stay as they are. Call it holding `store.lock`."""
    ident = max(store.work.get("next_board_id", 0), max(store.boards, default=0) + 1)
    store.work["next_board_id"] = ident + 1
    return ident
