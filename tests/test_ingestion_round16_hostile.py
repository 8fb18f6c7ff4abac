"""Round 16: hostile vendor answers not covered by tests/test_ingestion_hostile*.py.

- OneTrust: an assessment ``/export`` whose parts have the wrong JSON shape (``createdBy`` a string, a
  section that is not an object, a list for the whole export) crashed every run with
  ``'str' object has no attribute 'get'`` (a crash loop);
- OneTrust: a risk whose nested parts have the wrong shape (``categories`` a number crashed the run; a
  string or an object, ``riskOwnersId`` a string, a level sent as text instead of ``{"level": ...}``
  were stored as ``[]`` / NULL in silence);
- OneTrust: an integer beyond int64 (``number``) that the warehouse cannot hold;
- every vendor: ids, counts and dates written in non-ASCII digits (Arabic-Indic, fullwidth) passed
  the schemas' ``\\d`` (Unicode-aware in polars), so ``10005`` in fullwidth digits was stored as an
  issue id next to ``10005``.

Rule: the record is loaded exactly once or quarantined with a reason naming the field, and loads once
the vendor serves it right; the run never crashes on it.
"""

from __future__ import annotations

import json

import pytest

from tests.test_ingestion_hostile_more import FAST, _ot_stored, _rows

WIDE = str.maketrans("0123456789", "".join(chr(0xFF10 + n) for n in range(10)))  # fullwidth digits
ARABIC = str.maketrans("0123456789", "".join(chr(0x0660 + n) for n in range(10)))  # Arabic-Indic digits
EXPORT = "/api/assessment/v2/assessments/{id}/export"
RISKS_LIST = "/api/risk/v2/risks/pages"


def _ot_sync(settings, sb, entities) -> None:
    from pipelines.onetrust import onetrust_source

    creds = sb.credentials
    source = onetrust_source(base_url=sb.url, client_id=creds["client_id"], client_secret=creds["client_secret"],
                             entities=list(entities), policy=FAST)
    settings.pipeline("onetrust").run(source, loader_file_format="parquet")


def _reasons(settings, entity: str) -> dict[str, str]:
    return dict(_rows(settings, "select record_id, reason from onetrust.quarantine "
                                f"where entity = '{entity}' order by quarantined_at"))


def test_onetrust_export_of_the_wrong_shape_is_quarantined_not_a_crash_loop(make_onetrust_sandbox,
                                                                            duckdb_warehouse):
    sb = make_onetrust_sandbox(size=30)
    ids = sorted(a["assessmentId"] for a in sb.assessments())
    spoil = {  # assessment id -> (rewrite of its export, reason expected)
        ids[1]: (lambda e: {**e, "createdBy": "bob"}, 'export.createdBy: expected an object, got string "bob"'),
        ids[4]: (lambda e: {**e, "sections": ["intro"]},
                 'export.sections[0]: expected an object, got string "intro"'),
        ids[6]: (lambda e: [e], "export: expected an object, got array"),
        ids[9]: (lambda e: {**e, "approvers": [{"approver": 7}]},
                 "export.approvers[0].approver: expected an object, got number 7"),
    }

    def rewrite(req, resp):
        for aid, (change, _) in spoil.items():
            if req.path == EXPORT.format(id=aid) and resp.status == 200:
                resp.body = json.dumps(change(json.loads(resp.body))).encode()
        return resp
    sb.rewrite_responses(rewrite)
    _ot_sync(duckdb_warehouse, sb, ["assessments"])
    reasons = _reasons(duckdb_warehouse, "assessments")
    for aid, (_, reason) in spoil.items():
        assert reasons.get(aid.lower(), "").startswith(reason), (aid, reasons.get(aid.lower()))
    vendor = {a["assessmentId"].lower(): a["lastUpdated"] for a in sb.assessments()}
    stored = _ot_stored(duckdb_warehouse, "assessments", "assessment_id")
    assert stored == {k: v for k, v in vendor.items() if k not in {s.lower() for s in spoil}}

    sb.rewrite_responses(None)  # served right again, same update time: the next run loads them
    _ot_sync(duckdb_warehouse, sb, ["assessments"])
    assert _ot_stored(duckdb_warehouse, "assessments", "assessment_id") == vendor


def test_onetrust_risk_parts_of_the_wrong_shape_are_quarantined_not_crashed_on_or_dropped(make_onetrust_sandbox,
                                                                                       duckdb_warehouse):
    sb = make_onetrust_sandbox(size=30)
    ids = sorted(r["id"] for r in sb.risks())
    spoil = {
        ids[0]: ("categories", 5, "categories: expected an array, got number 5"),
        ids[3]: ("categories", "Privacy", 'categories: expected an array, got string "Privacy"'),
        ids[5]: ("riskOwnersId", ids[5], "riskOwnersId: expected an array, got string"),
        ids[8]: ("inherentRiskLevel", "High", 'inherentRiskLevel: expected an object, got string "High"'),
        ids[11]: ("categories", ["Privacy"], 'categories[0]: expected an object, got string "Privacy"'),
    }

    def change(req, resp):
        if req.path != RISKS_LIST or resp.status != 200:
            return resp
        body = json.loads(resp.body)
        for record in body.get("content") or []:
            if record["id"] in spoil:
                field, value, _ = spoil[record["id"]]
                record[field] = value
        resp.body = json.dumps(body).encode()
        return resp
    sb.rewrite_responses(change)
    _ot_sync(duckdb_warehouse, sb, ["risks"])
    reasons = _reasons(duckdb_warehouse, "risks")
    for rid, (_, _, reason) in spoil.items():
        assert reasons.get(rid, "").startswith(reason), (rid, reasons.get(rid))
    vendor = {r["id"]: r["lastModifiedUTCDateTime"] for r in sb.risks()}
    assert _ot_stored(duckdb_warehouse, "risks", "risk_id") == {k: v for k, v in vendor.items() if k not in spoil}

    sb.rewrite_responses(None)
    _ot_sync(duckdb_warehouse, sb, ["risks"])
    assert _ot_stored(duckdb_warehouse, "risks", "risk_id") == vendor


@pytest.mark.parametrize(("field", "number", "reason"), [
    ("number", 2**63, "number: expected an integer within 64 bits"),
    ("number", 2**64 - 1, "number: expected an integer within 64 bits"),
    ("number", -(2**63) - 1, "number: expected an integer, got number"),  # orjson reads these as floats
    ("number", 2**80, "number: expected an integer, got number"),
    ("riskScore", 2**63, "risk_score: expected a number within 64 bits")])
def test_onetrust_integer_beyond_int64_is_quarantined_not_a_failed_load(field, number, reason, make_onetrust_sandbox,
                                                                        duckdb_warehouse):
    """An integer beyond 64 bits failed dlt's normalize ("Python int too large to convert to C long") and
    left the package pending: every later run failed the same way."""
    sb = make_onetrust_sandbox(size=20)
    victim = sorted(r["id"] for r in sb.risks())[2]

    def change(req, resp):
        if req.path != RISKS_LIST or resp.status != 200:
            return resp
        text = resp.body.decode()
        body = json.loads(text)
        for record in body.get("content") or []:
            if record["id"] == victim:
                record[field] = "@@BIG@@"
        resp.body = json.dumps(body).replace('"@@BIG@@"', str(number)).encode()
        return resp
    sb.rewrite_responses(change)
    _ot_sync(duckdb_warehouse, sb, ["risks"])
    got = _reasons(duckdb_warehouse, "risks").get(victim, "")
    assert got.startswith(reason), got
    vendor = {r["id"]: r["lastModifiedUTCDateTime"] for r in sb.risks()}
    assert _ot_stored(duckdb_warehouse, "risks", "risk_id") == {k: v for k, v in vendor.items() if k != victim}
    sb.rewrite_responses(None)
    _ot_sync(duckdb_warehouse, sb, ["risks"])
    assert _ot_stored(duckdb_warehouse, "risks", "risk_id") == vendor


def test_jira_issue_id_in_non_ascii_digits_is_quarantined_not_a_second_row(make_jira_sandbox, duckdb_warehouse):
    """An id in fullwidth or Arabic-Indic digits matched the id check ``^\\d+$`` (polars' ``\\d`` is
    Unicode): the issue was stored under an id Jira never uses, next to its real one."""
    from tests.test_ingestion_hostile_more import _jira_rewrite, _jira_sync

    sb = make_jira_sandbox(size=20)
    ids = sorted(sb.store.issues)
    wide, arabic = str(ids[3]), str(ids[7])
    glyphs = {wide: WIDE, arabic: ARABIC}

    def garble(req, resp):
        body = json.loads(resp.body)
        for issue in body.get("issues") or []:
            if str(issue.get("id")) in glyphs:
                issue["id"] = str(issue["id"]).translate(glyphs[str(issue["id"])])
        resp.body = json.dumps(body).encode()
    _jira_rewrite(sb, garble)
    _jira_sync(duckdb_warehouse, sb, concurrency=1)
    _jira_sync(duckdb_warehouse, sb, concurrency=1)  # the next run is not blocked (the re-read asks by key)
    stored = [r[0] for r in _rows(duckdb_warehouse, "select id from jira.issues")]
    assert sorted(stored) == sorted(str(i) for i in ids if str(i) not in glyphs), stored
    reasons = [r for _, r in _rows(duckdb_warehouse, "select record_id, reason from jira.quarantine")]
    assert len(reasons) == 2 and all(r.startswith("id: str_matches") for r in reasons), reasons
    sb.rewrite_responses(None)
    _jira_sync(duckdb_warehouse, sb, concurrency=1)
    stored = [r[0] for r in _rows(duckdb_warehouse, "select id from jira.issues")]
    assert sorted(stored) == sorted(str(i) for i in ids)


def test_schemas_take_ascii_digits_only():
    """The same ``\\d`` let counts and dates in other scripts through ServiceNow's and OneTrust's
    checks: staging's casts then failed or read NULL."""
    import pandera.polars as pa

    from pipelines.common.validation import validate_page
    from pipelines.onetrust.schemas import ISO_TS
    from pipelines.servicenow.schemas import OPTIONAL_INTEGER, SYS_ID

    schema = pa.DataFrameSchema({"sys_id": pa.Column(str, pa.Check.str_matches(SYS_ID)),
                                 "n": pa.Column(str, pa.Check.str_matches(OPTIONAL_INTEGER), nullable=True),
                                 "at": pa.Column(str, pa.Check.str_matches(ISO_TS), nullable=True)})
    page = [{"sys_id": "a" * 32, "n": "12", "at": "2026-01-01T00:00:00Z"},
            {"sys_id": "b" * 32, "n": "12".translate(ARABIC), "at": None},
            {"sys_id": "c" * 32, "n": None, "at": "2026".translate(WIDE) + "-01-01T00:00:00Z"}]
    check = validate_page(page, schema, ["sys_id", "n", "at"])
    assert check.valid["sys_id"].to_list() == ["a" * 32]
    assert [r["sys_id"][0] for r, _ in check.rejected] == ["b", "c"]


def test_onetrust_answer_values_of_the_wrong_type_add_no_variant_columns(make_onetrust_sandbox, duckdb_warehouse):
    """The answers (``assessments__responses``) were not type-checked: dlt types a child column by the
    first value it meets, so an answer sent as a number or an object, or a question sequence sent as
    text, typed the column or split it into variants (``response__v_text``) depending on which assessment
    loaded first. An answer that is not text is kept as its JSON text; a sequence that is not an integer
    quarantines the assessment, naming the answer."""
    sb = make_onetrust_sandbox(size=30)
    answered = sorted(a["assessmentId"] for a in sb.assessments() if a["status"] != "Not Started"
                      and not a.get("_launched"))
    spoil = {answered[0]: ("response", 5, None), answered[1]: ("response", {"a": 1}, None),
             answered[2]: ("sequence", "1", 'responses[0].question_sequence: expected an integer, got string "1"')}

    def rewrite(req, resp):
        for aid, (field, value, _) in spoil.items():
            if req.path == EXPORT.format(id=aid) and resp.status == 200:
                export = json.loads(resp.body)
                entry = next(q for s in export["sections"] for q in s["questions"] if q["questionResponses"])
                if field == "sequence":
                    entry["question"]["sequence"] = value
                else:
                    entry["questionResponses"][0]["responses"][0]["response"] = value
                resp.body = json.dumps(export).encode()
        return resp
    sb.rewrite_responses(rewrite)
    _ot_sync(duckdb_warehouse, sb, ["assessments"])
    reasons = _reasons(duckdb_warehouse, "assessments")
    columns = {r[0] for r in _rows(duckdb_warehouse, "select column_name from information_schema.columns where table_"
                                                     "schema = 'onetrust' and table_name = 'assessments__responses'")}
    assert not [c for c in columns if c.startswith(("response__", "question_sequence__"))], columns
    assert reasons == {answered[2].lower(): spoil[answered[2]][2]}
    texts = {r[0] for r in _rows(duckdb_warehouse, "select r.response from onetrust.assessments__responses r join "
                                                   "onetrust.assessments a on r._dlt_parent_id = a._dlt_id where "
                                                   f"a.assessment_id in ('{answered[0].lower()}', "
                                                   f"'{answered[1].lower()}')")}
    assert {"5", '{"a": 1}'} <= texts, texts
    sb.rewrite_responses(None)
    _ot_sync(duckdb_warehouse, sb, ["assessments"])
    vendor = {a["assessmentId"].lower(): a["lastUpdated"] for a in sb.assessments()}
    assert _ot_stored(duckdb_warehouse, "assessments", "assessment_id") == vendor


# --- update stamps the checks let through but the cursor cannot read ----------------------------------------

def test_servicenow_leap_second_stamp_is_quarantined_not_a_crash(make_servicenow_sandbox, duckdb_warehouse):
    """``23:59:60`` passed the timestamp check (polars reads leap seconds) and then failed the cursor's
    parse (``second must be in 0..59``): every run of the table died there."""
    from tests.test_ingestion_hostile_more import _stored, _sync, _vendor, on_list

    sb = make_servicenow_sandbox(size=30)
    victim = sorted(_vendor(sb))[4]

    def leap(req, resp, body):
        for row in body["result"]:
            if row["sys_id"] == victim:
                row["sys_updated_on"] = "2026-12-31 23:59:60"
    on_list(sb, leap)
    _sync(duckdb_warehouse, sb)
    reasons = dict(_rows(duckdb_warehouse, "select record_id, reason from servicenow.quarantine"))
    assert reasons.get(victim, "").startswith("sys_updated_on: not a real date/time"), reasons.get(victim)
    assert _stored(duckdb_warehouse) == {k: v for k, v in _vendor(sb).items() if k != victim}
    sb.rewrite_responses(None)
    _sync(duckdb_warehouse, sb)
    assert _stored(duckdb_warehouse) == _vendor(sb)


@pytest.mark.parametrize("stamp", ["2026-12-31T23:59:60.000+0000", "9999-12-31T23:59:59.999-0100",
                                   "0000-01-01T00:00:00.000+0000", "0001-01-01T00:00:00.000+0100",
                                   # round 17: shapes polars reads but the cursor cannot
                                   "2026-01-01T10:00:00.000 +0000", " 2026-01-01T10:00:00.000+0000",
                                   "+2026-01-01T10:00:00.000+0000"])
def test_jira_update_stamps_no_clock_can_hold_are_quarantined_not_a_crash(stamp, make_jira_sandbox,
                                                                         duckdb_warehouse):
    """A leap second, year 0, stamps whose UTC time falls outside years 1-9999, and (round 17) a space
    before the offset, a leading space or a plus before the year passed the timestamp
    check and then failed the cursor's parse (``second must be in 0..59``, ``date value out of range``):
    every run died there. They are quarantined, naming the field, and load once Jira sends a real time."""
    from tests.test_ingestion_hostile_more import _jira_rewrite, _jira_sync

    sb = make_jira_sandbox(size=20)
    victim = str(sorted(sb.store.issues)[6])

    def odd(req, resp):
        body = json.loads(resp.body)
        for issue in body.get("issues") or []:
            if str(issue.get("id")) == victim:
                issue["fields"]["updated"] = stamp
        resp.body = json.dumps(body).encode()
    _jira_rewrite(sb, odd)
    _jira_sync(duckdb_warehouse, sb, concurrency=1)
    reasons = dict(_rows(duckdb_warehouse, "select record_id, reason from jira.quarantine"))
    assert reasons.get(victim, "").startswith("updated: not a Jira timestamp"), reasons
    ids = {str(i) for i in sb.store.issues}
    assert {r[0] for r in _rows(duckdb_warehouse, "select id from jira.issues")} == ids - {victim}
    sb.rewrite_responses(None)
    _jira_sync(duckdb_warehouse, sb, concurrency=1)
    assert {r[0] for r in _rows(duckdb_warehouse, "select id from jira.issues")} == ids


@pytest.mark.parametrize("stamp", ["2026-12-31T23:59:60Z", "9999-12-31T23:59:59-01:00", "0000-01-01T00:00:00Z",
                                   "0001-01-01T00:00:00+01:00"])
def test_onetrust_update_stamps_no_clock_can_hold_are_quarantined_not_a_crash(stamp, make_onetrust_sandbox,
                                                                             duckdb_warehouse):
    sb = make_onetrust_sandbox(size=20)
    victim = sorted(r["id"] for r in sb.risks())[3]

    def change(req, resp):
        if req.path != RISKS_LIST or resp.status != 200:
            return resp
        body = json.loads(resp.body)
        for record in body.get("content") or []:
            if record["id"] == victim:
                record["lastModifiedUTCDateTime"] = stamp
        resp.body = json.dumps(body).encode()
        return resp
    sb.rewrite_responses(change)
    _ot_sync(duckdb_warehouse, sb, ["risks"])
    reason = _reasons(duckdb_warehouse, "risks").get(victim, "")
    assert reason.startswith("lastModifiedUTCDateTime: "), reason
    vendor = {r["id"]: r["lastModifiedUTCDateTime"] for r in sb.risks()}
    assert _ot_stored(duckdb_warehouse, "risks", "risk_id") == {k: v for k, v in vendor.items() if k != victim}
    sb.rewrite_responses(None)
    _ot_sync(duckdb_warehouse, sb, ["risks"])
    assert _ot_stored(duckdb_warehouse, "risks", "risk_id") == vendor


# --- bodies the HTTP layer cannot decode -------------------------------------------------------------------

def test_corrupt_gzip_is_retried_then_named_not_a_raw_decoding_error(make_servicenow_sandbox, duckdb_warehouse):
    """A body sent with ``Content-Encoding: gzip`` that is not gzip (a proxy's fault) raised requests'
    ``ContentDecodingError`` straight out of the sync: not retried, and naming nothing to check. Once, it
    is now retried; every time, it stops with an error naming the request and what to check."""
    from sandbox.core.http import Response
    from tests.test_ingestion_hostile_more import LIST, _stored, _sync, _vendor

    sb = make_servicenow_sandbox(size=30)
    served = {"n": 0, "every": False}

    def corrupt(req, resp):
        if req.path != LIST or req.method != "GET" or resp.status != 200:
            return resp
        served["n"] += 1
        if served["every"] or served["n"] == 2:
            return Response(200, b"\x1f\x8b\x08\x00garbage-not-deflate", headers=[("Content-Encoding", "gzip")])
        return resp
    sb.rewrite_responses(corrupt)
    _sync(duckdb_warehouse, sb)
    assert _stored(duckdb_warehouse) == _vendor(sb)

    served["every"] = True
    sb.touch("incident", n=3)
    import time
    time.sleep(1.05)
    with pytest.raises(Exception, match=r"ServiceNow: GET /api/now/table/incident failed after 3 attempts: "
                                        r"ContentDecodingError.*base URL"):
        _sync(duckdb_warehouse, sb)


# --- OneTrust: a page that repeats the one before -----------------------------------------------------------

VENDORS_LIST = "/api/inventory/v2/inventories/vendors"


@pytest.mark.parametrize("times", [1, None])
def test_onetrust_page_repeating_the_previous_one_is_asked_again_then_stops(times, make_onetrust_sandbox,
                                                                            duckdb_warehouse):
    """A caching gateway serves page 0's records again as page 1 (numbered right): the pass took them as
    read (each id once) and never saw page 1's ten vendors, in silence, until a full pass. Once, the page
    is asked again; every time, the read stops with an error naming the fault."""
    sb = make_onetrust_sandbox(size=40)
    first: dict = {}
    served = {"repeats": 0}

    def repeat(req, resp):
        if req.path != VENDORS_LIST or resp.status != 200:
            return resp
        body = json.loads(resp.body)
        if "page=0" in req.raw_query:
            first["data"] = body["data"]
        elif "page=1" in req.raw_query and first and (times is None or served["repeats"] < times):
            served["repeats"] += 1
            body["data"] = first["data"]
        resp.body = json.dumps(body).encode()
        return resp
    sb.rewrite_responses(repeat)
    source_kwargs = {"vendor_page_size": 10, "reconcile": False}
    from pipelines.onetrust import onetrust_source

    creds = sb.credentials

    def run():
        duckdb_warehouse.pipeline("onetrust").run(onetrust_source(
            base_url=sb.url, client_id=creds["client_id"], client_secret=creds["client_secret"],
            entities=["vendors"], policy=FAST, **source_kwargs), loader_file_format="parquet")
    vendor = {r["id"]: r["lastUpdatedDate"] for r in sb.vendors() if not r.get("markForDelete")}
    if times:
        run()
        assert _ot_stored(duckdb_warehouse, "vendors", "vendor_id") == vendor
    else:
        with pytest.raises(Exception, match=r"OneTrust served page 1 of .*vendors with the same records as page "
                                            r"0.*again"):
            run()


# --- Jira: flags and stamps read before the issues are checked ----------------------------------------------

def test_jira_is_last_sent_as_text_does_not_end_the_search_early(make_jira_sandbox, duckdb_warehouse):
    """``"isLast": "false"`` (text, as some gateways re-serialise it) is truthy: the search ended after its
    first page, and every later issue was missing in silence. Only ``true`` ends it (or no token)."""
    from tests.test_ingestion_hostile_more import _jira_rewrite, _jira_sync

    sb = make_jira_sandbox(size=45)

    def as_text(req, resp):
        body = json.loads(resp.body)
        if "isLast" in body:
            body["isLast"] = str(body["isLast"]).lower()
        resp.body = json.dumps(body).encode()
    _jira_rewrite(sb, as_text)
    _jira_sync(duckdb_warehouse, sb, concurrency=1)
    assert {r[0] for r in _rows(duckdb_warehouse, "select id from jira.issues")} == {str(i) for i in sb.store.issues}


def test_jira_split_planning_survives_an_oldest_stamp_no_clock_can_hold(make_jira_sandbox, duckdb_warehouse,
                                                                        monkeypatch):
    """A big read asks Jira for its oldest ``updated`` to cut the span into ranges; a leap second there
    raised from the planning, before any issue was checked: every run died. The read is not split then,
    and the issue is quarantined by the check."""
    from pipelines.jira import search
    from tests.test_ingestion_hostile_more import _jira_rewrite, _jira_sync

    monkeypatch.setattr(search, "SPLIT_MIN_ISSUES", 5)
    sb = make_jira_sandbox(size=30)

    def leap(req, resp):
        body = json.loads(resp.body)
        for issue in (body.get("issues") or [])[:1]:
            issue.setdefault("fields", {})["updated"] = "2026-12-31T23:59:60.000+0000"
        resp.body = json.dumps(body).encode()
    _jira_rewrite(sb, leap)
    _jira_sync(duckdb_warehouse, sb, concurrency=4)
    reasons = [r for _, r in _rows(duckdb_warehouse, "select record_id, reason from jira.quarantine")]
    assert reasons and all(r.startswith("updated: not a Jira timestamp") for r in reasons), reasons


def test_servicenow_date_header_that_is_not_a_date_is_ignored_not_a_crash():
    """The read takes its "as of" time from the responses' ``Date``; a proxy's ``Date: 0`` or ``Date:
    garbage`` raised from ``parsedate_to_datetime`` (ValueError) and failed every run. Such a header is
    ignored (the sandbox's server always sends a good one first, so this is checked on the client)."""
    from types import SimpleNamespace

    from pipelines.servicenow.helpers import ServiceNowClient

    client = ServiceNowClient.__new__(ServiceNowClient)
    client.server_time = None
    for value in ("garbage", "0", "", "Mon, 99 Foo 2026 99:99:99 GMT", "Sat, 05 Dec 2026 23:17:00 GMT"):
        answer = SimpleNamespace(headers={"Date": value, "X-Total-Count": "1"}, status_code=200)
        client.session = SimpleNamespace(request_json=lambda *a, answer=answer, **k: ({"result": []}, answer))
        assert client._page("incident", {}) == ([], 1)
    assert client.server_time is not None and client.server_time.year == 2026


@pytest.mark.parametrize("total_pages", ["4", "many", None, 4.0, True])
def test_onetrust_page_counts_that_are_not_integers_do_not_end_or_crash_the_read(total_pages,
                                                                                 make_onetrust_sandbox,
                                                                                 duckdb_warehouse):
    """``totalPages`` as text crashed the pager (``'<' not supported between int and str``); absent (a
    gateway stripping ``meta``), the read ended after the first page, the rest missing in silence. A
    count that is not an integer is unknown now: a full page means "maybe more", as for ServiceNow."""
    sb = make_onetrust_sandbox(size=40)

    def change(req, resp):
        if req.path != VENDORS_LIST or resp.status != 200:
            return resp
        body = json.loads(resp.body)
        page = body["meta"]["page"]
        if total_pages is None:
            page.pop("totalPages", None)
            page.pop("totalElements", None)
        else:
            page["totalPages"] = total_pages
        resp.body = json.dumps(body).encode()
        return resp
    sb.rewrite_responses(change)
    from pipelines.onetrust import onetrust_source

    creds = sb.credentials
    duckdb_warehouse.pipeline("onetrust").run(onetrust_source(
        base_url=sb.url, client_id=creds["client_id"], client_secret=creds["client_secret"], entities=["vendors"],
        policy=FAST, vendor_page_size=10, reconcile=False), loader_file_format="parquet")
    vendor = {r["id"]: r["lastUpdatedDate"] for r in sb.vendors() if not r.get("markForDelete")}
    assert _ot_stored(duckdb_warehouse, "vendors", "vendor_id") == vendor


def test_utf16_json_with_a_byte_order_mark_is_read(make_servicenow_sandbox, duckdb_warehouse):
    """A Windows-hosted proxy re-encoding the answer as UTF-16 (with its byte order mark) made every page
    "a body that is not JSON": the sync failed on every run. RFC 7159 allowed UTF-16 and UTF-32; the BOM
    says which, so it is decoded (and a cut-off UTF-16 body is still no JSON)."""
    from pipelines.common.pages import loads
    from sandbox.core.http import Response
    from tests.test_ingestion_hostile_more import LIST, _stored, _sync, _vendor

    doc = {"result": [{"sys_id": "a" * 32, "d": "caf\u00e9 \U0001f600"}]}
    for codec in ("utf-16", "utf-16-be", "utf-16-le", "utf-32"):
        bom = {"utf-16-be": b"\xfe\xff", "utf-16-le": b"\xff\xfe"}.get(codec, b"")
        assert loads(bom + json.dumps(doc, ensure_ascii=False).encode(codec)) == doc, codec
    with pytest.raises(ValueError):
        loads(json.dumps(doc).encode("utf-16")[:-7])

    sb = make_servicenow_sandbox(size=25)

    def utf16(req, resp):
        if req.path != LIST or req.method != "GET" or resp.status != 200:
            return resp
        return Response(200, json.loads(resp.body) and json.dumps(json.loads(resp.body)).encode("utf-16"),
                        content_type="application/json; charset=utf-16", headers=resp.headers)
    sb.rewrite_responses(utf16)
    _sync(duckdb_warehouse, sb)
    assert _stored(duckdb_warehouse) == _vendor(sb)


# --- nesting deeper than Python's recursion ------------------------------------------------------------------

def test_json_nested_deeper_than_the_parsers_read_is_a_named_error_and_deep_adf_is_read():
    """A page nested ~2,000 levels deep (a runaway custom field) raised RecursionError out of the parser:
    not a ValueError, so not retried or explained, a crash on every run. It is now "not JSON" naming the
    depth. A comment body in ADF nested ~1,000 levels (orjson reads up to 1,024) crashed the text
    extraction with RecursionError; it is read without recursion."""
    from pipelines.common.pages import loads
    from pipelines.jira.flatten import adf_text

    deep = b'{"result":[{"sys_id":"a","x":' + b"[" * 5000 + b"]" * 5000 + b"}]}"
    # Round 33: the value below 200 levels is cut and its record quarantined, not the page refused.
    from pipelines.common.pages import text_problem
    assert "nested deeper than" in text_problem(loads(deep)["result"][0])
    node: dict = {"type": "text", "text": "x"}
    for n in range(5000):
        node = {"type": "paragraph", "content": [node, {"type": "text", "text": str(n % 10)}]}
    text = adf_text(node)
    assert text.startswith("x") and text.replace("\n", "").endswith("0123456789")
    small = {"type": "doc", "content": [{"type": "paragraph", "content": [{"type": "text", "text": "a"},
                                                                         {"type": "hardBreak"},
                                                                         {"type": "text", "text": "b"}]},
                                        {"type": "paragraph", "content": [{"type": "text", "text": "c"}]}]}
    assert adf_text(small) == "a\nb\nc"
