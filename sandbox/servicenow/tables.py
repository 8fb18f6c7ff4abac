"""Compact in-memory tables: one tuple of strings per record, plus lookups and sorted indexes.

Grain: `Table` = one ServiceNow table; a row number addresses a record for its lifetime (deleted rows
become None). `TaskView` presents the `task` parent table as the union of its children. Every write
bumps `version`, which keys the query and render caches, so a reader never sees stale results.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sandbox.servicenow import roles
from sandbox.servicenow.schema import TableSchema

if TYPE_CHECKING:
    from sandbox.servicenow.store import Store

Getter = Callable[[int], str]
INDEXED = ("sys_updated_on", "sys_id")


class SortedIndex:
    """Rows alive in a table ordered by (field value, sys_id); bisect gives range scans in O(log n)."""

    def __init__(self, table: Table, field: str) -> None:
        fi, si = table.pos[field], table.pos["sys_id"]
        self.value: Callable[[tuple[str, ...]], str] = lambda t: t[fi]
        self.key: Callable[[tuple[str, ...]], str] = (
            (lambda t: t[si]) if field == "sys_id" else (lambda t: t[fi] + " " + t[si])
        )
        data = table.rows
        order = sorted(table.alive_rows(), key=lambda r: self.key(data[r]))  # type: ignore[index]
        self.keys = [self.key(data[r]) for r in order]  # type: ignore[arg-type]
        self.rows = order
        self._data = data

    def add(self, t: tuple[str, ...], row: int) -> None:
        key = self.key(t)
        pos = bisect_left(self.keys, key)
        self.keys.insert(pos, key)
        self.rows.insert(pos, row)

    def remove(self, t: tuple[str, ...], row: int) -> None:
        pos = bisect_left(self.keys, self.key(t))
        while self.rows[pos] != row:
            pos += 1
        del self.keys[pos], self.rows[pos]

    def _skip_equal(self, pos: int, literal: str) -> int:
        data, rows, n = self._data, self.rows, len(self.rows)
        while pos < n and self.value(data[rows[pos]]) == literal:  # type: ignore[arg-type]
            pos += 1
        return pos

    def range(self, bounds: list[tuple[str, str]]) -> list[int]:
        """Rows whose value satisfies every (op, literal) with op in =, >, >=, <, <=; in index order."""
        lo, hi = self.span(bounds)
        return self.rows[lo:hi] if lo < hi else []

    def count(self, bounds: list[tuple[str, str]]) -> int:
        lo, hi = self.span(bounds)
        return max(0, hi - lo)

    def span(self, bounds: list[tuple[str, str]]) -> tuple[int, int]:
        """Positions [lo, hi) in ``rows`` of the values satisfying every bound (bisects only)."""
        lo, hi = 0, len(self.keys)
        for op, literal in bounds:
            start = bisect_left(self.keys, literal)
            if op == ">=":
                lo = max(lo, start)
            elif op == ">":
                lo = max(lo, self._skip_equal(start, literal))
            elif op == "<":
                hi = min(hi, start)
            elif op == "<=":
                hi = min(hi, self._skip_equal(start, literal))
            elif op == "=":
                lo, hi = max(lo, start), min(hi, self._skip_equal(start, literal))
        return lo, hi


class Table:
    """One table's records as tuples in schema field order; None marks a deleted row."""

    def __init__(self, schema: TableSchema, rows: list[tuple[str, ...]], store: Store) -> None:
        self.schema = schema
        self.name = schema.name
        self.fields = schema.names
        self.pos = {name: i for i, name in enumerate(self.fields)}
        self.kinds = {f.name: f.kind for f in schema.fields}
        self.rows: list[tuple[str, ...] | None] = list(rows)
        sid = self.pos["sys_id"]
        self.by_id = {t[sid].lower(): r for r, t in enumerate(rows)}  # sys_ids match in any case, as in MySQL
        self.version = 0
        self.deleted = 0
        self.store = store
        self.render_cache: dict[Any, list[bytes | None]] = {}
        self.plans: dict[Any, Any] = {}
        self._indexes: dict[str, SortedIndex] = {}

    # --- reading ---------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.rows) - self.deleted

    def alive_rows(self) -> list[int]:
        """Rows in insertion order (the default, stable order of an unordered query)."""
        if not self.deleted:
            return list(range(len(self.rows)))
        return [r for r, t in enumerate(self.rows) if t is not None]

    def record(self, row: int) -> dict[str, str]:
        return dict(zip(self.fields, self.rows[row] or (), strict=False))

    def row_of(self, sys_id: str) -> int | None:
        return self.by_id.get(str(sys_id).lower())

    def has_field(self, name: str) -> bool:
        head, _, rest = name.partition(".")
        if not rest:
            return head in self.pos or roles.is_virtual(self, head) or roles.is_password(self, head)
        target = self.store.tables.get(self.schema.get(head).ref or "") if head in self.pos else None
        return target is not None and target.has_field(rest)

    def getter(self, name: str) -> Getter:
        """Function row -> value; supports one or more dot-walks through reference fields (a reference
        to `task` walks to the record in whichever task table holds it)."""
        head, _, rest = name.partition(".")
        if roles.is_virtual(self, head):
            return roles.getter(self)
        if roles.is_password(self, head):
            return lambda r: ""
        i, data = self.pos[head], self.rows
        if not rest:
            return lambda r: data[r][i]  # type: ignore[index]
        ref = self.schema.get(head).ref  # type: ignore[union-attr]
        if ref == "task":
            view = self.store.view
            inners = {id(part): part.getter(rest) for part in view.parts}

            def walk_task(r: int) -> str:
                found = view.locate(data[r][i])  # type: ignore[index]
                return "" if found is None else inners[id(found[0])](found[1])

            return walk_task
        target = self.store.tables[ref]  # type: ignore[index]
        inner, lookup = target.getter(rest), target.by_id

        def walk(r: int) -> str:
            ref_row = lookup.get(data[r][i].lower())  # type: ignore[index]
            return "" if ref_row is None else inner(ref_row)

        return walk

    def index(self, field: str) -> SortedIndex | None:
        """The sorted index on `field` (built on first use) for sys_updated_on and sys_id."""
        if field not in INDEXED:
            return None
        idx = self._indexes.get(field)
        if idx is None:
            idx = self._indexes[field] = SortedIndex(self, field)
        return idx

    def cache_key(self) -> Any:
        return (self.name, self.version)

    # --- writing (callers hold the store lock) ------------------------------------------------
    def append(self, values: dict[str, str]) -> int:
        t = tuple(values.get(f, "") for f in self.fields)
        row = len(self.rows)
        self.rows.append(t)
        self.by_id[t[self.pos["sys_id"]].lower()] = row
        for idx in self._indexes.values():
            idx.add(t, row)
        for cache in self.render_cache.values():
            cache.append(None)
        self.version += 1
        return row

    def replace(self, row: int, values: dict[str, str]) -> None:
        old = self.rows[row]
        assert old is not None
        t = tuple(values.get(f, old[i]) for i, f in enumerate(self.fields))
        for idx in self._indexes.values():
            if idx.key(old) != idx.key(t):
                idx.remove(old, row)
                idx.add(t, row)
        self.rows[row] = t
        for cache in self.render_cache.values():
            cache[row] = None
        self.version += 1

    def remove(self, row: int) -> None:
        old = self.rows[row]
        assert old is not None
        for idx in self._indexes.values():
            idx.remove(old, row)
        del self.by_id[old[self.pos["sys_id"]].lower()]
        self.rows[row] = None
        self.deleted += 1
        for cache in self.render_cache.values():
            cache[row] = None
        self.version += 1


SHIFT = 40
MASK = (1 << SHIFT) - 1


class TaskView:
    """The `task` parent table: its own rows followed by each child's, restricted to task fields.

    A view row is `child_number << 40 | child_row`.
    """

    def __init__(self, own: Table, children: list[Table]) -> None:
        self.parts = [own, *children]
        self.schema = own.schema
        self.name = own.name
        self.fields = own.fields
        self.kinds = own.kinds
        self.store = own.store

    def __len__(self) -> int:
        return sum(len(p) for p in self.parts)

    @property
    def version(self) -> tuple[int, ...]:
        return tuple(p.version for p in self.parts)

    def cache_key(self) -> Any:
        return (self.name, self.version)

    def alive_rows(self) -> list[int]:
        out: list[int] = []
        for n, part in enumerate(self.parts):
            base = n << SHIFT
            out.extend(base | r for r in part.alive_rows())
        return out

    def locate(self, sys_id: str) -> tuple[Table, int] | None:
        for part in self.parts:
            row = part.row_of(sys_id)
            if row is not None:
                return part, row
        return None

    def has_field(self, name: str) -> bool:
        return name.partition(".")[0] in self.parts[0].pos and self.parts[0].has_field(name)

    def getter(self, name: str) -> Getter:
        getters = [p.getter(name) for p in self.parts]
        return lambda r: getters[r >> SHIFT](r & MASK)

    def index(self, field: str) -> None:
        return None

    def split(self, rows: list[int]) -> list[tuple[Table, int]]:
        return [(self.parts[r >> SHIFT], r & MASK) for r in rows]
