"""Round 28: hostile vendor answers the earlier rounds did not reach (end to end: sandbox over HTTP ->
dlt source -> warehouse).

- Jira search that ignores ``nextPageToken`` but hands out a fresh token with every answer: the same page
  (or the same few pages in turn) came back for ever; the token checks (a token handed back again) never
  fired, and the sync spun until killed.
"""

from __future__ import annotations

import json
import time
import uuid

import pytest

from sandbox.core.http import Response
from tests.test_ingestion_hostile_more import SEARCH, _jira_sync, _rows


def _token_ignored(sb, cycle: int) -> dict[str, int]:
    """From the second request of each search on, answer one of the search's first ``cycle`` pages again
    (in turn), each time with a new ``nextPageToken``, as a site or proxy that ignores the token would.
    Returns the count of search requests made."""
    pages: dict[str, list[dict]] = {}
    calls = {"search": 0}

    def rewrite(req, resp):
        if req.path != SEARCH:
            return resp
        calls["search"] += 1
        asked = json.loads(req.body)
        served = pages.setdefault(asked["jql"], [])
        if resp.status == 200 and len(served) < cycle and asked.get("maxResults", 0) > 1:
            body = json.loads(resp.body)
            if body.get("issues"):
                served.append(body)
                return resp
        if not served or asked.get("maxResults", 0) <= 1 or calls["search"] > 200:
            return resp  # past 200 requests: the sandbox refuses the made-up token (a test, not a hang)
        again = dict(served[(calls["search"]) % len(served)])
        again.update(nextPageToken=uuid.uuid4().hex, isLast=False)
        return Response(200, json.dumps(again).encode())
    sb.rewrite_responses(rewrite)
    return calls


@pytest.mark.parametrize("cycle", [1, 2])
def test_jira_search_that_ignores_next_page_token_stops_with_a_clear_error(cycle, make_jira_sandbox,
                                                                           duckdb_warehouse):
    """A page served again under a new token each time, or two pages in turn: the search spun for ever
    (the read never ended, nothing loaded). It stops with an error naming the fault, in a few requests,
    and the next sync against a sound site loads every issue once."""
    sb = make_jira_sandbox(size=30)
    calls = _token_ignored(sb, cycle)
    started = time.monotonic()
    with pytest.raises(Exception, match="ignores the token, so paging would never end") as failed:
        _jira_sync(duckdb_warehouse, sb, concurrency=1)
    assert "nextPageToken" in str(failed.value)
    assert time.monotonic() - started < 30
    assert calls["search"] < 20, calls
    sb.rewrite_responses(None)
    _jira_sync(duckdb_warehouse, sb, concurrency=1)
    ids = [r[0] for r in _rows(duckdb_warehouse, "select id from jira.issues")]
    assert sorted(ids) == sorted(str(i) for i in sb.store.issues)


def test_jira_search_whose_issues_move_while_paging_is_not_taken_for_a_repeat(make_jira_sandbox,
                                                                              duckdb_warehouse):
    """The repeat check must not stop a sound read: issues edited while the search pages come back on a
    later page with a new ``updated`` (same ids, new stamps), and every issue loads in its latest version."""
    sb = make_jira_sandbox(size=40)
    touched = {"n": 0}

    def touch(req, resp):
        if req.path == SEARCH and json.loads(req.body).get("nextPageToken") and touched["n"] < 3:
            touched["n"] += 1
            sb.touch(n=10)
        return resp
    sb.rewrite_responses(touch)
    _jira_sync(duckdb_warehouse, sb, concurrency=1)
    assert touched["n"] == 3
    sb.rewrite_responses(None)
    _jira_sync(duckdb_warehouse, sb, concurrency=1)  # what moved past the first read's clock
    assert _stored(duckdb_warehouse) == {str(i["id"]): i["fields"]["updated"] for i in sb.issues(fields=["updated"])}


def _stored(settings) -> dict[str, str]:
    rows = _rows(settings, "select id, updated from jira.issues")
    assert len(rows) == len({r[0] for r in rows}), "jira.issues holds an id twice"
    return dict(rows)
