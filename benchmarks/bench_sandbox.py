"""Benchmark the ServiceNow sandbox: dataset build time and Table API serving rate.

    uv run python benchmarks/bench_sandbox.py [--size 1000000] [--records 300000]

The sandbox runs in a child process (so client JSON parsing does not fight the server for the GIL).
Reported:
- time to build a `size`-incident instance (generation of every table + loading), in the child;
- first delta query on the sys_updated_on index (index build + bisect);
- serving rate for the connector's delta query
  `sys_updated_on>=X^ORDERBYsys_updated_on^ORDERBYsys_id` (raw values, no reference links)
  with `requests` over one keep-alive session, at page sizes 1,000 and 10,000: a cold pass
  (records rendered to JSON for the first time) and a warm pass (served from the per-record cache),
  both including the client's `r.json()`, then a warm pass reading bytes only (server-bound rate).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import sys
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

AUTH = ("integration.user", "sandbox-password")
QUERY = "sys_updated_on>=2026-05-01 00:00:00^ORDERBYsys_updated_on^ORDERBYsys_id"


def serve(size: int, conn) -> None:  # child process
    from sandbox.servicenow import ServiceNowSandbox

    started = time.perf_counter()
    sb = ServiceNowSandbox(size=size, seed=42)
    built = time.perf_counter() - started
    rows = sum(len(t) for t in sb.store.tables.values())
    sb.start()
    conn.send((sb.url, built, rows, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))
    conn.recv()  # wait for "stop"
    conn.send(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    sb.stop()


def fetch(session: requests.Session, url: str, page: int, offset: int, count: int,
          parse: bool = True) -> tuple[int, int, float]:
    """Fetch `count` records from `offset` in pages; returns (records, bytes, seconds)."""
    got = size = 0
    started = time.perf_counter()
    while got < count:
        r = session.get(url, params={"sysparm_query": QUERY, "sysparm_limit": page, "sysparm_offset": offset + got,
                                     "sysparm_exclude_reference_link": "true"})
        r.raise_for_status()
        remaining = int(r.headers["X-Total-Count"]) - offset - got
        n = len(r.json()["result"]) if parse else max(0, min(page, remaining))
        if n == 0:
            break
        got += n
        size += len(r.content)
    return got, size, time.perf_counter() - started


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", type=int, default=1_000_000, help="incidents in the instance")
    p.add_argument("--records", type=int, default=300_000, help="records fetched per pass")
    opts = p.parse_args()

    parent, child = mp.Pipe()
    proc = mp.get_context("fork").Process(target=serve, args=(opts.size, child), daemon=True)
    proc.start()
    base, built, rows, rss_built = parent.recv()
    url = f"{base}/api/now/table/incident"
    results = [("build instance", f"{opts.size:,} incidents / {rows:,} rows", f"{built:.1f} s", "")]
    with requests.Session() as s:
        s.auth = AUTH
        s.headers["Accept"] = "application/json"
        started = time.perf_counter()
        first = s.get(url, params={"sysparm_query": QUERY, "sysparm_limit": 1})
        results.append(("first delta query", f"{int(first.headers['X-Total-Count']):,} matches",
                        f"{time.perf_counter() - started:.2f} s", "index build + bisect"))
        n = opts.records
        plan = [(1_000, 0, "cold"), (1_000, 0, "warm"), (1_000, 0, "warm, bytes only"),
                (10_000, n, "cold"), (10_000, n, "warm"), (10_000, n, "warm, bytes only")]
        for page, offset, label in plan:
            got, size, secs = fetch(s, url, page, offset, n, parse="bytes" not in label)
            results.append((f"page {page:,} ({label})", f"{got:,} records, {size / 1e6:,.0f} MB", f"{secs:.1f} s",
                            f"{got / secs:,.0f} records/s"))
    parent.send("stop")
    rss_end = parent.recv()
    proc.join(timeout=30)
    results.append(("server memory (max RSS)", f"{rss_built:,.0f} MB after build", f"{rss_end:,.0f} MB at end", ""))

    widths = [max(len(str(r[i])) for r in results) for i in range(4)]
    print(f"\nServiceNow sandbox benchmark (size={opts.size:,}, records/pass={opts.records:,})")
    for row in results:
        print("  " + " | ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)))
    print(f"  target: build < 60 s -> {'OK' if built < 60 else 'MISSED'}")


if __name__ == "__main__":
    main()
