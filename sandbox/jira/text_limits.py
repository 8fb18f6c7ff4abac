"""Jira's length limits on text it stores, with its messages (400 field errors, nothing written).

- Multi-line text (description, environment, comment bodies, also a transition's or an edit's `update.comment`):
  32,767 characters, counted as Java counts them (UTF-16 units), "The entered text is too long. It exceeds the
  allowed limit of 32,767 characters." (reported from Cloud for description and comment). A v3 body (ADF) counts
  the text of its text nodes, nothing for paragraphs or marks [unc: Cloud may count the stored document, markup
  included; then less text fits].
- A label: 255 characters, "The label '<label>' exceeds the maximum length for a single label of 255 characters."
  (Jira's own wording, as its label picker tests quote it).
"""

from __future__ import annotations

from typing import Any

from sandbox.jira.adf import is_adf

TEXT_LIMIT = 32767
TEXT_TOO_LONG = "The entered text is too long. It exceeds the allowed limit of 32,767 characters."
LABEL_LIMIT = 255


def units(text: str) -> int:
    """Length in UTF-16 code units (a character outside the BMP counts two)."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def _adf_units(doc: Any) -> int:
    total, stack = 0, [doc]
    while stack:  # iterative: a deep document cannot reach the recursion limit
        node = stack.pop()
        if isinstance(node, dict):
            if node.get("type") == "text" and isinstance(node.get("text"), str):
                total += units(node["text"])
            if isinstance(node.get("content"), list):
                stack.extend(node["content"])
    return total


def text_too_long(value: Any) -> bool:
    if value is None:
        return False
    return (_adf_units(value) if is_adf(value) else units(str(value))) > TEXT_LIMIT


def label_problem(label: str) -> str | None:
    if units(label) > LABEL_LIMIT:
        return f"The label '{label}' exceeds the maximum length for a single label of {LABEL_LIMIT} characters."
    return None
