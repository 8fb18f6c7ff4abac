"""A larger randomized crash-and-corruption run than the test suite's, with figures side by side.

    uv run python benchmarks/bench_ingestion_faults.py [--vendor servicenow|jira|onetrust] [--size 3000]
        [--kills 25] [--seed 7] [--via cli|dagster]

Against one sandbox of ``--size`` records: a clean first sync (timed), then ``--kills`` syncs each killed
with SIGKILL at a random dlt step while the vendor keeps changing (touches, deletes, creations) and 1%
of records are served malformed, then the fault clears and one normal sync runs (timed). It prints
where the kills struck, how long the recovering sync took next to a clean incremental one, and the
parity figures (missing, stale, ghost, falsely deleted records; duplicate keys) — all zero when
recovery, quarantine re-reads and delete capture hold.
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipelines.common.warehouse import WarehouseSettings  # noqa: E402
from tests import ingestion_harness as H  # noqa: E402


def _start(vendor: str, size: int):
    """The sandbox, the env the syncs read, the entity compared, and a vendor-change function."""
    if vendor == "servicenow":
        from sandbox.servicenow import ServiceNowSandbox
        sb = ServiceNowSandbox(port=0, size=size).start()
        c = sb.credentials
        os.environ.update(SERVICENOW_BASE_URL=sb.url, SERVICENOW_OAUTH_CLIENT_ID=c["client_id"],
                          SERVICENOW_OAUTH_CLIENT_SECRET=c["client_secret"], SERVICENOW_USER=c["username"],
                          SERVICENOW_PASSWORD=c["password"])

        def change(n: int) -> None:
            sb.touch("incident", n=max(1, size // 100))
            sb.delete("incident", sb.records("incident")[n]["sys_id"])
            sb.insert("incident", {"short_description": f"new {n}"})
        return sb, H.SN_INCIDENTS, change
    if vendor == "jira":
        from sandbox.jira.sandbox import JiraSandbox
        sb = JiraSandbox(port=0, size=size).start()
        c = sb.credentials
        os.environ.update(JIRA_BASE_URL=sb.url, JIRA_AUTH_MODE="pat", JIRA_USER_EMAIL=c["email"],
                          JIRA_API_TOKEN=c["api_token"], ENABLE_JIRA_DELTA_RECON="true")

        def change(n: int) -> None:
            sb.touch(n=max(1, size // 100))
            sb.delete(sb.issues(fields=["updated"])[n]["key"])
            sb.sync_index()
        return sb, H.JIRA_ISSUES, change
    from sandbox.onetrust.app import OneTrustSandbox
    sb = OneTrustSandbox(port=0, size=size).start()
    os.environ.update(ONETRUST_BASE_URL=sb.url, ONETRUST_CLIENT_ID=sb.client_id,
                      ONETRUST_CLIENT_SECRET=sb.client_secret)

    def change(n: int) -> None:
        sb.touch("risks", n=max(1, size // 100))
        sb.delete("risks", sb.risks()[n]["id"])
    return sb, H.OT_RISKS, change


def _parity(sb, settings, entity) -> dict[str, int]:
    vendor = H.vendor_state(sb, entity)
    rows = H.sql(settings, f"select {entity.key}, {entity.version} from {entity.vendor}.{entity.table}")
    gone = H.marked_deleted(settings, entity)
    stored = {k: v for k, v in rows if k not in gone}
    return {"missing": len(set(vendor) - set(stored)), "ghosts": len(set(stored) - set(vendor)),
            "stale": sum(1 for k in set(vendor) & set(stored) if vendor[k] != stored[k]),
            "falsely deleted": len(gone & set(vendor)), "duplicate keys": len(rows) - len({r[0] for r in rows})}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vendor", default="servicenow", choices=["servicenow", "jira", "onetrust"])
    ap.add_argument("--size", type=int, default=3000)
    ap.add_argument("--kills", type=int, default=25)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--via", default="cli", choices=["cli", "dagster"])
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-faults-"))
    os.environ.update(PROJECTX_WAREHOUSE="duckdb", PROJECTX_DUCKDB_PATH=str(work / "warehouse.duckdb"),
                      PROJECTX_DATA_DIR=str(work / "data"))
    settings = WarehouseSettings.from_env()
    sb, entity, change = _start(args.vendor, args.size)
    try:
        started = time.monotonic()
        H.sync(args.vendor, args.via, timeout=1800)
        first = time.monotonic() - started
        change(0)
        H.wait_a_second()
        started = time.monotonic()
        H.sync(args.vendor, args.via, timeout=1800)
        clean = time.monotonic() - started
        sb.faults.set(rate_malformed=0.01)
        struck = H.kill_loop(args.vendor, args.via, sb, settings, args.kills, args.seed, on_kill=change,
                             max_attempts=args.kills * 3)
        sb.faults.set(rate_malformed=0.0)
        H.wait_a_second()
        started = time.monotonic()
        H.sync(args.vendor, args.via, timeout=1800)
        recovering = time.monotonic() - started
        figures = _parity(sb, settings, entity)
    finally:
        sb.stop()
    print(f"{args.vendor} via {args.via}, {args.size} records, {args.kills} kills (seed {args.seed})")
    print(f"  kills struck in: {dict(collections.Counter(struck))}")
    print(f"  {'first sync':<34}{first:8.1f} s")
    print(f"  {'clean incremental sync':<34}{clean:8.1f} s")
    print(f"  {'sync after the kills (recovering)':<34}{recovering:8.1f} s")
    for name, value in figures.items():
        print(f"  {name:<34}{value:8d}")


if __name__ == "__main__":
    main()
