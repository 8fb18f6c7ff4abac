"""The OData query options Graph takes on drive-item collections, as SharePoint document libraries answer
them; everything here raises ``GraphError`` (400) for what Graph refuses instead of ignoring it.

- ``$filter`` (``compile_filter``): ``eq`` / ``ne`` on ``name`` and ``webUrl`` (case-insensitive, as
  SharePoint names are), ``startswith(name,'…')`` / ``endswith``, facet presence ``file ne null`` /
  ``folder eq null``, joined by ``and`` / ``or``, negated by ``not``, grouped in parentheses. Other
  properties, functions (``contains``) and operators are 400 invalidRequest: "In OneDrive for Business
  and SharePoint Online filtering supports only name and url" (facets are what Graph also takes).
- ``$expand`` (``parse_expand``): ``children`` (with ``($select=…;$top=…)``), ``listItem`` (``($expand=fields)``),
  ``thumbnails``, ``permissions``, ``versions``; another name is 400 BadRequest.
- ``check_options``: a system query option the endpoint does not take is 400 (``$skip``: "Only URLs
  returned by the API can be used to page", as Graph says); ``$top``, ``$count`` and ``$skiptoken`` values
  are checked.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from sandbox.core.numbers import ascii_int
from sandbox.sharepoint.errors import GraphError

Row = dict[str, Any]  # a drive item as Graph shows it
LEX = re.compile(r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<p>[(),])|(?P<word>[A-Za-z_$@][\w./$@-]*))")
EXPANDABLE = {"children", "listItem", "thumbnails", "permissions", "versions"}
OPTIONS = {"$select", "$expand", "$top", "$orderby", "$filter", "$count", "$skiptoken", "$search", "$skip",
           "$format", "$levels", "$apply", "$compute", "$index", "$schemaversion", "$deltatoken", "$id"}
TAKES = {"children": {"$select", "$expand", "$top", "$orderby", "$filter", "$count", "$skiptoken"},
         "search": {"$select", "$expand", "$top", "$orderby", "$filter", "$count", "$skiptoken"},
         "item": {"$select", "$expand"}, "delta": {"$select", "$expand", "$top", "$skiptoken"}}


def bad_filter(detail: str) -> GraphError:
    return GraphError(400, "invalidRequest", f"Invalid filter clause: {detail}")


def check_options(query: dict[str, str], endpoint: str) -> None:
    """400 for a ``$`` option Graph does not take on ``endpoint`` (children, search, item, delta)."""
    for raw in query:
        if not raw.startswith("$"):
            continue  # not an OData option (delta's token=, a download's tempauth=)
        if raw == "$skip":
            raise GraphError(400, "invalidRequest", "$skip is not supported on this API. Only URLs returned by "
                             "the API can be used to page.")
        if raw not in OPTIONS:
            raise GraphError(400, "BadRequest", f"Query option '{raw}' is not supported.")
        if raw not in TAKES[endpoint]:
            raise GraphError(400, "invalidRequest", f"Query option '{raw}' is not supported on this API.")
    if query.get("$top") == "":
        raise _bad_top("")
    top(query)
    count = query.get("$count")
    if count is not None and count.lower() not in ("true", "false"):
        raise GraphError(400, "BadRequest", f"'{count}' is not a valid count option.")
    token = query.get("$skiptoken")
    if token is not None and ascii_int(token) is None:
        raise GraphError(400, "invalidRequest", "Invalid $skiptoken: only URLs returned by the API can be used "
                         "to page.")


def top(query: dict[str, str], default: int = 200) -> int:
    """The page size: ``$top`` clamped to 1,000 (ASCII digits only, however many: ``ascii_int``), the default
    when absent or empty; anything else, or below 1, is Graph's 400."""
    raw = query.get("$top")
    if not raw:
        return default
    size = ascii_int(raw, cap=1000)
    if size is None or size < 1:
        raise _bad_top(raw)
    return size


def _bad_top(raw: str) -> GraphError:
    return GraphError(400, "BadRequest", f"Invalid value '{raw}' for $top query option found. The $top query "
                      "option requires a non-negative integer value.")


def skip_of(token: str | None) -> int:
    """A ``$skiptoken`` this emulator handed out (an offset) as an int, saturated (``ascii_int``); 0 when absent."""
    return ascii_int(token or "0") or 0


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos, text = [], 0, text.strip()
    while pos < len(text):
        m = LEX.match(text, pos)
        if m is None:
            raise bad_filter(f"cannot read {text[pos:]!r}")
        out.append((m.lastgroup or "", m.group(m.lastgroup or 0)))
        pos = m.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return out


def _text(row: Row, prop: str) -> str | None:
    value = row.get(prop)
    return value.casefold() if isinstance(value, str) else None


class _Filter:
    def __init__(self, text: str):
        self.toks = _tokens(text)

    def _peek(self, word: str) -> bool:
        return bool(self.toks) and self.toks[0][1].lower() == word

    def _take(self, kind: str | None = None, value: str | None = None) -> str:
        if not self.toks:
            raise bad_filter("unexpected end")
        k, v = self.toks.pop(0)
        if (kind and k != kind) or (value and v.lower() != value):
            raise bad_filter(f"unexpected {v!r}")
        return v

    def _string(self) -> str:
        return self._take("str")[1:-1].replace("''", "'")

    def expr(self) -> Callable[[Row], bool]:
        left = self.conj()
        while self._peek("or"):
            self._take()
            a, b = left, self.conj()
            left = lambda r, a=a, b=b: a(r) or b(r)  # noqa: E731
        return left

    def conj(self) -> Callable[[Row], bool]:
        left = self.unary()
        while self._peek("and"):
            self._take()
            a, b = left, self.unary()
            left = lambda r, a=a, b=b: a(r) and b(r)  # noqa: E731
        return left

    def unary(self) -> Callable[[Row], bool]:
        if self._peek("not"):
            self._take()
            inner = self.unary()
            return lambda r: not inner(r)
        if self._peek("("):
            self._take()
            inner = self.expr()
            self._take("p", ")")
            return inner
        word = self._take("word")
        if self._peek("("):
            return self.function(word.lower())
        return self.comparison(word)

    def function(self, name: str) -> Callable[[Row], bool]:
        if name not in ("startswith", "endswith"):
            raise GraphError(400, "invalidRequest", f"Invalid filter clause: the function '{name}' is not "
                             "supported on driveItem collections (use search(q='…') for partial matches).")
        self._take("p", "(")
        prop = self._take("word")
        self._take("p", ",")
        value = self._string().casefold()
        self._take("p", ")")
        if prop not in ("name", "webUrl"):
            raise bad_filter(f"filtering on '{prop}' is not supported; only name and url are")
        test = str.startswith if name == "startswith" else str.endswith
        return lambda r: test(_text(r, prop) or "", value)

    def comparison(self, prop: str) -> Callable[[Row], bool]:
        op = self._take("word").lower()
        if op not in ("eq", "ne"):
            raise bad_filter(f"the operator '{op}' is not supported here")
        if prop in ("file", "folder", "root", "deleted"):
            self._take("word", "null")
            return (lambda r: (r.get(prop) is None) == (op == "eq"))
        if prop not in ("name", "webUrl"):
            raise bad_filter(f"filtering on '{prop}' is not supported; only name and url are")
        value = self._string().casefold()
        return (lambda r: (_text(r, prop) == value) == (op == "eq"))


def compile_filter(text: str | None) -> Callable[[Row], bool]:
    if text is None:
        return lambda r: True
    if not text.strip():
        raise bad_filter("the filter is empty")
    parser = _Filter(text)
    pred = parser.expr()
    if parser.toks:
        raise bad_filter(f"unexpected {parser.toks[0][1]!r}")
    return pred


def _split_top(text: str, sep: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for i, c in enumerate(text):
        depth += {"(": 1, ")": -1}.get(c, 0)
        if c == sep and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    if depth:
        raise GraphError(400, "BadRequest", f"Parsing OData Select and Expand failed: unbalanced parentheses in "
                         f"'{text}'.")
    return [p.strip() for p in [*parts, text[start:]] if p.strip()]


def parse_expand(text: str | None) -> dict[str, dict[str, str]]:
    """``children($select=id,name;$top=5),listItem($expand=fields)`` -> ``{name: {option: value}}``."""
    out: dict[str, dict[str, str]] = {}
    for part in _split_top(text or "", ","):
        m = re.fullmatch(r"([A-Za-z]+)(?:\((.*)\))?", part, re.S)
        if m is None or m.group(1) not in EXPANDABLE:
            name = m.group(1) if m else part
            raise GraphError(400, "BadRequest", "Parsing OData Select and Expand failed: Could not find a property "
                             f"named '{name}' on type 'microsoft.graph.driveItem'.")
        opts = {}
        for opt in _split_top(m.group(2) or "", ";"):
            key, _, value = opt.partition("=")
            opts[key.strip() if key.strip().startswith("$") else "$" + key.strip()] = value.strip()
        out[m.group(1)] = opts
    return out
