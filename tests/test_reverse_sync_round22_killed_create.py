"""Round 22: a push killed (SIGKILL) after a create's request left and before its answer was audited left no
trace of that create. The vendor still carried it out, and a rerun whose look-up by our id could not see the
record yet made a second one: Jira's JQL search lags its writes; a ServiceNow create still being carried out is
not in the table yet. Now each create is marked in ``reverse_sync.pending_creates`` (committed) before it is sent:
the rerun holds the record (dead letter ``deferred: ...``) while the look-up cannot be trusted, then adopts it.

A real push runs in a subprocess against the sandbox over HTTP; the sandbox holds the create's request (it has
arrived: the vendor is working on it) and the test kills the push right then."""

from __future__ import annotations

import dataclasses
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb

from assets.reverse_sync import state, unsettled
from assets.reverse_sync.servicenow import remediation_table
from tests import test_reverse_sync_attacks as attacks
from tests.reverse_sync_helpers import jira_rows, query, run, write_outbound
from tests.test_reverse_sync_servicenow import remediation_rows

servicenow, jira = attacks.servicenow, attacks.jira  # the sandbox fixtures
_dead, _jira_by_task, _sn_by_task = attacks._dead, attacks._jira_by_task, attacks._sn_by_task
ROOT = Path(__file__).resolve().parents[1]
HOLD = 8.0  # how long the sandbox works on the create before carrying it out


def _hold_first_create(sb, monkeypatch, pattern: str) -> threading.Event:
    """The sandbox sleeps HOLD seconds on the first create it is sent (then carries it out); the event is set
    when that request has arrived."""
    arrived = threading.Event()
    decide = sb.faults.decide

    def held(auth_faults: bool = True, method: str = "", path: str = ""):
        decision = decide(auth_faults, method, path)
        if method == "POST" and re.search(pattern, path) and not arrived.is_set():
            arrived.set()
            return dataclasses.replace(decision, delay=HOLD)
        return decision

    monkeypatch.setattr(sb.faults, "decide", held)
    return arrived


def _push_killed_mid_create(vendor: str, arrived: threading.Event) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", f"from tests.reverse_sync_helpers import run; run({vendor!r})"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        if not arrived.wait(120):
            proc.kill()
            raise AssertionError(f"the push never sent its create: {proc.communicate()[1][-2000:]!r}")
        proc.send_signal(signal.SIGKILL)  # the request is at the vendor; its answer will never be read
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL


def _until(check, seconds: float = 20.0):
    deadline = time.monotonic() + seconds
    while not check() and time.monotonic() < deadline:
        time.sleep(0.05)
    return check()


def test_jira_push_killed_mid_create_is_held_while_search_lags_then_adopted(jira, duckdb_warehouse, monkeypatch):
    write_outbound(duckdb_warehouse, "jira", jira_rows(1))
    jira.faults.set(search_lag_seconds=600)  # the new issue stays out of JQL's answers
    arrived = _hold_first_create(jira, monkeypatch, r"/rest/api/3/issue$")
    _push_killed_mid_create("jira", arrived)
    assert _until(lambda: _jira_by_task(jira) == {"rem-00000": 1}), "Jira carried the create out"
    assert query(duckdb_warehouse, "select count(*) from audit.events where operation = 'create'") == [(0,)], \
        "killed before its answer was audited"

    rerun = run("jira")  # the search does not show the issue: creating now would make a second one
    assert (rerun.created, rerun.adopted, rerun.dead_lettered) == (0, 0, 1), rerun.failures
    [reason] = _dead(duckdb_warehouse, "jira").values()
    assert reason.startswith("deferred:") and "stopped before its answer was recorded" in reason, reason
    assert _jira_by_task(jira) == {"rem-00000": 1}, "no second issue"

    jira.sync_index()  # the index caught up, and the lag has passed
    monkeypatch.setenv("PROJECTX_JIRA_SEARCH_LAG_SECONDS", "0")
    later = run("jira")
    assert (later.created, later.adopted, later.dead_lettered) == (0, 1, 0), later.failures
    assert _jira_by_task(jira) == {"rem-00000": 1}
    assert query(duckdb_warehouse, "select count(*) from reverse_sync.pending_creates") == [(0,)]
    assert run("jira").writes == 0


def test_servicenow_push_killed_mid_create_is_held_while_the_instance_works_then_adopted(
    servicenow, duckdb_warehouse, monkeypatch
):
    write_outbound(duckdb_warehouse, "servicenow", remediation_rows(1))
    arrived = _hold_first_create(servicenow, monkeypatch, remediation_table())
    _push_killed_mid_create("servicenow", arrived)
    rerun = run("servicenow")  # right away: the instance is still working on the first create
    assert (rerun.created, rerun.adopted, rerun.dead_lettered) == (0, 0, 1), (rerun.failures, _sn_by_task(servicenow))
    [reason] = _dead(duckdb_warehouse, "servicenow").values()
    assert reason.startswith("deferred:") and "PROJECTX_SERVICENOW_CREATE_SETTLE_SECONDS" in reason, reason
    assert _until(lambda: _sn_by_task(servicenow) == {"rem-sn-00000": 1}), "ServiceNow carried the create out"
    later = run("servicenow")  # its look-up by correlation_id shows the record now: adopted, not created
    assert (later.created, later.adopted, later.dead_lettered) == (0, 1, 0), later.failures
    assert _sn_by_task(servicenow) == {"rem-sn-00000": 1}, "no second record"
    assert run("servicenow").writes == 0


def test_a_create_marked_sent_but_not_found_is_created_once_the_window_has_passed(jira, duckdb_warehouse,
                                                                                  monkeypatch):
    """The mark holds the record only within the window: a push killed before its request reached Jira made
    nothing, and once the search can be trusted the record is created (once)."""
    write_outbound(duckdb_warehouse, "jira", jira_rows(1))
    with duckdb.connect(duckdb_warehouse.duckdb_path) as con:
        for statement in state.DDL:
            con.execute(statement)
        con.execute("insert into reverse_sync.pending_creates values ('jira', 'rem-00000', 'killed', null, ?)",
                    [unsettled._now()])
    held = run("jira")
    assert (held.created, held.dead_lettered) == (0, 1), held.failures
    monkeypatch.setenv("PROJECTX_JIRA_SEARCH_LAG_SECONDS", "0")
    created = run("jira")
    assert (created.created, created.dead_lettered) == (1, 0), created.failures
    assert _jira_by_task(jira) == {"rem-00000": 1}
    assert query(duckdb_warehouse, "select count(*) from reverse_sync.pending_creates") == [(0,)]
