"""Gaps a previous probe pass found, checked through pycontribs `jira` and atlassian-python-api: transition
screens (`expand=transitions.fields`), board create/delete, user properties, the legacy GreenHopper sprint
rename and the issue attachments zip."""

from __future__ import annotations

import pytest
from jira import JIRAError
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse
from requests import HTTPError

from tests.sandbox.jira.helpers import openapi, session_for


@pytest.fixture
def sb(make_jira_sandbox):
    return make_jira_sandbox(size=40)


def _open_issue(pyc, summary: str = "to close") -> str:
    return pyc.create_issue(project="SEC", summary=summary, issuetype={"name": "Task"}).key


# --- 1. transition screens ------------------------------------------------------------------------------
def test_transition_fields_only_when_expanded(pyc, atl, sb):
    key = _open_issue(pyc)
    plain = pyc.transitions(key)
    assert plain and all("fields" not in t for t in plain)
    assert {t["name"]: t["hasScreen"] for t in plain} == {"To Do": False, "In Progress": False,
                                                         "In Review": False, "Done": True}
    version = pyc.create_version("1.0", "SEC")
    expanded = {t["name"]: t for t in pyc.transitions(key, expand="transitions.fields")}
    assert expanded["In Progress"]["fields"] == {}
    done = expanded["Done"]["fields"]
    resolution = done["resolution"]
    assert resolution["required"] is True and resolution["key"] == "resolution" and resolution["name"] == "Resolution"
    assert resolution["schema"] == {"type": "resolution", "system": "resolution"}
    assert resolution["operations"] == ["set"]
    assert [v["name"] for v in resolution["allowedValues"]] == ["Done", "Won't Do"]
    assert [v["id"] for v in done["fixVersions"]["allowedValues"]] == [version.id]
    assert done["fixVersions"]["schema"]["items"] == "version" and done["fixVersions"]["required"] is False
    assert "autoCompleteUrl" in done["assignee"]
    one = pyc.transitions(key, id="41", expand="transitions.fields")
    assert [t["id"] for t in one] == ["41"] and "resolution" in one[0]["fields"]
    full = atl.get_issue_transitions_full(key, expand="transitions.fields")
    assert {t["id"]: sorted(t["fields"]) for t in full["transitions"]}["41"] == ["assignee", "fixVersions",
                                                                                 "resolution"]
    issue = atl.get_issue(key, expand="transitions.fields", fields="status")
    assert "resolution" in {t["id"]: t for t in issue["transitions"]}["41"]["fields"]
    found = atl.get("rest/api/2/search/jql", params={"jql": f"key = {key}", "expand": "transitions.fields",
                                                     "fields": "status"})
    assert "resolution" in {t["id"]: t for t in found["issues"][0]["transitions"]}["41"]["fields"]


def test_transitions_with_screen_fields_end_to_end(pyc, atl, sb):
    first, second, third = _open_issue(pyc, "one"), _open_issue(pyc, "two"), _open_issue(pyc, "three")
    version = pyc.create_version("2.0", "SEC")
    pyc.transition_issue(first, "Done", comment="not needed",
                         fields={"resolution": {"name": "Won't Do"}, "fixVersions": [{"id": version.id}]})
    issue = pyc.issue(first)
    assert (issue.fields.status.name, issue.fields.resolution.name) == ("Done", "Won't Do")
    assert [v.name for v in issue.fields.fixVersions] == ["2.0"]
    assert pyc.comments(first)[-1].body == "not needed"

    pyc.transition_issue(second, "41", resolution={"id": "10000"})  # fields as keyword arguments
    assert pyc.issue(second).fields.resolution.name == "Done"

    atl.set_issue_status(third, "Done", fields={"resolution": {"name": "Won't Do"}},
                         update={"comment": [{"add": {"body": "closed by atlassian"}}]})
    fields = atl.get_issue(third, fields="status,resolution,comment")["fields"]
    assert (fields["status"]["name"], fields["resolution"]["name"]) == ("Done", "Won't Do")
    assert fields["comment"]["comments"][-1]["body"] == "closed by atlassian"
    atl.set_issue_status(third, "To Do")
    assert atl.get_issue(third, fields="resolution")["fields"]["resolution"] is None

    with pytest.raises(JIRAError) as err:
        pyc.transition_issue(second, "Done", fields={"resolution": {"name": "Maybe"}})
    assert err.value.status_code == 400 and "resolution" in err.value.response.json()["errors"]
    with pytest.raises(HTTPError):
        atl.set_issue_status(first, "Done", fields={"resolution": {"id": "999"}})


def test_transition_screen_matches_the_official_schema(pyc, sb):
    key = _open_issue(pyc)
    pyc.create_version("3.0", "SEC")
    platform = openapi("jira-platform-v3.json", sb.url)
    with session_for(sb) as s:
        for path in (f"/rest/api/3/issue/{key}/transitions?expand=transitions.fields",
                     f"/rest/api/3/issue/{key}/transitions"):
            r = s.get(sb.url + path)
            assert r.status_code == 200, r.text
            platform.validate_response(RequestsOpenAPIRequest(r.request), RequestsOpenAPIResponse(r))
