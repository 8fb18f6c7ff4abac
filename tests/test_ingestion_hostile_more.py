"""More hostile vendor answers, end to end (sandbox over HTTP -> dlt source -> warehouse), beyond
tests/test_ingestion_hostile.py: answers that are valid HTTP but lie about themselves.

- pages: the same row twice in a page (or out of sys_id order), an empty page in the middle of a read,
  counts (``X-Total-Count``) that are too low, too high or not numbers, an instance that serves the
  same page for ever, page numbers that never advance (OneTrust);
- bodies: HTML with status 200, a body cut off once, a UTF-8 byte order mark, JSON of the wrong shape,
  records that are not objects;
- values: the wrong JSON type (number, object, array, boolean where a string is expected), impossible
  or odd timestamps, megabytes of text, Unicode noncharacters (U+FFFE, U+FFFF), on DuckDB and PostgreSQL.

Rule checked each time: a record is loaded exactly once or quarantined with a reason naming the
field; a read that cannot go on stops with an error saying what came back and what to check, never
loops and never ends early in silence.
"""

from __future__ import annotations

import json
import time

import duckdb
import psycopg2
import pytest

from pipelines.common.http import RetryPolicy
from pipelines.servicenow import servicenow_source
from sandbox.core.http import Response
from tests.conftest import fresh_postgres

FAST = RetryPolicy(backoff_base_seconds=0.01, backoff_max_seconds=0.05, max_attempts=3)
LIST = "/api/now/table/incident"


def _source(sb, **kwargs):
    creds = sb.credentials
    kwargs.setdefault("page_size", 10)
    return servicenow_source(base_url=sb.url, client_id=creds["client_id"], client_secret=creds["client_secret"],
                             username=creds["username"], password=creds["password"], tables=["incident"],
                             attachments=False, policy=FAST, **kwargs)


def _sync(settings, sb, **kwargs) -> None:
    settings.pipeline("servicenow").run(_source(sb, **kwargs),
                                        loader_file_format="parquet" if settings.kind == "duckdb" else None)


def _rows(settings, query: str) -> list[tuple]:
    if settings.kind == "duckdb":
        with duckdb.connect(settings.duckdb_path, read_only=True) as con:
            try:
                return con.execute(query).fetchall()
            except duckdb.CatalogException:
                return []
    c = settings.pg_credentials()
    with psycopg2.connect(host=c["host"], port=c["port"], user=c["username"], dbname=c["database"]) as pg:
        cur = pg.cursor()
        try:
            cur.execute(query)
        except psycopg2.errors.UndefinedTable:  # the table was never created (nothing landed in it)
            return []
        return [tuple(r) for r in cur.fetchall()]


def _stored(settings) -> dict[str, str]:
    rows = _rows(settings, "select sys_id, sys_updated_on from servicenow.incidents")
    assert len(rows) == len({r[0] for r in rows}), "servicenow.incidents holds a sys_id twice"
    return dict(rows)


def _vendor(sb) -> dict[str, str]:
    return {r["sys_id"]: r["sys_updated_on"] for r in sb.records("incident")}


def _quarantine(settings) -> list[tuple[str, str]]:
    return _rows(settings, "select record_id, reason from servicenow.quarantine where entity = 'incidents' "
                           "order by quarantined_at")


def _lists(sb) -> list[dict]:
    return [r for r in sb.request_log if r["path"] == LIST and r["method"] == "GET"]


def on_list(sb, change):
    """Rewrite the incident list answers: ``change(request, response, body)`` edits the parsed body in
    place or returns a whole new Response."""
    def rewrite(req, resp):
        if req.path != LIST or req.method != "GET" or resp.status != 200:
            return resp
        body = json.loads(resp.body)
        other = change(req, resp, body)
        if other is not None:
            return other
        resp.body = json.dumps(body).encode()
        return resp
    sb.rewrite_responses(rewrite)


def _count_header(value: str):
    def change(req, resp, body):
        resp.headers = [(k, value if k == "X-Total-Count" else v) for k, v in resp.headers]
    return change


# --- pages that lie -------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_row_served_twice_in_a_page_or_out_of_order_loads_once(kind, make_servicenow_sandbox, duckdb_warehouse,
                                                                 tmp_path):
    """Every page repeats its first row at its end (out of sys_id order) and its second row right after
    itself. The first sync appends (no merge to dedupe): 110 rows were stored for 30 records (and 2
    records were missing), the read going back to the repeated id and crawling forward. Each record
    must be stored once, on both warehouses, and the next (merging) sync too."""
    sb = make_servicenow_sandbox(size=45)

    def repeat(req, resp, body):
        rows = body["result"]
        if len(rows) >= 2:
            rows.insert(2, dict(rows[1]))
            rows.append(dict(rows[0]))
    on_list(sb, repeat)

    def run(settings):
        _sync(settings, sb)
        assert _stored(settings) == _vendor(sb)
        assert len(_lists(sb)) < 20, "the read went back to a repeated id and crawled forward"
        sb.touch("incident", n=5)
        time.sleep(1.05)
        _sync(settings, sb)
        assert _stored(settings) == _vendor(sb)

    if kind == "duckdb":
        run(duckdb_warehouse)
    else:
        with fresh_postgres(tmp_path / "pgdata") as settings:
            run(settings)


def test_vendor_keys_that_collide_once_normalised_add_no_columns(make_servicenow_sandbox, duckdb_warehouse):
    """Extra keys ServiceNow may send (``u_Name`` and ``u_name``, ``a.b`` and ``a_b``, which dlt's
    naming would fold into one column) are not among the fields read: records load, no column appears."""
    sb = make_servicenow_sandbox(size=20)

    def extras(req, resp, body):
        for row in body["result"]:
            row.update({"u_Name": "upper", "u_name": "lower", "a.b": 1, "a_b": {"x": 2}, "Sys_Id": "shadow"})
    on_list(sb, extras)
    _sync(duckdb_warehouse, sb)
    assert _stored(duckdb_warehouse) == _vendor(sb)
    columns = {r[0] for r in _rows(duckdb_warehouse, "select column_name from information_schema.columns "
                                                     "where table_schema = 'servicenow' and table_name = 'incidents'")}
    assert not columns & {"u_name", "a_b", "sys_id_1"} and not any(c.startswith(("u_", "a_")) for c in columns)


def test_an_empty_page_in_the_middle_of_a_read_is_asked_again(make_servicenow_sandbox, duckdb_warehouse):
    """One page comes back empty though the count says rows remain (a glitch): it is read again, not
    taken as the end of its sys_id range (which silently lost its rows)."""
    sb = make_servicenow_sandbox(size=50)
    served = {"n": 0}

    def glitch(req, resp, body):
        served["n"] += 1
        if served["n"] == 2:
            body["result"] = []
    on_list(sb, glitch)
    _sync(duckdb_warehouse, sb)
    assert _stored(duckdb_warehouse) == _vendor(sb)


@pytest.mark.parametrize("count", ["3", "many", "-1", ""])
def test_a_count_that_is_too_low_or_not_a_number_does_not_end_the_read(count, make_servicenow_sandbox,
                                                                       duckdb_warehouse):
    """``X-Total-Count: 3`` on a 50-record read ended it after the first page (47 records silently
    missing); ``many`` crashed with ``invalid literal for int()``. A full page now means "maybe more",
    and a count that is not a number means "unknown": the read goes on until an empty page."""
    sb = make_servicenow_sandbox(size=50)
    on_list(sb, _count_header(count))
    _sync(duckdb_warehouse, sb)
    assert _stored(duckdb_warehouse) == _vendor(sb)


def test_a_count_far_too_high_stops_with_a_clear_error_not_an_endless_read(make_servicenow_sandbox,
                                                                           duckdb_warehouse, monkeypatch):
    """The count claims 10 million rows; past the real ones every page is empty. The read stepped over
    them page by page (a million requests at this page size); it now stops after a bounded number of
    empty pages (MAX_EMPTY_PAGES, 2,000 in production, 100 here) with an error naming the fixes, and
    loads nothing half-read."""
    from pipelines.servicenow import keyset

    monkeypatch.setattr(keyset, "MAX_EMPTY_PAGES", 100)  # KeysetRange reads it from its own module
    sb = make_servicenow_sandbox(size=30)
    on_list(sb, _count_header("10000000"))
    started = time.monotonic()
    with pytest.raises(Exception, match=r"empty pages in a row .* while X-Total-Count said "
                                        r"10000000 remain.*read access to every row"):
        _sync(duckdb_warehouse, sb)
    assert time.monotonic() - started < 60
    assert len(_lists(sb)) < 20 * (100 + 2)  # each of at most 16 ranges gives up
    assert _stored(duckdb_warehouse) == {}


@pytest.mark.parametrize("with_count", [True, False])
def test_an_instance_serving_the_same_page_forever_stops_with_a_clear_error(with_count, make_servicenow_sandbox,
                                                                            duckdb_warehouse):
    """A proxy drops ``sysparm_query``'s sys_id condition and ``sysparm_offset``: every request gets the
    first page. Without a count that looped for ever; with one it loaded the first page eight times over
    and skipped 40 records, in silence. Both now stop at the second repeat with an error."""
    sb = make_servicenow_sandbox(size=50)
    first: dict = {}

    def same(req, resp, body):
        first.setdefault("body", resp.body)
        headers = resp.headers if with_count else [(k, v) for k, v in resp.headers if k != "X-Total-Count"]
        return Response(200, first["body"], headers=headers)
    on_list(sb, same)
    with pytest.raises(Exception, match=r"served the same page of 10 rows again .* ignores the sys_id condition"):
        _sync(duckdb_warehouse, sb)
    assert len(_lists(sb)) < 40  # without a count the read is cut into 16 ranges, 4 in flight at once
    assert _stored(duckdb_warehouse) == {}


# --- bodies that are not what they say ------------------------------------------------------------------

def test_html_with_status_200_names_what_came_back_and_the_setting(make_servicenow_sandbox, duckdb_warehouse):
    """A hibernating instance (or an SSO login page) answers HTML with 200: the error was JSON's
    ``Expecting value: line 1 column 1``; it now names the status, the content and the base URL."""
    sb = make_servicenow_sandbox(size=10)
    on_list(sb, lambda req, resp, body: Response(200, b"<html><body>Your instance is hibernating</body></html>",
                                                 content_type="text/html"))
    with pytest.raises(Exception) as failed:
        _sync(duckdb_warehouse, sb)
    message = str(failed.value)
    assert "answered 200 with a body that is not JSON on all 3 attempts" in message
    assert "text/html" in message and "Your instance is hibernating" in message
    assert f"check the ServiceNow base URL ({sb.url.rstrip('/')})" in message


def test_json_of_the_wrong_shape_is_a_clear_error_not_an_empty_read(make_servicenow_sandbox, duckdb_warehouse):
    """A JSON answer of the wrong shape (an error object with 200, a bare list) ended the read as if
    empty or crashed with ``'list' object has no attribute 'get'``; it is now a clear error."""
    sb = make_servicenow_sandbox(size=10)
    on_list(sb, lambda req, resp, body: Response(200, b'{"error": {"message": "Transaction cancelled"}}'))
    with pytest.raises(Exception, match=r"answered 200 with keys \['error'\], not a 'result' list of records: "
                                        "check SERVICENOW_BASE_URL"):
        _sync(duckdb_warehouse, sb)
    sb.rewrite_responses(None)
    on_list(sb, lambda req, resp, body: Response(200, b"[]"))
    with pytest.raises(Exception, match="answered 200 with a JSON list, not a 'result' list"):
        _sync(duckdb_warehouse, sb)


def test_a_body_cut_off_once_is_read_again_and_a_byte_order_mark_is_skipped(make_servicenow_sandbox,
                                                                            duckdb_warehouse):
    sb = make_servicenow_sandbox(size=40)
    served = {"n": 0}

    def cut_once_and_bom(req, resp, body):
        served["n"] += 1
        raw = json.dumps(body).encode()
        raw = raw[: len(raw) // 2] if served["n"] == 2 else raw
        return Response(200, b"\xef\xbb\xbf" + raw, headers=resp.headers)
    on_list(sb, cut_once_and_bom)
    _sync(duckdb_warehouse, sb)
    assert _stored(duckdb_warehouse) == _vendor(sb)


# --- values of the wrong type, odd times, huge and odd text ----------------------------------------------

WRONG = {  # field -> value served in place of the vendor's string, and the reason expected
    "short_description": ({"display_value": "x"}, "short_description: expected a string, got dict"),
    "description": (["a", "b"], "description: expected a string, got list"),
    "priority": (3, "priority: expected a string, got int"),
    "active": (True, "active: expected a string, got bool"),
    "sys_updated_on": (1767225600000, "sys_updated_on: expected a string, got int"),
}
ODD_TIMES = {
    "0000-00-00 00:00:00": "sys_updated_on: not a real date/time (got 0000-00-00 00:00:00)",
    "2026-02-30 12:00:00": "sys_updated_on: not a real date/time (got 2026-02-30 12:00:00)",
    "2026-01-01T00:00:00Z": "sys_updated_on: str_matches",
    "1767225600000": "sys_updated_on: str_matches",
}


def test_wrong_types_odd_times_and_non_records_are_quarantined_then_load_once_served_right(
        make_servicenow_sandbox, duckdb_warehouse):
    """Valid JSON of the wrong type, impossible or differently formatted times, and array entries that
    are not objects at all (which crashed the read with ``'str' object has no attribute 'get'``): each
    is quarantined with a reason naming the field, every other record loads, and once the vendor serves
    them right (same update time) the next sync loads them."""
    sb = make_servicenow_sandbox(size=40)
    ids = sorted(_vendor(sb))
    bad = dict(zip(ids[3:3 + len(WRONG)], WRONG.items(), strict=True))
    odd = dict(zip(ids[20:20 + len(ODD_TIMES)], ODD_TIMES, strict=True))

    def spoil(req, resp, body):
        for row in body["result"]:
            if row["sys_id"] in bad:
                field, (value, _) = bad[row["sys_id"]]
                row[field] = value
            if row["sys_id"] in odd:
                row["sys_updated_on"] = odd[row["sys_id"]]
        if body["result"]:
            body["result"][1:1] = ["not a record", None, 7, [1, 2]]
    on_list(sb, spoil)
    _sync(duckdb_warehouse, sb)

    reasons = dict(_quarantine(duckdb_warehouse))
    for sys_id, (_, (_, reason)) in bad.items():
        assert reasons.get(sys_id) == reason, (sys_id, reasons.get(sys_id))
    for sys_id, stamp in odd.items():
        assert reasons.get(sys_id, "").startswith(ODD_TIMES[stamp]), (stamp, reasons.get(sys_id))
    kinds = {r for k, r in _quarantine(duckdb_warehouse) if k == ""}
    assert kinds == {f"not a record: a JSON {t} where the Table API sends an object"
                     for t in ("string", "null", "number", "array")}
    vendor = _vendor(sb)
    assert _stored(duckdb_warehouse) == {k: v for k, v in vendor.items() if k not in bad and k not in odd}

    sb.rewrite_responses(None)  # the vendor serves them right again; their update times have not moved
    _sync(duckdb_warehouse, sb)
    assert _stored(duckdb_warehouse) == vendor


@pytest.mark.parametrize("kind", ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_megabytes_of_text_and_unicode_noncharacters_load_intact(kind, make_servicenow_sandbox, duckdb_warehouse,
                                                                 tmp_path):
    """A 6 MB description, U+FFFE / U+FFFF (noncharacters, but valid UTF-8 and valid JSON), a BOM and
    astral characters inside a value, and raw C0 controls: stored exactly as sent, on both warehouses."""
    sb = make_servicenow_sandbox(size=25)
    ids = sorted(_vendor(sb))
    texts = {ids[2]: "x" * 6_000_000 + "end",
             ids[5]: "non\ufffechar\uffffacters \ufeffbom \U0001f600 \U0010ffff",
             ids[9]: "bell\x07 tab\t cr\r esc\x1b del\x7f"}
    for sys_id, text in texts.items():
        sb.update("incident", sys_id, {"description": text})

    def run(settings):
        _sync(settings, sb)
        assert _stored(settings) == _vendor(sb)
        stored = dict(_rows(settings, "select sys_id, description from servicenow.incidents"))
        for sys_id, text in texts.items():
            assert stored[sys_id] == text, (sys_id, len(stored[sys_id] or ""))
        assert _quarantine(settings) == []

    if kind == "duckdb":
        run(duckdb_warehouse)
    else:
        with fresh_postgres(tmp_path / "pgdata") as settings:
            run(settings)


# --- OneTrust: page numbers that lie, values of the wrong type -------------------------------------------

VENDORS_LIST = "/api/inventory/v2/inventories/vendors"
RISKS_LIST = "/api/risk/v2/risks/pages"


def _ot_source(sb, entities, **kwargs):
    from pipelines.onetrust import onetrust_source

    creds = sb.credentials
    return onetrust_source(base_url=sb.url, client_id=creds["client_id"], client_secret=creds["client_secret"],
                           entities=entities, policy=FAST, **kwargs)


def _ot_sync(settings, sb, entities=("vendors",), **kwargs) -> None:
    settings.pipeline("onetrust").run(_ot_source(sb, list(entities), **kwargs),
                                      loader_file_format="parquet" if settings.kind == "duckdb" else None)


def _ot_rewrite(sb, path: str, change) -> None:
    def rewrite(req, resp):
        if req.path != path or resp.status != 200:
            return resp
        body = json.loads(resp.body)
        change(req, body)
        resp.body = json.dumps(body).encode()
        return resp
    sb.rewrite_responses(rewrite)


def _ot_stored(settings, table: str, key: str, stamp: str = "updated_at") -> dict[str, str]:
    rows = _rows(settings, f"select {key}, {stamp} from onetrust.{table}")
    assert len(rows) == len({r[0] for r in rows}), f"onetrust.{table} holds a key twice"
    return dict(rows)


def test_onetrust_page_numbers_that_never_advance_stop_with_a_clear_error(make_onetrust_sandbox, duckdb_warehouse):
    """A gateway drops ``page``: every answer is page 0 of 4. The pager asked for "the page after the
    one answered" and so read page 0's records for ever; it now stops at the first wrong number."""
    sb = make_onetrust_sandbox(size=40)
    _ot_rewrite(sb, VENDORS_LIST, lambda req, body: body["meta"]["page"].update(number=0))
    started = time.monotonic()
    with pytest.raises(Exception, match=r"OneTrust answered page 0 of .*vendors when asked for page 1: the page "
                                        "parameter is not honoured"):
        _ot_sync(duckdb_warehouse, sb, vendor_page_size=10)
    assert time.monotonic() - started < 30
    assert _ot_stored(duckdb_warehouse, "vendors", "vendor_id") == {}


def test_onetrust_empty_page_before_the_last_is_asked_again(make_onetrust_sandbox, duckdb_warehouse):
    """Page 1 of 4 comes back empty once: the listing ended there (30 vendors silently missing until a
    full pass); it is now asked again."""
    sb = make_onetrust_sandbox(size=40)
    served = {"n": 0}

    def glitch(req, body):
        if "page=1" in req.raw_query:
            served["n"] += 1
            if served["n"] == 1:
                body["data"] = []
    _ot_rewrite(sb, VENDORS_LIST, glitch)
    _ot_sync(duckdb_warehouse, sb, vendor_page_size=10, reconcile=False)
    vendor = {r["id"]: r["lastUpdatedDate"] for r in sb.vendors() if not r.get("markForDelete")}
    assert _ot_stored(duckdb_warehouse, "vendors", "vendor_id") == vendor


def test_onetrust_values_of_the_wrong_type_are_quarantined_not_split_into_variant_columns(
        make_onetrust_sandbox, duckdb_warehouse):
    """A risk score sent as text or an object, a number as an array, a flag as text, tags as a string:
    dlt made ``risk_score`` a JSON column with ``risk_score__v_double`` / ``__v_text`` variants (staging
    read NULL for every other risk) and split ``"abc"`` tags into letters. Each such record is now
    quarantined with the column and value, the columns keep their types, and the records load once the
    vendor sends them right (same update time)."""
    sb = make_onetrust_sandbox(size=30)
    risks = sorted(r["id"] for r in sb.risks())
    vendors = sorted(r["id"] for r in sb.vendors() if not r.get("markForDelete"))
    spoil_risks = {risks[0]: ("riskScore", {"value": 5}, "risk_score: expected a number, got object"),
                   risks[4]: ("riskScore", "high", 'risk_score: expected a number, got string "high"'),
                   risks[7]: ("number", [1, 2], "number: expected an integer, got array [1, 2]")}
    spoil_vendors = {vendors[2]: ("isParent", "yes", 'is_parent: expected a boolean, got string "yes"'),
                     vendors[5]: ("country", {"code": "DE"}, "country: expected a string, got object")}

    def spoil(table):
        def change(req, body):
            for record in body.get("content") or body.get("data") or []:
                if record["id"] in table:
                    field, value, _ = table[record["id"]]
                    record[field] = value
        return change
    _ot_rewrite(sb, RISKS_LIST, spoil(spoil_risks))
    _ot_rewrite(sb, VENDORS_LIST, spoil(spoil_vendors))
    _ot_sync(duckdb_warehouse, sb, entities=("risks", "vendors"))

    reasons = dict(_rows(duckdb_warehouse, "select record_id, reason from onetrust.quarantine"))
    for rid, (_, _, reason) in {**spoil_risks, **spoil_vendors}.items():
        assert reasons.get(rid, "").startswith(reason), (rid, reasons.get(rid))
    variants = _rows(duckdb_warehouse, "select table_name, column_name from information_schema.columns "
                                       "where table_schema = 'onetrust' and position('__v_' in column_name) > 0")
    assert variants == []
    types = dict(_rows(duckdb_warehouse, "select column_name, data_type from information_schema.columns "
                                         "where table_schema = 'onetrust' and table_name = 'risks'"))
    assert types["risk_score"] == "DOUBLE" and types["number"] == "BIGINT"
    ot_risks = {r["id"]: r["lastModifiedUTCDateTime"] for r in sb.risks()}
    assert _ot_stored(duckdb_warehouse, "risks", "risk_id") == {k: v for k, v in ot_risks.items()
                                                                if k not in spoil_risks}

    sb.rewrite_responses(None)
    _ot_sync(duckdb_warehouse, sb, entities=("risks", "vendors"))
    assert _ot_stored(duckdb_warehouse, "risks", "risk_id") == ot_risks
    ot_vendors = {r["id"]: r["lastUpdatedDate"] for r in sb.vendors() if not r.get("markForDelete")}
    assert _ot_stored(duckdb_warehouse, "vendors", "vendor_id") == ot_vendors



@pytest.mark.parametrize("kind", ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_onetrust_ids_served_upper_cased_merge_into_the_same_rows(kind, make_onetrust_sandbox, duckdb_warehouse,
                                                                  tmp_path):
    """OneTrust ids are UUIDs (case-insensitive). A later run serving every risk and vendor id, and the
    UUIDs they point to, upper-cased stored each record a second time (60 rows for 30 risks) and marked
    the stored lower-case ids deleted. Ids are stored lower-cased (the form OneTrust normally sends), so
    each record stays one row, its changes merge into it, and nothing is marked deleted (DuckDB and
    PostgreSQL)."""
    if kind == "duckdb":
        _upper_cased_ids_merge(make_onetrust_sandbox(size=30), duckdb_warehouse)
    else:
        with fresh_postgres(tmp_path / "pgdata") as settings:
            _upper_cased_ids_merge(make_onetrust_sandbox(size=30), settings)


def _upper_cased_ids_merge(sb, warehouse) -> None:
    entities = ("risks", "vendors", "vendor_assessments")
    _ot_sync(warehouse, sb, entities=entities)

    def upper(value):
        return value.upper() if isinstance(value, str) else value

    def shout(req, body):
        for record in body.get("content") or body.get("data") or []:
            if "id" in record:  # risks, vendors (an assessment's own id keeps its case: its export is read by it)
                record["id"] = upper(record["id"])
            if isinstance(record.get("riskOwnersId"), list):
                record["riskOwnersId"] = [upper(v) for v in record["riskOwnersId"]]
            for part in ("orgGroup", "owner", "organization", "source"):
                if isinstance(record.get(part), dict) and "id" in record[part]:
                    record[part]["id"] = upper(record[part]["id"])
            details = record.get("primaryInventoryDetails")
            if isinstance(details, dict):
                details["primaryInventoryId"] = upper(details.get("primaryInventoryId"))
    _ot_rewrite(sb, RISKS_LIST, shout)
    _ot_rewrite(sb, VENDORS_LIST, shout)
    _ot_rewrite(sb, "/api/assessment/v2/assessments", shout)

    def check():
        ot_risks = {r["id"].lower(): r["lastModifiedUTCDateTime"] for r in sb.risks()}
        assert _ot_stored(warehouse, "risks", "risk_id") == ot_risks
        ot_vendors = {r["id"].lower(): r["lastUpdatedDate"] for r in sb.vendors() if not r.get("markForDelete")}
        assert _ot_stored(warehouse, "vendors", "vendor_id") == ot_vendors
        keys = _rows(warehouse, "select risk_id, owner_id, org_group_id from onetrust.risks union all "
                                       "select vendor_id, owner_id, organization_id from onetrust.vendors union all "
                                       "select assessment_id, vendor_id, template_id from onetrust.vendor_assessments")
        assert [k for row in keys for k in row if k is not None and k != k.lower()] == []
        assert {r[0] for r in _rows(warehouse, "select vendor_id from onetrust.vendor_assessments")} <= \
            set(ot_vendors)
        assert _rows(warehouse, "select entity, record_id from onetrust.deletions") == []

    sb.touch("risks", n=5)
    sb.touch("vendors", n=3)
    time.sleep(1.05)
    _ot_sync(warehouse, sb, entities=entities)  # a full pass: repairs and delete reconciliation
    check()
    sb.touch("risks", n=5)
    time.sleep(1.05)
    _ot_sync(warehouse, sb, entities=entities, reconcile=False)  # changes only
    check()


# --- Jira: search pages that lie ----------------------------------------------------------------------

SEARCH = "/rest/api/3/search/jql"


def _jira_sync(settings, sb, **kwargs) -> None:
    from pipelines.jira import jira_source

    kwargs.setdefault("page_size", 10)
    source = jira_source(base_url=sb.url, auth_mode="pat", pat=sb.credentials["pat"], policy=FAST, **kwargs)
    settings.pipeline("jira").run(source, loader_file_format="parquet")


def _jira_rewrite(sb, change) -> None:
    def rewrite(req, resp):
        if req.path != SEARCH or resp.status != 200:
            return resp
        return change(req, resp) or resp
    sb.rewrite_responses(rewrite)


def test_jira_next_page_tokens_that_cycle_stop_with_a_clear_error(make_jira_sandbox, duckdb_warehouse):
    """Page 3 hands back page 2's token (T1 -> T2 -> T1 ...): only a token repeated right away was caught,
    so the search read pages 2 and 3 for ever. Any token used before now stops it."""
    sb = make_jira_sandbox(size=60)
    tokens: dict[tuple, str] = {}  # per search (JQL and page size): the tokens of pages 2 and 3

    def cycle(req, resp):
        body, asked = json.loads(resp.body), json.loads(req.body)
        search, token = (asked.get("jql"), asked.get("maxResults")), asked.get("nextPageToken")
        if token is None:
            tokens.setdefault((*search, 1), body.get("nextPageToken"))
        elif token == tokens.get((*search, 1)):
            body["nextPageToken"] = tokens.setdefault((*search, 2), body.get("nextPageToken"))
        elif token == tokens.get((*search, 2)):
            body["nextPageToken"] = tokens[(*search, 1)]  # back to the token that fetched page 2
        resp.body = json.dumps(body).encode()
    _jira_rewrite(sb, cycle)
    started = time.monotonic()
    with pytest.raises(Exception, match="nextPageToken this search already used; stopping to avoid an endless loop"):
        _jira_sync(duckdb_warehouse, sb, concurrency=1)
    assert time.monotonic() - started < 30
    assert len([r for r in sb.request_log if r["path"] == SEARCH]) < 10


def test_jira_search_answers_of_the_wrong_shape(make_jira_sandbox, duckdb_warehouse):
    """Entries that are not objects crashed the sync (``'str' object has no attribute 'get'``): they are
    quarantined with what they were, and every issue loads. An ``issues`` object, a bare list or an
    HTML page with 200 stop with an error naming what came back and the setting to check."""
    sb = make_jira_sandbox(size=40)

    def junk(req, resp):
        body = json.loads(resp.body)
        body["issues"][1:1] = ["junk", None, 5, [1]]
        resp.body = json.dumps(body).encode()
    _jira_rewrite(sb, junk)
    _jira_sync(duckdb_warehouse, sb, concurrency=1)
    stored = _rows(duckdb_warehouse, "select id from jira.issues")
    assert sorted(r[0] for r in stored) == sorted(str(i) for i in sb.store.issues)
    reasons = {r for _, r in _rows(duckdb_warehouse, "select record_id, reason from jira.quarantine")}
    assert reasons == {f"not an issue: a JSON {t} where search sends an object"
                       for t in ("string", "null", "number", "array")}

    for answer, expected in ((b'{"issues": {"a": 1}}', "with 'issues' as a JSON dict, not a search page"),
                             (b"[]", "with a JSON list, not a search page"),
                             (b"<html>Log in</html>", "answered 200 with a body that is not JSON on all 3 attempts")):
        sb.rewrite_responses(None)
        _jira_rewrite(sb, lambda req, resp, answer=answer: Response(200, answer))
        with pytest.raises(Exception, match=expected.replace("(", r"\(")) as failed:
            _jira_sync(duckdb_warehouse, sb, concurrency=1)
        assert "JIRA_BASE_URL" in str(failed.value) or "check the Jira base URL" in str(failed.value)


# --- a crash loop on a hostile vendor, then clean runs ----------------------------------------------------

def test_crash_loop_on_a_hostile_vendor_then_clean_runs_lose_nothing_and_keep_the_quarantine(
        make_servicenow_sandbox, monkeypatch, duckdb_warehouse):
    """The standalone sync is killed (SIGKILL) four times at random steps while the vendor keeps changing
    and serves a record with a lone surrogate, a record with a number for a string, rows twice per page
    and a count that is too low. The next sync ends in parity but for those two, each version of them
    quarantined once;
    when the vendor serves them right, they load, and the quarantine still holds what was rejected."""
    from sandbox.core.faults import hostile_marker
    from tests.conftest import sandbox_env
    from tests.ingestion_harness import SN_INCIDENTS, assert_parity, kill_loop, quarantine, sql, sync, wait_a_second

    sb = make_servicenow_sandbox(size=300, latency_ms=5)
    sandbox_env(monkeypatch, sb)
    ids = sorted(_vendor(sb))
    text_victim, type_victim = ids[11], ids[200]
    sb.update("incident", text_victim, {"description": f"cut {hostile_marker('surrogate')} emoji"})
    sb.faults.set(hostile_text=1)

    def hostile(req, resp, body):
        rows = body["result"]
        for row in rows:
            if row["sys_id"] == type_victim:
                row["priority"] = 2
        if len(rows) >= 2:
            rows.insert(1, dict(rows[0]))
        resp.headers = [(k, "3" if k == "X-Total-Count" else v) for k, v in resp.headers]
    on_list(sb, hostile)

    def change(n: int) -> None:
        sb.touch("incident", n=4)
        if n % 2 == 0:
            sb.insert("incident", {"short_description": f"created between kills {n}"})

    kill_loop("servicenow", "cli", sb, duckdb_warehouse, kills=4, seed=18, on_kill=change)
    wait_a_second()
    sync("servicenow", "cli")
    assert_parity(sb, duckdb_warehouse, SN_INCIDENTS, except_ids={text_victim, type_victim})
    reasons = quarantine(duckdb_warehouse, SN_INCIDENTS)
    assert reasons[text_victim].startswith("invalid text: description: lone UTF-16 surrogate U+D83D")
    assert reasons[type_victim] == "priority: expected a string, got int"
    # Each version of a victim quarantined once (the kills' vendor changes may have touched a victim:
    # its new version is a new quarantine entry), however many runs were killed around it.
    count = "select count(*), count(distinct record) from servicenow.quarantine where record_id = ?"
    for victim in (text_victim, type_victim):
        [(entries, versions)] = sql(duckdb_warehouse, count, victim)
        assert entries == versions >= 1, (victim, entries, versions)

    sb.faults.set(hostile_text=0)
    sb.rewrite_responses(None)
    sync("servicenow", "cli")
    assert_parity(sb, duckdb_warehouse, SN_INCIDENTS)
    assert set(quarantine(duckdb_warehouse, SN_INCIDENTS)) >= {text_victim, type_victim}


def test_a_number_where_a_string_is_expected_is_rejected_wherever_it_is_in_the_page():
    """polars casts ``2`` to ``"2"`` when framing: a number or boolean in a string field was loaded as
    text, unless another record of the same page held an object (framing then failed and every record
    was checked). The outcome no longer depends on the neighbours."""
    import pandera.polars as pa

    from pipelines.common.validation import validate_page

    schema = pa.DataFrameSchema({"id": pa.Column(str), "priority": pa.Column(str, nullable=True)})
    page = [{"id": str(n), "priority": "1"} for n in range(300)]
    page[7]["priority"], page[150]["priority"], page[299]["priority"] = 2, True, 1.5
    check = validate_page(page, schema, ["id", "priority"])
    assert check.valid.height == 297 and "2" not in check.valid["priority"].to_list()
    assert [(r["id"], reason) for r, reason in check.rejected] == [
        ("7", "priority: expected a string, got int"), ("150", "priority: expected a string, got bool"),
        ("299", "priority: expected a string, got float")]


# --- Jira: a list field sent as something else -----------------------------------------------------------

@pytest.mark.parametrize(("field", "column"), [("labels", "labels"), ("components", "components"),
                                             ("fixVersions", "fix_versions")])
def test_jira_lists_sent_as_a_string_are_quarantined_then_load_once_an_array(make_jira_sandbox, duckdb_warehouse,
                                                                             field, column):
    """``labels`` (components, fixVersions) sent as a string (``"backend, urgent"``) or an object became
    ``[]`` in silence: the issue was stored without them. It is quarantined with the field and the JSON
    type instead, and loads with its values on the next run, once Jira sends an array."""
    sb = make_jira_sandbox(size=30)
    ids = sorted(sb.store.issues)
    spoil = {str(ids[3]): ("backend, urgent", f'{column}: expected an array, got string "backend, urgent"'),
             str(ids[17]): ({"add": "x"}, f'{column}: expected an array, got object {{"add": "x"}}')}

    def as_text(req, resp):
        body = json.loads(resp.body)
        for issue in body.get("issues") or []:
            if str(issue.get("id")) in spoil:
                issue["fields"][field] = spoil[str(issue["id"])][0]
        resp.body = json.dumps(body).encode()
    _jira_rewrite(sb, as_text)
    _jira_sync(duckdb_warehouse, sb, concurrency=1)
    stored = {r[0] for r in _rows(duckdb_warehouse, "select id from jira.issues")}
    assert stored == {str(i) for i in ids} - set(spoil)
    reasons = dict(_rows(duckdb_warehouse, "select record_id, reason from jira.quarantine"))
    assert {rid: reasons.get(rid) for rid in spoil} == {rid: reason for rid, (_, reason) in spoil.items()}

    sb.rewrite_responses(None)
    _jira_sync(duckdb_warehouse, sb, concurrency=1)
    rows = _rows(duckdb_warehouse, f"select id, {column} from jira.issues")
    assert len(rows) == len(ids) == len({r[0] for r in rows})
    if field == "labels":
        values = {rid: json.loads(value) if isinstance(value, str) else value for rid, value in rows}
        assert {rid: values[rid] for rid in spoil} == {rid: list(sb.store.issues[int(rid)].labels) for rid in spoil}


@pytest.mark.parametrize(("sent", "shown"), [
    ("7", 'string "7"'), (7, "number 7"), ({"id": 7, "name": "Sprint 7"}, 'object {"id": 7, "name": "Sprint 7"}'),
    ("null", 'string "null"'), ("", 'string ""'), (False, "boolean false")])
def test_jira_sprint_field_that_is_not_an_array_is_quarantined_then_loads_once_an_array(
        make_jira_sandbox, duckdb_warehouse, sent, shown):
    """The Sprint custom field (found via GET /field; ``customfield_10020`` here) sent as a string, a
    number, an object or other garbage became ``sprint_ids = []`` in silence: the issue was stored as in
    no sprint and its ``sprint_issues`` rows were deleted. It is quarantined with the field and the JSON
    type instead (like labels), and loads with its sprints once Jira sends an array. ``null`` or no field
    at all is an issue in no sprint: loaded, not quarantined."""
    from sandbox.jira.catalog import SPRINT

    sb = make_jira_sandbox(size=30)
    in_sprints = sorted(i for i, issue in sb.store.issues.items() if issue.sprints)
    outside = sorted(i for i, issue in sb.store.issues.items() if not issue.sprints)
    assert len(in_sprints) >= 2 and len(outside) >= 2
    spoil = {str(in_sprints[0]), str(outside[0])}  # garbage in place of a sprint list, or of null
    null, missing = str(in_sprints[1]), str(outside[1])

    def garble(req, resp):
        body = json.loads(resp.body)
        for issue in body.get("issues") or []:
            rid = str(issue.get("id"))
            if rid in spoil:
                issue["fields"][SPRINT] = sent
            elif rid == null:
                issue["fields"][SPRINT] = None
            elif rid == missing:
                issue["fields"].pop(SPRINT, None)
        resp.body = json.dumps(body).encode()
    _jira_rewrite(sb, garble)
    _jira_sync(duckdb_warehouse, sb, concurrency=1)
    ids = sorted(sb.store.issues)
    assert {r[0] for r in _rows(duckdb_warehouse, "select id from jira.issues")} == {str(i) for i in ids} - spoil
    reasons = dict(_rows(duckdb_warehouse, "select record_id, reason from jira.quarantine"))
    expected = f"sprint_ids (the Sprint field {SPRINT}): expected an array, got {shown}"
    assert {rid: reasons.get(rid) for rid in spoil} == dict.fromkeys(spoil, expected)
    assert null not in reasons and missing not in reasons
    stored_sprints = dict(_rows(duckdb_warehouse, f"select id, sprint_ids from jira.issues where id in ('{null}', "
                                                  f"'{missing}')"))
    assert {k: json.loads(v) if isinstance(v, str) else list(v) for k, v in stored_sprints.items()} == \
        {null: [], missing: []}

    sb.rewrite_responses(None)
    _jira_sync(duckdb_warehouse, sb, concurrency=1)
    rows = _rows(duckdb_warehouse, "select id from jira.issues")
    assert len(rows) == len(ids) == len({r[0] for r in rows})
    members = set(_rows(duckdb_warehouse, "select sprint_id, issue_id from jira.sprint_issues"))
    assert {(str(s), rid) for rid in spoil for s in sb.store.issues[int(rid)].sprints} <= members
    assert {issue for _, issue in members} >= {str(in_sprints[0])}


def test_jira_sprint_items_server_text_is_read_and_unreadable_items_quarantine_the_issue(
        make_jira_sandbox, duckdb_warehouse):
    """Items of the Sprint list: Cloud's sprint objects, bare numbers and Jira Server's Java text
    ("com.atlassian.greenhopper.service.sprint.Sprint@1a2b[id=7,...]") all give the sprint's id. An
    item with no id to read (an object without one, a name, a boolean) was dropped in silence, the
    issue stored as outside that sprint; it quarantines the issue, naming the item, instead."""
    from sandbox.jira.catalog import SPRINT

    sb = make_jira_sandbox(size=30)
    in_sprints = sorted(i for i, issue in sb.store.issues.items() if issue.sprints)
    assert len(in_sprints) >= 4
    as_text, as_number, as_nameless, as_word = (str(i) for i in in_sprints[:4])

    def text(sid: int) -> str:
        return (f"com.atlassian.greenhopper.service.sprint.Sprint@5e3f1a[rapidViewId=1,state=ACTIVE,"
                f"name=Sprint {sid},id={sid},startDate=2026-11-01T00:00:00.000Z]")

    def garble(req, resp):
        body = json.loads(resp.body)
        for issue in body.get("issues") or []:
            rid, sprints = str(issue.get("id")), issue["fields"].get(SPRINT) or []
            if rid == as_text:
                issue["fields"][SPRINT] = [text(s["id"]) for s in sprints]
            elif rid == as_number:
                issue["fields"][SPRINT] = [s["id"] for s in sprints]
            elif rid == as_nameless:
                issue["fields"][SPRINT] = [*sprints, {"name": "Sprint without an id"}]
            elif rid == as_word:
                issue["fields"][SPRINT] = ["Sprint 7"]
        resp.body = json.dumps(body).encode()
    _jira_rewrite(sb, garble)
    _jira_sync(duckdb_warehouse, sb, concurrency=1)
    reasons = dict(_rows(duckdb_warehouse, "select record_id, reason from jira.quarantine"))
    named = f"sprint_ids (the Sprint field {SPRINT})"
    assert reasons.get(as_nameless) == \
        f"{named}: item {len(sb.store.issues[int(as_nameless)].sprints)} is not a sprint with an id: got null"
    assert reasons.get(as_word) == f'{named}: item 0 is not a sprint with an id: got string "Sprint 7"'
    assert as_text not in reasons and as_number not in reasons
    members = set(_rows(duckdb_warehouse, "select sprint_id, issue_id from jira.sprint_issues"))
    for rid in (as_text, as_number):
        assert {(str(s), rid) for s in sb.store.issues[int(rid)].sprints} <= members
    assert {r[0] for r in _rows(duckdb_warehouse, "select id from jira.issues")} >= {as_text, as_number}
    assert not {as_nameless, as_word} & {r[0] for r in _rows(duckdb_warehouse, "select id from jira.issues")}


def test_onetrust_assessment_uuids_are_lower_cased_and_other_values_kept_as_sent():
    """An assessment's own id and the UUIDs it points to are stored lower-cased, whatever case they came
    in; a value that is not a UUID is kept as sent (validation judges it)."""
    from pipelines.onetrust import rows as R

    aid, vid, tid = "0A1B2C3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D", "ABCDEF01-2345-4678-9ABC-DEF012345678", "TPL-7"
    item = {"assessmentId": aid, "templateId": tid, "lastUpdated": "2026-01-01T00:00:00Z",
            "primaryInventoryDetails": {"primaryInventoryId": vid}}
    export = {"createdBy": {"id": vid}, "orgGroup": {"id": aid}}
    row = R.assessment_row(item, export)
    assert (row["assessment_id"], row["primary_inventory_id"], row["owner_id"], row["org_group_id"]) == \
        (aid.lower(), vid.lower(), vid.lower(), aid.lower())
    assert row["template_id"] == tid
    vendor = R.vendor_assessment_row(item, export)
    assert (vendor["assessment_id"], vendor["vendor_id"]) == (aid.lower(), vid.lower())
    assert R.uuid_key(5) == 5 and R.uuid_key(aid + "x") == aid + "x"


def test_acl_hidden_rows_step_over_many_empty_pages_but_repeated_rows_stop_at_the_stall_bound():
    """ACLs hide rows but still count them: a user who sees a small share of a large table meets long
    runs of empty pages, which must not fail the read (they did after 100); pages that bring rows but
    no new sys_id still stop it after MAX_STALLED_PAGES."""
    from pipelines.common.http import VendorError
    from pipelines.servicenow.helpers import MAX_EMPTY_PAGES, MAX_STALLED_PAGES, KeysetRange

    hidden = KeysetRange("active=true", None, None)
    for _ in range(MAX_EMPTY_PAGES - 1):  # just under two million hidden rows at 1,000 a page
        assert hidden.advance([], total=10**9, page_size=1000)
    assert hidden.advance([{"sys_id": "a" * 32}], total=10**9, page_size=1000)  # a visible row: progress
    assert (hidden.after, hidden.empty, hidden.offset) == ("a" * 32, 0, 0)
    with pytest.raises(VendorError, match="empty pages in a row"):
        for _ in range(MAX_EMPTY_PAGES):
            hidden.advance([], total=10**9, page_size=1000)

    stuck = KeysetRange("", None, None)
    stuck.advance([{"sys_id": "f" * 32}], total=None, page_size=1)
    with pytest.raises(VendorError, match="brought no new record"):
        for i in range(MAX_STALLED_PAGES):
            stuck.advance([{"sys_id": "0" * 31 + str(i % 10), "n": i}], total=None, page_size=1)
