"""A DuckDB warehouse damaged inside (seen once in ~70 syncs killed while loading, DuckDB 2.0.1: a checksum
mismatch in its catalog block, after which every sync failed in a second, before any vendor request, with
DuckDB's words only): the sync, the reverse-sync command and the health page name the file's setting and
the fix, and leave the file as it is (it may be all the evidence there is)."""

from __future__ import annotations

import duckdb
import pytest

from assets.health.inputs import _duckdb_unreadable
from pipelines.common.entrypoint import damaged_duckdb, storage_hint
from tests.test_cli_round19_errors import PASSWORD, _clean, _run, _servicenow_env

CATALOG_BLOCK = 12288  # DuckDB's first block (after its file header), where a small database keeps its catalog


def _damaged_warehouse(path):
    """A real warehouse with one vendor table, its catalog block's bytes flipped (its checksum no longer holds)."""
    with duckdb.connect(str(path)) as con:
        con.execute("create schema servicenow; create table servicenow.incidents as "
                    "select range as sys_id, 'x' || range as short_description from range(1000)")
    with open(path, "r+b") as f:
        f.seek(CATALOG_BLOCK + 64)
        chunk = f.read(8)
        f.seek(CATALOG_BLOCK + 64)
        f.write(bytes(b ^ 0xFF for b in chunk))
    return path.read_bytes()


def test_a_sync_on_a_damaged_warehouse_names_the_fix_and_leaves_the_file(tmp_path):
    path = tmp_path / "damaged.duckdb"
    before = _damaged_warehouse(path)
    sync = _run(tmp_path, "pipelines.servicenow", **_servicenow_env(PROJECTX_DUCKDB_PATH=str(path)))
    out = _clean(sync, 1, "Corrupt database file", "check PROJECTX_DUCKDB_PATH", "move it and its .wal aside",
                 "restore the last backup")
    assert "Traceback" not in out
    push = _run(tmp_path, "cli", "reverse-sync", "--vendor", "jira", "--dry-run", JIRA_BASE_URL="http://127.0.0.1:1",
                JIRA_AUTH_MODE="pat", JIRA_PAT=PASSWORD, PROJECTX_DUCKDB_PATH=str(path))
    _clean(push, 1, "check PROJECTX_DUCKDB_PATH", "move it and its .wal aside")
    assert path.read_bytes() == before


@pytest.mark.parametrize("words", [
    "Corrupt database file: computed checksum 5284540841455211872 does not match stored checksum 7238768620444509764 "
    "in block at location 12288",
    "IO Error: No more data remaining in MetadataReader",
    'INTERNAL Error: Failure while replaying WAL file "/x/warehouse.duckdb.wal": Calling '
    "DatabaseManager::GetDefaultDatabase with no default database set",
    'IO Error: The file "/x/warehouse.duckdb" exists, but it is not a valid DuckDB database file!',
])
def test_what_duckdb_says_of_a_damaged_file_is_recognised_everywhere(words):
    exc = duckdb.Error(words)
    assert damaged_duckdb(exc)
    assert "PROJECTX_DUCKDB_PATH" in storage_hint(exc)
    # the health page: before, the checksum error ("block at location") read as a sync holding the lock
    assert "restore it from a backup" in str(_duckdb_unreadable(exc))


def test_a_busy_or_missing_warehouse_is_not_called_damaged():
    for words in ("IO Error: Could not set lock on file: Conflicting lock is held", "Permission denied"):
        assert not damaged_duckdb(duckdb.Error(words))
