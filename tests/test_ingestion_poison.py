"""Poison records (pipelines.common.poison): a record that kills the sync process every time its row is
built must not make the sync loop for ever. Each sync runs in a subprocess (the real entry point, through
``tests.poison_shim``, which makes the process ``os._exit(137)`` while it builds the chosen record's row).

Cases (ServiceNow incidents, Jira issues, OneTrust risks): three runs die, the fourth quarantines the
record with its reason and loads everything else in exact parity, later runs neither die nor re-read it
(even once the vendor changes it), and after the operator's release (``python -m pipelines.common.poison
release``, or deleting the row by hand) with the fault gone it loads; one crash alone quarantines nothing;
the same through ServiceNow's Dagster ingest asset. Ledger rules without a sync: counts are of consecutive
crashed runs, a Python exception is no crash, a MemoryError is.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from tests.conftest import jira_env, onetrust_env, sandbox_env
from tests.ingestion_harness import (
    JIRA_ISSUES,
    OT_RISKS,
    ROOT,
    SN_INCIDENTS,
    assert_parity,
    quarantine,
    sql,
    wait_a_second,
)
from tests.poison_shim import POISON_ENV


def _run(vendor: str, poison: str | None, via: str = "cli") -> subprocess.CompletedProcess:
    env = os.environ.copy()
    env.pop(POISON_ENV, None)
    if poison:
        env[POISON_ENV] = poison
    return subprocess.run([sys.executable, "-m", "tests.poison_shim", vendor, via], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def _ok(done: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert done.returncode == 0, f"sync failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}"
    return done


def _servicenow(request, monkeypatch, n: int):
    """The sandbox, its entity, the id of its ``n``-th record, and a way to change that record."""
    sb = request.getfixturevalue("make_servicenow_sandbox")(size=60)
    sandbox_env(monkeypatch, sb)
    poison = sb.records("incident")[n]["sys_id"]
    return sb, SN_INCIDENTS, poison, lambda: sb.update("incident", poison, {"short_description": "changed"})


def _jira(request, monkeypatch, n: int):
    sb = request.getfixturevalue("make_jira_sandbox")(size=60)
    jira_env(monkeypatch, sb)
    issue = sb.issues(fields=["updated"])[n]

    def change() -> None:
        sb.edit_as(issue["key"], {"summary": "changed at the vendor"})
        sb.sync_index()
    return sb, JIRA_ISSUES, issue["id"], change


def _onetrust(request, monkeypatch, n: int):
    sb = request.getfixturevalue("make_onetrust_sandbox")(size=60)
    onetrust_env(monkeypatch, sb)
    return sb, OT_RISKS, sb.risks()[n]["id"], lambda: sb.touch("risks", n=len(sb.risks()))


SETUP = {"servicenow": _servicenow, "jira": _jira, "onetrust": _onetrust}


def _setup(vendor, request, monkeypatch, n):
    monkeypatch.delenv("PROJECTX_POISON_CRASHES", raising=False)
    return SETUP[vendor](request, monkeypatch, n)


def _stored_ids(settings, entity) -> set[str]:
    return {r[0] for r in sql(settings, f"select {entity.key} from {entity.vendor}.{entity.table}")}


@pytest.mark.parametrize("vendor", ["servicenow", "jira", "onetrust"])
def test_a_record_that_kills_every_run_is_quarantined_after_three_and_released_by_deleting_its_row(
        vendor, request, monkeypatch, duckdb_warehouse):
    sb, entity, poison, change = _setup(vendor, request, monkeypatch, 17)
    q = f"{vendor}.quarantine"
    for n in range(3):
        died = _run(vendor, poison)
        assert died.returncode == 137, f"run {n + 1} did not die: {died.stdout[-2000:]}{died.stderr[-3000:]}"
        if n == 2:  # two crashes with the same page in flight: the third run takes it record by record
            assert "handling them one at a time" in died.stderr
    done = _ok(_run(vendor, poison))
    assert f"record {poison} quarantined" in done.stderr
    ledger = Path(duckdb_warehouse.data_dir) / "dlt"
    assert not list(ledger.glob("*.inflight")) and not list(ledger.glob("*.crashes"))  # a good run settles
    reason = quarantine(duckdb_warehouse, entity)[poison]
    assert reason.startswith("the sync process died 3 runs in a row while handling this record: ")
    assert reason.endswith("(held for review; the rest of the sync goes on)")
    [(raw,)] = sql(duckdb_warehouse, f"select record from {q} where record_id = ?", poison)
    assert f'"{"sys_id" if vendor == "servicenow" else "id"}": "{poison}"' in raw  # the raw payload is kept
    assert_parity(sb, duckdb_warehouse, entity, except_ids={poison})
    assert poison not in _stored_ids(duckdb_warehouse, entity)

    # Not re-queued: the next runs neither die nor quarantine it again, even once the vendor changes it.
    wait_a_second()
    change()
    assert f"record {poison} skipped: held in quarantine" in _ok(_run(vendor, poison)).stderr
    _ok(_run(vendor, poison))
    assert len(sql(duckdb_warehouse, f"select 1 from {q} where record_id = ?", poison)) == 1

    # The operator's release (the fault fixed): delete its quarantine row; the next run loads it.
    # (ServiceNow: the documented command; the others: the same SQL by hand.)
    if vendor == "servicenow":
        released = subprocess.run([sys.executable, "-m", "pipelines.common.poison", "release", vendor, entity.table,
                                   poison], cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert released.returncode == 0, released.stderr
    else:
        with duckdb.connect(duckdb_warehouse.duckdb_path) as con:
            con.execute(f"delete from {q} where entity = '{entity.table}' and record_id = ? "
                        "and reason like 'the sync process died %'", [poison])
    _ok(_run(vendor, None))
    assert_parity(sb, duckdb_warehouse, entity)
    assert poison not in quarantine(duckdb_warehouse, entity)
    assert poison in _stored_ids(duckdb_warehouse, entity)


@pytest.mark.parametrize("vendor", ["servicenow", "jira", "onetrust"])
def test_one_crash_alone_quarantines_nothing(vendor, request, monkeypatch, duckdb_warehouse):
    sb, entity, poison, _ = _setup(vendor, request, monkeypatch, 5)
    assert _run(vendor, poison).returncode == 137
    _ok(_run(vendor, None))
    assert not sql(duckdb_warehouse, "select 1 from information_schema.tables where table_schema = ? "
                   "and table_name = 'quarantine'", vendor) or quarantine(duckdb_warehouse, entity) == {}
    assert_parity(sb, duckdb_warehouse, entity)


def test_through_the_dagster_asset_the_poison_record_is_quarantined_too(request, monkeypatch, duckdb_warehouse):
    sb, entity, poison, _ = _setup("servicenow", request, monkeypatch, 9)
    for _ in range(3):
        assert _run("servicenow", poison, "dagster").returncode == 137
    _ok(_run("servicenow", poison, "dagster"))
    assert quarantine(duckdb_warehouse, entity)[poison].startswith("the sync process died 3 runs in a row")
    assert_parity(sb, duckdb_warehouse, entity, except_ids={poison})
    _ok(_run("servicenow", poison, "dagster"))  # held: not re-read


def test_crash_counts_are_of_consecutive_crashed_runs_with_the_record_in_flight(tmp_path):
    from pipelines.common import poison

    inflight, crashes = tmp_path / "p.inflight", tmp_path / "p.crashes"

    def crash_with(*ids: str) -> dict:
        inflight.write_text(json.dumps({"resource": "incidents", "ids": list(ids)}))
        poison.count_crash(tmp_path, "p", "servicenow")
        return json.loads(crashes.read_text())["incidents"]

    assert crash_with("a", "b") == {"a": 1, "b": 1}
    assert crash_with("a", "b") == {"a": 2, "b": 2}
    assert crash_with("b") == {"b": 3}  # "a" was not in flight: its streak ends
    poison.count_crash(tmp_path, "p", "servicenow")  # a crash with nothing in flight ends every streak
    assert not crashes.exists()
    crash_with("a")
    poison.settle(tmp_path, "p")  # a run that ended well
    assert not crashes.exists() and not inflight.exists()


def test_an_exception_is_not_a_crash_but_running_out_of_memory_is(tmp_path):
    from pipelines.common.poison import PoisonGuard

    guard = PoisonGuard("servicenow", "incidents", "run")
    guard._inflight = tmp_path / "p.inflight"

    def fails(exc):
        def build(page):
            raise exc
            yield
        return build

    with pytest.raises(ValueError):
        list(guard.handle([{"sys_id": "a"}], fails(ValueError("vendor error")), lambda r: r["sys_id"]))
    assert not guard._inflight.exists()
    with pytest.raises(MemoryError):
        list(guard.handle([{"sys_id": "a"}], fails(MemoryError()), lambda r: r["sys_id"]))
    assert json.loads(guard._inflight.read_text()) == {"resource": "incidents", "ids": ["a"]}
