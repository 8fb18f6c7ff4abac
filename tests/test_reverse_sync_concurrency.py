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
    with pytest.raises(ValueError, match=r"1 to 8 |PROJECTX_PUSH_CONCURRENCY='many'"):
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


def test_a_bug_mid_push_raises_itself_keeps_the_records_in_flight_and_the_breakers_count(
        make_servicenow_sandbox, duckdb_warehouse, monkeypatch):
    """Four records are created, the next two fail at the vendor (two consecutive failures, under the
    breaker's threshold), then a bug stops the run: the bug is what the caller sees, records already
    written keep their links, and the breaker's two failures are saved for the next run (before, a
    stopped run never saved them)."""
    from assets.reverse_sync import servicenow

    sb = make_servicenow_sandbox(size=20)
    sandbox_env(monkeypatch, sb)
    write_outbound(duckdb_warehouse, "servicenow", remediation_rows(12))
    original = servicenow.ServiceNowTaskWriter.apply

    def apply(self, step, internal_id, *args, **kwargs):
        if internal_id == "rem-sn-00006":
            raise RuntimeError("a bug in the writer")
        if internal_id in ("rem-sn-00004", "rem-sn-00005"):
            from pipelines.common.http import VendorError
            raise VendorError("ServiceNow: POST answered 503 on all 5 attempts", 503)
        return original(self, step, internal_id, *args, **kwargs)

    monkeypatch.setattr(servicenow.ServiceNowTaskWriter, "apply", apply)
    with pytest.raises(RuntimeError, match="a bug in the writer"):
        run("servicenow", run_id="bug", concurrency=1, breaker_threshold=5, circuit_breakers=True)
    assert query(duckdb_warehouse, "select state, failures from reverse_sync.circuit_breakers "
                                   "where vendor = 'servicenow'") == [("closed", 2)]
    linked = {i for (i,) in query(duckdb_warehouse, "select internal_id from reverse_sync.external_links")}
    assert linked == {f"rem-sn-{i:05d}" for i in range(4)}
    assert len([w for w in writes(sb) if w["method"] == "POST"]) == 4


def test_requests_refused_together_renew_the_token_once():
    """Four requests in flight on one expired token are all refused; each tells the provider which
    token was refused, and only the first renewal happens (for Jira, each renewal rotates the refresh
    token)."""
    from pipelines.common.bearer import CachedBearerToken

    class Provider(CachedBearerToken):
        def _fetch(self):
            self._keep(f"token-{self.tokens_issued + 1}", 3600)  # _keep counts the token

    p = Provider(expiry_margin_seconds=0)
    stale = p.auth_header()
    p.invalidate(stale)
    fresh = p.auth_header()
    for _ in range(3):  # the other three refusals of the old token arrive after the renewal
        p.invalidate(stale)
        assert p.auth_header() == fresh
    assert p.tokens_issued == 2
    p.invalidate()  # no header: forget whatever is cached
    assert p.auth_header() == {"Authorization": "Bearer token-3"}
