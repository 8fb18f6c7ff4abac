"""Webhook benchmark, two parts in one run.

    uv run python benchmarks/bench_webhooks.py [--requests 6000] [--senders 50] [--changes 24] [--skip-e2e]

(a) Receiver: a real ``python -m webhooks`` (uvicorn) process on the loopback, 50 concurrent keep-alive
    senders (raw asyncio sockets, so the client costs little CPU) posting signed generic deliveries.
    Accepted deliveries per second and p50/p99 latency, side by side for the inbox settings:
    SQLite WAL ``synchronous=FULL`` (the default: fsync before every 2xx), ``NORMAL`` (not durable
    across power loss; shown for the cost of the fsync), and PostgreSQL when it is reachable.
    Target: >= 500/s with p99 <= 50 ms, durable.
(b) End to end: ServiceNow sandbox incidents updated → outbound REST message → receiver → inbox →
    ``webhook_inbox`` sensor tick (every 5 s, as the daemon's interval) → ``servicenow_incidents_sync``
    (run in process) → the new title visible in ``marts.tasks``. p50/p95 over ``--changes`` changes,
    beside the same changes picked up by the 5-minute poll (wait for the next */5 tick, plus the same
    job's measured duration). Target: p95 <= 60 s.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


# --- (a) receiver throughput --------------------------------------------------------------------------
def build_requests(n: int, port: int, run: str) -> list[bytes]:
    from sandbox.partner import standard_headers

    out = []
    for i in range(n):
        body = (f'{{"type":"bench.delivery","timestamp":"2026-12-02T10:00:00+00:00","data":{{"n":{i},'
                f'"note":"{"x" * 300}"}}}}').encode()
        headers = standard_headers(SECRET, f"msg_{run}_{i}", body)
        head = ["POST /api/integrations/generic/webhook HTTP/1.1", f"Host: 127.0.0.1:{port}",
                "Content-Type: application/json", f"Content-Length: {len(body)}",
                *(f"{k}: {v}" for k, v in headers.items())]
        out.append(("\r\n".join(head) + "\r\n\r\n").encode() + body)
    return out


async def send_all(port: int, requests: list[bytes], senders: int) -> tuple[list[float], dict[int, int], float]:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    it = iter(requests)

    async def sender() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for raw in it:
            started = time.perf_counter()
            writer.write(raw)
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = next(int(line.split(b":")[1]) for line in head.lower().split(b"\r\n")
                          if line.startswith(b"content-length:"))
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            statuses[status] = statuses.get(status, 0) + 1
        writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(sender() for _ in range(senders)))
    return latencies, statuses, time.perf_counter() - started


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def receiver_scenario(label: str, env: dict[str, str], n: int, senders: int, tmp: Path) -> dict | None:
    port = free_port()
    full_env = {**os.environ, "GENERIC_WEBHOOK_SECRET": SECRET, **env}
    proc = subprocess.Popen([sys.executable, "-m", "webhooks", "--port", str(port), "--log-level", "warning"],
                            cwd=ROOT, env=full_env, stdout=(tmp / f"{label}.log").open("wb"), stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    print(f"  {label}: the receiver did not start ({(tmp / f'{label}.log').read_text()[-300:]})")
                    return None
                time.sleep(0.1)
        run = f"{label.split()[0]}{int(time.time())}"
        asyncio.run(send_all(port, build_requests(300, port, run + "w"), senders))  # warm-up
        latencies, statuses, elapsed = asyncio.run(send_all(port, build_requests(n, port, run), senders))
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(20)
    accepted = statuses.get(200, 0)
    return {"label": label, "accepted": accepted, "other": {k: v for k, v in statuses.items() if k != 200},
            "rate": accepted / elapsed, "p50": pct(latencies, 50) * 1000, "p99": pct(latencies, 99) * 1000}


def part_a(n: int, senders: int) -> None:
    print(f"(a) receiver: {n:,} signed deliveries, {senders} concurrent keep-alive senders, loopback")
    tmp = Path(tempfile.mkdtemp(prefix="bench_webhooks_"))
    scenarios = [("sqlite FULL (durable, default)", {"PROJECTX_WEBHOOK_INBOX": str(tmp / "full.sqlite3"),
                                                     "PROJECTX_WAREHOUSE": "duckdb"}),
                 ("sqlite NORMAL (no fsync per commit)", {"PROJECTX_WEBHOOK_INBOX": str(tmp / "normal.sqlite3"),
                                                          "PROJECTX_WEBHOOK_SYNCHRONOUS": "NORMAL",
                                                          "PROJECTX_WAREHOUSE": "duckdb"})]
    pg_db = _pg_database()
    if pg_db:
        scenarios.append(("postgres (durable)", {"PROJECTX_WAREHOUSE": "postgres", "PGDATABASE": pg_db,
                                                 "PGHOST": "127.0.0.1", "PGUSER": "postgres"}))
    print(f"  {'inbox':40} {'accepted/s':>11} {'p50 ms':>8} {'p99 ms':>8}  other answers")
    try:
        for label, env in scenarios:
            r = receiver_scenario(label, env, n, senders, tmp)
            if r:
                print(f"  {label:40} {r['rate']:>11,.0f} {r['p50']:>8.1f} {r['p99']:>8.1f}  {r['other'] or '-'}")
        print("  target: >= 500 accepted/s with p99 <= 50 ms, durable (the FULL row)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if pg_db:
            _pg_drop(pg_db)


def _pg_database() -> str | None:
    try:
        import psycopg2

        conn = psycopg2.connect(host="127.0.0.1", user="postgres", dbname="postgres", connect_timeout=2)
    except Exception:
        return None
    conn.autocommit = True
    name = f"bench_webhooks_{os.getpid()}"
    conn.cursor().execute(f"create database {name}")
    conn.close()
    return name


def _pg_drop(name: str) -> None:
    import psycopg2

    conn = psycopg2.connect(host="127.0.0.1", user="postgres", dbname="postgres")
    conn.autocommit = True
    conn.cursor().execute(f"drop database if exists {name} with (force)")
    conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=6000)
    parser.add_argument("--senders", type=int, default=50)
    parser.add_argument("--changes", type=int, default=24)
    parser.add_argument("--size", type=int, default=400, help="incidents in the sandbox for part (b)")
    parser.add_argument("--skip-e2e", action="store_true")
    args = parser.parse_args()
    part_a(args.requests, args.senders)
    if not args.skip_e2e:
        from benchmarks.webhooks_e2e import part_b

        part_b(args.changes, args.size)


if __name__ == "__main__":
    main()
