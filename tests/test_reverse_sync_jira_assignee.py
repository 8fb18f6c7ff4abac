"""Jira reverse sync, the assignee at creation when Jira Cloud hides e-mail addresses (profile visibility),
against the Jira sandbox over HTTP: a single active person found by the hidden address is assigned; several
candidates, an inactive user or an app are not; a user showing the exact address wins; no address is logged."""

from __future__ import annotations

import logging

import pytest

from tests.conftest import jira_env
from tests.reverse_sync_helpers import jira_rows, query, run, write_outbound

OWNERS = {  # row -> owner e-mail; the users Jira has are added per test
    "rem-00000": "ops.owner@corp.example",  # one hidden, active person: assigned
    "rem-00001": "twin@corp.example",  # hidden, and a hidden twin@corp.example.au: ambiguous
    "rem-00002": "retired@corp.example",  # hidden but inactive
    "rem-00003": "robot@corp.example",  # hidden, an app account
    "rem-00004": "lead@corp.example",  # shown exactly, beside a hidden lead@corp.example.org
    "rem-00005": "sam@corp.example",  # hidden, and sam@corp.example.au shown: ambiguous
    "rem-00006": "ops.owner@corp.example",  # the same owner again: the cached look-up
}


@pytest.fixture
def jira(make_jira_sandbox, duckdb_warehouse, monkeypatch):
    sb = make_jira_sandbox(size=20)
    jira_env(monkeypatch, sb)
    return sb


def _assignees(sb, settings) -> dict[str, str | None]:
    links = {r[0]: r[1] for r in query(settings, "select internal_id, vendor_number from reverse_sync.external_links "
                                                 "where vendor = 'jira'")}
    issues = {i["key"]: i for i in sb.issues()}
    return {rid: (issues[key]["fields"]["assignee"] or {}).get("accountId") for rid, key in links.items()}


def test_assignee_by_hidden_address_only_without_a_second_candidate(jira, duckdb_warehouse, caplog):
    hidden = dict(email_visible=False)
    owner = jira.add_user("ops.owner@corp.example", "Olive Owner", **hidden)
    twins = [jira.add_user("twin@corp.example", "Tess Win", **hidden),
             jira.add_user("twin@corp.example.au", "Tom Win", **hidden)]
    jira.add_user("retired@corp.example", "Rita Tired", active=False, **hidden)
    jira.add_user("robot@corp.example", "Automation", account_type="app", **hidden)
    lead = jira.add_user("lead@corp.example", "Lee Lead")  # shown
    jira.add_user("lead@corp.example.org", "Leo Lead", **hidden)
    jira.add_user("sam@corp.example", "Sam Hidden", **hidden)
    jira.add_user("sam@corp.example.au", "Sam Shown")
    rows = [{**row, "assignee_email": OWNERS[row["remediation_task_id"]]} for row in jira_rows(len(OWNERS))]
    write_outbound(duckdb_warehouse, "jira", rows)
    jira.clear_request_log()
    with caplog.at_level(logging.INFO):
        report = run("jira")
    assert report.created == len(OWNERS) and report.dead_lettered == 0
    got = _assignees(jira, duckdb_warehouse)
    assert got["rem-00000"] == got["rem-00006"] == owner
    assert got["rem-00004"] == lead, "a user showing the exact address wins over a hidden one"
    for rid in ("rem-00001", "rem-00002", "rem-00003", "rem-00005"):
        assert got[rid] is None, rid
    assert not set(got.values()) & set(twins)

    messages = [r.getMessage() for r in caplog.records]
    by_search = [m for m in messages if "whose e-mail Jira hides" in m]
    assert sorted(m.split()[3] for m in by_search) == ["rem-00000", "rem-00006"]  # one per issue, not the lead
    assert all(owner in m for m in by_search)
    unassigned = [m for m in messages if "created unassigned" in m]
    assert sorted(m.split()[3] for m in unassigned) == ["rem-00001", "rem-00002", "rem-00003", "rem-00005"]
    for email in set(OWNERS.values()):
        assert not any(email in m or email.split("@")[0] in m for m in messages), "no address in the log"
    searches = [r for r in jira.request_log if "/user/search" in r["path"]]
    assert len(searches) == len(set(OWNERS.values())), "one look-up per owner (the writer's cache)"


def test_a_hidden_single_user_is_not_taken_when_jira_shows_nothing_to_match(jira, duckdb_warehouse, caplog):
    """The owner is unknown to Jira and nobody's address starts with theirs: unassigned, as before."""
    jira.add_user("someone.else@corp.example", "Someone Else", email_visible=False)
    write_outbound(duckdb_warehouse, "jira", [{**jira_rows(1)[0], "assignee_email": "nobody@corp.example"}])
    with caplog.at_level(logging.INFO):
        report = run("jira")
    assert report.created == 1 and _assignees(jira, duckdb_warehouse) == {"rem-00000": None}
    assert any("created unassigned" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("answer", [{"errorMessages": ["nope"]}, "<html>login</html>", [["not", "a", "user"]]])
def test_a_user_search_of_the_wrong_shape_dead_letters_that_record_and_the_rest_land(jira, duckdb_warehouse,
                                                                                     monkeypatch, answer):
    """A proxy's page or an error object where the list of users belongs: that owner's record is
    dead-lettered with a reason naming the fix (no address in it), the other records are created."""
    from pipelines.jira.helpers import JiraClient

    real = JiraClient.get

    def get(self, path, **params):
        if path.endswith("/user/search") and params.get("query") == "bad.owner@corp.example":
            return answer
        return real(self, path, **params)

    monkeypatch.setattr(JiraClient, "get", get)
    rows = jira_rows(3)
    rows[1] = {**rows[1], "assignee_email": "bad.owner@corp.example"}
    write_outbound(duckdb_warehouse, "jira", rows)
    seeded = len(jira.issues())
    report = run("jira")
    assert report.created == 2 and report.dead_lettered == 1
    assert len(jira.issues()) == seeded + 2, "counted at the sandbox: only the two good records were created"
    reasons = [r[0] for r in query(duckdb_warehouse, "select error from reverse_sync.dead_letters "
                                                     "where vendor = 'jira'")]
    assert len(reasons) == 1 and "JIRA_BASE_URL" in reasons[0] and "bad.owner" not in reasons[0]
