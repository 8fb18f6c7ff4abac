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
    import duckdb

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
    con = duckdb.connect(str(Path(workdir) / "raw.duckdb"))
    con.execute(f"create table incidents as select * from read_json('{workdir}/p*.json', format='array')")
    return con.execute("select count(*) from incidents").fetchone()[0]


def dlt_sync(url: str, workdir: str, page_size: int, concurrency: int) -> int:
    os.environ.update(PROJECTX_WAREHOUSE="duckdb", PROJECTX_DUCKDB_PATH=f"{workdir}/warehouse.duckdb",
                      PROJECTX_DATA_DIR=f"{workdir}/data", RUNTIME__LOG_LEVEL="WARNING")
    from pipelines.common.warehouse import WarehouseSettings
    from pipelines.servicenow import servicenow_source

    pipeline = WarehouseSettings.from_env().pipeline("servicenow")
    source = servicenow_source(base_url=url, client_id="sandbox-client", client_secret="sandbox-secret",
                               tables=["incident"], attachments=False, page_size=page_size,
                               concurrency=concurrency)
    pipeline.run(source, loader_file_format="parquet")
    return int(pipeline.last_trace.last_normalize_info.row_counts.get("incidents", 0))


def touch(url: str, n: int) -> None:
    response = requests.post(f"{url}/_sandbox/servicenow/touch", json={"table": "incident", "n": n}, timeout=600)
    response.raise_for_status()


def row(label: str, seconds: float, rows: int, rss: float, ref: float | None = None) -> str:
    rate = rows / seconds if seconds else 0
    ratio = f"{rate / ref:6.2f}x" if ref else "      "
    return f"  {label:<34} {rows:>10,} rows {seconds:8.1f} s {rate:>10,.0f} rows/s {ratio} peak {rss:7.0f} MiB"


def bench_size(size: int, page_size: int, concurrency: int) -> dict:
    proc, url = start_sandbox(size)
    try:
        with tempfile.TemporaryDirectory() as raw_dir, tempfile.TemporaryDirectory() as dlt_dir:
            raw = measure(raw_limit, url, raw_dir, page_size, concurrency)
            full = measure(dlt_sync, url, dlt_dir, page_size, concurrency)
            touch(url, size // 100)
            delta = measure(dlt_sync, url, dlt_dir, page_size, concurrency)
    finally:
        proc.terminate()
        proc.wait()
    raw_rate = raw[1] / raw[0]
    print(f"\nServiceNow incidents, {size:,} records (page {page_size:,}, {concurrency} pages at once)")
    print(row("raw limit (fetch + DuckDB read_json)", *raw))
    print(row("dlt full sync", *full, ref=raw_rate))
    print(row("dlt delta sync (1% changed)", *delta))
    print(f"  delta / full wall time: {delta[0] / full[0]:.1%}   full-sync throughput vs raw: "
          f"{full[1] / full[0] / raw_rate:.2f}x")
    return {"size": size, "raw": raw, "full": full, "delta": delta}


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
    import duckdb

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
    con = duckdb.connect(str(Path(workdir) / "raw.duckdb"))
    con.execute(f"create table issues as select * from read_json('{workdir}/r*.json', format='array')")
    return con.execute("select count(*) from issues").fetchone()[0]


def jira_sync(url: str, workdir: str, page_size: int, concurrency: int) -> int:
    os.environ.update(PROJECTX_WAREHOUSE="duckdb", PROJECTX_DUCKDB_PATH=f"{workdir}/warehouse.duckdb",
                      PROJECTX_DATA_DIR=f"{workdir}/data", RUNTIME__LOG_LEVEL="WARNING")
    from pipelines.common.warehouse import WarehouseSettings
    from pipelines.jira import jira_source

    pipeline = WarehouseSettings.from_env().pipeline("jira")
    source = jira_source(base_url=url, auth_mode="pat", pat=JIRA_PAT, page_size=page_size,
                         concurrency=concurrency, max_attachment_bytes=0)
    pipeline.run(source, loader_file_format="parquet")
    return int(pipeline.last_trace.last_normalize_info.row_counts.get("issues", 0))


def bench_jira(size: int, page_size: int, concurrency: int) -> dict:
    proc, url = start_sandbox(size, vendor="jira")
    try:
        with tempfile.TemporaryDirectory() as raw_dir, tempfile.TemporaryDirectory() as dlt_dir:
            raw = measure(jira_raw_limit, url, raw_dir, page_size, concurrency)
            full = measure(jira_sync, url, dlt_dir, page_size, concurrency)
            requests.post(f"{url}/_sandbox/jira/touch", json={"n": size // 100}, timeout=600).raise_for_status()
            delta = measure(jira_sync, url, dlt_dir, page_size, concurrency)
    finally:
        proc.terminate()
        proc.wait()
    raw_rate = raw[1] / raw[0]
    print(f"\nJira issues, {size:,} records (page {page_size}, up to {concurrency} searches at once)")
    print(row("raw limit (fetch + DuckDB read_json)", *raw))
    print(row("dlt full sync", *full, ref=raw_rate))
    print(row("dlt delta sync (1% changed)", *delta))
    print(f"  delta / full wall time: {delta[0] / full[0]:.1%}   full-sync throughput vs raw: "
          f"{full[1] / full[0] / raw_rate:.2f}x")
    return {"size": size, "raw": raw, "full": full, "delta": delta}


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
