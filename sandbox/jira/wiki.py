"""Jira wiki markup (what v2 writes rich text as) -> ADF (what v3 reads it as), for the common constructs.

Jira Cloud keeps one document per field and converts between the two representations: a comment or
description written as a v2 string is read through v3 as ADF built from its wiki markup. Covered here, after
Atlassian's "Text formatting notation" help: paragraphs (a blank line between them, a single line break is a
`hardBreak`, so is `\\\\`), `h1.`-`h6.` headings, `bq.` and `{quote}` quotes, `{code[:lang]}` and `{noformat}`
blocks, `----` rules, `*` / `-` bullet and `#` numbered lists (nested by repeating the marker, `*#` mixes),
`||header||` / `|cell|` tables, and inline `*strong*`, `_emphasis_`, `-deleted-`, `+inserted+`, `^sup^`,
`~sub~`, `??citation??`, `{{monospaced}}`, `{color:red}text{color}`, `[text|url]`, `[url]`, bare http(s)
URLs and `[~accountid:ID]` mentions. Text with none of these keeps the plain conversion (a paragraph per
blank-line block). [unc] Cloud's converter details: the mark/attr set of each node, bare URLs as link marks
(Cloud may make smart links), a citation as `em`, colours by name as given; anything else stays literal text.
"""

from __future__ import annotations

import re
from typing import Any

Node = dict[str, Any]

_MARKS = (("??", {"type": "em"}), ("*", {"type": "strong"}), ("_", {"type": "em"}), ("-", {"type": "strike"}),
          ("+", {"type": "underline"}), ("^", {"type": "subsup", "attrs": {"type": "sup"}}),
          ("~", {"type": "subsup", "attrs": {"type": "sub"}}))
_INLINE = re.compile("|".join([
    r"(?P<code>\{\{(?P<code_body>.+?)\}\})",
    r"(?P<color>\{color:(?P<color_name>[^}]+)\}(?P<color_body>.*?)\{color\})",
    r"(?P<mention>\[~accountid:(?P<account>[^\]\s]+)\])",
    r"(?P<link>\[(?:(?P<link_text>[^\[\]|]*)\|)?(?P<link_href>(?:https?:|ftp:|mailto:|/|#)[^\[\]|\s]*)\])",
    r"(?P<url>https?://[^\s\[\]|<>\"]+[^\s\[\]|<>\".,;:!?)])",
    r"(?P<brk>\\\\)",
    *(rf"(?P<m{n}>(?<![\w{re.escape(m[0])}]){re.escape(m)}(?=\S)(?P<m{n}_body>.+?)(?<=\S){re.escape(m)}"
      rf"(?![\w{re.escape(m[0])}]))" for n, (m, _mark) in enumerate(_MARKS)),
]))
_LIST = re.compile(r"^([*#-]+)\s+(.*)$")
_HEADING = re.compile(r"^h([1-6])\.\s*(.*)$")
_BLOCK_OPEN = re.compile(r"^\{(code|noformat|quote)(?::([^}]*))?\}(.*)$")


def looks_like_wiki(text: str) -> bool:
    """Whether the text carries any markup this module converts (else the plain conversion is kept)."""
    if _INLINE.search(text):
        return True
    return any(_LIST.match(ln) or _HEADING.match(ln) or ln.startswith(("bq.", "{", "|")) or ln.strip() == "----"
               for ln in text.split("\n"))


def inline(text: str, marks: tuple[Node, ...] = ()) -> list[Node]:
    """Inline nodes (text with marks, hardBreak, mention) of one run of wiki text."""
    out: list[Node] = []
    pos = 0
    for m in _INLINE.finditer(text):
        if m.start() > pos:
            out.append(_text(text[pos:m.start()], marks))
        kind = m.lastgroup or ""
        if kind == "code":
            links = tuple(k for k in marks if k["type"] == "link")  # code combines with a link mark only
            out.append(_text(m.group("code_body"), (*links, {"type": "code"})))
        elif kind == "color":
            out += inline(m.group("color_body"), (*marks, {"type": "textColor",
                                                           "attrs": {"color": _colour(m.group("color_name"))}}))
        elif kind == "mention":
            out.append({"type": "mention", "attrs": {"id": m.group("account")}})
        elif kind == "link":
            href = m.group("link_href")
            label = m.group("link_text") if m.group("link_text") is not None else href
            out += inline(label, (*marks, {"type": "link", "attrs": {"href": href}})) if label else []
        elif kind == "url" and any(k["type"] == "link" for k in marks):  # a URL as a link's own text
            out.append(_text(m.group("url"), marks))
        elif kind == "url":
            out.append(_text(m.group("url"), (*marks, {"type": "link", "attrs": {"href": m.group("url")}})))
        elif kind == "brk":
            out.append({"type": "hardBreak"})
        else:  # m0..m6: a mark from _MARKS around its body
            n = int(kind[1:])
            out += inline(m.group(f"m{n}_body"), (*marks, _MARKS[n][1]))
        pos = m.end()
    if pos < len(text):
        out.append(_text(text[pos:], marks))
    return [n for n in out if n.get("type") != "text" or n["text"]]


def _text(value: str, marks: tuple[Node, ...]) -> Node:
    node: Node = {"type": "text", "text": value}
    if marks:
        node["marks"] = [dict(k) for k in marks]
    return node


def _colour(name: str) -> str:
    named = {"red": "#ff5630", "green": "#36b37e", "blue": "#0052cc", "yellow": "#ffc400", "orange": "#ff991f",
             "purple": "#6554c0", "grey": "#97a0af", "gray": "#97a0af", "black": "#172b4d", "white": "#ffffff"}
    return named.get(name.strip().lower(), name.strip())  # [unc] Cloud's palette for a colour name


def _paragraph(lines: list[str]) -> Node:
    content: list[Node] = []
    for i, line in enumerate(lines):
        if i:
            content.append({"type": "hardBreak"})
        content += inline(line)
    return {"type": "paragraph", "content": content}


def _lists(items: list[tuple[str, str]]) -> list[Node]:
    """Nested bulletList / orderedList nodes from (marker, text) lines; a longer marker nests."""
    out: list[Node] = []
    i = 0
    while i < len(items):
        marker = items[i][0]
        depth, kind = len(marker), "orderedList" if marker[-1] == "#" else "bulletList"
        node: Node = {"type": kind, "content": []}
        if kind == "orderedList":
            node["attrs"] = {"order": 1}
        while i < len(items) and len(items[i][0]) == depth and (items[i][0][-1] == "#") == (kind == "orderedList"):
            item: Node = {"type": "listItem", "content": [{"type": "paragraph", "content": inline(items[i][1])}]}
            j = i + 1
            while j < len(items) and len(items[j][0]) > depth:
                j += 1
            if j > i + 1:
                item["content"] += _lists([(m[depth:], t) for m, t in items[i + 1:j]])
            node["content"].append(item)
            i = j
        out.append(node)
        if i < len(items) and len(items[i][0]) > depth:  # a deeper line without a parent at this depth
            out += _lists([(m[depth:] or m, t) for m, t in items[i:i + 1]])
            i += 1
    return out


def _table(rows: list[str]) -> Node:
    out = []
    for row in rows:
        cells: list[Node] = []
        for head, body in re.findall(r"(\|\|?)([^|]*)", row.strip().rstrip("|")):
            if not head:
                continue
            kind = "tableHeader" if head == "||" else "tableCell"
            cells.append({"type": kind, "attrs": {}, "content": [{"type": "paragraph",
                                                                 "content": inline(body.strip())}]})
        out.append({"type": "tableRow", "content": cells})
    return {"type": "table", "attrs": {"isNumberColumnEnabled": False, "layout": "default"}, "content": out}


def to_adf(text: str) -> Node:
    """An ADF document of a wiki-markup string."""
    lines = text.replace("\r\n", "\n").split("\n")
    content: list[Node] = []
    para: list[str] = []

    def flush() -> None:
        if para:
            content.append(_paragraph(para))
            para.clear()

    i = 0
    while i < len(lines):
        line = lines[i]
        block = _BLOCK_OPEN.match(line.strip())
        if block:
            flush()
            name, lang, rest = block.group(1), block.group(2), block.group(3)
            body, j, closer = [rest] if rest else [], i + 1, "{" + name + "}"
            if closer in rest:
                body, j = [rest.split(closer)[0]], i
            else:
                while j < len(lines) and closer not in lines[j]:
                    body.append(lines[j])
                    j += 1
                if j < len(lines) and lines[j].split(closer)[0]:
                    body.append(lines[j].split(closer)[0])
            if name == "quote":
                inner = to_adf("\n".join(body))["content"]
                content.append({"type": "blockquote", "content": inner or [{"type": "paragraph", "content": []}]})
            else:
                node: Node = {"type": "codeBlock", "attrs": {}, "content": [{"type": "text", "text": "\n".join(body)}]}
                if name == "code" and lang:
                    node["attrs"] = {"language": lang.split("|")[0].strip()}
                if not "\n".join(body):
                    node["content"] = []
                content.append(node)
            i = j + 1
            continue
        stripped = line.strip()
        heading = _HEADING.match(stripped)
        listed = _LIST.match(stripped)
        if not stripped:
            flush()
        elif heading:
            flush()
            content.append({"type": "heading", "attrs": {"level": int(heading.group(1))},
                            "content": inline(heading.group(2))})
        elif stripped.startswith("bq."):
            flush()
            content.append({"type": "blockquote", "content": [_paragraph([stripped[3:].strip()])]})
        elif stripped == "----":
            flush()
            content.append({"type": "rule"})
        elif listed and not (listed.group(1) == "-" * len(listed.group(1)) and len(listed.group(1)) > 1):
            flush()
            items = []
            while i < len(lines) and (m := _LIST.match(lines[i].strip())):
                items.append((m.group(1), m.group(2)))
                i += 1
            content += _lists(items)
            continue
        elif stripped.startswith("|"):
            flush()
            rows = []
            while i < len(lines) and lines[i].strip().startswith("|"):
                rows.append(lines[i])
                i += 1
            content.append(_table(rows))
            continue
        else:
            para.append(line)
        i += 1
    flush()
    return {"type": "doc", "version": 1, "content": content}
