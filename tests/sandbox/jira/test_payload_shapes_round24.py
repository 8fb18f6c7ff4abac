"""Probe round 24: a request body member of the wrong JSON type (a string where Jira's bean holds an object, a
number where it holds an array, ...) is Jira's 400 before the resource runs; each of these was a 500 here."""

from __future__ import annotations

import pytest

from sandbox.jira.errors import PAYLOAD


@pytest.fixture(scope="module")
def sb():
    from sandbox.jira import JiraSandbox

    with JiraSandbox(port=0, size=30, seed=42) as box:
        yield box


ISSUE = {"project": {"key": "SEC"}, "summary": "s", "issuetype": {"name": "Task"}}
CASES = [
    ("POST", "/rest/api/2/issue", {"fields": "x"}),
    ("PUT", "/rest/api/2/issue/SEC-2", {"fields": 5}),
    ("PUT", "/rest/api/2/issue/SEC-2", {"update": ["x"]}),
    ("PUT", "/rest/api/2/issue/SEC-2", {"update": {"comment": [{"add": "x"}]}}),
    ("POST", "/rest/api/2/issue/SEC-2/transitions", {"transition": "41"}),
    ("PUT", "/rest/api/2/issue/SEC-2/assignee", {"accountId": []}),
    ("POST", "/rest/api/2/issue/bulk", {"issueUpdates": 5}),
    ("POST", "/rest/api/2/issue/bulk", {"issueUpdates": ["x"]}),
    ("POST", "/rest/api/2/issueLink", {"type": {"name": "Blocks"}, "inwardIssue": {"key": "SEC-2"},
                                       "outwardIssue": {"key": "SEC-3"}, "comment": "x"}),
    ("POST", "/rest/agile/1.0/sprint/4/issue", {"issues": 5}),
    ("POST", "/rest/api/2/group/user?groupname=jira-admins", {"accountId": {"x": 1}}),
    ("POST", "/rest/webhooks/1.0/webhook", {"name": "w", "url": "http://127.0.0.1:9/x", "events": 5}),
    ("POST", "/rest/webhooks/1.0/webhook", {"name": "w", "url": "http://127.0.0.1:9/x",
                                            "events": ["jira:issue_created"], "filters": "project = SEC"}),
    ("POST", "/rest/webhooks/1.0/webhook", {"name": "w", "url": "http://127.0.0.1:9/x",
                                            "events": ["jira:issue_created"],
                                            "filters": {"issue-related-events-section": ["x"]}}),
    ("POST", "/rest/api/3/search/jql", {"jql": "project = SEC", "reconcileIssues": 5}),
    ("POST", "/rest/api/2/project", {"key": "NEWP", "name": "N", "projectTypeKey": ["software"],
                                     "leadAccountId": "x"}),
    ("POST", "/rest/api/2/project", {"key": "NEWP", "name": "N", "projectTypeKey": "software",
                                     "leadAccountId": {"x": 1}}),
    ("POST", "/rest/api/3/permissions/check", {"projectPermissions": "x"}),
    ("POST", "/rest/api/3/permissions/check", {"projectPermissions": [{}, 5]}),
    ("POST", "/rest/api/3/permissions/check", {"projectPermissions": [{"permissions": [["BROWSE_PROJECTS"]]}]}),
]


@pytest.mark.parametrize(("method", "path", "body"), CASES)
def test_wrong_json_type_is_a_400(sb, s, method, path, body):
    resp = s.request(method, sb.url + path, json=body)
    assert resp.status_code == 400, resp.text
    assert resp.json() == {"errorMessages": [PAYLOAD], "errors": {}}


def test_labels_that_are_no_array_are_a_field_error(sb, s):
    api = f"{sb.url}/rest/api/2/issue"
    before = s.get(f"{api}/SEC-2", params={"fields": "labels"}).json()["fields"]["labels"]
    for bad in (5, True, "x"):
        made = s.post(api, json={"fields": {**ISSUE, "labels": bad}})
        assert made.status_code == 400 and made.json()["errors"] == {"labels": "data was not an array"}, made.text
        edit = s.put(f"{api}/SEC-2", json={"update": {"labels": [{"set": bad}]}})
        assert edit.status_code == 400 and edit.json()["errors"] == {"labels": "data was not an array"}, edit.text
    assert s.put(f"{api}/SEC-2", json={"fields": {"labels": [{}]}}).status_code == 400
    assert s.get(f"{api}/SEC-2", params={"fields": "labels"}).json()["fields"]["labels"] == before  # "x" was x


def test_link_comment_is_read_before_linking(sb, s):
    api = f"{sb.url}/rest/api/2"
    links = len(s.get(f"{api}/issue/SEC-4", params={"fields": "issuelinks"}).json()["fields"]["issuelinks"])
    bad = s.post(f"{api}/issueLink", json={"type": {"name": "Relates"}, "inwardIssue": {"key": "SEC-4"},
                                           "outwardIssue": {"key": "SEC-5"}, "comment": {"body": ""}})
    assert bad.status_code == 400
    after = s.get(f"{api}/issue/SEC-4", params={"fields": "issuelinks"}).json()["fields"]["issuelinks"]
    assert len(after) == links  # a refused comment leaves no link behind
    good = s.post(f"{api}/issueLink", json={"type": {"name": "Relates"}, "inwardIssue": {"key": "SEC-4"},
                                            "outwardIssue": {"key": "SEC-5"}, "comment": {"body": "linked"}})
    assert good.status_code == 201
    assert s.get(f"{api}/issue/SEC-4/comment").json()["comments"][-1]["body"] == "linked"
