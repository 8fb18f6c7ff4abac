"""The scale-out profile, chosen by configuration alone (``../shared/DESIGN.md`` §6).

Embedded default: DuckDB warehouse, SQLite instance, every op in process and in one ``warehouse``
pool (DuckDB has one writer). Scale-out: ``PROJECTX_WAREHOUSE=postgres`` plus
``PROJECTX_EXECUTOR=celery`` runs every step as a Celery task on RabbitMQ (``dagster-celery``), with
the instance on PostgreSQL (``resources/dagster_scale_out.yaml``). Nothing else changes.

Queues, one per workload class, so slow vendor I/O never starves dbt: ``ingestion`` (dlt syncs and
their side tables), ``dbt``, ``reverse_sync`` and ``default`` (every other step: checks, health,
notifications — short ones); the runs themselves start on ``runs`` (dagster-celery's run launcher, set
in ``resources/dagster_scale_out.yaml``). ``PROJECTX_CELERY_QUEUE_PREFIX`` prefixes them, so
two deployments (or two CI runs) can share one broker.

Pools (each limited to one op at a time by the instance's ``default_limit: 1``):

- DuckDB: every writer is in ``warehouse``.
- PostgreSQL: ``ingest_<vendor>`` (one sync per vendor at a time: a vendor's dlt pipeline name,
  working directory and cursor state are shared by its syncs, so two of them must never overlap; the
  three vendors load different datasets and may run together), ``dbt`` (one build at a time: two
  builds would replace the same relations) and ``reverse_sync_<vendor>`` (one push per vendor at a
  time: two pushes would both see "no link" and create the same record twice). An ingestion may
  overlap a dbt build: PostgreSQL's MVCC gives dbt the committed loads, and staging takes only loads
  it has not staged yet, so a load committed meanwhile is staged by the next build.
"""

from __future__ import annotations

import os

from dagster import ExecutorDefinition, in_process_executor, multiprocess_executor

EXECUTOR_ENV = "PROJECTX_EXECUTOR"
BROKER_ENV = "PROJECTX_CELERY_BROKER"
BACKEND_ENV = "PROJECTX_CELERY_BACKEND"
QUEUE_PREFIX_ENV = "PROJECTX_CELERY_QUEUE_PREFIX"
DEFAULT_BROKER = "pyamqp://guest:guest@127.0.0.1:5672//"
QUEUE_TAG = "dagster-celery/queue"
PRIORITY_TAG = "dagster-celery/priority"
# Vendor steps go first (dagster-celery's default is 5): a sync gates the dbt build and a push ends the
# run, so a free worker slot takes them before the short checks and notifications submitted with them.
VENDOR_STEP_PRIORITY = 6
# "runs": the run workers' queue (resources/dagster_launcher.py): each run's own process, the loop that
# submits its steps, is a task there, on a worker that imported the definitions before forking.
WORKLOADS = ("ingestion", "dbt", "reverse_sync", "default", "runs")
EXECUTORS = ("in_process", "multiprocess", "celery")
BACKFILL_DAYS_ENV = "PROJECTX_BACKFILL_DAYS_PER_RUN"
SCALE_OUT_BACKFILL_DAYS = 7
CELERY_POLL_S = 0.2


def _warehouse_kind() -> str:
    return os.environ.get("PROJECTX_WAREHOUSE", "duckdb")


def queue_name(workload: str) -> str:
    """The Celery queue of a workload class (``ingestion``, ``dbt``, ``reverse_sync``)."""
    if workload not in WORKLOADS:
        raise ValueError(f"unknown workload {workload!r}: use one of {', '.join(WORKLOADS)}")
    return os.environ.get(QUEUE_PREFIX_ENV, "") + workload


def op_tags(workload: str) -> dict[str, str]:
    """Tags that send an op's steps to its workload's queue, vendor steps (syncs and pushes) ahead of
    the rest (both ignored by the other executors)."""
    tags = {QUEUE_TAG: queue_name(workload)}
    if workload in ("ingestion", "reverse_sync"):
        tags[PRIORITY_TAG] = str(VENDOR_STEP_PRIORITY)
    return tags


def pool(workload: str, vendor: str | None = None) -> str:
    """The concurrency pool of an op: ``warehouse`` on DuckDB, per workload (and vendor) on PostgreSQL."""
    if _warehouse_kind() == "duckdb":
        return "warehouse"
    if workload == "dbt":
        return "dbt"
    prefix = {"ingestion": "ingest", "reverse_sync": "reverse_sync"}[workload]
    return f"{prefix}_{vendor}" if vendor else prefix


def backfill_days_per_run() -> int | None:
    """How many daily partitions one backfill run of the ingestion assets covers; None: the whole range.

    Embedded (DuckDB, one writer): the whole range, one window re-read per vendor. Scale-out (Celery
    executor): runs of ``PROJECTX_BACKFILL_DAYS_PER_RUN`` days (default 7) that the run queue hands to
    the workers, so a long backfill spreads over them and a failed week reruns alone. Their writes
    never overlap: one vendor's runs take turns on its ``ingest_<vendor>`` pool (its dlt pipeline and
    staging dataset are one), while other vendors' windows load at the same time. ``0``: one run.
    """
    raw = os.environ.get(BACKFILL_DAYS_ENV)
    if raw is None:
        return SCALE_OUT_BACKFILL_DAYS if os.environ.get(EXECUTOR_ENV) == "celery" else None
    try:
        days = int(raw)
    except ValueError:
        days = -1
    if days < 0:
        raise ValueError(f"{BACKFILL_DAYS_ENV}={raw!r} is not a number of days: set a whole number, e.g. 7, "
                         "or 0 for one run over the whole range")
    return days or None


def executor() -> ExecutorDefinition:
    """The executor the configuration asks for.

    ``PROJECTX_EXECUTOR`` unset: in process on DuckDB (one writer), multiprocess on PostgreSQL.
    ``celery``: dagster-celery on ``PROJECTX_CELERY_BROKER`` (default the local RabbitMQ); it needs
    the warehouse and the Dagster instance on PostgreSQL, which every worker reaches.
    """
    kind = _warehouse_kind()
    name = os.environ.get(EXECUTOR_ENV) or ("in_process" if kind == "duckdb" else "multiprocess")
    if name not in EXECUTORS:
        raise ValueError(f"{EXECUTOR_ENV}={name!r} is not an executor: use one of {', '.join(EXECUTORS)}")
    if name == "in_process":
        return in_process_executor
    if kind == "duckdb":
        raise ValueError(f"{EXECUTOR_ENV}={name} needs PROJECTX_WAREHOUSE=postgres: DuckDB allows one writer, "
                         "so its ops run in one process (unset PROJECTX_EXECUTOR)")
    if name == "multiprocess":
        return multiprocess_executor
    from dagster_celery import celery_executor, core_execution_loop

    # The run's process polls its submitted steps every TICK_SECONDS (1 s in dagster-celery), so each
    # hand-over from a finished step to the next cost 0.5 s on average, on every edge of the graph's
    # critical path. The poll asks the result backend and the instance's pools: cheap with pooled
    # connections (resources/dagster_storage.py).
    core_execution_loop.TICK_SECONDS = CELERY_POLL_S
    return celery_executor.configured(
        {"broker": os.environ.get(BROKER_ENV, DEFAULT_BROKER), "backend": os.environ.get(BACKEND_ENV, "rpc://"),
         "config_source": {"task_default_queue": queue_name("default")}},
        name="celery",
    )
