"""Atlassian Document Format (ADF) <-> plain text, for v3 (ADF) vs v2 (plain string) rich-text fields."""

from __future__ import annotations

from typing import Any

from sandbox.jira.wiki import looks_like_wiki, to_adf


def is_adf(value: Any) -> bool:
    """True for an ADF document: {"type": "doc", "version": 1, "content": [...]}."""
    return isinstance(value, dict) and value.get("type") == "doc" and isinstance(value.get("content"), list)


def text_to_adf(text: str) -> dict[str, Any]:
    """One paragraph per line block (blank-line separated)."""
    paragraphs = [p for p in text.split("\n\n")] if text else []
    content = []
    for para in paragraphs:
        nodes: list[dict[str, Any]] = []
        for i, line in enumerate(para.split("\n")):
            if i:
                nodes.append({"type": "hardBreak"})
            if line:
                nodes.append({"type": "text", "text": line})
        content.append({"type": "paragraph", "content": nodes})
    return {"type": "doc", "version": 1, "content": content}


def adf_to_text(doc: Any) -> str:
    """Flatten an ADF document to text (paragraph-level blocks joined by blank lines)."""
    if not isinstance(doc, dict):
        return "" if doc is None else str(doc)
    blocks = [_inline(node) for node in doc.get("content") or []]
    return "\n\n".join(blocks)


def _inline(node: dict[str, Any]) -> str:
    kind = node.get("type")
    if kind == "text":
        return str(node.get("text", ""))
    if kind == "hardBreak":
        return "\n"
    parts = [_inline(child) for child in node.get("content") or [] if isinstance(child, dict)]
    sep = "\n" if kind in ("bulletList", "orderedList", "listItem", "table", "tableRow") else ""
    return sep.join(parts)


def as_version(value: Any, version: str) -> Any:
    """Render stored rich text for API version "2" (string) or "3" (ADF); None stays None."""
    if value is None:
        return None
    if version == "3":
        if is_adf(value):
            return value
        text = str(value)  # a v2 string is wiki markup: Cloud reads it through v3 as the ADF it converts to
        return to_adf(text) if looks_like_wiki(text) else text_to_adf(text)
    return adf_to_text(value) if is_adf(value) else str(value)


def plain(value: Any) -> str:
    """Searchable text of a stored rich-text value."""
    if value is None:
        return ""
    return adf_to_text(value) if is_adf(value) else str(value)
