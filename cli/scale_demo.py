"""``make scale-demo``: one full cycle on the scale-out profile, on this machine's real services.

PostgreSQL holds the Dagster instance (``projectx_scale_dagster``) and the warehouse
(``projectx_scale``); both are created anew each time, like the sandbox data. Celery workers on the
local RabbitMQ run every step; the summary says which worker ran what. The workers stop at the end.
"""

from __future__ import annotations

import os
import time

from cli import scale_out
from pipelines.common.warehouse import REPO_ROOT

INSTANCE_DB = "projectx_scale_dagster"
WAREHOUSE_DB = "projectx_scale"


def _say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def worker_spec(count: int) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Two workers split the workload classes; a third adds ingestion (the I/O-bound part); a fourth
    takes reverse sync and short steps beside the transform worker, so the three vendors' pushes start
    together when dbt ends (on two slots the third waited for the first: 10 s at 1,000 incidents);
    any more add ingestion."""
    if count < 1:
        raise SystemExit("--workers must be at least 1")
    if count == 1:
        return (("all", ("ingestion", "dbt", "reverse_sync", "default")),)
    extra = [("ingestion-2", ("ingestion",))] if count >= 3 else []
    if count >= 4:
        extra.append(("push", ("reverse_sync", "default")))
    extra += [(f"ingestion-{i}", ("ingestion",)) for i in range(3, count - 1)]
    return (*scale_out.TWO_WORKERS, *extra)


def run_scale_demo(size: int = 1000, workers: int = 2) -> int:
    from dagster import DagsterInstance

    from cli.demo import _configure_env, _configure_vendor_env
    from sandbox.jira import JiraSandbox
    from sandbox.onetrust import OneTrustSandbox
    from sandbox.servicenow import ServiceNowSandbox

    scale_out.check_broker(os.environ.get(scale_out.BROKER_ENV, scale_out.DEFAULT_BROKER))
    _say(f"PostgreSQL: new databases {INSTANCE_DB} (Dagster instance) and {WAREHOUSE_DB} (warehouse)")
    scale_out.create_database(INSTANCE_DB, reset=True)
    scale_out.create_database(WAREHOUSE_DB, reset=True)
    home = REPO_ROOT / ".dagster_home_scale"
    env = scale_out.configure(home, INSTANCE_DB, WAREHOUSE_DB, REPO_ROOT / "data" / "scale")
    with ServiceNowSandbox(size=size, tls=True) as sn, JiraSandbox(size=size // 4, tls=True) as jira, \
            OneTrustSandbox(size=size // 10, tls=True) as onetrust:
        _configure_env(sn)
        os.environ.update(env)  # _configure_env defaults to the embedded profile; the scale-out one wins
        _configure_vendor_env(jira, onetrust)
        spec = worker_spec(workers)
        _say(f"starting {len(spec)} Celery worker(s) on {env[scale_out.BROKER_ENV].rsplit('@', 1)[-1]}: "
             + "; ".join(f"{name} ({', '.join(queues)})" for name, queues in spec)
             + f"; and the run worker {scale_out.RUN_WORKER} (runs, {scale_out.RUN_SLOTS} at once)")
        with scale_out.workers(spec) as started:
            names = ", ".join(w.name for w in started)
            _say(f"workers ready: {names}; full_sync (ingest -> dbt -> reverse sync) handed to the run worker")
            begun = time.monotonic()
            run_id, success = scale_out.run_on_worker()
            elapsed = time.monotonic() - begun
            with DagsterInstance.get() as instance:
                by_worker = scale_out.steps_by_worker(instance, run_id)
                failures = [] if success else scale_out.step_failures(instance, run_id)
        _say("workers stopped")
    print(f"\nfull_sync {'succeeded' if success else 'FAILED'} in {elapsed:.0f} s on the scale-out profile "
          f"(run {run_id}; `DAGSTER_HOME={home} DAGSTER_PG_URL={env['DAGSTER_PG_URL']} make ui` shows it)")
    print(f"\n{'step':<45} worker   (the run itself: {scale_out.RUN_WORKER})")
    for step, worker in sorted(by_worker.items()):
        print(f"{step:<45} {worker}")
    for failure in failures:
        print(f"\nfailed: {failure}")
    return 0 if success else 1
