"""Round 33: a push SIGKILLed between a vendor write and recording it, over real HTTP in a subprocess.

A Jira edit is followed by a comment saying what Project X changed. A push killed after Jira carried the edit out
and before the comment was sent left the edit without its comment for good: the next run saw the issue already
holding our values (our own changelog entries are echoes) and planned nothing."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb

from assets.reverse_sync import jira_notes
from tests import test_reverse_sync_attacks as attacks
from tests.reverse_sync_helpers import jira_rows, query, run, write_outbound, writes

jira = attacks.jira  # the sandbox fixture
_jira_keys = attacks._jira_keys
ROOT = Path(__file__).resolve().parents[1]
HOLD = 10.0  # how long the sandbox sits on a carried-out write's answer (the push is killed meanwhile)


def _hold_answers(sb, method: str, pattern: str, times: int) -> threading.Event:
    """The first ``times`` ``method`` requests on paths matching ``pattern`` are carried out, then their answer
    waits HOLD seconds; the event is set once one such write is carried out."""
    done = threading.Event()
    left = [times]

    def rewrite(req, resp):
        if req.method == method and re.search(pattern, req.path) and left[0] > 0:
            left[0] -= 1
            done.set()
            time.sleep(HOLD)
        return resp

    sb.rewrite_responses(rewrite)
    return done


def _push_killed_after(vendor: str, written: threading.Event) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", f"from tests.reverse_sync_helpers import run; run({vendor!r})"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not written.wait(0.1):
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise AssertionError(f"the push ended without that write: {proc.communicate()[1][-2000:]!r}")
        proc.send_signal(signal.SIGKILL)  # carried out at the vendor; its answer will never be read
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL


def _notes(sb) -> dict[str, list[str]]:
    out = {}
    for key in _jira_keys(sb):
        comments = sb.store.comments_of(sb.store.resolve(key))
        out[key] = [str(getattr(c, "body", c)) for c in comments]
    return out


def test_a_jira_edit_whose_push_was_killed_before_its_comment_still_gets_its_comment_once(jira, duckdb_warehouse):
    rows = jira_rows(1)
    write_outbound(duckdb_warehouse, "jira", rows)
    assert run("jira").created == 1
    rows[0]["priority"] = "Low"
    write_outbound(duckdb_warehouse, "jira", rows)
    written = _hold_answers(jira, "PUT", r"/rest/api/3/issue/[^/]+$", 1)
    _push_killed_after("jira", written)
    jira.rewrite_responses(None)
    [issue] = [i for i in jira.issues() if i["key"] in _jira_keys(jira)]
    assert issue["fields"]["priority"]["name"] == "Low", "Jira carried the edit out"
    assert list(_notes(jira).values()) == [[]], "killed before the comment"
    # the next push sends the comment owed; killed again, this time once Jira has carried the comment out
    written = _hold_answers(jira, "POST", r"/rest/api/3/issue/[^/]+/comment$", 1)
    _push_killed_after("jira", written)
    jira.rewrite_responses(None)
    assert [len(n) for n in _notes(jira).values()] == [1]
    report = run("jira")
    assert report.dead_lettered == 0, report.failures
    [notes] = _notes(jira).values()
    assert len(notes) == 1 and "priority" in notes[0] and "Low" in notes[0], notes
    jira.clear_request_log()
    assert run("jira").writes == 0 and writes(jira) == []


def test_an_owed_comment_jira_refuses_is_dropped_and_holds_up_nothing(jira, duckdb_warehouse):
    import dataclasses

    from sandbox.core.http import json_response

    rows = jira_rows(2)
    write_outbound(duckdb_warehouse, "jira", rows)
    assert run("jira").created == 2
    [issue] = [i["id"] for i in jira.issues() if "projectx:rem-00000" in i["fields"]["labels"]]
    with duckdb.connect(duckdb_warehouse.duckdb_path) as con:
        for statement in jira_notes.DDL:
            con.execute(statement)
        con.execute(f"insert into {jira_notes.TABLE} "
                    "(vendor_id, internal_id, note, run_id, noted_at) "
                    "values (?, 'rem-00000', 'Project X updated this issue: x', 'killed', now())", [issue])
    write_outbound(duckdb_warehouse, "jira", rows[1:])  # and rem-00000 closes
    decide = jira.faults.decide

    def refuse_comments(auth_faults=True, method="", path=""):
        if method == "POST" and path.endswith("/comment"):
            return dataclasses.replace(decide(auth_faults, method, path), status=298)
        return decide(auth_faults, method, path)

    jira.faults.decide = refuse_comments
    jira.fault_response = lambda decision: json_response(
        {"errorMessages": ["You do not have permission to comment on this issue."], "errors": {}}, 400)
    report = run("jira", min_change_guard=10)
    assert (report.closed, report.dead_lettered) == (1, 0), report.failures
    assert query(duckdb_warehouse, f"select count(*) from {jira_notes.TABLE}") == [(0,)]
    del jira.faults.decide, jira.fault_response
    jira.clear_request_log()
    assert run("jira", min_change_guard=10).writes == 0 and writes(jira) == []


def test_a_push_killed_before_its_edit_left_leaves_one_comment_once_the_edit_is_made(jira, duckdb_warehouse):
    from assets.reverse_sync.jira_screens import edit_note
    from assets.reverse_sync.policy import Change

    rows = jira_rows(1)
    write_outbound(duckdb_warehouse, "jira", rows)
    assert run("jira").created == 1
    rows[0]["priority"] = "Low"
    write_outbound(duckdb_warehouse, "jira", rows)
    [issue] = [i["id"] for i in jira.issues() if "projectx:rem-00000" in i["fields"]["labels"]]
    with duckdb.connect(duckdb_warehouse.duckdb_path) as con:  # owed before a PUT that never left
        for statement in jira_notes.DDL:
            con.execute(statement)
        con.execute(f"insert into {jira_notes.TABLE} "
                    "(vendor_id, internal_id, note, run_id, noted_at) values (?, 'rem-00000', ?, 'killed', now())",
                    [issue, edit_note([Change("priority", "High", "Low")])])
    report = run("jira")
    assert (report.updated, report.dead_lettered) == (1, 0), report.failures
    [notes] = _notes(jira).values()
    assert len(notes) == 1 and "Low" in notes[0], notes
    assert query(duckdb_warehouse, f"select count(*) from {jira_notes.TABLE}") == [(0,)]
