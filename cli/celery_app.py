"""The Celery app of the scale-out workers (``-A cli.celery_app``): dagster-celery's own app and tasks,
plus the product's definitions imported once in the worker's main process, before Celery forks its
pool. Each pool process then starts with them loaded, so a fresh worker's first step does not spend
6-10 s importing dagster-dbt, dlt, the vendor clients and the dbt manifest (measured in
``benchmarks/bench_scale_out.py``: the first wave of steps started ~9 s after submission, later ones
in under 1 s). The import opens no connection and starts no thread, so it is safe to fork.
"""

from dagster_celery.app import app, execute_job, execute_plan, resume_job  # noqa: F401 - the tasks Celery runs

import definitions  # loaded before the fork (see above)

# Every job resolved before the fork too (its asset graph, partitions and checks: 0.04 s for full_sync
# here, in each pool process otherwise).
for _job in definitions.defs.get_repository_def().get_all_jobs():
    definitions.defs.resolve_job_def(_job.name)

# dbt's programmatic runner and the adapters, for builds in the worker's own process
# (assets/dbt_runner.py): imported once here, not by every build's fresh dbt subprocess (~2 s CPU).
if definitions.defs.resources["dbt"].in_process:
    import dbt.adapters.duckdb
    import dbt.adapters.postgres  # noqa: F401
    from dbt.cli.main import dbtRunner  # noqa: F401

    from assets.dbt_runner import install as _install_in_process_dbt

    _install_in_process_dbt()
