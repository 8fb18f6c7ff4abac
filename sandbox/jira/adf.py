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
    """Flatten an ADF document to text (paragraph-level blocks joined by blank lines). Iterative, and blind to
    anything that is not a node (a stored document is validated on the way in; see `adf_problem`)."""
    if not isinstance(doc, dict):
        return "" if doc is None else str(doc)
    content = doc.get("content")
    return "\n\n".join(_inline(node) for node in (content if isinstance(content, list) else []))


_LINE_SEP = {"bulletList", "orderedList", "listItem", "table", "tableRow"}


def _inline(root: Any) -> str:
    """One node's text; walks an explicit stack, so no document depth reaches Python's recursion limit."""
    out: list[str] = []
    stack: list[tuple[Any, int]] = [(root, 0)]  # (node, 1 once its children are collected)
    results: list[list[str]] = [out]
    while stack:
        node, state = stack.pop()
        if state == 1:  # children done: join them into the parent's parts
            done = results.pop()
            sep = "\n" if isinstance(node, dict) and node.get("type") in _LINE_SEP else ""
            results[-1].append(sep.join(done))
            continue
        if not isinstance(node, dict):
            continue
        kind = node.get("type")
        if kind == "text":
            text = node.get("text", "")
            results[-1].append(text if isinstance(text, str) else "")
            continue
        if kind == "hardBreak":
            results[-1].append("\n")
            continue
        children = node.get("content")
        results.append([])
        stack.append((node, 1))
        for child in reversed(children if isinstance(children, list) else []):
            if isinstance(child, dict):
                stack.append((child, 0))
    return out[0] if out else ""


# ADF node types (developer.atlassian.com/cloud/jira/platform/apis/document/structure): blocks hold blocks,
# INLINE_PARENTS hold inline nodes only
BLOCKS = {"paragraph", "heading", "bulletList", "orderedList", "listItem", "blockquote", "codeBlock", "rule",
          "panel", "table", "tableRow", "tableHeader", "tableCell", "mediaSingle", "mediaGroup", "media",
          "expand", "nestedExpand", "taskList", "taskItem", "decisionList", "decisionItem", "blockCard",
          "embedCard", "layoutSection", "layoutColumn", "extension", "bodiedExtension", "caption"}
INLINES = {"text", "hardBreak", "mention", "emoji", "date", "status", "inlineCard", "placeholder",
           "inlineExtension", "mediaInline"}
INLINE_PARENTS = {"paragraph", "heading", "codeBlock", "taskItem", "decisionItem", "caption"}
MAX_DEPTH = 64  # [unc] Jira's own bound: its schema nests lists, quotes and tables; nothing real goes this deep
MAX_NODES = 50_000  # [unc]


def adf_problem(value: Any) -> str | None:
    """Why `value` is not an ADF document Jira would store, or None. Checked iteratively: every node an object
    with a known string `type`, `content` an array, `marks` an array of objects with a string `type`, text
    nodes with non-empty string `text`, inline nodes only inside paragraphs/headings/code blocks (so blocks do
    not nest without bound), at most MAX_DEPTH levels and MAX_NODES nodes."""
    if not isinstance(value, dict) or value.get("type") != "doc" or value.get("version", 1) != 1 \
            or not isinstance(value.get("content"), list):
        return "not a document"
    stack: list[tuple[Any, int, bool]] = [(child, 1, False) for child in value["content"]]
    seen = 0
    while stack:
        node, depth, inline_ok = stack.pop()
        seen += 1
        if depth > MAX_DEPTH or seen > MAX_NODES:
            return "document too deep or too large"
        if not isinstance(node, dict) or not isinstance(node.get("type"), str):
            return "node is not an object with a type"
        kind = node["type"]
        if kind in INLINES:
            if not inline_ok:
                return f"'{kind}' outside an inline container"
        elif kind not in BLOCKS or inline_ok:
            return f"unknown or misplaced node '{kind}'"
        if kind == "text" and (not isinstance(node.get("text"), str) or not node["text"]):
            return "text node without text"
        marks = node.get("marks", [])
        if not isinstance(marks, list) or any(not isinstance(m, dict) or not isinstance(m.get("type"), str)
                                              for m in marks):
            return "marks are not objects with a type"
        if "attrs" in node and not isinstance(node["attrs"], dict):
            return "attrs is not an object"
        content = node.get("content", [])
        if not isinstance(content, list):
            return "content is not an array"
        if content and kind in INLINES:
            return f"'{kind}' has content"
        stack.extend((child, depth + 1, kind in INLINE_PARENTS) for child in content)
    return None


def valid_adf(value: Any) -> bool:
    return adf_problem(value) is None


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
