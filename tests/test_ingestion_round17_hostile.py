"""Round 17: hostile vendor answers not covered by tests/test_ingestion_hostile*.py and round 16.

- Jira: an ``updated`` stamp polars reads but Python's ``fromisoformat`` (the cursor) does not — a space
  before the offset, a leading space, a leading ``+`` on the year — passed the timestamp check, then
  ``to_cursor`` raised on it: every run died at that issue (a crash loop; tested beside the other stamps
  in round 16's ``test_jira_update_stamps_no_clock_can_hold_are_quarantined_not_a_crash``);
- Jira: ``/serverInfo`` without a usable ``serverTime`` crashed every run;
- every vendor: one record served twice in a page with different content kept the first copy, a stale
  one when it came first, for good once the cursor passed it;
- ServiceNow without a ``Date`` header, and OneTrust (no clock at all): one record stamped 2099 moved the
  cursor there and no later change loaded;
- Jira: a comment/changelog ``total`` that is no count crashed every run; a comment endpoint ignoring
  ``startAt`` was paged for ever;
- OneTrust: ``meta`` that is not an object crashed the pager; keys colliding once normalised (held).

Rule: the record is loaded exactly once or quarantined with a reason naming the field, and loads once
the vendor serves it right; the run never crashes on it.
"""

from __future__ import annotations

import json

import pytest

from tests.test_ingestion_hostile_more import _jira_rewrite, _jira_sync, _rows


def test_jira_server_time_that_is_no_time_is_ignored_not_a_crash_loop(make_jira_sandbox, duckdb_warehouse):
    """``/serverInfo`` (a proxy's answer, a broken site) sends ``serverTime`` that is no time, or a body
    that is not an object: it only caps the cursor, so the sync goes on without the cap, as ServiceNow
    does with a ``Date`` header that is not a date."""
    from sandbox.core.http import Response

    sb = make_jira_sandbox(size=15)
    ids = {str(i) for i in sb.store.issues}
    for answer in (b'{"serverTime": "soon"}', b'{"serverTime": 5}', b"[]"):
        def odd(req, resp, answer=answer):
            return Response(200, answer) if req.path.endswith("/serverInfo") else resp
        sb.rewrite_responses(odd)
        _jira_sync(duckdb_warehouse, sb, concurrency=1)
        assert {r[0] for r in _rows(duckdb_warehouse, "select id from jira.issues")} == ids


def _sn_oldest(sb) -> dict:
    return min(sb.records("incident"), key=lambda r: (r["sys_updated_on"], r["sys_id"]))


def test_servicenow_same_sys_id_twice_in_a_page_keeps_the_newest_version(make_servicenow_sandbox,
                                                                         duckdb_warehouse):
    """A page serves one sys_id twice with different content: an older copy first, the record as it is
    now second. The first copy won (the second was dropped as a repeat): the warehouse held the old
    version, and as its update time lay before the cursor's overlap no later run read it again (stale
    for good). The newest version (by update time, then ``sys_mod_count``) wins, whatever the order."""
    from tests.test_ingestion_hostile_more import _stored, _sync, _vendor, on_list

    sb = make_servicenow_sandbox(size=40)
    victim = _sn_oldest(sb)

    for first_stale in (True, False):
        def twice(req, resp, body, first_stale=first_stale):
            rows = body["result"]
            at = next((n for n, r in enumerate(rows) if r.get("sys_id") == victim["sys_id"]), None)
            if at is not None:
                stale = {**rows[at], "sys_updated_on": "2000-01-01 00:00:00", "short_description": "stale copy",
                         "sys_mod_count": "0"}
                rows.insert(at if first_stale else at + 1, stale)
        on_list(sb, twice)
        _sync(duckdb_warehouse, sb)
        assert _stored(duckdb_warehouse) == _vendor(sb), first_stale
        sb.rewrite_responses(None)
        _sync(duckdb_warehouse, sb)
        assert _stored(duckdb_warehouse) == _vendor(sb), first_stale


def _jira_stored(settings) -> dict[str, str]:
    rows = _rows(settings, "select id, updated from jira.issues")
    assert len(rows) == len({r[0] for r in rows}), "jira.issues holds an id twice"
    return dict(rows)


def test_jira_same_issue_twice_in_a_page_keeps_the_newest_version(make_jira_sandbox, duckdb_warehouse):
    """A search page serves one issue twice: a stale copy (older ``updated``, other summary) and the issue
    as it is. The first sighting won and the other was skipped as "seen twice in this run"; when the stale
    copy came first, the warehouse kept it, and no later run read the issue again once the cursor passed
    it. The newest version wins whatever the order, and the next run keeps it."""
    sb = make_jira_sandbox(size=20)
    vendor = {i["id"]: i["fields"]["updated"] for i in sb.issues(fields=["updated"])}
    victim = min(vendor, key=lambda k: (vendor[k], k))

    for first_stale in (True, False):
        def twice(req, resp, first_stale=first_stale):
            body = json.loads(resp.body)
            issues = body.get("issues") or []
            at = next((n for n, i in enumerate(issues) if str(i.get("id")) == victim), None)
            if at is not None:
                stale = json.loads(json.dumps(issues[at]))
                stale["fields"].update(updated="2001-01-01T00:00:00.000+0000", summary="stale copy")
                issues.insert(at if first_stale else at + 1, stale)
            resp.body = json.dumps(body).encode()
        _jira_rewrite(sb, twice)
        _jira_sync(duckdb_warehouse, sb, concurrency=1)
        assert _jira_stored(duckdb_warehouse) == vendor, first_stale
        sb.rewrite_responses(None)
        _jira_sync(duckdb_warehouse, sb, concurrency=1)
        assert _jira_stored(duckdb_warehouse) == vendor, first_stale


def test_onetrust_same_risk_twice_in_a_page_keeps_the_newest_version(make_onetrust_sandbox, duckdb_warehouse):
    """A risks page lists one risk twice, a stale copy (older ``lastModifiedUTCDateTime``) and the risk as
    it is: one row per risk, the newest, on the first sync (which appends) and the next, in either order."""
    from tests.test_ingestion_hostile_more import _ot_rewrite, _ot_stored, _ot_sync

    sb = make_onetrust_sandbox(size=20)
    vendor = {r["id"]: r["lastModifiedUTCDateTime"] for r in sb.risks()}
    victim = min(vendor, key=lambda k: (vendor[k], k))
    for first_stale in (True, False):
        def twice(req, body, first_stale=first_stale):
            rows = body.get("content") or []
            at = next((n for n, r in enumerate(rows) if r.get("id") == victim), None)
            if at is not None:
                stale = {**rows[at], "lastModifiedUTCDateTime": "2001-01-01T00:00:00Z", "name": "stale copy"}
                rows.insert(at if first_stale else at + 1, stale)
        _ot_rewrite(sb, "/api/risk/v2/risks/pages", twice)
        _ot_sync(duckdb_warehouse, sb, ["risks"])
        assert _ot_stored(duckdb_warehouse, "risks", "risk_id") == vendor, first_stale
        sb.rewrite_responses(None)
        _ot_sync(duckdb_warehouse, sb, ["risks"])
        assert _ot_stored(duckdb_warehouse, "risks", "risk_id") == vendor, first_stale


def test_servicenow_record_dated_in_the_future_without_a_vendor_clock_does_not_freeze_the_cursor(
        make_servicenow_sandbox, duckdb_warehouse):
    """One record stamped 2099 (a wrong clock at the vendor, an import), from an instance (or proxy) that
    sends no ``Date`` header: nothing capped the cursor, it jumped to 2099 and no later change ever loaded.
    Without the vendor's clock the cursor is capped at ours."""
    from tests.test_ingestion_hostile_more import _stored, _sync, _vendor, on_list

    sb = make_servicenow_sandbox(size=30)
    victim = _sn_oldest(sb)["sys_id"]

    sb.http_date = lambda: ""  # an empty Date header: the instance's clock unknown
    assert sb.http_date() == ""

    def future(req, resp, body):
        for row in body["result"]:
            if row.get("sys_id") == victim:
                row["sys_updated_on"] = "2099-01-01 00:00:00"
    on_list(sb, future)
    _sync(duckdb_warehouse, sb)
    import time
    time.sleep(1.05)
    touched = sb.touch("incident", n=5)
    time.sleep(1.05)
    _sync(duckdb_warehouse, sb)
    stored, vendor = _stored(duckdb_warehouse), _vendor(sb)
    assert stored.pop(victim) == "2099-01-01 00:00:00"
    vendor.pop(victim)
    assert stored == vendor, [t for t in touched if stored.get(t) != vendor.get(t)]


def test_onetrust_risk_dated_in_the_future_does_not_freeze_the_cursor(make_onetrust_sandbox, duckdb_warehouse):
    """OneTrust sends no clock to cap the cursor: one risk stamped 2099 moved it there, and the delta
    stopped at the first page every run after, so no later change loaded."""
    import time

    from tests.test_ingestion_hostile_more import _ot_rewrite, _ot_stored, _ot_sync

    sb = make_onetrust_sandbox(size=30)
    victim = min(r["id"] for r in sb.risks())

    def future(req, body):
        for row in body.get("content") or []:
            if row.get("id") == victim:
                row["lastModifiedUTCDateTime"] = "2099-01-01T00:00:00Z"
    _ot_rewrite(sb, "/api/risk/v2/risks/pages", future)
    _ot_sync(duckdb_warehouse, sb, ["risks"])
    time.sleep(1.05)
    sb.touch("risks", n=5)
    time.sleep(1.05)
    _ot_sync(duckdb_warehouse, sb, ["risks"])
    stored = _ot_stored(duckdb_warehouse, "risks", "risk_id")
    vendor = {r["id"]: r["lastModifiedUTCDateTime"] for r in sb.risks()}
    assert stored.pop(victim) == "2099-01-01T00:00:00Z"
    vendor.pop(victim)
    assert stored == vendor


@pytest.mark.parametrize("total", ["many", "1e3", [3], 1e300, True])
def test_jira_comment_total_that_is_not_a_count_is_not_a_crash_loop(total, make_jira_sandbox, duckdb_warehouse):
    """An issue whose ``comment.total`` is no count (text, a float, a list, a boolean): ``int(total)`` raised
    on it every run (``invalid literal for int()``), so nothing loaded. It counts as unknown: the comment
    list is read to its end, and the issue loads with every comment."""
    sb = make_jira_sandbox(size=20)
    seen: dict[str, set[str]] = {}

    def odd(req, resp):
        body = json.loads(resp.body)
        for issue in body.get("issues") or []:
            comment = (issue.get("fields") or {}).get("comment")
            if isinstance(comment, dict) and comment.get("comments") and not seen:
                seen[str(issue["id"])] = {str(c["id"]) for c in comment["comments"]}
            if isinstance(comment, dict) and str(issue["id"]) in seen:
                comment["total"] = total
        resp.body = json.dumps(body).encode()
    _jira_rewrite(sb, odd)
    _jira_sync(duckdb_warehouse, sb, concurrency=1)
    assert seen, "no issue with comments in the sandbox"
    ids = {str(i) for i in sb.store.issues}
    assert {r[0] for r in _rows(duckdb_warehouse, "select id from jira.issues")} == ids
    (victim, comments), = seen.items()
    stored = {r[0] for r in _rows(duckdb_warehouse, f"select id from jira.comments where issue_id = '{victim}'")}
    assert stored == comments


def test_jira_comment_pages_that_ignore_start_at_quarantine_the_issue_not_an_endless_read(make_jira_sandbox,
                                                                                           duckdb_warehouse):
    """An issue's comment endpoint (a proxy dropping ``startAt``) answers its first page for every
    ``startAt``, without ``total`` or ``isLast``: the read asked for the next page for ever, growing the
    list in memory. The repeat stops it: that issue is quarantined naming the fault, the others load, and
    it loads once the endpoint pages again."""
    import re

    sb = make_jira_sandbox(size=20)
    victim: dict[str, str] = {}

    def odd(req, resp):
        body = json.loads(resp.body)
        if req.path.endswith("/search/jql"):
            for issue in body.get("issues") or []:
                comment = (issue.get("fields") or {}).get("comment")
                if isinstance(comment, dict) and comment.get("comments") and not victim:
                    victim["id"] = str(issue["id"])
                if isinstance(comment, dict) and str(issue["id"]) == victim.get("id"):
                    comment["total"] = len(comment["comments"]) + 1  # cut short: fetch the rest
        elif re.search(r"/issue/[^/]+/comment$", req.path) and isinstance(body, dict):
            body.pop("total", None)
            body.pop("isLast", None)
            if body.get("comments") == [] and "first" in victim:
                body["comments"] = json.loads(victim["first"])
            victim.setdefault("first", json.dumps(body.get("comments")))
        resp.body = json.dumps(body).encode()
        return resp
    sb.rewrite_responses(lambda req, resp: odd(req, resp) if resp.status == 200 else resp)
    _jira_sync(duckdb_warehouse, sb, concurrency=1)
    ids = {str(i) for i in sb.store.issues}
    assert {r[0] for r in _rows(duckdb_warehouse, "select id from jira.issues")} == ids - {victim["id"]}
    reasons = dict(_rows(duckdb_warehouse, "select record_id, reason from jira.quarantine"))
    assert "the same page again" in reasons.get(victim["id"], ""), reasons
    sb.rewrite_responses(None)
    _jira_sync(duckdb_warehouse, sb, concurrency=1)
    assert {r[0] for r in _rows(duckdb_warehouse, "select id from jira.issues")} == ids


def test_onetrust_keys_that_collide_once_normalised_add_no_columns(make_onetrust_sandbox, duckdb_warehouse):
    """Risks carrying keys dlt's naming folds into one column (``Foo Bar`` and ``foo_bar``, ``a__b`` and a
    nested ``a.b``, ``Name`` beside ``name``): the rows read named fields only, so every risk loads once
    and no column appears for them."""
    from tests.test_ingestion_hostile_more import _ot_rewrite, _ot_stored, _ot_sync

    sb = make_onetrust_sandbox(size=20)

    def extras(req, body):
        for row in body.get("content") or []:
            row.update({"Foo Bar": "x", "foo_bar": {"y": 1}, "a__b": 1, "a": {"b": [2]}, "Name": 3, "ID": "shadow"})
    _ot_rewrite(sb, "/api/risk/v2/risks/pages", extras)
    _ot_sync(duckdb_warehouse, sb, ["risks"])
    vendor = {r["id"]: r["lastModifiedUTCDateTime"] for r in sb.risks()}
    assert _ot_stored(duckdb_warehouse, "risks", "risk_id") == vendor
    columns = {r[0] for r in _rows(duckdb_warehouse, "select column_name from information_schema.columns "
                                                     "where table_schema = 'onetrust' and table_name = 'risks'")}
    assert not columns & {"foo_bar", "a__b", "a_b", "id", "name__v_bigint"}, sorted(columns)


@pytest.mark.parametrize("meta", ["x", [1], {"page": "x"}, {"page": [1]}, None])
def test_onetrust_page_meta_of_the_wrong_shape_reads_as_unknown_counts_not_a_crash(meta):
    """An inventory page whose ``meta`` (or ``meta.page``) is not an object raised ``'str' object has no
    attribute 'get'``; it reads as a page without counts (paged on while pages come back full)."""
    from pipelines.onetrust.helpers import parse_page

    page = parse_page({"data": [{"id": "a"}], "meta": meta}, 3)
    assert (page.items, page.number, page.total_pages, page.total_elements) == ([{"id": "a"}], 3, None, None)
    page = parse_page({"content": [{"id": "a"}], "page": meta}, 2)
    assert (page.number, page.total_pages) == (2, None)
