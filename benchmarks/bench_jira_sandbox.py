"""Benchmark the Jira sandbox at scale: build time and search paging latency.

    uv run python benchmarks/bench_jira_sandbox.py [--size 200000] [--pages 5]

Reported: time to build a `size`-issue instance; the first enhanced-search page (`/rest/api/3/search/jql`,
all fields, 100 a page, ORDER BY updated); each next page by `nextPageToken` (min / median / max); a 5,000-row
search of ids. The figures the suite once asserted as a timed test (build < 30 s, every page < 1 s on 2 cores) are
printed beside them as targets, not checked.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=200_000)
    parser.add_argument("--pages", type=int, default=5)
    args = parser.parse_args()

    from sandbox.jira import JiraSandbox
    from tests.sandbox.jira.helpers import session_for

    print(f"building a {args.size:,}-issue Jira sandbox ...", flush=True)
    started = time.perf_counter()
    sb = JiraSandbox(size=args.size, seed=1).start()
    built = time.perf_counter() - started
    try:
        with session_for(sb) as s:
            params = {"jql": 'project = ENG AND updated >= "2026-09-01 00:00" ORDER BY updated ASC, key',
                      "fields": "*all", "maxResults": 100}
            t0 = time.perf_counter()
            token = s.get(f"{sb.url}/rest/api/3/search/jql", params=params).json()["nextPageToken"]
            first = time.perf_counter() - t0
            pages = []
            for _ in range(args.pages):
                t0 = time.perf_counter()
                token = s.get(f"{sb.url}/rest/api/3/search/jql",
                              params={**params, "nextPageToken": token}).json()["nextPageToken"]
                pages.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            s.get(f"{sb.url}/rest/api/3/search/jql", params={"jql": "project in (SEC, GRC, ENG)", "maxResults": 5000})
            ids = time.perf_counter() - t0
    finally:
        sb.stop()
    print(f"build                {built:8.2f} s   (target < 30 s)")
    print(f"first page           {first * 1000:8.0f} ms")
    print(f"next pages           {min(pages) * 1000:8.0f} / {statistics.median(pages) * 1000:.0f} / "
          f"{max(pages) * 1000:.0f} ms min/median/max   (target < 1,000 ms each)")
    print(f"5,000-id search      {ids * 1000:8.0f} ms")


if __name__ == "__main__":
    main()
