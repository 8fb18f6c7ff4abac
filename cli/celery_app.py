"""The Celery app of the scale-out workers (``-A cli.celery_app``): dagster-celery's own app and tasks,
plus the product's definitions imported once in the worker's main process, before Celery forks its
pool. Each pool process then starts with them loaded, so a fresh worker's first step does not spend
6-10 s importing dagster-dbt, dlt, the vendor clients and the dbt manifest (measured in
``benchmarks/bench_scale_out.py``: the first wave of steps started ~9 s after submission, later ones
in under 1 s). The import opens no connection and starts no thread, so it is safe to fork.
"""

from dagster_celery.app import app, execute_job, execute_plan, resume_job  # noqa: F401 - the tasks Celery runs

import definitions  # noqa: F401 - loaded before the fork (see above)
