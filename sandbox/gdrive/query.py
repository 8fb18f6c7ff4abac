"""Drive's ``q`` search language (v3 "search query terms"): terms joined by ``and`` / ``or``, negated
by ``not``, grouped in parentheses.

- ``name`` =, !=, contains (contains is a case-insensitive prefix match on the name or one of its
  words, as Drive documents: ``'Hello'`` finds ``HelloWorld``, ``'World'`` does not);
- ``fullText contains`` (name, description, text content or ``contentHints.indexableText``;
  ``'"a phrase"'`` in double quotes: that phrase); ``mimeType`` =, !=, contains;
- ``createdTime`` / ``modifiedTime`` / ``viewedByMeTime`` with <, <=, =, !=, >, >= and an RFC 3339 value
  (UTC when it has no offset);
- ``trashed`` / ``starred`` / ``sharedWithMe`` =, != ``true|false``, or bare (``q=sharedWithMe``: true;
  items shared with the caller themselves, not what they reach through a shared folder, as Drive's
  "Shared with me");
  ``visibility`` =, !=;
- ``'<id>' in parents`` (``'root'``: the caller's My Drive), ``'<email>' in owners|writers|readers`` (``'me'``:
  the caller);
- ``properties`` / ``appProperties has { key='k' and value='v' }``.

Anything else (an unknown field, an operator the field does not take, a syntax error) is a
``ValueError``: Drive's 400 "Invalid Value" on ``q``."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime

from sandbox.gdrive.extras import indexable_text
from sandbox.gdrive.spaces import alias
from sandbox.gdrive.store import DriveFile

Pred = Callable[[DriveFile, str], bool]  # (file, caller) -> matches
LEX = re.compile(r"""\s*(?:(?P<str>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")|(?P<op><=|>=|!=|=|<|>)|(?P<p>[(){}])
                      |(?P<word>[A-Za-z_][\w.]*)|(?P<num>[0-9]{1,18}))""", re.X)  # num: drives.list's counts
# (num in ASCII digits, not \d+: '٣' read as 3, 5,000 digits int()'s ValueError [round 27])
COMPARE = {"=": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
           "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b}
TIMES = {"createdTime": "created", "modifiedTime": "modified", "viewedByMeTime": "modified"}
FLAGS = {"trashed": lambda f, who: f.in_trash, "starred": lambda f, who: f.starred,
         "sharedWithMe": lambda f, who: f.owner != who and f.role_of(who) is not None}  # shared itself, not inherited
ROLES = {"owners": lambda f: {f.owner}, "writers": lambda f: {f.owner, *f.writers},
         "readers": lambda f: {f.owner, *f.writers, *f.readers, *f.commenters}}


def _time(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _words_start(name: str, prefix: str) -> bool:
    name, prefix = name.casefold(), prefix.casefold()
    return name.startswith(prefix) or any(w.startswith(prefix) for w in re.split(r"[^\w]+|_", name) if w)


def _text(f: DriveFile) -> str:
    return " ".join([f.name, f.description or "", f.content[:1 << 20].decode("utf-8", "ignore"),
                     indexable_text(f)]).casefold()


class _Parser:
    def __init__(self, q: str):
        self.tokens: list[tuple[str, str]] = []
        pos, q = 0, q.strip()
        while pos < len(q):
            m = LEX.match(q, pos)
            if m is None:
                raise ValueError(f"cannot read {q[pos:]!r}")
            kind = m.lastgroup or ""
            self.tokens.append((kind, m.group(kind)))
            pos = m.end()
            while pos < len(q) and q[pos].isspace():
                pos += 1

    def peek(self, word: str) -> bool:
        if not self.tokens:
            return False
        kind, value = self.tokens[0]
        return value.lower() == word if kind == "word" else kind == "p" and value == word

    def take(self, kind: str | None = None, value: str | None = None) -> str:
        if not self.tokens:
            raise ValueError("unexpected end of query")
        k, v = self.tokens.pop(0)
        if (kind and k != kind) or (value and v.lower() != value.lower()):
            raise ValueError(f"unexpected {v!r}")
        return v

    def string(self) -> str:
        raw = self.take("str")
        return re.sub(r"\\(.)", r"\1", raw[1:-1])

    def expr(self) -> Pred:
        left = self.conj()
        while self.peek("or"):
            self.take()
            right, prev = self.conj(), left
            left = lambda f, w, a=prev, b=right: a(f, w) or b(f, w)  # noqa: E731
        return left

    def conj(self) -> Pred:
        left = self.neg()
        while self.peek("and"):
            self.take()
            right, prev = self.neg(), left
            left = lambda f, w, a=prev, b=right: a(f, w) and b(f, w)  # noqa: E731
        return left

    def neg(self) -> Pred:
        if self.peek("not"):
            self.take()
            inner = self.neg()
            return lambda f, w: not inner(f, w)
        if self.peek("("):
            self.take()
            inner = self.expr()
            self.take("p", ")")
            return inner
        return self.term()

    def term(self) -> Pred:
        if self.tokens and self.tokens[0][0] == "str":
            value = self.string()
            self.take("word", "in")
            field = self.take("word")
            if field == "parents":  # 'root': the caller's My Drive root; 'appDataFolder' its app data folder
                return lambda f, w: alias(value, w) in f.parents
            if field in ROLES:  # 'me': the caller
                return lambda f, w: (w if value == "me" else value) in ROLES[field](f)
            raise ValueError(f"'in' is not supported on {field!r}")
        field = self.take("word")
        if field in ("properties", "appProperties"):
            self.take("word", "has")
            self.take("p", "{")
            self.take("word", "key")
            self.take("op", "=")
            key = self.string()
            self.take("word", "and")
            self.take("word", "value")
            self.take("op", "=")
            value = self.string()
            self.take("p", "}")
            attr = "app_properties" if field == "appProperties" else "properties"
            return lambda f, w: getattr(f, attr).get(key) == value
        if field in FLAGS and not (self.tokens and self.tokens[0][0] == "op"):  # bare: ``sharedWithMe``
            return FLAGS[field]
        op = self.take("word", "contains").lower() if self.peek("contains") else self.take("op")
        return self.compare(field, op)

    def compare(self, field: str, op: str) -> Pred:
        if field in FLAGS and op in ("=", "!="):
            flag = self.take("word").lower()
            if flag not in ("true", "false"):
                raise ValueError(f"{field} takes true or false")
            return lambda f, w: COMPARE[op](FLAGS[field](f, w), flag == "true")
        value = self.string()
        if field == "name" and op in ("=", "!=", "contains"):
            return (lambda f, w: _words_start(f.name, value)) if op == "contains" else \
                (lambda f, w: COMPARE[op](f.name, value))
        if field == "mimeType" and op in ("=", "!=", "contains"):
            return (lambda f, w: value in f.mime_type) if op == "contains" else \
                (lambda f, w: COMPARE[op](f.mime_type, value))
        if field == "fullText" and op == "contains":  # '"exact phrase"': the phrase, quotes aside
            needle = (value[1:-1] if len(value) > 1 and value[0] == value[-1] == '"' else value).casefold()
            return lambda f, w: needle in _text(f)
        if field in TIMES and op in COMPARE:
            when = _time(value)
            return lambda f, w: COMPARE[op](_time(getattr(f, TIMES[field])), when)
        if field == "visibility" and op in ("=", "!="):
            return lambda f, w: COMPARE[op](f.visibility(), value)
        if field == "shortcutDetails.targetId" and op in ("=", "!="):
            return lambda f, w: COMPARE[op](f.shortcut_target or "", value)
        raise ValueError(f"{field} {op} is not a Drive search term")


def has_full_text(q: str) -> bool:
    """Whether ``q`` holds a ``fullText`` term (Drive sorts those results by relevance and refuses ``orderBy``)."""
    try:
        return any(kind == "word" and value == "fullText" for kind, value in _Parser(q or "").tokens)
    except ValueError:
        return False


def compile_query(q: str) -> Callable[[DriveFile, str], bool]:
    """A predicate ``(file, caller) -> bool`` for ``q``; ValueError when Drive would refuse it."""
    if not (q or "").strip():
        return lambda f, w: True
    parser = _Parser(q)
    try:
        pred = parser.expr()
    except (IndexError, KeyError) as exc:
        raise ValueError(str(exc)) from None
    if parser.tokens:
        raise ValueError(f"unexpected {parser.tokens[0][1]!r}")
    return pred
