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
