"""Round seven of vendor-client probes: `expand=versionedRepresentations` (fields come back versioned instead,
empty on /search/jql), a malformed `update` operation (pycontribs `issue.update(labels=[...])`), the boards
that use a filter, creating/deleting site users, comment visibility checks, component default assignees, the
environment field, `update.issuelinks`, summary/due date checks, attachment media types and `attachments IS
EMPTY`, sprint membership rules, time tracking estimates (the `timetracking` field, worklog `adjustEstimate`
and their changelog), through pycontribs `jira` and atlassian-python-api, answers checked against the official
schema."""

from __future__ import annotations

import io

import pytest
from jira import JIRAError
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse
from requests import HTTPError

from tests.sandbox.jira.helpers import jira_cloud, openapi, session_for


@pytest.fixture
def sb(make_jira_sandbox):
    return make_jira_sandbox(size=40)


def test_versioned_representations_replace_fields(pyc, atl):
    raw = pyc.issue("SEC-1", fields="summary", expand="versionedRepresentations").raw
    assert "fields" not in raw  # "Instead of fields": and the fields parameter is ignored
    versions = raw["versionedRepresentations"]
    assert versions["summary"] == {"1": atl.get_issue("SEC-1", fields="summary")["fields"]["summary"]}
    assert {"status", "issuetype", "labels", "comment"} <= set(versions)
    assert versions["status"]["1"]["name"] == pyc.issue("SEC-1").fields.status.name
    both = atl.get_issue("SEC-1", expand="versionedRepresentations,names")
    assert "fields" not in both and both["names"]["summary"] == "Summary"
    found = atl.enhanced_jql("key = SEC-1", fields="summary", expand="versionedRepresentations")["issues"]
    assert found[0]["key"] == "SEC-1" and found[0]["versionedRepresentations"] == {}  # as Cloud answers it
    assert "fields" not in found[0]


def test_an_update_operation_must_be_an_object(pyc, atl):
    issue = pyc.create_issue(project="SEC", summary="labels", issuetype={"name": "Task"}, labels=["a"])
    with pytest.raises(JIRAError) as bad:
        issue.update(labels=["z"])  # pycontribs sends {"update": {"labels": ["z"]}}: not an operation
    assert bad.value.status_code == 400 and "FieldOperation" in bad.value.text
    assert pyc.issue(issue.key).fields.labels == ["a"]  # nothing was half-applied
    issue.update(update={"labels": [{"add": "z"}, {"remove": "a"}]}, notify=False)
    assert pyc.issue(issue.key).fields.labels == ["z"]
    issue.update(fields={"labels": ["x", "y"]})
    assert pyc.issue(issue.key).fields.labels == ["x", "y"]
    before = len(pyc.enhanced_search_issues("project = SEC", maxResults=0))
    with pytest.raises(HTTPError) as whole:  # bulk create: the whole request is unreadable, nothing is made
        atl.create_issues([{"fields": {"project": {"key": "SEC"}, "summary": "ok", "issuetype": {"name": "Task"}}},
                           {"fields": {"project": {"key": "SEC"}, "summary": "b", "issuetype": {"name": "Task"}},
                            "update": {"labels": ["x"]}}])
    assert whole.value.response.status_code == 400
    assert len(pyc.enhanced_search_issues("project = SEC", maxResults=0)) == before


def test_boards_by_filter(atl, pyc):
    fid = atl.get_agile_board_configuration(1)["filter"]["id"]
    page = atl.get_agile_board_by_filter_id(fid)
    assert page["values"] == [{"id": 1, "self": page["values"][0]["self"], "name": "SEC board"}]
    assert page["values"][0]["self"].endswith("/rest/agile/1.0/board/1") and page["total"] == 1
    mine = pyc.create_filter("Ops", jql="project = GRC")
    made = pyc.create_board("GRC by filter", filter_id=mine.id, location_type="project",
                            location_id=pyc.project("GRC").id)
    assert [b["name"] for b in atl.get_agile_board_by_filter_id(mine.id)["values"]] == [made.name]
    assert atl.get_agile_board_by_filter_id(999999)["values"] == []


def test_create_and_delete_users(pyc, atl, sb):
    with pytest.raises(JIRAError) as legacy:  # pycontribs sends name/password/displayName, not `products`
        pyc.add_user("newbie", "newbie@example.com", fullname="New Bie")
    assert legacy.value.status_code == 400 and "products" in legacy.value.response.json()["errors"]
    with pytest.raises(HTTPError):
        atl.user_create("newbie", "newbie@example.com", "New Bie")
    jc = jira_cloud(sb)
    made = jc.create_user(data={"emailAddress": "mia@example.com", "products": ["jira-software"]})
    assert made["emailAddress"] == "mia@example.com" and made["active"] is True
    assert [u.accountId for u in pyc.search_users(query="mia")] == [made["accountId"]]
    assert made["accountId"] in [u["accountId"] for u in atl.get_all_users_from_group("jira-software-users",
                                                                                      limit=200)["values"]]
    again = atl.post("rest/api/3/user", data={"emailAddress": "MIA@example.com", "products": []})
    assert again["accountId"] == made["accountId"]  # an existing user answers 201 with that user
    bare = atl.post("rest/api/3/user", data={"emailAddress": "noaccess@example.com", "products": []})
    assert bare["accountId"] not in [u["accountId"] for u in atl.get_all_users_from_group(
        "jira-software-users", limit=200)["values"]]
    for bad in ({"emailAddress": "x@example.com", "products": ["confluence"]}, {"products": []}):
        with pytest.raises(HTTPError) as refused:
            atl.post("rest/api/3/user", data=bad)
        assert refused.value.response.status_code == 400

    jc.remove_user(account_id=made["accountId"])
    assert pyc.search_users(query="mia") == []
    assert pyc.user(made["accountId"]).active is False
    for params, status in (({"accountId": made["accountId"]}, 404), ({}, 400),
                           ({"accountId": pyc.myself()["accountId"]}, 400)):
        with pytest.raises(HTTPError) as gone:
            atl.delete("rest/api/3/user", params=params)
        assert gone.value.response.status_code == status


def test_comment_visibility_names_a_group_or_role_you_are_in(pyc, atl):
    ok = pyc.add_comment("SEC-2", "admins", visibility={"type": "group", "value": "jira-admins"})
    assert ok.raw["visibility"] == {"type": "group", "value": "jira-admins",  # and its groupId (round 33)
                                    "identifier": pyc.group("jira-admins").raw["groupId"]}
    pyc.add_group("auditors")  # the API user is not in it
    member = "You are currently not a member of the"
    for vis, why in (({"type": "group", "value": "nosuch"}, "Group: nosuch does not exist."),
                     ({"type": "group", "value": "auditors"}, f"{member} group: auditors."),
                     ({"type": "role", "value": "Viewer"}, f"{member} project role: Viewer."),
                     ({"type": "role", "value": "Nosuch"}, "Invalid role level specified.")):
        with pytest.raises(JIRAError) as refused:
            pyc.add_comment("SEC-2", "x", visibility=vis)
        assert refused.value.status_code == 400
        assert refused.value.response.json()["errors"] == {"commentLevel": why}
    with pytest.raises(HTTPError) as edit:
        atl.issue_edit_comment("SEC-2", ok.id, "y", visibility={"type": "group", "value": "auditors"})
    assert edit.value.response.status_code == 400
    assert pyc.comment("SEC-2", ok.id).body == "admins"  # the refused edit changed nothing
    with pytest.raises(HTTPError) as worklog:  # a worklog's visibility is checked the same way
        atl.post("rest/api/2/issue/SEC-2/worklog", data={"timeSpent": "1h",
                                                           "visibility": {"type": "group", "value": "auditors"}})
    assert worklog.value.response.json()["errors"] == {"commentLevel": f"{member} group: auditors."}
    pyc.add_user_to_group(pyc.myself()["accountId"], "auditors")
    assert atl.post("rest/api/2/issue/SEC-2/worklog", data={
        "timeSpent": "1h", "visibility": {"type": "group", "value": "auditors"}})["visibility"]["value"] == "auditors"
    assert pyc.add_comment("SEC-2", "now", visibility={"type": "group", "value": "auditors"}).visibility.value == \
        "auditors"


def test_component_default_assignee(pyc, atl):
    me, lead = pyc.myself()["accountId"], pyc.project("SEC").lead.accountId
    other = next(u.accountId for u in pyc.search_users(query="a") if u.accountId not in (me, lead))
    alpha = atl.create_component({"name": "Alpha", "project": "SEC", "assigneeType": "COMPONENT_LEAD",
                                  "leadAccountId": other})
    assert (alpha["realAssigneeType"], alpha["isAssigneeTypeValid"], alpha["realAssignee"]["accountId"]) == \
        ("COMPONENT_LEAD", True, other)
    atl.create_component({"name": "Beta", "project": "SEC", "assigneeType": "PROJECT_LEAD"})
    nobody = pyc.create_component("Delta", "SEC", assigneeType="COMPONENT_LEAD")  # no lead to assign to
    assert (nobody.assigneeType, nobody.realAssigneeType, nobody.isAssigneeTypeValid) == \
        ("COMPONENT_LEAD", "PROJECT_DEFAULT", False)

    def made(**fields):
        return pyc.create_issue(project="SEC", summary="c", issuetype={"name": "Task"}, **fields)

    both = made(components=[{"name": "Beta"}, {"name": "Alpha"}])  # Alpha comes first by name
    assert both.fields.assignee.accountId == other
    assert made(components=[{"name": "Beta"}]).fields.assignee.accountId == lead
    assert made(components=[{"name": "Delta"}]).fields.assignee is None  # the project default: unassigned
    chosen = made(components=[{"name": "Alpha"}], assignee={"accountId": me})
    assert chosen.fields.assignee.accountId == me  # an assignee given wins
    pyc.assign_issue(chosen.key, "-1")  # "-1": the default assignee
    assert pyc.issue(chosen.key).fields.assignee.accountId == other
    with pytest.raises(HTTPError) as bad:
        atl.create_component({"name": "Bad", "project": "SEC", "assigneeType": "BOSS"})
    assert bad.value.response.status_code == 400


def test_environment_is_kept(pyc, sb):
    issue = pyc.create_issue(project="SEC", summary="env", issuetype={"name": "Task"},
                             environment="Ubuntu 24.04, prod cluster")
    assert pyc.issue(issue.key).fields.environment == "Ubuntu 24.04, prod cluster"  # it was dropped (null)
    assert pyc.issue(issue.key, expand="renderedFields").raw["renderedFields"]["environment"] == \
        "<p>Ubuntu 24.04, prod cluster</p>"
    v3 = jira_cloud(sb).get_issue(issue.key)["fields"]["environment"]
    assert v3["type"] == "doc" and "Ubuntu 24.04" in str(v3)
    assert [i.key for i in pyc.enhanced_search_issues('environment ~ "ubuntu"')] == [issue.key]
    assert [i.key for i in pyc.enhanced_search_issues('project = SEC AND environment IS NOT EMPTY')] == [issue.key]
    issue.update(fields={"environment": "Debian 12"})
    items = [(i.field, i.fromString, i.toString) for h in pyc.issue(issue.key, expand="changelog").changelog.histories
             for i in h.items]
    assert items == [("environment", "Ubuntu 24.04, prod cluster", "Debian 12")]


def test_issue_links_through_update_and_field_checks(pyc, atl):
    issue = pyc.create_issue(project="SEC", summary="linked", issuetype={"name": "Task"})
    issue.update(update={"issuelinks": [{"add": {"type": {"name": "Blocks"}, "outwardIssue": {"key": "SEC-1"}}}]})
    assert [(lk.type.name, lk.outwardIssue.key) for lk in pyc.issue(issue.key).fields.issuelinks] == \
        [("Blocks", "SEC-1")]  # the operation was ignored
    assert any(getattr(lk, "inwardIssue", None) and lk.inwardIssue.key == issue.key
               for lk in pyc.issue("SEC-1").fields.issuelinks)
    made = atl.create_issue(fields={"project": {"key": "SEC"}, "summary": "n", "issuetype": {"name": "Task"}},
                            update={"issuelinks": [{"add": {"type": {"name": "Relates"},
                                                            "inwardIssue": {"key": "SEC-2"}}}],
                                    "comment": [{"add": {"body": "first"}}]})
    assert [(lk.type.name, lk.inwardIssue.key) for lk in pyc.issue(made["key"]).fields.issuelinks] == \
        [("Relates", "SEC-2")]
    assert [c.body for c in pyc.comments(made["key"])] == ["first"]
    for fields, field, why in (({"summary": "two\nlines"}, "summary",
                                "The summary is invalid because it contains newline characters."),
                               ({"duedate": "24/12/2026"}, "duedate", "Error parsing date string: 24/12/2026"),
                               ({"duedate": "2026-02-30"}, "duedate", "Error parsing date string: 2026-02-30")):
        with pytest.raises(JIRAError) as bad:
            issue.update(fields=fields)
        assert bad.value.status_code == 400 and bad.value.response.json()["errors"] == {field: why}
    with pytest.raises(JIRAError) as unknown:
        issue.update(update={"issuelinks": [{"add": {"type": {"name": "Nope"}, "outwardIssue": {"key": "SEC-1"}}}]})
    assert unknown.value.status_code == 400 and "issuelinks" in unknown.value.response.json()["errors"]
    pyc.create_issue_link("Blocks", issue.key, "SEC-1")  # the same link again: still one
    assert len(pyc.issue(issue.key).fields.issuelinks) == 1
    with pytest.raises(JIRAError) as itself:
        pyc.create_issue_link("Relates", issue.key, issue.key)
    assert itself.value.status_code == 400
    with pytest.raises(JIRAError):
        issue.update(update={"issuelinks": [{"add": {"type": {"name": "Relates"},
                                                      "outwardIssue": {"key": issue.key}}}]})
    assert len(pyc.issue(issue.key).fields.issuelinks) == 1
    issue.update(fields={"duedate": "2026-12-24", "summary": "one line"})
    assert (pyc.issue(issue.key).fields.duedate, pyc.issue(issue.key).fields.summary) == ("2026-12-24", "one line")


def test_attachment_media_type_and_jql(pyc):
    issue = pyc.create_issue(project="SEC", summary="files", issuetype={"name": "Task"})
    keys = {i.key for i in pyc.enhanced_search_issues("project = SEC AND attachments IS EMPTY", maxResults=0)}
    assert issue.key in keys  # the clause was "Field 'attachments' does not exist"
    shot = pyc.add_attachment(issue.key, io.BytesIO(b"\x89PNG\r\n"), filename="shot.png")
    assert shot.mimeType == "image/png"  # pycontribs sends every file as application/octet-stream
    assert pyc.attachment(shot.id).mimeType == "image/png"
    assert pyc.add_attachment(issue.key, io.BytesIO(b"??"), filename="blob").mimeType == "application/octet-stream"
    found = [i.key for i in pyc.enhanced_search_issues("attachments IS NOT EMPTY", maxResults=0)]
    assert issue.key in found
    with pytest.raises(JIRAError) as bad:
        pyc.enhanced_search_issues("attachments = shot.png")
    assert bad.value.status_code == 400


def test_sprints_take_open_issues_only_and_keep_the_history(pyc, atl):
    issue = pyc.create_issue(project="SEC", summary="sprinted", issuetype={"name": "Story"})
    closed, active, future = (s.id for s in (pyc.sprints(1, state="closed")[0], pyc.sprints(1, state="active")[0],
                                             pyc.sprints(1, state="future")[0]))
    with pytest.raises(JIRAError) as shut:
        pyc.add_issues_to_sprint(closed, [issue.key])  # "Issues can only be moved to open or active sprints"
    assert shut.value.status_code == 400
    pyc.add_issues_to_sprint(future, [issue.key])
    pyc.add_issues_to_sprint(active, [issue.key])  # out of the future sprint: one open sprint at a time
    assert [s["id"] for s in pyc.issue(issue.key).raw["fields"]["customfield_10020"]] == [active]
    with pytest.raises(JIRAError) as edit:
        issue.update(fields={"customfield_10020": closed})
    assert edit.value.response.json()["errors"] == {
        "customfield_10020": "Issue can be assigned only active or future sprints."}
    atl.update_partially_sprint(active, {"state": "closed"})  # the sprint ends with the issue in it
    issue.update(fields={"customfield_10020": future})
    assert [s["id"] for s in pyc.issue(issue.key).raw["fields"]["customfield_10020"]] == [active, future]
    assert atl.get(f"rest/agile/1.0/issue/{issue.key}")["fields"]["sprint"]["id"] == future


def _time(pyc, key):
    f = pyc.issue(key, fields="timetracking,timeoriginalestimate,timeestimate,progress,workratio").raw["fields"]
    return (f["timeoriginalestimate"], f["timeestimate"], f["timetracking"].get("timeSpentSeconds"),
            f["progress"].get("percent"), f["workratio"])


def test_time_tracking_estimates_and_worklog_adjustments(pyc, atl):
    issue = pyc.create_issue(project="SEC", summary="estimated", issuetype={"name": "Task"},
                             timetracking={"originalEstimate": "1d"})
    tracking = pyc.issue(issue.key).fields.timetracking
    assert (tracking.originalEstimate, tracking.remainingEstimate, tracking.originalEstimateSeconds) == \
        ("1d", "1d", 28800)  # the remaining estimate starts at the original one
    assert _time(pyc, issue.key) == (28800, 28800, None, 0, 0)
    first = pyc.add_worklog(issue.key, timeSpent="2h")  # adjustEstimate=auto: off the remaining estimate
    assert _time(pyc, issue.key) == (28800, 21600, 7200, 25, 25)
    logged = pyc.issue(issue.key, expand="changelog").changelog.histories[-1].items
    assert [(i.field, i.fromString, i.toString) for i in logged] == [
        ("timeestimate", "28800", "21600"), ("timespent", None, "7200"), ("WorklogId", None, first.id)]
    pyc.add_worklog(issue.key, timeSpent="1h", adjustEstimate="new", newEstimate="3h")
    assert _time(pyc, issue.key)[:3] == (28800, 10800, 10800)
    pyc.add_worklog(issue.key, timeSpent="1h", adjustEstimate="manual", reduceBy="30m")
    assert _time(pyc, issue.key)[:3] == (28800, 9000, 14400)
    last = pyc.add_worklog(issue.key, timeSpent="1h", adjustEstimate="leave")
    assert _time(pyc, issue.key)[:3] == (28800, 9000, 18000)
    with pytest.raises(JIRAError) as missing:
        pyc.add_worklog(issue.key, timeSpent="1h", adjustEstimate="new")
    assert missing.value.status_code == 400 and "newEstimate" in missing.value.response.json()["errors"]
    assert len(pyc.worklogs(issue.key)) == 4  # the refused one logged nothing
    last.delete()  # auto: the hour goes back on the remaining estimate
    assert _time(pyc, issue.key)[:3] == (28800, 12600, 14400)

    issue.update(fields={"timetracking": {"originalEstimate": "2d", "remainingEstimate": "5h"}})
    assert _time(pyc, issue.key)[:2] == (57600, 18000)
    issue.update(update={"timetracking": [{"edit": {"remainingEstimate": "4h"}}]})
    assert pyc.issue(issue.key).fields.timetracking.remainingEstimate == "4h"
    items = [(i.field, i.fromString, i.toString) for h in pyc.issue(issue.key, expand="changelog").changelog.histories
             for i in h.items]
    assert ("timeoriginalestimate", "28800", "57600") in items and ("timeestimate", "18000", "14400") in items
    assert [i.key for i in pyc.enhanced_search_issues("originalEstimate > 1d")] == [issue.key]
    assert [i.key for i in pyc.enhanced_search_issues("remainingEstimate = 4h")] == [issue.key]
    assert pyc.editmeta(issue.key)["fields"]["timetracking"]["operations"] == ["set", "edit"]
    with pytest.raises(JIRAError) as bad:
        pyc.create_issue(project="SEC", summary="bad", issuetype={"name": "Task"},
                         timetracking={"originalEstimate": "soon"})
    assert bad.value.status_code == 400 and "timetracking" in bad.value.response.json()["errors"]
    atl.update_issue_field(issue.key, {"timetracking": None})
    assert _time(pyc, issue.key) == (None, None, 14400, 100, -1)


def test_new_answers_match_the_official_schema(sb):
    spec = openapi("jira-platform-v3.json", sb.url)
    with session_for(sb) as s:
        estimated = s.post(sb.url + "/rest/api/3/issue", json={"fields": {
            "project": {"key": "SEC"}, "summary": "e", "issuetype": {"name": "Task"},
            "timetracking": {"originalEstimate": "3h", "remainingEstimate": "2h"}}}).json()["key"]
        s.post(f"{sb.url}/rest/api/3/issue/{estimated}/worklog", json={"timeSpent": "1h"})
        for method, path, body in (("GET", "/rest/api/3/issue/SEC-1?expand=versionedRepresentations", None),
                                   ("GET", f"/rest/api/3/issue/{estimated}", None),
                                   ("POST", "/rest/api/3/component", {"name": "Ops", "project": "SEC",
                                                                      "assigneeType": "PROJECT_LEAD"}),
                                   ("POST", "/rest/api/3/user", {"emailAddress": "lee@example.com",
                                                                 "products": ["jira-core"]})):
            r = s.request(method, sb.url + path, json=body)
            assert r.status_code in (200, 201), (path, r.text)
            spec.validate_response(RequestsOpenAPIRequest(r.request), RequestsOpenAPIResponse(r))
    agile = openapi("jira-software-agile.json", sb.url)
    with session_for(sb) as s:
        fid = s.get(sb.url + "/rest/agile/1.0/board/1/configuration").json()["filter"]["id"]
        r = s.get(f"{sb.url}/rest/agile/1.0/board/filter/{fid}")
        assert r.status_code == 200, r.text
        agile.validate_response(RequestsOpenAPIRequest(r.request), RequestsOpenAPIResponse(r))
