"""What the resources of one OneTrust source (one run) read once and share.

- :class:`ExportShare`: ``assessments`` lists every assessment and ``vendor_assessments`` the VENDOR ones
  again, and both need each one's ``/export``. The resource that reads an export first keeps a copy for
  the other, keyed by assessment id *and* the ``lastUpdated`` the listing showed: an assessment changed
  between the two listings has another key and is exported again, never served stale. Only exports the
  other resource wants are kept (for ``vendor_assessments``: template type VENDOR), each is handed out
  once, and whatever is left when a resource finishes is dropped, so memory stays bounded by the
  vendor assessments of one run.
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
