"""A push writes several records at once (``SyncConfig.concurrency`` / ``PROJECTX_PUSH_CONCURRENCY``,
default 4), never more, and still writes, links and audits each record exactly once; records that
share a vendor object (a OneTrust control implementation) create it once."""

from __future__ import annotations

import threading

import pytest

from pipelines.common import http
from tests.conftest import onetrust_env, sandbox_env
from tests.reverse_sync_helpers import attestation_rows, query, run, write_outbound, writes
from tests.test_reverse_sync_servicenow import remediation_rows


@pytest.fixture
def in_flight(monkeypatch) -> dict[str, int]:
    """The most vendor writes (non-GET requests) this process had in flight at once."""
    seen, lock = {"now": 0, "peak": 0}, threading.Lock()
    original = http.VendorSession.request

    def counting(self, method, path_or_url, **kwargs):
        if method == "GET" or "oauth" in path_or_url:
            return original(self, method, path_or_url, **kwargs)
        with lock:
            seen["now"] += 1
            seen["peak"] = max(seen["peak"], seen["now"])
        try:
            return original(self, method, path_or_url, **kwargs)
        finally:
            with lock:
                seen["now"] -= 1

    monkeypatch.setattr(http.VendorSession, "request", counting)
    return seen


@pytest.mark.parametrize(("setting", "env", "expected"), [(None, None, 4), (1, None, 1), (None, "2", 2)],
                         ids=["default", "config-1", "env-2"])
def test_a_push_writes_up_to_its_concurrency_at_once_and_each_record_once(
        setting, env, expected, make_servicenow_sandbox, duckdb_warehouse, monkeypatch, in_flight):
    sb = make_servicenow_sandbox(size=20, latency_ms=60)  # a round trip long enough for writes to overlap
    sandbox_env(monkeypatch, sb)
    if env is not None:
        monkeypatch.setenv("PROJECTX_PUSH_CONCURRENCY", env)
    rows = remediation_rows(24)
    write_outbound(duckdb_warehouse, "servicenow", rows)
    report = run("servicenow", run_id="wide", concurrency=setting)
    assert (report.created, report.dead_lettered, report.writes) == (24, 0, 24)
    assert in_flight["peak"] == expected
    assert len([w for w in writes(sb) if w["method"] == "POST"]) == 24
    assert query(duckdb_warehouse, "select count(*), count(distinct internal_id), count(distinct vendor_id) "
                                   "from reverse_sync.external_links") == [(24, 24, 24)]
    assert query(duckdb_warehouse, "select count(*), count(distinct object_id) from audit.events "
                                   "where action = 'push' and run_id = 'wide'") == [(24, 24)]
    done = query(duckdb_warehouse, "select distinct internal_id from reverse_sync.plans "
                                   "where run_id = 'wide' and outcome = 'done'")
    assert sorted(i for (i,) in done) == [r["remediation_task_id"] for r in rows]
    sb.clear_request_log()
    again = run("servicenow", run_id="again", concurrency=setting)
    assert (again.unchanged, again.writes) == (24, 0) and writes(sb) == []


@pytest.mark.parametrize("value", ["many", "0", "99"])
def test_a_bad_push_concurrency_names_the_setting_and_its_range(value, make_servicenow_sandbox, duckdb_warehouse,
                                                                 monkeypatch):
    sb = make_servicenow_sandbox(size=20)
    sandbox_env(monkeypatch, sb)
    monkeypatch.setenv("PROJECTX_PUSH_CONCURRENCY", value)
    write_outbound(duckdb_warehouse, "servicenow", remediation_rows(2))
    with pytest.raises(ValueError, match=r"1 to 32|PROJECTX_PUSH_CONCURRENCY='many'"):
        run("servicenow", run_id="bad")
    assert writes(sb) == []


def test_attestations_of_one_control_written_at_once_create_its_implementation_once(
        make_onetrust_sandbox, duckdb_warehouse, monkeypatch, tmp_path, in_flight):
    sb = make_onetrust_sandbox(size=20, latency_ms=60)
    onetrust_env(monkeypatch, sb)
    monkeypatch.setenv("PROJECTX_EVIDENCE_DIR", str(tmp_path / "evidence"))
    rows = attestation_rows(24)  # three controls, eight months each, none implemented at OneTrust yet
    write_outbound(duckdb_warehouse, "onetrust", rows)
    report = run("onetrust", run_id="wide")
    assert (report.created, report.dead_lettered) == (24, 0)
    assert in_flight["peak"] > 1
    impls: dict[str, int] = {}
    for impl in sb.control_implementations():
        impls[impl["externalId"]] = impls.get(impl["externalId"], 0) + 1
    assert impls == {"projectx:SN-CHG-01": 1, "projectx:OT-PIA-01": 1, "projectx:SN-INC-01": 1}
    # OneTrust upserts by externalId, so the count above holds even after a racing second create: the
    # writes show the race itself. One create per control, audited as such.
    creates = [w for w in writes(sb) if w["method"] == "POST" and w["path"].endswith("/control-implementations")]
    assert len(creates) == 3
    assert query(duckdb_warehouse, "select count(*) from audit.events where run_id = 'wide' "
                                   "and operation = 'create_implementation'") == [(3,)]
    ours = [a for a in sb.attestations() if a.get("source") == "Project X"]
    assert sorted(a["externalId"] for a in ours) == [r["attestation_id"] for r in rows]
