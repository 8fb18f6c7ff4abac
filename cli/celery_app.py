"""The Celery app of the scale-out workers (``-A cli.celery_app``): dagster-celery's own app and tasks,
plus the product's definitions imported once in the worker's main process, before Celery forks its
pool. Each pool process then starts with them loaded, so a fresh worker's first step does not spend
6-10 s importing dagster-dbt, dlt, the vendor clients and the dbt manifest (measured in
``benchmarks/bench_scale_out.py``: the first wave of steps started ~9 s after submission, later ones
in under 1 s). The import opens no connection and starts no thread, so it is safe to fork.
"""

import contextlib

from celery.result import allow_join_result
from celery.signals import task_postrun, task_prerun
from dagster_celery.app import app, execute_job, execute_plan, resume_job  # noqa: F401 - the tasks Celery runs
from dagster_celery.config import TASK_EXECUTE_JOB_NAME, TASK_RESUME_JOB_NAME

import definitions  # loaded before the fork (see above)

# Every job resolved before the fork too (its asset graph, partitions and checks: 0.04 s for full_sync
# here, in each pool process otherwise).
for _job in definitions.defs.get_repository_def().get_all_jobs():
    definitions.defs.resolve_job_def(_job.name)

# A run worker (the `runs` queue, resources/dagster_launcher.py) executes a run as a Celery task, and
# the run's Celery executor waits there for its steps' results. Celery refuses result.get() inside a task
# (a task waiting on tasks of its own pool can wait for ever), and dagster-celery reads the refusal as a
# step with no events: the whole run failed. The steps run on the workload queues' workers, never on the
# run worker, so the wait cannot be on itself: the run tasks, and only they, may wait.
_RUN_TASKS = {TASK_EXECUTE_JOB_NAME, TASK_RESUME_JOB_NAME}
_JOINS: dict[str, contextlib.AbstractContextManager] = {}


@task_prerun.connect
def _run_tasks_may_wait(task_id=None, task=None, **_):
    if task is not None and task.name in _RUN_TASKS:
        joins = allow_join_result()
        joins.__enter__()
        _JOINS[task_id] = joins


@task_postrun.connect
def _run_task_done(task_id=None, **_):
    joins = _JOINS.pop(task_id, None)
    if joins is not None:
        joins.__exit__(None, None, None)
