"""``python -m cli schedules list|pause|resume``: the schedules of this deployment from the shell.

Pausing a schedule stops its ticks in the Dagster instance (``DAGSTER_HOME``), exactly as the UI's
toggle does; resuming starts them again. Pausing loses nothing: the next run of a resumed schedule
reads everything changed since its stored cursor. To pause a whole integration everywhere (its
schedules, sensors and reverse writes), set its feature flag instead: ``INTEGRATION_<NAME>_ENABLED``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def remote_repository(instance) -> Iterator:
    """The deployment's repository as the daemon and the UI see it (``workspace.yaml``), loaded in process."""
    from dagster import __version__
    from dagster._cli.workspace.cli_target import (
        WorkspaceOpts,
        get_code_location_from_workspace,
        get_remote_repository_from_code_location,
        get_workspace_from_cli_opts,
    )

    opts = WorkspaceOpts(workspace=(str(ROOT / "workspace.yaml"),))
    with get_workspace_from_cli_opts(instance, __version__, opts, allow_in_process=True) as workspace:
        yield get_remote_repository_from_code_location(get_code_location_from_workspace(workspace, None), None)


def schedule_states(instance, repo) -> dict[str, str]:
    """name -> RUNNING or STOPPED (the stored state, else the schedule's default)."""
    out = {}
    for schedule in repo.get_schedules():
        state = instance.get_instigator_state(schedule.get_remote_origin_id(), schedule.selector_id)
        status = state.status.value if state else schedule.default_status.value
        out[schedule.name] = "RUNNING" if status in ("RUNNING", "DECLARED_IN_CODE") and (
            state is None or state.is_running) else "STOPPED"
    return out


def run(action: str, names: list[str], everything: bool = False) -> int:
    from dagster import DagsterInstance

    with DagsterInstance.get() as instance, remote_repository(instance) as repo:
        known = {s.name: s for s in repo.get_schedules()}
        if action == "list":
            for name, status in sorted(schedule_states(instance, repo).items()):
                print(f"{name:34} {status:8} {known[name].cron_schedule}")
            return 0
        targets = list(known) if everything else names
        unknown = [n for n in targets if n not in known]
        if unknown or not targets:
            print(f"no such schedule: {', '.join(unknown) or '(none given)'}; choose from {', '.join(sorted(known))} "
                  "or --all")
            return 2
        for name in targets:
            schedule = known[name]
            if action == "pause":
                instance.stop_schedule(schedule.get_remote_origin_id(), schedule.selector_id, schedule)
            else:
                instance.start_schedule(schedule)
            print(f"{'paused' if action == 'pause' else 'resumed'} {name}")
    return 0
