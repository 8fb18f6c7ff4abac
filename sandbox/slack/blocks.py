"""Block Kit limits Slack enforces on chat.postMessage / chat.update: one bad block refuses the whole
message with ``invalid_blocks`` (https://api.slack.com/reference/block-kit): at most 50 blocks, each an
object with a known ``type``, section and context text 1-3000 characters, header text 150, button text 75,
a button URL http(s) and at most 3000 characters, a value at most 2000, block and action ids at most 255.
Round 28 (Block Kit reference, per block): a text object is `plain_text` or `mrkdwn`, a header's only
`plain_text`; a section's `fields` are 1-10 text objects of at most 2000 characters; an image block needs
`alt_text` (at most 2000) and an `image_url` (at most 3000) or a `slack_file`; a button's `style` is
`primary` or `danger` (elsewhere too: a section's button `accessory`).
Round 29: an explicit `block_id` used twice in one message, or an `action_id` twice in one actions block.
Round 32 (block reference pages): a `markdown` block needs its `text` (a non-empty string), and all of a message's
markdown blocks hold at most 12,000 characters together, past which Slack answers ``msg_blocks_too_long`` (the code
seen for markdown blocks near that size, slackapi/bolt-js #2509 [unc: the exact count]); a `table` block needs
`rows`, at most 100, each a list of 1-20 cells, and at most 20 `column_settings`.

Slack names the offending place in ``errors`` and ``response_metadata.messages``, e.g.
``"[ERROR] must be more than 0 characters [json-pointer:/blocks/0/text/text]"``; the wording of each
message here is modelled on ones seen in practice, not on a published list (guessed).
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

MAX_BLOCKS, MAX_SECTION_TEXT, MAX_HEADER_TEXT, MAX_BUTTON_TEXT = 50, 3000, 150, 75
MAX_URL, MAX_VALUE, MAX_ID = 3000, 2000, 255
MAX_FIELDS, MAX_FIELD_TEXT, MAX_ALT_TEXT = 10, 2000, 2000
MAX_MARKDOWN_BLOCKS_TEXT = 12_000  # all markdown blocks of one message together
MAX_TABLE_ROWS, MAX_TABLE_CELLS = 100, 20
TEXT_TYPES = ("plain_text", "mrkdwn")
BUTTON_STYLES = ("primary", "danger")
# block types Slack accepts in messages (Block Kit reference); anything else is refused
BLOCK_TYPES = {"actions", "context", "divider", "file", "header", "image", "input", "markdown", "rich_text",
               "section", "video", "table", "context_actions", "call", "plan", "task_card"}


def _text_problem(obj: Any, limit: int, where: str, types: tuple[str, ...] = TEXT_TYPES) -> str | None:
    if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
        return f"failed to match all allowed schemas [json-pointer:{where}]"
    if obj.get("type") not in types:
        return f"must be a valid enum value [json-pointer:{where}/type]"
    if not obj["text"].strip():
        return f"must be more than 0 characters [json-pointer:{where}/text]"
    if len(obj["text"]) > limit:
        return f"must be less than {limit + 1} characters [json-pointer:{where}/text]"
    return None


def block_problem(blocks: list[Any]) -> str | None:
    """The first reason Slack would refuse these blocks, or None."""
    if len(blocks) > MAX_BLOCKS:
        return f"no more than {MAX_BLOCKS} items allowed [json-pointer:/blocks]"
    seen: set[str] = set()
    for n, block in enumerate(blocks):
        at = f"/blocks/{n}"
        if not isinstance(block, dict):
            return f"expected object [json-pointer:{at}]"
        kind = block.get("type")
        if not isinstance(kind, str) or not kind:
            return f"missing required field: type [json-pointer:{at}]"
        if kind not in BLOCK_TYPES:
            return f"unsupported type: {kind} [json-pointer:{at}/type]"
        if len(str(block.get("block_id", ""))) > MAX_ID:
            return f"must be less than {MAX_ID + 1} characters [json-pointer:{at}/block_id]"
        if block.get("block_id"):
            if str(block["block_id"]) in seen:  # unique within a message (round 29) [unc: the wording]
                return f"duplicate block_id [json-pointer:{at}/block_id]"
            seen.add(str(block["block_id"]))
        problem = _block_problem(block, kind, at)
        if problem:
            return problem
    return None


def _block_problem(block: dict[str, Any], kind: str, at: str) -> str | None:
    if kind == "section":
        if "text" not in block and "fields" not in block:
            return f"must provide either 'text' or 'fields' [json-pointer:{at}]"
        if "text" in block:
            problem = _text_problem(block["text"], MAX_SECTION_TEXT, f"{at}/text")
            if problem:
                return problem
        if "fields" in block:
            problem = _fields_problem(block["fields"], f"{at}/fields")
            if problem:
                return problem
        accessory = block.get("accessory")
        if isinstance(accessory, dict) and accessory.get("type") == "button" and not _button_ok(accessory):
            return f"failed to match all allowed schemas [json-pointer:{at}/accessory]"
        return None
    if kind == "header":
        return _text_problem(block.get("text"), MAX_HEADER_TEXT, f"{at}/text", ("plain_text",))
    if kind == "image":
        return _image_problem(block, at)
    if kind == "markdown":
        text = block.get("text")
        if not isinstance(text, str):
            return f"missing required field: text [json-pointer:{at}]"
        return f"must be more than 0 characters [json-pointer:{at}/text]" if not text.strip() else None
    if kind == "table":
        return _table_problem(block, at)
    elements = block.get("elements") or []
    if kind == "context":
        if not elements or len(elements) > 10:
            return f"must provide 1-10 elements [json-pointer:{at}/elements]"
        for i, e in enumerate(elements):
            if isinstance(e, dict) and e.get("type") in ("mrkdwn", "plain_text"):
                problem = _text_problem(e, MAX_SECTION_TEXT, f"{at}/elements/{i}")
                if problem:
                    return problem
    if kind == "actions":
        if not elements or len(elements) > 25:
            return f"must provide 1-25 elements [json-pointer:{at}/elements]"
        actions: set[str] = set()
        for i, element in enumerate(elements):
            if isinstance(element, dict) and element.get("type") == "button" and not _button_ok(element):
                return f"failed to match all allowed schemas [json-pointer:{at}/elements/{i}]"
            action = element.get("action_id") if isinstance(element, dict) else None
            if action:  # "unique among all other action_ids in the containing block" [unc: the wording]
                if str(action) in actions:
                    return f"duplicate action_id [json-pointer:{at}/elements/{i}/action_id]"
                actions.add(str(action))
    return None


def _fields_problem(fields: Any, where: str) -> str | None:
    if not isinstance(fields, list) or not fields:
        return f"must provide an array of 1-{MAX_FIELDS} items [json-pointer:{where}]"
    if len(fields) > MAX_FIELDS:
        return f"no more than {MAX_FIELDS} items allowed [json-pointer:{where}]"
    for i, field in enumerate(fields):
        problem = _text_problem(field, MAX_FIELD_TEXT, f"{where}/{i}")
        if problem:
            return problem
    return None


def _table_problem(block: dict[str, Any], at: str) -> str | None:
    rows = block.get("rows")
    if not isinstance(rows, list) or not rows:
        return f"must provide an array of 1-{MAX_TABLE_ROWS} items [json-pointer:{at}/rows]"
    if len(rows) > MAX_TABLE_ROWS:
        return f"no more than {MAX_TABLE_ROWS} items allowed [json-pointer:{at}/rows]"
    for i, row in enumerate(rows):
        if not isinstance(row, list) or not row or len(row) > MAX_TABLE_CELLS:
            return f"must provide an array of 1-{MAX_TABLE_CELLS} items [json-pointer:{at}/rows/{i}]"
    settings = block.get("column_settings")
    if settings is not None and (not isinstance(settings, list) or len(settings) > MAX_TABLE_CELLS):
        return f"no more than {MAX_TABLE_CELLS} items allowed [json-pointer:{at}/column_settings]"
    return None


def _image_problem(block: dict[str, Any], at: str) -> str | None:
    alt = block.get("alt_text")
    if not isinstance(alt, str):
        return f"missing required field: alt_text [json-pointer:{at}]"
    if len(alt) > MAX_ALT_TEXT:
        return f"must be less than {MAX_ALT_TEXT + 1} characters [json-pointer:{at}/alt_text]"
    url = block.get("image_url")
    if url is None and block.get("slack_file") is None:
        return f"missing required field: image_url [json-pointer:{at}]"
    if url is not None and not (isinstance(url, str) and url.strip() and len(url) <= MAX_URL):
        return f"must be a valid image_url [json-pointer:{at}/image_url]"
    return None


def check_blocks(blocks: list[Any], error: type[Exception]) -> None:
    """Raise `error("invalid_blocks", errors=[..], response_metadata={"messages": ["[ERROR] .."]})` as Slack
    answers chat.postMessage / chat.update when a block breaks the limits."""
    problem = block_problem(blocks)
    if problem:
        raise error("invalid_blocks", errors=[problem],  # type: ignore[call-arg]
                    response_metadata={"messages": [f"[ERROR] {problem}"]})
    markdown = sum(len(b["text"]) for b in blocks if isinstance(b, dict) and b.get("type") == "markdown")
    if markdown > MAX_MARKDOWN_BLOCKS_TEXT:
        raise error("msg_blocks_too_long")


def _button_ok(button: dict[str, Any]) -> bool:
    if button.get("style") is not None and button.get("style") not in BUTTON_STYLES:
        return False
    url = button.get("url")
    if url is not None and not (isinstance(url, str) and re.fullmatch(r"https?://[^\s]+", url) and len(url) <= MAX_URL):
        return False
    return _text_problem(button.get("text"), MAX_BUTTON_TEXT, "") is None \
        and len(str(button.get("value", ""))) <= MAX_VALUE and len(str(button.get("action_id", ""))) <= MAX_ID


def with_block_ids(blocks: Any, ts: str) -> Any:
    """The blocks as Slack keeps them: each block without a `block_id` gets one (derived from the message's
    ts and the block's place, as `interactivity` assumes), copies only, so the caller's blocks stay as sent."""
    if not isinstance(blocks, list):
        return blocks
    taken = {str(b["block_id"]) for b in blocks if isinstance(b, dict) and b.get("block_id")}
    out = []
    for n, b in enumerate(blocks):
        if isinstance(b, dict) and not b.get("block_id"):
            # never one a block of the message already has (an edit that moved blocks sends their old ids back,
            # and Slack refuses a message whose block_ids repeat)
            salt, new = 0, hashlib.sha256(f"{ts}:{n}".encode()).hexdigest()[:5]
            while new in taken:
                salt += 1
                new = hashlib.sha256(f"{ts}:{n}:{salt}".encode()).hexdigest()[:5]
            taken.add(new)
            b = {**b, "block_id": new}
        out.append(b)
    return out


MAX_MARKDOWN_TEXT = 12_000


def markdown_content(args: dict[str, Any], error: Any) -> tuple[str, list[dict[str, Any]]] | None:
    """chat.postMessage / postEphemeral / update's `markdown_text` (standard markdown Slack renders itself):
    the message's text and one `markdown` block; markdown_text_conflict beside `text` or `blocks`,
    msg_too_long past 12,000 characters, as Slack. None without it."""
    markdown = args.get("markdown_text")
    if markdown in (None, ""):
        return None
    if args.get("text") or args.get("blocks"):
        raise error("markdown_text_conflict")
    if len(str(markdown)) > MAX_MARKDOWN_TEXT:
        raise error("msg_too_long")
    return str(markdown), [{"type": "markdown", "text": str(markdown)}]
