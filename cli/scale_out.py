"""The scale-out profile, run for real on this machine: Celery workers on RabbitMQ, the Dagster
instance and the warehouse on PostgreSQL. Used by ``python -m cli scale-demo`` (``make scale-demo``),
its CI test and ``benchmarks/bench_scale_out.py``.

A worker is the documented command (README, "Scale-out"), started here as a subprocess::

    dagster-celery worker start -A cli.celery_app -y <worker.yaml> -q ingestion -n ingestion-1 -- -c 3
    dagster-celery worker start -A cli.celery_app -y <worker.yaml> -q dbt,reverse_sync,default -n transform-1 -- -c 3

Each run gets its own queue prefix, so tasks left on the broker by an earlier, killed run are never
picked up by this one's workers.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from pipelines.common.warehouse import REPO_ROOT
from resources.scale_out import BROKER_ENV, DEFAULT_BROKER, EXECUTOR_ENV, QUEUE_PREFIX_ENV, queue_name

INSTANCE_TEMPLATE = REPO_ROOT / "resources" / "dagster_scale_out.yaml"
# Two workers: slow vendor I/O on its own worker, dbt, reverse sync and short steps on the other.
TWO_WORKERS = (("ingestion", ("ingestion",)), ("transform", ("dbt", "reverse_sync", "default")))
# The run worker: each run's own process (planning, submitting its steps, waiting for them) is a task on
# its `runs` queue and holds one of its slots for the run's length (resources/dagster_launcher.py).
RUN_WORKER = "runs"
RUN_SLOTS = 4


def _pg_admin():
    import psycopg2

    from pipelines.common.warehouse import WarehouseSettings

    c = WarehouseSettings.from_env().pg_credentials()
    try:
        conn = psycopg2.connect(host=c["host"], port=c["port"], user=c["username"], password=c["password"],
                                dbname="postgres", connect_timeout=5)
    except psycopg2.OperationalError as exc:
        raise SystemExit(f"PostgreSQL at {c['host']}:{c['port']} refused the connection ({str(exc).strip()}): "
                         "start it (`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`) "
                         "or point PGHOST/PGPORT/PGUSER at one") from None
    conn.autocommit = True
    return conn


def create_database(name: str, reset: bool = False) -> None:
    admin = _pg_admin()
    try:
        cur = admin.cursor()
        if reset:
            cur.execute(f'drop database if exists "{name}" with (force)')
        cur.execute("select 1 from pg_database where datname = %s", (name,))
        if not cur.fetchone():
            cur.execute(f'create database "{name}"')
    finally:
        admin.close()


def drop_database(name: str) -> None:
    admin = _pg_admin()
    try:
        admin.cursor().execute(f'drop database if exists "{name}" with (force)')
    finally:
        admin.close()


def check_broker(url: str) -> None:
    from kombu import Connection

    try:
        with Connection(url, connect_timeout=5) as conn:
            conn.ensure_connection(max_retries=1)
    except Exception as exc:
        host = url.rsplit("@", 1)[-1]
        raise SystemExit(f"RabbitMQ at {host} is not reachable ({type(exc).__name__}): start it "
                         f"(`rabbitmq-server -detached`) or set {BROKER_ENV}") from None


def configure(dagster_home: Path, instance_db: str, warehouse_db: str, data_dir: Path,
              apply: bool = True) -> dict[str, str]:
    """Environment of the scale-out profile; ``apply`` sets it in this process (workers inherit it)."""
    dagster_home.mkdir(parents=True, exist_ok=True)
    (dagster_home / "dagster.yaml").write_text(INSTANCE_TEMPLATE.read_text())
    env = {
        "PROJECTX_WAREHOUSE": "postgres", EXECUTOR_ENV: "celery", "PGDATABASE": warehouse_db,
        "PGHOST": os.environ.get("PGHOST", "127.0.0.1"), "PGUSER": os.environ.get("PGUSER", "postgres"),
        "DAGSTER_HOME": str(dagster_home), "PROJECTX_DATA_DIR": str(data_dir),
        "DAGSTER_PG_URL": f"postgresql+psycopg2://{os.environ.get('PGUSER', 'postgres')}@"
                          f"{os.environ.get('PGHOST', '127.0.0.1')}:{os.environ.get('PGPORT', '5432')}/{instance_db}",
        QUEUE_PREFIX_ENV: f"projectx-{uuid.uuid4().hex[:8]}-",
        BROKER_ENV: os.environ.get(BROKER_ENV, DEFAULT_BROKER),
    }
    if apply:
        os.environ.update(env)
    return env


@dataclass
class Worker:
    name: str
    queues: tuple[str, ...]
    process: subprocess.Popen

    def kill(self) -> None:
        """SIGKILL the worker and its pool: what a lost machine looks like to the broker."""
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)


def _worker_yaml(home: Path, runs: bool = False) -> Path:
    """The worker's executor config: same broker, one task prefetched at a time. A step worker acks after
    the step (a step whose worker dies is handed to another worker instead of being lost). The run worker
    acks a run when it starts it: redelivered, a run task only meets Dagster's "duplicate run" guard and
    ends as if it succeeded, and held unacked for a long run it would reach RabbitMQ's consumer timeout
    (30 min) and be redelivered anyway. A run whose run worker dies is re-executed from its failure."""
    path = home / ("celery_run_worker.yaml" if runs else "celery_worker.yaml")
    late = "false" if runs else "true"
    path.write_text(
        "execution:\n  config:\n"
        f"    broker: {{env: {BROKER_ENV}}}\n"
        "    backend: rpc://\n"
        "    config_source:\n"
        f"      task_acks_late: {late}\n"
        f"      task_reject_on_worker_lost: {late}\n"
        "      worker_prefetch_multiplier: 1\n"
    )
    return path


# Steps a worker runs at once: three, so the three vendors' syncs (or their pushes) can all run on one
# worker. They spend their time waiting on the vendors, not on the cores; on two slots the third vendor's
# sync waited 7 s for one (bench_scale_out.py, 1 and 2 workers). dbt builds one at a time (its pool).
WORKER_SLOTS = 3


def start_worker(name: str, workloads: Sequence[str], concurrency: int = WORKER_SLOTS,
                 log_dir: Path | None = None) -> Worker:
    home = Path(os.environ["DAGSTER_HOME"])
    queues = tuple(queue_name(w) for w in workloads)
    cmd = [sys.executable, "-m", "dagster_celery.cli", "worker", "start", "-A", "cli.celery_app",
           "-y", str(_worker_yaml(home, runs=workloads == ("runs",))), "-n", f"{name}", "-l", "WARNING",
           # One comma-separated -q: the wrapper turns each -q into a -Q, and Celery keeps only the last -Q.
           "-q", ",".join(queues),
           "--", "-c", str(concurrency), "--without-gossip", "--without-mingle", "--without-heartbeat"]
    log = open((log_dir or home) / f"worker-{name}.log", "ab")  # noqa: SIM115 - closed with the process
    # dagster-celery execs `celery` by name: find the one beside this interpreter even when the venv is
    # not activated (`.venv/bin/python ...` rather than `uv run`).
    env = {**os.environ, "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])}
    proc = subprocess.Popen(cmd, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                            env=env)
    return Worker(name, queues, proc)


def wait_for_workers(workers: Sequence[Worker], timeout: float = 90) -> None:
    """Until every worker answers a ping on the broker (a started process is not yet a consumer)."""
    from celery import Celery

    app = Celery(broker=os.environ[BROKER_ENV])
    wanted = {w.name for w in workers}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for w in workers:
            if w.process.poll() is not None:
                log = Path(os.environ["DAGSTER_HOME"]) / f"worker-{w.name}.log"
                raise RuntimeError(f"celery worker {w.name} exited with {w.process.returncode}; the end of its "
                                   f"log ({log}):\n{_last_error(log)}")
        replies = app.control.ping(timeout=1.0) or []
        seen = {name.split("@", 1)[0] for reply in replies for name in reply}
        if wanted <= seen:
            return
    raise RuntimeError(f"celery workers {sorted(wanted)} did not answer within {timeout:.0f} s")


def _last_error(log: Path, lines: int = 12) -> str:
    """The lines of a worker's log that say why it stopped: its last traceback's frames in this project
    and its error lines (Celery's start-up banner and the interpreter's carets left out)."""
    try:
        text = log.read_text(errors="replace").splitlines()
    except OSError as exc:
        return f"(log unreadable: {exc})"
    wanted = [line for line in text if line.strip() and not set(line.strip()) <= {"^", "~"}
              and (not line.startswith(" ") or str(REPO_ROOT) in line)]
    return "\n".join(wanted[-lines:])


def prepare_instance() -> None:
    """Create the Dagster instance's tables before any worker starts: workers that open a new instance
    database side by side each try to create them, and all but one fail (``relation "instance_info"
    already exists``). ``dagster instance migrate`` does the same for a deployment."""
    from dagster import DagsterInstance

    with DagsterInstance.get():
        pass


@contextmanager
def workers(spec: Sequence[tuple[str, Sequence[str]]], concurrency: int = WORKER_SLOTS) -> Iterator[list[Worker]]:
    """The step workers of ``spec`` plus the run worker (``runs``, :data:`RUN_SLOTS` runs at once), which
    the profile's run launcher sends each run to (resources/dagster_launcher.py)."""
    prepare_instance()
    started = [start_worker(name, queues, concurrency) for name, queues in spec]
    started.append(start_worker(RUN_WORKER, ("runs",), RUN_SLOTS))
    try:
        wait_for_workers(started)
        yield started
    finally:
        for w in started:
            w.kill()
        delete_queues({q for w in started for q in w.queues})


def delete_queues(names: set[str]) -> None:
    """Remove this run's queues from the broker (each run has its own prefix; nothing else uses them)."""
    from kombu import Connection

    with Connection(os.environ[BROKER_ENV], connect_timeout=5) as conn:
        channel = conn.channel()
        for name in names:
            try:
                channel.queue_delete(name)
            except Exception:  # already gone (never declared, or deleted with its last consumer)
                channel = conn.channel()


def full_sync_job():
    """The job as the workers rebuild it (a module-level function: ``reconstructable`` needs one): the
    code location's own definitions (``definitions.defs``), which a worker resolved before forking its
    pool (``cli/celery_app.py``). Building the definitions anew here cost each pool process 1-1.3 s
    of CPU on its first step, on the critical path of every run whose steps reached a fresh process."""
    import definitions

    return definitions.defs.resolve_job_def("full_sync")


def live_sync_tags() -> dict[str, str]:
    from assets.ingestion import LIVE_SYNC_TAG, current_partition_key

    return {"dagster/partition": current_partition_key(), LIVE_SYNC_TAG: "true"}


def execute_full_sync(instance, tags: dict[str, str] | None = None, reexecute_from: str | None = None):
    """Run full_sync with the configured executor; returns the result. ``tags``: the partition(s),
    default today's (the live sync); ``reexecute_from``: a failed run to re-execute from its failure."""
    from dagster import ReexecutionOptions, execute_job, reconstructable

    options = ReexecutionOptions.from_failure(reexecute_from, instance) if reexecute_from else None
    return execute_job(reconstructable(full_sync_job), instance=instance, raise_on_error=False,
                       tags=None if options else (tags or live_sync_tags()), reexecution_options=options)


def launch_full_sync(instance, tags: dict[str, str] | None = None) -> str:
    """Create a full_sync run and hand it to the instance's run launcher (on the scale-out profile, the
    run worker), as the daemon does with a queued run once the run queue's limits let it start; returns
    the run id. The caller's process only creates the run: it plans and executes nowhere here."""
    from dagster import reconstructable

    recon = reconstructable(full_sync_job)
    run = instance.create_run_for_job(job_def=recon.get_definition(), tags=tags or live_sync_tags(),
                                      job_code_origin=recon.get_python_origin())
    instance.launch_run(run.run_id, workspace=None)  # type: ignore[arg-type] - the Celery launcher needs none
    return run.run_id


def wait_for_run(instance, run_id: str, timeout: float = 1800, poll: float = 0.2) -> bool:
    """Until the run ends; True when it succeeded. The run's task is watched too (this process sent it,
    so the rpc:// backend answers here): a task that failed before the run could record its own failure
    (a worker without the run's settings) ends the wait with False at once. A run whose run worker died
    stays STARTED until the daemon's run monitor fails it (resources/dagster_launcher.py), and no daemon
    runs here: after ``timeout`` seconds this raises, naming the run worker."""
    from dagster import DagsterRunStatus

    ended = {DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = instance.get_run_by_id(run_id)
        if run is not None and run.status in ended:
            return run.status == DagsterRunStatus.SUCCESS
        task_id = run.tags.get("dagster-celery/task_id") if run is not None else None
        celery = getattr(instance.run_launcher, "celery", None)  # the Celery launcher's app; None elsewhere
        if task_id and celery is not None and celery.AsyncResult(task_id).state == "FAILURE":
            run = instance.get_run_by_id(run_id)
            return run is not None and run.status == DagsterRunStatus.SUCCESS
        time.sleep(poll)
    raise TimeoutError(f"run {run_id} did not end within {timeout:.0f} s: is the run worker (queue "
                       f"{queue_name('runs')}) up? Its log is worker-{RUN_WORKER}.log in DAGSTER_HOME")


def run_on_worker(tags: dict[str, str] | None = None, timeout: float = 1800) -> tuple[str, bool]:
    """full_sync launched onto the run worker (the profile's launcher); (run id, success)."""
    from dagster import DagsterInstance

    with DagsterInstance.get() as instance:
        run_id = launch_full_sync(instance, tags)
        return run_id, wait_for_run(instance, run_id, timeout)


def run_in_subprocess(tags: dict[str, str] | None = None, reexecute_from: str | None = None,
                      timeout: float = 1800) -> tuple[str, bool]:
    """``execute_full_sync`` in a fresh process, as a run launcher would: the definitions (queues and pools
    included) are loaded from this environment, not from whatever this process imported earlier.
    Returns (run id, success)."""
    cmd = [sys.executable, "-m", "cli.scale_out", "--tags", json.dumps(tags or {})]
    if reexecute_from:
        cmd += ["--reexecute-from", reexecute_from]
    done = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise RuntimeError(f"full_sync did not start (exit {done.returncode}): {done.stderr[-2000:]}")
    outcome = json.loads(lines[-1])
    return outcome["run_id"], outcome["success"]


def main(argv: list[str] | None = None) -> int:
    import argparse

    from dagster import DagsterInstance

    parser = argparse.ArgumentParser(description="Run full_sync once on the configured executor.")
    parser.add_argument("--tags", default="{}", help="run tags as JSON (default: today's partition)")
    parser.add_argument("--reexecute-from", default=None, help="a failed run id to re-execute from its failure")
    args = parser.parse_args(argv)
    with DagsterInstance.get() as instance:
        result = execute_full_sync(instance, tags=json.loads(args.tags) or None, reexecute_from=args.reexecute_from)
    print(json.dumps({"run_id": result.run_id, "success": result.success}), flush=True)
    return 0 if result.success else 1


def step_failures(instance, run_id: str) -> list[str]:
    """'step: message' for each failed step of a run (the first 500 characters)."""
    from dagster import DagsterEventType, EventRecordsFilter

    records = instance.get_event_records(EventRecordsFilter(DagsterEventType.STEP_FAILURE), limit=1000)
    from cli.summary import failure_text

    return [f"{r.event_log_entry.step_key}: {failure_text(r.event_log_entry.dagster_event)[:500]}"
            for r in records if r.event_log_entry.run_id == run_id]


def steps_by_worker(instance, run_id: str) -> dict[str, str]:
    """Step key -> the Celery worker that ran it (the last one, if a step was handed over)."""
    from dagster import DagsterEventType, EventRecordsFilter

    out: dict[str, str] = {}
    records = instance.get_event_records(EventRecordsFilter(DagsterEventType.ENGINE_EVENT), limit=10_000)
    for record in records:
        entry = record.event_log_entry
        if entry.run_id != run_id or not entry.dagster_event:
            continue
        data = entry.dagster_event.event_specific_data
        metadata = getattr(data, "metadata", None) or {}
        worker = metadata.get("Celery worker")
        if worker is not None and entry.step_key:
            out[entry.step_key] = str(getattr(worker, "value", worker)).split("@", 1)[0]
    return out


if __name__ == "__main__":
    sys.exit(main())
