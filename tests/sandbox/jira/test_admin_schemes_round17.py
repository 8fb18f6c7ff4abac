"""Admin scheme reads (workflow, issue type, field configuration, notification, permission, issue security and
priority schemes) through pycontribs `jira`, atlassian-python-api and raw requests, v3 answers validated
against the official spec, and the Administer-Jira 403 of the admin-only ones for a caller outside
`jira-admins`; plus the Agile issue bean's field selection."""

from __future__ import annotations

import pytest
from jira import JIRAError

from tests.sandbox.jira.helpers import checked, drop_admin

ADMIN_ONLY = ["workflowscheme", "workflowscheme/10000", "workflowscheme/project?projectId=10000", "issuetypescheme",
              "issuetypescheme/mapping", "issuetypescheme/project?projectId=10000", "fieldconfigurationscheme",
              "issuesecurityschemes", "issuesecurityschemes/10000", "issuesecurityschemes/search"]
OPEN = ["permissionscheme", "notificationscheme", "priorityscheme"]
AGILE = {"sprint", "closedSprints", "flagged", "epic"}


@pytest.fixture
def sb(make_jira_sandbox):
    return make_jira_sandbox(size=30)


def test_admin_scheme_reads_fit_the_spec(sb, s, pyc, atl):
    api = f"{sb.url}/rest/api/3"
    for path in ADMIN_ONLY + OPEN:
        assert checked(sb, s.get(f"{api}/{path}")).status_code == 200, path
    workflow = checked(sb, s.get(f"{api}/workflowscheme")).json()
    assert workflow["total"] == 1 and workflow["values"][0]["id"] == 10000
    mapping = checked(sb, s.get(f"{api}/issuetypescheme/mapping", params={"issueTypeSchemeId": 10000})).json()
    assert mapping["values"] and {r["issueTypeSchemeId"] for r in mapping["values"]} == {"10000"}
    fcs = checked(sb, s.get(f"{api}/fieldconfigurationscheme", params={"id": 10000})).json()
    assert fcs == {"maxResults": 50, "startAt": 0, "total": 0, "isLast": True, "values": [],
                   "self": f"{api}/fieldconfigurationscheme?startAt=0&maxResults=50"}
    assert s.get(f"{api}/fieldconfigurationscheme", params={"id": "x"}).status_code == 400
    plain = checked(sb, s.get(f"{api}/priorityscheme")).json()["values"]
    assert [(p["id"], p["name"], p["default"]) for p in plain] == [("1", "Default Priority Scheme", True)]
    assert "priorities" not in plain[0] and "projects" not in plain[0]
    full = checked(sb, s.get(f"{api}/priorityscheme", params={"expand": "priorities,projects"})).json()["values"][0]
    assert [p["name"] for p in full["priorities"]["values"]] == ["Highest", "High", "Medium", "Low", "Lowest"]
    assert {p["key"] for p in full["projects"]["values"]} == set(sb.store.projects)
    assert s.get(f"{api}/priorityscheme", params={"schemeName": "nope"}).json()["values"] == []
    assert s.get(f"{api}/priorityscheme", params={"orderBy": "id"}).status_code == 400
    # the vendor clients' own calls
    assert [x["name"] for x in pyc.permissionschemes()] == ["Default Permission Scheme"]
    assert [x["id"] for x in pyc.issuesecurityschemes()] == [10000]
    assert [x["id"] for x in pyc.notificationschemes()] == [10000]
    assert [x["id"] for x in atl.get_issue_security_schemes()] == [10000]
    assert [x["id"] for x in atl.get_all_notification_schemes()] == [10000]


def test_admin_only_scheme_reads_refuse_a_non_admin(sb, s, pyc, atl):
    api = f"{sb.url}/rest/api/3"
    drop_admin(sb, s)
    for path in ADMIN_ONLY:
        r = s.get(f"{api}/{path}")
        assert r.status_code == 403, path
        assert r.json() == {"errorMessages": [
            "You are not authorized to perform this action. Administrator privileges are required."], "errors": {}}
    for path in OPEN:
        assert s.get(f"{api}/{path}").status_code == 200, path
    with pytest.raises(JIRAError) as err:
        pyc.issuesecurityschemes()
    assert err.value.status_code == 403
    assert pyc.permissionschemes()[0]["id"] == 10000


def test_notification_schemes_need_a_project_they_administer(sb, s):
    api = f"{sb.url}/rest/api/3"
    drop_admin(sb, s)
    me = s.get(f"{api}/myself").json()["accountId"]
    leads = {p["key"] for p in s.get(f"{api}/project/search", params={"expand": "lead"}).json()["values"]
             if p["lead"]["accountId"] == me}
    listed = s.get(f"{api}/notificationscheme").json()["values"]
    assert not leads and listed == []  # the caller now administers no project (leads would: `routes_roles`)


def test_agile_issue_bean_fields(sb, s, atl):
    agile = f"{sb.url}/rest/agile/1.0/issue/SEC-1"
    default = s.get(agile).json()["fields"]
    assert set(default) >= AGILE and "summary" in default
    assert "comment" not in default and "worklog" not in default  # navigable + Agile fields only
    assert set(atl.get("rest/agile/1.0/issue/SEC-1", params={"fields": "summary"})["fields"]) == {"summary"}
    assert set(s.get(agile, params={"fields": "summary,sprint,flagged"}).json()["fields"]) == {
        "summary", "sprint", "flagged"}
    assert set(s.get(agile, params={"fields": "*all"}).json()["fields"]) >= {"comment", "worklog"} | AGILE
    narrowed = set(s.get(agile, params={"fields": "-sprint,-comment"}).json()["fields"])
    assert "sprint" not in narrowed and AGILE - {"sprint"} <= narrowed
