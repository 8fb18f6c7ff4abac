"""What a self-service caller (`acl`) may test inside JOIN, RLQUERY and SUBQUERY (see `query`, `related`).

The top-level query of such a caller loses its conditions on the work notes (`acl.readable_query`), and
its sys_journal_field reads answer the comments of records it may read, never work notes. The parts of
a query that reach other tables follow the same rules, so a caller cannot learn what the notes hold by
counting them:
- a condition on `work_notes` / `comments_and_work_notes` (or a dot-walk ending in one) in a JOIN's,
  RLQUERY's or SUBQUERY's conditions is dropped like an invalid one (listed in `Query.ignored`, so
  glide.invalid_query.returns_no_rows=true answers no rows);
- a JOIN, RLQUERY or SUBQUERY on sys_journal_field sees only its rows of element `comments`, as the
  caller's own sys_journal_field query does (a JOIN's scope, `query.Join`, so its inner-join check,
  which holds under `^OR` too, cannot find a work-note row either):
  `RLQUERYsys_journal_field.element_id,>=1^element=work_notes^ENDRLQUERY` matches none of its records,
  `...,=0^element=work_notes...` all of them.
[unc: how an instance applies field and row ACLs to the SQL of a related-list or sub-query was not seen;
the rules here are the top-level ones carried over.]
"""

from __future__ import annotations

from dataclasses import replace

from sandbox.servicenow.journal import JOURNAL_TABLE
from sandbox.servicenow.query import Condition, Query, Terms

_COMMENTS_ONLY = (Condition("element", "=", "comments"),)


def readable(query: Query, hidden: frozenset[str]) -> Query:
    """`query` with its JOIN / RLQUERY / SUBQUERY conditions cut to what the caller may test (module doc)."""
    if not query.joins and not query.related:
        return query
    dropped: list[str] = []

    def unreadable(c: Condition) -> bool:
        return c.op not in ("JOIN", "TEXTQUERY") and c.field.rpartition(".")[2] in hidden

    def keep(terms: Terms, other: str, scoped: bool = False) -> Terms:
        dropped.extend(f"{c.field}{c.op}{c.value}" for t in terms for c in t if unreadable(c))
        kept = tuple(term for term in (tuple(c for c in t if not unreadable(c)) for t in terms) if term)
        return (*kept, _COMMENTS_ONLY) if other == JOURNAL_TABLE and not scoped else kept

    joins = tuple(replace(j, where=keep(j.where, j.other, True), scope=(*j.scope, _COMMENTS_ONLY))
                  if j.other == JOURNAL_TABLE else replace(j, where=keep(j.where, j.other)) for j in query.joins)
    related = tuple(replace(r, where=tuple(keep(b, r.other) for b in r.where)) for r in query.related)
    return replace(query, joins=joins, related=related, ignored=(*query.ignored, *dropped))

