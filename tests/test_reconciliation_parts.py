"""The nightly reconciliation's parts: the census on both warehouses, drift severity, day windows,
the job's and schedule's shape, and the Jira census kept out of every sync but the nightly one."""

from __future__ import annotations

import dataclasses
import os
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import duckdb
import psycopg2
import pytest
from dagster import AssetCheckSeverity, AssetKey, build_schedule_context, instance_for_test

from assets.reconciliation import census
from assets.reconciliation.checks import PARITY_CHECKS, results
from assets.reconciliation.compare import TableParity
from assets.reconciliation.heal import day_windows
from assets.reconciliation.vendors import VendorTable
from pipelines.common.warehouse import WarehouseSettings
from resources.warehouse import Connection

VENDOR_IDS = [f"{i:032x}" for i in range(2500)]


class _Warehouse:
    def __init__(self, open_raw, kind: str):
        self.open_raw, self.kind = open_raw, kind

    @contextmanager
    def connect(self):
        raw = self.open_raw()
        try:
            yield Connection(raw, self.kind)
            raw.commit()
        finally:
            raw.close()


@pytest.fixture(params=["duckdb", "postgres"])
def warehouse(request, tmp_path):
    if request.param == "duckdb":
        path = str(tmp_path / "w.duckdb")
        yield _Warehouse(lambda: duckdb.connect(path), "duckdb")
        return
    name = f"projectx_recon_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname="postgres")
    admin.autocommit = True
    admin.cursor().execute(f'create database "{name}"')
    c = dataclasses.replace(WarehouseSettings(), kind="postgres", pg_database=name).pg_credentials()
    yield _Warehouse(lambda: psycopg2.connect(host=c["host"], port=c["port"], user=c["username"],
                                              dbname=c["database"]), "postgres")
    admin.cursor().execute(f'drop database if exists "{name}" with (force)')
    admin.close()


def _stored(conn, ids: list[str], deleted: list[str] = (), restored: list[str] = ()) -> None:
    """Rows loaded by load 1.5 (``restored``: re-loaded by load 3.5); deletes recorded by load 2.5."""
    conn.execute("create schema if not exists servicenow")
    conn.execute("create table servicenow.incidents (sys_id varchar, short_description varchar, _dlt_load_id varchar)")
    for rid in ids:
        conn.execute("insert into servicenow.incidents values (%s, %s, %s)", (rid, "x", "3.5" if rid in restored
                                                                               else "1.5"))
    conn.execute("create table servicenow.deletions (entity varchar, record_id varchar, _dlt_load_id varchar)")
    for rid in deleted:
        conn.execute("insert into servicenow.deletions values ('incidents', %s, '2.5')", (rid,))
    conn.raw.commit()


def _pages(ids: list[str], size: int = 700):
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


def test_census_finds_both_sides_and_counts_live_rows(warehouse):
    gone = ["f" * 32, "e" * 32]  # stored, not at the vendor
    missing = VENDOR_IDS[:3]  # at the vendor, not stored
    marked = ["d" * 32]  # stored, gone at the vendor, already marked deleted
    restored = VENDOR_IDS[10:11]  # marked deleted once, re-loaded since: live
    with warehouse.connect() as conn:
        _stored(conn, VENDOR_IDS[3:] + gone + marked, deleted=marked + restored, restored=restored)
        assert census.load_ids(conn, "servicenow", "incidents", _pages(VENDOR_IDS)) == len(VENDOR_IDS)
        result = census.compare(conn, "servicenow", "incidents", "sys_id", limit=2)
        assert (result.vendor_count, result.warehouse_count) == (2500, 2499)
        assert (result.gone_total, result.missing_total) == (2, 3)
        assert result.gone == sorted(gone) and result.missing == missing[:2]  # bounded by the limit
        # a second census replaces the first
        census.load_ids(conn, "servicenow", "incidents", _pages(VENDOR_IDS[3:]))
        assert census.compare(conn, "servicenow", "incidents", "sys_id").missing_total == 0
        sample = census.sample_ids(conn, "servicenow", "incidents", "sys_id", 10, "2026-12-01")
        assert len(sample) == 10 and not set(sample) & set(gone + marked), "only ids the vendor still lists"
        assert sample == census.sample_ids(conn, "servicenow", "incidents", "sys_id", 10, "2026-12-01")
        assert sample != census.sample_ids(conn, "servicenow", "incidents", "sys_id", 10, "2026-12-02")


def test_drift_is_a_warning_until_it_survives_a_sync(warehouse):
    table = VendorTable("servicenow", "incidents", "sys_id", "sys_updated_on", (), lambda: iter(()), lambda ids: {})
    drift = census.CensusResult("servicenow", "incidents", 3, 4, gone=["a" * 32], gone_total=1)

    def severity(conn) -> AssetCheckSeverity:
        checks = {r.check_name: r for r in results(conn, TableParity(table, drift))}
        assert not checks["no_missing_ids"].passed and checks["no_stale_versions"].passed
        assert checks["no_missing_ids"].metadata["not_at_vendor_ids"].value == ["a" * 32]
        return checks["no_missing_ids"].severity

    with warehouse.connect() as conn:
        conn.execute("create schema if not exists servicenow")
        conn.execute("create table servicenow._dlt_loads (inserted_at timestamp, status integer)")
        conn.execute("insert into servicenow._dlt_loads values (%s, 0)", (datetime(2020, 1, 1),))
        conn.raw.commit()
        assert severity(conn) == AssetCheckSeverity.WARN  # first seen after the last sync
        later = datetime.now(UTC).replace(tzinfo=None) + timedelta(seconds=5)
        conn.execute("insert into servicenow._dlt_loads values (%s, 0)", (later,))
        conn.raw.commit()
        assert severity(conn) == AssetCheckSeverity.ERROR  # a sync came and went: it stayed


def test_day_windows_cover_each_stamp_once():
    windows = day_windows(["2026-10-01 23:59:59", "2026-10-02T00:00:01.000+0000", "2026-10-05 10:00:00"])
    day = timedelta(days=1)
    start = datetime(2026, 10, 1, tzinfo=UTC)
    assert windows == [(start, start + 2 * day), (start + 4 * day, start + 5 * day)]
    assert day_windows([]) == []
    assert day_windows(["not a time"])[0][0] == datetime(1970, 1, 1, tzinfo=UTC)
    many = [f"2026-01-{d:02d} 00:00:00" for d in range(1, 20, 2)]
    assert day_windows(many) == [(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 20, tzinfo=UTC))]


def test_only_the_nightly_job_runs_the_censuses_and_parity_checks():
    import definitions

    defs = definitions.build_definitions()
    nightly = {n.name for n in defs.resolve_job_def("nightly_reconciliation").graph.node_defs}
    assert {"reconcile_servicenow", "reconcile_jira", "reconcile_onetrust", "reverse_sync__reconciliation",
            "projectx_dbt_models", "servicenow_parity", "jira_parity", "onetrust_parity"} <= nightly
    for name in ("full_sync", "servicenow_incidents_sync", "servicenow_changes_sync", "jira_sync", "onetrust_sync",
                 "servicenow_incidents_to_tasks"):
        ops = {n.name for n in defs.resolve_job_def(name).graph.node_defs}
        assert not {o for o in ops if o.startswith("reconcile") or o.endswith("_parity")}, (name, ops)
    checks = {k for c in PARITY_CHECKS for k in c.check_keys}
    assert {(k.asset_key, k.name) for k in checks} >= {
        (AssetKey(["servicenow", "incidents"]), "no_missing_ids"), (AssetKey(["jira", "issues"]), "no_stale_versions"),
        (AssetKey(["onetrust", "risks"]), "matches_vendor_count")}


def test_nightly_schedule_is_off_peak_jittered_per_environment_and_waits_for_a_first_build(monkeypatch):
    from resources.environment import ENVIRONMENTS
    from sensors.nightly import OFF_PEAK_HOURS, OFF_PEAK_START_HOUR, nightly_cron, nightly_schedule

    crons = {name: nightly_cron(env) for name, env in ENVIRONMENTS.items()}
    assert crons == {name: nightly_cron(env) for name, env in ENVIRONMENTS.items()}, "deterministic"
    assert len(set(crons.values())) == len(crons), crons
    for name, cron in crons.items():
        minute, hour, *rest = cron.split()
        assert rest == ["*", "*", "*"] and 0 <= int(minute) < 60
        assert OFF_PEAK_START_HOUR[name] <= int(hour) < OFF_PEAK_START_HOUR[name] + OFF_PEAK_HOURS
    assert nightly_schedule(ENVIRONMENTS["prod"]).default_status.value == "RUNNING"

    import definitions

    defs = definitions.build_definitions()
    schedule = defs.resolve_schedule_def("nightly_reconciliation_schedule")
    with instance_for_test() as instance, build_schedule_context(
            instance=instance, repository_def=defs.get_repository_def(),
            scheduled_execution_time=datetime.now(UTC)) as context:
        tick = schedule.evaluate_tick(context)
    assert not tick.run_requests and "full_sync" in tick.skip_message


def test_jira_census_runs_only_where_asked(monkeypatch):
    from resources.jira import JiraResource

    monkeypatch.setenv("JIRA_BASE_URL", "https://jira.invalid")
    monkeypatch.setenv("JIRA_AUTH_MODE", "pat")
    monkeypatch.setenv("JIRA_PAT", "-")
    monkeypatch.delenv("VAULT_ADDR", raising=False)
    monkeypatch.setenv("ENABLE_JIRA_DELTA_RECON", "true")
    resource = JiraResource()
    assert "issue_deletions" not in resource.source().resources, "a sync would fail on an undeclared asset"
    assert "issue_deletions" in resource.source(census=True).resources
    assert resource.census_enabled()
    monkeypatch.setenv("ENABLE_JIRA_DELTA_RECON", "false")
    assert "issue_deletions" not in resource.source(census=True).resources


def test_the_nightly_heal_holds_the_vendors_sync_lock(duckdb_warehouse, monkeypatch):
    """Marking deletes and re-reading windows write through the vendor's dlt pipeline: the nightly takes
    the lock a running sync holds (and waits for it) instead of wiping or writing beside it."""
    import fcntl
    import logging
    from types import SimpleNamespace

    from assets.reconciliation import nightly
    from resources.warehouse import WarehouseResource

    monkeypatch.setattr(nightly, "vendor_tables", lambda vendor, resource: [])  # nothing to compare: the lock only
    context = SimpleNamespace(run_id="nightly-lock", log=logging.getLogger("test"))
    warehouse = WarehouseResource.from_env()
    lock_path = duckdb_warehouse.data_dir + "/dlt/projectx_servicenow_duckdb.lock"
    os.makedirs(os.path.dirname(lock_path), exist_ok=True)
    monkeypatch.setenv("PROJECTX_SYNC_LOCK_TIMEOUT_SECONDS", "1")
    with open(lock_path, "a+") as held:  # a sync of ServiceNow is running
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(TimeoutError, match="another servicenow sync still holds"):
            nightly.reconcile_vendor(context, "servicenow", None, warehouse)
        fcntl.flock(held, fcntl.LOCK_UN)
    assert nightly.reconcile_vendor(context, "servicenow", None, warehouse) == []  # the sync ended: it runs
