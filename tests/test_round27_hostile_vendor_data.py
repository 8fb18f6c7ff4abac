"""Round 27: hostile vendor data not covered by the earlier hostile-ingestion rounds, end to end (sandbox over
HTTP -> the real dlt source -> DuckDB, and PostgreSQL where the warehouse matters).

- Jira: a comment, a changelog history or a sprint listed twice in an issue (a repeated page, a Sprint field
  naming a sprint twice), or one comment id on two issues, was stored once per copy: ``jira.comments`` held a
  comment id twice and staging's ``unique`` tests failed the dbt build. One row per key now; a copy that
  differs is quarantined with the reason (:mod:`pipelines.jira.child_twins`).
- OneTrust: a record ``number`` beyond 32 bits loaded (BIGINT) and then broke every model reading the staged
  table (``cast(number as integer)``: out of range); ``NaN`` / ``Infinity`` / ``1e999`` as a risk score were
  stored as NULL in silence. Both are quarantined with the reason now, and load once served right.
- Every vendor: an error body with a lone UTF-16 surrogate (``{"message": "\\ud800"}``) reached an attachment
  row's ``content_error`` as it came, and the whole sync failed its extract ("surrogates not allowed") on
  every run. The error text now shows the escape.
- PostgreSQL: NUL in records and in a vendor's error text never reaches a text column (quarantined, or shown
  as a space), so the load PostgreSQL would refuse never happens; the rest loads.
"""

from __future__ import annotations

import dataclasses
import json

import psycopg2
import pytest

from pipelines.common.warehouse import WarehouseSettings
from tests.conftest import jira_env, sandbox_env
from tests.dbt_helpers import dbt
from tests.ingestion_harness import assert_servicenow_attachments_stored, cut_one_issues_comments_short, sync
from tests.test_ingestion_hostile_more import (
    _jira_rewrite,
    _jira_sync,
    _ot_rewrite,
    _ot_sync,
    _rows,
    _stored,
    _sync,
    _vendor,
    on_list,
)

RISKS = "/api/risk/v2/risks/pages"
VENDORS = "/api/inventory/v2/inventories/vendors"
SURROGATE_ERROR = b'{"message": "quota exceeded \\ud800 for \\u0000 this file"}'


def _dupes(settings, table: str, key: str) -> list[tuple]:
    return _rows(settings, f"select {key}, count(*) from jira.{table} group by {key} having count(*) > 1")


def _quarantine(settings, schema: str, entity: str) -> dict[str, str]:
    return dict(_rows(settings, f"select record_id, reason from {schema}.quarantine where entity = '{entity}'"))


# --- Jira: children listed twice ------------------------------------------------------------------------

def test_jira_comments_histories_and_sprints_listed_twice_are_stored_once(make_jira_sandbox, duckdb_warehouse):
    sb = make_jira_sandbox(size=60)
    stale_ids: set[tuple[str, str]] = set()  # (comment id, issue id) of each stale copy served
    loans: dict[str, str] = {}  # comment id served on a second issue -> the issue it belongs to

    def twice(req, resp):
        body = json.loads(resp.body)
        with_comments = [i for i in body.get("issues") or [] if (i["fields"].get("comment") or {}).get("comments")]
        for n, issue in enumerate(body.get("issues") or []):
            fields = issue["fields"]
            comments = (fields.get("comment") or {}).get("comments") or []
            if comments:
                comments.append(dict(comments[0]))  # the same comment again, as it was
                if len(comments) > 2:  # a stale copy of another comment (older, other text)
                    stale = {**comments[1], "updated": "2001-01-01T00:00:00.000+0000", "body": "stale copy"}
                    comments.insert(0, stale)
                    stale_ids.add((str(stale["id"]), str(issue["id"])))
                fields["comment"]["total"] = len(comments)
            histories = (issue.get("changelog") or {}).get("histories") or []
            if histories:
                histories.append(dict(histories[-1]))
                issue["changelog"]["total"] = len(histories)
            for value in fields.values():  # the Sprint field naming one sprint twice
                if isinstance(value, list) and value and isinstance(value[0], dict) and "state" in value[0]:
                    value.append(dict(value[0]))
            if n == 0 and len(with_comments) > 1 and with_comments[-1] is not issue:
                # one comment id on two issues: an older copy of the last issue's comment on this one
                other = with_comments[-1]
                loan = {**other["fields"]["comment"]["comments"][-1], "updated": "2002-02-02T00:00:00.000+0000"}
                fields.setdefault("comment", {"comments": []})["comments"] = [*comments, loan]
                fields["comment"]["total"] = len(fields["comment"]["comments"])
                loans[str(loan["id"])] = str(other["id"])
        resp.body = json.dumps(body).encode()

    _jira_rewrite(sb, twice)
    _jira_sync(duckdb_warehouse, sb, concurrency=1)
    assert stale_ids and loans, (stale_ids, loans)
    for table, key in (("comments", "id"), ("issue_changelog", "id"), ("sprint_issues", "sprint_id, issue_id")):
        assert _rows(duckdb_warehouse, f"select count(*) from jira.{table}")[0][0] > 0, table
        assert _dupes(duckdb_warehouse, table, key) == [], f"jira.{table} holds a key twice"
    vendor = {(str(c["id"]), str(i["id"])): c for i in sb.issues(fields=["comment"])
              for c in (i["fields"].get("comment") or {}).get("comments") or []}
    stored = {(r[0], r[1]): r[2] for r in _rows(duckdb_warehouse, "select id, issue_id, updated from jira.comments")}
    assert set(stored) == set(vendor), "the comments stored are not the vendor's, one per (id, issue)"
    assert all(stored[k] == vendor[k]["updated"] for k in stale_ids), "a stale copy won"
    held = _quarantine(duckdb_warehouse, "jira", "comments")
    assert set(held) == {k for k, _ in stale_ids} | set(loans), held
    assert all(" reused: " in reason for reason in held.values()), held
    for comment, owner in loans.items():  # kept under its own issue (newer), the older copy held
        assert f"kept the copy of issue {owner} " in held[comment], held[comment]
    assert not _quarantine(duckdb_warehouse, "jira", "issues")
    assert not _quarantine(duckdb_warehouse, "jira", "issue_changelog")
    assert not _quarantine(duckdb_warehouse, "jira", "sprint_issues")

    quarantined = _rows(duckdb_warehouse, "select count(*) from jira.quarantine")

    sb.rewrite_responses(None)  # served right again: nothing doubles, nothing more is held
    _jira_sync(duckdb_warehouse, sb, concurrency=1)
    for table, key in (("comments", "id"), ("issue_changelog", "id"), ("sprint_issues", "sprint_id, issue_id")):
        assert _dupes(duckdb_warehouse, table, key) == [], f"jira.{table} holds a key twice"
    assert _rows(duckdb_warehouse, "select count(*) from jira.quarantine") == quarantined


# --- ServiceNow: a row served before its place in sys_id order ------------------------------------------

@pytest.mark.parametrize(("concurrency", "stale"), [(1, False), (4, True)])
def test_servicenow_row_served_before_its_place_in_sys_id_order_skips_nothing(concurrency, stale,
                                                                              make_servicenow_sandbox,
                                                                              duckdb_warehouse):
    """A page holding one row far ahead of its place (the table's highest sys_id, as it is or a stale copy of
    it) became the next page's start: every record between it and the page's end was skipped in silence (39
    of 50). The row is read in its place instead, and every record loads once, in the vendor's version."""
    sb = make_servicenow_sandbox(size=50)
    top = max(sb.records("incident"), key=lambda r: r["sys_id"])
    served = {"pages": 0}

    def early(req, resp, body):
        rows = body["result"]
        served["pages"] += 1
        if served["pages"] <= 2 and len(rows) > 4 and rows[-1]["sys_id"] < top["sys_id"]:
            copy = {k: top.get(k) for k in rows[0]}
            if stale:
                copy.update(sys_updated_on="2001-01-01 00:00:00", short_description="stale copy", sys_mod_count="0")
            rows.insert(2, copy)
    on_list(sb, early)
    _sync(duckdb_warehouse, sb, concurrency=concurrency)
    assert served["pages"] > 2
    assert _stored(duckdb_warehouse) == _vendor(sb)  # none missing, none stale, none twice
    assert not _rows(duckdb_warehouse, "select * from servicenow.quarantine")


# --- deletes: audit rows and census entries of the wrong shape ----------------------------------------------

def test_servicenow_delete_audit_entries_that_are_not_objects_do_not_stop_the_sync(make_servicenow_sandbox,
                                                                                   duckdb_warehouse):
    """``sys_audit_delete`` answering ``"oops"``, ``null`` or ``5`` among its rows crashed every run (``'str'
    object has no attribute 'get'``); the entries are skipped and the real audit rows still mark deletes."""
    sb = make_servicenow_sandbox(size=30)
    _sync(duckdb_warehouse, sb)
    gone = sb.records("incident")[4]["sys_id"]
    sb.delete("incident", gone)

    def odd(req, resp):
        if req.path.endswith("/sys_audit_delete") and resp.status == 200:
            body = json.loads(resp.body)
            body["result"] = ["oops", None, 5, *body["result"]]
            resp.body = json.dumps(body).encode()
        return resp
    sb.rewrite_responses(odd)
    _sync(duckdb_warehouse, sb)
    assert _rows(duckdb_warehouse, "select record_id from servicenow.deletions") == [(gone,)]
    assert {k for k in _stored(duckdb_warehouse) if k != gone} == set(_vendor(sb))


def test_jira_census_ids_sent_as_floats_or_missing_mark_no_live_issue_deleted(make_jira_sandbox, duckdb_warehouse):
    """The delete census (``reconcile_deletes``) took ``10003.0`` (a gateway re-serialising numbers) as the id
    ``"10003.0"``, so the live issue 10003 was marked deleted; an entry without an id could be any stored
    issue, and one that is no object crashed the pass. Floats are read as the ids they are; with entries
    that have no usable id the census proves no absence that run; a clean census marks the real delete."""
    sb = make_jira_sandbox(size=30)
    _jira_sync(duckdb_warehouse, sb, concurrency=1)
    ids = sorted(sb.store.issues)
    sb.delete([sb.store.issues[ids[-1]].key])
    sb.sync_index()
    blind = {"on": False}

    def census(req, resp):
        if json.loads(req.body).get("fields") != ["id"]:
            return
        body = json.loads(resp.body)
        for issue in body.get("issues") or []:
            issue["id"] = float(issue["id"])
        if blind["on"]:
            body["issues"] = [*body.get("issues", []), {"id": None}, "oops"]
        resp.body = json.dumps(body).encode()
    _jira_rewrite(sb, census)
    deletions = "select record_id from jira.deletions where entity = 'issues'"

    blind["on"] = True
    _jira_sync(duckdb_warehouse, sb, concurrency=1, reconcile_deletes=True)
    assert _rows(duckdb_warehouse, deletions) == []  # absence unprovable: nothing marked, nothing crashed
    blind["on"] = False
    _jira_sync(duckdb_warehouse, sb, concurrency=1, reconcile_deletes=True)
    assert _rows(duckdb_warehouse, deletions) == [(str(ids[-1]),)]  # the real delete, and no live issue


def test_jira_issue_quarantined_then_deleted_does_not_fail_every_later_run(make_jira_sandbox, duckdb_warehouse):
    """Two issues are quarantined (no summary), so both are read again by id (``id in (a, b)``); one is then
    deleted at Jira. Jira refuses the whole search with 400 ("An issue with key 'a' does not exist for field
    'id'"): every later run failed its extract, for good. Now the refused chunk is read issue by issue: the
    deleted one is read again no more, the other loads once Jira serves it right."""
    sb = make_jira_sandbox(size=30)
    ids = sorted(sb.store.issues)
    doomed, repaired = str(ids[4]), str(ids[9])
    broken = {doomed, repaired}
    asked: list[str] = []  # the JQL of every search

    def no_summary(req, resp):
        asked.append(json.loads(req.body).get("jql", ""))
        body = json.loads(resp.body)
        for issue in body.get("issues") or []:
            if str(issue.get("id")) in broken:
                issue["fields"]["summary"] = None
        resp.body = json.dumps(body).encode()
    _jira_rewrite(sb, no_summary)
    _jira_sync(duckdb_warehouse, sb, concurrency=1)
    assert set(_quarantine(duckdb_warehouse, "jira", "issues")) == broken
    sb.delete([sb.store.issues[int(doomed)].key])
    sb.sync_index()
    broken.discard(repaired)  # Jira serves it right again

    _jira_sync(duckdb_warehouse, sb, concurrency=1)  # failed: POST /search/jql answered 400
    stored = {r[0] for r in _rows(duckdb_warehouse, "select id from jira.issues")}
    assert repaired in stored and doomed not in stored
    asked.clear()
    _jira_sync(duckdb_warehouse, sb, concurrency=1)
    assert asked and not [q for q in asked if doomed in q], asked  # the deleted issue is read again no more


def test_jira_issue_whose_comment_list_is_refused_is_quarantined_not_a_failed_sync(make_jira_sandbox,
                                                                                  duckdb_warehouse):
    """Search cut an issue's comments short, and its comment endpoint answers 400 ("Comment body is too
    large to render" [unc]): the whole sync failed, on every run. That issue is quarantined with Jira's answer,
    every other issue loads, and it loads once the endpoint answers."""
    sb = make_jira_sandbox(size=20)

    def refuse(resp):
        resp.status, resp.body = 400, b'{"errorMessages": ["Comment body is too large to render"]}'
    victim, refused = cut_one_issues_comments_short(sb, refuse)
    _jira_sync(duckdb_warehouse, sb, concurrency=1)
    ids = {str(i) for i in sb.store.issues}
    assert {r[0] for r in _rows(duckdb_warehouse, "select id from jira.issues")} == ids - {victim["id"]}
    held = _quarantine(duckdb_warehouse, "jira", "issues")
    assert set(held) == {victim["id"]} and "answered 400: ['Comment body is too large" in held[victim["id"]], held
    refused["on"] = False
    _jira_sync(duckdb_warehouse, sb, concurrency=1)
    assert {r[0] for r in _rows(duckdb_warehouse, "select id from jira.issues")} == ids


def test_servicenow_attachment_listing_with_a_count_that_is_no_number_or_an_entry_that_is_no_object(
        make_servicenow_sandbox, monkeypatch, duckdb_warehouse):
    """The attachment listing answering ``X-Total-Count: many`` failed every run (``int()``), and an entry that
    is no object (``"oops"``) crashed it (``'str' object has no attribute 'get'``, then ``StopIteration``).
    The count is unknown (paged until an empty page, as table reads do), the entry is quarantined as not a
    record, and every attachment is stored with the vendor's bytes."""
    sb = make_servicenow_sandbox(size=40)
    sandbox_env(monkeypatch, sb)

    def odd(req, resp):
        if req.path == "/api/now/attachment" and resp.status == 200:
            resp.headers = [(k, "many" if k == "X-Total-Count" else v) for k, v in resp.headers]
            body = json.loads(resp.body)
            body["result"] = ["oops", *body["result"]] if body["result"] else []
            resp.body = json.dumps(body).encode()
        return resp
    sb.rewrite_responses(odd)
    sync("servicenow", "cli")
    assert_servicenow_attachments_stored(sb, duckdb_warehouse)
    held = _rows(duckdb_warehouse, "select record, reason from servicenow.quarantine where entity = 'attachments'")
    assert held and {r for r in held} == {('"oops"', "not a record: a JSON string where the Attachment API sends "
                                                     "an object")}, held
    sb.rewrite_responses(None)
    sync("servicenow", "cli")
    assert_servicenow_attachments_stored(sb, duckdb_warehouse)


# --- OneTrust: numbers no staged column holds ----------------------------------------------------------------

def test_onetrust_numbers_staging_cannot_hold_are_quarantined_and_dbt_reads_the_rest(
        make_onetrust_sandbox, duckdb_warehouse, tmp_path):
    sb = make_onetrust_sandbox(size=12)
    risks, vendors = sb.risks(), [v for v in sb.vendors() if not v.get("markForDelete")]
    odd = {risks[0]["id"]: {"number": 3_000_000_000}, risks[1]["id"]: {"riskScore": float("nan")},
           risks[2]["id"]: {"riskScore": float("inf")}, risks[3]["id"]: {"riskScore": -float("inf")},
           vendors[0]["id"]: {"number": -(2**31) - 1}}
    edge = {risks[4]["id"]: {"number": 2**31 - 1}, vendors[1]["id"]: {"number": -(2**31)}}  # fit: they load

    def serve(req, body):
        for record in body.get("content") or body.get("data") or []:  # risks, vendors
            record.update(odd.get(record.get("id"), {}), **edge.get(record.get("id"), {}))

    _both(sb, serve)
    _ot_sync(duckdb_warehouse, sb, ["risks", "vendors"])

    held = {**_quarantine(duckdb_warehouse, "onetrust", "risks"), **_quarantine(duckdb_warehouse, "onetrust",
                                                                                  "vendors")}
    assert set(held) == set(odd), held
    assert "number: expected an integer within 32 bits" in held[risks[0]["id"]]
    assert "number: expected an integer within 32 bits" in held[vendors[0]["id"]]
    for rid, sent in ((risks[1]["id"], "NaN"), (risks[2]["id"], "Infinity"), (risks[3]["id"], "-Infinity")):
        assert f"risk_score: expected a finite number, got number {sent}" in held[rid], held[rid]
    stored = dict(_rows(duckdb_warehouse, "select risk_id, number from onetrust.risks"))
    assert stored[risks[4]["id"]] == 2**31 - 1 and not set(odd) & set(stored)

    built = dbt(duckdb_warehouse, tmp_path / "dbt", "run", "--select", "+stg_onetrust__risks", "+stg_onetrust__vendors")
    assert built.returncode == 0, built.stdout[-3000:]
    # the staged views cast `number` to INTEGER: reading them is where a 3,000,000,000 failed the build
    assert _rows(duckdb_warehouse, "select max(risk_number) from staging.stg_onetrust__risks") == [(2**31 - 1,)]
    assert _rows(duckdb_warehouse, "select min(vendor_number) from staging.stg_onetrust__vendors") == [(-(2**31),)]

    sb.rewrite_responses(None)  # served right: every held record loads (the re-read rule)
    _ot_sync(duckdb_warehouse, sb, ["risks", "vendors"])
    assert set(odd) <= {r[0] for r in _rows(duckdb_warehouse, "select risk_id from onetrust.risks union all "
                                                              "select vendor_id from onetrust.vendors")}


def _both(sb, change) -> None:
    """One response rewrite for the risks and the vendors listings."""
    def rewrite(req, resp):
        if req.path not in (RISKS, VENDORS) or resp.status != 200:
            return resp
        body = json.loads(resp.body)
        change(req, body)
        resp.body = json.dumps(body).encode()  # NaN / Infinity written as Python's json writes them
        return resp
    sb.rewrite_responses(rewrite)


# --- vendor error text with a lone surrogate ------------------------------------------------------------------

def _refuse_downloads(sb, marker: str) -> dict[str, int]:
    calls: dict[str, int] = {}

    def refuse(req, resp):
        if marker in req.path:
            calls[req.path] = calls.get(req.path, 0) + 1
            resp.status, resp.body = 400, SURROGATE_ERROR
        return resp
    sb.rewrite_responses(refuse)
    return calls


def _content_errors(settings, schema: str, key: str) -> dict[str, tuple]:
    return {r[0]: r[1:] for r in _rows(settings, f"select {key}, content_status, content_error from "
                                                 f"{schema}.attachments")}


@pytest.mark.parametrize("vendor", ["jira", "servicenow"])
def test_an_error_body_with_a_lone_surrogate_fails_the_download_not_the_sync(
        vendor, make_jira_sandbox, make_servicenow_sandbox, monkeypatch, duckdb_warehouse):
    if vendor == "jira":
        sb = make_jira_sandbox(size=80)
        jira_env(monkeypatch, sb)
        calls, schema, key = _refuse_downloads(sb, "/attachment/content/"), "jira", "id"
    else:
        sb = make_servicenow_sandbox(size=60)
        sandbox_env(monkeypatch, sb)
        assert sb.records("sys_attachment"), "the sandbox has no attachments"
        calls, schema, key = _refuse_downloads(sb, "/file"), "servicenow", "sys_id"
    sync(vendor, "cli")  # crashed: 'utf-8' codec can't encode character '\ud800' ... surrogates not allowed
    rows = _content_errors(duckdb_warehouse, schema, key)
    failed = {k: v for k, v in rows.items() if v[0] == "failed"}
    assert calls and failed, (len(calls), rows)
    for _, error in failed.values():
        assert "answered 400" in error and "quota exceeded \\ud800 for this file" in error, error
    sb.rewrite_responses(None)  # the vendor recovers: the failed downloads are tried again and stored
    sync(vendor, "cli")
    rows = _content_errors(duckdb_warehouse, schema, key)
    assert {rows[k][0] for k in failed} == {"stored"}, {k: rows[k] for k in failed}


# --- PostgreSQL: NUL never reaches a text column ------------------------------------------------------------

@pytest.fixture
def r27_postgres(tmp_path):
    """The database ``r27_ingest`` on the local PostgreSQL (created fresh, dropped afterwards)."""
    admin = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname="postgres")
    admin.autocommit = True
    admin.cursor().execute("drop database if exists r27_ingest with (force)")
    admin.cursor().execute("create database r27_ingest")
    try:
        yield dataclasses.replace(WarehouseSettings(), kind="postgres", pg_database="r27_ingest",
                                  data_dir=str(tmp_path / "pgdata"))
    finally:
        admin.cursor().execute("drop database if exists r27_ingest with (force)")
        admin.close()


@pytest.mark.postgres
def test_postgres_gets_no_nul_and_every_other_record(make_servicenow_sandbox, make_onetrust_sandbox,
                                                      make_jira_sandbox, r27_postgres):
    sn = make_servicenow_sandbox(size=40)
    victims = [r["sys_id"] for r in sn.records("incident")[:3]]

    def nul(req, resp, body):
        for record in body["result"]:
            if record["sys_id"] == victims[0]:
                record["description"] = "before\x00after"
            elif record["sys_id"] == victims[1]:
                record["short_description"] = "\x00"
            elif record["sys_id"] == victims[2]:
                record["u_extra"] = {"nested\x00key": 1}  # in a key, of a field not read: still named
    on_list(sn, nul)
    _sync(r27_postgres, sn)
    held = _quarantine(r27_postgres, "servicenow", "incidents")
    assert set(held) == set(victims) and all("NUL character" in r for r in held.values()), held
    assert held[victims[0]].startswith("invalid text: description: ") and "u_extra.<key>" in held[victims[2]]
    stored = {r[0] for r in _rows(r27_postgres, "select sys_id from servicenow.incidents")}
    assert stored == {r["sys_id"] for r in sn.records("incident")} - set(victims)
    sn.rewrite_responses(None)
    _sync(r27_postgres, sn)
    assert {r[0] for r in _rows(r27_postgres, "select sys_id from servicenow.incidents")} >= set(victims)

    ot = make_onetrust_sandbox(size=10)
    risks = ot.risks()

    def hostile(req, body):
        for record in body.get("content") or []:
            if record["id"] == risks[0]["id"]:
                record["name"] = "risk\x00name"
            elif record["id"] == risks[1]["id"]:
                record["riskScore"] = float("nan")
    _ot_rewrite(ot, RISKS, hostile)
    _ot_sync(r27_postgres, ot, ["risks"])
    held = _quarantine(r27_postgres, "onetrust", "risks")
    assert set(held) == {risks[0]["id"], risks[1]["id"]}, held
    assert len(_rows(r27_postgres, "select risk_id from onetrust.risks")) == len(risks) - 2

    jira = make_jira_sandbox(size=40)

    def refuse(req, resp):
        if "/attachment/content/" in req.path:
            resp.status, resp.body = 400, SURROGATE_ERROR
        return resp
    jira.rewrite_responses(refuse)
    jira_source_run(r27_postgres, jira)
    errors = [r[0] for r in _rows(r27_postgres, "select content_error from jira.attachments "
                                                "where content_status = 'failed'")]
    assert errors and all("\x00" not in e and "\\ud800" in e for e in errors), errors[:2]


def jira_source_run(settings, sb) -> None:
    from pipelines.common.http import RetryPolicy
    from pipelines.jira import jira_source

    source = jira_source(base_url=sb.url, auth_mode="pat", pat=sb.credentials["pat"], page_size=10,
                         policy=RetryPolicy(backoff_base_seconds=0.01, backoff_max_seconds=0.05, max_attempts=3))
    settings.pipeline("jira").run(source)
