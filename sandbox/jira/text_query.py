"""The text query of JQL's `~` / `!~` (summary, description, environment, comment, text): Jira's search syntax
for text fields, read into a predicate over a field's lower-cased text.

Per Atlassian's "Search syntax for text fields" (Cloud): terms joined without an operator must all be
present; `"a phrase"` (escaped as `\\"` inside a JQL string) matches its words in that order; `*` (and `?`,
which Cloud turns into `*`) is a wildcard; the Boolean operators `AND`, `&&`, `+`, `OR`, `||`, `NOT`, `!` and
`-` (all caps) and parentheses combine terms; fuzzy `~`, proximity `~N` and boosting `^N` are ignored.
A single term keeps the emulator's looser match of any text containing it (Jira's stemming also finds
"enabled" for "enable"). [unc] a query of only negated terms matches the texts without them.

Refused as Jira's FreeTextFieldValidator refuses them (400, the JQL error): an empty or blank query, "The field
'<field>' does not support searching for an empty string."; a query Lucene cannot parse (only operators such
as a bare `AND`/`OR`/`NOT`, or a binary operator with nothing on one side), "Unable to parse the text '<query>' for
field '<field>'." ([unc] which other malformed queries Lucene refuses; unbalanced parentheses are tolerated here).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from itertools import pairwise

from sandbox.jira.jql import JQLError

Pred = Callable[[str], bool]
_BREAK = set(' \t\r\n()"')
_SUFFIX = re.compile(r"(?:~\d*(?:\.\d+)?|\^\d+(?:\.\d+)?)+$")  # fuzzy / proximity / boost: ignored


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch in "()":
            out.append((ch, ch))
            i += 1
        elif ch == '"':
            end = text.find('"', i + 1)
            end = n if end < 0 else end
            out.append(("phrase", text[i + 1:end]))
            i = end + 1
            while i < n and not text[i].isspace() and text[i] not in '()"':  # "a b"~3: proximity, ignored
                i += 1
        elif text.startswith("&&", i) or text.startswith("||", i):
            out.append(("op", "AND" if ch == "&" else "OR"))
            i += 2
        elif ch in "+-!" and i + 1 < n and not text[i + 1].isspace():
            out.append(("op", {"+": "PLUS", "-": "NOT", "!": "NOT"}[ch]))
            i += 1
        else:
            j = i
            while j < n and text[j] not in _BREAK:
                j += 2 if text[j] == "\\" else 1
            word = text[i:j]
            out.append(("op", word) if word in ("AND", "OR", "NOT") else ("term", word))
            i = j
    return out


def _pattern(words: list[str]) -> Pred:
    parts = [re.escape(w).replace(r"\*", r"\w*") for w in words]
    rx = re.compile(r"\W+".join(parts))
    return lambda text: rx.search(text) is not None


def _term(word: str) -> Pred:
    word = _SUFFIX.sub("", re.sub(r"\\(.)", r"\1", word)).lower().replace("?", "*")
    if "*" not in word.strip("*"):
        needle = word.strip("*")
        return lambda text: needle in text
    return _pattern([word.strip("*")])


def _phrase(body: str) -> Pred:
    words = [w for w in re.split(r"[^\w*?]+", body.lower().replace("?", "*")) if w.strip("*")]
    return _pattern(words) if words else (lambda text: True)


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens, self.pos = tokens, 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def parse_or(self) -> Pred | None:
        parts = [p for p in [self.parse_and()] if p is not None]
        while self.peek() == ("op", "OR"):
            self.pos += 1
            nxt = self.parse_and()
            if nxt is not None:
                parts.append(nxt)
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else (lambda text: any(p(text) for p in parts))

    def parse_and(self) -> Pred | None:
        parts: list[Pred] = []
        while (tok := self.peek()) is not None and tok not in (("op", "OR"), (")", ")")):
            if tok == ("op", "AND"):
                self.pos += 1
                continue
            unary = self.parse_unary()
            if unary is not None:
                parts.append(unary)
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else (lambda text: all(p(text) for p in parts))

    def parse_unary(self) -> Pred | None:
        tok = self.peek()
        self.pos += 1
        if tok == ("op", "NOT"):
            inner = self.parse_unary()
            return None if inner is None else (lambda text: not inner(text))
        if tok == ("op", "PLUS"):
            return self.parse_unary()
        if tok == ("(", "("):
            inner = self.parse_or()
            if self.peek() == (")", ")"):
                self.pos += 1
            return inner
        if tok is not None and tok[0] == "phrase":
            return _phrase(tok[1])
        if tok is not None and tok[0] == "term":
            return _term(tok[1])
        return None  # a stray operator or ')'


def _check(query: str, field: str, tokens: list[tuple[str, str]]) -> None:
    if not query.strip():
        raise JQLError(f"The field '{field}' does not support searching for an empty string.")
    kinds = [k if k != "op" else v for k, v in tokens]
    binary = ("AND", "OR")
    no_term = not any(k in ("term", "phrase") for k in kinds)
    if tokens and tokens[-1] in (("term", "+"), ("term", "-"), ("term", "!")):  # `BAD +`: nothing after it
        kinds[-1] = "PLUS"
    dangling = kinds[0] in binary or kinds[-1] in (*binary, "NOT", "PLUS") or any(
        a in binary and b in binary for a, b in pairwise(kinds))
    if no_term or dangling:
        raise JQLError(f"Unable to parse the text '{query}' for field '{field}'.")


def compile_text(query: str, field: str | None = None) -> Pred:
    """A predicate over lower-cased field text for a `~` operand (an empty query matches any text). With the
    clause's `field` the query is first checked as Jira does (JQLError when refused)."""
    tokens = _tokens(query)
    if field is not None:
        _check(query, field, tokens)
    parser = _Parser(tokens)
    pred = parser.parse_or()
    while parser.pos < len(parser.tokens):  # text after an unbalanced ')': more terms to AND in
        parser.pos += 1
        rest = parser.parse_or()
        if rest is not None:
            pred = rest if pred is None else (lambda text, a=pred, b=rest: a(text) and b(text))
    return pred if pred is not None else (lambda text: True)
