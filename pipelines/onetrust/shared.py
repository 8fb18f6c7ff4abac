"""What the resources of one OneTrust source (one run) read once and share.

- :class:`ExportShare`: ``assessments`` lists every assessment and ``vendor_assessments`` the VENDOR ones
  again, and both need each one's ``/export``. The resource that reads an export first keeps a copy for
  the other, keyed by assessment id *and* the ``lastUpdated`` the listing showed: an assessment changed
  between the two listings has another key and is exported again, never served stale. Only exports the
  other resource wants are kept (for ``vendor_assessments``: template type VENDOR), each is handed out
  once, and whatever is left when a resource finishes is dropped, so memory stays bounded by the
  vendor assessments of one run.
- :class:`DeleteLogShare`: both resources mark deletes from OneTrust's deleted-assessment log, which is
  read whole: read it once.

A token is shared too, by passing one provider (:func:`pipelines.onetrust.helpers.make_auth`) to every
client of the source.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Iterable
from typing import Any

Key = tuple[str, str]  # (assessmentId, lastUpdated as listed)


class ExportShare:
    """Assessment exports read by one resource, kept for the others of the same run."""

    def __init__(self, wants: dict[str, Callable[[dict[str, Any]], bool]]):
        """``wants``: resource -> whether it needs an export (judged on the export itself)."""
        self._wants = dict(wants)
        self._kept: dict[str, dict[Key, Any]] = {r: {} for r in wants}
        self._finished: set[str] = set()
        self._lock = threading.Lock()
        self.served = 0  # exports handed over instead of read again

    def begin(self, resource: str) -> None:
        """``resource`` starts reading. If it had finished already, this is a new run of the same source:
        start over (nothing kept, every resource open again)."""
        with self._lock:
            if resource in self._finished:
                self._finished.clear()
                for kept in self._kept.values():
                    kept.clear()

    def take(self, resource: str, key: Key) -> Any | None:
        """The export another resource read for ``key`` (handed out once), or None: read it."""
        with self._lock:
            found = self._kept.get(resource, {}).pop(key, None)
            if found is not None:
                self.served += 1
            return found

    def offer(self, resource: str, details: Iterable[tuple[Key, Any]]) -> None:
        """Exports ``resource`` has just read: keep a private copy for each other resource of this run
        that has not finished yet and wants it."""
        with self._lock:
            others = [r for r in self._wants if r != resource and r not in self._finished]
            for key, detail in details:
                for other in others:
                    if isinstance(detail, dict) and self._wants[other](detail):
                        self._kept[other][key] = copy.deepcopy(detail)

    def finish(self, resource: str) -> None:
        """``resource`` has read everything: nothing more is kept for it."""
        with self._lock:
            self._finished.add(resource)
            self._kept.get(resource, {}).clear()

    def kept(self) -> int:
        with self._lock:
            return sum(len(k) for k in self._kept.values())


class DeleteLogShare:
    """OneTrust's deleted-assessment log, read once per run for all the resources that mark deletes from it.

    The log is read whole whatever a reader's cursor (its order is not documented), so one read serves
    every reader; each still filters it by its own cursor. The entries are dropped once every reader
    has had them; a reader asking again means a new run of the same source, which reads the log anew.
    """

    def __init__(self, readers: Iterable[str]):
        self._readers = frozenset(readers)
        self._entries: list[Any] | None = None
        self._served: set[str] = set()
        self._lock = threading.Lock()
        self.reads = 0

    def entries(self, resource: str, read: Callable[[], Iterable[Any]]) -> list[Any]:
        """The log's entries as ``read`` returns them, read at most once for all readers of a run."""
        with self._lock:  # held while reading: a second reader waits for the first read, not reads again
            if self._entries is None or resource in self._served:
                self._entries, self._served = list(read()), set()
                self.reads += 1
            self._served.add(resource)
            entries = self._entries
            if self._served >= self._readers:
                self._entries = None
            return entries
