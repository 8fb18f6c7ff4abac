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
"""

from __future__ import annotations

import os
from typing import Any

from dagster import Field, Noneable, StringSource
from dagster_celery.launcher import CeleryRunLauncher

from resources.scale_out import BACKEND_ENV, BROKER_ENV, DEFAULT_BROKER, queue_name


class ProjectCeleryRunLauncher(CeleryRunLauncher):
    """``CeleryRunLauncher`` whose unset ``broker``, ``backend`` and ``default_queue`` follow the
    executor's settings (``PROJECTX_CELERY_BROKER``, ``PROJECTX_CELERY_BACKEND``, the prefixed ``runs``
    queue) when the instance loads, in every process: webserver, daemon, workers."""

    @property
    def supports_check_run_worker_health(self) -> bool:
        """No: the launcher asks the result backend for the run task's state, and ``rpc://`` answers only
        the process that sent the task, so the daemon's run monitor would read every healthy run as
        unknown and fail it. Run monitoring bounds runs by time instead (``max_runtime_seconds``)."""
        return False

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
