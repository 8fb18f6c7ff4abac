"""Numeric ids read from requests."""

from __future__ import annotations

import math
import re

from sandbox.core.numbers import finite_number, json_int


def is_id(text) -> bool:
    """Whether ``text`` is an id Jira could hold: ASCII digits, fewer than 19 (a Java long). ``str.isdigit`` also
    holds for "²" and the like (``int()`` refuses them) and ``int()`` refuses over 4300 digits: both were HTTP 500
    where Jira answers 404 / 400."""
    text = str(text)
    return text.isascii() and text.isdecimal() and len(text) < 19


def body_int(value, cap: int = 2**63 - 1) -> int | None:
    """A JSON body's number as Jira's JSON reader takes it for an int/long: an integer or a string of ASCII digits
    (the magnitude saturated at ``cap``), a finite fraction truncated [unc: Jackson's default coercion]; None for
    what it refuses (1e999 and NaN, which Python's json reads as floats, '²', true), so the caller answers 400."""
    if isinstance(value, float):
        return max(-cap, min(int(value), cap)) if math.isfinite(value) else None
    return json_int(value, cap=cap, signed=True)


_DECIMAL = re.compile(r"[-+]?[0-9]{1,300}(?:\.[0-9]{0,300})?(?:[eE][-+]?[0-9]{1,4})?")


def decimal_number(value) -> float | None:
    """A number Jira reads as a double (a JSON number or a string of one, in ASCII digits), finite; None for
    '٣', ' 3', '1_0', 'NaN', 'Infinity', 1e999 and true, which ``float()`` read as 3, 3, 10, NaN and inf [round 27]
    [unc: Java's Double.parseDouble trims spaces and takes NaN and Infinity; Jira's number fields refuse them]."""
    if isinstance(value, str) and not _DECIMAL.fullmatch(value):  # Jira's text form: digits before any point
        return None
    return finite_number(value)


def new_board_id(store) -> int:
    """The next board id, from a counter that only grows (`store.work["next_board_id"]`): a deleted board's id is
    never handed out again, so a new board cannot inherit its `board_filters` / `board_features`. The counter
    starts above the seeded boards, whose ids stay as they are. Call it holding `store.lock`."""
    ident = max(store.work.get("next_board_id", 0), max(store.boards, default=0) + 1)
    store.work["next_board_id"] = ident + 1
    return ident


def new_sprint_id(store) -> int:
    """The next sprint id, from a counter that only grows (`store.work["next_sprint_id"]`), as `new_board_id`:
    Jira never hands a deleted sprint's id out again (a GET of it stays a 404), so a sprint created after the
    newest one was deleted does not take over its id (nor what clients cached under it). Hold `store.lock`."""
    ident = max(store.work.get("next_sprint_id", 0), max(store.sprints, default=0) + 1)
    store.work["next_sprint_id"] = ident + 1
    return ident
