"""dbt benchmark: a full ``dbt build`` over N ServiceNow incidents on DuckDB, next to an incremental
build after 1% of them changed, in one run.

    uv run python benchmarks/bench_dbt.py [--size 1000000] [--changed 0.01]

The warehouse is loaded by the real ServiceNow source from the sandbox (its own process); Jira and
OneTrust stay empty (their staging reads typed empty relations). Timed: ``dbt build`` (models and
tests, the same command and selection Dagster runs) as a subprocess; the delta sync between the
builds is not. Three builds:

1. ``dbt build --full-refresh``: every model rebuilt, every test over every row;
2. ``dbt build`` after the sandbox changed 1% of the incidents and the delta was synced;
3. ``dbt build`` again with nothing new: the fixed cost of one dbt invocation over this project
   (process start, parse, one statement per seed, view, model and test), the floor of (2).

Each build prints its wall time split into dbt's start/parse/finish (wall minus the node phase
dbt reports in run_results.json) and node time by kind: models, data tests, seeds, unit tests
(node seconds are summed over dbt's threads, so they can exceed the wall time), and the slowest nodes.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
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


def dbt_build(target_path: str, *extra: str) -> tuple[float, dict]:
    """Run `dbt build`; returns the wall seconds and dbt's run_results.json."""
    from assets.dbt import DBT_PROJECT_DIR, dbt_executable

    started = time.perf_counter()
    result = subprocess.run(
        [dbt_executable(), "build", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
         "--target-path", target_path, *extra], capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"dbt build failed:\n{result.stdout[-3000:]}")
    return seconds, json.loads((Path(target_path) / "run_results.json").read_text())


def report(label: str, seconds: float, run_results: dict, slowest: int = 5) -> None:
    kinds: dict[str, list[float]] = defaultdict(list)
    for node in run_results["results"]:
        kinds[node["unique_id"].split(".")[0]].append(node["execution_time"])
    node_phase = run_results["elapsed_time"]
    print(f"{label:<34} {seconds:7.1f} s wall = {seconds - node_phase:5.1f} s dbt start/parse/finish "
          f"+ {node_phase:5.1f} s running {len(run_results['results'])} nodes", flush=True)
    parts = ", ".join(f"{name} {len(times)} nodes {sum(times):.1f} s" for name, times in sorted(kinds.items()))
    print(f"{'':<34} node time: {parts}")
    top = sorted(run_results["results"], key=lambda n: n["execution_time"], reverse=True)[:slowest]
    print(f"{'':<34} slowest: " + ", ".join(f"{n['unique_id'].split('.')[2]} {n['execution_time']:.2f} s"
                                             for n in top), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--changed", type=float, default=0.01, help="share of incidents changed before (2)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        os.environ.update(PROJECTX_WAREHOUSE="duckdb", PROJECTX_DUCKDB_PATH=f"{work}/warehouse.duckdb",
                          PROJECTX_DATA_DIR=f"{work}/data", PROJECTX_DUCKDB_MEMORY_LIMIT="2GB")
        proc, url = start_sandbox(args.size)
        try:
            print(f"loading {args.size:,} incidents (and the other ServiceNow tables) from the sandbox ...", flush=True)
            rows = sync(url)
            print(f"  {rows:,} rows loaded; load average {os.getloadavg()[0]:.2f}", flush=True)
            full, full_results = dbt_build(f"{work}/target", "--full-refresh")
            report("(1) full dbt build --full-refresh", full, full_results)
            requests.post(f"{url}/_sandbox/servicenow/touch",
                          json={"table": "incident", "n": int(args.size * args.changed)},
                          timeout=600).raise_for_status()
            changed = sync(url)
            incremental, incremental_results = dbt_build(f"{work}/target")
            report(f"(2) incremental, {changed:,} rows changed", incremental, incremental_results)
            floor, floor_results = dbt_build(f"{work}/target")
            report("(3) incremental, nothing changed", floor, floor_results)
            print(f"\nfull dbt build:        {full:7.1f} s")
            print(f"incremental dbt build: {incremental:7.1f} s after {changed:,} changed rows "
                  f"({incremental / full:.0%} of the full build; target <= 10%)")
            print(f"no-change dbt build:   {floor:7.1f} s (the fixed cost of one `dbt build`: "
                  f"{floor / full:.0%} of the full build)")
            print(f"load average (1, 5, 15 min): {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        finally:
            proc.terminate()
            proc.wait()


if __name__ == "__main__":
    main()
