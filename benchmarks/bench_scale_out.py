"""Scale-out benchmark: the full cycle and a 30-day backfill on the embedded default (DuckDB, one
process) beside the scale-out profile (PostgreSQL + Celery workers on the local RabbitMQ) with 1, 2
and 4 workers, against sandboxes that answer every page after a fixed latency (a slow vendor API).

    uv run python benchmarks/bench_scale_out.py [--size 1000] [--latency-ms 300] [--workers 1,2,4]
                                                [--backfill-days 30] [--launch worker[,process]]
                                                [--sync-concurrency N]

Each configuration gets fresh sandboxes (same seed, so the same data), a fresh warehouse and
instance; worker start-up is not timed (workers are long-lived in production), nor is dbt's parse of
the project for the new warehouse (``make setup`` does it on a deployment; dbt parses the whole project
again whenever its connection changes, 3.7 s more than a steady-state build's partial parse). The
project's own ``dbt_project/target`` files are put back at the end, so the next ``make demo`` does not
find another warehouse's parse. Scale-out runs start as the profile starts them, on the warm run worker
(``resources/dagster_launcher.py``); ``--launch worker,process`` also times each in a fresh process
(Dagster's default launcher, and how the embedded default's run starts), side by side. Timed: ``full_sync``
(the live partition: ingest the three vendors -> dbt build -> reverse sync), then ``full_sync`` over
the last N days' partitions as one backfill run (a window re-read of each vendor, then dbt and
reverse sync once). Needs PostgreSQL on 127.0.0.1:5432 and RabbitMQ on 127.0.0.1:5672.

After the embedded run it prints that run's critical path: the longest chain of dependent steps (by
their times in that run) plus the time outside the steps. Workers run independent steps side by
side but cannot shorten that chain, so its ratio to the embedded cycle bounds the speed-up any
number of workers can reach while the steps themselves stay as they are. Each run also prints the
CPU-seconds the whole machine spent meanwhile (every process: the run's, the workers', the sandboxes',
PostgreSQL's): below that figure divided by the cores, no schedule of the same work finishes, and a
run far above it was waiting (on vendors, or on a chain of steps), not short of cores. The same
CPU-seconds are split by who spent them (the run's process and the dbt it started, the Celery workers
and theirs, PostgreSQL, RabbitMQ, this process with its sandbox threads, and every other process: noise
from outside the benchmark, which makes a run's figures unreliable when it is large).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cli import scale_out  # noqa: E402
from cli.scale_demo import worker_spec  # noqa: E402
from pipelines.common.concurrency import MAX_SYNC_CONCURRENCY  # noqa: E402


def _sandbox_env(sn, jira, ot) -> None:
    from cli.demo import _configure_vendor_env

    c = sn.credentials
    os.environ.update(SERVICENOW_BASE_URL=sn.url, SERVICENOW_OAUTH_CLIENT_ID=c["client_id"],
                      SERVICENOW_OAUTH_CLIENT_SECRET=c["client_secret"], SERVICENOW_USER=c["username"],
                      SERVICENOW_PASSWORD=c["password"], PROJECTX_ENV="local")
    os.environ.pop("REQUESTS_CA_BUNDLE", None)
    os.environ.pop("VAULT_ADDR", None)
    _configure_vendor_env(jira, ot)


def _backfill_tags(days: int) -> dict[str, str]:
    from assets.ingestion import ingestion_partitions

    today = datetime.now(UTC).date()
    keys = ingestion_partitions().get_partition_keys()
    start = max((today - timedelta(days=days)).isoformat(), keys[0])
    end = (today - timedelta(days=1)).isoformat()
    return {"dagster/asset_partition_range_start": start, "dagster/asset_partition_range_end": end}


def _step_profile(run_id: str) -> str:
    """Where a run's time went: steps, the sum of their durations (above the wall time when steps
    overlapped), the longest ones and a timeline (one bar per step, 1 character = 1/60 of the run)
    that shows which steps ran side by side; the figure that says what more workers can speed up."""
    from dagster import DagsterInstance

    with DagsterInstance.get() as instance:
        stats = instance.get_run_step_stats(run_id)
        waits = _queue_waits(instance, run_id)
    spans = sorted(((s.step_key, s.start_time, s.end_time) for s in stats if s.start_time and s.end_time),
                   key=lambda x: x[1])
    if not spans:
        return "no step stats"
    t0, t1 = spans[0][1], max(end for _, _, end in spans)
    scale = 60 / max(t1 - t0, 1e-6)
    bars = [f"        {key[:44]:<44} {' ' * int((start - t0) * scale)}{'#' * max(1, round((end - start) * scale))}"
            f" {end - start:.0f} s" for key, start, end in spans]
    longest = sorted(spans, key=lambda x: x[1] - x[2])[:4]
    top = ", ".join(f"{key} {end - start:.0f} s" for key, start, end in longest)
    busy = sum(end - start for _, start, end in spans)
    queued = ""
    if waits:
        worst = ", ".join(f"{key} {w:.1f} s" for key, w in sorted(waits.items(), key=lambda x: -x[1])[:3])
        queued = (f"; waited for a worker {sum(waits.values()):.0f} s in all "
                  f"(median {sorted(waits.values())[len(waits) // 2]:.1f} s; most: {worst})")
    return (f"{len(spans)} steps, {busy:.0f} step-seconds over {t1 - t0:.0f} s of steps "
            f"(overlap {busy / max(t1 - t0, 1e-6):.2f}){queued}; longest: {top}\n" + "\n".join(bars))


def _queue_waits(instance, run_id: str) -> dict[str, float]:
    """Celery runs: seconds from a step's submission to the broker to its start on a worker (what a
    busy or cold worker costs); empty for runs in process."""
    from dagster import DagsterEventType

    submitted: dict[str, float] = {}
    started: dict[str, float] = {}
    for entry in instance.all_logs(run_id, of_type={DagsterEventType.ENGINE_EVENT, DagsterEventType.STEP_START}):
        if not entry.step_key or not entry.dagster_event:
            continue
        if entry.dagster_event.event_type == DagsterEventType.STEP_START:
            started.setdefault(entry.step_key, entry.timestamp)
        elif (entry.user_message or "").startswith("Submitting celery task"):
            submitted.setdefault(entry.step_key, entry.timestamp)
    return {key: started[key] - at for key, at in submitted.items() if key in started}


def critical_path(run_id: str) -> tuple[float, list[str], float]:
    """The run's longest chain of dependent steps, by the steps' own durations in this run: no number
    of workers can finish the steps sooner. Returns (its seconds, its steps, the run's wall time outside
    its steps: launch, plan and finish, which workers do not shorten either)."""
    from dagster import DagsterInstance

    with DagsterInstance.get() as instance:
        run = instance.get_run_by_id(run_id)
        plan = instance.get_execution_plan_snapshot(run.execution_plan_snapshot_id)
        stats = {s.step_key: s for s in instance.get_run_step_stats(run_id) if s.start_time and s.end_time}
    upstream = {step.key: {h.step_key for i in step.inputs for h in i.upstream_output_handles}
                for step in plan.steps}
    best: dict[str, tuple[float, list[str]]] = {}

    def longest(key: str) -> tuple[float, list[str]]:
        if key not in best:
            own = stats[key].end_time - stats[key].start_time if key in stats else 0.0
            before = max((longest(u) for u in upstream.get(key, ()) if u in upstream), default=(0.0, []))
            best[key] = (before[0] + own, [*before[1], key])
        return best[key]

    seconds, chain = max((longest(key) for key in upstream), default=(0.0, []))
    span = (max(s.end_time for s in stats.values()) - min(s.start_time for s in stats.values())) if stats else 0.0
    return seconds, chain, span


PROFILES: list[str] = []
BOUNDS: list[tuple[float, list[str], float]] = []
CPU: list[float] = []  # CPU-seconds the whole machine spent during each timed run
SHARES: list[dict[str, float]] = []  # the same CPU-seconds by who spent them (cpu_by_role)
WORKER_PIDS: set[int] = set()  # the Celery workers' launcher processes while they run

ROLES = ("run process (Dagster + dbt)", "Celery workers (steps + dbt)", "PostgreSQL", "RabbitMQ",
         "benchmark + sandboxes (this process)", "other processes")


def _role(proc, parents: dict[int, int]) -> str:
    """Who a live process works for: this benchmark (its sandboxes are threads of it), a worker (or a
    process a worker started), the database, the broker, or something else on the machine (noise the
    benchmark did not cause). The run's own process is counted once it ends (cpu_by_role)."""
    me = os.getpid()
    if proc.pid == me:
        return ROLES[4]
    pid = proc.pid
    while pid > 1:
        if pid in WORKER_PIDS:
            return ROLES[1]
        if pid == me:
            return ROLES[0]
        pid = parents.get(pid, 0)
    name = proc.info["name"] or ""
    if name.startswith("postgres"):
        return ROLES[2]
    if name in ("beam.smp", "erl_child_setup", "epmd", "inet_gethost") or "rabbitmq" in name:
        return ROLES[3]
    return ROLES[5]


def cpu_by_role() -> dict[int, tuple[str, float]]:
    """pid -> (role, CPU-seconds it has spent, its reaped children's included). A process that ends
    meanwhile moves into its parent's children times, so the difference of two snapshots gives each
    role its share; this process's reaped children are the run's process and what it started."""
    import psutil

    procs = list(psutil.process_iter(["pid", "ppid", "name"]))
    parents = {p.info["pid"]: p.info["ppid"] or 0 for p in procs}
    out: dict[int, tuple[str, float]] = {}
    for proc in procs:
        try:
            t = proc.cpu_times()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        role = _role(proc, parents)
        if proc.pid == os.getpid():  # reaped children: the run's process and its dbt
            out[-1] = (ROLES[0], t.children_user + t.children_system)
            out[proc.pid] = (role, t.user + t.system)
        else:
            out[proc.pid] = (role, t.user + t.system + t.children_user + t.children_system)
    return out


def role_shares(before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]]) -> dict[str, float]:
    shares = dict.fromkeys(ROLES, 0.0)
    for pid, (role, seconds) in after.items():
        shares[role] += max(0.0, seconds - before.get(pid, (role, 0.0))[1])
    return shares


def machine_cpu_seconds() -> float:
    """CPU-seconds every core of this machine has been busy since boot (/proc/stat: all but idle and
    iowait), whichever process used them: the run's own, the workers', the sandboxes', PostgreSQL's."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    busy = sum(fields) - fields[3] - (fields[4] if len(fields) > 4 else 0)
    return busy / os.sysconf("SC_CLK_TCK")


def _parse_for_this_warehouse() -> None:
    """dbt's parse of the project for the configuration's warehouse, untimed, as ``make setup`` does."""
    from assets.dbt import prepare_manifest

    started = time.monotonic()
    prepare_manifest(force=True)
    print(f"      (untimed: dbt parsed the project for this warehouse in {time.monotonic() - started:.1f} s)",
          flush=True)


@contextmanager
def _project_parse_kept():
    """Put the project's manifest and the partial parse builds start from back as they were."""
    from assets.dbt import MANIFEST, build_target_root

    files = [MANIFEST, build_target_root() / "partial_parse.msgpack"]
    kept = {path: path.read_bytes() for path in files if path.exists()}
    try:
        yield
    finally:
        for path, content in kept.items():
            path.write_bytes(content)


def _timed(tags: dict[str, str] | None = None, launch: str = "process") -> float:
    """One full_sync, wall seconds. ``launch="process"``: in a fresh process, as Dagster's default run
    launcher starts a run (its definitions load this configuration); ``"worker"``: handed to the
    scale-out profile's run launcher, which runs it on the warm run worker."""
    started, cpu, by_role = time.monotonic(), machine_cpu_seconds(), cpu_by_role()
    run_id, success = scale_out.run_on_worker(tags) if launch == "worker" else scale_out.run_in_subprocess(tags)
    elapsed = time.monotonic() - started
    CPU.append(machine_cpu_seconds() - cpu)
    SHARES.append(role_shares(by_role, cpu_by_role()))
    if not success:
        from dagster import DagsterInstance

        with DagsterInstance.get() as instance:
            raise SystemExit(f"run {run_id} failed: {scale_out.step_failures(instance, run_id)[:3]}")
    PROFILES.append(f"{'backfill' if tags else 'full cycle'} {elapsed:.0f} s: {_step_profile(run_id)}")
    seconds, chain, span = critical_path(run_id)
    BOUNDS.append((seconds, chain, elapsed - span))
    return elapsed


def run(config: str, workers: int, args, work: Path, launch: str = "process") -> tuple[float, float]:
    from sandbox.jira import JiraSandbox
    from sandbox.onetrust import OneTrustSandbox
    from sandbox.servicenow import ServiceNowSandbox

    tag = uuid.uuid4().hex[:8]
    dbs = []
    lat = dict(latency_ms=args.latency_ms)
    with ServiceNowSandbox(size=args.size, **lat) as sn, JiraSandbox(size=args.size // 4, **lat) as jira, \
            OneTrustSandbox(size=args.size // 10, **lat) as ot:
        _sandbox_env(sn, jira, ot)
        if config == "embedded":
            os.environ.update(PROJECTX_WAREHOUSE="duckdb", PROJECTX_DUCKDB_PATH=str(work / f"{tag}.duckdb"),
                              PROJECTX_DATA_DIR=str(work / f"{tag}-data"))
            os.environ.pop(scale_out.EXECUTOR_ENV, None)
            home = work / f"{tag}-home"
            home.mkdir()
            (home / "dagster.yaml").write_text((ROOT / "resources" / "dagster.yaml").read_text())  # as make setup
            os.environ["DAGSTER_HOME"] = str(home)
            _parse_for_this_warehouse()
            return _timed(), _timed(_backfill_tags(args.backfill_days))
        dbs = [f"projectx_bench_dagster_{tag}", f"projectx_bench_wh_{tag}"]
        for db in dbs:
            scale_out.create_database(db)
        try:
            scale_out.configure(work / f"{tag}-home", dbs[0], dbs[1], work / f"{tag}-data")
            _parse_for_this_warehouse()
            with scale_out.workers(worker_spec(workers)) as started:
                WORKER_PIDS.update(w.process.pid for w in started)
                return _timed(launch=launch), _timed(_backfill_tags(args.backfill_days), launch=launch)
        finally:
            WORKER_PIDS.clear()
            for db in dbs:
                scale_out.drop_database(db)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=1000)
    parser.add_argument("--latency-ms", type=int, default=300)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--backfill-days", type=int, default=30)
    parser.add_argument("--launch", default="worker",
                        help="how scale-out runs start, comma-separated to compare: worker (the profile's run "
                             "launcher, on the warm run worker) and/or process (a fresh process, Dagster's default)")
    parser.add_argument("--sync-concurrency", type=int, default=None,
                        help="requests each vendor's sync keeps in flight, in every configuration alike (sets "
                             "PROJECTX_<VENDOR>_SYNC_CONCURRENCY; default: the product's, 4 / 4 / 8)")
    args = parser.parse_args()
    if args.sync_concurrency is not None:
        if not 1 <= args.sync_concurrency <= MAX_SYNC_CONCURRENCY:
            parser.error(f"--sync-concurrency must be 1 to {MAX_SYNC_CONCURRENCY}")
        for vendor in ("SERVICENOW", "JIRA", "ONETRUST"):
            os.environ[f"PROJECTX_{vendor}_SYNC_CONCURRENCY"] = str(args.sync_concurrency)
    if args.backfill_days < 1:
        parser.error("--backfill-days must be 1 or more (the backfill re-reads that many whole days before today)")
    scale_out.check_broker(os.environ.get(scale_out.BROKER_ENV, scale_out.DEFAULT_BROKER))
    launches = [x.strip() for x in args.launch.split(",") if x.strip()]
    if not launches or set(launches) - {"worker", "process"}:
        raise SystemExit(f"--launch {args.launch!r}: use worker, process or worker,process")
    configs = [("embedded", 0, "process")] + [("celery", int(n), how) for n in args.workers.split(",")
                                             for how in launches]
    print(f"{args.size:,} incidents, {args.latency_ms} ms per vendor response, backfill {args.backfill_days} days, "
          f"vendor requests in flight per sync: {args.sync_concurrency or 'the defaults (4 / 4 / 8)'}; "
          f"load average at start {os.getloadavg()[0]:.1f}", flush=True)
    rows = []
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="bench_scale_") as tmp, _project_parse_kept():
        for config, workers, launch in configs:
            label = "embedded default (DuckDB, in process)"
            if config != "embedded":
                label = f"scale-out, {workers} worker{'s' if workers > 1 else ''}"
                if len(launches) > 1:
                    label += ", run on the run worker" if launch == "worker" else ", run in a new process"
            cycle, backfill = run(config, workers, args, Path(tmp), launch)
            cpu_cycle, cpu_backfill = CPU[-2:]
            rows.append((label, cycle, backfill, cpu_cycle))
            print(f"  {label:<58} full cycle {cycle:7.1f} s   backfill {backfill:7.1f} s", flush=True)
            print(f"      machine CPU busy during the full cycle: {cpu_cycle:.0f} CPU-s, "
                  f"{cpu_cycle / (cores * cycle):.0%} of {cores} cores x {cycle:.0f} s "
                  f"(backfill {cpu_backfill:.0f} CPU-s, "
                  f"{cpu_backfill / (cores * backfill):.0%}); no schedule of this work on {cores} cores takes less "
                  f"than {cpu_cycle / cores:.1f} s", flush=True)
            shares = SHARES[-2]
            print("      the full cycle's CPU-seconds by who spent them: "
                  + ", ".join(f"{role} {sec:.1f}" for role, sec in sorted(shares.items(), key=lambda x: -x[1])),
                  flush=True)
            for line in PROFILES:
                print(f"      {line}", flush=True)
            if config == "embedded":
                seconds, chain, outside = BOUNDS[0]  # the full cycle's
                bound = seconds + outside
                print(f"      critical path of the full cycle: {seconds:.0f} s of dependent steps "
                      f"({' -> '.join(chain)}) + {outside:.0f} s outside the steps (launch, plan, finish) = "
                      f"{bound:.0f} s; with these step times no number of workers beats {cycle / bound:.2f}x",
                      flush=True)
            PROFILES.clear()
            BOUNDS.clear()
            CPU.clear()
            SHARES.clear()
    base_cycle, base_backfill = rows[0][1], rows[0][2]
    print(f"\n{'configuration':<58} {'full cycle':>11} {'speed-up':>9} {'backfill':>10} {'speed-up':>9} "
          f"{'CPU-s':>6} {'CPU bound':>10}")
    for label, cycle, backfill, cpu in rows:
        print(f"{label:<58} {cycle:9.1f} s {base_cycle / cycle:8.2f}x "
              f"{backfill:8.1f} s {base_backfill / backfill:8.2f}x {cpu:6.0f} {base_cycle / (cpu / cores):9.2f}x")
    print(f"CPU bound: the speed-up the full cycle could reach if its CPU-seconds (every process on the machine) "
          f"kept all {cores} cores busy from start to end")
    print(f"load average at end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
