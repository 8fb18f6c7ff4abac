"""Ingestion benchmark: the ServiceNow dlt source against the raw limit, side by side in one run.

    uv run python benchmarks/bench_ingestion.py [--sizes 100000,1000000] [--latency-size 100000]

For each size, against one sandbox (its own process, so it never shares a GIL with the client):
- raw limit: fetch the same pages (same query, page size, concurrency) and load them with DuckDB's
  ``read_json`` (the ``result`` array sliced out of each body, no Python parsing);
- full sync: ``servicenow_source`` (incidents only) into an empty DuckDB file;
- delta sync after 1% of the incidents changed.
Each measured step runs in a fresh child process, which reports its wall time (libraries imported
before the clock starts) and peak RSS.
Then, with 300 ms added to every sandbox response (a real instance's page latency), the full sync
with one page at a time next to ``--concurrency`` pages at once.
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


def start_sandbox(size: int, latency_ms: int = 0) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--vendor", "servicenow", "--size", str(size), "--port", str(port),
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
    import duckdb  # noqa: F401

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
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f}")
    out = [bench_size(int(s), args.page_size, args.concurrency) for s in args.sizes.split(",")]
    if len(out) >= 2:
        small, large = out[0], out[-1]
        print(f"\nPeak memory, full sync: {large['full'][2]:.0f} MiB at {large['size']:,} vs "
              f"{small['full'][2]:.0f} MiB at {small['size']:,} ({large['full'][2] / small['full'][2]:.2f}x)")
    if args.latency_size:
        bench_latency(args.latency_size, args.latency_concurrency)
    print(json.dumps({"sizes": [o["size"] for o in out]}))


if __name__ == "__main__":
    main()
