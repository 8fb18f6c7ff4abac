"""The embedded warehouse's last good copy (``pipelines/common/warehouse_backup.py``): a sync that ends well
copies the warehouse; a sync that finds the warehouse file damaged (what DuckDB 2.0.1 left once in ~70 syncs
killed while loading: every later sync failed within a second, for ever) puts the copy back, keeps the damaged
file, and ends in exact parity, as does every other vendor's next sync, through the standalone sync and the
Dagster asset."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.ingestion_harness import JIRA_ISSUES, SN_INCIDENTS, assert_parity, sync, wait_a_second
from tests.test_ingestion_crash import _jira, _servicenow
from tests.test_round26_damaged_warehouse import CATALOG_BLOCK


def _damage(path: Path) -> None:
    """Flip bytes in the catalog block: DuckDB then refuses the file (a checksum mismatch)."""
    with open(path, "r+b") as f:
        f.seek(CATALOG_BLOCK + 64)
        chunk = f.read(8)
        f.seek(CATALOG_BLOCK + 64)
        f.write(bytes(b ^ 0xFF for b in chunk))


@pytest.mark.parametrize("via", ["cli", "dagster"])
def test_a_damaged_warehouse_is_replaced_by_its_last_good_copy_and_every_vendor_ends_in_parity(
        via, request, monkeypatch, duckdb_warehouse):
    jira, _, jira_change = _jira(request, monkeypatch)
    sn, _, sn_change = _servicenow(request, monkeypatch)
    sync("servicenow", "cli")
    sync("jira", "cli")
    path = Path(duckdb_warehouse.duckdb_path)
    copy = path.with_name(path.name + ".lastgood")
    assert copy.exists(), "a sync that ended well keeps a last good copy"
    older = copy.read_bytes()
    # Changes loaded after that copy: ServiceNow's own dlt folder remembers them, the copy does not (as when a
    # later copy was skipped because another process held the warehouse).
    wait_a_second()
    sn_change(0)
    sync("servicenow", "cli")
    copy.write_bytes(older)
    jira_change(1)
    sn_change(2)
    wait_a_second()
    _damage(path)
    out = sync("jira", via)
    if via == "cli":
        assert "recovered: the warehouse file could not be opened (Corrupt database file" in out.stdout
    assert_parity(jira, duckdb_warehouse, JIRA_ISSUES)
    aside = sorted(path.parent.glob(path.name + ".damaged-*"))
    assert aside, "the damaged file is kept"
    # ServiceNow's next sync starts from what the restored warehouse holds, not from its own folder's cursor.
    assert (Path(duckdb_warehouse.data_dir) / "dlt" / "projectx_servicenow_duckdb.unfinished").exists()
    sync("servicenow", "cli")
    assert_parity(sn, duckdb_warehouse, SN_INCIDENTS)


def test_a_damaged_warehouse_with_no_copy_stops_the_sync_naming_the_fix(request, monkeypatch, duckdb_warehouse):
    monkeypatch.setenv("PROJECTX_DUCKDB_LAST_GOOD", "false")
    _jira(request, monkeypatch)
    sync("jira", "cli")
    path = Path(duckdb_warehouse.duckdb_path)
    assert not path.with_name(path.name + ".lastgood").exists()
    _damage(path)
    before = path.read_bytes()
    with pytest.raises(AssertionError) as failed:
        sync("jira", "cli")
    assert "no last good copy" in str(failed.value) and "move it and its .wal aside" in str(failed.value)
    assert path.read_bytes() == before


def test_two_syncs_finding_the_damage_at_once_restore_it_once(tmp_path):
    import subprocess
    import sys

    import duckdb

    from tests.ingestion_harness import ROOT

    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create table t as select range as a from range(1000)")
    path.with_name(path.name + ".lastgood").write_bytes(path.read_bytes())
    _damage(path)
    code = ("import sys; from pathlib import Path; from pipelines.common.warehouse_backup import restore_if_damaged; "
            "print(bool(restore_if_damaged(Path(sys.argv[1]))))")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(path)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
             for _ in range(2)]
    restored = [p.communicate(timeout=60)[0].strip() for p in procs]
    assert sorted(restored) == ["False", "True"], restored
    assert len(list(tmp_path.glob("warehouse.duckdb.damaged-*"))) == 1
    with duckdb.connect(str(path)) as con:
        assert con.execute("select count(*) from t").fetchone()[0] == 1000
