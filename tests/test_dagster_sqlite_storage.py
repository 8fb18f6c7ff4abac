"""The embedded default's instance storage (resources/dagster_storage.py, ``PooledSqlite*``): the template
`make setup` installs builds it, it keeps Dagster's files so an instance can switch classes both ways, a
run's worth of events reuses a few connections instead of opening one per statement, the engines a
long-lived process keeps are bounded, a forked child never uses its parent's connections, an idle pooled
connection never blocks another process, and `dagster` commands find the classes from any folder."""

from __future__ import annotations

import multiprocessing
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy
from dagster import (
    AssetKey,
    AssetMaterialization,
    DagsterEvent,
    DagsterEventType,
    DagsterInstance,
    EventLogEntry,
    asset,
    materialize,
)
from dagster._core.events import StepMaterializationData
from dagster._core.storage.event_log import SqliteEventLogStorage
from sqlalchemy import event as sa_event

from resources import dagster_storage
from resources.dagster_storage import PooledSqliteEventLogStorage, PooledSqliteRunStorage, PooledSqliteScheduleStorage

ROOT = Path(__file__).resolve().parents[1]
STOCK = "telemetry:\n  enabled: false\n"


def _home(path: Path, template: bool = True) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    if template:
        shutil.copyfile(ROOT / "resources" / "dagster.yaml", path / "dagster.yaml")
    else:
        (path / "dagster.yaml").write_text(STOCK)
    return path


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("DAGSTER_HOME", str(_home(tmp_path / "home")))
    return tmp_path / "home"


def _materialization(run_id: str, n: int, key: str = "a") -> EventLogEntry:
    event = DagsterEvent(DagsterEventType.ASSET_MATERIALIZATION.value, "full_sync", step_key="step",
                         event_specific_data=StepMaterializationData(AssetMaterialization(AssetKey([key, str(n % 7)]))))
    return EventLogEntry(error_info=None, level="debug", user_message="", run_id=run_id, timestamp=1.0 + n,
                         dagster_event=event)


class _Connects:
    """Counts SQLite connections opened by any engine while active."""

    def __init__(self):
        self.count = 0

    def __call__(self, *_):
        self.count += 1

    def __enter__(self):
        sa_event.listen(sqlalchemy.engine.Engine, "connect", self)
        return self

    def __exit__(self, *_):
        sa_event.remove(sqlalchemy.engine.Engine, "connect", self)


def test_the_template_builds_pooled_storages(home):
    with DagsterInstance.get() as instance:
        assert isinstance(instance.run_storage, PooledSqliteRunStorage)
        assert isinstance(instance.event_log_storage, PooledSqliteEventLogStorage)
        assert isinstance(instance.schedule_storage, PooledSqliteScheduleStorage)
        # a run process rebuilds the instance from its reference: the same classes
        rebuilt = DagsterInstance.from_ref(instance.get_ref())
        assert isinstance(rebuilt.event_log_storage, PooledSqliteEventLogStorage)
        rebuilt.dispose()


@asset
def numbers():
    return [1, 2, 3]


def test_runs_move_between_the_stock_and_the_pooled_classes(tmp_path, monkeypatch):
    """Same files as Dagster's default storage: what one wrote, the other reads, both ways."""
    home = _home(tmp_path / "home", template=False)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with DagsterInstance.get() as stock:
        assert type(stock.event_log_storage).__name__ == "SqliteEventLogStorage"
        before = materialize([numbers], instance=stock)
    _home(home)  # switch to the template
    with DagsterInstance.get() as pooled:
        assert isinstance(pooled.event_log_storage, PooledSqliteEventLogStorage)
        assert pooled.get_run_by_id(before.run_id).is_success
        assert pooled.get_latest_materialization_event(AssetKey("numbers")).run_id == before.run_id
        after = materialize([numbers], instance=pooled)
    (home / "dagster.yaml").write_text(STOCK)  # and back
    with DagsterInstance.get() as stock:
        assert stock.get_run_by_id(after.run_id).is_success
        assert stock.get_latest_materialization_event(AssetKey("numbers")).run_id == after.run_id
        assert len(stock.get_runs()) == 2


def test_a_runs_worth_of_events_reuses_a_few_connections(tmp_path, home):
    """Dagster's classes open a connection per statement (hundreds here); these open a handful."""
    stock = SqliteEventLogStorage(str(tmp_path / "stock"))
    pooled = PooledSqliteEventLogStorage(str(tmp_path / "pooled"))
    counts = {}
    for name, storage in (("stock", stock), ("pooled", pooled)):
        with _Connects() as opened:
            for n in range(200):
                storage.store_event(_materialization("run-1", n))
        counts[name] = opened.count
        assert len(storage.get_logs_for_run("run-1")) == 200
        assert storage.get_latest_materialization_events([AssetKey(["a", "3"])])[AssetKey(["a", "3"])] is not None
    assert counts["stock"] >= 400 and counts["pooled"] <= 4, counts
    pooled.dispose()


def test_engines_kept_by_a_long_lived_process_are_bounded(tmp_path):
    storage = PooledSqliteEventLogStorage(str(tmp_path / "events"))
    for r in range(3 * dagster_storage.SQLITE_ENGINES_KEPT):
        storage.store_event(_materialization(f"run-{r}", r))
    assert len(storage._engines) <= dagster_storage.SQLITE_ENGINES_KEPT
    # an evicted run's shard opens again when asked for
    for r in range(3 * dagster_storage.SQLITE_ENGINES_KEPT):
        assert len(storage.get_logs_for_run(f"run-{r}")) == 1
    storage.dispose()
    assert len(storage._engines) == 0


def _child_writes(base_dir: str, storage_holder: list, out) -> None:
    storage = storage_holder[0]
    try:
        storage.store_event(_materialization("child-run", 1))
        out.put(("ok", len(storage.get_logs_for_run("child-run")), len(storage._engines)))
    except Exception as exc:  # reported to the parent, which fails the test
        out.put(("error", repr(exc), 0))


def test_a_forked_child_opens_its_own_connections(tmp_path):
    storage = PooledSqliteEventLogStorage(str(tmp_path / "events"))
    storage.store_event(_materialization("parent-run", 1))  # the parent holds pooled connections
    parent_engines = dict(storage._engines._engines)
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    child = ctx.Process(target=_child_writes, args=(str(tmp_path / "events"), [storage], out))
    child.start()
    status, logs, engines = out.get(timeout=60)
    child.join(30)
    assert (status, logs) == ("ok", 1), logs
    assert engines <= 2  # the child built its own (index + its run), it did not reuse the parent's
    # the parent's pooled connections were neither closed nor used by the child: they still work
    assert dict(storage._engines._engines) == parent_engines
    storage.store_event(_materialization("parent-run", 2))
    assert len(storage.get_logs_for_run("parent-run")) == 2
    assert len(storage.get_logs_for_run("child-run")) == 1
    storage.dispose()


def test_an_idle_pooled_connection_never_blocks_another_process(tmp_path):
    """A connection back in the pool holds no transaction: another process writes the index at once."""
    storage = PooledSqliteEventLogStorage(str(tmp_path / "events"))
    for n in range(5):
        storage.store_event(_materialization("run-1", n))
        storage.get_logs_for_run("run-1")  # reads leave no snapshot behind either
    script = ("import sqlite3, sys; c = sqlite3.connect(sys.argv[1], timeout=0); "
              "c.execute('begin immediate'); c.execute('delete from event_logs where id < 0'); c.commit(); "
              "c.execute('pragma wal_checkpoint(truncate)').fetchone(); print('written')")
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path / "events" / "index.db")],
                          capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "written", done.stderr  # timeout=0: any lock held would fail at once
    with sqlite3.connect(tmp_path / "events" / "index.db") as con:  # the checkpoint emptied the WAL
        assert con.execute("pragma wal_checkpoint(passive)").fetchone()[0] == 0
    storage.dispose()


def test_wipe_leaves_no_connection_to_deleted_files(home):
    with DagsterInstance.get() as instance:
        storage = instance.event_log_storage
        storage.store_event(_materialization("old-run", 1))
        instance.wipe()
        assert storage.get_logs_for_run("old-run") == []
        storage.store_event(_materialization("old-run", 2))  # a new file, not the unlinked one
        assert (home / "history" / "runs" / "old-run.db").exists()
        assert len(storage.get_logs_for_run("old-run")) == 1


def test_dagster_commands_find_the_classes_from_any_folder(home, tmp_path):
    """The editable install puts the repo root on the path: no PYTHONPATH, started outside the repo."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run(["uv", "run", "--frozen", "--project", str(ROOT), "dagster", "instance", "info"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "PooledSqliteEventLogStorage" in done.stdout


def test_a_missing_dagster_home_names_the_fix(monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    with pytest.raises(RuntimeError, match="export DAGSTER_HOME"):
        PooledSqliteEventLogStorage.from_config_value(None, {})


def test_many_threads_at_once_are_not_capped_by_the_pool(home):
    """The webserver reads from many threads: beyond the two kept connections each gets its own."""
    from concurrent.futures import ThreadPoolExecutor

    with DagsterInstance.get() as instance:
        materialize([numbers], instance=instance)
        storage = instance.run_storage
        held = []

        def hold_and_read(_):
            with storage.connect() as conn:  # all 16 connections are checked out at the same time
                held.append(conn)
                while len(held) < 16:
                    time.sleep(0.01)
                return conn.exec_driver_sql("select count(*) from runs").scalar()

        with ThreadPoolExecutor(16) as pool:
            assert list(pool.map(hold_and_read, range(16), timeout=60)) == [1] * 16
