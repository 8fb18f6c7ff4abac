"""Round 30: the Jira two-way sync when a project's screen does not take a field it writes
(``assets/reverse_sync/jira_screens.py``), against the Jira sandbox, which now refuses such fields as Jira does
(400 "Field 'duedate' cannot be set. It is not on the appropriate screen, or unknown.").

Before: a Jira admin hiding the due date (or the priority) in the field configuration left every record of the
push in dead letters for ever, each create refused."""

from __future__ import annotations

import json
import logging
from datetime import date

import pytest
import requests

from tests.conftest import jira_env
from tests.reverse_sync_helpers import jira_rows, query, run, write_outbound, writes


@pytest.fixture
def jira(make_jira_sandbox, duckdb_warehouse, monkeypatch):
    sb = make_jira_sandbox(size=30)
    jira_env(monkeypatch, sb)
    return sb


def _hide(sb, *fields, hidden=True):
    r = requests.put(f"{sb.url}/rest/api/3/fieldconfiguration/10000/fields",
                     json={"fieldConfigurationItems": [{"id": f, "isHidden": hidden} for f in fields]},
                     auth=(sb.credentials["email"], sb.credentials["api_token"]), timeout=10)
    assert r.status_code == 204, r.text


def _fields(sb, key):
    return next(i for i in sb.issues() if i["key"] == key)["fields"]


def _links(settings):
    return dict(query(settings, "select internal_id, vendor_number from reverse_sync.external_links "
                                "where vendor = 'jira'"))


def test_create_leaves_out_hidden_fields_with_a_reason_instead_of_dead_letters(jira, duckdb_warehouse, caplog):
    _hide(jira, "duedate", "priority")
    write_outbound(duckdb_warehouse, "jira", jira_rows(4))
    jira.clear_request_log()
    with caplog.at_level(logging.WARNING, logger="assets.reverse_sync.jira"):
        report = run("jira")
    assert report.created == 4 and report.dead_lettered == 0
    said = [r.getMessage() for r in caplog.records if "does not take" in r.getMessage()]
    assert len(said) == 1 and "project GRC" in said[0] and "duedate, priority" in said[0]
    for internal_id, key in _links(duckdb_warehouse).items():
        f = _fields(jira, key)
        assert f"projectx:{internal_id}" in f["labels"] and f["duedate"] is None
    # records go out side by side: each is refused at most once, then sent without the hidden fields
    posts = [w["status"] for w in writes(jira) if w["path"].endswith("/issue")]
    assert posts.count(201) == 4 and 1 <= posts.count(400) <= 4 and len(posts) == 4 + posts.count(400)
    assert 2 <= len([r for r in jira.request_log if "/createmeta/" in r["path"]]) <= 8
    # shown again: the left-out values are written by the next push (and a change made meanwhile with them)
    _hide(jira, "duedate", "priority", hidden=False)
    write_outbound(duckdb_warehouse, "jira", [{**r, "due_date": date(2027, 1, 10)} for r in jira_rows(4)])
    again = run("jira", run_id="again")
    assert again.dead_lettered == 0 and again.updated == 4
    assert _fields(jira, _links(duckdb_warehouse)["rem-00000"])["duedate"] == "2027-01-10"


def test_hidden_labels_are_the_records_dead_letter_with_what_to_fix(jira, duckdb_warehouse):
    _hide(jira, "labels")
    write_outbound(duckdb_warehouse, "jira", jira_rows(2))
    report = run("jira")
    assert report.created == 0 and report.dead_lettered == 2
    reasons = [r[0] for r in query(duckdb_warehouse, "select error from reverse_sync.dead_letters")]
    assert all("does not take labels" in r and "project GRC" in r and "Put the field back" in r for r in reasons)
    assert [i for i in jira.issues() if "projectx" in (i["fields"].get("labels") or [])] == []


def test_an_edit_leaves_out_a_field_hidden_after_creation_and_its_comment_says_only_what_changed(
        jira, duckdb_warehouse, caplog):
    rows = jira_rows(2)
    write_outbound(duckdb_warehouse, "jira", rows)
    assert run("jira").created == 2
    _hide(jira, "duedate")
    changed = [{**r, "due_date": date(2027, 3, 1), "summary": r["summary"] + " (again)"} for r in rows]
    write_outbound(duckdb_warehouse, "jira", changed)
    with caplog.at_level(logging.WARNING, logger="assets.reverse_sync.jira"):
        report = run("jira", run_id="edit")
    assert report.updated == 2 and report.dead_lettered == 0
    assert len([r for r in caplog.records if "edit screen" in r.getMessage()]) == 1
    for key in _links(duckdb_warehouse).values():
        f = _fields(jira, key)
        assert f["summary"].endswith("(again)") and f["duedate"] != "2027-03-01"
        notes = [json.dumps(c["body"]) for c in f["comment"]["comments"]
                 if "Project X updated" in json.dumps(c["body"])]
        assert len(notes) == 1 and "summary" in notes[0] and "duedate" not in notes[0]
    # the next push plans nothing more for the due date Jira would not take: nothing is written, no dead letter
    jira.clear_request_log()
    third = run("jira", run_id="third")
    assert third.dead_lettered == 0 and writes(jira) == []


def test_a_value_left_out_is_written_once_the_screen_takes_it_again_without_a_change_in_project_x(
        jira, duckdb_warehouse):
    """The link records what Jira really took: a due date left out keeps Jira's value as the synced base and the
    link's digest is not the row's, so each push plans the record again (a read, no write while the field stays
    hidden) and the first push after the field is back writes it; before, it waited for the row's next change."""
    rows = [{**r, "due_date": date(2027, 2, 2)} for r in jira_rows(2)]
    _hide(jira, "duedate")
    write_outbound(duckdb_warehouse, "jira", rows)
    first = run("jira")
    assert first.created == 2 and first.dead_lettered == 0
    links = _links(duckdb_warehouse)
    assert all(_fields(jira, key)["duedate"] is None for key in links.values())
    left = query(duckdb_warehouse, "select internal_id, field from reverse_sync.plans where outcome = 'left_out'")
    assert left and {f for _, f in left} == {"duedate"} and {i for i, _ in left} == set(links), left
    audited = len(_left_out_audits(duckdb_warehouse))
    assert audited == 2
    jira.clear_request_log()
    second = run("jira", run_id="second")  # within the hour: unchanged, not even read
    assert second.unchanged == 2 and writes(jira) == [] and not _issue_reads(jira), jira.request_log
    _an_hour_later(duckdb_warehouse)
    third = run("jira", run_id="third")  # the next hour, still hidden: read again, nothing written or audited
    assert third.dead_lettered == 0 and third.unchanged == 2 and third.updated == 0 and writes(jira) == []
    assert _issue_reads(jira) and len(_left_out_audits(duckdb_warehouse)) == audited
    _hide(jira, "duedate", hidden=False)
    _an_hour_later(duckdb_warehouse)
    third = run("jira", run_id="back")  # the same rows: no change in Project X
    assert third.dead_lettered == 0 and third.updated == 2, third.failures
    assert all(_fields(jira, key)["duedate"] == "2027-02-02" for key in links.values())
    jira.clear_request_log()
    fourth = run("jira", run_id="fourth")
    assert fourth.updated == 0 and writes(jira) == [], "written once, then settled"


def _issue_reads(sb) -> list:
    return [r for r in sb.request_log if r["method"] == "GET" and "/issue/" in r["path"]]


def _left_out_audits(settings) -> list:
    return query(settings, "select object_id from audit.events where system = 'jira' and status = 'left_out'")


def _an_hour_later(settings) -> None:
    """As if the last push were an hour ago: a link left without a field is planned again each hour."""
    import duckdb

    with duckdb.connect(settings.duckdb_path) as con:
        con.execute("update reverse_sync.external_links set payload_hash = "
                    "regexp_replace(payload_hash, '@[0-9T-]+$', '@2000-01-01T00') where vendor = 'jira'")
