"""Gaps a previous probe pass found, checked through pycontribs `jira` and atlassian-python-api: transition
screens (`expand=transitions.fields`), board create/delete, user properties, the legacy GreenHopper sprint
rename and the issue attachments zip."""

from __future__ import annotations

import io
import zipfile

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
    assert [v["name"] for v in resolution["allowedValues"]] == ["Done", "Won't Do", "Duplicate", "Cannot Reproduce"]
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


# --- 2. boards ------------------------------------------------------------------------------------------
def test_create_and_delete_boards(pyc, atl, sb):
    flt = pyc.create_filter("GRC work", jql="project = GRC ORDER BY Rank ASC")
    before = {b.id for b in pyc.boards()}
    mine = pyc.create_board("My GRC board", flt.id)  # Cloud: located under the calling user
    assert mine.name == "My GRC board" and mine.type == "scrum"
    assert mine.raw["location"]["userAccountId"] == sb.store.me.account_id
    kanban = pyc.create_board("SEC flow", flt.id, preset="kanban", location_type="project", location_id="SEC")
    assert kanban.raw["location"]["projectKey"] == "SEC" and kanban.type == "kanban"
    assert {b.id for b in pyc.boards()} == before | {mine.id, kanban.id}
    assert [b.id for b in pyc.boards(name="SEC flow")] == [kanban.id]
    assert kanban.id in {b.id for b in pyc.boards(projectKeyOrID="SEC")}

    config = atl.get_agile_board_configuration(mine.id)
    assert config["filter"]["id"] == str(flt.id) and config["location"] == {"type": "user"}
    assert atl.get_agile_board_configuration(kanban.id)["location"]["type"] == "project"
    assert "subQuery" in atl.get_agile_board_configuration(kanban.id)
    assert {i.fields.project.key for i in pyc.search_issues("project = GRC", maxResults=5)} == {"GRC"}
    issues = atl.get(f"rest/agile/1.0/board/{mine.id}/issue", params={"maxResults": 5})["issues"]
    assert issues and {i["fields"]["project"]["key"] for i in issues} == {"GRC"}  # from the filter's project

    made = atl.create_agile_board("atl board", "scrum", flt.id, location={"type": "project",
                                                                           "projectKeyOrId": "GRC"})
    assert atl.get_agile_board(made["id"])["name"] == "atl board"
    sprint = pyc.create_sprint("new board sprint", made["id"])
    assert sprint.originBoardId == made["id"]
    atl.delete_agile_board(made["id"])
    with pytest.raises(HTTPError) as err:
        atl.get_agile_board(made["id"])
    assert err.value.response.status_code == 404
    mine.delete()
    assert {b.id for b in pyc.boards()} == before | {kanban.id}
    with pytest.raises(HTTPError):
        atl.delete_agile_board(mine.id)

    for bad in ({"name": "", "type": "scrum", "filterId": flt.id}, {"name": "x", "type": "list", "filterId": flt.id},
                {"name": "x", "type": "scrum", "filterId": 999999},
                {"name": "x", "type": "scrum", "filterId": flt.id, "location": {"type": "project",
                                                                               "projectKeyOrId": "NOPE"}}):
        with pytest.raises(JIRAError) as jerr:
            pyc._session.post(pyc._get_url("board", base=pyc.AGILE_BASE_URL), json=bad)
        assert jerr.value.status_code == 400 and jerr.value.response.json()["errors"]


def test_board_answers_match_the_official_schema(pyc, sb):
    agile = openapi("jira-software-agile.json", sb.url)
    flt = pyc.create_filter("SEC work", jql="project = SEC")
    with session_for(sb) as s:
        for body in ({"name": "b1", "type": "scrum", "filterId": int(flt.id)},
                     {"name": "b2", "type": "kanban", "filterId": int(flt.id),
                      "location": {"type": "project", "projectKeyOrId": "SEC"}}):
            r = s.post(sb.url + "/rest/agile/1.0/board", json=body)
            assert r.status_code == 201, r.text
            agile.validate_response(RequestsOpenAPIRequest(r.request), RequestsOpenAPIResponse(r))
            for path in (f"/rest/agile/1.0/board/{r.json()['id']}", f"/rest/agile/1.0/board/{r.json()['id']}"
                                                                   "/configuration", "/rest/agile/1.0/board"):
                got = s.get(sb.url + path)
                agile.validate_response(RequestsOpenAPIRequest(got.request), RequestsOpenAPIResponse(got))
            r = s.delete(f"{sb.url}/rest/agile/1.0/board/{r.json()['id']}")
            assert r.status_code == 204
            agile.validate_response(RequestsOpenAPIRequest(r.request), RequestsOpenAPIResponse(r))


# --- 3. user properties ---------------------------------------------------------------------------------
def test_user_properties(pyc, atl, sb):
    me, other = sb.store.me.account_id, sb.person()
    assert atl.user_properties(account_id=other) == {"keys": []}
    atl.user_set_property(account_id=other, key_property="onboarding", value_property={"step": 2})
    atl.user_set_property(account_id=other, key_property="theme", value_property="dark")
    keys = atl.user_properties(account_id=other)["keys"]
    assert [k["key"] for k in keys] == ["onboarding", "theme"] and "accountId=" in keys[0]["self"]
    assert atl.user_property(account_id=other, key_property="onboarding") == {"key": "onboarding",
                                                                              "value": {"step": 2}}
    atl.user_set_property(account_id=other, key_property="onboarding", value_property={"step": 3})
    assert atl.user_property(account_id=other, key_property="onboarding")["value"] == {"step": 3}
    atl.user_delete_property(account_id=other, key_property="theme")
    assert [k["key"] for k in atl.user_properties(account_id=other)["keys"]] == ["onboarding"]
    assert atl.user_properties(account_id=me) == {"keys": []}  # per user

    with session_for(sb) as s:
        v3 = f"{sb.url}/rest/api/3/user/properties"
        r = s.put(f"{v3}/fresh", params={"accountId": me}, json=[1, 2])
        assert r.status_code == 201
        assert s.put(f"{v3}/fresh", params={"accountId": me}, json=[3]).status_code == 200
        assert s.get(f"{v3}/fresh", params={"accountId": me}).json() == {"key": "fresh", "value": [3]}
        platform = openapi("jira-platform-v3.json", sb.url)
        for got in (s.get(v3, params={"accountId": me}), s.get(f"{v3}/fresh", params={"accountId": me})):
            platform.validate_response(RequestsOpenAPIRequest(got.request), RequestsOpenAPIResponse(got))
        assert s.get(v3).status_code == 400  # accountId is required
        assert s.get(v3, params={"username": "admin"}).status_code == 400
        assert s.get(v3, params={"accountId": "nobody"}).status_code == 404
        assert s.get(f"{v3}/missing", params={"accountId": me}).status_code == 404
        assert s.delete(f"{v3}/missing", params={"accountId": me}).status_code == 404
        assert s.put(f"{v3}/empty", params={"accountId": me}, data=b"").status_code == 400
        assert s.delete(f"{v3}/fresh", params={"accountId": me}).status_code == 204
    with pytest.raises(HTTPError):
        atl.user_property(account_id="nobody", key_property="x")


# --- optional: legacy sprint rename, attachments zip ----------------------------------------------------
def test_rename_sprint_through_greenhopper(pyc, atl, sb):
    board = pyc.boards(projectKeyOrID="SEC")[0]
    future = pyc.create_sprint("Sprint X", board.id)
    out = atl.rename_sprint(future.id, "Sprint Y", "2026-11-02T09:00:00.000+0000", "2026-11-16T09:00:00.000+0000")
    assert out["name"] == "Sprint Y" and out["startDate"].startswith("2026-11-02")
    got = pyc.sprint(future.id)
    assert (got.name, got.endDate[:10]) == ("Sprint Y", "2026-11-16")
    with pytest.raises(HTTPError) as err:
        atl.rename_sprint(987654, "nope", None, None)
    assert err.value.response.status_code == 404 and err.value.response.json()["errorMessages"]
    closed = next(s for s in pyc.sprints(board.id, state="closed"))
    with pytest.raises(HTTPError) as err:
        atl.rename_sprint(closed.id, "rewrite history", None, None)
    assert err.value.response.status_code == 400


def test_download_issue_attachments_zip(pyc, atl, sb, tmp_path):
    key = _open_issue(pyc, "with files")
    pyc.add_attachment(key, attachment=io.BytesIO(b"first"), filename="notes.txt")
    pyc.add_attachment(key, attachment=io.BytesIO(b"second"), filename="notes.txt")
    pyc.add_attachment(key, attachment=io.BytesIO(b"%PDF-1.4"), filename="report.pdf")
    assert atl.download_issue_attachments(key, path=str(tmp_path)) == "Attachments downloaded successfully"
    issue_id = pyc.issue(key).id
    with zipfile.ZipFile(tmp_path / f"{issue_id}_attachments.zip") as zf:
        assert sorted(zf.namelist()) == ["notes (1).txt", "notes.txt", "report.pdf"]
        assert zf.read("notes.txt") == b"first" and zf.read("notes (1).txt") == b"second"
    empty = _open_issue(pyc, "no files")
    assert atl.download_issue_attachments(empty, path=str(tmp_path)) == "No attachments found on the Jira issue"
    with session_for(sb) as s:
        assert s.get(f"{sb.url}/secure/issueAttachments/999999.zip").status_code == 404
        s.auth = None
        assert s.get(f"{sb.url}/secure/issueAttachments/{issue_id}.zip").status_code == 401
