"""Round 20: the crash ledger (pipelines.common.poison) on child records.

ServiceNow attachments: an attachment whose download (in the pool, started in the background while the
tables are read) or whose processing (the Evidence Library, in the sync's thread) kills the process three
runs in a row is quarantined with its reason and skipped; no incident in flight meanwhile is blamed; the
operator's release (``python -m pipelines.common.poison release servicenow attachments <sys_id>``) makes
the next run download it again. Jira children (comments, attachment downloads): the parent issue is
blamed and quarantined (its children are replaced as a set, so the issue is the unit). A Python exception
on one attachment's content quarantines that attachment, never the run.

Each sync is a real subprocess over HTTP against the sandbox (``tests.poison_shim_round20`` kills it).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import jira_env, sandbox_env
from tests.ingestion_harness import (
    JIRA_ISSUES,
    ROOT,
    SN_INCIDENTS,
    assert_parity,
    assert_servicenow_attachments_stored,
    quarantine,
    sql,
    wait_a_second,
)
from tests.poison_shim_round20 import POISON_ENV, WHERE_ENV


def _run(vendor: str, poison: str | None = None, where: str = "") -> subprocess.CompletedProcess:
    env = os.environ.copy()
    env.pop(POISON_ENV, None)
    env.pop("PROJECTX_POISON_CRASHES", None)
    if poison:
        env.update({POISON_ENV: poison, WHERE_ENV: where})
    return subprocess.run([sys.executable, "-m", "tests.poison_shim_round20", vendor], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def _ok(done: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert done.returncode == 0, f"sync failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}"
    return done


def _attachment_rows(settings) -> dict[str, str]:
    return dict(sql(settings, "select sys_id, content_status from servicenow.attachments"))


def _sn_quarantine(settings, entity: str) -> dict[str, str]:
    if not sql(settings, "select 1 from information_schema.tables where table_schema = 'servicenow' "
               "and table_name = 'quarantine'"):
        return {}
    return dict(sql(settings, "select record_id, reason from servicenow.quarantine where entity = ?", entity))


@pytest.mark.parametrize("where", ["download", "admit"])
def test_a_servicenow_attachment_that_kills_every_run_is_quarantined_alone_and_released(
        where, make_servicenow_sandbox, monkeypatch, duckdb_warehouse):
    sb = make_servicenow_sandbox(size=60)
    sandbox_env(monkeypatch, sb)
    files = sorted(r["sys_id"] for r in sb.records("sys_attachment"))
    assert len(files) >= 4
    poison = files[len(files) // 2]
    for n in range(3):
        died = _run("servicenow", poison, where)
        assert died.returncode == 137, f"run {n + 1} did not die: {died.stdout[-2000:]}{died.stderr[-3000:]}"
    done = _ok(_run("servicenow", poison, where))
    assert f"attachment {poison} quarantined" in done.stderr
    held = _sn_quarantine(duckdb_warehouse, "attachments")
    assert set(held) == {poison}, held
    assert held[poison].startswith("the sync process died 3 runs in a row while handling this record: ")
    [(raw,)] = sql(duckdb_warehouse, "select record from servicenow.quarantine where record_id = ?", poison)
    assert json.loads(raw)["sys_id"] == poison
    # Nothing else was blamed: every incident loaded, every other attachment stored.
    assert _sn_quarantine(duckdb_warehouse, "incidents") == {}
    assert_parity(sb, duckdb_warehouse, SN_INCIDENTS)
    rows = _attachment_rows(duckdb_warehouse)
    assert poison not in rows and set(rows) == set(files) - {poison}
    assert set(rows.values()) == {"stored"}

    # Held: the next runs neither die nor quarantine it again, even once the vendor changes it.
    _ok(_run("servicenow", poison, where))
    wait_a_second()
    sb.update("sys_attachment", poison, {"file_name": "renamed.txt"})
    again = _ok(_run("servicenow", poison, where))
    assert f"attachment {poison} skipped: held in quarantine" in again.stderr
    assert len(sql(duckdb_warehouse, "select 1 from servicenow.quarantine where record_id = ?", poison)) == 1

    released = subprocess.run([sys.executable, "-m", "pipelines.common.poison", "release", "servicenow",
                               "attachments", poison], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert released.returncode == 0, released.stderr
    _ok(_run("servicenow"))  # the fault fixed: it is downloaded again although the cursor has passed it
    assert_servicenow_attachments_stored(sb, duckdb_warehouse)
    assert poison not in _sn_quarantine(duckdb_warehouse, "attachments")


def test_one_attachment_crash_alone_quarantines_nothing(make_servicenow_sandbox, monkeypatch, duckdb_warehouse):
    sb = make_servicenow_sandbox(size=60)
    sandbox_env(monkeypatch, sb)
    poison = sorted(r["sys_id"] for r in sb.records("sys_attachment"))[0]
    assert _run("servicenow", poison, "download").returncode == 137
    _ok(_run("servicenow"))
    assert _sn_quarantine(duckdb_warehouse, "attachments") == {}
    assert_servicenow_attachments_stored(sb, duckdb_warehouse)
    assert_parity(sb, duckdb_warehouse, SN_INCIDENTS)


def test_an_exception_on_one_attachments_content_quarantines_it_not_the_run(
        make_servicenow_sandbox, monkeypatch, duckdb_warehouse):
    sb = make_servicenow_sandbox(size=60)
    sandbox_env(monkeypatch, sb)
    files = sorted(r["sys_id"] for r in sb.records("sys_attachment"))
    poison = files[1]
    _ok(_run("servicenow", poison, "raise"))
    held = _sn_quarantine(duckdb_warehouse, "attachments")
    assert set(held) == {poison}
    assert "ValueError" in held[poison] and "hostile content" in held[poison]
    rows = _attachment_rows(duckdb_warehouse)
    assert set(rows) == set(files) - {poison} and set(rows.values()) == {"stored"}
    assert_parity(sb, duckdb_warehouse, SN_INCIDENTS)


def _jira_issue_with(sb, part: str) -> tuple[str, str]:
    """(issue id, poison key) of an issue with comments (key: issue id) or attachments (key: attachment id)."""
    for issue in sb.issues(fields=["comment", "attachment"]):
        fields = issue["fields"]
        if part == "comments" and len((fields.get("comment") or {}).get("comments") or []) >= 1:
            return issue["id"], issue["id"]
        if part == "jira-download" and fields.get("attachment"):
            return issue["id"], str(fields["attachment"][0]["id"])
    raise AssertionError(f"the sandbox has no issue with {part}")


@pytest.mark.parametrize("where", ["comments", "jira-download"])
def test_a_jira_child_that_kills_every_run_quarantines_its_parent_issue(
        where, make_jira_sandbox, monkeypatch, duckdb_warehouse):
    sb = make_jira_sandbox(size=60)
    jira_env(monkeypatch, sb)
    issue, poison = _jira_issue_with(sb, where)
    for n in range(3):
        died = _run("jira", poison, where)
        assert died.returncode == 137, f"run {n + 1} did not die: {died.stdout[-2000:]}{died.stderr[-3000:]}"
    done = _ok(_run("jira", poison, where))
    assert f"record {issue} quarantined" in done.stderr
    held = quarantine(duckdb_warehouse, JIRA_ISSUES)
    assert set(held) == {issue} and held[issue].startswith("the sync process died 3 runs in a row")
    assert_parity(sb, duckdb_warehouse, JIRA_ISSUES, except_ids={issue})
    children = {t: {r[0] for r in sql(duckdb_warehouse, f"select distinct issue_id from jira.{t}")}
                for t in ("comments", "attachments")}
    assert issue not in children["comments"] | children["attachments"]
    assert len(children["comments"]) >= 10  # the other issues' children loaded
    _ok(_run("jira", poison, where))  # held: not re-read, no death
