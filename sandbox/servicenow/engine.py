"""Query execution: filter + order a table for an encoded query, with a result cache.

Plan: a single-block query ordered by `sys_updated_on[,sys_id]` or by `sys_id` (the connector delta
query and PySNC's default order) is answered from the table's sorted indexes, as a database would:
- if a range condition on the *other* indexed field selects fewer rows than the order field's own
  range (a delta: `sys_updated_on>=<recent>^ORDERBYsys_id`), take those rows from that index, filter
  the rest and sort them;
- otherwise filter the non-range conditions over the whole index once (cached per table version),
  then bisect the order field's range conditions on that list. Keyset paging
  (`sys_id>last^sys_id<end`) then costs a bisect per page instead of a scan.
Anything else scans the rows in insertion order and sorts (stable; a reference field by its display
value). Results (row lists) are cached per (table, table version, parsed query, versions of the tables it
joins), so paging a large result by offset costs a slice per page. Queries with JOIN/RLQUERY/SUBQUERY
parts are evaluated by `related`.
"""

from __future__ import annotations

import threading
from bisect import bisect_left, bisect_right
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from sandbox.servicenow import date_compare, journal_query, query_ops, related, roles
from sandbox.servicenow.query import Condition, Query, predicate
from sandbox.servicenow.render import field_of

RANGE_OPS = frozenset({"=", ">", ">=", "<", "<="})
_BOOLEAN = {"1": "true", "0": "false", "true": "true", "false": "false"}  # `active=1` is `active=true`
TEXT_OPS = frozenset({"LIKE", "NOTLIKE", "NOT LIKE", "STARTSWITH", "ENDSWITH", "CONTAINS", "DOES NOT CONTAIN"})
_INDEX_ORDERS = {
    (("sys_updated_on", False),): ("sys_updated_on", False),
    (("sys_updated_on", False), ("sys_id", False)): ("sys_updated_on", False),
    (("sys_updated_on", True),): ("sys_updated_on", True),
    (("sys_updated_on", True), ("sys_id", True)): ("sys_updated_on", True),
    (("sys_id", False),): ("sys_id", False),
    (("sys_id", True),): ("sys_id", True),
}


def _num_key(get: Callable[[int], str]) -> Callable[[int], tuple[int, float | str]]:
    def key(r: int) -> tuple[int, float | str]:
        raw = get(r)
        try:
            return (1, float(raw))
        except ValueError:
            return (0 if raw == "" else 2, raw)

    return key


class QueryEngine:
    """Evaluates parsed queries against `Table`/`TaskView` objects; LRU cache of result row lists."""

    def __init__(self, max_entries: int = 32, max_filtered: int = 8) -> None:
        self.max_entries = max_entries
        self.max_filtered = max_filtered
        self._cache: OrderedDict[Any, list[int]] = OrderedDict()
        # Whole-index results of the non-range conditions, kept apart so one-off keyset pages
        # cannot evict them.
        self._filtered: OrderedDict[Any, list[int]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def run(self, source: Any, query: Query) -> list[int]:
        """Matching rows in result order (callers must not mutate the list)."""
        query = by_display(source, query)
        key = (source.cache_key(), query, related.dependencies(source.store, query) if query.related or query.joins
               else (), _other_tables(source.store, query))
        with self._lock:
            rows = self._cache.get(key)
            if rows is not None:
                self._cache.move_to_end(key)
                self.hits += 1
                return rows
        rows = self._evaluate(source, query)
        with self._lock:
            self.misses += 1
            self._cache[key] = rows
            while len(self._cache) > self.max_entries:
                self._cache.popitem(last=False)
        return rows

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()
            self._filtered.clear()

    # --- evaluation ---------------------------------------------------------------------------
    def _evaluate(self, source: Any, query: Query) -> list[int]:
        blocks = []
        for block in query.blocks:
            terms = [tuple(c for c in term if source.has_field(c.field) or c.op == "TEXTQUERY") for term in block]
            blocks.append([t for t in terms if t])
        order = tuple((f, d) for f, d in query.order if source.has_field(f) and journal_query.sortable(source, f))
        if query.joins or query.related:
            rows = related.filter_rows(source, blocks, query, compile_condition, self._filter)
            return _sorted(source, rows, order)
        planned = _INDEX_ORDERS.get(order)
        if len(blocks) == 1 and planned is not None:
            field, desc = planned
            index = source.index(field)
            if index is not None:
                rows = self._indexed(source, index, field, blocks[0])
                if desc:
                    rows.reverse()
                return rows
        base = source.alive_rows()
        if len(blocks) == 1:
            rows = self._filter(source, base, blocks[0])
        else:
            matched: set[int] = set()
            for block in blocks:
                matched.update(self._filter(source, base, block))
            rows = [r for r in base if r in matched]
        return _sorted(source, rows, order)

    def _indexed(self, source: Any, index: Any, field: str, terms: list[tuple[Condition, ...]]) -> list[int]:
        """Rows of one AND-block in ``index`` order (ascending), using the cheaper index (module doc)."""
        bounds = _bounds(terms, field)
        rest = [t for t in terms if not _is_range(t, field)]
        if not rest:
            return index.range(bounds)
        for other in ("sys_updated_on", "sys_id"):
            other_bounds = _bounds(rest, other)
            if other == field or not other_bounds:
                continue
            other_index = source.index(other)
            lo, hi = other_index.span(other_bounds)
            if hi - lo < index.count(bounds):
                rows = self._filter(source, other_index.rows[lo:hi],
                                    [t for t in terms if not _is_range(t, other)])
                key, data = index.key, source.rows
                rows.sort(key=lambda r: key(data[r]))
                return rows
        cache_key = (source.cache_key(), field, tuple(rest), _other_tables(source.store, None, rest))
        with self._lock:
            filtered = self._filtered.get(cache_key)
            if filtered is not None:
                self._filtered.move_to_end(cache_key)
        if filtered is None:
            filtered = self._filter(source, index.rows, rest)
            with self._lock:
                self._filtered[cache_key] = filtered
                while len(self._filtered) > self.max_filtered:
                    self._filtered.popitem(last=False)
        value, data = index.value, source.rows
        lo, hi = 0, len(filtered)
        for op, literal in bounds:
            if op in (">=", "="):
                lo = max(lo, bisect_left(filtered, literal, key=lambda r: value(data[r])))
            if op in (">", "<="):
                at = bisect_right(filtered, literal, key=lambda r: value(data[r]))
                lo, hi = (max(lo, at), hi) if op == ">" else (lo, min(hi, at))
            if op in ("<", "="):
                at = (bisect_left if op == "<" else bisect_right)(filtered, literal, key=lambda r: value(data[r]))
                hi = min(hi, at)
        return filtered[lo:hi] if lo < hi else []

    @staticmethod
    def _filter(source: Any, rows: list[int], terms: list[tuple[Condition, ...]]) -> list[int]:
        rows = list(rows)
        for term in terms:
            preds = [compile_condition(source, c) for c in term]
            if len(preds) == 1:
                p = preds[0]
                rows = [r for r in rows if p(r)]
            else:
                rows = [r for r in rows if any(p(r) for p in preds)]
        return rows


def compile_condition(source: Any, c: Condition) -> Callable[[int], bool]:
    """One condition on `source` as row -> bool. The text operators (LIKE, STARTSWITH, ...) test a
    reference field's display value, as the condition builder's "starts with" on "Assigned to" does."""
    if c.op == "TEXTQUERY":
        return query_ops.text_search(source, c.value, c.field.partition("!")[2].split(","),
                                     lambda f: journal_query.entry_text(source, f))
    if c.op == "INSTANCEOF":
        family, get = query_ops.class_family(source.store, c.value), source.getter(c.field)
        return lambda r: get(r) in family
    if c.op in query_ops.RELATIVE_FIELD_OPS:
        other_field = c.value.partition("@")[0]
        test = query_ops.relative_field(c.op, c.value, source.getter(c.field), source.getter(other_field)) \
            if source.has_field(other_field) else None
        return test or (lambda r: True)  # not understood: ignored, like other invalid conditions
    if c.op in ("SAMEAS", "NSAMEAS") and "@" in c.value:  # "is same Week as" (`date_compare`)
        other_name = date_compare.other_field(c.value)
        test = date_compare.same_part(c.op, c.value, source.getter(c.field), source.getter(other_name)) \
            if source.has_field(other_name) else None
        return test or (lambda r: True)  # not understood: ignored, like other invalid conditions
    if c.op not in query_ops.FIELD_OPS:  # a journal field's condition tests its entries (`journal_query`)
        journal = journal_query.compile_journal(source, c)
        if journal is not None:
            return journal
    other = source.getter(c.value) if c.op in query_ops.FIELD_OPS and source.has_field(c.value) else None
    field = c.field
    if c.op in TEXT_OPS:
        schema_field = field_of(source, field, source.store)
        is_ref = schema_field is not None and schema_field.kind == "reference"
        target = source.store.tables.get(schema_field.ref) if is_ref else None  # type: ignore[union-attr]
        if target is not None and source.has_field(f"{field}.{target.schema.display}"):
            shown, raw = source.getter(f"{field}.{target.schema.display}"), source.getter(field)
            # a value with no record behind it shows as itself (sys_domain "global")
            return predicate(c, lambda r: shown(r) or raw(r), False, other)
    if field.rpartition(".")[2] == roles.FIELD and field_of(source, field, source.store) is None:
        test = roles.membership(c.op, c.value, source.getter(field))
        if test is not None:
            return test
    if source.kinds.get(field) == "boolean" and c.op in ("=", "!=", "IN", "NOT IN"):  # stored as 1/0
        c = replace(c, value=",".join(_BOOLEAN.get(v.strip().lower(), v) for v in c.value.split(",")))
    return predicate(c, source.getter(field), source.kinds.get(c.field) == "integer", other)


def _other_tables(store: Any, query: Query | None, terms: Any = None) -> tuple[int, ...]:
    """Versions of every table when a condition (of `terms`, else of the query) may read another
    table's records (a dot-walk, a text operator on a reference's display value, a journal field's
    entries, also inside a JOIN / RLQUERY / SUBQUERY), so a change there is not answered from a cache."""
    if terms is None and query is not None:
        terms = [t for b in query.blocks for t in b]
        terms += [t for j in query.joins for t in j.where] + [t for r in query.related for b in r.where for t in b]
    terms = terms or []
    reads = any("." in c.field or c.op in TEXT_OPS or c.op == "TEXTQUERY" or c.field == roles.FIELD
                or journal_query.names_journal(c.field) for t in terms for c in t)
    if not reads and (query is None or not any("." in f for f, _ in query.order)):
        return ()
    return tuple(t.version for t in store.tables.values())


def by_display(source: Any, query: Query) -> Query:
    """ORDERBY a reference field sorts by the referenced record's display value, as the platform does
    (`ORDERBYassigned_to` orders by the assignee's name); the order reads as that dot-walk."""
    schema = getattr(source, "schema", None) or source.parts[0].schema
    order = []
    for name, desc in query.order:
        f = schema.get(name)
        target = source.store.tables.get(f.ref) if f is not None and f.kind == "reference" and f.ref else None
        display = target.schema.display if target is not None else "sys_id"
        order.append((f"{name}.{display}" if display != "sys_id" else name, desc))
    return query if tuple(order) == query.order else replace(query, order=tuple(order))


def _sorted(source: Any, rows: list[int], order: tuple[tuple[str, bool], ...]) -> list[int]:
    for field, desc in reversed(order):
        get = source.getter(field)
        key = _num_key(get) if source.kinds.get(field) == "integer" else get
        rows.sort(key=key, reverse=desc)
    return rows


def _is_range(term: tuple[Condition, ...], field: str) -> bool:
    """A bound the index can bisect (an "=" with letters in another case is left to the case-blind filter)."""
    c = term[0]
    return len(term) == 1 and c.field == field and c.op in RANGE_OPS and (c.op != "=" or c.value == c.value.lower())


def _bounds(terms: list[tuple[Condition, ...]], field: str) -> list[tuple[str, str]]:
    return [(t[0].op, t[0].value) for t in terms if _is_range(t, field)]
