"""Round 31: hostile ServiceNow data the earlier rounds cover one by one, here in the combinations they miss.

Covered before: hostile text (lone surrogate, bytes that are not UTF-8, NUL) in one table
(tests/test_ingestion_hostile.py, round 30), one sys_id in two tables with clean data (round 30), odd stamps
(``0000-00-00``, ``2026-02-30``, ISO, epoch: test_ingestion_hostile_more), a stamp in the future from an
instance that sends no ``Date`` header (round 17), deletes while paging at random (round 29). Here, end to end
(sandbox over HTTP -> dlt source -> DuckDB):

- one sys_id in two tables, its copy in one table not UTF-8: quarantined in that table only, the other table's
  row loads, and once served right it loads without touching the other;
- records vanishing between two pages of one read (one read already, one not yet): nothing else is lost or
  repeated, and both are marked deleted from the delete audit;
- stamps with the instance's ``Date`` header present: one in 2099 loads as served and the cursor stays at the
  vendor's clock (later changes load, its own correction too); an empty stamp (an import with
  ``autoSysFields(false)`` [unc]), a missing one and ``2026-13-45 25:61:61`` are quarantined naming
  ``sys_updated_on`` and load once served right.
"""

from __future__ import annotations

import json

from pipelines.servicenow import servicenow_source
from tests.ingestion_harness import SN_INCIDENTS, assert_parity, marked_deleted, quarantine, sql, wait_a_second
from tests.test_ingestion_hostile_more import FAST, LIST, _stored, _vendor

CIS = "/api/now/table/cmdb_ci"


def _sync(settings, sb, tables=("incident",), **kwargs) -> None:
    creds = sb.credentials
    source = servicenow_source(base_url=sb.url, client_id=creds["client_id"], client_secret=creds["client_secret"],
                               username=creds["username"], password=creds["password"], tables=list(tables),
                               attachments=False, policy=FAST, page_size=kwargs.pop("page_size", 10), **kwargs)
    settings.pipeline("servicenow").run(source, loader_file_format="parquet")


def _on(sb, path: str, change) -> None:
    """Rewrite ``path``'s list answers (bytes): ``change(request, body_bytes) -> bytes``."""
    def rewrite(req, resp):
        if req.path == path and req.method == "GET" and resp.status == 200:
            resp.body = change(req, resp.body)
        return resp
    sb.rewrite_responses(rewrite)


def test_a_sys_id_in_two_tables_not_utf8_in_one_is_quarantined_there_only(make_servicenow_sandbox,
                                                                          duckdb_warehouse):
    sb = make_servicenow_sandbox(size=20)
    incident = sb.records("incident")[4]
    shared = incident["sys_id"]
    sb.insert("cmdb_ci", {"sys_id": shared, "name": "r31 twin", "short_description": "MARK31"})
    sb.update("incident", shared, {"description": "MARK31"})

    # the incident's copy carries bytes that are not UTF-8; the CI's copy of the same text stays clean
    _on(sb, LIST, lambda req, body: body.replace(b'"MARK31"', b'"caf\xe9 \xff\xfe"'))
    _sync(duckdb_warehouse, sb, ("incident", "cmdb_ci"))
    reasons = quarantine(duckdb_warehouse, SN_INCIDENTS)
    assert list(reasons) == [shared] and "description" in reasons[shared], reasons
    assert sql(duckdb_warehouse, "select count(*) from servicenow.quarantine where entity = 'cmdb_cis'") == [(0,)]
    [(name, short)] = sql(duckdb_warehouse, "select name, short_description from servicenow.cmdb_cis "
                                            "where sys_id = ?", shared)
    assert (name, short) == ("r31 twin", "MARK31")
    assert shared not in _stored(duckdb_warehouse)
    assert_parity(sb, duckdb_warehouse, SN_INCIDENTS, except_ids={shared})

    sb.rewrite_responses(None)  # served right: the incident loads (read again by id), the CI is left as it is
    _sync(duckdb_warehouse, sb, ("incident", "cmdb_ci"))
    assert_parity(sb, duckdb_warehouse, SN_INCIDENTS)
    assert sql(duckdb_warehouse, "select description from servicenow.incidents where sys_id = ?", shared) == [
        ("MARK31",)]
    assert sql(duckdb_warehouse, "select count(*) from servicenow.cmdb_cis where sys_id = ?", shared) == [(1,)]
    assert sql(duckdb_warehouse, "select count(*) from servicenow.quarantine") == [(1,)], "not quarantined again"


def test_records_vanishing_between_two_pages_lose_and_repeat_nothing_else(make_servicenow_sandbox,
                                                                         duckdb_warehouse):
    sb = make_servicenow_sandbox(size=45)
    ids = sorted(_vendor(sb))
    read_first, not_yet = ids[3], ids[-3]  # on the first page of ten in sys_id order / on the last page
    pages: list[str] = []

    def vanish(req, body):
        pages.append(req.path)
        if len(pages) == 1:  # after the first page is served, before the second is asked for
            sb.delete("incident", [read_first, not_yet])
        return body
    _on(sb, LIST, vanish)
    _sync(duckdb_warehouse, sb, concurrency=1)
    assert len(pages) >= 5
    stored = _stored(duckdb_warehouse)
    assert not_yet not in stored and read_first in stored, "read before it vanished: stored, then marked"
    assert marked_deleted(duckdb_warehouse, SN_INCIDENTS) == {read_first, not_yet}
    assert set(stored) - {read_first} == set(_vendor(sb)), "every other record, once"
    assert sql(duckdb_warehouse, "select count(*) from information_schema.tables where table_schema = "
                                 "'servicenow' and table_name = 'quarantine'") == [(0,)], "nothing quarantined"
    assert_parity(sb, duckdb_warehouse, SN_INCIDENTS)

    sb.rewrite_responses(None)
    _sync(duckdb_warehouse, sb, concurrency=2)
    assert_parity(sb, duckdb_warehouse, SN_INCIDENTS)


def _cursor(settings) -> str:
    state = settings.pipeline("servicenow").state
    return state["sources"]["servicenow"]["resources"]["incidents"]["last_value"]


def test_stamps_in_the_future_or_unusable_with_the_vendor_clock_present(make_servicenow_sandbox, duckdb_warehouse):
    sb = make_servicenow_sandbox(size=30)
    ids = sorted(_vendor(sb))
    future, empty, missing, impossible = ids[2], ids[9], ids[17], ids[25]
    spoilt = {empty: "", impossible: "2026-13-45 25:61:61"}

    def stamps(req, body):
        page = json.loads(body)
        for row in page["result"]:
            if row["sys_id"] == future:
                row["sys_updated_on"] = "2099-01-01 00:00:00"
            elif row["sys_id"] in spoilt:
                row["sys_updated_on"] = spoilt[row["sys_id"]]
            elif row["sys_id"] == missing:
                row.pop("sys_updated_on")
        return json.dumps(page).encode()
    _on(sb, LIST, stamps)
    _sync(duckdb_warehouse, sb)
    clock = sb.clock.now().strftime("%Y-%m-%d %H:%M:%S")
    assert _stored(duckdb_warehouse)[future] == "2099-01-01 00:00:00", "loaded as served"
    assert _cursor(duckdb_warehouse) <= clock, "the cursor stays at the vendor's clock, not 2099"
    reasons = quarantine(duckdb_warehouse, SN_INCIDENTS)
    assert set(reasons) == {empty, missing, impossible}, reasons
    assert all(r.startswith("sys_updated_on:") for r in reasons.values()), reasons
    assert "2026-13-45 25:61:61" in reasons[impossible]
    assert_parity(sb, duckdb_warehouse, SN_INCIDENTS, except_ids={future, empty, missing, impossible})

    wait_a_second()
    touched = sb.touch("incident", 4)
    _sync(duckdb_warehouse, sb)  # still served hostile: later changes load all the same
    stored = _stored(duckdb_warehouse)
    assert all(stored[t] == sb.get("incident", t)["sys_updated_on"] for t in touched if t not in reasons
               and t != future)

    sb.rewrite_responses(None)  # the instance's clock and the import fixed: the real stamps load
    wait_a_second()
    sb.update("incident", future, {"short_description": "clock fixed"})
    _sync(duckdb_warehouse, sb)
    assert_parity(sb, duckdb_warehouse, SN_INCIDENTS)
    assert _stored(duckdb_warehouse)[future] == sb.get("incident", future)["sys_updated_on"] < "2099"
    assert sql(duckdb_warehouse, "select count(*) from servicenow.quarantine") == [(3,)], "none quarantined twice"
