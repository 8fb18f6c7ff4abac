"""Round 29: gaps a review of the Jira two-way sync found in the emulator, probed with the vendors' clients
unchanged (pycontribs `jira`, atlassian-python-api) and plain REST checked against the platform spec.

Found: ADF with a non-object node was stored and every v2 read or search of the issue answered 500; a text node
with a non-string text was accepted; a request nested past the JSON parser's depth was a 500; no field could be
made required (createmeta always said required: false); there was no issue move (`/bulk/issues/move` was a
404); any existing account, even a deactivated one or one without Jira access, could be made assignee."""

from __future__ import annotations

import pytest
from jira.exceptions import JIRAError
from requests import HTTPError

from tests.sandbox.jira.helpers import checked


@pytest.fixture
def sb(make_jira_sandbox):
    return make_jira_sandbox(size=30)


def _doc(*content):
    return {"type": "doc", "version": 1, "content": list(content)}


def _para(*inline):
    return {"type": "paragraph", "content": list(inline)}


NEW = {"project": {"key": "SEC"}, "issuetype": {"name": "Task"}, "summary": "two-way"}


@pytest.mark.parametrize("bad", [
    _doc("x"),  # a string where a node goes (stored, then a 500 on every v2 read and search)
    _doc(_para("x")),
    _doc(_para({"type": "text", "text": 7})),  # non-string text
    _doc(_para({"type": "text", "text": ""})),  # ADF text nodes hold at least one character
    _doc({"type": "text", "text": "inline at the top"}),
    _doc({"type": "nope", "content": []}),
    _doc(_para({"type": "text", "text": "x", "marks": ["strong"]})),
    _doc({"type": "paragraph", "content": "x"}),
    _doc(_para(_para({"type": "text", "text": "paragraph in a paragraph"}))),
])
def test_invalid_adf_is_a_400_field_error(sb, s, bad):
    api = f"{sb.url}/rest/api/3"
    r = s.post(f"{api}/issue", json={"fields": {**NEW, "description": bad}})
    assert r.status_code == 400, r.text
    assert r.json()["errorMessages"] == [] and set(r.json()["errors"]) == {"description"}
    assert s.put(f"{api}/issue/SEC-1", json={"fields": {"environment": bad}}).status_code == 400
    assert s.post(f"{api}/issue/SEC-1/comment", json={"body": bad}).status_code == 400
    r = s.put(f"{api}/issue/SEC-1", json={"update": {"comment": [{"add": {"body": bad}}]}})
    assert r.status_code == 400 and "comment" in r.json()["errors"]
    assert s.post(f"{api}/issue/SEC-1/worklog", json={"timeSpent": "1h", "comment": bad}).status_code == 400
    # nothing was stored: the issue still reads in both versions and in search
    assert s.get(f"{sb.url}/rest/api/2/issue/SEC-1").status_code == 200
    assert s.get(f"{api}/search/jql", params={"jql": "project = SEC", "fields": "*all"}).status_code == 200


def test_deep_and_nested_documents(sb, s):
    api = f"{sb.url}/rest/api/3"
    depth = 3000  # past Python's parser depth: was a 500
    raw = ('{"fields": {"project": {"key": "SEC"}, "issuetype": {"name": "Task"}, "summary": "deep", '
           '"description": {"type": "doc", "version": 1, "content": [' + '{"type": "bulletList", "content": ['
           '{"type": "listItem", "content": [' * depth + '{"type": "paragraph", "content": []}' + ']}]}' * depth
           + ']}}}')
    r = s.post(f"{api}/issue", data=raw, headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["errorMessages"]
    nested = {"type": "paragraph", "content": [{"type": "text", "text": "leaf"}]}
    for _ in range(100):  # lists nested 100 deep: beyond what Jira stores
        nested = {"type": "bulletList", "content": [{"type": "listItem", "content": [nested]}]}
    assert s.post(f"{api}/issue", json={"fields": {**NEW, "description": _doc(nested)}}).status_code == 400
    nested = {"type": "paragraph", "content": [{"type": "text", "text": "leaf"}]}
    for _ in range(5):  # ordinary nesting is kept and read back in both versions
        nested = {"type": "bulletList", "content": [{"type": "listItem", "content": [nested]}]}
    rich = _doc(_para({"type": "text", "text": "bold", "marks": [{"type": "strong"}]}, {"type": "hardBreak"},
                      {"type": "mention", "attrs": {"id": "x"}}), nested,
                {"type": "codeBlock", "attrs": {}, "content": [{"type": "text", "text": "code"}]})
    made = s.post(f"{api}/issue", json={"fields": {**NEW, "description": rich}})
    assert made.status_code == 201, made.text
    assert s.get(f"{api}/issue/{made.json()['key']}").json()["fields"]["description"] == rich
    assert "leaf" in s.get(f"{sb.url}/rest/api/2/issue/{made.json()['key']}").json()["fields"]["description"]


def test_required_field_refuses_create_and_shows_in_createmeta(sb, s, pyc):
    api = f"{sb.url}/rest/api/3"
    items = checked(sb, s.get(f"{api}/fieldconfiguration/10000/fields", params={"maxResults": 100})).json()
    assert {"id": "duedate", "isHidden": False, "isRequired": False} in items["values"]
    r = s.put(f"{api}/fieldconfiguration/10000/fields", json={"fieldConfigurationItems": [
        {"id": "duedate", "isRequired": True}, {"id": "labels", "isRequired": True}]})
    assert r.status_code == 204, r.text
    fields = checked(sb, s.get(f"{api}/issue/createmeta/SEC/issuetypes/10002")).json()["fields"]
    required = {f["fieldId"] for f in fields if f["required"]}
    assert {"duedate", "labels", "summary"} <= required
    with pytest.raises(JIRAError) as err:
        pyc.create_issue(fields={"project": {"key": "SEC"}, "issuetype": {"name": "Task"}, "summary": "x"})
    assert err.value.status_code == 400
    assert err.value.response.json()["errors"] == {"duedate": "Due date is required.",
                                                   "labels": "Labels is required."}
    assert pyc.create_issue(fields={"project": {"key": "SEC"}, "issuetype": {"name": "Task"}, "summary": "x",
                                    "duedate": "2026-12-31", "labels": ["a"]}).key.startswith("SEC-")
    issue = pyc.issue("SEC-1")
    with pytest.raises(JIRAError) as err:
        issue.update(fields={"duedate": None})
    assert err.value.response.json()["errors"] == {"duedate": "Due date is required."}
    issue.update(fields={"summary": "an edit that leaves the required field alone"})
    assert s.get(f"{api}/issue/SEC-1/editmeta").json()["fields"]["duedate"]["required"] is True
    # hiding drops the required flag (the spec); locked and unknown fields are refused
    assert s.put(f"{api}/fieldconfiguration/10000/fields", json={"fieldConfigurationItems": [
        {"id": "labels", "isHidden": True}]}).status_code == 204
    assert pyc.create_issue(fields={"project": {"key": "SEC"}, "issuetype": {"name": "Task"}, "summary": "y",
                                    "duedate": "2026-12-31"})
    for bad in ({"id": "summary", "isRequired": False}, {"id": "nope", "isRequired": True},
                {"id": "duedate", "isRequired": "yes"}):
        assert s.put(f"{api}/fieldconfiguration/10000/fields",
                     json={"fieldConfigurationItems": [bad]}).status_code == 400
    assert s.get(f"{api}/fieldconfiguration/1/fields").status_code == 404


def test_bulk_move_keeps_the_id_and_the_old_key_resolves(sb, s, pyc, atl):
    api = f"{sb.url}/rest/api/3"
    parent = pyc.create_issue(fields={**NEW, "summary": "moving parent"})
    sub = pyc.create_issue(fields={"project": {"key": "SEC"}, "issuetype": {"name": "Sub-task"},
                                   "summary": "its sub-task", "parent": {"key": parent.key}})
    pyc.add_comment(parent.key, "kept across the move")
    body = {"targetToSourcesMapping": {"GRC,10002": {
        "issueIdsOrKeys": [parent.key], "inferFieldDefaults": True, "inferStatusDefaults": True,
        "inferSubtaskTypeDefault": True, "inferClassificationDefaults": True}}}
    r = checked(sb, s.post(f"{api}/bulk/issues/move", json=body))
    assert r.status_code == 201
    task = s.get(f"{api}/bulk/queue/{r.json()['taskId']}").json()  # epoch ms, as the spec example
    assert task["status"] == "COMPLETE" and sorted(task["processedAccessibleIssues"]) == sorted(
        [int(parent.id), int(sub.id)])
    moved = pyc.issue(parent.key)  # the old key answers the issue under its new key
    assert moved.id == parent.id and moved.key.startswith("GRC-") and moved.fields.project.key == "GRC"
    assert [c.body for c in pyc.comments(moved.key)] == ["kept across the move"]
    assert pyc.issue(sub.key).key.startswith("GRC-") and pyc.issue(sub.key).fields.parent.key == moved.key
    assert atl.issue(parent.key)["key"] == moved.key
    found = pyc.search_issues(f"project = GRC AND id = {parent.id}")
    assert [i.key for i in found] == [moved.key]
    items = s.get(f"{api}/issue/{moved.key}/changelog").json()["values"][-1]["items"]
    assert {"field": "Key", "fieldtype": "jira", "from": None, "fromString": parent.key, "to": None,
            "toString": moved.key} in items
    # a new SEC issue does not reuse the old key
    assert pyc.create_issue(fields=NEW).key != parent.key


@pytest.mark.parametrize("body", [
    {}, {"targetToSourcesMapping": {}},
    {"targetToSourcesMapping": {"NOPE,10002": {"issueIdsOrKeys": ["SEC-1"]}}},
    {"targetToSourcesMapping": {"GRC,99999": {"issueIdsOrKeys": ["SEC-1"]}}},
    {"targetToSourcesMapping": {"GRC,10002": {"issueIdsOrKeys": ["SEC-9999"]}}},
    {"targetToSourcesMapping": {"GRC,10002": {"issueIdsOrKeys": []}}},
    {"targetToSourcesMapping": {"GRC,10004": {"issueIdsOrKeys": ["SEC-1"]}}},  # sub-task type, no parent
])
def test_bulk_move_refusals(sb, s, body):
    r = checked(sb, s.post(f"{sb.url}/rest/api/3/bulk/issues/move", json=body))
    assert r.status_code == 400 and r.json()["errors"][0]["message"]
    assert s.get(f"{sb.url}/rest/api/3/issue/SEC-1").json()["key"] == "SEC-1"


def test_bulk_move_needs_move_permission(sb, user):
    r = user.post(f"{sb.url}/rest/api/3/bulk/issues/move", json={"targetToSourcesMapping": {
        "GRC,10002": {"issueIdsOrKeys": ["SEC-1"]}}})
    assert r.status_code == 400


def test_assignee_must_be_assignable(sb, s, pyc, atl):
    api = f"{sb.url}/rest/api/3"
    ghost = sb.add_user("ghost@example.com", "No Jira Access")
    s.delete(f"{api}/group/user", params={"groupname": "jira-software-users", "accountId": ghost})
    gone = sb.add_user("gone@example.com", "Deactivated", active=False)
    ok = next(u["accountId"] for u in s.get(f"{api}/user/assignable/search", params={"project": "SEC"}).json()
              if u["accountId"] != pyc.myself()["accountId"])
    for who in (ghost, gone):
        listed = checked(sb, s.get(f"{api}/user/assignable/search", params={"project": "SEC", "accountId": who}))
        assert listed.json() == []
        assert who not in {u["accountId"] for u in s.get(f"{api}/user/assignable/multiProjectSearch",
                                                           params={"projectKeys": "SEC,GRC"}).json()}
        with pytest.raises(JIRAError) as err:
            pyc.create_issue(fields={**NEW, "assignee": {"accountId": who}})
        assert err.value.status_code == 400 and set(err.value.response.json()["errors"]) == {"assignee"}
        with pytest.raises(HTTPError) as err:  # pycontribs' assign_issue looks the user up first (active only)
            atl.assign_issue("SEC-1", who)
        assert err.value.response.status_code == 400 and "assignee" in err.value.response.json()["errors"]
        r = s.put(f"{api}/issue/SEC-1", json={"fields": {"assignee": {"accountId": who}}})
        assert r.status_code == 400 and "assignee" in r.json()["errors"]
    with pytest.raises(JIRAError) as err:
        pyc.assign_issue("SEC-1", ghost)
    assert err.value.status_code == 400
    assert pyc.assign_issue("SEC-1", ok)
    assert pyc.issue("SEC-1").fields.assignee.accountId == ok
    made = pyc.create_issue(fields={**NEW, "assignee": {"accountId": ok}})
    assert made.fields.assignee.accountId == ok
