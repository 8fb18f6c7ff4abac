"""Reading a Jira issue as the reverse sync compares it, whatever shape its parts come in.

An issue's description is an Atlassian Document that people (and other apps) write: node types newer than
this code, lists and tables nested deep, text with marks, or parts that are not what ADF says at all (a
string where a node belongs, a number as a text). One such issue must not stop the push of every other
record (it raised AttributeError out of the run), nor be read as something it is not: each part that is not
the shape Jira documents reads as absent, and the rest of the issue is read as usual. Project X owns the
description, so a description read differently from Project X's is rewritten by its next change.

Our own description (:func:`assets.reverse_sync.jira.adf`: one paragraph of one text node per line) reads
back exactly as sent, so nothing is rewritten on reruns.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pipelines.common.cursor import parse_vendor_ts

# node types whose end is a line break inside a top-level block (a list's items, a table's cells, ...)
_BLOCKS = frozenset({"paragraph", "heading", "listItem", "codeBlock", "blockquote", "tableCell", "tableHeader",
                     "panel", "taskItem", "decisionItem", "expand", "nestedExpand"})
_END = object()


def obj(value: Any) -> dict[str, Any]:
    """``value`` if it is a JSON object, else an empty one (a part of the wrong shape reads as absent)."""
    return value if isinstance(value, dict) else {}


def text_or_none(value: Any) -> str | None:
    """A string field as Jira sends it; anything else (a number, an object) as None."""
    return value if isinstance(value, str) else None


def _block_text(node: Any) -> str:
    """The text of one top-level block: its text nodes in order, depth first without recursion (a document
    nested a thousand levels deep must not overflow the stack), a line break after each nested block."""
    parts: list[Any] = []  # text, and _END where a nested block ended (one line break, never two)
    stack: list[Any] = [node]
    while stack:
        item = stack.pop()
        if item is _END:
            if parts and parts[-1] is not _END:
                parts.append(_END)
            continue
        if not isinstance(item, dict):
            continue  # a string, number or null where a node belongs: not part of the document
        kind = item.get("type")
        if kind == "text" and isinstance(item.get("text"), str):
            parts.append(item["text"])
        elif kind == "hardBreak":
            parts.append("\n")
        children = item.get("content")
        if item is not node and kind in _BLOCKS:
            stack.append(_END)
        if isinstance(children, list):
            stack.extend(reversed(children))
    while parts and parts[-1] is _END:
        parts.pop()
    return "".join("\n" if p is _END else p for p in parts)


def adf_text(doc: Any) -> str:
    """The plain text of an ADF document, one line per top-level block; a string passes through, anything that
    is not a document reads as empty."""
    if doc is None:
        return ""
    if isinstance(doc, str):
        return doc
    blocks = doc.get("content") if isinstance(doc, dict) else None
    if not isinstance(blocks, list):
        return ""
    return "\n".join(_block_text(block) for block in blocks if isinstance(block, dict))


def names(value: Any) -> str | None:
    """``value.name`` when ``value`` is an object with a string name (priority, issue type), else None."""
    return text_or_none(obj(value).get("name"))


def foreign_fields(changelog: dict[str, Any], since: str | None, me: str, aliases: dict[str, str]) -> set[str]:
    """Fields someone other than the integration account (``me``) changed after ``since``, by the changelog.

    A history whose time does not parse counts as after ``since`` and one without an author as someone else's
    (an unreadable entry is never taken for our own echo); an item that is not an object, or names no field,
    is skipped."""
    return changed_fields(changelog, since, me, aliases)[0]


def changed_fields(changelog: dict[str, Any], since: str | None, me: str,
                   aliases: dict[str, str]) -> tuple[set[str], set[str]]:
    """(fields others changed, fields the integration account itself changed) after ``since``, by the changelog
    (the rules of :func:`foreign_fields`; an entry of ours is one whose author is ``me``, its time readable or not)."""
    after = _when(since)
    foreign: set[str] = set()
    own: set[str] = set()
    histories = changelog.get("histories")
    for h in histories if isinstance(histories, list) else []:
        h = obj(h)
        when = _when(h.get("created"))
        if after is not None and when is not None and when <= after:
            continue
        out = own if obj(h.get("author")).get("accountId") == me else foreign
        items = h.get("items")
        for item in items if isinstance(items, list) else []:
            field = obj(item).get("field")
            if isinstance(field, str):
                out.add(aliases.get(field, field))
    return foreign, own


def _when(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return parse_vendor_ts(value)
    except (ValueError, TypeError, OverflowError):
        return None


def refused_for_only(status: int | None, response: Any, field: str) -> bool:
    """Whether Jira refused a write (400) for ``field`` alone: an ErrorCollection whose ``errors`` names just that
    field and whose ``errorMessages`` is empty. Only the key is read: the message is in the account's language."""
    if status != 400 or response is None or getattr(response, "status_code", None) != 400:
        return False
    try:
        body = response.json()
    except ValueError:
        return False
    errors = body.get("errors") if isinstance(body, dict) else None
    return isinstance(errors, dict) and set(errors) == {field} and not body.get("errorMessages")
