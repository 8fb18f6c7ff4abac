"""Which sprints each project's live issues are in: `GET /board/{id}/sprint` lists another board's sprint once it
holds one of the board's issues, and `JIRA.sprints()` calls that listing in loops, so it must not walk every issue.

Fed from `SearchIndex.submit` (every write, create, delete, archive, restore and project delete of an issue passes
there, before any search lag: the agile listing reads the live store), it keeps per project a count of the issues
in each sprint id.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable

from sandbox.jira.model import Issue


class SprintHoldings:
    def __init__(self, issues: Iterable[Issue]) -> None:
        self._lock = threading.Lock()
        self._of: dict[int, tuple[str, tuple[int, ...]]] = {}  # issue id -> (project, sprint ids), if in any
        self._count: dict[str, Counter[int]] = {}
        for issue in issues:
            self._add(issue.id, issue)

    def _add(self, issue_id: int, issue: Issue) -> None:
        if issue.sprints:
            self._of[issue_id] = (issue.project, issue.sprints)
            self._count.setdefault(issue.project, Counter()).update(set(issue.sprints))

    def note(self, issue_id: int, record: Issue | None) -> None:
        """The issue's new version (None: gone from the live store: deleted, archived)."""
        with self._lock:
            old = self._of.pop(issue_id, None)
            if old is not None:
                counts = self._count[old[0]]
                counts.subtract(set(old[1]))
                for sid in set(old[1]):
                    if counts[sid] <= 0:
                        del counts[sid]
            if record is not None:
                self._add(issue_id, record)

    def held(self, project: str) -> set[int]:
        """The sprint ids the project's live issues are in."""
        with self._lock:
            return set(self._count.get(project, ()))
