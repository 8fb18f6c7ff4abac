"""More calls a real integration makes through pycontribs `jira` and atlassian-python-api: worklog change
feeds and `started` formats, comment visibility, version/component counts and ordering, group
administration and member paging, project properties, attachments, epics, sprint deletion, the Agile issue
bean and estimation, a board's projects and versions."""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta, timezone

import pytest
from jira import JIRAError
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse
from requests import HTTPError

from tests.sandbox.jira.helpers import openapi, session_for


@pytest.fixture
def sb(make_jira_sandbox):
    return make_jira_sandbox(size=40)


def test_worklog_started_formats_and_change_feeds(pyc, atl, sb):
    est = timezone(timedelta(hours=-5))
    aware = pyc.add_worklog("SEC-3", timeSpent="1h", started=datetime(2026, 10, 1, 9, 0, tzinfo=est))
    assert aware.started == "2026-10-01T14:00:00.000+0000"
    atl.issue_worklog("SEC-3", "2026-10-02T09:30:00.000+0200", 1800, comment="by atlassian")
    logs = atl.issue_get_worklog("SEC-3")["worklogs"]
    assert [(w["started"], w["timeSpentSeconds"]) for w in logs] == [("2026-10-01T14:00:00.000+0000", 3600),
                                                                    ("2026-10-02T07:30:00.000+0000", 1800)]
    with pytest.raises(JIRAError) as err:
        pyc._session.post(pyc._get_url("issue/SEC-3/worklog"), data=json.dumps({"timeSpent": "1h",
                                                                                  "started": "yesterday"}))
    assert err.value.status_code == 400 and "started" in err.value.response.json()["errors"]

    sb.advance_clock(61)  # the feeds leave out the last minute (round 33)
    updated = atl.get("rest/api/2/worklog/updated", params={"since": 0})
    assert {v["worklogId"] for v in updated["values"]} == {int(w["id"]) for w in logs}
    assert updated["lastPage"] is True and updated["until"] >= updated["since"] == 0
    later = atl.get("rest/api/2/worklog/updated", params={"since": updated["until"] + 1})
    assert later["values"] == []
    pyc.worklog("SEC-3", aware.id).delete()
    sb.advance_clock(61)
    deleted = atl.get("rest/api/2/worklog/deleted", params={"since": 0})["values"]
    assert [v["worklogId"] for v in deleted] == [int(aware.id)]
    listed = atl.post("rest/api/2/worklog/list", data={"ids": [int(w["id"]) for w in logs] + [999]})
    assert [w["comment"] for w in listed] == ["by atlassian"]
    with pytest.raises(HTTPError):
        atl.post("rest/api/2/worklog/list", data={"ids": list(range(1001))})


def test_comment_visibility(pyc, atl):
    restricted = pyc.add_comment("SEC-1", "for admins", visibility={"type": "role", "value": "Administrators"})
    assert (restricted.visibility.type, restricted.visibility.value) == ("role", "Administrators")
    assert pyc.comment("SEC-1", restricted.id).visibility.value == "Administrators"
    public = atl.issue_add_comment("SEC-1", "for everyone")
    assert "visibility" not in public
    restricted.update(body="still for admins")
    assert pyc.comment("SEC-1", restricted.id).visibility.type == "role"
    with pytest.raises(JIRAError) as err:
        pyc.add_comment("SEC-1", "x", visibility={"type": "planet", "value": "Mars"})
    assert err.value.status_code == 400 and "commentLevel" in err.value.response.json()["errors"]


def test_version_counts_and_ordering(pyc, atl, sb):
    first, second = pyc.create_version("1.0", "SEC"), pyc.create_version("2.0", "SEC", released=True)
    third = atl.add_version("SEC", sb.store.projects["SEC"].id, "3.0")
    fixed = pyc.create_issue(project="SEC", summary="fixed", issuetype={"name": "Task"},
                             fixVersions=[{"id": first.id}], versions=[{"id": second.id}])
    pyc.create_issue(project="SEC", summary="also", issuetype={"name": "Task"}, fixVersions=[{"id": first.id}])
    pyc.transition_issue(fixed, "Done")
    counts = pyc.version_count_related_issues(first.id)
    assert (counts["issuesFixedCount"], counts["issuesAffectedCount"]) == (2, 0)
    assert pyc.version_count_related_issues(second.id)["issuesAffectedCount"] == 1
    assert pyc.version_count_unresolved_issues(first.id) == 1
    pyc.move_version(third["id"], position="First")
    assert [v.name for v in pyc.project_versions("SEC")] == ["3.0", "1.0", "2.0"]
    pyc.move_version(third["id"], after=second.self)
    assert [v["name"] for v in atl.get_project_versions("SEC")] == ["1.0", "2.0", "3.0"]
    assert [v["name"] for v in atl.get_project_versions_paginated("SEC", start=1, limit=1)["values"]] == ["2.0"]
    with pytest.raises(JIRAError) as err:
        pyc.move_version(first.id, position="Sideways")
    assert err.value.status_code == 400
    with pytest.raises(JIRAError) as err:
        pyc.version_count_related_issues("424242")
    assert err.value.status_code == 404


def test_component_counts_update_and_delete(pyc, atl, sb):
    comp = atl.create_component({"name": "Identity", "project": "SEC", "description": "IAM",
                                 "leadAccountId": sb.store.me.account_id})
    pyc.create_issue(project="SEC", summary="MFA", issuetype={"name": "Task"}, components=[{"id": comp["id"]}])
    assert pyc.component_count_related_issues(comp["id"]) == 1
    assert atl.get_component_related_issues(comp["id"])["issueCount"] == 1
    assert atl.component(comp["id"])["lead"]["accountId"] == sb.store.me.account_id
    assert atl.update_component({"name": "IAM"}, comp["id"])["name"] == "IAM"
    assert [c.name for c in pyc.project_components("SEC")] == ["IAM"]
    atl.delete_component(comp["id"])
    with pytest.raises(JIRAError) as err:
        pyc.component(comp["id"])
    assert err.value.status_code == 404


def test_group_administration_and_member_paging(pyc, atl, sb):
    everyone = [u.account_id for u in sb.store.users.values() if u.account_type == "atlassian"]
    assert sorted(pyc.group_members("jira-software-users")) == sorted(everyone)  # pycontribs sorts by name
    with session_for(sb) as s:
        page = s.get(sb.url + "/rest/api/2/group", params={"groupname": "jira-software-users",
                                                            "expand": "users[10:19]"}).json()["users"]
    assert (page["size"], page["start-index"], page["end-index"]) == (len(everyone), 10, 19)
    assert [u["accountId"] for u in page["items"]] == everyone[10:20]
    paged = atl.get_all_users_from_group("jira-software-users", limit=10, start=20)
    assert [u["accountId"] for u in paged["values"]] == everyone[20:30] and paged["isLast"] is True

    assert pyc.add_group("auditors") is True
    assert "auditors" in pyc.groups()
    other = sb.person()
    assert pyc.add_user_to_group(other, "auditors")["name"] == "auditors"
    atl.add_user_to_group(username=sb.store.me.account_id, group_name="auditors")
    assert set(pyc.group_members("auditors")) == {other, sb.store.me.account_id}
    groups = atl.get("rest/api/2/user/groups", params={"accountId": other})
    assert "auditors" in {g["name"] for g in groups}
    assert pyc.remove_user_from_group(other, "auditors") is True
    assert list(pyc.group_members("auditors")) == [sb.store.me.account_id]
    with pytest.raises(HTTPError):
        atl.create_group("Auditors")  # names are case-insensitive
    pyc.remove_group("auditors")
    assert "auditors" not in pyc.groups()
    with pytest.raises(HTTPError) as err:
        atl.remove_group("auditors")
    assert err.value.response.status_code == 404


def test_project_properties_and_attachment_settings(atl, pyc, sb):
    url = "rest/api/2/project/SEC/properties"
    assert atl.put(f"{url}/audit", data={"owner": "grc"}, advanced_mode=True).status_code == 201
    assert atl.put(f"{url}/audit", data={"owner": "sec"}, advanced_mode=True).status_code == 200
    assert [k["key"] for k in atl.get(url)["keys"]] == ["audit"]
    assert atl.get(f"rest/api/2/project/{sb.store.projects['SEC'].id}/properties/audit")["value"] == {"owner": "sec"}
    atl.delete(f"{url}/audit")
    with pytest.raises(HTTPError) as err:
        atl.get(f"{url}/audit")
    assert err.value.response.status_code == 404
    assert atl.get("rest/api/2/attachment/meta") == {"enabled": True, "uploadLimit": 10485760}
    saved = pyc.create_filter("Shared", None, "project = SEC")
    assert atl.get(f"rest/api/2/filter/{saved.id}/permission") == []


def test_attachments_through_both_clients(pyc, atl, sb, tmp_path):
    issue = pyc.create_issue(project="GRC", summary="evidence", issuetype={"name": "Task"})
    path = tmp_path / "policy.txt"
    path.write_bytes(b"policy v1")
    with path.open("rb") as fh:
        one = pyc.add_attachment(issue.key, fh)
    two = pyc.add_attachment(issue, io.BytesIO(b"\x00\x01"), "blob.bin")
    [three] = atl.add_attachment(issue.key, str(path))
    assert (one.filename, one.get()) == ("policy.txt", b"policy v1") and two.get() == b"\x00\x01"
    assert atl.get_attachment_content(three["id"]) == b"policy v1"
    assert atl.get_attachment(two.id)["size"] == 2
    assert [a.filename for a in pyc.issue(issue.key).fields.attachment] == ["policy.txt", "blob.bin", "policy.txt"]
    pyc.delete_attachment(one.id)
    atl.remove_attachment(three["id"])
    assert [a.id for a in pyc.issue(issue.key).fields.attachment] == [two.id]
    with pytest.raises(JIRAError) as err:
        pyc.attachment(one.id)
    assert err.value.status_code == 404


def test_epics_move_in_and_out(pyc, atl, sb):
    board = pyc.boards(projectKeyOrID="SEC")[0]
    epic = pyc.create_issue(project="SEC", summary="Access reviews", issuetype={"name": "Epic"})
    task = pyc.create_issue(project="SEC", summary="Q4 review", issuetype={"name": "Task"})
    assert pyc.add_issues_to_epic(epic.key, [task.key]).status_code == 204
    assert pyc.issue(task.key).fields.parent.key == epic.key
    assert [i["key"] for i in atl.epic_issues(epic.key)["issues"]] == [task.key]
    on_board = atl.get(f"rest/agile/1.0/board/{board.id}/epic/{epic.id}/issue")
    assert [i["key"] for i in on_board["issues"]] == [task.key]
    assert task.key not in {i["key"] for i in atl.get(f"rest/agile/1.0/board/{board.id}/epic/none/issue",
                                                       params={"maxResults": 100})["issues"]}
    atl.post("rest/agile/1.0/epic/none/issue", data={"issues": [task.key]})
    assert getattr(pyc.issue(task.key).fields, "parent", None) is None
    without = atl.get("rest/agile/1.0/epic/none/issue", params={"jql": f"key = {task.key}"})
    assert [i["key"] for i in without["issues"]] == [task.key]
    with pytest.raises(JIRAError) as err:
        pyc.add_issues_to_epic(epic.key, [epic.key])
    assert err.value.status_code == 400
    with pytest.raises(JIRAError) as err:
        pyc.add_issues_to_epic(task.key, [epic.key])
    assert err.value.status_code == 404


def test_sprint_delete_agile_issue_and_estimation(pyc, atl, sb):
    board = pyc.boards(projectKeyOrID="SEC")[0]
    sprint = pyc.create_sprint("Throwaway", board.id)
    pyc.add_issues_to_sprint(sprint.id, ["SEC-4"])
    pyc.sprint(sprint.id).delete()
    with pytest.raises(JIRAError) as err:
        pyc.sprint(sprint.id)
    assert err.value.status_code == 404
    assert sprint.id not in sb.store.resolve("SEC-4").sprints
    other = atl.create_sprint("Throwaway 2", board.id)
    atl.delete_sprint(other["id"])
    assert other["id"] not in {s.id for s in pyc.sprints(board.id)}

    bean = atl.get("rest/agile/1.0/issue/SEC-4", params={"fields": "summary"})
    assert bean["key"] == "SEC-4" and set(bean["fields"]) == {"summary"}  # Agile fields only when asked for [unc]
    put = atl.put(f"rest/agile/1.0/issue/SEC-4/estimation?boardId={board.id}", data={"value": "8"})
    assert put == {"fieldId": "customfield_10016", "value": 8.0}
    assert atl.get("rest/agile/1.0/issue/SEC-4/estimation")["value"] == 8.0
    assert pyc.issue("SEC-4").fields.customfield_10016 == 8.0
    with pytest.raises(HTTPError) as err:
        atl.put("rest/agile/1.0/issue/SEC-4/estimation", data={"value": "large"})
    assert err.value.response.status_code == 400

    pyc.create_version("9.0", "SEC", released=True)
    pyc.create_version("10.0", "SEC")
    versions = atl.get(f"rest/agile/1.0/board/{board.id}/version", params={"released": "false"})
    assert [v["name"] for v in versions["values"]] == ["10.0"]
    projects = atl.get(f"rest/agile/1.0/board/{board.id}/project")
    assert [p["key"] for p in projects["values"]] == ["SEC"]


def test_new_answers_match_the_official_schema(pyc, sb):
    platform, agile = openapi("jira-platform-v3.json", sb.url), openapi("jira-software-agile.json", sb.url)
    version = pyc.create_version("1.0", "SEC")
    comp = pyc.create_component("Net", "SEC")
    pyc.add_worklog("SEC-2", timeSpent="2h")
    board = pyc.boards(projectKeyOrID="SEC")[0]
    epic = pyc.create_issue(project="SEC", summary="E", issuetype={"name": "Epic"})
    with session_for(sb) as s:
        for spec, method, path, body in (
                (platform, "GET", f"/rest/api/3/version/{version.id}/relatedIssueCounts", None),
                (platform, "GET", f"/rest/api/3/version/{version.id}/unresolvedIssueCount", None),
                (platform, "POST", f"/rest/api/3/version/{version.id}/move", {"position": "Last"}),
                (platform, "GET", f"/rest/api/3/component/{comp.id}/relatedIssueCounts", None),
                (platform, "GET", "/rest/api/3/worklog/updated?since=0", None),
                (platform, "GET", "/rest/api/3/worklog/deleted?since=0", None),
                (platform, "POST", "/rest/api/3/worklog/list", {"ids": [1]}),
                (platform, "POST", "/rest/api/3/group", {"name": "reviewers"}),
                (platform, "GET", "/rest/api/3/group?groupname=reviewers", None),
                (platform, "POST", "/rest/api/3/group/user?groupname=reviewers",
                 {"accountId": sb.store.me.account_id}),
                (platform, "PUT", "/rest/api/3/project/SEC/properties/p", {"a": 1}),
                (platform, "GET", "/rest/api/3/project/SEC/properties", None),
                (platform, "GET", "/rest/api/3/project/SEC/properties/p", None),
                (platform, "GET", "/rest/api/3/attachment/meta", None),
                (platform, "POST", "/rest/api/3/issue/SEC-2/comment",
                 {"body": {"type": "doc", "version": 1, "content": []},
                  "visibility": {"type": "group", "value": "jira-admins"}}),
                (agile, "GET", "/rest/agile/1.0/issue/SEC-2", None),
                (agile, "GET", f"/rest/agile/1.0/board/{board.id}/project", None),
                (agile, "GET", f"/rest/agile/1.0/board/{board.id}/version", None),
                (agile, "GET", f"/rest/agile/1.0/board/{board.id}/epic/none/issue", None),
                (agile, "GET", f"/rest/agile/1.0/board/{board.id}/epic/{epic.key}/issue", None),
                (agile, "GET", "/rest/agile/1.0/epic/none/issue", None)):
            r = s.request(method, sb.url + path, json=body)
            assert r.status_code in (200, 201), (path, r.text)
            spec.validate_response(RequestsOpenAPIRequest(r.request), RequestsOpenAPIResponse(r))


def test_search_json_result_and_changelog_paging(pyc, atl, sb):
    raw = pyc.search_issues("project = SEC ORDER BY key", json_result=True, maxResults=3, fields="summary")
    assert len(raw["issues"]) == 3 and raw["nextPageToken"] and raw["isLast"] is False
    later = pyc.enhanced_search_issues("project = SEC ORDER BY key", nextPageToken=raw["nextPageToken"],
                                       maxResults=3, json_result=True)
    assert not {i["key"] for i in later["issues"]} & {i["key"] for i in raw["issues"]}
    issue = pyc.create_issue(project="SEC", summary="log", issuetype={"name": "Task"})
    for n in range(3):
        issue.update(summary=f"log {n}")
    first = atl.get_issue_changelog(issue.key, start=0, limit=2)
    assert (first["total"], first["isLast"], len(first["values"])) == (3, False, 2)
    rest = atl.get_issue_changelog(issue.key, start=2, limit=2)
    assert rest["isLast"] is True and rest["values"][0]["items"][0]["toString"] == "log 2"
    assert pyc.issue(issue.key, expand="changelog").changelog.total == 3


def test_transition_and_edit_log_work(pyc, atl):
    """`update.worklog` add operations (pycontribs `transition_issue(worklog=...)`) used to be dropped."""
    pyc.transition_issue("SEC-3", "Done", worklog="1h 30m", comment="closing",
                         fields={"resolution": {"name": "Done"}})
    assert [w.timeSpentSeconds for w in pyc.worklogs("SEC-3")] == [5400]
    assert pyc.comments("SEC-3")[-1].body == "closing" and pyc.issue("SEC-3").fields.resolution.name == "Done"
    atl.edit_issue("SEC-4", {"worklog": [{"add": {"timeSpent": "2h", "started": "2026-10-01T09:00:00.000+0000"}}]})
    [log] = atl.issue_get_worklog("SEC-4")["worklogs"]
    assert (log["timeSpentSeconds"], log["started"]) == (7200, "2026-10-01T09:00:00.000+0000")
    with pytest.raises(HTTPError) as bad:
        atl.edit_issue("SEC-4", {"worklog": [{"add": {"comment": "no time"}}]})
    assert bad.value.response.status_code == 400
