"""dbt benchmark: a full ``dbt build`` over N ServiceNow incidents on DuckDB, next to the incremental
build after 1% of them changed, in one run.

    uv run python benchmarks/bench_dbt.py [--size 1000000] [--changed 0.01]
    uv run python benchmarks/bench_dbt.py --overheads [--size 1000] [--rounds 3]

The warehouse is loaded by the real ServiceNow source from the sandbox (its own process); Jira and
OneTrust stay empty (their staging reads typed empty relations). Timed: ``dbt build`` as a
subprocess, with the arguments Dagster's dbt asset passes (``assets.dbt.PRODUCTION_BUILD_ARGS``:
data tests, no unit tests); the delta syncs between builds are not timed. The builds:

1. ``--full-refresh`` of every node: every model rebuilt, every test over every row;
2. after the sandbox changed 1% of the incidents and the delta was synced: the dbt models of the
   ``servicenow_incidents_sync`` job (everything downstream of the incidents asset, resolved from
   the Dagster definitions exactly as a scheduled run selects them);
3. the same again with nothing new: the fixed cost of that build;
4. after another 1% delta, every model (what ``full_sync`` runs);
5. ``dbt run`` of one view: the floor of any dbt invocation (process start, importing dbt, the
   partially-parsed project, artifacts), which no model can go below.

``--overheads`` instead times the same full build (no ``--full-refresh``) with dbt's defaults (a debug
log file of every statement, manifest.json and run_results.json written) beside the global flags
Dagster's builds pass (``assets.dbt.build_global_flags()``), and those flags through the launcher
Dagster's builds start dbt with (``cli/run_dbt.py``: log lines no logger writes are not formatted),
alternating, ``--rounds`` times each.

Each build prints its wall time split into dbt's start/parse/finish (wall minus the node phase dbt
reports in run_results.json) and node time by kind (summed over dbt's threads, so it can exceed the
wall time), and the slowest nodes. The summary compares both the wall time and dbt's node phase.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
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


def incidents_job_models() -> tuple[list[str], int]:
    """The dbt models a `servicenow_incidents_sync` run builds, resolved from the Dagster definitions,
    and how many dbt assets the project has."""
    from dagster import AssetSelection

    from assets.dbt import projectx_dbt_models
    from definitions import defs
    from sensors.schedules import servicenow_incidents_job

    selection = servicenow_incidents_job.selection
    assert isinstance(selection, AssetSelection)
    keys = selection.resolve(defs.resolve_asset_graph()) & set(projectx_dbt_models.keys)
    return sorted(key.path[-1] for key in keys), len(projectx_dbt_models.keys)


def dbt_build(target_path: str, *extra: str, command: tuple[str, ...] | None = None) -> tuple[float, dict]:
    """Run dbt (by default Dagster's `dbt build`); returns the wall seconds and run_results.json."""
    from assets.dbt import DBT_PROJECT_DIR, PRODUCTION_BUILD_ARGS, dbt_executable

    started = time.perf_counter()
    result = subprocess.run(
        [dbt_executable(), *(command or PRODUCTION_BUILD_ARGS), "--project-dir", str(DBT_PROJECT_DIR),
         "--profiles-dir", str(DBT_PROJECT_DIR), "--target-path", target_path, *extra],
        capture_output=True, text=True, check=False)
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


def overheads(size: int, rounds: int) -> None:
    """dbt's defaults beside Dagster's build flags, alternating (machines are noisy): wall seconds."""
    from assets.dbt import DBT_PROJECT_DIR, PRODUCTION_BUILD_ARGS, build_global_flags, dbt_command, dbt_executable

    flags = build_global_flags({})
    plain, launched = [dbt_executable()], dbt_command()
    variants = {"dbt defaults (debug log file, JSON artifacts)": [*plain],
                f"Dagster's flags {' '.join(flags)}": [*plain, *flags],
                "the same through cli/run_dbt.py (Dagster's builds)": [*launched, *flags]}
    with tempfile.TemporaryDirectory() as work:
        os.environ.update(PROJECTX_WAREHOUSE="duckdb", PROJECTX_DUCKDB_PATH=f"{work}/warehouse.duckdb",
                          PROJECTX_DATA_DIR=f"{work}/data")
        for var in ("DBT_LOG_LEVEL_FILE", "DBT_WRITE_JSON"):
            os.environ.pop(var, None)
        proc, url = start_sandbox(size)
        try:
            print(f"loading {size:,} incidents from the sandbox ...", flush=True)
            print(f"  {sync(url):,} rows loaded", flush=True)
        finally:
            proc.terminate()
            proc.wait()
        times: dict[str, list[float]] = {label: [] for label in variants}
        for round_ in range(rounds + 1):  # round 0 warms each variant's partial parse: not counted
            for i, (label, extra) in enumerate(variants.items()):
                target = f"{work}/target{i}"
                started = time.perf_counter()
                subprocess.run([*extra, *PRODUCTION_BUILD_ARGS, "--project-dir", str(DBT_PROJECT_DIR),
                                "--profiles-dir", str(DBT_PROJECT_DIR), "--target-path", target, "--log-path", target,
                                "--log-format", "json"], capture_output=True, check=True)
                if round_:
                    times[label].append(time.perf_counter() - started)
            if round_:
                print(f"  round {round_}: " + ", ".join(f"{t[-1]:.1f} s" for t in times.values()), flush=True)
        base = statistics.median(next(iter(times.values())))
        print(f"\nfull dbt build, {size:,} incidents, median of {rounds} (as dagster-dbt runs it: JSON log lines)")
        for label, values in times.items():
            median = statistics.median(values)
            print(f"  {label:<62} {median:6.1f} s  ({median / base:4.0%})")
        print(f"load average (1, 5, 15 min): {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=None, help="incidents (default 1,000,000; 1,000 with --overheads)")
    parser.add_argument("--changed", type=float, default=0.01, help="share of incidents changed before (2) and (4)")
    parser.add_argument("--overheads", action="store_true", help="dbt's defaults beside Dagster's build flags")
    parser.add_argument("--rounds", type=int, default=3, help="with --overheads: builds of each variant")
    args = parser.parse_args()
    if args.overheads:
        overheads(args.size or 1000, args.rounds)
        return
    args.size = args.size or 1_000_000
    with tempfile.TemporaryDirectory() as work:
        os.environ.update(PROJECTX_WAREHOUSE="duckdb", PROJECTX_DUCKDB_PATH=f"{work}/warehouse.duckdb",
                          PROJECTX_DATA_DIR=f"{work}/data", PROJECTX_DUCKDB_MEMORY_LIMIT="2GB")
        models, dbt_assets = incidents_job_models()
        select = ("--select", *models)
        proc, url = start_sandbox(args.size)

        def delta() -> int:
            requests.post(f"{url}/_sandbox/servicenow/touch",
                          json={"table": "incident", "n": int(args.size * args.changed)},
                          timeout=600).raise_for_status()
            return sync(url)

        try:
            print(f"loading {args.size:,} incidents (and the other ServiceNow tables) from the sandbox ...", flush=True)
            rows = sync(url)
            print(f"  {rows:,} rows loaded; load average {os.getloadavg()[0]:.2f}", flush=True)
            target = f"{work}/target"
            full = dbt_build(target, "--full-refresh")
            report("(1) full build --full-refresh", *full)
            changed = delta()
            incremental = dbt_build(target, *select)
            report(f"(2) incidents job, {changed:,} changed", *incremental)
            floor = dbt_build(target, *select)
            report("(3) incidents job, nothing new", *floor)
            changed_all = delta()
            every = dbt_build(target)
            report(f"(4) every model, {changed_all:,} changed", *every)
            one_view = dbt_build(target, "--select", "stg_servicenow__loads", command=("run",))
            report("(5) dbt run of one view", *one_view)
        finally:
            proc.terminate()
            proc.wait()

        def line(label: str, run: tuple[float, dict]) -> str:
            seconds, results = run
            nodes = results["elapsed_time"]
            return (f"{label:<44} {seconds:6.1f} s wall ({seconds / full[0]:4.0%} of full)   "
                    f"{nodes:6.1f} s dbt node phase ({nodes / full[1]['elapsed_time']:4.0%} of full)")

        print(f"\nDagster's servicenow_incidents_sync builds {len(models)} of the {dbt_assets} dbt assets")
        print(line("full build", full))
        print(line(f"incremental, incidents job, {changed:,} changed", incremental) + "   target <= 10%")
        print(line("incremental, incidents job, nothing new", floor))
        print(line(f"incremental, every model, {changed_all:,} changed", every) + "   target <= 10%")
        print(line("floor: dbt run of one view", one_view))
        print(f"load average (1, 5, 15 min): {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
