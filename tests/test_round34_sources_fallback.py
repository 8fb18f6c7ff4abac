"""Round 34: one Jira issue the site fails to serve costs itself, not the sync; request_json's attempts.

- A Jira issue whose rendering fails (500 on every attempt for every search page holding it) failed every run at
  that page, for ever: nothing past it loaded. Now the page is read keys-only and narrowed down (halves by
  ``id in (...)``, one attempt each); the issue that still fails alone is quarantined with Jira's reason, re-read by
  id every run (one quarantine row) and loads once Jira serves it. A site failing for every issue still fails
  the run, and nothing is quarantined.
- ``VendorSession.request_json`` asked a body that was not JSON again ``max_attempts`` times whatever
  ``attempts_allowed`` said (ServiceNow's one-attempt reads of a failing page's records sent five).
"""

from __future__ import annotations

import json
import time

import pytest
import requests

from pipelines.common.http import RetryPolicy, VendorError, VendorSession
from pipelines.jira import unreadable
from sandbox.core.http import Response
from tests.ingestion_harness import JIRA_ISSUES, OT_ASSESSMENTS, quarantine, sql
from tests.test_ingestion_hostile_more import SEARCH, _jira_sync

BROKEN = b'{"errorMessages":["Internal server error: the issue could not be rendered"],"errors":{}}'


def _fail_whole_reads_of(sb, victims: set[str], status: int = 500, searched: list | None = None) -> None:
    """Every search answer holding a victim with more than its keys (``id``, ``key``, ``updated``, no expand)
    fails with ``status``; ``searched`` collects the JQL of every search asked for."""
    def rewrite(req, resp):
        if req.path != SEARCH or req.method != "POST" or resp.status != 200:
            return resp
        asked = json.loads(req.body)
        if searched is not None:
            searched.append(asked.get("jql"))
        keys_only = set(asked.get("fields") or []) <= {"id", "key", "updated"} and not asked.get("expand")
        served = {i.get("id") for i in json.loads(resp.body).get("issues") or []}
        if not keys_only and served & victims:
            return Response(status, BROKEN, "application/json", [])
        return resp
    sb.rewrite_responses(rewrite)


def _stored(settings) -> set[str]:
    rows = sql(settings, "select id from jira.issues")
    assert len(rows) == len({r[0] for r in rows}), "an issue twice"
    return {r[0] for r in rows}


def test_an_issue_failing_every_read_is_quarantined_and_the_rest_loads(make_jira_sandbox, duckdb_warehouse):
    sb = make_jira_sandbox(size=40)
    everyone = {i["id"] for i in sb.issues()}
    victim = sorted(everyone)[17]
    _fail_whole_reads_of(sb, everyone, status=503)  # the site failing for every issue still fails the run
    with pytest.raises(Exception, match="answered 503 on all"):
        _jira_sync(duckdb_warehouse, sb)
    assert sql(duckdb_warehouse, "select count(*) from information_schema.tables where table_schema = 'jira' "
                                 "and table_name in ('quarantine', 'issues')") == [(0,)]
    sb.rewrite_responses(None)
    _fail_whole_reads_of(sb, {victim})
    for _ in range(2):  # failed with "answered 500 on all 3 attempts" on every run
        _jira_sync(duckdb_warehouse, sb)
        assert _stored(duckdb_warehouse) == everyone - {victim}
        reasons = quarantine(duckdb_warehouse, JIRA_ISSUES)
        assert list(reasons) == [victim], reasons
        assert reasons[victim].startswith("Jira fails to serve this issue") and "500" in reasons[victim]
        assert "could not be rendered" in reasons[victim]  # Jira's own reason
        assert sql(duckdb_warehouse, "select count(*) from jira.quarantine") == [(1,)]

    sb.rewrite_responses(None)  # Jira serves it again: the re-read by id loads it, nothing changed at Jira
    _jira_sync(duckdb_warehouse, sb)
    assert _stored(duckdb_warehouse) == everyone


@pytest.mark.parametrize("page_size, picks, bound", [
    (10, (2, 7), 10),  # two bad issues on one page of 10 (updated ASC, key ASC)
    (40, (17,), 14),  # one on a page of 40: halving reads about 2 * log2(40); one by one would be 40
])
def test_bad_issues_on_one_page_cost_themselves_in_few_reads(make_jira_sandbox, duckdb_warehouse, page_size, picks,
                                                             bound):
    sb = make_jira_sandbox(size=40)
    ordered = sorted((i["fields"]["updated"], i["key"], i["id"]) for i in sb.issues())
    victims = {ordered[p][2] for p in picks}
    searched: list[str] = []
    _fail_whole_reads_of(sb, victims, searched=searched)
    _jira_sync(duckdb_warehouse, sb, page_size=page_size)
    assert _stored(duckdb_warehouse) == {i[2] for i in ordered} - victims
    assert set(quarantine(duckdb_warehouse, JIRA_ISSUES)) == victims
    narrowed = [q for q in searched if q and q.startswith("id in (")]
    assert 0 < len(narrowed) <= bound, narrowed  # halves, not reads one by one and not endless


class _Client:
    """search_page over ``keys`` (the keys-only read), failing the ids in ``bad`` (a 500 or no answer)."""

    def __init__(self, n: int, bad: set[str], keys_fail: bool = False):
        self.keys = [{"id": str(10000 + i), "key": f"P-{i}", "fields": {"updated": "2026-01-01T00:00:00.000+0000"}}
                     for i in range(n)]
        self.bad, self.keys_fail, self.calls = bad, keys_fail, []

    def search_page(self, body, attempts_allowed=None):
        self.calls.append((body["jql"], attempts_allowed))
        if body.get("fields") == unreadable.KEY_FIELDS:
            if self.keys_fail:
                raise VendorError("Jira: POST x answered 500 on all 1 attempts", 500)
            return {"issues": self.keys, "nextPageToken": "T2"}
        ids = body["jql"].removeprefix("id in (").split(")")[0].split(", ")
        if set(ids) & self.bad:
            raise VendorError("Jira: POST x failed after 1 attempts: ReadTimeout")
        return {"issues": [{**k, "fields": {**k["fields"], "summary": "ok"}} for k in self.keys if k["id"] in ids],
                "isLast": True}


FAILED = VendorError("Jira: POST /rest/api/3/search/jql answered 500 on all 3 attempts", 500)


def test_read_page_narrows_to_the_bad_issue_with_one_attempt_per_read_and_keeps_the_token():
    client = _Client(10, {"10006"})
    data = unreadable.read_page(client, {"jql": "project = P", "fields": ["summary"], "expand": "changelog",
                                         "nextPageToken": "T1", "maxResults": 10}, FAILED)
    assert data["nextPageToken"] == "T2" and [b["id"] for b in data["issues"]] == [k["id"] for k in client.keys]
    assert [type(b) is unreadable.Unreadable for b in data["issues"]] == [n == 6 for n in range(10)]
    assert "ReadTimeout" in data["issues"][6].reason
    assert all(attempts == 1 for _, attempts in client.calls) and len(client.calls) <= 8


def test_read_page_raises_the_pages_error_when_the_site_fails_not_an_issue():
    with pytest.raises(VendorError, match="500 on all 3"):  # the keys-only read fails too
        unreadable.read_page(_Client(10, set(), keys_fail=True), {"jql": "q", "fields": ["summary"]}, FAILED)
    with pytest.raises(VendorError, match="500 on all 3"):  # three issues in a row fail alone
        unreadable.read_page(_Client(10, {"10002", "10003", "10004"}), {"jql": "q", "fields": ["summary"]}, FAILED)
    # ... but not when re-reading quarantined ids: they are the ones that fail
    data = unreadable.read_page(_Client(4, {"10000", "10001", "10002", "10003"}), {"jql": "q", "fields": []},
                                FAILED, requeued=True)
    assert all(type(b) is unreadable.Unreadable for b in data["issues"]) and len(data["issues"]) == 4


def test_read_page_past_its_budget_keeps_the_rest_for_the_next_run(monkeypatch):
    monkeypatch.setattr(unreadable, "PAGE_BUDGET_SECONDS", -1.0)
    client = _Client(5, set())  # re-reading quarantined ids: no read by id answered yet is no sign of the site
    data = unreadable.read_page(client, {"jql": "q", "fields": ["summary"]}, FAILED, requeued=True)
    assert [b["id"] for b in data["issues"]] == [k["id"] for k in client.keys]
    assert all(type(b) is unreadable.Unreadable and "not read this run" in b.reason for b in data["issues"])
    assert len(client.calls) == 1  # the keys-only read alone
    down = _Client(5, {str(10000 + i) for i in range(5)})  # a new page: nothing answered, its probe neither
    with pytest.raises(VendorError, match="500 on all 3"):
        unreadable.read_page(down, {"jql": "q", "fields": ["summary"]}, FAILED)


# --- request_json and attempts_allowed -------------------------------------------------------------------------

class _Http:
    """A requests.Session stand-in answering 200 with an HTML page every time."""

    verify = True

    def __init__(self):
        self.sent = 0

    def request(self, method, url, **kwargs):
        self.sent += 1
        response = requests.Response()
        response.status_code, response._content = 200, b"<html>Instance hibernating</html>"
        response.headers["Content-Type"] = "text/html"
        return response


@pytest.mark.parametrize("allowed, sent", [(1, 1), (2, 2)])
def test_request_json_honours_attempts_allowed_for_a_body_that_is_not_json(allowed, sent):
    session = VendorSession("ServiceNow", "https://x.example", None, sleep=lambda s: None,
                            policy=RetryPolicy(max_attempts=4, backoff_base_seconds=0.0))
    session.http = _Http()
    started = time.monotonic()
    with pytest.raises(VendorError, match=f"not JSON on all {sent} attempts"):
        session.request_json("GET", "api/now/table/incident", attempts_allowed=allowed)
    assert session.http.sent == sent  # was 4 (max_attempts) whatever attempts_allowed said
    assert time.monotonic() - started < 5


# --- OneTrust: a record that makes its listing page fail -------------------------------------------------------

VENDORS = "/api/inventory/v2/inventories/vendors"


def _fail_pages_holding(sb, victim: str, listed: list | None = None) -> None:
    """Every vendor listing page holding ``victim`` answers 500 (OneTrust has no keys-only listing to spare)."""
    def rewrite(req, resp):
        if req.path != VENDORS or req.method != "GET" or resp.status != 200:
            return resp
        if listed is not None:
            listed.append(req.query.get("size"))
        if victim.encode() in resp.body:
            return Response(500, b'{"status":500,"error":"Internal Server Error","message":"cannot map vendor"}',
                            "application/json", [])
        return resp
    sb.rewrite_responses(rewrite)


def _ot_stored(settings) -> set[str]:
    return {r[0] for r in sql(settings, "select vendor_id from onetrust.vendors")}


def test_a_onetrust_record_failing_its_listing_costs_its_slot_and_the_rest_loads(make_onetrust_sandbox,
                                                                                 duckdb_warehouse):
    from tests.test_ingestion_hostile_more import _ot_sync

    sb = make_onetrust_sandbox(size=40)
    everyone = {v["id"].lower() for v in sb.vendors()}
    victim = sorted(everyone)[9]
    listed: list = []
    _fail_pages_holding(sb, victim, listed)
    for _ in range(2):  # failed with "answered 500 on all 3 attempts" on every run
        _ot_sync(duckdb_warehouse, sb, vendor_page_size=10)
        assert _ot_stored(duckdb_warehouse) == everyone - {victim}
        rows = sql(duckdb_warehouse, "select record_id, reason from onetrust.quarantine where entity = 'vendors'")
        assert len(rows) == 1 and not rows[0][0], rows  # one row: the slot, not written again
        assert "OneTrust fails to serve the record at position" in rows[0][1] and "answered 500" in rows[0][1]
        assert len(listed) < 40, listed  # narrowed 10 -> 5 -> 1, not endless
        sizes = [int(n) for n in listed]
        assert set(sizes) == {10, 5, 1} and sizes.count(1) == 5, sizes  # the failing half alone, one by one
        position = int(rows[0][1].split("position ")[1].split()[0])
        assert 0 <= position < 40 and sizes.count(5) == 2, (position, sizes)
        listed.clear()

    sb.rewrite_responses(None)  # OneTrust serves it again: the cursor stayed, so the next run reads and loads it
    _ot_sync(duckdb_warehouse, sb, vendor_page_size=10)
    assert _ot_stored(duckdb_warehouse) == everyone


def test_onetrust_narrowing_raises_when_the_tenant_fails_not_a_record():
    from pipelines.onetrust import unreadable as ot

    calls = []

    def read(number, size):
        calls.append((number, size))
        raise VendorError("OneTrust: GET x answered 503 on all 1 attempts", 503)
    with pytest.raises(VendorError, match="on all 3"):
        ot.read_page(read, "api/x", 2, 50, VendorError("OneTrust: GET x answered 503 on all 3 attempts", 503))
    assert calls[:3] == [(4, 25), (20, 5), (100, 1)] and len(calls) == 2 + ot.MAX_FAILED_IN_A_ROW
    assert [ot._step(n) for n in (2000, 100, 50, 25, 7, 1)] == [1000, 50, 25, 5, 1, 1]


def test_an_assessment_whose_export_fails_every_attempt_is_quarantined_and_the_rest_loads(make_onetrust_sandbox,
                                                                                          duckdb_warehouse):
    from tests.test_ingestion_hostile_more import _ot_sync

    sb = make_onetrust_sandbox(size=20)
    everyone = {a["assessmentId"].lower() for a in sb.assessments()}
    victim = sorted(everyone)[4]

    def rewrite(req, resp):
        if req.path.lower() == f"/api/assessment/v2/assessments/{victim}/export":
            return Response(502, b"<html>Bad Gateway</html>", "text/html", [])
        return resp
    sb.rewrite_responses(rewrite)
    for _ in range(2):  # failed with "answered 502 on all 3 attempts" on every run
        _ot_sync(duckdb_warehouse, sb, entities=("assessments",))
        stored = {r[0] for r in sql(duckdb_warehouse, "select assessment_id from onetrust.assessments")}
        assert stored == everyone - {victim}
        reasons = quarantine(duckdb_warehouse, OT_ASSESSMENTS)
        assert list(reasons) == [victim] and "export" in reasons[victim] and "502" in reasons[victim], reasons
        assert sql(duckdb_warehouse, "select count(*) from onetrust.quarantine") == [(1,)]
    sb.rewrite_responses(None)
    _ot_sync(duckdb_warehouse, sb, entities=("assessments",))
    assert {r[0] for r in sql(duckdb_warehouse, "select assessment_id from onetrust.assessments")} == everyone


def test_an_issue_whose_comment_list_fails_every_attempt_is_quarantined_not_a_failed_sync(make_jira_sandbox,
                                                                                          duckdb_warehouse):
    """Search cut an issue's comments short and its comment endpoint answers 500 on every attempt (Jira failing
    to render one comment [unc]): the whole sync failed, every run. That issue is quarantined with the reason and
    loads once the endpoint answers; every other issue loads."""
    from tests.ingestion_harness import cut_one_issues_comments_short

    sb = make_jira_sandbox(size=20)

    def broken(resp):
        resp.status, resp.body = 500, BROKEN
    victim, failing = cut_one_issues_comments_short(sb, broken)
    _jira_sync(duckdb_warehouse, sb, concurrency=1)
    ids = {str(i) for i in sb.store.issues}
    assert _stored(duckdb_warehouse) == ids - {victim["id"]}
    reasons = quarantine(duckdb_warehouse, JIRA_ISSUES)
    assert list(reasons) == [victim["id"]] and "comments or changelog" in reasons[victim["id"]], reasons
    assert "answered 500" in reasons[victim["id"]] and "could not be rendered" in reasons[victim["id"]]
    failing["on"] = False
    _jira_sync(duckdb_warehouse, sb, concurrency=1)
    assert _stored(duckdb_warehouse) == ids


def test_onetrust_timeouts_are_not_narrowed_down():
    """A tenant slower than ONETRUST_TIMEOUT_SECONDS for every page is the usual cause of a timeout: narrowing would
    add timed-out reads before failing the run (test_timeout_setting_bounds_every_request) [unc]."""
    from pipelines.onetrust import unreadable as ot

    assert not ot.isolable(VendorError("OneTrust: GET x failed after 5 attempts: ReadTimeout"))
    assert ot.isolable(VendorError("OneTrust: GET x answered 500 on all 5 attempts", 500))
    assert not ot.isolable(VendorError("OneTrust: GET x answered 400: bad", 400))
