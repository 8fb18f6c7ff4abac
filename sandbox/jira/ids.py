"""Numeric ids read from requests."""

from __future__ import annotations


def is_id(text) -> bool:
    """Whether ``text`` is an id Jira could hold: ASCII digits, fewer than 19 (a Java long). ``str.isdigit`` also
    holds for "²" and the like (``int()`` refuses them) and ``int()`` refuses over 4300 digits: both were HTTP 500
    where Jira answers 404 / 400."""
    text = str(text)
    return text.isascii() and text.isdigit() and len(text) < 19
