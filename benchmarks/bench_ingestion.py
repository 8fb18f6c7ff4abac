"""Ingestion benchmark: the ServiceNow and Jira dlt sources against the raw limit, side by side in one run.

    uv run python benchmarks/bench_ingestion.py [--sizes 100000,1000000] [--latency-size 100000]
        [--jira-size 200000] [--scenarios servicenow,jira,latency]

ServiceNow, for each size, against one sandbox (its own process, so it never shares a GIL with the client):
- raw limit: fetch the same pages (same query, page size, concurrency) and load them with DuckDB's
  ``read_json`` (the ``result`` array sliced out of each body, no Python parsing);
- full sync: ``servicenow_source`` (incidents only) into an empty DuckDB file;
- delta sync after 1% of the incidents changed.
Each measured step runs in a fresh child process, which reports its wall time (libraries imported
before the clock starts) and peak RSS.
Then, with 300 ms added to every sandbox response (a real instance's page latency), the full sync
with one page at a time next to ``--concurrency`` pages at once.

Jira (``--jira-size`` issues, one Jira sandbox): the raw limit fetches the same enhanced-search pages
the source reads (same JQL, fields, ``expand=changelog``, page size, and the same split into
``updated`` ranges read at once; each range pages sequentially by ``nextPageToken``) and loads the
``issues`` arrays with ``read_json``; then ``jira_source`` full sync (attachments as metadata
only: the raw limit downloads no bodies either) and a delta after 1% of the issues changed.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

AUTH = ("integration.user", "sandbox-password")
QUERY = "sys_updated_on>=1970-01-01 00:00:00^ORDERBYsys_id"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_sandbox(size: int, latency_ms: int = 0, vendor: str = "servicenow") -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--vendor", vendor, "--size", str(size), "--port", str(port),
         "--latency-ms", str(latency_ms)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/_sandbox/health", timeout=2).ok:
                return proc, url
        except requests.RequestException:
            pass
        time.sleep(0.5)
    proc.kill()
    raise RuntimeError("sandbox did not start")


def _child(fn, args, queue) -> None:
    # Imports happen before the clock starts: a scheduled sync runs in a warm, long-lived worker.
    # That includes SQLAlchemy, which dlt imports lazily for its load info and Dagster for its storage.
    import dlt.common.libs.sql_alchemy_compat  # noqa: F401
    import duckdb  # noqa: F401

    import pipelines.jira
    import pipelines.servicenow  # noqa: F401
    from pipelines.common.warehouse import WarehouseSettings  # noqa: F401

    started = time.perf_counter()
    rows = fn(*args)
    queue.put((time.perf_counter() - started, rows, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))


def measure(fn, *args) -> tuple[float, int, float]:
    """Run fn(*args) in a fresh process: (seconds, rows, peak RSS MiB)."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(fn, args, queue))
    proc.start()
    result = queue.get()
    proc.join()
    return result


def raw_limit(url: str, workdir: str, page_size: int, concurrency: int) -> int:

    from pipelines.servicenow.settings import TABLES

    session = requests.Session()
    fields = ",".join(TABLES["incident"].fields)

    def fetch(offset: int) -> tuple[bytes, int]:
        r = session.get(f"{url}/api/now/table/incident", auth=AUTH, params={
            "sysparm_query": QUERY, "sysparm_limit": page_size, "sysparm_offset": offset,
            "sysparm_fields": fields, "sysparm_exclude_reference_link": "true"})
        r.raise_for_status()
        return r.content, int(r.headers["X-Total-Count"])

    body, total = fetch(0)
    pages = [body]
    with ThreadPoolExecutor(concurrency) as pool:
        pages += [b for b, _ in pool.map(fetch, range(page_size, total, page_size))]
    for i, body in enumerate(pages):
        Path(workdir, f"p{i:05d}.json").write_bytes(body[len(b'{"result":'):-1])
    return load_raw(workdir, "incidents", "p*.json")


def load_raw(workdir: str, table: str, pattern: str) -> int:
    """The raw limit's load: the page files' arrays into one DuckDB table with ``read_json``."""
    import duckdb

    con = duckdb.connect(str(Path(workdir) / "raw.duckdb"))
    con.execute(f"create table {table} as select * from read_json('{workdir}/{pattern}', format='array')")
    return con.execute(f"select count(*) from {table}").fetchone()[0]


def run_into_duckdb(workdir: str, vendor: str, make_source, table: str) -> int:
    """One dlt sync into a DuckDB file under ``workdir``; returns the rows it moved into ``table``."""
    os.environ.update(PROJECTX_WAREHOUSE="duckdb", PROJECTX_DUCKDB_PATH=f"{workdir}/warehouse.duckdb",
                      PROJECTX_DATA_DIR=f"{workdir}/data", RUNTIME__LOG_LEVEL="WARNING")
    from pipelines.common.warehouse import WarehouseSettings

    pipeline = WarehouseSettings.from_env().pipeline(vendor)
    pipeline.run(make_source(), loader_file_format="parquet")
    return int(pipeline.last_trace.last_normalize_info.row_counts.get(table, 0))


def dlt_sync(url: str, workdir: str, page_size: int, concurrency: int) -> int:
    from pipelines.servicenow import servicenow_source

    return run_into_duckdb(workdir, "servicenow", lambda: servicenow_source(
        base_url=url, client_id="sandbox-client", client_secret="sandbox-secret", tables=["incident"],
        attachments=False, page_size=page_size, concurrency=concurrency), "incidents")


def touch(url: str, n: int) -> None:
    response = requests.post(f"{url}/_sandbox/servicenow/touch", json={"table": "incident", "n": n}, timeout=600)
    response.raise_for_status()


def row(label: str, seconds: float, rows: int, rss: float, ref: float | None = None) -> str:
    rate = rows / seconds if seconds else 0
    ratio = f"{rate / ref:6.2f}x" if ref else "      "
    return f"  {label:<34} {rows:>10,} rows {seconds:8.1f} s {rate:>10,.0f} rows/s {ratio} peak {rss:7.0f} MiB"


def scenario(title: str, vendor: str, size: int, raw_fn, sync_fn, touch_fn, page_size: int,
             concurrency: int) -> dict:
    """Raw limit, full sync, then a delta after 1% changed, against one sandbox; printed side by side."""
    proc, url = start_sandbox(size, vendor=vendor)
    try:
        with tempfile.TemporaryDirectory() as raw_dir, tempfile.TemporaryDirectory() as dlt_dir:
            raw = measure(raw_fn, url, raw_dir, page_size, concurrency)
            full = measure(sync_fn, url, dlt_dir, page_size, concurrency)
            touch_fn(url, size // 100)
            delta = measure(sync_fn, url, dlt_dir, page_size, concurrency)
    finally:
        proc.terminate()
        proc.wait()
    raw_rate = raw[1] / raw[0]
    print(f"\n{title}")
    print(row("raw limit (fetch + DuckDB read_json)", *raw))
    print(row("dlt full sync", *full, ref=raw_rate))
    print(row("dlt delta sync (1% changed)", *delta))
    print(f"  delta / full wall time: {delta[0] / full[0]:.1%}   full-sync throughput vs raw: "
          f"{full[1] / full[0] / raw_rate:.2f}x")
    return {"size": size, "raw": raw, "full": full, "delta": delta}


def bench_size(size: int, page_size: int, concurrency: int) -> dict:
    return scenario(f"ServiceNow incidents, {size:,} records (page {page_size:,}, {concurrency} pages at once)",
                    "servicenow", size, raw_limit, dlt_sync, touch, page_size, concurrency)

JIRA_PAT = "sandbox-jira-pat-0000000000000000"


def jira_reads(url: str, concurrency: int) -> tuple[list[str], list[str]]:
    """The searches and fields of the source's first sync, planned by the source's own code."""
    from pipelines.common.cursor import parse_vendor_ts
    from pipelines.jira.auth import pat_auth
    from pipelines.jira.helpers import JiraClient
    from pipelines.jira.issues import epoch_ms
    from pipelines.jira.search import plan
    from pipelines.jira.settings import ISSUE_FIELDS, PROJECT_SEARCH_PATH

    client = JiraClient(url, pat_auth(JIRA_PAT))
    scope = [p["key"] for page in client.paged_values(PROJECT_SEARCH_PATH, "values", 50) for p in page]
    fields = [*ISSUE_FIELDS, *client.field_map().ids]
    as_of = epoch_ms(parse_vendor_ts(client.server_time()))
    return plan(client, scope, None, None, as_of, concurrency), fields


def jira_raw_limit(url: str, workdir: str, page_size: int, concurrency: int) -> int:

    jqls, fields = jira_reads(url, concurrency)

    def read(n: int) -> None:
        session = requests.Session()
        body = {"jql": jqls[n], "fields": fields, "maxResults": page_size, "expand": "changelog"}
        for page in range(1_000_000):
            r = session.post(f"{url}/rest/api/3/search/jql", json=body,
                             headers={"Authorization": f"Bearer {JIRA_PAT}"})
            r.raise_for_status()
            data = r.content
            # The ``issues`` array sliced out of the body (it precedes nextPageToken and isLast).
            tail = min(p for p in (data.rfind(b'"nextPageToken"'), data.rfind(b'"isLast"')) if p >= 0)
            issues = data[data.index(b"["):data.rfind(b"]", 0, tail) + 1]
            if len(issues) > 2:
                Path(workdir, f"r{n:02d}p{page:06d}.json").write_bytes(issues)
            rest = json.loads(b"{" + data[tail:])  # a few bytes: the token and isLast
            if rest.get("isLast") or not rest.get("nextPageToken"):
                return
            body["nextPageToken"] = rest["nextPageToken"]

    with ThreadPoolExecutor(len(jqls)) as pool:
        list(pool.map(read, range(len(jqls))))
    return load_raw(workdir, "issues", "r*.json")


def jira_sync(url: str, workdir: str, page_size: int, concurrency: int) -> int:
    from pipelines.jira import jira_source

    return run_into_duckdb(workdir, "jira", lambda: jira_source(
        base_url=url, auth_mode="pat", pat=JIRA_PAT, page_size=page_size, concurrency=concurrency,
        max_attachment_bytes=0), "issues")


def touch_jira(url: str, n: int) -> None:
    requests.post(f"{url}/_sandbox/jira/touch", json={"n": n}, timeout=600).raise_for_status()


def bench_jira(size: int, page_size: int, concurrency: int) -> dict:
    return scenario(f"Jira issues, {size:,} records (page {page_size}, up to {concurrency} searches at once)",
                    "jira", size, jira_raw_limit, jira_sync, touch_jira, page_size, concurrency)

def bench_latency(size: int, concurrency: int) -> None:
    proc, url = start_sandbox(size, latency_ms=300)
    try:
        results = {}
        for c in (1, concurrency):
            with tempfile.TemporaryDirectory() as d:
                results[c] = measure(dlt_sync, url, d, 1000, c)
    finally:
        proc.terminate()
        proc.wait()
    print(f"\nWith 300 ms per page: {size:,} incidents, page 1,000")
    print(row("one page at a time", *results[1]))
    print(row(f"{concurrency} pages at once", *results[concurrency]))
    speedup = (results[concurrency][1] / results[concurrency][0]) / (results[1][1] / results[1][0])
    print(f"  speed-up: {speedup:.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--page-size", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--latency-size", type=int, default=100_000)
    parser.add_argument("--latency-concurrency", type=int, default=16)
    parser.add_argument("--jira-size", type=int, default=200_000)
    parser.add_argument("--jira-page-size", type=int, default=100)
    parser.add_argument("--jira-concurrency", type=int, default=4)
    parser.add_argument("--scenarios", default="servicenow,jira,latency",
                        help="comma list of servicenow, jira, latency")
    args = parser.parse_args()
    scenarios = {s.strip() for s in args.scenarios.split(",") if s.strip()}
    unknown = scenarios - {"servicenow", "jira", "latency"}
    if unknown:
        parser.error(f"unknown scenarios {sorted(unknown)}: choose from servicenow, jira, latency")
    print(f"machine: {os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f}")
    out = [bench_size(int(s), args.page_size, args.concurrency) for s in args.sizes.split(",")] \
        if "servicenow" in scenarios else []
    if len(out) >= 2:
        small, large = out[0], out[-1]
        print(f"\nPeak memory, full sync: {large['full'][2]:.0f} MiB at {large['size']:,} vs "
              f"{small['full'][2]:.0f} MiB at {small['size']:,} ({large['full'][2] / small['full'][2]:.2f}x)")
    if args.latency_size and "latency" in scenarios:
        bench_latency(args.latency_size, args.latency_concurrency)
    summary: dict = {"sizes": [o["size"] for o in out]}
    if args.jira_size and "jira" in scenarios:
        jira = bench_jira(args.jira_size, args.jira_page_size, args.jira_concurrency)
        summary["jira_size"] = jira["size"]
    print(f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
