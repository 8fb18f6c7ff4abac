"""Round 30: the create/edit screens (`sandbox/jira/field_screens.py`) and JQL on a moved issue's old key.

A field that is not on the create (or edit) screen, or that the field configuration hides, is refused with Jira's
400 `Field '<id>' cannot be set. It is not on the appropriate screen, or unknown.`, and createmeta/editmeta list
exactly the fields that are taken. A moved issue is found by JQL under its old key, as `GET /issue/OLD-1` finds it.
"""

from __future__ import annotations

import pytest
from jira.exceptions import JIRAError

from tests.sandbox.jira.helpers import checked


@pytest.fixture
def sb(make_jira_sandbox):
    return make_jira_sandbox(size=30)


NEW = {"project": {"key": "SEC"}, "issuetype": {"name": "Task"}, "summary": "screens"}


def _refusal(fid: str) -> str:
    return f"Field '{fid}' cannot be set. It is not on the appropriate screen, or unknown."


def _hide(s, api, *fids):
    r = s.put(f"{api}/fieldconfiguration/10000/fields",
              json={"fieldConfigurationItems": [{"id": f, "isHidden": True} for f in fids]})
    assert r.status_code == 204, r.text


def _createmeta(sb, s, api, project="SEC", type_id="10002"):
    fields = checked(sb, s.get(f"{api}/issue/createmeta/{project}/issuetypes/{type_id}",
                               params={"maxResults": 200})).json()["fields"]
    return [f["fieldId"] for f in fields]


def test_createmeta_lists_what_a_create_takes(sb, s, pyc):
    api = f"{sb.url}/rest/api/3"
    listed = _createmeta(sb, s, api)
    assert {"environment", "versions", "issuelinks", "attachment"} <= set(listed)  # taken before, now listed
    assert "resolution" not in listed and "security" not in listed
    # every field createmeta lists except the attachment (its own endpoint) is taken on a create
    version = pyc.create_version("v-screens", "SEC")
    comp = pyc.create_component("c-screens", "SEC")
    issue = pyc.create_issue(fields={**NEW, "environment": "prod", "versions": [{"id": version.id}],
                                     "components": [{"id": comp.id}], "fixVersions": [{"name": "v-screens"}],
                                     "duedate": "2026-12-31", "labels": ["a"], "priority": {"name": "High"},
                                     "description": "d", "timetracking": {"originalEstimate": "1h"},
                                     "customfield_10016": 3})
    got = pyc.issue(issue.key).fields
    assert (got.environment, [v.name for v in got.versions]) == ("prod", ["v-screens"])
    meta = {f["fieldId"]: f for f in checked(sb, s.get(f"{api}/issue/createmeta/SEC/issuetypes/10002")).json()[
        "fields"]}
    assert [v["name"] for v in meta["versions"]["allowedValues"]] == [v["name"] for v in
                                                                      meta["fixVersions"]["allowedValues"]]
    assert meta["issuelinks"]["operations"] == ["add", "copy"]


@pytest.mark.parametrize("extra", [{"resolution": {"name": "Done"}}, {"security": {"id": "10000"}},
                                   {"customfield_10019": "0|a"}, {"nosuchfield": 1}])
def test_create_refuses_a_field_off_the_screen(sb, s, extra):
    api = f"{sb.url}/rest/api/3"
    before = len(sb.issues())
    r = checked(sb, s.post(f"{api}/issue", json={"fields": {**NEW, **extra}}))
    [fid] = extra
    assert r.status_code == 400 and r.json() == {"errorMessages": [], "errors": {fid: _refusal(fid)}}
    assert len(sb.issues()) == before


def test_edit_refuses_resolution_and_unknown_update_fields(sb, s):
    api = f"{sb.url}/rest/api/2"
    r = s.put(f"{api}/issue/SEC-1", json={"fields": {"resolution": {"name": "Done"}}})
    assert r.status_code == 400 and r.json()["errors"] == {"resolution": _refusal("resolution")}
    r = s.put(f"{api}/issue/SEC-1", json={"update": {"nosuch": [{"add": "x"}]}})
    assert r.status_code == 400 and r.json()["errors"] == {"nosuch": _refusal("nosuch")}
    r = s.put(f"{api}/issue/SEC-1", json={"fields": {"project": {"key": "GRC"}}})  # a move is not an edit
    assert r.status_code == 400 and r.json()["errors"] == {"project": _refusal("project")}
    assert s.get(f"{api}/issue/SEC-1").json()["fields"]["project"]["key"] == "SEC"


def test_editmeta_lists_exactly_what_an_edit_takes(sb, s, pyc):
    api = f"{sb.url}/rest/api/3"
    fields = checked(sb, s.get(f"{api}/issue/SEC-1/editmeta")).json()["fields"]
    assert "reporter" in fields and "worklog" in fields and "project" not in fields and "resolution" not in fields
    me = pyc.myself()["accountId"]
    pyc.issue("SEC-1").update(fields={"reporter": {"accountId": me}, "environment": "staging"})
    assert pyc.issue("SEC-1").fields.reporter.accountId == me


def test_a_hidden_field_leaves_createmeta_editmeta_and_is_refused(sb, s, pyc):
    api = f"{sb.url}/rest/api/3"
    _hide(s, api, "duedate", "environment", "fixVersions")
    assert not {"duedate", "environment", "fixVersions"} & set(_createmeta(sb, s, api))
    edit = checked(sb, s.get(f"{api}/issue/SEC-1/editmeta")).json()["fields"]
    assert not {"duedate", "environment", "fixVersions"} & set(edit)
    bean = s.get(f"{api}/issue/SEC-1", params={"expand": "editmeta"}).json()
    assert set(bean["editmeta"]["fields"]) == set(edit)
    r = s.post(f"{api}/issue", json={"fields": {**NEW, "duedate": "2026-12-31", "environment": None}})
    assert r.status_code == 400 and r.json() == {"errorMessages": [], "errors": {
        "duedate": _refusal("duedate"), "environment": _refusal("environment")}}
    with pytest.raises(JIRAError) as err:  # pycontribs sends the edit as it is; nothing is written
        pyc.issue("SEC-1").update(fields={"summary": "kept?", "duedate": "2026-12-31"})
    assert err.value.status_code == 400 and err.value.response.json()["errors"] == {"duedate": _refusal("duedate")}
    assert pyc.issue("SEC-1").fields.summary != "kept?"
    r = s.put(f"{api}/issue/SEC-1", json={"update": {"fixVersions": [{"add": {"name": "x"}}]}})
    assert r.status_code == 400 and r.json()["errors"] == {"fixVersions": _refusal("fixVersions")}
    # a transition screen leaves it out too and refuses it, even with strict_screens off
    done = s.get(f"{api}/issue/SEC-1/transitions", params={"expand": "transitions.fields",
                                                           "transitionId": "41"}).json()["transitions"][0]
    assert set(done["fields"]) == {"resolution", "assignee"}
    r = s.post(f"{api}/issue/SEC-1/transitions", json={"transition": {"id": "41"},
                                                       "fields": {"fixVersions": []}})
    assert r.status_code == 400 and r.json()["errors"] == {"fixVersions": _refusal("fixVersions")}
    # shown again: taken again
    assert s.put(f"{api}/fieldconfiguration/10000/fields", json={"fieldConfigurationItems": [
        {"id": "duedate", "isHidden": False}]}).status_code == 204
    assert "duedate" in _createmeta(sb, s, api)
    assert pyc.create_issue(fields={**NEW, "duedate": "2026-12-31"}).fields.duedate == "2026-12-31"


def test_bulk_create_refuses_per_element(sb, s):
    api = f"{sb.url}/rest/api/3"
    _hide(s, api, "labels")
    r = s.post(f"{api}/issue/bulk", json={"issueUpdates": [{"fields": {**NEW, "labels": ["x"]}}, {"fields": NEW}]})
    body = r.json()
    assert r.status_code == 201 and len(body["issues"]) == 1
    assert body["errors"] == [{"status": 400, "failedElementNumber": 0, "elementErrors": {
        "errorMessages": [], "errors": {"labels": _refusal("labels")}}}]


def _move(s, api, key, target="GRC,10002"):
    r = s.post(f"{api}/bulk/issues/move", json={"targetToSourcesMapping": {target: {
        "issueIdsOrKeys": [key], "inferFieldDefaults": True, "inferStatusDefaults": True,
        "inferSubtaskTypeDefault": True, "inferClassificationDefaults": True}}})
    assert r.status_code == 201, r.text
    return s.get(f"{api}/issue/{key}").json()["key"]


def test_jql_finds_a_moved_issue_by_its_old_key(sb, s, pyc, atl):
    api = f"{sb.url}/rest/api/3"
    old = pyc.create_issue(fields={**NEW, "summary": "to move"}).key
    sub = pyc.create_issue(fields={"project": {"key": "SEC"}, "issuetype": {"name": "Sub-task"},
                                   "summary": "its sub-task", "parent": {"key": old}}).key
    new = _move(s, api, old)
    assert new.startswith("GRC-") and s.get(f"{sb.url}/rest/api/2/issue/{old}").json()["key"] == new

    def keys(jql):
        r = checked(sb, s.post(f"{api}/search/jql", json={"jql": jql, "fields": ["key"], "maxResults": 100}))
        assert r.status_code == 200, r.text
        return [i["key"] for i in r.json()["issues"]]

    assert keys(f"key = {old}") == keys(f"issuekey in ({old.lower()})") == keys(f"issue = {old}") == [new]
    assert keys(f"key in ({old}, SEC-1) ORDER BY key ASC") == [new, "SEC-1"]
    assert new not in keys(f"project = GRC AND key != {old}")
    assert keys(f"project = SEC AND key = {old}") == []  # the issue is in GRC now
    assert keys(f"parent = {old}") == [pyc.issue(sub).key]
    assert [i.key for i in pyc.search_issues(f"key = {old}")] == [new]
    assert [i["key"] for i in atl.jql(f"issuekey = {old}", fields="key")["issues"]] == [new]
    match = checked(sb, s.post(f"{api}/jql/match", json={"jqls": [f"key = {old}"],
                                                         "issueIds": [int(pyc.issue(new).id)]})).json()
    assert match["matches"][0]["matchedIssues"] == [int(pyc.issue(new).id)]
    # moved again: both earlier keys find it
    newer = _move(s, api, new, "ENG,10002")
    assert keys(f"key in ({old}, {new})") == [newer] and keys(f"key = {new}") == [newer]
    # deleted: its old keys are gone too, as any deleted issue's key
    assert s.delete(f"{api}/issue/{newer}", params={"deleteSubtasks": "true"}).status_code == 204
    sb.sync_index()
    for key in (old, newer):
        r = s.post(f"{api}/search/jql", json={"jql": f"key = {key}"})
        assert r.status_code == 400 and r.json()["errorMessages"] == [
            f"An issue with key '{key}' does not exist for field 'key'."]
    assert s.get(f"{api}/issue/{old}").status_code == 404
