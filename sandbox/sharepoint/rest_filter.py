"""OData v3 ``$filter`` and ``$orderby`` as SharePoint REST takes them on list items (``rest_lists.py``):
``Field eq|ne|gt|ge|lt|le value`` joined by ``and``/``or`` and grouped in parentheses,
``startswith(Field,'x')``, ``substringof('x',Field)``; values ``'text'`` (``''`` a quote), numbers,
``true``/``false``, ``null``, ``datetime'2026-01-01T00:00:00Z'``. Text compares case-insensitively, as
SharePoint's columns do. A field the list does not have is 400 ArgumentException "Column '…' does not exist"
[unc: the code]; syntax SharePoint refuses is 400 InvalidClientQueryException.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from sandbox.core.numbers import finite_number
from sandbox.sharepoint.rest_errors import BAD, RestError

Row = dict[str, Any]
LEX = re.compile(r"\s*(?:(?P<str>(?:datetime|guid)?'(?:[^']|'')*')|(?P<num>-?[0-9]+(?:\.[0-9]+)?)(?![\w])|(?P<p>[(),])"
                 r"|(?P<word>[A-Za-z_][\w/]*))")
OPS = {"eq", "ne", "gt", "ge", "lt", "le"}


def no_column(name: str) -> RestError:
    return RestError(400, ("-2147024809, System.ArgumentException",
                           f"Column '{name}' does not exist. It may have been deleted by another user."))


def _norm(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)) and (number := finite_number(value)) is not None:
        return number  # a kept int past a double's range (float() raised: a 500) or NaN compares as its text
    text = str(value)
    if re.fullmatch(r"-?[0-9]+(?:\.[0-9]+)?", text) and (number := finite_number(text)) is not None:
        return number  # ASCII (\d took a text value '٣' as the number 3); 400 digits are text, not inf
    return text[:19] if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}.*", text) else text.lower()


class _Parser:
    def __init__(self, text: str, known: set[str]):
        self.toks, pos = [], 0
        while pos < len(text.rstrip()):
            m = LEX.match(text, pos)
            if m is None or m.end() == pos:
                raise RestError(400, BAD)
            kind = m.lastgroup or "word"
            self.toks.append((kind, m.group(kind)))
            pos = m.end()
        self.i, self.known = 0, known

    def _peek(self, value: str) -> bool:
        return self.i < len(self.toks) and self.toks[self.i][1].lower() == value

    def _take(self) -> tuple[str, str]:
        if self.i >= len(self.toks):
            raise RestError(400, BAD)
        self.i += 1
        return self.toks[self.i - 1]

    def _field(self, name: str) -> str:
        if name not in self.known:
            hit = next((k for k in self.known if k.lower() == name.lower()), None)
            if hit is None:
                raise no_column(name)
            return hit
        return name

    def _value(self) -> Any:
        kind, tok = self._take()
        if kind == "str":
            body = tok[tok.index("'") + 1:-1].replace("''", "'")
            return body[:19] if tok.startswith("datetime") else body
        if kind == "num":  # ASCII digits only (LEX); one past a double's range (float() gave inf) is 400 [unc]
            if (number := finite_number(tok)) is None:
                raise RestError(400, BAD)
            return number
        if kind == "word" and tok.lower() in ("true", "false", "null"):
            return {"true": True, "false": False, "null": None}[tok.lower()]
        raise RestError(400, BAD)

    def expr(self) -> Callable[[Row], bool]:
        left = self.conj()
        while self._peek("or"):
            self.i += 1
            right, prev = self.conj(), left
            left = lambda r, a=prev, b=right: a(r) or b(r)  # noqa: E731
        return left

    def conj(self) -> Callable[[Row], bool]:
        left = self.atom()
        while self._peek("and"):
            self.i += 1
            right, prev = self.atom(), left
            left = lambda r, a=prev, b=right: a(r) and b(r)  # noqa: E731
        return left

    def atom(self) -> Callable[[Row], bool]:
        kind, tok = self._take()
        if tok == "(":
            inner = self.expr()
            if self._take()[1] != ")":
                raise RestError(400, BAD)
            return inner
        if kind != "word":
            raise RestError(400, BAD)
        if tok.lower() in ("startswith", "substringof") and self._peek("("):
            self.i += 1
            first, _, second, close = self._take(), self._take(), self._take(), self._take()
            if close[1] != ")":
                raise RestError(400, BAD)
            if tok.lower() == "startswith":
                field, needle = self._field(first[1]), second[1][1:-1].replace("''", "'").lower()
                return lambda r: str(r.get(field) or "").lower().startswith(needle)
            field, needle = self._field(second[1]), first[1][1:-1].replace("''", "'").lower()
            return lambda r: needle in str(r.get(field) or "").lower()
        field = self._field(tok)
        op = self._take()[1].lower()
        if op not in OPS:
            raise RestError(400, BAD)
        want = _norm(self._value())
        return lambda r: _compare(_norm(r.get(field)), op, want)


def _compare(have: Any, op: str, want: Any) -> bool:
    if op in ("eq", "ne"):
        same = have == want or (have in (None, "") and want in (None, ""))
        return same if op == "eq" else not same
    if have is None or want is None or type(have) is not type(want):
        return False
    return {"gt": have > want, "ge": have >= want, "lt": have < want, "le": have <= want}[op]


def compile_filter(text: str, known: set[str]) -> Callable[[Row], bool]:
    parser = _Parser(text, known)
    pred = parser.expr()
    if parser.i != len(parser.toks):
        raise RestError(400, BAD)
    return pred


def order_rows(rows: list[Row], orderby: str, known: set[str]) -> list[Row]:
    """``$orderby=Field [asc|desc], …``: stable sorts, the last key first; empty values first [unc]."""
    for part in reversed([p.strip() for p in orderby.split(",") if p.strip()]):
        name, _, way = part.partition(" ")
        field = _Parser("", known)._field(name)
        rows = sorted(rows, key=lambda r, f=field: (r.get(f) not in (None, ""), _sortable(r.get(f))),
                      reverse=way.strip().lower() == "desc")
    return rows


def _sortable(value: Any) -> tuple[int, Any]:
    norm = _norm(value)
    return (0, norm) if isinstance(norm, float) else (1, str(norm))


def query_rows(rows: list[Row], query: dict[str, str]) -> list[Row]:
    """``$filter``, ``$orderby``, ``$skip`` and ``$top`` over a collection's plain rows (files, folders)."""
    known = {k for r in rows for k in r}  # every row's: a collection may mix kinds (libraries and lists)
    if query.get("$filter", "").strip() and rows:
        keep = compile_filter(query["$filter"], known)
        rows = [r for r in rows if keep(r)]
    if query.get("$orderby", "").strip() and rows:
        rows = order_rows(rows, query["$orderby"], known)
    skip, top = _count(query.get("$skip", "0")), _count(query.get("$top"))
    return rows[skip:] if top is None else rows[skip:skip + top]


def _count(text: str | None) -> int | None:
    """A ``$skip``/``$top`` value: ASCII digits within Int32 (None when left out); anything else ("²", "--5", "-1",
    beyond Int32) is 400 InvalidClientQueryException, as SharePoint answers a bad ``$top``."""
    if text is None:
        return None
    if not re.fullmatch(r"[0-9]+", text) or int(text) > 2**31 - 1:
        raise RestError(400, BAD)
    return int(text)
