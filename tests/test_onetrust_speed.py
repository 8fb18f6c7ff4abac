"""How many requests a OneTrust sync makes, and how many it has in flight at once.

The sync is HTTP-bound (each OneTrust response takes ~300 ms): these tests pin the request count and the
concurrency so a change cannot quietly slow it down, and check that the same rows still land.
"""

from __future__ import annotations

import dataclasses
import threading

import pytest

from pipelines.common.http import RetryPolicy
from pipelines.onetrust import onetrust_source
from pipelines.onetrust import settings as S
from pipelines.onetrust.helpers import OneTrustClient
from pipelines.onetrust.shared import DeleteLogShare, ExportShare

FAST = RetryPolicy(backoff_base_seconds=0.01, backoff_max_seconds=0.05)
EXPORT_SUFFIX = "/export"


def _source(sb, **kwargs):
    kwargs.setdefault("policy", FAST)
    return onetrust_source(base_url=sb.url, client_id=sb.client_id, client_secret=sb.client_secret,
                           verify=sb.ca_bundle or True, **kwargs)


def _count_in_flight(sb) -> dict[str, int]:
    """Track how many vendor calls the sandbox serves at once (its latency included): ``peak``."""
    seen = {"now": 0, "peak": 0}
    lock = threading.Lock()
    serve = sb._slow_call

    def counted(req):
        with lock:
            seen["now"] += 1
            seen["peak"] = max(seen["peak"], seen["now"])
        try:
            return serve(req)
        finally:
            with lock:
                seen["now"] -= 1
    sb._slow_call = counted
    return seen


def _exports(sb) -> list[dict]:
    return [r for r in sb.request_log if r["path"].endswith(EXPORT_SUFFIX)]


@pytest.mark.parametrize("workers", [None, 3])
def test_exports_are_read_detail_workers_at_once(workers, make_onetrust_sandbox, duckdb_warehouse):
    """Default 8 at once (OneTrust allows 20,000 requests a minute), and the setting still rules."""
    assert S.DEFAULT_DETAIL_WORKERS == 8
    sb = make_onetrust_sandbox(size=40, latency_ms=60)
    seen = _count_in_flight(sb)
    kwargs = {} if workers is None else {"detail_workers": workers}
    duckdb_warehouse.pipeline("onetrust").run(_source(sb, entities=["assessments"], **kwargs))
    assert len(_exports(sb)) == len(sb.assessments())
    assert seen["peak"] == (workers or S.DEFAULT_DETAIL_WORKERS)


def test_a_concurrency_cap_below_the_workers_is_waited_out(make_onetrust_sandbox, duckdb_warehouse):
    """A tenant that refuses more than 5 calls at once answers 429 + Retry-After: every export still
    loads (VendorSession waits and retries), none is lost."""
    sb = make_onetrust_sandbox(size=20, latency_ms=60, max_concurrent_per_client=5)
    pipeline = duckdb_warehouse.pipeline("onetrust")
    pipeline.run(_source(sb, entities=["assessments"]))
    assert any(r["status"] == 429 for r in sb.request_log), "the cap must have been hit"
    with pipeline.sql_client() as client:
        stored = {r[0] for r in client.execute_sql("select assessment_id from assessments")}
    assert stored == {a["assessmentId"] for a in sb.assessments()}


def _table(pipeline, table: str) -> list[tuple]:
    """Every row of ``onetrust.<table>`` without dlt's own columns (answers with their assessment id)."""
    with pipeline.sql_client() as client:
        if table == "assessments__responses":
            sql = ("select a.assessment_id, r.* exclude (_dlt_id, _dlt_parent_id, _dlt_root_id) "
                   "from assessments__responses r join assessments a on r._dlt_parent_id = a._dlt_id")
        else:
            sql = f"select * exclude (_dlt_id, _dlt_load_id) from {table}"
        return sorted(client.execute_sql(sql), key=repr)


def test_each_assessment_is_exported_once_per_run_and_the_rows_are_the_same(
        make_onetrust_sandbox, duckdb_warehouse, tmp_path):
    """``vendor_assessments`` reuses the exports ``assessments`` read in the same run: one ``/export``
    per assessment, and exactly the rows each resource loads when it runs alone."""
    sb = make_onetrust_sandbox(size=40)
    vendor = [a["assessmentId"] for a in sb.assessments() if a["_templateType"] == S.VENDOR_TEMPLATE_TYPE]
    assert vendor, "the sandbox holds vendor assessments"
    shared = duckdb_warehouse.pipeline("onetrust")
    shared.run(_source(sb, entities=["assessments", "vendor_assessments"]))
    exported = [r["path"] for r in _exports(sb)]
    assert sorted(exported) == sorted(set(exported)), "no assessment exported twice"
    assert len(exported) == len(sb.assessments())

    alone = dataclasses.replace(duckdb_warehouse, duckdb_path=str(tmp_path / "alone.duckdb"),
                                data_dir=str(tmp_path / "alone")).pipeline("onetrust")
    sb.clear_request_log()
    for entity in ("assessments", "vendor_assessments"):
        alone.run(_source(sb, entities=[entity]))
    assert len(_exports(sb)) == len(sb.assessments()) + len(vendor), "alone, each reads its own"
    for table in ("assessments", "assessments__responses", "vendor_assessments"):
        assert _table(shared, table) == _table(alone, table), table
    assert len(_table(shared, "vendor_assessments")) == len(vendor)


def test_an_assessment_changed_between_the_two_listings_is_exported_again(
        make_onetrust_sandbox, duckdb_warehouse, monkeypatch):
    """The kept export is keyed by id and lastUpdated: one changed after ``assessments`` read it is read
    anew by ``vendor_assessments``, which stores the new version."""
    sb = make_onetrust_sandbox(size=40)
    pages = OneTrustClient.pages
    touched: list[str] = []

    def listing(self, method, path, **kwargs):
        if (kwargs.get("params") or {}).get("templateTypes") == S.VENDOR_TEMPLATE_TYPE and not touched:
            touched.extend(sb.touch("assessments", len(sb.assessments())))  # every one changes now
        return pages(self, method, path, **kwargs)
    monkeypatch.setattr(OneTrustClient, "pages", listing)
    pipeline = duckdb_warehouse.pipeline("onetrust")
    pipeline.run(_source(sb, entities=["assessments", "vendor_assessments"]))
    vendor = {a["assessmentId"]: a["lastUpdated"] for a in sb.assessments()
              if a["_templateType"] == S.VENDOR_TEMPLATE_TYPE}
    assert touched and vendor
    assert len(_exports(sb)) == len(sb.assessments()) + len(vendor), "no stale export served"
    with pipeline.sql_client() as client:
        stored = dict(client.execute_sql("select assessment_id, updated_at from vendor_assessments"))
    assert stored == vendor


def test_export_share_keeps_only_what_the_other_wants_and_hands_it_out_once():
    share = ExportShare({"assessments": lambda _: True,
                         "vendor_assessments": lambda e: e.get("templateType") == "VENDOR"})
    vendor, pia = {"templateType": "VENDOR", "sections": []}, {"templateType": "PIA"}
    share.begin("assessments")
    share.offer("assessments", [(("a", "t1"), vendor), (("b", "t1"), pia)])
    assert share.kept() == 1, "a PIA export is not kept: vendor_assessments never lists it"
    share.finish("assessments")
    share.begin("vendor_assessments")
    assert share.take("vendor_assessments", ("a", "t2")) is None, "another lastUpdated: read it again"
    got = share.take("vendor_assessments", ("a", "t1"))
    assert got == vendor and got is not vendor, "a private copy"
    assert share.take("vendor_assessments", ("a", "t1")) is None, "handed out once"
    share.offer("vendor_assessments", [(("c", "t1"), vendor)])
    assert share.kept() == 0, "assessments has finished: nothing is kept for it"
    share.offer("assessments", [(("d", "t1"), vendor)])
    share.finish("vendor_assessments")
    assert share.kept() == 0, "what a finished resource did not take is dropped"
    share.begin("assessments")  # the same source run again: a new run, nothing carried over
    share.offer("assessments", [(("e", "t1"), vendor)])
    assert share.kept() == 1 and share.served == 1


TOKEN_PATH = "/api/access/v1/oauth/token"
DELETE_LOG_PATH = "/api/assessment/v2/assessments/activities/types/assessmentdelete"


def _calls(sb, path: str, status: int | None = None) -> int:
    return sum(r["path"] == path and (status is None or r["status"] == status) for r in sb.request_log)


def test_one_token_and_one_delete_log_read_per_run(make_onetrust_sandbox, duckdb_warehouse):
    """The four resources share one OAuth token; both assessment resources mark deletes from one read
    of the deleted-assessment log, and still both mark them."""
    sb = make_onetrust_sandbox(size=40)
    pipeline = duckdb_warehouse.pipeline("onetrust")
    pipeline.run(_source(sb))
    assert _calls(sb, TOKEN_PATH) == 1, "one token for the whole run, not one per resource"
    assert _calls(sb, DELETE_LOG_PATH) == 1

    gone = next(a["assessmentId"] for a in sb.assessments() if a["_templateType"] == S.VENDOR_TEMPLATE_TYPE)
    sb.delete("assessments", gone)
    sb.clear_request_log()
    pipeline.run(_source(sb))
    assert _calls(sb, TOKEN_PATH) == 1 and _calls(sb, DELETE_LOG_PATH) == 1
    with pipeline.sql_client() as client:
        marked = set(client.execute_sql("select entity, record_id, detected_by from deletions"))
    assert marked == {("assessments", gone, "feed"), ("vendor_assessments", gone, "feed")}


def test_a_shared_token_refused_mid_run_is_renewed_once_for_all(make_onetrust_sandbox, duckdb_warehouse,
                                                                monkeypatch):
    """OneTrust expires the token while ``risks`` starts: the 401 renews it (the same re-auth as before),
    and the resources after it use the renewed token instead of fetching their own."""
    sb = make_onetrust_sandbox(size=20)
    pages = OneTrustClient.pages

    def listing(self, method, path, **kwargs):
        if path == S.RISKS_PATH:
            sb.faults.set(expire_tokens=True)
        return pages(self, method, path, **kwargs)
    monkeypatch.setattr(OneTrustClient, "pages", listing)
    pipeline = duckdb_warehouse.pipeline("onetrust")
    pipeline.run(_source(sb))
    assert _calls(sb, TOKEN_PATH, 200) == 2
    assert any(r["status"] == 401 for r in sb.request_log), "the expired token was refused"
    with pipeline.sql_client() as client:
        for table, ids in (("risks", {r["id"] for r in sb.risks()}), ("vendors", {v["id"] for v in sb.vendors()})):
            key = "risk_id" if table == "risks" else "vendor_id"
            assert {r[0] for r in client.execute_sql(f"select {key} from {table}")} == ids


def test_delete_log_share_reads_once_per_run():
    share, reads = DeleteLogShare({"assessments", "vendor_assessments"}), []

    def read():
        reads.append(1)
        return [("a", "2026-01-01 00:00:00", "2026-01-01T00:00:00Z")]
    assert share.entries("assessments", read) == share.entries("vendor_assessments", read)
    assert len(reads) == 1
    share.entries("assessments", read)  # the same source run again: read anew
    assert len(reads) == 2 and share.reads == 2
