"""Round 34 review of the sources' fallbacks (pipelines.jira.unreadable, pipelines.onetrust.unreadable, the
comment/changelog and export rules); each test fails on the code before the fix.

- Jira's three-in-a-row rule for comment/changelog reads was reset only by a successful list read (most issues
  need none) and counted the re-read of quarantined issues: two quarantined issues plus one new failed every run.
- A Jira site hanging on every read had its narrowed pages' budget eaten by timeouts: the page's issues became
  "not read this run" rows and the run succeeded.
- OneTrust narrowing took a short sub-page for the end of the listing: the records after it were skipped silently.
- OneTrust's export rule ("every export of a call failing") was per call: a tenant down for exports quarantined
  every assessment of calls of one or two.
"""

from __future__ import annotations

import pytest

from pipelines.common.http import VendorError
from pipelines.jira import unreadable
from pipelines.jira.helpers import JiraClient, RefusedChildren
from tests.test_round34_sources_fallback import FAILED, _Client

# --- 1. Jira comment/changelog streak ---------------------------------------------------------------------------

WHOLE = {"comment": {"comments": [], "total": 0, "startAt": 0, "maxResults": 0}}


def _jira_client(monkeypatch) -> JiraClient:
    client = JiraClient("https://jira.example", None)

    def paged_values(path, key="values", page_size=50, **kwargs):
        raise VendorError(f"Jira: GET {path} answered 500 on all 3 attempts", 500)
        yield  # pragma: no cover
    monkeypatch.setattr(client, "paged_values", paged_values)
    return client


def _needs_read(n: int) -> dict:
    return {"id": str(n), "key": f"P-{n}", "fields": {}}  # no comment list: read from its endpoint


def _needs_none(n: int) -> dict:
    return {"id": str(n), "key": f"P-{n}", "fields": dict(WHOLE), "changelog": {"histories": [], "total": 0}}


def test_an_issue_needing_no_child_read_breaks_the_streak_of_failing_lists(monkeypatch):
    client = _jira_client(monkeypatch)
    for n in range(4):  # fail, fine, fail, fine, ...: was "three in a row" at the third failure
        with pytest.raises(RefusedChildren):
            client.complete(_needs_read(n))
        assert client.complete(_needs_none(100 + n))["id"] == str(100 + n)


def test_re_reading_quarantined_issues_does_not_count_toward_the_streak(monkeypatch):
    client = _jira_client(monkeypatch)
    for n in range(5):  # the quarantined issues, read again: each costs itself
        with pytest.raises(RefusedChildren):
            client.complete(_needs_read(n), requeued=True)
    with pytest.raises(RefusedChildren):  # one new issue failing: quarantined, not the run failed
        client.complete(_needs_read(9))
    with pytest.raises(RefusedChildren):
        client.complete(_needs_read(10))
    with pytest.raises(VendorError, match="500 on all 3") as caught:  # three new ones in a row: the site
        client.complete(_needs_read(11))
    assert not isinstance(caught.value, RefusedChildren)


# --- 3. A Jira site hanging on every read ---------------------------------------------------------------------


class _Clock:
    def __init__(self, step: float):
        self.now, self.step = 0.0, step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


def test_a_site_hanging_on_every_read_fails_the_run_when_the_budget_runs_out(monkeypatch):
    clock = _Clock(120.0)  # every read waits out a long timeout
    monkeypatch.setattr(unreadable.time, "monotonic", clock)
    client = _Client(100, {str(10000 + i) for i in range(100)})
    with pytest.raises(VendorError, match="500 on all 3"):  # was: 100 "not read this run" rows, the run green
        unreadable.read_page(client, {"jql": "q", "fields": ["summary"]}, FAILED)
    assert len(client.calls) <= 4

    # once a read by id answered, the site is up: the budget running out keeps the rest for the next run
    clock.now, clock.step = 0.0, 0.0
    client = _Client(8, {"10007"})
    reads = client.search_page

    def slow(body, attempts_allowed=None):
        got = reads(body, attempts_allowed)
        if body["jql"].startswith("id in"):
            clock.step = 1000.0  # the first read by id answered; the budget runs out after it
        return got
    client.search_page = slow
    data = unreadable.read_page(client, {"jql": "q", "fields": ["summary"]}, FAILED)
    assert len(data["issues"]) == 8
    assert any(type(b) is unreadable.Unreadable and "not read this run" in b.reason for b in data["issues"])
    assert any(type(b) is not unreadable.Unreadable for b in data["issues"])
