"""Jira-specific fault switches on top of core `Faults` (same Python/HTTP API, extra setting names).

- `search_lag_seconds`: eventual consistency of /search/jql — a created/updated/deleted issue reaches
  the search index only after N seconds (GET /issue sees it at once). Writes made while it is 0 are
  indexed immediately.
- `empty_page_rate`: fraction of /search/jql pages answered with no issues but a `nextPageToken`
  that resumes at the same place (Jira does this; clients must not stop or loop forever).
- `html_errors`: 1 = injected 401/429/5xx answers carry Jira's HTML "Oops" page instead of JSON.
- `captcha_after_failures`: N > 0 = after N consecutive failed Basic logins of the site account, Basic auth is
  refused with 403 `X-Seraph-LoginReason: AUTHENTICATION_DENIED` (`captcha`); `clear()` or 0 ends it.
Core switches (429, 5xx, slow, 401/403, malformed records, touch/delete per page, token actions)
keep their meaning; touch/delete-per-page apply to each /search/jql page.
"""

from __future__ import annotations

import random
import threading
from typing import Any

from sandbox.core.faults import Faults
from sandbox.core.numbers import control_number

JIRA_DEFAULTS: dict[str, float] = {"search_lag_seconds": 0.0, "empty_page_rate": 0.0, "html_errors": 0.0,
                                   "captcha_after_failures": 0.0}
_JIRA_RANGES: dict[str, tuple[float, float]] = {"search_lag_seconds": (0, 10**6), "empty_page_rate": (0, 1),
                                                "html_errors": (0, 1), "captcha_after_failures": (0, 2**31 - 1)}


class JiraFaults(Faults):
    def __init__(self, seed: int = 0) -> None:
        super().__init__(seed)
        self.jira: dict[str, float] = dict(JIRA_DEFAULTS)
        self._jira_rng = random.Random(seed ^ 0xF417)
        self._jira_lock = threading.Lock()
        self.failed_logins: dict[str, int] = {}  # consecutive failed Basic logins per user name (`captcha`)

    def set(self, **changes: Any) -> dict[str, Any]:
        # not float(): it read '٣' as 3 and took NaN and Infinity (an endless search lag) [round 27]
        mine = {k: float(control_number(k, changes[k], float, *_JIRA_RANGES[k])) for k in changes if k in JIRA_DEFAULTS}
        super().set(**{k: v for k, v in changes.items() if k not in JIRA_DEFAULTS})
        with self._jira_lock:
            self.jira.update(mine)
            if not self.jira["captcha_after_failures"]:
                self.failed_logins.clear()
        return self.as_dict()

    def clear(self) -> None:
        super().clear()
        with self._jira_lock:
            self.jira = dict(JIRA_DEFAULTS)
            self.failed_logins.clear()
            self._jira_rng = random.Random(self.as_dict()["seed"] ^ 0xF417)

    def as_dict(self) -> dict[str, Any]:
        out = super().as_dict()
        out.update(self.jira)
        return out

    @property
    def search_lag(self) -> float:
        return self.jira["search_lag_seconds"]

    def empty_page(self) -> bool:
        rate = self.jira["empty_page_rate"]
        with self._jira_lock:
            return rate > 0 and self._jira_rng.random() < rate
