"""One crash-recovery path for every sync, standalone or in Dagster: the run after any number of crashes
discards what the crashed runs left in dlt's working folder and starts from what the warehouse holds.

Why discard, not finish: a sync killed part-way leaves dlt packages in any state — extracted,
half-normalized, normalized *and* still extracted (a kill just after normalize committed; dlt then
fails renaming one onto the other on every later run), partly loaded (an append job committed but not
marked done would be applied twice). Finishing them safely means knowing which of those it is; throwing
them away never needs to. Nothing is lost by it: the cursor and every other piece of resource state
travel in the same package as the data and count only once that package's load completed
(dlt restores state from ``_dlt_pipeline_state`` joined with the completed loads in ``_dlt_loads``).
So after a discard the run re-reads from the last committed cursor and merges on the vendor's keys,
which also rewrites rows a partly loaded package had already written.

How a crash is known, whatever moment it struck:

- an exclusive ``flock`` on ``<pipelines_dir>/<pipeline>.lock`` is held for the whole run: the kernel
  drops it when the process dies, so a live run is never mistaken for a dead one (a second sync of
  the same vendor waits for it instead);
- ``<pipeline>.unfinished`` is written when a run starts and removed when it ends well: found at
  the start of a run, the previous one was killed or failed;
- a working folder that cannot be opened, or holds pending packages, is treated the same way.

A record that kills the process at the same point on every run would make this loop for ever: the
crash ledger beside the marker (``<pipeline>.inflight``, ``<pipeline>.crashes``; see
:mod:`pipelines.common.poison`) counts a crash against the records that were in flight, and quarantines
one in flight in ``PROJECTX_POISON_CRASHES`` crashed runs in a row.

The folder is renamed aside before it is deleted, so a kill during the discard leaves nothing half
deleted behind (the next run sweeps the renamed folder away).
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import dlt

from pipelines.common import poison, warehouse_backup
from pipelines.common.warehouse import WarehouseSettings, opening_lock

log = logging.getLogger(__name__)

LOCK_TIMEOUT_ENV = "PROJECTX_SYNC_LOCK_TIMEOUT_SECONDS"
DEFAULT_LOCK_TIMEOUT_SECONDS = 1800.0


@dataclass
class Recovered:
    """What the run found and did before syncing: ``reason`` is None when the last run ended well."""

    pipeline: dlt.Pipeline
    reason: str | None = None


@contextmanager
def recovered_pipeline(settings: WarehouseSettings, source_name: str, *, progress: str | None = None,
                       dataset: str | None = None) -> Iterator[Recovered]:
    """The vendor's dlt pipeline, exclusive to this run, with anything a crashed run left discarded.

    The run is recorded as finished only if the ``with`` block ends without an exception. ``dataset``:
    the dataset when it is not named after ``source_name``."""
    root = Path(settings.data_dir) / "dlt"
    root.mkdir(parents=True, exist_ok=True)
    name = settings.pipeline_name(source_name)
    duckdb_file = Path(settings.duckdb_path) if settings.kind == "duckdb" else None
    with _exclusive(root / f"{name}.lock", source_name):
        _sweep(root, name)
        marker = root / f"{name}.unfinished"
        reason = "the previous run did not finish (killed or failed)" if marker.exists() else None
        if reason is not None:
            poison.count_crash(root, name, source_name)
        if duckdb_file is not None and (restored := warehouse_backup.restore_if_damaged(duckdb_file)):
            warehouse_backup.others_start_from_the_warehouse(root, name, settings.kind)
            reason = restored
        pipeline: dlt.Pipeline | None = None
        try:
            pipeline = settings.pipeline(source_name, progress=progress, dataset=dataset)
        except Exception as exc:  # a state or schema file cut off mid-write
            reason = f"its working folder could not be opened ({type(exc).__name__}: {str(exc)[:200]})"
        if pipeline is not None and reason is None and pipeline.has_pending_data:
            reason = "packages from an interrupted run were pending"
        if reason is not None:
            log.warning("%s: %s; discarding dlt's working folder %s and restarting from the last load the "
                        "warehouse committed", source_name, reason, root / name)
            with opening_lock(root, name):  # not while another process opens the folder
                discard(root / name)
            pipeline = settings.pipeline(source_name, progress=progress, dataset=dataset)
        marker.write_text(f"{os.getpid()} {time.time():.0f}\n")
        yield Recovered(pipeline, reason)
        marker.unlink(missing_ok=True)
        poison.settle(root, name)
        if duckdb_file is not None:
            _keep_last_good(duckdb_file)


def _keep_last_good(path: Path) -> None:
    """Copy the warehouse to its last good copy (:mod:`pipelines.common.warehouse_backup`); never fails the run."""
    try:
        warehouse_backup.keep_last_good(path)
    except Exception as exc:  # a full disk, a permission: the sync itself succeeded
        log.warning("the warehouse's last good copy was not taken: %s: %s", type(exc).__name__, str(exc)[:200])


def discard(workdir: Path) -> None:
    """Remove a pipeline working folder: renamed aside first (atomic), then deleted."""
    if not workdir.exists():
        return
    aside = workdir.with_name(f".{workdir.name}.discarded-{uuid.uuid4().hex[:8]}")
    workdir.rename(aside)
    shutil.rmtree(aside, ignore_errors=True)


def _sweep(root: Path, name: str) -> None:
    """Delete folders an earlier discard renamed aside but was killed before deleting."""
    for aside in root.glob(f".{name}.discarded-*"):
        shutil.rmtree(aside, ignore_errors=True)


def lock_timeout_seconds() -> float:
    """``PROJECTX_SYNC_LOCK_TIMEOUT_SECONDS``: how long a sync waits for another run of its source (0: not at all)."""
    raw = (os.environ.get(LOCK_TIMEOUT_ENV) or "").strip()
    if not raw:
        return DEFAULT_LOCK_TIMEOUT_SECONDS
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 <= value < float("inf"):  # also refuses nan
        raise ValueError(f"{LOCK_TIMEOUT_ENV}={raw!r} is not a number of seconds of 0 or more: set e.g. "
                         f"{DEFAULT_LOCK_TIMEOUT_SECONDS:.0f} (the default) or unset it")
    return value


@contextmanager
def _exclusive(path: Path, source_name: str) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (waiting up to the lock timeout for another run to end)."""
    timeout = lock_timeout_seconds()
    deadline = time.monotonic() + timeout
    with open(path, "a+") as handle:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise TimeoutError(
                        f"another {source_name} sync still holds {path} after {timeout:.0f}s: wait for it to "
                        f"finish (or raise {LOCK_TIMEOUT_ENV})") from None
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
