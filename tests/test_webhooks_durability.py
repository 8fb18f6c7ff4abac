"""kill -9 of a real uvicorn receiver during a burst: every 2xx'd delivery survives, retries dedupe."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.webhook_helpers import GENERIC, SECRET_ENV, generic_body, generic_request

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_receiver(inbox: Path, log: Path) -> tuple[subprocess.Popen, int]:
    port = free_port()
    # the burst comes from one loopback sender, faster than a vendor may send: no per-sender limit here
    env = {**os.environ, **SECRET_ENV, "PROJECTX_WEBHOOK_INBOX": str(inbox), "PROJECTX_WAREHOUSE": "duckdb",
           "PROJECTX_WEBHOOK_RATE_PER_SECOND": "0"}
    proc = subprocess.Popen([sys.executable, "-m", "webhooks", "--port", str(port), "--log-level", "warning"],
                            cwd=REPO, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return proc, port
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise AssertionError(f"the receiver did not start: {log.read_text()[-2000:]}")


def post(conn: http.client.HTTPConnection, msg_id: str) -> tuple[int, str]:
    kw = generic_request(generic_body("test.burst", id=msg_id), msg_id)
    conn.request("POST", GENERIC, body=kw["content"], headers=kw["headers"])
    resp = conn.getresponse()
    return resp.status, resp.read().decode()


@pytest.mark.slow
def test_kill_dash_nine_during_a_burst_loses_no_acknowledged_delivery(tmp_path):
    inbox, log = tmp_path / "inbox.sqlite3", tmp_path / "receiver.log"
    proc, port = start_receiver(inbox, log)
    ids = [f"msg_burst_{i}" for i in range(4000)]
    acked: set[str] = set()
    lock, cursor = threading.Lock(), iter(ids)

    def sender() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        for msg_id in cursor:
            try:
                status, _ = post(conn, msg_id)
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                continue  # unanswered: the sender will retry it later
            if status == 200:
                with lock:
                    acked.add(msg_id)

    threads = [threading.Thread(target=sender) for _ in range(16)]
    try:
        for t in threads:
            t.start()
        while len(acked) < 600 and proc.poll() is None:
            time.sleep(0.005)
        os.kill(proc.pid, signal.SIGKILL)  # mid-burst: requests are in flight and in the writer's queue
        proc.wait(10)
        for t in threads:
            t.join(60)
        assert 600 <= len(acked) < len(ids), "the kill must land in the middle of the burst"
        with sqlite3.connect(inbox) as conn:
            stored = {r[0] for r in conn.execute("select delivery_id from webhook_events")}
            assert conn.execute("pragma integrity_check").fetchone() == ("ok",)
        assert acked <= stored  # every 2xx'd delivery survived the kill
        proc, port = start_receiver(inbox, log)
        answers: dict[str, str] = {}
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        for msg_id in ids:  # senders retry everything they sent (answered or not: at-least-once)
            status, text = post(conn, msg_id)
            assert status == 200
            answers[msg_id] = text
        assert {answers[m] for m in acked} == {"duplicate"}
        with sqlite3.connect(inbox) as db:
            rows = db.execute("select delivery_id, count(*) from webhook_events group by delivery_id").fetchall()
        assert len(rows) == len(ids) and {n for _, n in rows} == {1}
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(10)
