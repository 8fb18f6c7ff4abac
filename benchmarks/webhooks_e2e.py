"""Part (b) of ``bench_webhooks.py``: an incident updated at the sandbox → visible in ``marts.tasks``.

The Dagster daemon is played by a loop: every 5 s (the sensor's interval) it evaluates the real
``webhook_inbox`` sensor from the definitions and executes the runs it requests in process, tagged
with their run keys (so the next tick settles them), as the daemon would launch them.
"""

from __future__ import annotations

import os
import random
import shutil
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TICK = 5.0
POLL_MINUTES = 5


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def visible(duckdb_path: str, markers: dict[str, str]) -> set[str]:
    import duckdb

    with duckdb.connect(duckdb_path, read_only=True) as conn:
        ids = [f"servicenow-incident-{sys_id}" for sys_id in markers]
        rows = conn.execute("select task_id, title from marts.tasks where task_id in (select unnest(?))",
                            [ids]).fetchall()
    titles = dict(rows)
    return {s for s, m in markers.items() if m in (titles.get(f"servicenow-incident-{s}") or "")}


def part_b(changes: int, size: int) -> None:
    print(f"\n(b) end to end: {changes} incident updates at the ServiceNow sandbox -> marts.tasks")
    tmp = Path(tempfile.mkdtemp(prefix="bench_webhooks_e2e_"))
    os.environ.update(PROJECTX_ENV="local", PROJECTX_WAREHOUSE="duckdb",
                      PROJECTX_DUCKDB_PATH=str(tmp / "warehouse.duckdb"), PROJECTX_DATA_DIR=str(tmp / "data"),
                      DAGSTER_HOME=str(tmp / "dagster_home"), PROJECTX_WEBHOOK_INBOX=str(tmp / "inbox.sqlite3"))
    (tmp / "dagster_home").mkdir()
    shutil.copy(ROOT / "resources" / "dagster.yaml", tmp / "dagster_home" / "dagster.yaml")
    from cli.demo import _configure_env, _configure_vendor_env, _execute_full_sync
    from sandbox.jira import JiraSandbox
    from sandbox.onetrust import OneTrustSandbox
    from sandbox.servicenow import ServiceNowSandbox
    from webhooks.local import beside_sandbox

    try:
        with ServiceNowSandbox(size=size, tls=True) as sn, JiraSandbox(size=max(50, size // 4), tls=True) as jira, \
                OneTrustSandbox(size=max(20, size // 10), tls=True) as onetrust, beside_sandbox(sn, None):
            _configure_env(sn)
            _configure_vendor_env(jira, onetrust)
            started = time.monotonic()
            if not _execute_full_sync().success:
                raise SystemExit("the first full_sync failed: see the Dagster log above")
            print(f"  first full_sync (not timed in the figures): {time.monotonic() - started:.0f} s")
            import definitions

            defs = definitions.build_definitions()
            sensor = defs.get_sensor_def("webhook_inbox")
            latencies, durations, poll = _rounds(sn, defs, sensor, changes)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"  webhook sync runs: {len(durations)}, duration p50 {pct(durations, 50):.1f} s, "
          f"max {max(durations):.1f} s")
    print(f"  {'path':34} {'p50 s':>7} {'p95 s':>7} {'max s':>7}")
    print(f"  {'webhook -> sensor (5 s) -> sync':34} {pct(latencies, 50):>7.1f} {pct(latencies, 95):>7.1f} "
          f"{max(latencies):>7.1f}")
    print(f"  {'5-minute poll -> incidents sync':34} {pct(poll, 50):>7.1f} {pct(poll, 95):>7.1f} {max(poll):>7.1f}")
    print("  target: webhook p95 <= 60 s")


def _rounds(sn, defs, sensor, changes: int):
    from dagster import DagsterInstance, build_sensor_context

    from assets.ingestion import LIVE_SYNC_TAG, current_partition_key

    rng = random.Random(3)
    incidents = [r["sys_id"] for r in sn.records("incident") if r.get("active") == "true"]
    latencies: list[float] = []
    durations: list[float] = []
    changed_at: list[float] = []
    cursor = None
    done = 0
    duckdb_path = os.environ["PROJECTX_DUCKDB_PATH"]
    with DagsterInstance.get() as instance:
        while done < changes:
            batch = rng.sample(incidents, min(4, changes - done))
            markers = {}
            time.sleep(rng.uniform(0, TICK))  # changes land anywhere between two ticks
            for sys_id in batch:
                markers[sys_id] = f"bench-{done}-{sys_id[:6]}"
                sn.update("incident", sys_id, {"short_description": markers[sys_id]})
                changed_at.append(time.time())
            t0 = {s: changed_at[-len(batch) + i] for i, s in enumerate(batch)}
            pending = set(batch)
            next_tick = time.monotonic()
            while pending:
                time.sleep(max(0.0, next_tick - time.monotonic()))
                next_tick = time.monotonic() + TICK
                result = sensor.evaluate_tick(build_sensor_context(instance=instance, definitions=defs, cursor=cursor))
                cursor = result.cursor
                for request in result.run_requests:
                    job = defs.resolve_job_def(request.job_name)
                    t = time.monotonic()
                    job.execute_in_process(instance=instance, partition_key=request.partition_key,
                                           tags={**request.tags, "dagster/run_key": request.run_key},
                                           raise_on_error=False)
                    durations.append(time.monotonic() - t)
                for sys_id in visible(duckdb_path, {s: markers[s] for s in pending}):
                    latencies.append(time.time() - t0[sys_id])
                    pending.discard(sys_id)
            done += len(batch)
        t = time.monotonic()  # what the poll runs: the scheduled job, everything downstream of incidents
        defs.resolve_job_def("servicenow_incidents_sync").execute_in_process(
            instance=instance, partition_key=current_partition_key(), tags={LIVE_SYNC_TAG: "true"},
            raise_on_error=False)
        run = time.monotonic() - t
        print(f"  servicenow_incidents_sync (the poll's job): {run:.1f} s")
    period = POLL_MINUTES * 60
    poll = [(period - (t % period)) + run for t in changed_at]
    return latencies, durations, poll
