"""Processes that open the same dlt pipeline at once: Celery workers starting side by side each load the
definitions, which build every vendor's pipeline in the shared data directory. dlt creates a missing
working folder by wiping what is there first, so without the opening lock they delete it under each
other (seen as a worker that exits at start with ``Directory not empty`` or ``File exists``)."""

from __future__ import annotations

import multiprocessing
import os

import pytest

from pipelines.common.warehouse import WarehouseSettings

PROCESSES = 6


def _open(data_dir: str, barrier, results) -> None:
    os.environ.update(PROJECTX_DATA_DIR=data_dir, PROJECTX_WAREHOUSE="postgres")
    barrier.wait()  # every process calls dlt.pipeline() at the same moment
    try:
        pipeline = WarehouseSettings.from_env().pipeline("servicenow")
        results.put(("ok", pipeline.working_dir))
    except Exception as exc:  # reported to the parent, which names it in the failure
        results.put(("error", f"{type(exc).__name__}: {exc}"))


@pytest.mark.parametrize("round_", range(3))
def test_processes_opening_one_new_pipeline_at_once_all_succeed_and_share_one_folder(tmp_path, round_):
    ctx = multiprocessing.get_context("fork")
    barrier, results = ctx.Barrier(PROCESSES), ctx.Queue()
    procs = [ctx.Process(target=_open, args=(str(tmp_path), barrier, results)) for _ in range(PROCESSES)]
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    errors = [detail for status, detail in outcomes if status == "error"]
    assert not errors, f"{len(errors)} of {PROCESSES} processes failed to open the pipeline: {errors[0]}"
    folders = {detail for _, detail in outcomes}
    assert len(folders) == 1
    workdir = tmp_path / "dlt" / "projectx_servicenow_postgres"
    assert (workdir / "state.json").is_file(), sorted(p.name for p in workdir.iterdir())
    # and it opens again, as the next run's recovery would
    WarehouseSettings(kind="postgres", data_dir=str(tmp_path)).pipeline("servicenow")


def _sync_dropping_its_state(data_dir: str, rounds: int, barrier, results) -> None:
    """What a running sync does to its folder: dagster-dlt drops the pipeline's local state (wipes the
    working folder and builds it again) before each run."""
    from pipelines.common.recovery import recovered_pipeline

    os.environ.update(PROJECTX_DATA_DIR=data_dir, PROJECTX_WAREHOUSE="postgres")
    barrier.wait()
    try:
        with recovered_pipeline(WarehouseSettings.from_env(), "servicenow") as run:
            for _ in range(rounds):
                run.pipeline.drop()
        results.put(("ok", "sync"))
    except Exception as exc:
        results.put(("error", f"sync: {type(exc).__name__}: {exc}"))


def _definitions_loading(data_dir: str, rounds: int, barrier, results) -> None:
    """What a worker loading the Dagster definitions does: build every vendor's descriptive pipeline."""
    os.environ.update(PROJECTX_DATA_DIR=data_dir, PROJECTX_WAREHOUSE="postgres")
    barrier.wait()
    try:
        for _ in range(rounds):
            WarehouseSettings.from_env().pipeline("servicenow", definition_only=True)
        results.put(("ok", "definitions"))
    except Exception as exc:
        results.put(("error", f"definitions: {type(exc).__name__}: {exc}"))


def test_loading_the_definitions_beside_a_running_sync_never_touches_the_syncs_folder(tmp_path):
    """Seen on four Celery workers: a worker loading the definitions created files in the folder a
    running sync was wiping, and the sync failed with ``Directory not empty``."""
    ctx = multiprocessing.get_context("fork")
    barrier, results = ctx.Barrier(3), ctx.Queue()
    procs = [ctx.Process(target=_sync_dropping_its_state, args=(str(tmp_path), 40, barrier, results)),
             ctx.Process(target=_definitions_loading, args=(str(tmp_path), 40, barrier, results)),
             ctx.Process(target=_definitions_loading, args=(str(tmp_path), 40, barrier, results))]
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    assert [detail for status, detail in outcomes if status == "error"] == []
    assert (tmp_path / "dlt" / ".definitions" / "projectx_servicenow_postgres" / "state.json").is_file()
