"""Round 29: the Jira two-way sync attacked over HTTP against the Jira sandbox.

Hostile descriptions written by people, an owner Jira lists but will not assign, a field made required on the
create screen, an issue moved to another project, a changelog of the wrong shape.
"""

from __future__ import annotations

import dataclasses
import json
import logging

import pytest
import requests

from assets.reverse_sync.jira import adf
from assets.reverse_sync.jira_shapes import adf_text
from tests.conftest import jira_env
from tests.reverse_sync_helpers import jira_rows, query, run, write_outbound, writes


@pytest.fixture
def jira(make_jira_sandbox, duckdb_warehouse, monkeypatch):
    sb = make_jira_sandbox(size=20)
    jira_env(monkeypatch, sb)
    return sb


def _links(settings) -> dict[str, tuple]:
    return {r[0]: r[1:] for r in query(settings, "select internal_id, vendor_id, vendor_number, status "
                                                 "from reverse_sync.external_links where vendor = 'jira'")}


def _dead(settings) -> dict[str, str]:
    return dict(query(settings, "select internal_id, error from reverse_sync.dead_letters where vendor = 'jira'"))


def _issue(sb, issue_id) -> dict:
    return next(i for i in sb.issues() if str(i["id"]) == str(issue_id))


def _creates(sb, status: int | None = None) -> list[dict]:
    return [w for w in writes(sb) if w["method"] == "POST" and w["path"].endswith("/rest/api/3/issue")
            and (status is None or w.get("status") == status)]


def _require_on_create(monkeypatch, errors) -> None:
    """The create screen refuses what ``errors(fields)`` names (the sandbox has no required custom fields)."""
    from sandbox.jira import routes_issues

    real = routes_issues.parse_fields

    def strict(store, fields, update, version, issue):
        attrs, comments, found = real(store, fields, update, version, issue)
        return attrs, comments, {**found, **(errors(fields) if issue is None else {})}

    monkeypatch.setattr(routes_issues, "parse_fields", strict)


# --- hostile ADF --------------------------------------------------------------------------------------------------

def _hostile_description() -> dict:
    deep = {"type": "paragraph", "content": [{"type": "text", "text": "bottom"}]}
    for _ in range(120):  # a list nested 120 levels deep
        deep = {"type": "bulletList", "content": [{"type": "listItem", "content": [deep]}]}
    return {"type": "doc", "version": 1, "content": [
        {"type": "paragraph", "content": [{"type": "text", "text": 7}, {"type": "text", "text": None},
                                          {"type": "text", "text": "bold\x00\x1b[31m\u202e", "marks": [
                                              {"type": "strong"}, {"type": "link", "attrs": {"href": "\x07"}}]}]},
        {"type": "someNodeFrom2031", "attrs": {"x": [1, {"y": None}]}, "content": [
            {"type": "text", "text": "inside"}, {"type": "mystery", "content": "not a list"}]},
        deep, {"type": "table", "content": [{"type": "tableRow", "content": [
            {"type": "tableCell", "content": [{"type": "paragraph", "content": [{"type": "text", "text": "c"}]}]}]}]},
    ]}


def _with_hostile_description(response, issue_id: str):
    if response.status != 200 or issue_id.encode() not in response.body:
        return response
    data = json.loads(response.body)
    beans = data["issues"] if isinstance(data, dict) and isinstance(data.get("issues"), list) else [data]
    for bean in beans:
        if isinstance(bean, dict) and str(bean.get("id")) == issue_id and "description" in (bean.get("fields") or {}):
            bean["fields"]["description"] = _hostile_description()
    return dataclasses.replace(response, body=json.dumps(data).encode())


def test_a_hostile_description_written_in_jira_neither_stops_the_push_nor_survives_it(jira, duckdb_warehouse):
    rows = jira_rows(3)
    write_outbound(duckdb_warehouse, "jira", rows)
    assert run("jira").created == 3
    issue_id = _links(duckdb_warehouse)["rem-00001"][0]
    creds = jira.credentials  # a person (not the integration account) edits it over the REST API ...
    answer = requests.put(f"{jira.url}/rest/api/3/issue/{issue_id}", json={"fields": {
        "description": adf("a person's text")}}, auth=(creds["user_email"], creds["user_api_token"]), timeout=10)
    assert answer.status_code == 204, answer.text[:200]
    # ... and Jira answers it in a shape no valid write makes (the emulator refuses such ADF with 400, as Jira
    # does; stored data and other clients' writes are what they are): every read of the issue carries it
    jira.rewrite_responses(lambda request, response: _with_hostile_description(response, issue_id))
    changed = [{**r, "priority": "Low"} for r in rows]
    write_outbound(duckdb_warehouse, "jira", changed)
    report = run("jira", run_id="after-hostile")
    jira.rewrite_responses(None)
    assert report.updated == 3 and report.dead_lettered == 0, report.failures
    fields = _issue(jira, issue_id)["fields"]
    assert fields["priority"]["name"] == "Low"
    assert adf_text(fields["description"]) == rows[1]["description"], "Project X owns the description: rewritten"
    conflict = query(duckdb_warehouse, "select winner, vendor_value from reverse_sync.conflicts "
                                       "where field = 'description'")
    # "bottom" sits about 480 JSON levels down: since round 33 a vendor value below 200 levels is cut as it is read
    # (dlt stores at most 255), so the conflict keeps the shallow text only
    assert len(conflict) == 1 and conflict[0][0] == "projectx" and "inside" in conflict[0][1]
    assert "bottom" not in conflict[0][1]
    jira.clear_request_log()
    assert run("jira", run_id="rerun").writes == 0 and writes(jira) == []


@pytest.mark.parametrize("doc", [
    ["a list"], {"type": "doc", "content": "text"}, {"type": "doc", "content": ["x", None, 3, {"content": 5}]},
    {"type": "doc", "content": [{"type": "paragraph", "content": [{"type": "text", "text": {"t": 1}}]}]}, 17, True,
])
def test_a_document_of_the_wrong_shape_reads_as_what_it_holds_without_raising(doc):
    assert isinstance(adf_text(doc), str)


@pytest.mark.parametrize("text", ["", "one line", "a\n\nb", "\n", "tail\n", "ünï\tcödé \U0001d518 \x1f", "x\n" * 50])
def test_our_own_description_reads_back_exactly_as_sent(text):
    assert adf_text(adf(text)) == text


def test_a_thousand_levels_of_nesting_read_without_overflowing_the_stack():
    node: dict = {"type": "text", "text": "deep"}
    for _ in range(5000):
        node = {"type": "listItem", "content": [node]}
    assert adf_text({"type": "doc", "version": 1, "content": [{"type": "bulletList", "content": [node]}]}) == "deep"


def test_a_changelog_of_the_wrong_shape_is_read_as_someone_elses_change(jira, duckdb_warehouse, monkeypatch):
    from assets.reverse_sync import jira as writer_module

    rows = jira_rows(1)
    write_outbound(duckdb_warehouse, "jira", rows)
    run("jira")
    issue_id = _links(duckdb_warehouse)["rem-00000"][0]
    jira.edit_as(_issue(jira, issue_id)["key"], {"duedate": "2027-02-02"})  # a person moves the due date
    real = writer_module.JiraClient.complete

    def garbled(self, bean):
        bean = real(self, bean)
        bean["changelog"]["histories"] = [None, "x", {"created": "not a time", "items": "nope"},
                                          {"author": 5, "items": [None, {"field": 3}]},
                                          *bean["changelog"]["histories"]]
        return bean

    monkeypatch.setattr(writer_module.JiraClient, "complete", garbled)
    write_outbound(duckdb_warehouse, "jira", [{**rows[0], "description": "changed in Project X"}])
    report = run("jira", run_id="garbled")
    assert report.updated == 1 and report.dead_lettered == 0, report.failures
    assert _issue(jira, issue_id)["fields"]["duedate"] == "2027-02-02", "Jira's change of the due date is kept"


# --- the assignee Jira refuses --------------------------------------------------------------------------------------

def test_an_owner_jira_will_not_assign_gets_the_issue_created_unassigned_once(jira, duckdb_warehouse, monkeypatch,
                                                                              caplog):
    account = jira.add_user("no.jira.access@example.com", "No Jira Access")  # listed by user/search, not assignable
    _require_on_create(monkeypatch, lambda f: {"assignee": f"User '{account}' cannot be assigned issues."}
                       if (f.get("assignee") or {}).get("accountId") == account else {})
    rows = [{**r, "assignee_email": "no.jira.access@example.com"} for r in jira_rows(3)]
    write_outbound(duckdb_warehouse, "jira", rows)
    jira.clear_request_log()
    with caplog.at_level(logging.WARNING, logger="assets.reverse_sync.jira"):
        report = run("jira", concurrency=1)
    assert report.created == 3 and report.dead_lettered == 0, report.failures
    assert len(_creates(jira)) == 4, "one refused POST, then three without the assignee (the refusal is remembered)"
    for issue_id, *_ in _links(duckdb_warehouse).values():
        assert _issue(jira, issue_id)["fields"]["assignee"] is None
    said = [r.getMessage() for r in caplog.records if "refused account" in r.getMessage()]
    assert len(said) == 1 and "no.jira.access" not in said[0], "said once, without the e-mail"
    assert len({i["id"] for i in jira.issues() if "projectx" in i["fields"]["labels"]}) == 3


def test_a_refusal_naming_the_assignee_and_another_field_is_still_the_records_dead_letter(jira, duckdb_warehouse,
                                                                                         monkeypatch):
    account = jira.add_user("half@example.com", "Half")
    _require_on_create(monkeypatch, lambda f: {"assignee": "cannot be assigned issues.",
                                               "customfield_10050": "Business unit is required."})
    write_outbound(duckdb_warehouse, "jira", [{**r, "assignee_email": "half@example.com"} for r in jira_rows(1)])
    jira.clear_request_log()
    report = run("jira")
    assert report.dead_lettered == 1 and report.created == 0 and account
    assert "Business unit is required" in _dead(duckdb_warehouse)["rem-00000"]
    assert len(_creates(jira)) == 1, "not sent again without the assignee: that would not have helped"


# --- a field made required on the create screen ---------------------------------------------------------------------

def test_a_field_required_on_the_create_screen_dead_letters_then_creates_once_when_lifted(jira, duckdb_warehouse,
                                                                                         monkeypatch):
    required = {"on": True}
    _require_on_create(monkeypatch, lambda f: {"customfield_10050": "Business unit is required."}
                       if required["on"] else {})
    write_outbound(duckdb_warehouse, "jira", jira_rows(4))
    jira.clear_request_log()
    first = run("jira", circuit_breakers=True, breaker_threshold=2)
    assert first.dead_lettered == 4 and first.created == 0
    assert first.breaker_state == "closed", "a refusal of the record's fields says nothing about Jira's health"
    assert all("customfield_10050" in e and "Business unit is required." in e
               for e in _dead(duckdb_warehouse).values())
    assert query(duckdb_warehouse, "select count(*) from reverse_sync.pending_creates") == [(0,)], \
        "a refusal is an outcome: no create is left in doubt"
    required["on"] = False  # an admin fixes the screen (or gives the field a default)
    again = run("jira", run_id="lifted", circuit_breakers=True, breaker_threshold=2)
    assert again.created == 4 and again.dead_lettered == 0 and _dead(duckdb_warehouse) == {}
    assert len(_creates(jira)) == 8 and len(_creates(jira, 201)) == 4
    assert len([i for i in jira.issues() if "projectx" in i["fields"]["labels"]]) == 4


# --- an issue moved to another project ------------------------------------------------------------------------------

def _move(sb, issue_id: str, project: str) -> str:
    """Move the issue as Jira's Move does: a new key in the other project, the same id (the sandbox has no
    move operation)."""
    st = sb.store
    with st.lock:
        old = st.issues[int(issue_id)]
        st.next_num[project] += 1
        new = dataclasses.replace(old, project=project, key=f"{project}-{st.next_num[project]}",
                                  num=st.next_num[project])
        st.by_key[new.key] = new.id
        st._put(new)
    sb.sync_index()
    return new.key


def test_an_issue_moved_to_another_project_is_followed_by_its_id(jira, duckdb_warehouse):
    rows = jira_rows(2)
    write_outbound(duckdb_warehouse, "jira", rows)
    run("jira")
    issue_id, old_key, _ = _links(duckdb_warehouse)["rem-00000"]
    new_key = _move(jira, issue_id, "ENG")
    write_outbound(duckdb_warehouse, "jira", [{**rows[0], "priority": "Low"}, rows[1]])
    jira.clear_request_log()
    report = run("jira", run_id="after-move")
    assert report.updated == 1 and report.created == 0 and report.dead_lettered == 0, report.failures
    assert _links(duckdb_warehouse)["rem-00000"][:2] == (issue_id, new_key) and new_key != old_key
    assert _issue(jira, issue_id)["fields"]["project"]["key"] == "ENG", "the project is Jira's: not moved back"
    assert _creates(jira) == []
    write_outbound(duckdb_warehouse, "jira", [rows[1]])
    assert run("jira", run_id="close").closed == 1
    assert _issue(jira, issue_id)["fields"]["status"]["statusCategory"]["key"] == "done"
