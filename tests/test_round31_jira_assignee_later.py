"""Round 31: the assignee a Jira create screen did not take is set by the next push once the issue's edit screen
takes it (one PUT, audited, no comment), against the Jira sandbox over HTTP; never over a Jira-side assignment.

Before: the create left it out (``jira_screens``) and no later push ever set it: the assignee is not a field the
engine compares, so nothing was ever planned for it."""

from __future__ import annotations

import json
from datetime import date

import pytest
import requests

from tests.conftest import jira_env
from tests.reverse_sync_helpers import jira_rows, query, run, write_outbound, writes

OWNER = "owner.later@corp.example"


@pytest.fixture
def jira(make_jira_sandbox, duckdb_warehouse, monkeypatch):
    sb = make_jira_sandbox(size=20)
    jira_env(monkeypatch, sb)
    return sb


def _create_screen_without_assignee(monkeypatch) -> None:
    """The create screen lacks the assignee, the edit screen has it (Jira's screen schemes allow it; the
    sandbox uses one Default Screen for both [unc])."""
    from sandbox.jira import field_screens

    real = field_screens.create_fields
    monkeypatch.setattr(field_screens, "create_fields",
                        lambda sb, project, type_id: [f for f in real(sb, project, type_id) if f != "assignee"])


def _hide(sb, *fields, hidden=True):
    r = requests.put(f"{sb.url}/rest/api/3/fieldconfiguration/10000/fields",
                     json={"fieldConfigurationItems": [{"id": f, "isHidden": hidden} for f in fields]},
                     auth=(sb.credentials["email"], sb.credentials["api_token"]), timeout=10)
    assert r.status_code == 204, r.text


def _rows(n: int) -> list[dict]:
    return [{**r, "assignee_email": OWNER} for r in jira_rows(n)]


def _issues(sb, settings) -> dict[str, dict]:
    links = dict(query(settings, "select internal_id, vendor_number from reverse_sync.external_links "
                                 "where vendor = 'jira'"))
    by_key = {i["key"]: i for i in sb.issues()}
    return {rid: by_key[key] for rid, key in links.items()}


def _assignee(issue: dict) -> str | None:
    return (issue["fields"].get("assignee") or {}).get("accountId")


def _an_hour_later(settings) -> None:
    import duckdb

    with duckdb.connect(settings.duckdb_path) as con:
        con.execute("update reverse_sync.external_links set payload_hash = "
                    "regexp_replace(payload_hash, '@[0-9T-]+$', '@2000-01-01T00') where vendor = 'jira'")


def test_the_next_push_assigns_what_the_create_screen_left_out_with_one_put_and_no_comment(
        jira, duckdb_warehouse, monkeypatch):
    owner = jira.add_user(OWNER, "Olive Later")
    _create_screen_without_assignee(monkeypatch)
    write_outbound(duckdb_warehouse, "jira", _rows(2))
    first = run("jira")
    assert first.created == 2 and first.dead_lettered == 0
    assert all(_assignee(i) is None for i in _issues(jira, duckdb_warehouse).values())
    left = query(duckdb_warehouse, "select detail from audit.events where status = 'left_out'")
    assert len(left) == 2 and all("assignee" in json.loads(d)["left_out"] for (d,) in left)
    jira.clear_request_log()
    second = run("jira", run_id="second")  # the very next push, same rows
    assert second.dead_lettered == 0 and second.updated == 2, second.failures
    puts = [w for w in writes(jira)]
    assert [w["method"] for w in puts] == ["PUT", "PUT"], puts  # one request per issue: no comment
    issues = _issues(jira, duckdb_warehouse)
    assert all(_assignee(i) == owner for i in issues.values())
    assert not [c for i in issues.values() for c in i["fields"]["comment"]["comments"]]
    audited = query(duckdb_warehouse, "select operation, status from audit.events where run_id = 'second' "
                                      "and action = 'push'")
    assert sorted(audited) == [("update", "204"), ("update", "204")]
    planned = query(duckdb_warehouse, "select field, after_value, outcome from reverse_sync.plans "
                                      "where run_id = 'second'")
    assert sorted(planned) == [("assignee", owner, "done")] * 2  # the account id, never the e-mail
    jira.clear_request_log()
    third = run("jira", run_id="third")
    assert third.updated == 0 and writes(jira) == [], "set once, then settled"
    _an_hour_later(duckdb_warehouse)
    jira.clear_request_log()
    assert run("jira", run_id="fourth").updated == 0 and writes(jira) == []


def test_an_assignee_set_in_jira_meanwhile_is_left_alone(jira, duckdb_warehouse, monkeypatch):
    jira.add_user(OWNER, "Olive Later")
    _create_screen_without_assignee(monkeypatch)
    write_outbound(duckdb_warehouse, "jira", _rows(1))
    assert run("jira").created == 1
    [issue] = _issues(jira, duckdb_warehouse).values()
    someone = jira.person()  # a seeded person, assignable
    jira.edit_as(issue["key"], {"assignee": {"accountId": someone}})
    jira.clear_request_log()
    second = run("jira", run_id="second")
    assert second.dead_lettered == 0 and writes(jira) == []
    [issue] = _issues(jira, duckdb_warehouse).values()
    assert _assignee(issue) == someone
    # and unassigned by a person afterwards: still Jira's choice, never re-assigned
    jira.edit_as(issue["key"], {"assignee": None})
    _an_hour_later(duckdb_warehouse)
    write_outbound(duckdb_warehouse, "jira", [{**_rows(1)[0], "due_date": date(2027, 6, 1)}])
    jira.clear_request_log()
    third = run("jira", run_id="third")
    assert third.updated == 1 and third.dead_lettered == 0, third.failures
    [issue] = _issues(jira, duckdb_warehouse).values()
    assert _assignee(issue) is None


def test_an_assignee_the_edit_screen_lacks_too_waits_and_is_set_once_the_screen_takes_it(
        jira, duckdb_warehouse):
    owner = jira.add_user(OWNER, "Olive Later")
    _hide(jira, "assignee")  # off both screens
    write_outbound(duckdb_warehouse, "jira", _rows(1))
    assert run("jira").created == 1
    jira.clear_request_log()
    second = run("jira", run_id="second")  # read, the editmeta lacks it: no PUT Jira would refuse
    assert second.dead_lettered == 0 and writes(jira) == []
    jira.clear_request_log()
    assert run("jira", run_id="third").unchanged == 1 and writes(jira) == []  # within the hour: not even read
    assert not [r for r in jira.request_log if "/issue/" in r["path"]]
    _hide(jira, "assignee", hidden=False)
    _an_hour_later(duckdb_warehouse)
    jira.clear_request_log()
    back = run("jira", run_id="back")
    assert back.updated == 1 and [w["method"] for w in writes(jira)] == ["PUT"], back.failures
    [issue] = _issues(jira, duckdb_warehouse).values()
    assert _assignee(issue) == owner


def test_an_owner_jira_will_not_assign_is_given_up_not_dead_lettered(jira, duckdb_warehouse, monkeypatch):
    account = jira.add_user(OWNER, "Olive Later")
    _create_screen_without_assignee(monkeypatch)
    write_outbound(duckdb_warehouse, "jira", _rows(1))
    assert run("jira").created == 1
    # the owner loses Jira access: user/search still lists them, an assignment is refused (400 for assignee)
    r = requests.delete(f"{jira.url}/rest/api/3/group/user",
                        params={"groupname": "jira-software-users", "accountId": account},
                        auth=(jira.credentials["email"], jira.credentials["api_token"]), timeout=10)
    assert r.status_code in (200, 204), r.text
    jira.clear_request_log()
    second = run("jira", run_id="second")
    assert second.dead_lettered == 0, second.failures
    assert [w["status"] for w in writes(jira)] == [400], "tried once, refused for the assignee alone"
    [issue] = _issues(jira, duckdb_warehouse).values()
    assert _assignee(issue) is None
    jira.clear_request_log()
    _an_hour_later(duckdb_warehouse)
    third = run("jira", run_id="third")
    assert third.dead_lettered == 0 and writes(jira) == [], "given up: not tried on every push"


def test_a_dry_run_plans_the_assignment_and_writes_nothing(jira, duckdb_warehouse, monkeypatch):
    owner = jira.add_user(OWNER, "Olive Later")
    _create_screen_without_assignee(monkeypatch)
    write_outbound(duckdb_warehouse, "jira", _rows(1))
    assert run("jira").created == 1
    jira.clear_request_log()
    run("jira", run_id="dry", dry_run=True)
    assert writes(jira) == []
    planned = query(duckdb_warehouse, "select field, after_value, outcome from reverse_sync.plans where run_id = 'dry'")
    assert planned == [("assignee", owner, "planned")]
    assert run("jira", run_id="real").updated == 1
