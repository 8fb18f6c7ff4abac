"""The search index behind /search/jql: an eventually consistent copy of the issues, sorted by `updated`.

Writes reach the index through `submit(issue_id, record_or_None, lag_seconds)`: with lag 0 they apply
at once, otherwise they wait in a due-time heap (GET /issue already sees them; search does not).
Each submission carries a sequence number so a late, stale submission never overwrites a newer one.

`search(compiled)` answers the ids of matching issues in result order. Queries ordered by `updated`
scan only the `(updated, id)` range implied by `updated >=/</...` clauses; others scan everything.
Result lists are cached per (index version, query text), so paging costs a bisect per page.
"""

from __future__ import annotations

import bisect
import heapq
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable

from sandbox.jira.jql_eval import Compiled
from sandbox.jira.model import Issue


class SearchIndex:
    """Indexed issue versions + an `(updated, id)` sorted list; thread-safe."""

    def __init__(self, issues: Iterable[Issue], cache_entries: int = 16) -> None:
        self.records: dict[int, Issue] = {i.id: i for i in issues}
        self.order: list[tuple[int, int]] = sorted((i.updated, i.id) for i in self.records.values())
        self.version = 0
        self._pending: list[tuple[float, int, int, Issue | None]] = []  # (due, seq, id, record)
        self._seq = 0
        self._applied: dict[int, int] = {}
        self._lock = threading.RLock()
        self._cache: OrderedDict[tuple[int, str, str], list[int]] = OrderedDict()
        self._cache_entries = cache_entries
        self.on_submit: Callable[[int, Issue | None], None] | None = None  # told every version at once (store)

    # --- writes ---------------------------------------------------------------------------
    def submit(self, issue_id: int, record: Issue | None, lag_seconds: float = 0.0) -> None:
        """Queue a new version (None = deleted) to become searchable after `lag_seconds`."""
        if self.on_submit is not None:
            self.on_submit(issue_id, record)
        with self._lock:
            self._seq += 1
            if lag_seconds <= 0:
                self._apply(self._seq, issue_id, record)
            else:
                heapq.heappush(self._pending, (time.monotonic() + lag_seconds, self._seq, issue_id, record))

    def sync(self, force: bool = False) -> int:
        """Apply due pending writes (all of them with `force`); returns how many are still pending."""
        with self._lock:
            now = time.monotonic()
            while self._pending and (force or self._pending[0][0] <= now):
                _, seq, issue_id, record = heapq.heappop(self._pending)
                self._apply(seq, issue_id, record)
            return len(self._pending)

    @property
    def pending(self) -> int:
        return len(self._pending)

    def _apply(self, seq: int, issue_id: int, record: Issue | None) -> None:
        if self._applied.get(issue_id, 0) > seq:
            return
        self._applied[issue_id] = seq
        old = self.records.pop(issue_id, None)
        if old is not None:
            pos = bisect.bisect_left(self.order, (old.updated, issue_id))
            if pos < len(self.order) and self.order[pos] == (old.updated, issue_id):
                del self.order[pos]
        if record is not None:
            self.records[issue_id] = record
            bisect.insort(self.order, (record.updated, issue_id))
        self.version += 1

    # --- reads ----------------------------------------------------------------------------
    def get(self, issue_id: int) -> Issue | None:
        return self.records.get(issue_id)

    def search(self, compiled: Compiled, cache_key: str) -> list[int]:
        """Ids of matching indexed issues in result order (do not mutate the list)."""
        with self._lock:
            self.sync()
            key = (self.version, cache_key, compiled.scope)
            rows = self._cache.get(key)
            if rows is not None:
                self._cache.move_to_end(key)
                return rows
            rows = self._evaluate(compiled)
            self._cache[key] = rows
            while len(self._cache) > self._cache_entries:
                self._cache.popitem(last=False)
            return rows

    def _evaluate(self, compiled: Compiled) -> list[int]:
        recs, pred = self.records, compiled.pred
        rng = compiled.updated_range
        if rng is not None:
            lo, lo_inc, hi, hi_inc = rng
            start = 0 if lo is None else (bisect.bisect_left(self.order, (lo, -1)) if lo_inc
                                          else bisect.bisect_right(self.order, (lo, 1 << 62)))
            end = len(self.order) if hi is None else (bisect.bisect_right(self.order, (hi, 1 << 62)) if hi_inc
                                                      else bisect.bisect_left(self.order, (hi, -1)))
            candidates = [iid for _, iid in self.order[start:end]]
        elif compiled.index_order is not None:
            candidates = [iid for _, iid in self.order]
        else:
            candidates = list(recs)
        rows = [iid for iid in candidates if pred(recs[iid])]
        if compiled.index_order == "asc":
            return rows
        if compiled.index_order == "desc":
            rows.reverse()
            return rows
        if compiled.uniform is not None:  # fast path: plain tuples, one direction
            plain = compiled.plain
            rows.sort(key=lambda iid: plain(recs[iid]), reverse=compiled.uniform)
        else:
            rows.sort(key=lambda iid: compiled.key(recs[iid]))
        return rows

    def page(self, compiled: Compiled, cache_key: str, last_values: list | None,
             limit: int) -> tuple[list[Issue], bool]:
        """One result page after the row whose sort values are `last_values` (keyset paging).

        Returns the indexed issue versions and whether more rows follow.
        """
        with self._lock:
            rows = self.search(compiled, cache_key)
            recs = self.records
            start = 0
            if last_values is not None:
                last = compiled.wrap(last_values)
                start = bisect.bisect_right(rows, last, key=lambda iid: compiled.key(recs[iid]))
            chunk = [recs[iid] for iid in rows[start:start + limit]]
            return chunk, start + limit < len(rows)

    def snapshot(self, compiled: Compiled, cache_key: str) -> list[Issue]:
        """All matching indexed issue versions, in result order."""
        with self._lock:
            return [self.records[iid] for iid in self.search(compiled, cache_key)]

    def count(self, compiled: Compiled, cache_key: str) -> int:
        with self._lock:
            return len(self.search(compiled, cache_key))
