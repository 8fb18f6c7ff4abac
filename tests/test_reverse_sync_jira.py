"""Jira two-way sync against the Jira sandbox over HTTP: create, no echo, convergence, close, dry run."""

from __future__ import annotations

import json
import logging
from datetime import date

import pytest

from tests.conftest import jira_env
from tests.reverse_sync_helpers import jira_rows, query, run, write_outbound, writes


@pytest.fixture
def jira(make_jira_sandbox, duckdb_warehouse, monkeypatch):
    sb = make_jira_sandbox(size=60)
    jira_env(monkeypatch, sb)
    return sb


def _issue(sb, key):
    return next(i for i in sb.issues() if i["key"] == key)


def _links(settings):
    return {r[0]: r[1:] for r in query(settings, "select internal_id, vendor_id, vendor_number, status "
                                                 "from reverse_sync.external_links where vendor = 'jira'")}


def test_create_then_reruns_write_nothing_and_close_by_transition(jira, duckdb_warehouse, caplog):
    rows = jira_rows(12)
    write_outbound(duckdb_warehouse, "jira", rows)
    with caplog.at_level(logging.WARNING, logger="assets.reverse_sync.jira"):
        report = run("jira")
    unassigned = [r.getMessage() for r in caplog.records if "created unassigned" in r.getMessage()]
    assert len(unassigned) == 12 and not any("@" in m for m in unassigned)  # said, without the e-mail
    assert report.created == 12 and report.dead_lettered == 0
    links = _links(duckdb_warehouse)
    issue = _issue(jira, links["rem-00000"][1])
    fields = issue["fields"]
    assert fields["project"]["key"] == "GRC" and fields["priority"]["name"] == "High"
    assert {"projectx", "control:SN-CHG-01", "projectx:rem-00000"} <= set(fields["labels"])
    assert fields["description"]["type"] == "doc" and fields["duedate"] == "2026-12-01"
    assert fields["assignee"] is None, "an owner e-mail Jira does not know leaves the issue unassigned"
    # every write was audited with its correlation id, which the sandbox received as a header
    audit = query(duckdb_warehouse, "select operation, object_id, status, run_id from audit.events "
                                    "where system = 'jira' and action = 'push'")
    assert len(audit) == 12 and {a[0] for a in audit} == {"create"} and {a[2] for a in audit} == {"201"}

    jira.clear_request_log()
    for n in range(10):
        again = run("jira", run_id=f"rerun-{n}")
        assert again.unchanged == 12 and again.writes == 0
    assert writes(jira) == [], "ten reruns with no source change write nothing"

    # the control passes again for two tasks: their issues move to Done by a workflow transition
    write_outbound(duckdb_warehouse, "jira", rows[2:])
    closed = run("jira")
    assert closed.closed == 2
    for rid in ("rem-00000", "rem-00001"):
        f = _issue(jira, links[rid][1])["fields"]
        assert f["status"]["statusCategory"]["key"] == "done" and f["resolution"]["name"] == "Done"
        assert _links(duckdb_warehouse)[rid][2] == "closed"
    assert [w["path"].rsplit("/", 1)[-1] for w in writes(jira)] == ["transitions", "transitions"]

    # it fails again: reopened by a transition back to To Do
    write_outbound(duckdb_warehouse, "jira", rows)
    reopened = run("jira")
    assert reopened.reopened == 2
    assert _issue(jira, links["rem-00000"][1])["fields"]["status"]["name"] == "To Do"


def test_two_way_edits_converge_by_the_policy_then_nothing_is_written(jira, duckdb_warehouse):
    rows = jira_rows(3)
    write_outbound(duckdb_warehouse, "jira", rows)
    run("jira")
    key = _links(duckdb_warehouse)["rem-00000"][1]
    # a person in Jira: moves the issue along, changes the due date (shared) and the summary (ours)
    jira.edit_as(key, {"status": "In Progress", "duedate": "2027-01-15", "summary": "edited in Jira"})
    # Project X: the due date changes too (the same shared field, both sides), and the description
    rows[0] = {**rows[0], "due_date": date(2026, 12, 20), "description": "New reason from Project X."}
    write_outbound(duckdb_warehouse, "jira", rows)
    jira.clear_request_log()
    first = run("jira", run_id="cycle-1")
    assert first.updated == 1 and first.conflicts >= 2
    fields = _issue(jira, key)["fields"]
    assert fields["duedate"] == "2026-12-20", "Project X wins the due date"
    assert fields["status"]["name"] == "In Progress", "Jira wins the status: no transition back"
    assert fields["summary"] == rows[0]["summary"], "the summary is owned by Project X"
    conflicts = {r[0]: r[1:] for r in query(duckdb_warehouse, "select field, winner, base_value, projectx_value, "
                                                              "vendor_value from reverse_sync.conflicts")}
    assert conflicts["duedate"] == ("projectx", "2026-12-01", "2026-12-20", "2027-01-15")
    assert conflicts["summary"][0] == "projectx"
    comments = [c for c in fields["comment"]["comments"] if "Project X updated" in json.dumps(c["body"])]
    assert len(comments) == 1
    for cycle in range(2, 5):
        jira.clear_request_log()
        assert run("jira", run_id=f"cycle-{cycle}").writes == 0
        assert writes(jira) == [], "converged: further cycles write nothing (no echo of our own writes)"


def test_a_vendor_side_status_change_is_kept_when_project_x_changes_other_fields(jira, duckdb_warehouse):
    rows = jira_rows(1)
    write_outbound(duckdb_warehouse, "jira", rows)
    run("jira")
    key = _links(duckdb_warehouse)["rem-00000"][1]
    jira.edit_as(key, {"status": "Done"})
    write_outbound(duckdb_warehouse, "jira", [{**rows[0], "priority": "Low"}])
    report = run("jira")
    assert report.updated == 1 and report.conflicts == 0
    fields = _issue(jira, key)["fields"]
    assert fields["priority"]["name"] == "Low" and fields["status"]["name"] == "Done"


def test_dry_run_writes_nothing_and_its_plan_is_what_the_real_run_does(jira, duckdb_warehouse):
    rows = jira_rows(6)
    write_outbound(duckdb_warehouse, "jira", rows)
    run("jira")
    key = _links(duckdb_warehouse)["rem-00001"][1]
    jira.edit_as(key, {"duedate": "2027-02-01"})
    changed = [{**rows[1], "due_date": date(2026, 12, 24)}, *rows[3:], *jira_rows(2, start=50)]
    write_outbound(duckdb_warehouse, "jira", changed)
    jira.clear_request_log()
    dry = run("jira", run_id="dry", dry_run=True)
    assert writes(jira) == [] and dry.writes == 0
    real = run("jira", run_id="real")

    def plan(run_id):
        return sorted(query(duckdb_warehouse, "select internal_id, operation, field, before_value, after_value "
                                              f"from reverse_sync.plans where run_id = '{run_id}'"))

    assert plan("dry") == plan("real") and plan("dry")
    ops = {op for _, op, *_ in plan("real")}
    assert {"create", "update", "comment", "close"} <= ops
    outcomes = query(duckdb_warehouse, "select distinct outcome, dry_run from reverse_sync.plans where run_id = 'dry'")
    assert outcomes == [("planned", True)]
    assert real.created == 2 and real.closed == 2 and real.updated == 1


def test_the_mass_change_guard_stops_a_run_whose_mart_was_emptied(jira, duckdb_warehouse):
    from assets.reverse_sync.engine import MassChangeBlocked

    rows = jira_rows(30)
    write_outbound(duckdb_warehouse, "jira", rows)
    run("jira")
    write_outbound(duckdb_warehouse, "jira", [], like=rows)
    jira.clear_request_log()
    with pytest.raises(MassChangeBlocked, match="confirm_mass_change"):
        run("jira")
    assert writes(jira) == []
    assert {r[0] for r in query(duckdb_warehouse, "select status from reverse_sync.external_links")} == {"open"}
    confirmed = run("jira", confirm_mass_change=True)
    assert confirmed.closed == 30


def test_cli_dry_run_prints_the_plan_and_writes_nothing(jira, duckdb_warehouse, capsys):
    from cli.__main__ import main

    write_outbound(duckdb_warehouse, "jira", jira_rows(3))
    jira.clear_request_log()
    assert main(["reverse-sync", "--vendor", "jira", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "plan (dry run: nothing written)" in out and writes(jira) == []
    lines = [line for line in out.splitlines() if line.startswith("create")]
    assert len(lines) == 3 * 8, out  # three creates, one line per field
    assert "planned: create 3" in out
    assert any("duedate" in line and "2026-12-01" in line for line in lines)
    assert query(duckdb_warehouse, "select count(*) from reverse_sync.external_links") == [(0,)]
    assert main(["reverse-sync", "--vendor", "jira"]) == 0
    assert len(writes(jira)) == 3
    write_outbound(duckdb_warehouse, "jira", [], like=jira_rows(1))
    assert main(["reverse-sync", "--vendor", "jira"]) == 0, "3 closes are within the guard's minimum of 10"
