"""Round 32: vendor ids and numbers that are almost right, end to end (sandbox over HTTP -> dlt source -> DuckDB).

Covered before: ids in fullwidth or Arabic-Indic digits (round 16), hostile text inside an id (round 22/30),
one sys_id in two tables (round 30/31). Here:

- a Jira issue id written as Jira never writes it: ``010003`` (a leading zero), 21 digits, a JSON float ``1e20``.
  Each matched ``^[0-9]+$`` and was stored as a second row under the issue's key beside the real one (staging
  keys on the id as text); now quarantined naming ``id``, and the issue loads once served right;
- a ServiceNow sys_id served upper-cased or with a trailing space: quarantined (as before), but the padded one
  was kept in the re-read queue as it came, which no ``sys_idIN`` query can hold: it was dropped from the queue
  and never loaded once served right. Both are now re-read by their canonical sys_id;
- a ServiceNow count staging casts to INTEGER (``reassignment_count``, ``risk``) with more digits than it holds
  loaded and became a silent NULL; it is quarantined naming the field.

Every case: the good rows land, a rerun writes no second quarantine row, and the warehouse equals the vendor once
the vendor serves the record right.
"""

from __future__ import annotations

import json
import time

from tests.ingestion_harness import JIRA_ISSUES, SN_INCIDENTS, assert_parity, quarantine, sql
from tests.test_ingestion_hostile_more import _jira_rewrite, _jira_sync, _stored, _sync, _vendor, on_list


def _issue_ids(settings) -> list[tuple[str, str]]:
    return sql(settings, "select id, key from jira.issues order by key, id")


def test_jira_ids_jira_never_writes_are_quarantined_not_second_rows(make_jira_sandbox, duckdb_warehouse):
    sb = make_jira_sandbox(size=20)
    ids = sorted(sb.store.issues)
    _jira_sync(duckdb_warehouse, sb, concurrency=1)
    before = _issue_ids(duckdb_warehouse)
    assert len(before) == 20

    zero, wide, floated = str(ids[3]), str(ids[5]), str(ids[8])
    odd = {zero: "0" + zero, wide: "9" * 21, floated: 1e20}

    def garble(req, resp):
        body = json.loads(resp.body)
        for issue in body.get("issues") or []:
            issue["id"] = odd.get(str(issue.get("id")), issue.get("id"))
        resp.body = json.dumps(body).encode()
    _jira_rewrite(sb, garble)
    sb.touch(20)  # every issue changes, so the incremental read serves all of them again
    time.sleep(1.05)
    for _ in range(2):  # the second run re-reads the quarantined issues and writes nothing new
        _jira_sync(duckdb_warehouse, sb, concurrency=1)
        stored = _issue_ids(duckdb_warehouse)
        assert sorted(i for i, _ in stored) == sorted(i for i, _ in before), stored
        reasons = quarantine(duckdb_warehouse, JIRA_ISSUES)
        keys = {sb.store.issues[int(i)].key for i in odd}
        assert set(reasons) == keys, reasons
        assert all(r.startswith("id: str_matches") for r in reasons.values()), reasons
        assert f"(got 0{zero})" in reasons[sb.store.issues[int(zero)].key], reasons
        assert sql(duckdb_warehouse, "select count(*) from jira.quarantine") == [(3,)]

    sb.rewrite_responses(None)
    _jira_sync(duckdb_warehouse, sb, concurrency=1)
    assert_parity(sb, duckdb_warehouse, JIRA_ISSUES)
    assert len(_issue_ids(duckdb_warehouse)) == 20
    _jira_sync(duckdb_warehouse, sb, concurrency=1)  # idempotent
    assert_parity(sb, duckdb_warehouse, JIRA_ISSUES)
    assert sql(duckdb_warehouse, "select count(*) from jira.quarantine") == [(3,)]


def test_jira_sprint_and_comment_ids_with_a_leading_zero_are_quarantined(make_jira_sandbox, duckdb_warehouse):
    """The same check holds for every Jira id: a comment id ``0…`` is rejected, a sprint id ``007`` too."""
    from pipelines.jira.schemas import list_problem

    assert list_problem("issues", {"sprint_ids": ["7", "007"]}) == (
        'sprint_ids: item 1 is not a sprint with an id: got string "007"')
    assert list_problem("issues", {"sprint_ids": ["7", "9" * 19]}) is not None
    assert list_problem("issues", {"sprint_ids": ["7", "0", "123456789012345678"]}) is None

    from pipelines.common.validation import validate_page
    from pipelines.jira.schemas import SCHEMAS, columns

    rows = [{"id": cid, "issue_id": "10003", "created": "2026-10-01T12:34:56.789+0000"}
            for cid in ("10100", "010100", "10100\n", "1" * 19, "0")]
    check = validate_page(rows, SCHEMAS["comments"], columns("comments"))
    assert check.valid["id"].to_list() == ["10100", "0"]
    assert [r["id"] for r, _ in check.rejected] == ["010100", "10100\n", "1" * 19]


def test_servicenow_sys_id_upper_cased_or_padded_is_read_again_by_its_real_id(make_servicenow_sandbox,
                                                                            duckdb_warehouse):
    sb = make_servicenow_sandbox(size=20)
    records = sb.records("incident")
    upper, padded, counted = records[2]["sys_id"], records[4]["sys_id"], records[6]["sys_id"]

    def change(req, resp, body):
        for r in body["result"]:
            if r["sys_id"] == upper:
                r["sys_id"] = upper.upper()
            elif r["sys_id"] == padded:
                r["sys_id"] = padded + " "
            elif r["sys_id"] == counted:
                r["reassignment_count"] = "9" * 25
    on_list(sb, change)
    for _ in range(2):  # the second run re-reads the three by id and quarantines none of them again
        _sync(duckdb_warehouse, sb)
        assert set(_stored(duckdb_warehouse)) == set(_vendor(sb)) - {upper, padded, counted}
        reasons = quarantine(duckdb_warehouse, SN_INCIDENTS)
        assert set(reasons) == {upper.upper(), padded + " ", counted}, reasons
        assert reasons[counted].startswith("reassignment_count: str_matches"), reasons[counted]
        assert all(reasons[k].startswith("sys_id: str_matches") for k in (upper.upper(), padded + " ")), reasons
        assert sql(duckdb_warehouse, "select count(*) from servicenow.quarantine") == [(3,)]

    sb.rewrite_responses(None)  # served right: all three load, though none changed at the vendor
    _sync(duckdb_warehouse, sb)
    assert_parity(sb, duckdb_warehouse, SN_INCIDENTS)
    assert sql(duckdb_warehouse, "select reassignment_count from servicenow.incidents where sys_id = ?",
               counted) == [(records[6]["reassignment_count"],)]
    _sync(duckdb_warehouse, sb)  # idempotent
    assert_parity(sb, duckdb_warehouse, SN_INCIDENTS)
    assert sql(duckdb_warehouse, "select count(*) from servicenow.quarantine") == [(3,)]


def test_servicenow_integers_staging_cannot_cast_are_rejected():
    from pipelines.common.validation import validate_page
    from pipelines.servicenow.schemas import table_schema
    from pipelines.servicenow.settings import TABLES

    spec = TABLES["change_request"]
    base = {f: None for f in spec.fields} | {"sys_id": "a" * 32, "sys_updated_on": "2026-01-01 00:00:00"}
    rows = [base | {"sys_id": c * 32, "risk": risk} for c, risk in zip("abcdef", ["3", "", "-", "1234567890",
                                                                                  "-123456789", "\uff13"], strict=True)]
    check = validate_page(rows, table_schema("change_request"), spec.fields)
    assert check.valid["risk"].to_list() == ["3", "", "-123456789"]
    assert sorted(r["risk"] for r, _ in check.rejected) == sorted(["-", "1234567890", "\uff13"])
    assert all(reason.startswith("risk: str_matches") for _, reason in check.rejected)


def test_jira_story_points_and_due_dates_staging_cannot_cast_are_quarantined(make_jira_sandbox, duckdb_warehouse):
    """Story points as a float's text (``1e-05``), a float past what staging's numeric(10, 2) holds (``1e20``) or
    9 whole digits passed the check and staging read NULL: the estimate was lost without a trace. Each is now
    quarantined naming ``story_points``; 5, 2.5 and 0.333 load (staging rounds the last) and the issues load
    once served right. So is a due date the calendar lacks (``2026-02-30``)."""
    sb = make_jira_sandbox(size=20)
    ids = sorted(sb.store.issues)
    served = {str(ids[1]): 1e-05, str(ids[2]): 1e20, str(ids[3]): 123456789, str(ids[4]): 5, str(ids[5]): 2.5,
              str(ids[6]): 0.333}

    def points(req, resp):
        body = json.loads(resp.body)
        for issue in body.get("issues") or []:
            if str(issue.get("id")) in served and isinstance(issue.get("fields"), dict):
                issue["fields"]["customfield_10016"] = served[str(issue["id"])]
            if str(issue.get("id")) == str(ids[7]) and isinstance(issue.get("fields"), dict):
                issue["fields"]["duedate"] = "2026-02-30"  # no such day: staging read NULL
        resp.body = json.dumps(body).encode()
    _jira_rewrite(sb, points)
    _jira_sync(duckdb_warehouse, sb, concurrency=1)
    bad = {str(i) for i in ids[1:4]}
    reasons = dict(sql(duckdb_warehouse, "select record_id, reason from jira.quarantine"))
    assert reasons.pop(str(ids[7])) == "duedate: not a real date like 2026-10-01 (got 2026-02-30)"
    assert set(reasons) == bad and all(r.startswith("story_points: str_matches") for r in reasons.values()), reasons
    bad.add(str(ids[7]))
    stored = dict(sql(duckdb_warehouse, "select id, story_points from jira.issues"))
    assert {stored[str(i)] for i in ids[4:7]} == {"5", "2.5", "0.333"}
    assert not bad & set(stored)

    sb.rewrite_responses(None)
    _jira_sync(duckdb_warehouse, sb, concurrency=1)
    assert_parity(sb, duckdb_warehouse, JIRA_ISSUES)
    assert sql(duckdb_warehouse, "select count(*) from jira.quarantine") == [(4,)]


def test_jira_deletes_by_webhook_take_ids_in_any_form_jira_could_mean(duckdb_warehouse):
    """``010003`` (a gateway's padding) or ``10003.0`` (one re-serialising numbers) in a ``jira:issue_deleted``
    event was stored as sent: the delete matched no issue and 10003 stayed live; ``10003.0`` even failed the event.
    Both now mark issue 10003 deleted; an id past 18 digits or an issue key is still refused, naming the fix."""
    from datetime import UTC, datetime

    import pytest

    from pipelines.jira.deletions import mark_issues_deleted

    at = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    assert mark_issues_deleted(["010003", 10004.0, " 10005 ", 10003], at, settings=duckdb_warehouse) == 3
    assert sorted(r[0] for r in sql(duckdb_warehouse, "select record_id from jira.deletions")) == [
        "10003", "10004", "10005"]
    for wrong in (["9" * 19], ["PROJ-1"], [True], [1.5]):
        with pytest.raises(ValueError, match="Jira issue ids are numbers"):
            mark_issues_deleted(wrong, at, settings=duckdb_warehouse)
