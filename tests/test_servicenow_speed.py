"""What a ServiceNow sync waits on: round trips. A run's resources share one OAuth token; the delete
audit is read once for all tables; attachment downloads overlap the table reads, never more than
``concurrency`` requests in flight in all."""

from __future__ import annotations

import duckdb

import pipelines.servicenow as sn_source
from tests.test_servicenow_source import _source


def _served(sandbox, method: str, path: str) -> list[dict]:
    return [r for r in sandbox.request_log if r["method"] == method and r["path"] == path]


def _count(settings, sql: str):
    with duckdb.connect(settings.duckdb_path, read_only=True) as con:
        return con.execute(sql).fetchall()


def test_a_run_asks_for_one_token_for_all_its_resources(make_servicenow_sandbox, duckdb_warehouse):
    sandbox = make_servicenow_sandbox(size=100)
    sandbox.clear_request_log()
    duckdb_warehouse.pipeline("servicenow").run(_source(sandbox), loader_file_format="parquet")
    assert len(_served(sandbox, "POST", "/oauth_token.do")) == 1, "six tables and attachments, one token"


def test_a_shared_token_refused_mid_run_is_fetched_again_once(make_servicenow_sandbox, duckdb_warehouse,
                                                              monkeypatch):
    sandbox = make_servicenow_sandbox(size=100)
    calls = []
    known = sn_source.known_deletion_times

    def revoke_at_the_third_table(entity):  # each table resource starts by reading its recorded deletes
        calls.append(entity)
        if len(calls) == 3:
            sandbox.faults.set(revoke_tokens=True)
        return known(entity)

    monkeypatch.setattr(sn_source, "known_deletion_times", revoke_at_the_third_table)
    sandbox.clear_request_log()
    duckdb_warehouse.pipeline("servicenow").run(_source(sandbox), loader_file_format="parquet")
    assert len(calls) == 6
    issued = [r for r in _served(sandbox, "POST", "/oauth_token.do") if r["status"] == 200]
    assert len(issued) == 2, "one 401, one new token for the rest (after the revoked refresh token is refused)"
    assert [r["status"] for r in sandbox.request_log].count(401) >= 1
    assert _count(duckdb_warehouse, "select count(*) from servicenow.cmdb_cis") == [
        (len(sandbox.records("cmdb_ci")),)]


def _audit_reads(sandbox) -> int:
    return len(_served(sandbox, "GET", "/api/now/table/sys_audit_delete"))


def test_the_delete_audit_is_read_once_for_all_tables_and_paged(make_servicenow_sandbox, duckdb_warehouse,
                                                                monkeypatch):
    from pipelines.servicenow import deletes

    sandbox = make_servicenow_sandbox(size=100)
    pipeline = duckdb_warehouse.pipeline("servicenow")
    sandbox.clear_request_log()
    pipeline.run(_source(sandbox, attachments=False), loader_file_format="parquet")
    assert _audit_reads(sandbox) == 1, "six tables, one audit read"

    gone = {}
    for table, entity in (("incident", "incidents"), ("change_request", "change_requests"), ("cmdb_ci", "cmdb_cis")):
        ids = [r["sys_id"] for r in sandbox.records(table)[:4]]
        sandbox.delete(table, ids)
        gone.update({sid: entity for sid in ids})
    monkeypatch.setattr(deletes, "AUDIT_PAGE_SIZE", 3)  # 12 audit rows of three tables over several pages
    sandbox.clear_request_log()
    pipeline.run(_source(sandbox, attachments=False), loader_file_format="parquet")
    assert _audit_reads(sandbox) >= 4, "the audit is paged"
    queries = {r["query"] for r in _served(sandbox, "GET", "/api/now/table/sys_audit_delete")}
    assert all("tablenameIN" in q for q in queries)
    recorded = _count(duckdb_warehouse, "select record_id, entity, detected_by, deleted_at from servicenow.deletions")
    assert {r[0]: r[1] for r in recorded} == gone and {r[2] for r in recorded} == {"feed"}
    audit = {r["documentkey"]: r["sys_created_on"] for r in sandbox.records("sys_audit_delete")}
    assert all(r[3].strftime("%Y-%m-%d %H:%M:%S") == audit[r[0]] for r in recorded), "the vendor's delete time"

    monkeypatch.setattr(deletes, "AUDIT_PAGE_SIZE", 1000)
    sandbox.clear_request_log()
    pipeline.run(_source(sandbox, attachments=False), loader_file_format="parquet")
    assert _audit_reads(sandbox) == 1
    again = _count(duckdb_warehouse, "select record_id, entity, detected_by, deleted_at from servicenow.deletions")
    assert sorted(again) == sorted(recorded), "deletes recorded before are not sent again"


class _AuditOnly:
    """A client whose audit holds the given rows and whose tables hold nothing (all were deleted)."""

    def __init__(self, rows: list[dict]) -> None:
        self.rows, self.queries = rows, []

    def read_concurrently(self, table, query, **kwargs):
        self.queries.append((table, query))
        if table == "sys_audit_delete":
            yield self.rows


def test_each_table_keeps_only_the_audit_rows_of_its_own_window():
    from pipelines.servicenow.deletes import DeleteAudit, Due
    from pipelines.servicenow.settings import TABLES

    def row(key, table, at):
        return {"sys_id": key * 32, "documentkey": key * 32, "tablename": table, "sys_created_on": at}

    client = _AuditOnly([row("a", "incident", "2026-01-01 10:00:00"), row("b", "incident", "2026-01-02 10:00:00"),
                         row("c", "change_request", "2026-01-01 10:00:00"),
                         row("d", "change_request", "2026-01-03 10:00:00"), row("e", "sc_task", "2026-01-03 10:00:00")])
    audit = DeleteAudit(["incidents", "change_requests", "cmdb_cis"], "run-1",
                        selected=lambda: {"incidents", "change_requests", "attachments"})
    incident, change = TABLES["incident"], TABLES["change_request"]
    assert list(audit.deletes(client, Due(incident, "2026-01-02 00:00:00", None, {}))) == [], \
        "change_requests has not been read yet"
    assert client.queries == []
    items = list(audit.deletes(client, Due(change, "2025-12-31 00:00:00", None, {})))
    audit_queries = [q for t, q in client.queries if t == "sys_audit_delete"]
    assert audit_queries == ["tablenameINchange_request,incident^sys_created_on>=2025-12-31 00:00:00"]
    got = sorted((r["entity"], r["record_id"][0]) for item in items for r in item.data)
    assert got == [("change_requests", "c"), ("change_requests", "d"), ("incidents", "b")]


def _kind(entry: dict) -> str:
    path = entry["path"]
    if path.endswith("/file"):
        return "download"
    if path == "/api/now/attachment":
        return "listing"
    return "table" if path.startswith("/api/now/table/") else "other"


def test_attachments_download_while_the_tables_are_read_within_one_cap(make_servicenow_sandbox, duckdb_warehouse):
    sandbox = make_servicenow_sandbox(size=300, latency_ms=60)
    pipeline = duckdb_warehouse.pipeline("servicenow")
    sandbox.clear_request_log()
    sandbox.reset_concurrency_peak()
    pipeline.run(_source(sandbox, page_size=50), loader_file_format="parquet")
    served = [_kind(r) for r in sandbox.request_log]  # in the order their answers were ready
    assert served.count("download") >= 20
    last_table = len(served) - 1 - served[::-1].index("table")
    assert served.index("download") < last_table, "downloads start before the last table read is done"
    assert sandbox.concurrency_peak == 4, "tables and downloads together: four requests in flight, never more"
    stored = _count(duckdb_warehouse, "select count(*) from servicenow.attachments where content_status = 'stored'")
    assert stored == [(served.count("download"),)]

    sandbox.clear_request_log()
    pipeline.run(_source(sandbox, page_size=50), loader_file_format="parquet")
    assert "download" not in [_kind(r) for r in sandbox.request_log], "nothing changed: nothing downloaded ahead"


def test_a_smaller_cap_holds_for_tables_and_downloads_alike(make_servicenow_sandbox, duckdb_warehouse):
    sandbox = make_servicenow_sandbox(size=200, latency_ms=30)
    sandbox.reset_concurrency_peak()
    duckdb_warehouse.pipeline("servicenow").run(_source(sandbox, page_size=40, concurrency=2),
                                                loader_file_format="parquet")
    assert sandbox.concurrency_peak == 2


def test_no_background_work_without_the_attachments_resource_or_after_a_failed_read(make_servicenow_sandbox,
                                                                                   duckdb_warehouse):
    import threading

    import pytest

    from pipelines.common.http import RetryPolicy

    sandbox = make_servicenow_sandbox(size=100)
    pipeline = duckdb_warehouse.pipeline("servicenow")
    sandbox.clear_request_log()
    pipeline.run(_source(sandbox).with_resources("incidents", "cmdb_cis"), loader_file_format="parquet")
    assert {_kind(r) for r in sandbox.request_log} <= {"table", "other"}

    sandbox.faults.replace(rate_5xx=1.0, paths=[r"/table/cmdb_ci$"])
    with pytest.raises(Exception, match="cmdb_ci"):
        pipeline.run(_source(sandbox, policy=RetryPolicy(backoff_base_seconds=0, backoff_max_seconds=0)),
                     loader_file_format="parquet")
    alive = [t.name for t in threading.enumerate() if t.name.startswith("sn-attachment")]
    assert alive == [], "the failed run left attachment work behind"
