"""The scale-out instance's storage (resources/dagster_storage.py) on the local PostgreSQL: the template's
classes are the ones a Celery worker rebuilds from the run's instance reference, a run's worth of events
reuses a few connections instead of opening two or three per event, connections survive being killed by
the server, a forked child never shares its parent's, and instances opened step after step share one pool."""

from __future__ import annotations

import multiprocessing
import shutil
import uuid

import psycopg2
import pytest
from dagster import AssetKey, AssetMaterialization, DagsterEvent, DagsterEventType, DagsterInstance, EventLogEntry
from dagster._core.events import StepMaterializationData
from sqlalchemy import event as sa_event

from cli import scale_out
from resources import dagster_storage
from resources.dagster_storage import PooledPostgresEventLogStorage, PooledPostgresRunStorage

pytestmark = pytest.mark.postgres


def _admin(sql: str, *args) -> list[tuple]:
    with psycopg2.connect(host="127.0.0.1", user="postgres", dbname="postgres") as conn, conn.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchall() if cur.description else []


def _connections(db: str) -> int:
    return _admin("select count(*) from pg_stat_activity where datname = %s", db)[0][0]


@pytest.fixture
def instance(tmp_path, monkeypatch):
    """A Dagster instance from the scale-out template on a fresh database (dropped afterwards)."""
    db = f"projectx_test_storage_{uuid.uuid4().hex[:8]}"
    scale_out.create_database(db)
    env = scale_out.configure(tmp_path / "home", db, "unused", tmp_path / "data", apply=False)
    monkeypatch.setenv("DAGSTER_HOME", env["DAGSTER_HOME"])
    monkeypatch.setenv("DAGSTER_PG_URL", env["DAGSTER_PG_URL"])
    try:
        with DagsterInstance.get() as inst:
            yield inst, db
    finally:
        scale_out.drop_database(db)
        shutil.rmtree(tmp_path / "home", ignore_errors=True)


def _materialization(run_id: str, n: int) -> EventLogEntry:
    event = DagsterEvent(DagsterEventType.ASSET_MATERIALIZATION.value, "full_sync", step_key="step",
                         event_specific_data=StepMaterializationData(AssetMaterialization(AssetKey(["a", str(n % 7)]))))
    return EventLogEntry(error_info=None, level="debug", user_message="", run_id=run_id, timestamp=1.0 + n,
                         dagster_event=event)


def _count_connects(engine) -> list[int]:
    opened = [0]
    sa_event.listen(engine, "connect", lambda *_: opened.__setitem__(0, opened[0] + 1))
    return opened


def test_the_template_builds_pooled_storages_and_a_worker_rebuilds_the_same(instance):
    inst, _ = instance
    assert isinstance(inst.event_log_storage, PooledPostgresEventLogStorage)
    assert isinstance(inst.run_storage, PooledPostgresRunStorage)
    # A Celery task opens the instance from the run's reference: it must get the pooled classes too.
    with DagsterInstance.from_ref(inst.get_ref()) as rebuilt:
        assert isinstance(rebuilt.event_log_storage, PooledPostgresEventLogStorage)
        assert isinstance(rebuilt.run_storage, PooledPostgresRunStorage)


def test_a_runs_worth_of_events_reuses_a_few_connections(instance):
    """300 materializations (each stored with an index row and an asset row) open at most the pool's
    connections; stock dagster-postgres opened at least one per event."""
    inst, db = instance
    storage = inst.event_log_storage
    opened = _count_connects(storage._engine)
    run_id = str(uuid.uuid4())
    for n in range(300):
        storage.store_event(_materialization(run_id, n))
    assert len(storage.get_logs_for_run(run_id)) == 300
    assert 1 <= opened[0] <= dagster_storage.POOL_SIZE + dagster_storage.POOL_OVERFLOW
    assert _connections(db) <= 3 * (dagster_storage.POOL_SIZE + dagster_storage.POOL_OVERFLOW)


def test_connections_killed_by_the_server_are_replaced_not_failed(instance):
    inst, db = instance
    storage = inst.event_log_storage
    run_id = str(uuid.uuid4())
    storage.store_event(_materialization(run_id, 0))
    killed = _admin("select pg_terminate_backend(pid) from pg_stat_activity where datname = %s "
                    "and pid <> pg_backend_pid()", db)
    assert killed, "the pool held no connection to kill"
    storage.store_event(_materialization(run_id, 1))  # a dead pooled connection is pinged and replaced
    assert len(storage.get_logs_for_run(run_id)) == 2


def _child_writes(storage, run_id: str, queue) -> None:
    try:
        for n in range(20):
            storage.store_event(_materialization(run_id, 100 + n))
        queue.put("ok")
    except Exception as exc:  # reported to the parent, which fails the test with it
        queue.put(f"{type(exc).__name__}: {exc}")


def test_a_forked_child_opens_its_own_connections(instance):
    """Celery's prefork pool forks after the parent may have used the instance: the child must not
    write on the parent's sockets (interleaved protocol messages corrupt both sessions)."""
    inst, _ = instance
    storage = inst.event_log_storage
    run_id = str(uuid.uuid4())
    storage.store_event(_materialization(run_id, 0))  # the parent now holds a pooled connection
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    children = [ctx.Process(target=_child_writes, args=(storage, run_id, queue)) for _ in range(3)]
    for child in children:
        child.start()
    for n in range(1, 21):  # the parent keeps writing on its own connection meanwhile
        storage.store_event(_materialization(run_id, n))
    outcomes = [queue.get(timeout=60) for _ in children]
    for child in children:
        child.join(timeout=60)
    assert outcomes == ["ok"] * 3
    assert len(storage.get_logs_for_run(run_id)) == 21 + 3 * 20


def test_instances_opened_step_after_step_share_one_bounded_pool(instance):
    """dagster-celery opens an instance per step and never disposes it: a long-lived worker process must
    not pile up a pool per step; the next step reuses the connections."""
    inst, db = instance
    ref = inst.get_ref()
    kept = []
    for _ in range(12):
        step_instance = DagsterInstance.from_ref(ref)
        kept.append(step_instance)  # alive, as an undisposed instance may be until the collector runs
        step_instance.event_log_storage.store_event(_materialization(str(uuid.uuid4()), 0))
        step_instance.get_runs(limit=1)
    assert len({id(i.event_log_storage._engine) for i in kept}) == 1
    assert _connections(db) <= dagster_storage.POOL_SIZE + dagster_storage.POOL_OVERFLOW
