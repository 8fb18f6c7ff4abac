"""ServiceNow sync under the sandbox's faults, and after being killed mid-load: exact parity."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb

from pipelines.common.http import RetryPolicy
from sandbox.servicenow.render import MALFORMED_VARIANTS
from tests.test_servicenow_source import _source

ROOT = Path(__file__).resolve().parents[1]
FAST_RETRIES = RetryPolicy(backoff_base_seconds=0.0, backoff_max_seconds=0.0)


def _ids(con, table: str) -> set[str]:
    try:
        return {r[0] for r in con.execute(
            f"select record_id from servicenow.{table} where entity = 'incidents'").fetchall()}
    except duckdb.CatalogException:  # nothing was ever deleted / quarantined
        return set()


def _warehouse_state(settings) -> tuple[dict[str, str], set[str], set[str]]:
    with duckdb.connect(settings.duckdb_path, read_only=True) as con:
        rows = dict(con.execute("select sys_id, sys_updated_on from servicenow.incidents").fetchall())
        return rows, _ids(con, "deletions"), _ids(con, "quarantine")


def _malformed(sandbox, sys_id: str) -> bool:
    return sandbox.faults.malformed_variant(f"incident:{sys_id}", MALFORMED_VARIANTS) is not None


def test_full_then_delta_under_faults_equals_vendor(make_servicenow_sandbox, duckdb_warehouse):
    sandbox = make_servicenow_sandbox(size=600, token_ttl_seconds=2)
    sandbox.faults.set(rate_5xx=0.1, rate_429=0.05, retry_after=0, rate_malformed=0.01, touch_per_page=2)
    pipeline = duckdb_warehouse.pipeline("servicenow")
    run = {"page_size": 40, "concurrency": 4, "policy": FAST_RETRIES, "tables": ["incident"], "attachments": False}

    pipeline.run(_source(sandbox, **run), loader_file_format="parquet")  # vendor changes while we page
    deleted = [r["sys_id"] for r in sandbox.records("incident")[:7]]
    sandbox.delete("incident", deleted)
    sandbox.touch("incident", n=15)
    sandbox.faults.set(touch_per_page=0)  # the vendor is quiet while the delta reads the final state
    time.sleep(1.1)  # let the tokens issued so far expire
    pipeline.run(_source(sandbox, **run), loader_file_format="parquet")

    stored, marked_deleted, quarantined = _warehouse_state(duckdb_warehouse)
    vendor = {r["sys_id"]: r["sys_updated_on"] for r in sandbox.records("incident")}
    malformed = {sid for sid in vendor if _malformed(sandbox, sid)}
    assert malformed, "1% malformed records should hit a 600-record instance"
    live = {sid: ts for sid, ts in stored.items() if sid not in marked_deleted}
    assert live == {sid: ts for sid, ts in vendor.items() if sid not in malformed}
    assert marked_deleted >= set(deleted) - malformed
    assert not (marked_deleted & set(vendor)), "nothing alive at the vendor is marked deleted"
    # Every malformed record is in quarantine: by id, or (the variant that drops sys_id) without one.
    without_id = {sid for sid in malformed
                  if sandbox.faults.malformed_variant(f"incident:{sid}", MALFORMED_VARIANTS) == 1}
    assert malformed - without_id <= quarantined
    if without_id:
        assert "" in quarantined


def test_killed_mid_load_then_rerun_reaches_parity(make_servicenow_sandbox, duckdb_warehouse):
    sandbox = make_servicenow_sandbox(size=3000, latency_ms=40)
    script = (
        "import sys; from pipelines.common.warehouse import WarehouseSettings;"
        "from pipelines.servicenow import servicenow_source;"
        "p = WarehouseSettings.from_env().pipeline('servicenow');"
        f"p.run(servicenow_source(base_url='{sandbox.url}', client_id='sandbox-client',"
        "client_secret='sandbox-secret', tables=['incident'], attachments=False, page_size=25,"
        "concurrency=1), loader_file_format='parquet')"
    )
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, env=os.environ.copy(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(4.0)  # imports, then a few dozen of the 120 pages
    assert proc.poll() is None, "the sync finished before it could be killed: slow the sandbox down"
    proc.send_signal(signal.SIGKILL)
    proc.wait()

    pipeline = duckdb_warehouse.pipeline("servicenow")
    pipeline.run(_source(sandbox, tables=["incident"], attachments=False), loader_file_format="parquet")
    stored, _, _ = _warehouse_state(duckdb_warehouse)
    assert stored == {r["sys_id"]: r["sys_updated_on"] for r in sandbox.records("incident")}
    with duckdb.connect(duckdb_warehouse.duckdb_path, read_only=True) as con:
        assert con.execute("select count(*) - count(distinct sys_id) from servicenow.incidents").fetchone() == (0,)
