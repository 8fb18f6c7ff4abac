"""Evaluation of the queries that reach other tables: JOIN, RLQUERY and SUBQUERY (see `query`).

Grain: one pass over the queried table's live rows. Each joined or related table is read once per
query into a set (or a count) keyed by the joining value, so a row costs a dict lookup per segment:
- JOIN i: the values of `other_field` over all live `other` rows in the join's scope (a row needs one:
  an inner join, `^OR` or not) and over the rows that also match the join's conditions (what its JOIN
  condition tests);
- RLQUERY: how many matching `other` rows point at each sys_id (0 when none: the platform's LEFT JOIN);
- SUBQUERY: the values of `other_field` over matching `other` rows.
Empty values never match, as SQL NULLs do not.

ACLs on the other table (`Query.viewer`, set by `acl.viewer` for a caller without admin): the other
table's rows are those the caller may read (`acl.row_filter`), as an instance evaluates the joined
table's ACLs; a JOIN, RLQUERY or SUBQUERY on a table it may read nothing of (the admin-only sys_script and
sys_properties, `acl.ADMIN_TABLES`, for every non-admin; any table but its own records' for a self-service
user) matches no rows, `,=0` counts too, so its conditions cannot be used to read that table blind.
[unc: an instance's exact answer (no rows, or an ACL error) to a related query on a table it may not
read was not seen; no rows here]
"""

from __future__ import annotations

import operator
from collections import Counter
from collections.abc import Callable
from typing import Any

from sandbox.servicenow import acl
from sandbox.servicenow.query import Condition, Join, Query, Related, Terms, invalid

_COMPARE = {"=": operator.eq, "!=": operator.ne, ">": operator.gt, ">=": operator.ge, "<": operator.lt,
            "<=": operator.le}
Filter = Callable[[Any, list[int], list[tuple[Condition, ...]]], list[int]]


def dependencies(store: Any, query: Query) -> tuple[Any, ...]:
    """Cache-key parts of every other table the query reads (their versions); with a viewer, of every
    table, as its ACLs read roles, carts and the records of attachments and journal entries."""
    if query.viewer:
        return tuple(t.version for t in store.tables.values())
    names = [j.other for j in query.joins] + [r.other for r in query.related]
    return tuple(s.cache_key() for s in (store.source(n) for n in names) if s is not None)


def _other(store: Any, name: str, field: str, what: str) -> Any:
    source = store.source(name)
    if source is None:
        raise invalid(f"{what}: unknown table {name!r}")
    if not source.has_field(field):
        raise invalid(f"{what}: table {name!r} has no field {field!r}")
    return source


def _visible(other: Any, viewer: str) -> list[int] | None:
    """The live rows of `other` the viewer may read ("": all), None when it may read none (module doc)."""
    rows = other.alive_rows()
    if not viewer:
        return rows
    allowed = acl.row_filter(other.store, other, viewer)
    if allowed is acl.nothing:
        return None
    return rows if allowed is None else [r for r in rows if allowed(r)]


def _where(source: Any, rows: list[int], blocks: tuple[Terms, ...], run: Filter) -> list[int]:
    """Rows of `source` matching OR'ed blocks of terms (unknown fields ignored, as in the main query)."""
    matched: set[int] = set()
    for block in blocks:
        terms = [t for t in (tuple(c for c in term if source.has_field(c.field) or c.op == "TEXTQUERY")
                             for term in block) if t]
        matched.update(run(source, rows, terms))
    return [r for r in rows if r in matched] if len(blocks) > 1 else sorted(matched)


def _join_sets(source: Any, join: Join, run: Filter, viewer: str) -> tuple[frozenset[str], frozenset[str]]:
    names = {source.name, source.schema.parent}
    if join.table not in names:
        raise invalid(f"JOIN{join.table}.{join.field}: the sandbox joins only from the queried table "
                      f"({source.name}); chained joins from a joined table are not supported")
    if not source.has_field(join.field):
        raise invalid(f"JOIN: table {source.name!r} has no field {join.field!r}")
    other = _other(source.store, join.other, join.other_field, "JOIN")
    get, alive = other.getter(join.other_field), _visible(other, viewer)
    if alive is None:  # a table the caller may not read: no row has a match
        return frozenset(), frozenset()
    if join.scope:  # the rows the caller may see (`related_acl`): the inner join needs one of them
        alive = _where(other, alive, (join.scope,), run)
    every = frozenset(v for v in map(get, alive) if v)
    if not join.where:
        return every, every
    matching = _where(other, alive, (join.where,), run)
    return every, frozenset(v for v in map(get, matching) if v)


def _related_test(source: Any, rel: Related, run: Filter, viewer: str) -> Callable[[int], bool]:
    what = "RLQUERY" if rel.kind == "RL" else "SUBQUERY"
    if not source.has_field(rel.field):
        raise invalid(f"{what}: table {source.name!r} has no field {rel.field!r}")
    other = _other(source.store, rel.other, rel.other_field, what)
    get, mine = other.getter(rel.other_field), source.getter(rel.field)
    visible = _visible(other, viewer)
    if visible is None:  # a table the caller may not read: no row matches, whatever the count asked
        return lambda r: False
    matching = _where(other, visible, rel.where, run)
    if rel.kind == "SUB":
        values = frozenset(v for v in map(get, matching) if v)
        return lambda r: mine(r) in values
    counts = Counter(v for v in map(get, matching) if v)
    cmp, n = _COMPARE[rel.op], rel.count
    return lambda r: cmp(counts.get(mine(r), 0), n)


def filter_rows(source: Any, blocks: list[list[tuple[Condition, ...]]], query: Query,
                compile_condition: Callable[[Any, Condition], Callable[[int], bool]], run: Filter) -> list[int]:
    """Live rows of `source` (insertion order) matching a query with JOIN/RLQUERY/SUBQUERY parts."""
    sets = [_join_sets(source, j, run, query.viewer) for j in query.joins]
    required: list[Callable[[int], bool]] = [_related_test(source, rel, run, query.viewer) for rel in query.related]
    for join, (every, _) in zip(query.joins, sets, strict=True):
        get = source.getter(join.field)
        required.append(lambda r, get=get, every=every: get(r) in every)

    def compile_(c: Condition) -> Callable[[int], bool]:
        if c.op != "JOIN":
            return compile_condition(source, c)
        get, matching = source.getter(query.joins[c.join].field), sets[c.join][1]
        return lambda r: get(r) in matching

    compiled = [[[compile_(c) for c in term] for term in block] for block in blocks]
    out = []
    for r in source.alive_rows():
        if all(test(r) for test in required) and any(
                all(any(p(r) for p in term) for term in block) for block in compiled):
            out.append(r)
    return out
