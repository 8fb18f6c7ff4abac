"""Crash safety: `python -m cli reverse-sync --vendor jira` is SIGKILLed at random points of a
500-record push; reruns leave exactly one Jira issue per task and every Project X change applied."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest

from tests.conftest import jira_env
from tests.reverse_sync_helpers import jira_rows, query, write_outbound, writes

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]


def _push(env: dict, kill_after_writes: int | None, sandbox) -> int | None:
    """Run the CLI push; SIGKILL it once the sandbox has served `kill_after_writes` more writes."""
    start = len(writes(sandbox))
    proc = subprocess.Popen([sys.executable, "-m", "cli", "reverse-sync", "--vendor", "jira"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 240
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            if kill_after_writes is not None and len(writes(sandbox)) - start >= kill_after_writes:
                proc.send_signal(signal.SIGKILL)
                proc.wait(timeout=30)
                return None
            time.sleep(0.02)
        assert proc.poll() is not None, "the push did not finish in 4 minutes"
        return proc.returncode
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)


def test_killed_pushes_leave_one_issue_per_task_and_no_lost_update(make_jira_sandbox, duckdb_warehouse,
                                                                    monkeypatch):
    sandbox = make_jira_sandbox(size=60)
    jira_env(monkeypatch, sandbox)
    rows = jira_rows(500)
    write_outbound(duckdb_warehouse, "jira", rows)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    rng = random.Random(17)
    kills = sorted(rng.sample(range(5, 480), 5))
    for n, after in enumerate(kills):
        assert _push(env, after - (kills[n - 1] if n else 0), sandbox) is None, "killed mid-push"
        if n == 2:  # Project X changes 50 due dates between two crashes: none of them may be lost
            for r in rows[:50]:
                r["due_date"] = date(2027, 3, 1)
            write_outbound(duckdb_warehouse, "jira", rows)
    assert _push(env, None, sandbox) == 0
    assert _push(env, None, sandbox) == 0  # and a rerun finds nothing left to do
    by_task: dict[str, list[dict]] = {}
    for issue in sandbox.issues():
        for label in issue["fields"]["labels"]:
            if label.startswith("projectx:"):
                by_task.setdefault(label[len("projectx:"):], []).append(issue)
    assert {k: len(v) for k, v in by_task.items() if len(v) != 1} == {}, "exactly one issue per task"
    assert set(by_task) == {r["remediation_task_id"] for r in rows}
    for r in rows:
        assert by_task[r["remediation_task_id"]][0]["fields"]["duedate"] == r["due_date"].isoformat()
    links = query(duckdb_warehouse, "select count(*), count(distinct vendor_id) from reverse_sync.external_links")
    assert links == [(500, 500)]
    assert query(duckdb_warehouse, "select count(*) from reverse_sync.dead_letters") == [(0,)]
