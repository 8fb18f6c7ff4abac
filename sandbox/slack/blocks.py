"""Block Kit limits Slack enforces on chat.postMessage / chat.update: one bad block refuses the whole
message with ``invalid_blocks`` (https://api.slack.com/reference/block-kit): at most 50 blocks, section
and context text 1-3000 characters, header text 150, button text 75, a button URL http(s) and at most
3000 characters, a value at most 2000, block and action ids at most 255.
"""

from __future__ import annotations

import re
from typing import Any

MAX_BLOCKS, MAX_SECTION_TEXT, MAX_HEADER_TEXT, MAX_BUTTON_TEXT = 50, 3000, 150, 75
MAX_URL, MAX_VALUE, MAX_ID = 3000, 2000, 255


def _text_ok(obj: Any, limit: int) -> bool:
    return isinstance(obj, dict) and isinstance(obj.get("text"), str) and bool(obj["text"].strip()) \
        and len(obj["text"]) <= limit


def check_blocks(blocks: list[Any], error: type[Exception]) -> None:
    """The limits Slack checks on chat.postMessage / chat.update: one bad block refuses the message."""
    if len(blocks) > MAX_BLOCKS:
        raise error("invalid_blocks")
    for block in blocks:
        if not isinstance(block, dict) or len(str(block.get("block_id", ""))) > MAX_ID:
            raise error("invalid_blocks")
        kind = block.get("type")
        if kind == "section" and "text" in block and not _text_ok(block["text"], MAX_SECTION_TEXT):
            raise error("invalid_blocks")
        if kind == "header" and not _text_ok(block.get("text"), MAX_HEADER_TEXT):
            raise error("invalid_blocks")
        elements = block.get("elements") or []
        if kind == "context" and (len(elements) > 10 or not all(_text_ok(e, MAX_SECTION_TEXT) for e in elements
                                                                 if e.get("type") in ("mrkdwn", "plain_text"))):
            raise error("invalid_blocks")
        if kind == "actions":
            if not elements or len(elements) > 25:
                raise error("invalid_blocks")
            for element in elements:
                if element.get("type") == "button" and not _button_ok(element):
                    raise error("invalid_blocks")


def _button_ok(button: dict[str, Any]) -> bool:
    url = button.get("url")
    if url is not None and not (isinstance(url, str) and re.fullmatch(r"https?://[^\s]+", url) and len(url) <= MAX_URL):
        return False
    return _text_ok(button.get("text"), MAX_BUTTON_TEXT) and len(str(button.get("value", ""))) <= MAX_VALUE \
        and len(str(button.get("action_id", ""))) <= MAX_ID
