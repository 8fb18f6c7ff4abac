"""The scale-out profile for real: Celery workers on the local RabbitMQ, the Dagster instance and the
warehouse on PostgreSQL. full_sync on two workers gives the marts and vendor writes of the embedded
default; a worker killed mid-step hands its step to another worker, and re-execution from a failure
(when a run does fail) ends in the same state with no duplicate vendor record."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid

import duckdb
import psycopg2
import pytest
from dagster import DagsterInstance

from cli import scale_out
from cli.scale_demo import worker_spec
from pipelines.common.warehouse import REPO_ROOT
from resources.scale_out import op_tags, pool, queue_name
from tests.conftest import jira_env, onetrust_env, sandbox_env

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

CONTROLS = "select control_id, status, count(*) from marts.control_results group by 1, 2 order by 1, 2"
TASKS = "select task_type, priority, queue, count(*) from marts.tasks group by 1, 2, 3 order by 1, 2, 3"
LINKS = "select count(*), count(distinct vendor_id) from reverse_sync.external_links where vendor = 'servicenow'"


def test_the_profile_is_configuration_only(monkeypatch):
    """DuckDB keeps one writer pool and runs in process; PostgreSQL splits pools per vendor and class."""
    monkeypatch.setenv("PROJECTX_WAREHOUSE", "duckdb")
    monkeypatch.delenv("PROJECTX_EXECUTOR", raising=False)
    assert {pool("ingestion", "jira"), pool("dbt"), pool("reverse_sync", "servicenow")} == {"warehouse"}
    monkeypatch.setenv("PROJECTX_EXECUTOR", "celery")
    with pytest.raises(ValueError, match="PROJECTX_WAREHOUSE=postgres"):
        scale_out_executor()
    monkeypatch.setenv("PROJECTX_WAREHOUSE", "postgres")
    assert (pool("ingestion", "jira"), pool("dbt"), pool("reverse_sync", "servicenow")) == (
        "ingest_jira", "dbt", "reverse_sync_servicenow")
    assert scale_out_executor().name == "celery"
    monkeypatch.setenv("PROJECTX_CELERY_QUEUE_PREFIX", "acme-")
    assert op_tags("dbt") == {"dagster-celery/queue": "acme-dbt"}
    # Vendor syncs and pushes are submitted ahead of the short steps that become ready with them.
    assert op_tags("ingestion") == {"dagster-celery/queue": "acme-ingestion", "dagster-celery/priority": "6"}
    assert op_tags("reverse_sync")["dagster-celery/priority"] == "6" and "dagster-celery/priority" not in op_tags("dbt")
    assert [q for _, qs in worker_spec(3) for q in qs].count("ingestion") == 2
    # A fourth worker serves reverse sync beside the transform worker: three pushes start at once.
    assert [name for name, qs in worker_spec(4) if "reverse_sync" in qs] == ["transform", "push"]


def test_the_worker_app_loads_the_definitions_before_its_pool_forks():
    """``-A cli.celery_app``: dagster-celery's tasks, with the code location imported in the main
    process, so a fresh worker's first step does not pay the import (~6-10 s)."""
    probe = ("import sys; import cli.celery_app as a; from dagster_celery.config import TASK_EXECUTE_PLAN_NAME; "
             "print(TASK_EXECUTE_PLAN_NAME in a.app.tasks, 'definitions' in sys.modules, 'dagster_dbt' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert done.stdout.split() == ["True", "True", "True"], done.stderr[-2000:]


def scale_out_executor():
    from resources.scale_out import executor

    return executor()


def _pg(db: str, sql: str) -> list[tuple]:
    with psycopg2.connect(host="127.0.0.1", user="postgres", dbname=db) as conn, conn.cursor() as cur:
        cur.execute(sql)
        return [tuple(r) for r in cur.fetchall()]


def _duck(path: str, sql: str) -> list[tuple]:
    with duckdb.connect(path, read_only=True) as con:
        return [tuple(r) for r in con.execute(sql).fetchall()]


@pytest.fixture
def scale_profile(tmp_path, monkeypatch):
    """Fresh PostgreSQL databases for the instance and the warehouse, the profile's env, a broker check."""
    tag = uuid.uuid4().hex[:8]
    instance_db, warehouse_db = f"projectx_test_dagster_{tag}", f"projectx_test_wh_{tag}"
    scale_out.check_broker(scale_out.DEFAULT_BROKER)
    for db in (instance_db, warehouse_db):
        scale_out.create_database(db)
    env = scale_out.configure(tmp_path / "dagster_home", instance_db, warehouse_db, tmp_path / "data", apply=False)
    # The workers' dbt builds keep their parse here, not in the checkout's target/ (where the next
    # `make demo` would find a PostgreSQL parse and parse the whole project again).
    env["DBT_TARGET_PATH"] = str(tmp_path / "dbt_target")
    yield env, warehouse_db
    for db in (instance_db, warehouse_db):
        scale_out.drop_database(db)


def test_four_workers_start_side_by_side_on_new_databases(scale_profile, monkeypatch):
    """Workers that start together on a new instance database and data directory all come up: the
    instance's tables exist before they start, and the dlt pipelines each one builds while loading the
    definitions are opened one process at a time (before, one worker in a few exited at start with
    ``relation "instance_info" already exists`` or ``Directory not empty``)."""
    env, _ = scale_profile
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with scale_out.workers(worker_spec(4)) as started:
        assert all(w.process.poll() is None for w in started)
    assert _pg(env["DAGSTER_PG_URL"].rsplit("/", 1)[1], "select count(*) from instance_info")[0][0] >= 0


def _embedded_reference(vendors, tmp_path, monkeypatch) -> tuple[list, list, int]:
    """What the embedded default (DuckDB, in process) makes of the same seeded vendors."""
    from tests.test_end_to_end import _run_full_sync

    sn, _, _ = vendors(size=300)
    monkeypatch.setenv("PROJECTX_WAREHOUSE", "duckdb")
    monkeypatch.setenv("PROJECTX_DUCKDB_PATH", str(tmp_path / "ref.duckdb"))
    monkeypatch.setenv("PROJECTX_DATA_DIR", str(tmp_path / "ref_data"))
    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path / "ref_dbt_target"))
    monkeypatch.delenv("PROJECTX_EXECUTOR", raising=False)
    _run_full_sync()
    path = str(tmp_path / "ref.duckdb")
    return _duck(path, CONTROLS), _duck(path, TASKS), len(sn.records("x_pjx_grc_remediation_task"))


def _wait_for_step_on(instance, run_id: str, step: str, timeout: float = 600) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        worker = scale_out.steps_by_worker(instance, run_id).get(step)
        if worker:
            return worker
        time.sleep(0.5)
    raise AssertionError(f"step {step} never started on a worker")


@pytest.mark.timeout(2400)
def test_full_sync_on_two_celery_workers_matches_the_embedded_default_and_survives_a_killed_worker(
        vendors, make_servicenow_sandbox, make_jira_sandbox, make_onetrust_sandbox, scale_profile, tmp_path,
        monkeypatch):
    ref_controls, ref_tasks, ref_vendor_tasks = _embedded_reference(vendors, tmp_path, monkeypatch)
    assert ref_vendor_tasks > 0

    env, warehouse_db = scale_profile
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    sn = make_servicenow_sandbox(size=300)
    jira = make_jira_sandbox(size=75)
    ot = make_onetrust_sandbox(size=30)
    sandbox_env(monkeypatch, sn)
    jira_env(monkeypatch, jira)
    onetrust_env(monkeypatch, ot)

    import threading

    with scale_out.workers(scale_out.TWO_WORKERS) as started, DagsterInstance.get() as instance:
        # As the profile starts runs: its launcher hands the run to the run worker (a Celery task).
        first_run, success = scale_out.run_on_worker()
        assert success, scale_out.step_failures(instance, first_run)
        assert instance.get_run_by_id(first_run).tags.get("dagster-celery/task_id")
        ran_on = scale_out.steps_by_worker(instance, first_run)
        # Each workload class ran on the worker of its queue.
        assert ran_on["projectx_dbt_models"] == "transform"
        assert ran_on["servicenow_ingest"] == ran_on["jira_ingest"] == ran_on["onetrust_ingest"] == "ingestion"
        assert _pg(warehouse_db, CONTROLS) == ref_controls
        assert _pg(warehouse_db, TASKS) == ref_tasks
        assert len(sn.records("x_pjx_grc_remediation_task")) == ref_vendor_tasks

        # A second cycle, with the transform worker killed while it builds dbt: its step goes back to the
        # broker (acks late) and a restarted worker finishes it, or the run fails and is re-executed.
        box: dict[str, tuple[str, bool]] = {}
        thread = threading.Thread(target=lambda: box.setdefault("r", scale_out.run_in_subprocess()))
        thread.start()
        deadline = time.monotonic() + 600
        run_id = None
        while run_id is None and time.monotonic() < deadline:
            runs = [r for r in instance.get_runs(limit=5) if r.run_id != first_run]
            run_id = runs[0].run_id if runs else None
            time.sleep(0.5)
        assert _wait_for_step_on(instance, run_id, "projectx_dbt_models") == "transform"
        time.sleep(3)  # inside dbt
        next(w for w in started if w.name == "transform").kill()
        started.append(scale_out.start_worker("transform-2", ("dbt", "reverse_sync", "default")))
        thread.join(timeout=1200)
        assert not thread.is_alive(), "the run did not finish after its worker was replaced"
        second_run, success = box["r"]
        if not success:  # the run failed cleanly: re-execute from the failure, as an operator would
            second_run, success = scale_out.run_in_subprocess(reexecute_from=second_run)
        assert success, scale_out.step_failures(instance, second_run)
        assert scale_out.steps_by_worker(instance, second_run)["projectx_dbt_models"] in {"transform", "transform-2"}
    assert _pg(warehouse_db, CONTROLS) == ref_controls
    links, distinct = _pg(warehouse_db, LINKS)[0]
    assert links == distinct == ref_vendor_tasks
    assert len(sn.records("x_pjx_grc_remediation_task")) == ref_vendor_tasks  # no duplicate vendor record


def test_the_run_launcher_follows_the_executors_settings(monkeypatch):
    """The profile's run launcher (resources/dagster_scale_out.yaml) takes broker, backend and the prefixed
    `runs` queue from the settings the executor reads, unless dagster.yaml sets them."""
    from resources.dagster_launcher import ProjectCeleryRunLauncher
    from resources.scale_out import BACKEND_ENV, BROKER_ENV, QUEUE_PREFIX_ENV

    monkeypatch.setenv(QUEUE_PREFIX_ENV, "team-a-")
    monkeypatch.setenv(BROKER_ENV, "pyamqp://guest:guest@broker.internal:5672//")
    monkeypatch.delenv(BACKEND_ENV, raising=False)
    launcher = ProjectCeleryRunLauncher.from_config_value(None, {"default_queue": None})
    assert (launcher.default_queue, launcher.broker, launcher.backend) == (
        "team-a-runs", "pyamqp://guest:guest@broker.internal:5672//", "rpc://")
    assert ProjectCeleryRunLauncher.from_config_value(None, {"default_queue": "runs-eu"}).default_queue == "runs-eu"
    assert "resources.dagster_launcher" in (REPO_ROOT / "resources" / "dagster_scale_out.yaml").read_text()
    # Health is asked of the workers over the broker, not of rpc:// (which answers only the sender).
    assert launcher.supports_check_run_worker_health is True


def test_the_run_worker_acks_a_run_when_it_starts_it_and_step_workers_after_the_step(tmp_path):
    """A run task redelivered after its worker died would only meet Dagster's duplicate-run guard (and a
    long run held unacked reaches RabbitMQ's consumer timeout); a step is handed to another worker."""
    import yaml

    from cli.scale_out import _worker_yaml

    run = yaml.safe_load(_worker_yaml(tmp_path, runs=True).read_text())["execution"]["config"]["config_source"]
    step = yaml.safe_load(_worker_yaml(tmp_path).read_text())["execution"]["config"]["config_source"]
    assert (run["task_acks_late"], run["task_reject_on_worker_lost"]) == (False, False)
    assert (step["task_acks_late"], step["task_reject_on_worker_lost"]) == (True, True)


def test_a_run_whose_run_worker_dies_is_failed_by_the_run_monitor_not_after_six_hours(scale_profile, monkeypatch):
    """The daemon's run monitor (Dagster's own ``monitor_started_run``) asks the launcher about a started
    run: held by the run worker, it is running; with that worker SIGKILLed (a lost machine), the run is
    failed on the second check in a row, with a message naming the re-execution, instead of holding its
    vendors' one-live-sync slots until max_runtime (6 h). A run started without the launcher is left alone."""
    import logging

    from dagster import DagsterRunStatus
    from dagster._core.launcher import WorkerStatus
    from dagster._daemon.monitoring.run_monitoring import monitor_started_run

    env, _ = scale_profile
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    scale_out.prepare_instance()
    # Only the run worker: the run plans, hands its first steps to the ingestion queue (no worker
    # takes them) and waits on them, STARTED, as a run does while its steps run.
    worker = scale_out.start_worker(scale_out.RUN_WORKER, ("runs",), scale_out.RUN_SLOTS)
    queues = {queue_name(q) for q in ("runs", "ingestion", "dbt", "reverse_sync", "default")}
    try:
        scale_out.wait_for_workers([worker])
        with DagsterInstance.get() as instance:
            launcher = instance.run_launcher
            run_id = scale_out.launch_full_sync(instance)
            deadline = time.monotonic() + 120
            while instance.get_run_by_id(run_id).status != DagsterRunStatus.STARTED:
                assert time.monotonic() < deadline, "the run never started on the run worker"
                time.sleep(0.2)
            run = instance.get_run_by_id(run_id)
            held = launcher.check_run_worker_health(run)
            assert held.status == WorkerStatus.RUNNING and "runs@" in held.msg
            monitor_started_run(instance, None, instance.get_run_record_by_id(run_id), logging.getLogger())
            assert instance.get_run_by_id(run_id).status == DagsterRunStatus.STARTED

            worker.kill()
            # One miss is not enough (a worker too busy to answer in time), the second fails the run.
            monitor_started_run(instance, None, instance.get_run_record_by_id(run_id), logging.getLogger())
            assert instance.get_run_by_id(run_id).status == DagsterRunStatus.STARTED
            monitor_started_run(instance, None, instance.get_run_record_by_id(run_id), logging.getLogger())
            assert instance.get_run_by_id(run_id).status == DagsterRunStatus.FAILURE
            events = [e.message or "" for e in instance.all_logs(run_id)]
            assert any("no Celery worker" in m and "Re-execute the run from its failure" in m for m in events)

            # A started run the launcher did not start (no Celery task id) is not judged by it.
            other = instance.create_run_for_job(job_def=scale_out.full_sync_job(), tags=scale_out.live_sync_tags())
            assert launcher.check_run_worker_health(other).status == WorkerStatus.RUNNING
    finally:
        worker.kill()
        scale_out.delete_queues(queues)
