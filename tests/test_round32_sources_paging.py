"""Round 32: vendor pages that loop without repeating the page just before, end to end.

Covered before: a Jira comment list answering its first page for every ``startAt`` (round 17), a search whose
``nextPageToken`` cycles or is ignored (round 16/28), a ServiceNow instance serving the same page for ever. Here, a
``startAt`` list (comments, changelog) whose proxy drops ``startAt`` in front of two nodes that answer
differently: pages A, B, A, B ... with no ``total`` or ``isLast``. The check compared each page with the one just
before only, so the read went on for ever (growing the list in memory); now a page holding only items already
listed stops it: that issue is quarantined naming the fault, the others load, and it loads once served right.
"""

from __future__ import annotations

import json
import random
import re

import pytest

from tests.ingestion_harness import sql
from tests.test_ingestion_hostile_more import _jira_sync

BOUND = 40  # requests to one issue's list before the test itself ends the (otherwise endless) read


@pytest.mark.parametrize("part", ["comment", "changelog"])
def test_a_start_at_list_alternating_two_pages_quarantines_the_issue_not_an_endless_read(part, make_jira_sandbox,
                                                                                         duckdb_warehouse):
    sb = make_jira_sandbox(size=20)
    items = "comments" if part == "comment" else "values"
    victim: dict[str, object] = {}
    asked = {"n": 0}

    def search_part(issue):
        fields = issue.get("fields") or {}
        return fields.get("comment") if part == "comment" else issue.get("changelog")

    def odd(req, resp):
        if resp.status != 200 or not (req.path.endswith("/search/jql") or req.path.endswith(f"/{part}")):
            return resp
        body = json.loads(resp.body)
        if req.path.endswith("/search/jql"):
            listed = "comments" if part == "comment" else "histories"
            for issue in body.get("issues") or []:
                got = search_part(issue)
                if isinstance(got, dict) and len(got.get(listed) or []) >= 2 and "id" not in victim:
                    victim["id"] = str(issue["id"])
                if isinstance(got, dict) and str(issue["id"]) == victim.get("id"):
                    got["total"] = len(got[listed]) + 5  # cut short: the rest is read from the issue's endpoint
        elif re.search(rf"/issue/{victim.get('id')}/{part}$", req.path) and isinstance(body, dict):
            asked["n"] += 1
            whole = victim.setdefault("whole", body.get(items) or [])
            body.pop("total", None)
            body.pop("isLast", None)
            # startAt ignored by two nodes that answer differently: A, B, A, B ...
            body[items] = [] if asked["n"] > BOUND else [whole[(asked["n"] - 1) % 2]]
            body["startAt"] = 0
        resp.body = json.dumps(body).encode()
        return resp
    sb.rewrite_responses(odd)
    _jira_sync(duckdb_warehouse, sb, concurrency=1)
    assert "id" in victim, f"no issue with two {items} in the sandbox"
    assert asked["n"] <= 4, f"the {part} list was asked for {asked['n']} times"
    ids = {str(i) for i in sb.store.issues}
    assert {r[0] for r in sql(duckdb_warehouse, "select id from jira.issues")} == ids - {victim["id"]}
    reasons = dict(sql(duckdb_warehouse, "select record_id, reason from jira.quarantine"))
    assert list(reasons) == [victim["id"]] and "startAt" in reasons[victim["id"]], reasons

    sb.rewrite_responses(None)
    _jira_sync(duckdb_warehouse, sb, concurrency=1)
    assert {r[0] for r in sql(duckdb_warehouse, "select id from jira.issues")} == ids
    _jira_sync(duckdb_warehouse, sb, concurrency=1)
    assert sql(duckdb_warehouse, "select count(*) from jira.quarantine") == [(1,)]


def test_a_search_serving_its_first_page_again_shuffled_stops_with_a_clear_error(make_jira_sandbox,
                                                                                duckdb_warehouse):
    """A site or proxy that ignores ``nextPageToken`` and serves the first page again, its issues in another
    order each time (equal stamps sorted as each node likes): the repeat check fingerprinted pages in order, so
    every answer was a new page and the search spun for ever. It stops in a few requests naming the token, and
    the next sync against a sound site loads every issue once."""
    from sandbox.core.http import Response

    sb = make_jira_sandbox(size=30)
    first: dict[str, dict] = {}
    calls = {"search": 0}
    shuffle = random.Random(32)

    def rewrite(req, resp):
        if not req.path.endswith("/search/jql"):
            return resp
        calls["search"] += 1
        asked = json.loads(req.body)
        if asked.get("maxResults", 0) <= 1 or calls["search"] > 200:  # past 200: a test, not a hang
            return resp
        if asked["jql"] not in first:
            if resp.status != 200:
                return resp
            first[asked["jql"]] = json.loads(resp.body)
        body = first[asked["jql"]]
        issues = list(body.get("issues") or [])
        if len(issues) < 3 or "nextPageToken" not in asked:
            return resp
        shuffle.shuffle(issues)  # a new order every time (10 issues: 3.6 million orders)
        again = {**body, "issues": issues, "nextPageToken": f"t{calls['search']}",
                 "isLast": False}
        return Response(200, json.dumps(again).encode())
    sb.rewrite_responses(rewrite)
    with pytest.raises(Exception, match="ignores the token, so paging would never end"):
        _jira_sync(duckdb_warehouse, sb, concurrency=1)
    assert calls["search"] < 20, calls
    sb.rewrite_responses(None)
    _jira_sync(duckdb_warehouse, sb, concurrency=1)
    ids = [r[0] for r in sql(duckdb_warehouse, "select id from jira.issues")]
    assert sorted(ids) == sorted(str(i) for i in sb.store.issues)


def test_a_project_key_with_a_trailing_newline_costs_that_project_not_every_issue(make_jira_sandbox,
                                                                                 duckdb_warehouse, caplog):
    """A project listed as ``"ENG\\n"`` passed the key check (Python's ``$`` matches before a final newline) and
    went into every search's ``project in (...)``: Jira refused the JQL (400) and no issue of any project loaded,
    every run. That project is now left out of the run's scope with a warning; its stored issues, boards and
    sprints stay (none is marked deleted), the other projects sync, and it syncs again once listed right."""
    import logging
    import time

    from tests.ingestion_harness import JIRA_ISSUES, assert_parity

    sb = make_jira_sandbox(size=20)
    _jira_sync(duckdb_warehouse, sb, concurrency=2)
    boards = sql(duckdb_warehouse, "select count(*) from jira.boards")

    def odd_key(req, resp):
        if req.path.endswith("/project/search") and resp.status == 200:
            body = json.loads(resp.body)
            for project in body.get("values") or []:
                if project.get("key") == "ENG":
                    project["key"] = "ENG\n"
            resp.body = json.dumps(body).encode()
        return resp
    sb.rewrite_responses(odd_key)
    sb.touch(20)
    time.sleep(1.05)
    with caplog.at_level(logging.WARNING, logger="pipelines.jira.context"):
        _jira_sync(duckdb_warehouse, sb, concurrency=2)
    warned = [r.getMessage() for r in caplog.records if "left out of this run's scope" in r.getMessage()]
    assert len(warned) == 1 and "'ENG\\n'" in warned[0], warned
    stored = dict(sql(duckdb_warehouse, "select key, updated from jira.issues"))
    vendor = {i.key: i for i in sb.store.issues.values()}
    assert set(stored) == set(vendor), "no issue lost or added"
    assert sql(duckdb_warehouse, "select count(*) from jira.deletions") in ([], [(0,)]), "nothing marked deleted"
    assert sql(duckdb_warehouse, "select count(*) from jira.boards") == boards
    assert_parity(sb, duckdb_warehouse, JIRA_ISSUES, except_ids={str(i.id) for i in vendor.values()
                                                                 if i.key.startswith("ENG-")})

    sb.rewrite_responses(None)
    _jira_sync(duckdb_warehouse, sb, concurrency=2)
    assert_parity(sb, duckdb_warehouse, JIRA_ISSUES)
