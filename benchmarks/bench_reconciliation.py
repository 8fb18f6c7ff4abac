"""Reconciliation benchmark: the ServiceNow incident id census at scale, two approaches side by side.

    uv run python benchmarks/bench_reconciliation.py [--size 1000000] [--drift 100]

One ServiceNow sandbox (its own process) with ``--size`` incidents; a DuckDB warehouse whose
``servicenow.incidents`` holds the same ids less ``--drift`` (missing here) plus ``--drift`` ids the
vendor does not have (deleted there). Each approach runs in a fresh child process that reports its
wall time and peak RSS (libraries imported before the clock starts, as in a warm worker); the
baseline is a child that only imports them:

- streamed census (the nightly job, assets/reconciliation): vendor ids and their ``sys_updated_on``
  read with ``fields=sys_id,sys_updated_on`` page by page into ``reconciliation.census_ids``, compared
  with the table in SQL, then the version census (``census.redated``: ``--drift`` stored rows carry
  another stamp than the vendor's);
- streamed ids only (the census before the version census): the same without the stamps;
- in-Python sets (the approach of the ingestion's ``_reconcile`` sweep): every vendor id and every
  stored id held in Python sets, compared there.

Each is run twice: once for wall time and peak RSS (the process: Python, DuckDB's buffers capped by
``--duckdb-memory``, and the HTTP client), once under ``tracemalloc`` for the peak of what Python
itself holds (the part that grows with the table in the sets approach; tracemalloc slows it down, so
that run's time is not shown).

Each must find exactly the ``--drift`` missing and ``--drift`` deleted ids (and the streamed census the
``--drift`` re-dated ones); the script checks it.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_ingestion import start_sandbox  # noqa: E402

AUTH = {"client_id": "sandbox-client", "client_secret": "sandbox-secret", "username": "integration.user",
        "password": "sandbox-password"}


def _client(url: str):
    from pipelines.servicenow.helpers import ServiceNowClient

    return ServiceNowClient(url, AUTH["client_id"], AUTH["client_secret"], AUTH["username"], AUTH["password"])


class _Warehouse:
    """The part of WarehouseResource the census uses, on one DuckDB file."""

    def __init__(self, path: str):
        self.path = path

    def connect(self):
        from contextlib import contextmanager

        import duckdb

        from resources.warehouse import Connection

        @contextmanager
        def opened():
            raw = duckdb.connect(self.path)
            try:
                yield Connection(raw, "duckdb")
                raw.commit()
            finally:
                raw.close()
        return opened()


def baseline(url: str, path: str) -> tuple[int, int, int]:
    return 0, 0, 0


def streamed(url: str, path: str, versions: bool = True) -> tuple[int, int, int]:
    from assets.reconciliation import census
    from assets.reconciliation.vendors import servicenow_tables

    table = next(t for t in servicenow_tables(lambda: _client(url)) if t.entity == "incidents")
    pages = table.ids() if versions else ([rid for rid, _ in page] for page in table.ids())
    with _Warehouse(path).connect() as conn:
        census.load_ids(conn, "servicenow", "incidents", pages)
        result = census.compare(conn, "servicenow", "incidents", "sys_id", limit=0)
        redated = census.redated(conn, "servicenow", "incidents", "sys_id", "sys_updated_on",
                                 limit=10_000) if versions else []
    return result.gone_total, result.missing_total, len(redated)


def streamed_ids_only(url: str, path: str) -> tuple[int, int, int]:
    return streamed(url, path, versions=False)


def in_python_sets(url: str, path: str) -> tuple[int, int, int]:
    import duckdb

    client = _client(url)
    vendor: set[str] = set()
    for page in client.read_concurrently("incident", "", page_size=10_000, concurrency=2, fields=["sys_id"]):
        vendor.update(r["sys_id"] for r in page)
    client.close()
    with duckdb.connect(path, read_only=True) as con:
        stored = {r[0] for r in con.execute("select sys_id from servicenow.incidents").fetchall()}
    return len(stored - vendor), len(vendor - stored), 0


def _child(fn, args, traced, queue) -> None:
    import tracemalloc

    import duckdb  # noqa: F401
    import pyarrow  # noqa: F401

    import assets.reconciliation.census  # noqa: F401
    import pipelines.servicenow.helpers  # noqa: F401
    import resources.warehouse  # noqa: F401

    if traced:
        tracemalloc.start()
    started = time.perf_counter()
    found = fn(*args)
    seconds = time.perf_counter() - started
    heap = tracemalloc.get_traced_memory()[1] / 2**20 if traced else 0.0
    queue.put((seconds, found, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, heap))


def measure(fn, *args, traced: bool = False):
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(fn, args, traced, queue))
    proc.start()
    result = queue.get()
    proc.join()
    return result


def prepare(url: str, path: str, drift: int) -> int:
    """The warehouse: the vendor's ids and stamps less ``drift``, plus ``drift`` ids the vendor lacks,
    and ``drift`` rows whose stored stamp is not the vendor's (a restore re-dated them there); a sync
    that completed now."""
    import duckdb

    client = _client(url)
    with duckdb.connect(path) as con:
        con.execute("create schema servicenow")
        con.execute("create table servicenow.incidents (sys_id varchar, sys_updated_on varchar)")
        for page in client.read_concurrently("incident", "", page_size=10_000, concurrency=2,
                                             fields=["sys_id", "sys_updated_on"]):
            con.execute("insert into servicenow.incidents select unnest(?), unnest(?)",
                        [[r["sys_id"] for r in page], [r["sys_updated_on"] for r in page]])
        client.close()
        con.execute(f"delete from servicenow.incidents where sys_id in "
                    f"(select sys_id from servicenow.incidents order by sys_id limit {drift})")
        con.execute(f"update servicenow.incidents set sys_updated_on = '2099-01-01 00:00:00' where sys_id in "
                    f"(select sys_id from servicenow.incidents order by sys_id desc limit {drift})")
        con.execute(f"insert into servicenow.incidents select md5('gone' || i), '2026-01-01 00:00:00' "
                    f"from range({drift}) t(i)")
        con.execute("create table servicenow._dlt_loads (inserted_at timestamp, status integer)")
        con.execute("insert into servicenow._dlt_loads values (now()::timestamp, 0)")
        return con.execute("select count(*) from servicenow.incidents").fetchone()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--drift", type=int, default=100)
    parser.add_argument("--duckdb-memory", default="128MB", help="PROJECTX_DUCKDB_MEMORY_LIMIT for the census")
    args = parser.parse_args()
    os.environ["PROJECTX_DUCKDB_MEMORY_LIMIT"] = args.duckdb_memory
    print(f"starting a ServiceNow sandbox with {args.size:,} incidents ...", flush=True)
    started = time.monotonic()
    proc, url = start_sandbox(args.size)
    try:
        print(f"  ready in {time.monotonic() - started:.0f} s", flush=True)
        with tempfile.TemporaryDirectory(prefix="bench-recon-") as work:
            path = os.path.join(work, "warehouse.duckdb")
            stored = prepare(url, path, args.drift)
            print(f"warehouse: {stored:,} stored ids ({args.drift} missing, {args.drift} deleted at the vendor)\n")
            print(f"DuckDB memory limit {args.duckdb_memory}\n")
            print(f"{'approach':<32}{'seconds':>9}{'peak RSS MiB':>15}{'over baseline':>15}{'Python heap MiB':>17}"
                  "  found (deleted, missing, re-dated)")
            _, _, base, _ = measure(baseline, url, path)
            print(f"{'baseline (imports only)':<32}{'-':>9}{base:>15.0f}{'-':>15}{'-':>17}")
            d = args.drift
            approaches = (("streamed census (nightly job)", streamed, (d, d, d)),
                          ("streamed ids only (before)", streamed_ids_only, (d, d, 0)),
                          ("in-Python sets (_reconcile)", in_python_sets, (d, d, 0)))
            for name, fn, expected in approaches:
                seconds, found, peak, _ = measure(fn, url, path)
                heap = measure(fn, url, path, traced=True)[3]
                ok = "ok" if tuple(found) == expected else "WRONG"
                print(f"{name:<32}{seconds:>9.1f}{peak:>15.0f}{peak - base:>15.0f}{heap:>17.1f}  {tuple(found)} {ok}",
                      flush=True)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


if __name__ == "__main__":
    main()
