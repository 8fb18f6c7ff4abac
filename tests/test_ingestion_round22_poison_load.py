"""Poison records after extract (pipelines.common.poison): a record that kills the sync process in dlt's
NORMALIZE step (``tests.poison_shim_round22`` makes the process ``os._exit(137)`` when dlt's normalizer
meets the chosen ServiceNow incident; its row building and extract are untouched) must not make the sync
loop for ever.

What a crash after extract leaves: the run's load package, extracted but not normalized, pending in dlt's
working folder; the next run does not finish it (recovery discards the folder) but extracts the same
records again from the last committed cursor. Without the ledger's note of what dlt had taken, every run
dies the same way (this test then fails at the fourth run). With it: three runs die, the fourth quarantines
the records extracted in each of them (they cannot be told apart: normalize works on the whole package),
loads the rest, and nothing the vendor holds is neither loaded nor quarantined. A Python exception after
extract (the process survived) counts no crash.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.common import poison
from tests.conftest import sandbox_env
from tests.ingestion_harness import ROOT, SN_INCIDENTS, assert_parity, quarantine, sql, wait_a_second
from tests.poison_shim import POISON_ENV


def _run(poison_id: str | None) -> subprocess.CompletedProcess:
    env = os.environ.copy()
    env.pop(POISON_ENV, None)
    if poison_id:
        env[POISON_ENV] = poison_id
    return subprocess.run([sys.executable, "-m", "tests.poison_shim_round22"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def _ok(done: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert done.returncode == 0, f"sync failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}"
    return done


def _pending(root: Path) -> list[str]:
    """Load ids of packages left in dlt's working folders: extracted (not normalized) or normalized (not loaded)."""
    return sorted(p.name for w in root.iterdir() if w.is_dir() for d in ("normalize/extracted", "load/normalized")
                  if (w / d).is_dir() for p in (w / d).iterdir())


def test_a_record_that_kills_normalize_every_run_is_quarantined_after_three_and_the_sync_goes_on(
        request, monkeypatch, duckdb_warehouse):
    sb = request.getfixturevalue("make_servicenow_sandbox")(size=30)
    sandbox_env(monkeypatch, sb)
    monkeypatch.delenv("PROJECTX_POISON_CRASHES", raising=False)
    _ok(_run(None))  # a first sync commits a cursor: only records changed after it are re-read
    ids = [r["sys_id"] for r in sb.records("incident")]
    poison_id, other = ids[7], ids[12]
    wait_a_second()  # the sandbox's stamps are to the second
    for sys_id in (poison_id, other):
        sb.update("incident", sys_id, {"short_description": "changed at the vendor"})
    root = Path(duckdb_warehouse.data_dir) / "dlt"
    loads = sql(duckdb_warehouse, "select count(*) from servicenow._dlt_loads")[0][0]
    logs = []
    for n in range(3):
        died = _run(poison_id)
        assert died.returncode == 137, f"run {n + 1} did not die: {died.stdout[-2000:]}{died.stderr[-3000:]}"
        assert _pending(root), "a crash in normalize leaves its extracted package pending"
        if n:  # the pending package is dropped (not retried) and the records re-extracted
            assert "discarding dlt's working folder" in died.stderr
        logs.append(died.stderr)
    assert sql(duckdb_warehouse, "select count(*) from servicenow._dlt_loads")[0][0] == loads  # nothing loaded
    done = _ok(_run(poison_id))  # without the ledger's note this run dies too, as would every later one
    assert all("after extract (in dlt's normalize or load step)" in log for log in logs[1:])
    assert f"record {poison_id} quarantined" in done.stderr
    held = quarantine(duckdb_warehouse, SN_INCIDENTS)
    # The records re-read since the cursor (the two changed, plus any the source's cursor overlap re-reads),
    # not the whole table.
    assert {poison_id, other} <= set(held) and len(held) <= 5 < len(ids)
    assert all(r.startswith("the sync process died 3 runs in a row while handling this record: ")
               for r in held.values())
    assert not list(root.glob("*.extracted")) and not list(root.glob("*.crashes"))  # a good run settles
    assert_parity(sb, duckdb_warehouse, SN_INCIDENTS, except_ids=set(held))  # each one loaded or held
    assert "short_description" in sql(duckdb_warehouse, "select record from servicenow.quarantine "
                                      "where record_id = ?", other)[0][0]  # kept with its raw record

    # Released with the fault gone (the operator deletes the rows): the next run reads them again by id.
    for sys_id in held:
        assert poison.release("servicenow", "incidents", sys_id) == 1
    _ok(_run(None))
    assert_parity(sb, duckdb_warehouse, SN_INCIDENTS)


def test_an_exception_after_extract_is_no_crash(tmp_path):
    """Only a dead process counts: a run that raised in normalize or load (e.g. the destination
    unreachable) drops its note of what dlt had taken, so the next run counts nothing against it."""
    root, name = tmp_path, "p"
    note = root / f"{name}.extracted"
    note.write_text('{"resource": "incidents", "ids": ["a", "b"]}\n{"resource": "incidents", "ids": ["c"]}\n{"cut')
    poison.count_crash(root, name, "servicenow")  # no package past extract: the run died in extract
    assert not (root / f"{name}.crashes").exists() and not note.exists()
    (root / name / "normalize" / "extracted" / "1234.5").mkdir(parents=True)  # died in normalize
    note.write_text('{"resource": "incidents", "ids": ["a", "b"]}\n{"resource": "incidents", "ids": ["c"]}\n{"cut')
    poison.count_crash(root, name, "servicenow")
    assert poison._read(root / f"{name}.crashes") == {"incidents": {"a": 1, "b": 1, "c": 1}}
    note.write_text('{"resource": "incidents", "ids": ["a"]}\n')
    poison.survived(root, name)
    poison.count_crash(root, name, "servicenow")
    assert not (root / f"{name}.crashes").exists()  # no crash: the streak ends


@pytest.mark.parametrize("exc", [RuntimeError("destination unreachable"), MemoryError()])
def test_recovery_drops_the_note_only_when_the_process_survived(exc, duckdb_warehouse, monkeypatch):
    from pipelines.common.recovery import recovered_pipeline

    root = Path(duckdb_warehouse.data_dir) / "dlt"
    with pytest.raises(type(exc)), recovered_pipeline(duckdb_warehouse, "servicenow") as run:
        name = run.pipeline.pipeline_name
        (root / f"{name}.extracted").write_text('{"resource": "incidents", "ids": ["a"]}\n')
        raise exc
    assert (root / f"{name}.extracted").exists() == isinstance(exc, MemoryError)
