"""Round 33: JSON nested deeper than the parsers read costs its record, not every run.

A vendor value nested ~3,000 levels deep (a runaway custom field, a recursive ADF description) made the page
"not JSON" on every attempt: the lenient parser's RecursionError became a ValueError (round 16), so the run failed,
and the next run read the same page and failed again, for ever, loading nothing after it. Now each value that
opens below ``pages.MAX_DEPTH`` levels is cut and replaced by a marker no vendor text can produce; the record is
quarantined naming the field, the page's other records load, and a rerun writes no second quarantine row.
"""

from __future__ import annotations

import json

from pipelines.common import pages
from tests.ingestion_harness import JIRA_ISSUES, SN_INCIDENTS, quarantine, sql
from tests.test_ingestion_hostile_more import _jira_rewrite, _jira_sync, on_list
from tests.test_round30_sn_hostile_ids import _sync

DEEP = "[" * 3000 + "]" * 3000


def test_only_the_deep_value_is_cut_and_strings_holding_brackets_are_left_alone():
    body = ('{"result":[{"sys_id":"a","x":' + DEEP + '},{"sys_id":"b","x":"q \\" [[{ ]","y":[[1]]}], "n": 2}').encode()
    page = pages.loads(body)
    assert page["n"] == 2 and page["result"][1] == {"sys_id": "b", "x": 'q " [[{ ]', "y": [[1]]}
    reason = pages.text_problem(page["result"][0])
    assert reason.startswith("x[0][0]") and "JSON nested deeper than 200 levels" in reason, reason
    assert pages.text_problem(page["result"][1]) is None
    # A vendor cannot forge the marker: an escaped surrogate pair is one code point, raw bytes other escapes.
    forged = pages.loads(b'{"x":"\\udbff\\udfff","y":"\xed\xaf\xbf\xed\xbf\xbf"}')
    assert "nested" not in (pages.text_problem({"x": forged["x"]}) or "")
    assert "nested" not in pages.text_problem({"y": forged["y"]})


def test_a_servicenow_record_nested_too_deep_is_quarantined_and_the_rest_loads(make_servicenow_sandbox,
                                                                                duckdb_warehouse):
    sb = make_servicenow_sandbox(size=20)
    victim = sb.records("incident")[5]["sys_id"]

    def deep(req, resp, body):
        for row in body["result"]:
            if row.get("sys_id") == victim:
                row["short_description"] = "@@DEEP@@"
        resp.body = json.dumps(body).replace('"@@DEEP@@"', DEEP).encode()
        return resp
    on_list(sb, deep)
    for _ in range(2):  # the rerun re-reads it by id: still one quarantine row
        _sync(duckdb_warehouse, sb, ["incident"])  # raised "not JSON on all 3 attempts" on every run
        reasons = quarantine(duckdb_warehouse, SN_INCIDENTS)
        assert list(reasons) == [victim] and "short_description[0]" in reasons[victim], reasons
        assert "nested deeper than 200 levels" in reasons[victim]
        assert sql(duckdb_warehouse, "select count(*) from servicenow.quarantine") == [(1,)]
        stored = {r[0] for r in sql(duckdb_warehouse, "select sys_id from servicenow.incidents")}
        assert stored == {r["sys_id"] for r in sb.records("incident")} - {victim}

    sb.rewrite_responses(None)  # served sanely: it loads
    _sync(duckdb_warehouse, sb, ["incident"])
    stored = {r[0] for r in sql(duckdb_warehouse, "select sys_id from servicenow.incidents")}
    assert stored == {r["sys_id"] for r in sb.records("incident")}


def test_a_jira_description_nested_too_deep_quarantines_its_issue_only(make_jira_sandbox, duckdb_warehouse):
    sb = make_jira_sandbox(size=10)
    victim = str(sorted(sb.store.issues)[3])
    adf = ('{"type":"doc","version":1,"content":' + '[{"type":"paragraph","content":' * 700 + "[]"
           + "}]" * 700 + "}")

    def garble(req, resp):
        body = json.loads(resp.body)
        for issue in body.get("issues") or []:
            if str(issue.get("id")) == victim:
                issue["fields"]["description"] = "@@DEEP@@"
        resp.body = json.dumps(body).replace('"@@DEEP@@"', adf).encode()
    _jira_rewrite(sb, garble)
    _jira_sync(duckdb_warehouse, sb, concurrency=1)
    reasons = quarantine(duckdb_warehouse, JIRA_ISSUES)
    key = victim  # quarantined under its id
    assert list(reasons) == [key] and reasons[key].startswith("invalid text: fields.description.content"), reasons
    assert "nested deeper than 200 levels" in reasons[key]
    assert sql(duckdb_warehouse, "select count(*) from jira.issues") == [(9,)]
