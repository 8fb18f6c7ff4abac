"""The part of Drive's ``q`` search language the evidence store and clients use: clauses joined by
``and``: ``'<id>' in parents``, ``name = '…'`` / ``name contains '…'``, ``mimeType = '…'`` /
``!=``, ``trashed = true|false``, ``modifiedTime > '<RFC 3339>'``,
``appProperties has { key='k' and value='v' }``. Anything else is a 400 "Invalid Value", as Drive
answers for a query it cannot parse."""

from __future__ import annotations

import re
from collections.abc import Callable

from sandbox.gdrive.store import DriveFile

S = r"'((?:[^'\\]|\\.)*)'"
CLAUSES: list[tuple[re.Pattern, Callable[..., Callable[[DriveFile], bool]]]] = [
    (re.compile(rf"^{S}\s+in\s+parents$"), lambda v: lambda f: _u(v) in f.parents),
    (re.compile(rf"^name\s*=\s*{S}$"), lambda v: lambda f: f.name == _u(v)),
    (re.compile(rf"^name\s+contains\s+{S}$"), lambda v: lambda f: _u(v) in f.name),
    (re.compile(rf"^mimeType\s*=\s*{S}$"), lambda v: lambda f: f.mime_type == _u(v)),
    (re.compile(rf"^mimeType\s*!=\s*{S}$"), lambda v: lambda f: f.mime_type != _u(v)),
    (re.compile(r"^trashed\s*=\s*(true|false)$"), lambda v: lambda f: f.trashed == (v == "true")),
    (re.compile(rf"^modifiedTime\s*>\s*{S}$"), lambda v: lambda f: f.modified > _u(v)),
    (re.compile(rf"^appProperties\s+has\s+\{{\s*key\s*=\s*{S}\s+and\s+value\s*=\s*{S}\s*\}}$"),
     lambda k, v: lambda f: f.app_properties.get(_u(k)) == _u(v)),
]


def _u(value: str) -> str:
    return re.sub(r"\\(.)", r"\1", value)


def _split(q: str) -> list[str]:
    parts, depth, quoted, start = [], 0, False, 0
    i = 0
    while i < len(q):
        c = q[i]
        if c == "\\" and quoted:
            i += 2
            continue
        if c == "'":
            quoted = not quoted
        elif not quoted and c in "{}":
            depth += 1 if c == "{" else -1
        elif not quoted and depth == 0 and q[i:i + 5].lower() == " and ":
            parts.append(q[start:i].strip())
            start = i + 5
            i += 5
            continue
        i += 1
    parts.append(q[start:].strip())
    return [p for p in parts if p]


def compile_query(q: str) -> Callable[[DriveFile], bool]:
    """A predicate for ``q``; ValueError names the clause Drive would refuse."""
    tests = []
    for clause in _split(q or ""):
        for pattern, build in CLAUSES:
            m = pattern.match(clause)
            if m:
                tests.append(build(*m.groups()))
                break
        else:
            raise ValueError(f"Invalid Value: unsupported query clause {clause!r}")
    return lambda f: all(t(f) for t in tests)
