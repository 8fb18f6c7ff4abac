"""Which issue searches one run makes, and reading several of them at once.

``nextPageToken`` paging is strictly sequential, so one search is one stream of pages. A big read
(a first sync, a wide window) is split into disjoint ``updated`` ranges, ``[b0, b1), [b1, b2), ...``
in epoch milliseconds, each its own search, read ``concurrency`` at a time. The first range has no
lower bound on a first sync and the last has no upper bound, so together they cover every issue
whatever its ``updated``; an issue edited while we page moves to the last range and is read there
(or by the next run, whose overlap starts before the site's clock at the start of this one).
Ranges are of equal width, not equal size: real sites are skewed, which costs balance, not
correctness. Reads below ``SPLIT_MIN_ISSUES`` (by the approximate count) stay one stream.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any

from pipelines.jira.settings import SPLIT_MIN_ISSUES, SPLIT_MIN_SPAN_MS

Page = list[dict[str, Any]]


def scope_clause(project_keys: list[str]) -> str:
    return "project in (" + ", ".join(f'"{k}"' for k in project_keys) + ")"


def issue_jql(project_keys: list[str], start_ms: int | None, end_ms: int | None = None) -> str:
    """Issues of these projects with ``start_ms <= updated < end_ms`` (either bound optional), oldest first.

    A start at or before the epoch is no bound at all (a backfill from the first partition starts in
    1970), and Jira refuses ``updated >= 0`` as a date."""
    where = scope_clause(project_keys)
    if start_ms is not None and start_ms > 0:
        where += f" AND updated >= {start_ms}"
    if end_ms is not None:
        where += f" AND updated < {end_ms}"
    return where + " ORDER BY updated ASC, key ASC"


def split_bounds(lo_ms: int, hi_ms: int, parts: int) -> list[int]:
    """``parts - 1`` inner boundaries cutting ``[lo_ms, hi_ms)`` into equal-width ranges."""
    if parts <= 1 or hi_ms - lo_ms < max(parts, SPLIT_MIN_SPAN_MS):
        return []
    step = (hi_ms - lo_ms) / parts
    return sorted({int(lo_ms + step * n) for n in range(1, parts)})


def ranged_jqls(project_keys: list[str], start_ms: int | None, end_ms: int | None,
                inner: list[int]) -> list[str]:
    """One JQL per range between ``start_ms``, the ``inner`` boundaries and ``end_ms``."""
    edges: list[int | None] = [start_ms, *inner, end_ms]
    return [issue_jql(project_keys, edges[n], edges[n + 1]) for n in range(len(edges) - 1)]


def plan(client: Any, project_keys: list[str], start_ms: int | None, end_ms: int | None,
         as_of_ms: int | None, concurrency: int) -> list[str]:
    """The searches for issues updated in ``[start_ms, end_ms)`` (open ends allowed).

    Split only when it pays: several workers allowed, at least ``SPLIT_MIN_ISSUES`` issues by
    Jira's approximate count, and a known span to cut: from the oldest ``updated`` in the read (a
    window starting in 1970 holds nothing before the site's first issue) to the end, or to the
    site's clock at the start of the read when that is earlier or the end is open.
    """
    whole = issue_jql(project_keys, start_ms, end_ms)
    if concurrency <= 1 or client.approximate_count(whole) < SPLIT_MIN_ISSUES:
        return [whole]
    lo = client.oldest_updated_ms(whole)
    hi = min((b for b in (end_ms, as_of_ms) if b is not None), default=None)
    if lo is None or hi is None:
        return [whole]
    return ranged_jqls(project_keys, start_ms, end_ms, split_bounds(lo, hi, concurrency))


def read_all(search: Callable[[str], Iterator[Page]], jqls: list[str], depth: int = 2) -> Iterator[Page]:
    """Pages of every search in ``jqls``, each search on its own thread, in arrival order.

    At most ``depth`` pages per search wait unread (bounded memory). The first error of any search
    is raised here; closing the iterator stops the others after their current page.
    """
    if len(jqls) == 1:
        yield from search(jqls[0])
        return
    inbox: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=depth * len(jqls))
    stop = threading.Event()

    def send(message: tuple[str, Any]) -> bool:
        while not stop.is_set():
            try:
                inbox.put(message, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def worker(jql: str) -> None:
        try:
            for page in search(jql):
                if not send(("page", page)):
                    return
            send(("done", None))
        except BaseException as exc:  # handed to the consumer, which raises it
            send(("error", exc))

    threads = [threading.Thread(target=worker, args=(j,), name=f"jira-search-{n}", daemon=True)
               for n, j in enumerate(jqls)]
    for t in threads:
        t.start()
    try:
        running = len(threads)
        while running:
            kind, value = inbox.get()
            if kind == "page":
                yield value
            elif kind == "done":
                running -= 1
            else:
                raise value
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=5)
