"""The scale-out profile's run launcher: dagster-celery's ``CeleryRunLauncher``, its broker and queue
taken from the settings the Celery executor reads (``resources/scale_out.py``), so ``dagster.yaml``
names no URL and two deployments sharing a broker (``PROJECTX_CELERY_QUEUE_PREFIX``) stay apart.

Dagster's default launcher starts every run in a fresh process, which imports the code location
before it plans a step: 4-5 s of CPU on 2 cores (dbt's and dagster-dbt's imports dominate), on the
critical path of every run. This one sends the run to the ``runs`` queue instead, as a Celery task, to a
worker that imported the definitions before forking its pool (``cli/celery_app.py``); the task plans
the run and submits its steps to the workload queues, then waits for them, so a run worker's slot is
held for the run's length: give it its own worker (``cli/scale_out.py`` starts one, ``-c 4``), never
the step queues' (a run waiting on its steps in a slot they need would wait for ever).

Run monitoring asks this launcher whether a started run's worker still holds it. Not through the result
backend (``rpc://`` answers only the process that sent the task, so the daemon would read every healthy
run as unknown and fail it), but by asking the workers themselves over the broker (Celery's
``inspect().query_task``): a run task that no worker holds, active or reserved, on two checks in a row
(``run_monitoring.poll_interval_seconds`` apart) lost its run worker (killed, its machine gone), and the
daemon marks the run failed at once instead of after ``max_runtime_seconds``: a dead run worker no longer
holds its vendors' one-live-sync slots for hours. Re-execute the run from its failure.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from dagster import Field, Noneable, StringSource
from dagster._core.launcher import CheckRunHealthResult, WorkerStatus
from dagster_celery.launcher import CeleryRunLauncher
from dagster_celery.tags import DAGSTER_CELERY_TASK_ID_TAG

from resources.scale_out import BACKEND_ENV, BROKER_ENV, DEFAULT_BROKER, queue_name

logger = logging.getLogger(__name__)

# How long the run monitor waits for the workers' answers, and the checks in a row that must find no worker
# holding a run before it is failed (one miss can be a worker too busy to answer in time).
INSPECT_TIMEOUT_SECONDS = 5.0
MISSES_BEFORE_FAILED = 2
MISSES_KEPT = 1000


class ProjectCeleryRunLauncher(CeleryRunLauncher):
    """``CeleryRunLauncher`` whose unset ``broker``, ``backend`` and ``default_queue`` follow the
    executor's settings (``PROJECTX_CELERY_BROKER``, ``PROJECTX_CELERY_BACKEND``, the prefixed ``runs``
    queue) when the instance loads, in every process: webserver, daemon, workers."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._misses: dict[str, int] = {}  # run id -> checks in a row that found no worker holding it

    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def _holders(self, task_id: str) -> dict[str, str] | None:
        """Worker -> 'active' or 'reserved', for the workers that hold the task; None when the question
        could not be asked (the broker unreachable: that says nothing about the run)."""
        try:
            replies = self.celery.control.inspect(timeout=INSPECT_TIMEOUT_SECONDS).query_task(task_id) or {}
        except Exception as exc:  # broker down or restarting: ask again at the next check
            logger.warning("run monitor: the broker did not take the question about task %s (%s)", task_id,
                           type(exc).__name__)
            return None
        return {worker: held[task_id][0] for worker, held in replies.items()
                if isinstance(held, dict) and task_id in held}

    def check_run_worker_health(self, run) -> CheckRunHealthResult:
        """RUNNING while a worker holds the run's task (or when that cannot be known: a run started
        without this launcher, e.g. ``dagster job execute``, or the broker unreachable); FAILED when no
        worker has held it on :data:`MISSES_BEFORE_FAILED` checks in a row."""
        task_id = run.tags.get(DAGSTER_CELERY_TASK_ID_TAG)
        if not task_id:
            return CheckRunHealthResult(WorkerStatus.RUNNING, "not started by the Celery run launcher")
        holders = self._holders(task_id)
        if holders is None:
            return CheckRunHealthResult(WorkerStatus.RUNNING, "the broker did not answer; asked again next time")
        if holders:
            self._misses.pop(run.run_id, None)
            return CheckRunHealthResult(WorkerStatus.RUNNING, f"held by {', '.join(sorted(holders))}")
        misses = self._misses.get(run.run_id, 0) + 1
        if misses < MISSES_BEFORE_FAILED:
            self._misses[run.run_id] = misses
            while len(self._misses) > MISSES_KEPT:  # runs that ended between two checks: drop the oldest
                del self._misses[next(iter(self._misses))]
            return CheckRunHealthResult(WorkerStatus.RUNNING, "no worker holds its task; checked again next time")
        self._misses.pop(run.run_id, None)
        return CheckRunHealthResult(
            WorkerStatus.FAILED,
            f"no Celery worker on queue {self.default_queue} holds this run's task {task_id} ({misses} checks "
            "in a row): its run worker stopped (killed, or its machine lost). Steps it had handed to step "
            "workers may still finish. Re-execute the run from its failure (Dagster UI: Re-execute > From "
            "failure); ingestion and reverse sync are idempotent, so nothing is written twice.")

    def get_run_worker_debug_info(self, run, include_container_logs: bool | None = True) -> str | None:
        """The workers that hold the run's task, asked over the broker (the result backend cannot say)."""
        task_id = run.tags.get(DAGSTER_CELERY_TASK_ID_TAG)
        holders = self._holders(task_id) if task_id else None
        return str({"run_id": run.run_id, "celery_task_id": task_id, "queue": self.default_queue,
                    "held_by": holders})

    @classmethod
    def config_type(cls) -> dict[str, Any]:
        fields = dict(super().config_type())
        fields["default_queue"] = Field(Noneable(StringSource), is_required=False,
                                        description="Default: the prefixed 'runs' queue (resources/scale_out.py).")
        fields["backend"] = Field(Noneable(StringSource), is_required=False,
                                  description="Default: PROJECTX_CELERY_BACKEND, else rpc://.")
        return fields

    @classmethod
    def from_config_value(cls, inst_data, config_value):
        values = {key: value for key, value in config_value.items() if value is not None}
        values.setdefault("broker", os.environ.get(BROKER_ENV, DEFAULT_BROKER))
        values.setdefault("backend", os.environ.get(BACKEND_ENV, "rpc://"))
        values.setdefault("default_queue", queue_name("runs"))
        return cls(inst_data=inst_data, **values)
