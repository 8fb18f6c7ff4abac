"""Crash safety: `python -m cli reverse-sync --vendor <vendor>` is SIGKILLed at random points of a
push (500 Jira issues, 250 ServiceNow remediation records, 240 OneTrust attestations); reruns leave
exactly one vendor record per internal id, every Project X change applied, one link per record and
no dead letter; for ServiceNow and OneTrust a further clean push also writes nothing to the vendor."""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest

from assets.reverse_sync.servicenow import remediation_table
from tests.conftest import jira_env, onetrust_env, sandbox_env
from tests.reverse_sync_helpers import attestation_rows, jira_rows, query, write_outbound, writes
from tests.test_reverse_sync_servicenow import remediation_rows

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]


def _push(env: dict, vendor: str, kill_after_writes: int | None, sandbox) -> int | None:
    """Run the CLI push; SIGKILL it once the sandbox has served `kill_after_writes` more writes."""
    start = len(writes(sandbox))
    proc = subprocess.Popen([sys.executable, "-m", "cli", "reverse-sync", "--vendor", vendor], cwd=ROOT, env=env,
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
        assert _push(env, "jira", after - (kills[n - 1] if n else 0), sandbox) is None, "killed mid-push"
        if n == 2:  # Project X changes 50 due dates between two crashes: none of them may be lost
            for r in rows[:50]:
                r["due_date"] = date(2027, 3, 1)
            write_outbound(duckdb_warehouse, "jira", rows)
    env = _settled(env)
    assert _push(env, "jira", None, sandbox) == 0
    assert _push(env, "jira", None, sandbox) == 0  # and a rerun finds nothing left to do
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


def _settled(env: dict) -> dict:
    """The recovery push runs once the vendor has finished what the killed pushes sent (the sandbox answers
    before it logs a write): a create killed between its pending_creates mark and its audited answer is held
    only within the window (round 22, killed_create), so the window is over here."""
    return {**env, "PROJECTX_SERVICENOW_CREATE_SETTLE_SECONDS": "0", "PROJECTX_JIRA_SEARCH_LAG_SECONDS": "0"}


def _crash_loop(vendor: str, sandbox, span: int, project_x_changes) -> None:
    """Five SIGKILLs at random points of the first `span` writes, `project_x_changes()` after the
    third; then a clean push, and a second one that must write nothing to the vendor."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    rng = random.Random(17)
    kills = sorted(rng.sample(range(5, span), 5))
    for n, after in enumerate(kills):
        assert _push(env, vendor, after - (kills[n - 1] if n else 0), sandbox) is None, f"killed mid-push {n}"
        if n == 2:
            project_x_changes()
    env = _settled(env)
    assert _push(env, vendor, None, sandbox) == 0
    sandbox.clear_request_log()
    assert _push(env, vendor, None, sandbox) == 0
    assert writes(sandbox) == [], "a clean push after the recovery writes nothing to the vendor"


def _open_links(settings, vendor: str) -> dict[str, str]:
    got = query(settings, "select internal_id, vendor_id from reverse_sync.external_links "
                          f"where vendor = '{vendor}' and status = 'open'")
    assert len(got) == len({v for _, v in got}), "one vendor record per link"
    return dict(got)


def test_servicenow_killed_pushes_leave_one_record_per_task_and_no_lost_update(make_servicenow_sandbox,
                                                                               duckdb_warehouse, monkeypatch):
    sandbox = make_servicenow_sandbox(size=40)
    sandbox_env(monkeypatch, sandbox)
    rows = remediation_rows(250)
    ids = {r["remediation_task_id"] for r in rows}
    write_outbound(duckdb_warehouse, "servicenow", rows)

    def ours() -> list[dict]:
        return [r for r in sandbox.records(remediation_table()) if r["correlation_id"] in ids]

    def project_x_changes() -> None:
        """New due dates and text for 40 long-pushed records and for the ten around the last kill
        (one of which may have been created but not yet linked)."""
        pushed = len(ours())
        for r in rows[:40] + rows[max(40, pushed - 5):pushed + 5]:
            r["due_at"] = "2027-03-01 00:00:00"
            r["description"] += " Owner team: platform."
        write_outbound(duckdb_warehouse, "servicenow", rows)

    _crash_loop("servicenow", sandbox, 240, project_x_changes)
    by_task: dict[str, list[dict]] = {}
    for record in sandbox.records(remediation_table()):
        if record.get("correlation_display") == "Project X" or record["correlation_id"] in ids:
            by_task.setdefault(record["correlation_id"], []).append(record)
    assert {k: len(v) for k, v in by_task.items() if len(v) != 1} == {}, "exactly one record per task"
    assert set(by_task) == ids
    changed = 0
    for r in rows:
        record = by_task[r["remediation_task_id"]][0]
        assert (record["due_date"], record["description"], record["short_description"]) == \
            (r["due_at"], r["description"], r["short_description"]), r["remediation_task_id"]
        changed += r["due_at"] == "2027-03-01 00:00:00"
    assert changed >= 40
    assert _open_links(duckdb_warehouse, "servicenow") == {k: v[0]["sys_id"] for k, v in by_task.items()}
    assert query(duckdb_warehouse, "select count(*) from reverse_sync.dead_letters") == [(0,)]


def test_onetrust_killed_pushes_leave_one_attestation_per_control_and_month(make_onetrust_sandbox, duckdb_warehouse,
                                                                            monkeypatch, tmp_path):
    sandbox = make_onetrust_sandbox(size=20)
    onetrust_env(monkeypatch, sandbox)
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    monkeypatch.setenv("PROJECTX_EVIDENCE_DIR", str(evidence))
    rows = attestation_rows(240)
    files: dict[str, str] = {}  # attestation id -> sha256 of its evidence file
    for r in rows[::10]:  # every tenth attestation carries an evidence file, attached once
        data = f"%PDF-1.4 evidence of {r['attestation_id']}".encode()
        (evidence / f"{r['attestation_id']}.pdf").write_bytes(data)
        r["evidence_refs"] = f"Evidence <{r['attestation_id']}.pdf>"
        files[r["attestation_id"]] = hashlib.sha256(data).hexdigest()
    ids = {r["attestation_id"] for r in rows}
    write_outbound(duckdb_warehouse, "onetrust", rows)

    def ours() -> list[dict]:
        return [a for a in sandbox.attestations() if a.get("source") == "Project X"]

    def project_x_changes() -> None:
        """New results for 40 long-pushed attestations and for the ten around the last kill (one of
        which may have been created but not yet linked)."""
        pushed = len(ours())
        for r in rows[:40] + rows[max(40, pushed - 5):pushed + 5]:
            r["onetrust_result"] = "PARTIALLY_EFFECTIVE"
            r["summary"] += " remediated"
        write_outbound(duckdb_warehouse, "onetrust", rows)

    _crash_loop("onetrust", sandbox, 240, project_x_changes)
    # The writer's identity for an attestation is OneTrust's externalId = our attestation id, one per
    # control and month; each control is one implementation (externalId projectx:<control>).
    impls: dict[str, list[dict]] = {}
    for impl in sandbox.control_implementations():
        impls.setdefault(impl["externalId"], []).append(impl)
    assert {k: len(v) for k, v in impls.items()} == {f"projectx:{c}": 1 for c in ("SN-CHG-01", "OT-PIA-01",
                                                                                  "SN-INC-01")}
    by_id: dict[str, list[dict]] = {}
    for a in ours():
        by_id.setdefault(a["externalId"], []).append(a)
    assert {k: len(v) for k, v in by_id.items() if len(v) != 1} == {}, "exactly one attestation per id"
    assert set(by_id) == ids
    periods = [(a[0]["controlImplementationId"], a[0]["periodStart"]) for a in by_id.values()]
    assert len(periods) == len(set(periods)), "one attestation per control and month"
    changed = 0
    for r in rows:
        a = by_id[r["attestation_id"]][0]
        assert (a["result"], a["comment"], a["periodStart"], a["controlImplementationId"]) == \
            (r["onetrust_result"], r["summary"], f"{r['period_start']:%Y-%m-%dT00:00:00Z}",
             impls[f"projectx:{r['control_id']}"][0]["id"]), r["attestation_id"]
        attached = [f["sha256"] for f in sandbox.attachments.get(a["id"], [])]
        assert attached == ([files[r["attestation_id"]]] if r["attestation_id"] in files else []), \
            f"{r['attestation_id']}: its evidence file attached once"
        changed += r["onetrust_result"] == "PARTIALLY_EFFECTIVE"
    assert changed >= 40
    assert _open_links(duckdb_warehouse, "onetrust") == {k: v[0]["id"] for k, v in by_id.items()}
    assert query(duckdb_warehouse, "select count(*) from reverse_sync.dead_letters") == [(0,)]
