"""dbt benchmark: a full ``dbt build`` over N ServiceNow incidents on DuckDB, next to an incremental
build after 1% of them changed, in one run.

    uv run python benchmarks/bench_dbt.py [--size 1000000]

The warehouse is loaded by the real ServiceNow source from the sandbox (its own process); Jira and
OneTrust stay empty (their staging reads typed empty relations). Timed: ``dbt build`` (models and
tests) as a subprocess, the way Dagster runs it; the delta sync between the two builds is not.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_ingestion import start_sandbox  # noqa: E402


def sync(url: str) -> int:
    from pipelines.common.warehouse import WarehouseSettings
    from pipelines.servicenow import servicenow_source

    pipeline = WarehouseSettings.from_env().pipeline("servicenow")
    pipeline.run(servicenow_source(base_url=url, client_id="sandbox-client", client_secret="sandbox-secret",
                                   attachments=False, page_size=5000, concurrency=4),
                 loader_file_format="parquet")
    return sum(v for k, v in pipeline.last_trace.last_normalize_info.row_counts.items() if not k.startswith("_"))


def dbt_build(target_path: str, *extra: str) -> float:
    from assets.dbt import DBT_PROJECT_DIR, dbt_executable

    started = time.perf_counter()
    result = subprocess.run(
        [dbt_executable(), "build", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
         "--target-path", target_path, *extra], capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"dbt build failed:\n{result.stdout[-3000:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        os.environ.update(PROJECTX_WAREHOUSE="duckdb", PROJECTX_DUCKDB_PATH=f"{work}/warehouse.duckdb",
                          PROJECTX_DATA_DIR=f"{work}/data", PROJECTX_DUCKDB_MEMORY_LIMIT="2GB")
        proc, url = start_sandbox(args.size)
        try:
            print(f"loading {args.size:,} incidents (and the other ServiceNow tables) from the sandbox ...", flush=True)
            rows = sync(url)
            print(f"  {rows:,} rows loaded", flush=True)
            full = dbt_build(f"{work}/target", "--full-refresh")
            print(f"full dbt build:        {full:7.1f} s", flush=True)
            requests.post(f"{url}/_sandbox/servicenow/touch", json={"table": "incident", "n": args.size // 100},
                          timeout=600).raise_for_status()
            changed = sync(url)
            incremental = dbt_build(f"{work}/target")
            print(f"incremental dbt build: {incremental:7.1f} s after {changed:,} changed rows "
                  f"({incremental / full:.0%} of the full build; target <= 10%)")
        finally:
            proc.terminate()
            proc.wait()


if __name__ == "__main__":
    main()
