"""The string operators MATCH_RGX ("matches regex") and MATCH_PAT ("matches pattern") of encoded queries.

- `<field>MATCH_RGX<regex>`: the regular expression (Java syntax) matches the field's WHOLE value, as Java's
  `String.matches` does [unc: ServiceNow's own quota rules write `urlMATCH_RGX.*/api/now(/v[0-9]+)?/table.*`,
  and scripts wrap a search in `.*...*`, so the platform anchors it].
- `<field>MATCH_PAT<pattern>`: `*` stands for any run of characters, `?` for exactly one, everything else for
  itself, over the whole value ("*story matches the story"; the docs' field normalization patterns).
Both ignore case, as GlideRecord queries do (the GlideFilter API documents that queries are case-insensitive)
[unc], and, like every comparison but ISEMPTY / ANYTHING, never match an empty (NULL) value [unc]. A regex
Java would refuse (`[unclosed`) matches nothing [unc: GlideFilter's match answers false]. Java-isms: an inline
`(?i)` anywhere applies to the whole pattern (it is moot, case is ignored anyway); `\\d \\w \\s` are ASCII, `.`
stops at line terminators unless `(?s)`.

The regex runs on a Thompson NFA built from Python's own parse of it (no backtracking): `(a+)+$` on a long value
costs the value's length times the pattern's size, not exponential time, so a hostile query cannot stall the
emulator. Lookahead works; lookbehind and back-references, a pattern over 1,000 characters or 4,000 states, and
an evaluation past its step budget are refused with a 400, like other queries the sandbox cannot evaluate
faithfully (`query`)."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from re import _constants as C  # Python's own regex parser (3.11): stable within the pinned version
from re import _parser as P

from sandbox.core.http import HTTPError

OPS = frozenset({"MATCH_RGX", "MATCH_PAT"})
MAX_PATTERN = 1000
MAX_STATES = 4000
STEP_BUDGET = 20_000_000  # NFA steps one condition may take over every row of one query
_CHAR, _SPLIT, _ASSERT, _LOOK, _MATCH = range(5)
_LINE_ENDS = "\n\r\x85\u2028\u2029"
_SPACE = " \t\n\x0b\f\r"
_INLINE = re.compile(r"\(\?([imsux]+)\)")


class Unsupported(ValueError):
    """A construct the NFA does not evaluate (back-reference, lookbehind) or a pattern too large."""


def _word(c: str) -> bool:
    return c.isascii() and (c.isalnum() or c == "_")


def _category(cat: object, c: str) -> bool:
    name = str(cat)
    test = {"DIGIT": lambda: "0" <= c <= "9", "SPACE": lambda: c in _SPACE, "WORD": lambda: _word(c)}
    kind = name.rsplit("_", 1)[1]
    if kind not in test:
        raise Unsupported(name)
    return test[kind]() != ("_NOT_" in name)


def _folds(c: str, ic: bool) -> tuple[str, ...]:
    return (c, c.lower(), c.upper()) if ic else (c,)


def _char_test(op: object, av: object, ic: bool, dotall: bool) -> Callable[[str], bool]:
    if op is C.ANY:
        return (lambda c: True) if dotall else (lambda c: c not in _LINE_ENDS)
    if op in (C.LITERAL, C.NOT_LITERAL):
        want = frozenset(_folds(chr(av), ic))  # type: ignore[arg-type]

        def hit(c: str) -> bool:
            return any(x in want for x in _folds(c, ic))

        return hit if op is C.LITERAL else (lambda c: not hit(c))
    if op is C.IN:
        items = list(av)  # type: ignore[call-overload]
        negate = bool(items) and items[0][0] is C.NEGATE
        tests = [_in_item(o, a, ic) for o, a in (items[1:] if negate else items)]
        return lambda c: any(t(c) for t in tests) != negate
    raise Unsupported(str(op))


def _in_item(op: object, av: object, ic: bool) -> Callable[[str], bool]:
    if op is C.LITERAL:
        return _char_test(C.LITERAL, av, ic, False)
    if op is C.RANGE:
        lo, hi = av  # type: ignore[misc]
        return lambda c: any(lo <= ord(x) <= hi for x in _folds(c, ic))
    if op is C.CATEGORY:
        _category(av, "a")  # refuses a category it does not know now, not per character
        return lambda c: _category(av, c)
    raise Unsupported(str(op))


class _Program:
    """The NFA: parallel lists of kind, argument and the two successors of each state."""

    def __init__(self) -> None:
        self.kind: list[int] = []
        self.arg: list[object] = []
        self.out1: list[int] = []
        self.out2: list[int] = []

    def add(self, kind: int, arg: object = None, out1: int = -1, out2: int = -1) -> int:
        if len(self.kind) >= MAX_STATES:
            raise Unsupported("too many states")
        for lst, v in ((self.kind, kind), (self.arg, arg), (self.out1, out1), (self.out2, out2)):
            lst.append(v)  # type: ignore[attr-defined]
        return len(self.kind) - 1

    def build(self, items: list, nxt: int, flags: int) -> int:
        for op, av in reversed(items):
            nxt = self.item(op, av, nxt, flags)
        return nxt

    def item(self, op: object, av: object, nxt: int, flags: int) -> int:
        ic, dotall = bool(flags & C.SRE_FLAG_IGNORECASE), bool(flags & C.SRE_FLAG_DOTALL)
        if op in (C.LITERAL, C.NOT_LITERAL, C.ANY, C.IN):
            return self.add(_CHAR, _char_test(op, av, ic, dotall), nxt)
        if op is C.SUBPATTERN:
            _group, add, delete, sub = av  # type: ignore[misc]
            return self.build(list(sub), nxt, (flags | add) & ~delete)
        if op is C.ATOMIC_GROUP:  # matched as a plain group: a yes/no answer rarely differs [unc]
            return self.build(list(av), nxt, flags)  # type: ignore[call-overload]
        if op is C.BRANCH:
            starts = [self.build(list(alt), nxt, flags) for alt in av[1]]  # type: ignore[index]
            head = starts[-1]
            for s in reversed(starts[:-1]):
                head = self.add(_SPLIT, None, s, head)
            return head
        if op in (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT):
            lo, hi, sub = av  # type: ignore[misc]
            body, before = list(sub), len(self.kind)
            if self.build(body, nxt, flags) == nxt and len(self.kind) == before:
                return nxt  # an empty body ((?:){4000000000}) repeats nothing: no loop of billions of turns
            if hi is C.MAXREPEAT:
                loop = self.add(_SPLIT, None, -1, nxt)
                self.out1[loop] = self.build(body, loop, flags)
                nxt = loop
            else:
                for _ in range(hi - lo):
                    nxt = self.add(_SPLIT, None, self.build(body, nxt, flags), nxt)
            for _ in range(lo):
                nxt = self.build(body, nxt, flags)
            return nxt
        if op is C.AT:
            return self.add(_ASSERT, (av, bool(flags & C.SRE_FLAG_MULTILINE)), nxt)
        if op in (C.ASSERT, C.ASSERT_NOT):
            direction, sub = av  # type: ignore[misc]
            if direction != 1:
                raise Unsupported("lookbehind")
            start = self.build(list(sub), self.add(_MATCH), flags)
            return self.add(_LOOK, (start, op is C.ASSERT_NOT), nxt)
        raise Unsupported(str(op))  # GROUPREF, GROUPREF_EXISTS, ...


class _Run:
    """One evaluation budget (shared by every value a condition tests in one query)."""

    def __init__(self, prog: _Program) -> None:
        self.prog, self.steps = prog, 0

    def holds(self, at: object, s: str, pos: int) -> bool:
        where, multiline = at  # type: ignore[misc]
        n = len(s)
        if where in (C.AT_BEGINNING, C.AT_BEGINNING_STRING):
            return pos == 0 or (multiline and where is C.AT_BEGINNING and s[pos - 1] == "\n")
        if where is C.AT_END:
            return pos == n or (pos == n - 1 and s[-1] == "\n") or (multiline and s[pos] == "\n")
        if where is C.AT_END_STRING:
            return pos == n
        if where in (C.AT_BOUNDARY, C.AT_NON_BOUNDARY):
            edge = (pos > 0 and _word(s[pos - 1])) != (pos < n and _word(s[pos]))
            return edge == (where is C.AT_BOUNDARY)
        raise Unsupported(str(where))

    def closure(self, starts: list[int], s: str, pos: int, looks: dict) -> list[int]:
        p, out, seen, stack = self.prog, [], set(), list(starts)
        while stack:
            i = stack.pop()
            if i < 0 or i in seen:
                continue
            seen.add(i)
            k = p.kind[i]
            if k == _SPLIT:
                stack += (p.out2[i], p.out1[i])
            elif k == _ASSERT:
                if self.holds(p.arg[i], s, pos):
                    stack.append(p.out1[i])
            elif k == _LOOK:
                start, negated = p.arg[i]  # type: ignore[misc]
                key = (start, pos)
                if key not in looks:
                    looks[key] = self.run(start, s, pos, full=False, looks=looks)
                if looks[key] != negated:
                    stack.append(p.out1[i])
            else:
                out.append(i)
        self.steps += len(seen)
        if self.steps > STEP_BUDGET:
            raise HTTPError(400, "Invalid encoded query", "MATCH_RGX: the sandbox gives up on a regex this costly "
                            "over these values; narrow the query with another condition")
        return out

    def run(self, start: int, s: str, pos: int = 0, full: bool = True, looks: dict | None = None) -> bool:
        p, looks = self.prog, {} if looks is None else looks
        current = self.closure([start], s, pos, looks)
        for at in range(pos, len(s)):
            if not full and any(p.kind[i] == _MATCH for i in current):
                return True
            c = s[at]
            moved = [p.out1[i] for i in current if p.kind[i] == _CHAR and p.arg[i](c)]  # type: ignore[operator]
            if not moved:
                return False
            current = self.closure(moved, s, at + 1, looks)
        return any(p.kind[i] == _MATCH for i in current)


@lru_cache(maxsize=64)
def _compile(pattern: str) -> tuple[_Program, int] | None:
    """(program, start) for a regex, case ignored; None when it is not a valid regex."""
    if len(pattern) > MAX_PATTERN:
        raise HTTPError(400, "Invalid encoded query", f"MATCH_RGX: the sandbox evaluates patterns of at most "
                        f"{MAX_PATTERN} characters")
    flags = "".join(sorted(set("".join(_INLINE.findall(pattern)))))  # Java's mid-pattern (?i): global here
    text = (f"(?{flags})" if flags else "") + _INLINE.sub("", pattern)
    try:
        parsed = P.parse(text, re.IGNORECASE)
    except (re.error, RecursionError, OverflowError):
        return None
    prog = _Program()
    try:
        start = prog.build(list(parsed), prog.add(_MATCH), parsed.state.flags)
    except (Unsupported, RecursionError) as exc:
        raise HTTPError(400, "Invalid encoded query", f"MATCH_RGX: the sandbox cannot evaluate this regex "
                        f"({str(exc)[:40]})") from None
    return prog, start


def _wildcards(pattern: str) -> str:
    return "(?s)" + "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)


def check(op: str, value: str) -> None:
    """Refuse (400) now a pattern the sandbox will not evaluate, before any row is read."""
    _compile(value if op == "MATCH_RGX" else _wildcards(value))


def matcher(op: str, value: str, get: Callable[[int], str]) -> Callable[[int], bool]:
    """row -> bool for `MATCH_RGX` / `MATCH_PAT` (see the module doc)."""
    compiled = _compile(value if op == "MATCH_RGX" else _wildcards(value))
    if compiled is None:
        return lambda r: False
    prog, start = compiled
    run, seen = _Run(prog), {}

    def test(r: int) -> bool:
        text = get(r)
        if text == "":
            return False
        if text not in seen:
            if len(seen) > 10_000:
                seen.clear()
            seen[text] = run.run(start, text)
        return seen[text]

    return test
