"""Run one dlt source from the command line and print what it loaded (no Dagster involved)."""

from __future__ import annotations

import logging
import os
import sys
import time

from pipelines.common.recovery import recovered_pipeline
from pipelines.common.warehouse import WarehouseSettings


def env(name: str, default: str | None = None, *, required: bool = False) -> str | None:
    value = os.environ.get(name, default)
    if required and not value:
        sys.exit(f"{name} is not set: export it (see README 'Configuration') and run again")
    return value


def ca_verify() -> bool | str:
    """TLS verification: a CA bundle path from REQUESTS_CA_BUNDLE, else the system trust store."""
    return os.environ.get("REQUESTS_CA_BUNDLE") or True


def run_source(name: str, source, *, loader_file_format: str | None = "parquet") -> None:
    """Sync one source; whatever a crashed earlier run left is discarded first (pipelines.common.recovery).
    ``loader_file_format=None``: dlt's default for the destination."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = WarehouseSettings.from_env()
    started = time.monotonic()
    with recovered_pipeline(settings, name, progress="log") as run:
        if run.reason:
            print(f"{name}: recovered: {run.reason}; discarded its unfinished dlt packages", flush=True)
        print(f"Syncing {name} into {settings.describe()} ...", flush=True)
        info = run.pipeline.run(source, loader_file_format=loader_file_format)
        counts = normalized_rows(run.pipeline)
    print(f"{name}: done in {time.monotonic() - started:.1f}s; load {info.loads_ids}")
    for table, rows in sorted(counts.items()):
        if not table.startswith("_dlt"):
            print(f"  {table:<30} {rows:>10,} rows")


def normalized_rows(pipeline) -> dict[str, int]:
    """Rows per table the last run normalized; empty when it normalized nothing (dlt then has no info)."""
    trace = pipeline.last_trace
    info = trace.last_normalize_info if trace is not None else None
    return dict(info.row_counts) if info is not None else {}
