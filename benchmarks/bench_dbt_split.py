"""Would splitting the dbt build per vendor shorten the scale-out cycle? Measured, not guessed.

    uv run python benchmarks/bench_dbt_split.py [--rounds 2] [--ingest-ends jira=8,onetrust=9,servicenow=11]

The idea (issue 16's next one): on the scale-out profile, build each vendor's own dbt nodes (those
reading only that vendor's sources) in its own step as soon as that vendor's sync ends, and the rest
(everything reading two vendors or more: the controls, tasks and marts) after all of them, instead of
one build after the last sync. This times, on the warehouse ``make demo`` left (data/warehouse.duckdb,
or ``PROJECTX_DUCKDB_PATH``), one whole ``dbt build`` beside the same nodes built as those parts, one
invocation each (explicit models and tests, ``--indirect-selection empty``), alternating, ``--rounds``
times, and prints:

- each part's nodes and wall time, and what any dbt invocation costs before its first node (wall time
  minus the node phase dbt reports);
- the chain the split would give the cycle, from the vendors' sync end times (``--ingest-ends``,
  seconds from the first sync's start; the defaults are a 4-worker run of bench_scale_out.py):
  max over vendors of (sync end + its part), then the rest; beside the same syncs followed by the whole
  build. Parts overlap each other and the syncs there; on 2 cores they would also slow each other, so
  the projected gain is an upper bound.
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
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

REST = "rest (two vendors or more)"
NO_SOURCE = "seeds (no vendor)"


def parts(manifest: dict) -> dict[str, list[str]]:
    """dbt node names per part: a vendor's part holds the nodes whose sources are that vendor's alone,
    ``NO_SOURCE`` those that read no source (seeds and what reads only them), ``REST`` all others."""
    nodes, sources = manifest["nodes"], manifest["sources"]
    memo: dict[str, frozenset[str]] = {}

    def vendors(uid: str) -> frozenset[str]:
        if uid not in memo:
            if uid in sources:
                memo[uid] = frozenset({sources[uid]["source_name"]})
            else:
                parents = nodes.get(uid, {}).get("depends_on", {}).get("nodes", [])
                memo[uid] = frozenset().union(*(vendors(p) for p in parents)) if parents else frozenset()
        return memo[uid]

    out: dict[str, list[str]] = {}
    for uid, node in nodes.items():
        if node["resource_type"] not in ("model", "seed", "test"):
            continue
        if node["resource_type"] == "model" and node["config"].get("materialized") == "ephemeral":
            continue
        found = vendors(uid)
        name = next(iter(found)) if len(found) == 1 else (NO_SOURCE if not found else REST)
        out.setdefault(name, []).append(node["name"])
    return out


def build(target: str, select: list[str] | None, seed: Path | None = None) -> tuple[float, float, int]:
    """One ``dbt build`` as Dagster runs it, its target folder seeded with ``seed``'s partial parse (as
    dagster-dbt seeds each invocation's); (wall seconds, dbt's node phase, nodes run)."""
    import shutil

    from assets.dbt import DBT_PROJECT_DIR, PRODUCTION_BUILD_ARGS, build_global_flags, dbt_executable

    args = [dbt_executable(), *[f for f in build_global_flags() if f != "--no-write-json"], *PRODUCTION_BUILD_ARGS,
            "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR), "--target-path", target]
    if select is not None:
        args += ["--select", " ".join(select), "--indirect-selection", "empty"]
    if seed is not None:
        Path(target).mkdir(parents=True)
        shutil.copyfile(seed / "partial_parse.msgpack", Path(target) / "partial_parse.msgpack")
    started = time.perf_counter()
    result = subprocess.run(args, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"dbt build failed:\n{result.stdout[-3000:]}")
    results = json.loads((Path(target) / "run_results.json").read_text())
    return wall, results["elapsed_time"], len(results["results"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--ingest-ends", default="jira=8,onetrust=9,servicenow=11,evidence_stores=1")
    args = parser.parse_args()
    ends = {k: float(v) for k, v in (item.split("=") for item in args.ingest_ends.split(","))}
    from assets.dbt import MANIFEST, prepare_manifest

    prepare_manifest()
    split = parts(json.loads(MANIFEST.read_text()))
    order = [*sorted((p for p in split if p != REST), key=lambda p: -len(split[p])), REST]
    print("parts: " + ", ".join(f"{p} {len(split[p])} nodes" for p in order), flush=True)
    whole: list[float] = []
    each: dict[str, list[tuple[float, float]]] = {p: [] for p in order}
    with tempfile.TemporaryDirectory(prefix="bench_dbt_split_") as tmp:
        build(f"{tmp}/warm", None)  # the partial parse for this warehouse, untimed
        warm = Path(tmp) / "warm"
        for round_ in range(1, args.rounds + 1):
            wall, _, n = build(f"{tmp}/whole{round_}", None, warm)
            whole.append(wall)
            line = [f"whole {wall:.1f} s ({n} nodes)"]
            for p in order:
                wall, phase, _ = build(f"{tmp}/{round_}-{len(each[p])}-{order.index(p)}", split[p], warm)
                each[p].append((wall, phase))
                line.append(f"{p} {wall:.1f} s")
            print(f"  round {round_}: " + ", ".join(line), flush=True)
    med = {p: statistics.median(w for w, _ in runs) for p, runs in each.items()}
    fixed = statistics.median(w - phase for runs in each.values() for w, phase in runs)
    whole_s = statistics.median(whole)
    print(f"\nwhole build {whole_s:.1f} s; the parts one after another {sum(med.values()):.1f} s "
          f"({len(order)} invocations); each invocation's cost before and after its nodes: median {fixed:.1f} s")
    last_sync = max(ends.values())
    vendor_parts = max(ends.get(p, 0.0) + med[p] for p in order if p != REST)
    split_chain = max(vendor_parts, last_sync) + med[REST]
    print(f"syncs end at {', '.join(f'{k} {v:g} s' for k, v in ends.items())}")
    print(f"  one build after the last sync: {last_sync:g} + {whole_s:.1f} = {last_sync + whole_s:.1f} s")
    print(f"  split: vendor parts done by {vendor_parts:.1f} s, then the rest {med[REST]:.1f} s = {split_chain:.1f} s "
          f"({last_sync + whole_s - split_chain:+.1f} s; an upper bound: parts and syncs share the cores)")
    print(f"load average (1, 5, 15 min): {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
