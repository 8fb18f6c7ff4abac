"""The suite's one DuckDB path per worker (``tests/conftest.py``): a connection the previous test left to the
garbage collector would, on closing during the next test, delete that test's WAL by name and lose its commits.
``fresh_duckdb`` closes such connections first, and fails loudly on one still referenced."""

from __future__ import annotations

import os
import subprocess
import sys

import duckdb
import pytest

from tests.conftest import _held_by_this_process, _release_old_warehouse


def _checkpointless_commit(path) -> None:
    """Another process commits a row and dies before any checkpoint: the row lives only in the WAL."""
    subprocess.run([sys.executable, "-c", f"""
import duckdb, os
c = duckdb.connect({str(path)!r})
c.execute("create table t(a int); insert into t values (1)")
c.execute("checkpoint")
c.execute("insert into t values (2)")
os._exit(0)
"""], check=True)


def test_an_old_connection_closing_late_deletes_the_new_warehouse_wal(tmp_path):
    # Why the guard exists, shown with DuckDB itself.
    path = tmp_path / "warehouse.duckdb"
    old = duckdb.connect(str(path))
    old.execute("create table o(a int); insert into o values (1)")
    path.unlink()
    path.with_name(path.name + ".wal").unlink(missing_ok=True)
    _checkpointless_commit(path)
    old.close()  # what the garbage collector would do, any time later
    with duckdb.connect(str(path)) as new:
        assert new.execute("select count(*) from t").fetchone()[0] == 1  # the WAL's row is gone


def test_the_guard_closes_a_collectable_connection_before_the_next_warehouse(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    cycle: dict = {"con": duckdb.connect(str(path))}
    cycle["self"] = cycle  # only the cycle collector frees it
    cycle["con"].execute("create table o(a int)")
    del cycle
    assert _held_by_this_process(path)
    _release_old_warehouse(path)
    assert not _held_by_this_process(path)
    os.unlink(path)
    _checkpointless_commit(path)
    with duckdb.connect(str(path)) as new:
        assert new.execute("select count(*) from t").fetchone()[0] == 2


def test_the_guard_fails_loudly_on_a_connection_still_referenced(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(path))
    try:
        with pytest.raises(AssertionError, match="still holds the previous warehouse open"):
            _release_old_warehouse(path)
    finally:
        con.close()
    assert not _held_by_this_process(path)
