"""Run one dlt source from the command line and print what it loaded (no Dagster involved)."""

from __future__ import annotations

import logging
import os
import sys
import time

from pipelines.common.warehouse import WarehouseSettings


def env(name: str, default: str | None = None, *, required: bool = False) -> str | None:
    value = os.environ.get(name, default)
    if required and not value:
        sys.exit(f"{name} is not set: export it (see README 'Configuration') and run again")
    return value


def ca_verify() -> bool | str:
    """TLS verification: a CA bundle path from REQUESTS_CA_BUNDLE, else the system trust store."""
    return os.environ.get("REQUESTS_CA_BUNDLE") or True


def run_source(name: str, source, *, loader_file_format: str = "parquet") -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = WarehouseSettings.from_env()
    pipeline = settings.pipeline(name, progress="log")
    started = time.monotonic()
    print(f"Syncing {name} into {settings.describe()} ...", flush=True)
    info = pipeline.run(source, loader_file_format=loader_file_format)
    counts = pipeline.last_trace.last_normalize_info.row_counts if pipeline.last_trace else {}
    print(f"{name}: done in {time.monotonic() - started:.1f}s; load {info.loads_ids}")
    for table, rows in sorted(counts.items()):
        if not table.startswith("_dlt"):
            print(f"  {table:<30} {rows:>10,} rows")
