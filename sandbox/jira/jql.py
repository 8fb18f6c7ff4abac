"""JQL parser: text -> AST (`Query` with a where-expression and ORDER BY list).

Grammar (the subset connectors use):
    query   := [or] [ORDER BY sort ("," sort)*]
    or      := and (OR and)*          and := unary (AND unary)*
    unary   := NOT unary | "(" or ")" | clause
    clause  := field op operand       op  := = != > >= < <= ~ !~ IN | NOT IN | IS | IS NOT
    operand := value | "(" value ("," value)* ")" | EMPTY | NULL
    value   := "quoted" | 'quoted' | word | number | func "(" args ")"
Syntax errors raise `JQLError` carrying Jira's message text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from dataclasses import field as dc_field

_TOKEN = re.compile(r"""
    \s*(?:
      (?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
    | (?P<op>!=|>=|<=|!~|=|>|<|~)
    | (?P<punct>[(),])
    | (?P<word>[^\s"'(),=!<>~%^$#?|;]+)
    )""", re.VERBOSE)
KEYWORDS = {"and", "or", "not", "in", "is", "empty", "null", "order", "by", "asc", "desc", "was", "changed"}


_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|.)", re.S)
_CONTROL = {"t": "\t", "n": "\n", "r": "\r"}


def _unescape(m: re.Match[str]) -> str:
    """JQL's string escapes: `\\t`, `\\n`, `\\r`, `\\uXXXX`; any other escaped character stands for itself."""
    code = m.group(1)
    return chr(int(code[1:], 16)) if len(code) == 5 else _CONTROL.get(code, code)


class JQLError(ValueError):
    """A JQL problem; `str(exc)` is the Jira error message."""


@dataclass(frozen=True)
class Value:
    text: str
    quoted: bool = False


@dataclass(frozen=True)
class Func:
    name: str
    args: tuple[str, ...] = ()
    typed: str = dc_field(default="", compare=False)  # the name as written, for Jira's messages

    @property
    def shown(self) -> str:
        return self.typed or self.name


@dataclass(frozen=True)
class Empty:
    pass


Operand = Value | Func | Empty | tuple


@dataclass(frozen=True)
class Clause:
    field: str
    op: str  # "=", "!=", ">", ">=", "<", "<=", "~", "!~", "in", "not in", "is", "is not"
    operand: Operand
    predicates: tuple = ()  # WAS/CHANGED: ((word, operand), ...), see `jql_history`


@dataclass(frozen=True)
class BoolOp:
    op: str  # "and" | "or"
    items: tuple


@dataclass(frozen=True)
class Not:
    item: object


@dataclass(frozen=True)
class Query:
    where: object | None
    order: tuple[tuple[str, bool], ...]  # (field, descending)


def _tokens(text: str) -> list[tuple[str, str, int]]:
    out, pos = [], 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            bad = len(text) - len(text[pos:].lstrip())
            raise JQLError(f"Error in the JQL Query: The character '{text[bad]}' is a reserved JQL character. You must "
                           f"enclose it in a string or use the escape '\\u{ord(text[bad]):04x}' instead. "
                           f"(line 1, character {bad + 1})")
        kind = m.lastgroup or "word"
        raw = m.group(kind)
        if kind == "str":
            raw = _ESCAPE.sub(_unescape, raw[1:-1])
        out.append((kind, raw, m.start(kind)))
        pos = m.end()
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = _tokens(text)
        self.i = 0

    def peek(self, offset: int = 0) -> tuple[str, str, int] | None:
        j = self.i + offset
        return self.toks[j] if j < len(self.toks) else None

    def kw(self, word: str, offset: int = 0) -> bool:
        t = self.peek(offset)
        return t is not None and t[0] == "word" and t[1].lower() == word

    def take(self) -> tuple[str, str, int]:
        t = self.peek()
        if t is None:
            raise JQLError("Error in the JQL Query: Expecting either a value, list or function but got 'EOF'. "
                           "You must surround 'EOF' in quotation marks to use it as a value.")
        self.i += 1
        return t

    def fail(self, expected: str) -> JQLError:
        t = self.peek()
        got, where = (t[1], t[2] + 1) if t else ("EOF", len(self.text) + 1)
        return JQLError(f"Error in the JQL Query: Expecting {expected} but got '{got}'. (line 1, character {where})")

    def parse(self) -> Query:
        where = None
        if self.peek() and not (self.kw("order") and self.kw("by", 1)):
            where = self.or_()
        order: list[tuple[str, bool]] = []
        if self.kw("order"):
            self.i += 1
            if not self.kw("by"):
                raise self.fail("'by'")
            self.i += 1
            while True:
                kind, name, _ = self.take()
                if kind not in ("word", "str"):
                    raise self.fail("a field name")
                desc = False
                if self.kw("asc") or self.kw("desc"):
                    desc = self.take()[1].lower() == "desc"
                order.append((name, desc))
                if self.peek() and self.peek()[1] == ",":
                    self.i += 1
                    continue
                break
        if self.peek() is not None:
            raise self.fail("either 'OR' or 'AND'")
        return Query(where, tuple(order))

    def or_(self) -> object:
        items = [self.and_()]
        while self.kw("or"):
            self.i += 1
            items.append(self.and_())
        return items[0] if len(items) == 1 else BoolOp("or", tuple(items))

    def and_(self) -> object:
        items = [self.unary()]
        while self.kw("and"):
            self.i += 1
            items.append(self.unary())
        return items[0] if len(items) == 1 else BoolOp("and", tuple(items))

    def unary(self) -> object:
        if self.kw("not"):
            self.i += 1
            return Not(self.unary())
        t = self.peek()
        if t is not None and t[1] == "(" and t[0] == "punct":
            self.i += 1
            inner = self.or_()
            if not (self.peek() and self.peek()[1] == ")"):
                raise self.fail("')'")
            self.i += 1
            return inner
        return self.clause()

    def clause(self) -> Clause:
        kind, name, _ = self.take()
        if kind not in ("word", "str") or (kind == "word" and name.lower() in KEYWORDS):
            self.i -= 1
            raise self.fail("a field name")
        t = self.peek()
        if t is None:
            raise self.fail("an operator")
        if t[0] == "op":
            self.i += 1
            return Clause(name, t[1], self.operand())
        low = t[1].lower()
        if low == "in":
            self.i += 1
            return Clause(name, "in", self.operand())
        if low == "not" and self.kw("in", 1):
            self.i += 2
            return Clause(name, "not in", self.operand())
        if low == "is":
            self.i += 1
            op = "is"
            if self.kw("not"):
                self.i += 1
                op = "is not"
            if not (self.kw("empty") or self.kw("null")):
                raise self.fail("'EMPTY' or 'NULL'")
            self.i += 1
            return Clause(name, op, Empty())
        if low in ("was", "changed"):
            from sandbox.jira.jql_history import parse as history  # it builds on this module

            return history(self, name)
        raise self.fail("operator")

    def operand(self) -> Operand:
        t = self.peek()
        if t is not None and t[0] == "punct" and t[1] == "(":
            self.i += 1
            values = [self.item()]
            while self.peek() and self.peek()[1] == ",":
                self.i += 1
                values.append(self.item())
            if not (self.peek() and self.peek()[1] == ")"):
                raise self.fail("')'")
            self.i += 1
            return tuple(values)
        if self.kw("empty") or self.kw("null"):
            self.i += 1
            return Empty()
        return self.value()

    def item(self) -> Value | Func | Empty:
        """A list's item: a value, a function or EMPTY (`assignee in (currentUser(), EMPTY)`)."""
        if self.kw("empty") or self.kw("null"):
            self.i += 1
            return Empty()
        return self.value()

    def value(self) -> Value | Func:
        kind, raw, _ = self.take()
        if kind == "str":
            return Value(raw, True)
        if kind != "word" or raw.lower() in KEYWORDS - {"empty", "null"}:
            self.i -= 1
            raise self.fail("either a value, list or function")
        nxt = self.peek()
        if nxt is not None and nxt[0] == "punct" and nxt[1] == "(":
            self.i += 1
            args: list[str] = []
            while not (self.peek() and self.peek()[1] == ")"):
                _k, a, _ = self.take()
                if a != ",":
                    args.append(a)
            self.i += 1
            return Func(raw.lower(), tuple(args), raw)
        return Value(raw)


def parse(text: str) -> Query:
    """Parse JQL; raises JQLError with Jira's message on syntax errors."""
    return _Parser(text or "").parse()
