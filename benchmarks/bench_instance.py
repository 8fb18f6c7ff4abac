"""Dagster instance storage on the embedded default: Dagster's SQLite classes beside the pooled ones the
template installs (``resources/dagster_storage.py``), alternating, in one run.

    uv run python benchmarks/bench_instance.py [--rounds 3] [--events 1000]

Each round opens a fresh instance of each kind (its own DAGSTER_HOME) and times:

1. creating a ``full_sync`` run (its "planned" events: one per asset and asset check), after one
   warm-up run so the index database exists;
2. storing ``--events`` materialization events in one run (about what a full dbt build writes);
3. reading them back.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

STOCK = "telemetry:\n  enabled: false\n"


def _event(run_id: str, n: int):
    from dagster import AssetKey, AssetMaterialization, DagsterEvent, DagsterEventType, EventLogEntry
    from dagster._core.events import StepMaterializationData

    event = DagsterEvent(DagsterEventType.ASSET_MATERIALIZATION.value, "full_sync", step_key="dbt",
                         event_specific_data=StepMaterializationData(AssetMaterialization(AssetKey(["m", str(n)]))))
    return EventLogEntry(error_info=None, level="debug", user_message="", run_id=run_id, timestamp=time.time(),
                         dagster_event=event)


def measure(kind: str, job, events: int) -> tuple[float, float, float]:
    from dagster import DagsterInstance

    home = Path(tempfile.mkdtemp(prefix=f"bench_instance_{kind}_"))
    template = (ROOT / "resources" / "dagster.yaml").read_text()
    (home / "dagster.yaml").write_text(template if kind == "pooled" else STOCK)
    os.environ["DAGSTER_HOME"] = str(home)
    with DagsterInstance.get() as instance:
        instance.create_run_for_job(job_def=job)
        started = time.perf_counter()
        run = instance.create_run_for_job(job_def=job)
        create = time.perf_counter() - started
        started = time.perf_counter()
        for n in range(events):
            instance.handle_new_event(_event(run.run_id, n))
        store = time.perf_counter() - started
        started = time.perf_counter()
        read = len(instance.all_logs(run.run_id))
        read_s = time.perf_counter() - started
        assert read >= events, (read, events)
        return create, store, read_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--events", type=int, default=1000)
    args = parser.parse_args()
    import definitions

    job = definitions.defs.resolve_job_def("full_sync")
    results: dict[str, list[tuple[float, float, float]]] = {"stock": [], "pooled": []}
    for r in range(args.rounds):
        for kind in ("stock", "pooled") if r % 2 == 0 else ("pooled", "stock"):
            results[kind].append(measure(kind, job, args.events))
            create, store, read = results[kind][-1]
            print(f"  round {r + 1} {kind:<7} create full_sync run {create:5.2f} s   "
                  f"store {args.events:,} events {store:5.2f} s   read them {read:5.2f} s", flush=True)
    print(f"\nmedian of {args.rounds}           create run   store {args.events:,} events   read")
    base = {i: statistics.median(x[i] for x in results["stock"]) for i in range(3)}
    for kind, rows in results.items():
        med = [statistics.median(x[i] for x in rows) for i in range(3)]
        print(f"{kind:<7} (SQLite)        {med[0]:6.2f} s ({med[0] / base[0]:4.0%})   "
              f"{med[1]:6.2f} s ({med[1] / base[1]:4.0%})   {med[2]:5.2f} s")
    print(f"load average (1, 5, 15 min): {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
