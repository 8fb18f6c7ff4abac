"""Round eight of vendor-client probes: JQL match/sanitize, sprint swap, issue archiving, the bulk operations
API's edit and its progress queue, attachment downloads through the media redirect and thumbnails, called
as the official OpenAPI specs describe them (plain `requests`) and through pycontribs `jira` and
atlassian-python-api."""

from __future__ import annotations

import io

import pytest
import requests

from tests.sandbox.jira.helpers import checked as _checked


@pytest.fixture
def sb(make_jira_sandbox):
    return make_jira_sandbox(size=40)


def test_jql_match_per_query(sb, s):
    ids = [int(i["id"]) for i in sb.issues()[:6]]
    secs = {int(i["id"]) for i in sb.issues() if i["key"].startswith("SEC-")}
    r = _checked(sb, s.post(f"{sb.url}/rest/api/3/jql/match", json={
        "issueIds": [*ids, 999999], "jqls": ["project = SEC", "broken = = value", "key = SEC-1", "project = GRC"]}))
    matches = r.json()["matches"]
    assert [m["errors"] for m in matches] == [[], ["Invalid JQL: broken = = value"], [], []]
    assert matches[0]["matchedIssues"] == [i for i in ids if i in secs]
    assert matches[1]["matchedIssues"] == [] and matches[2]["matchedIssues"] == [ids[0]]
    assert 999999 not in {x for m in matches for x in m["matchedIssues"]}
    bad = s.post(f"{sb.url}/rest/api/3/jql/match", json={"jqls": ["project = SEC"]})
    assert bad.status_code == 400 and "issueIds" in bad.json()["errors"]
    too_many = s.post(f"{sb.url}/rest/api/3/jql/match", json={"issueIds": list(range(1001)), "jqls": ["x = y"]})
    assert too_many.status_code == 400


def test_jql_sanitize(sb, s):
    me = sb.store.me.account_id
    r = _checked(sb, s.post(f"{sb.url}/rest/api/3/jql/sanitize", json={"queries": [
        {"query": "project = SEC AND status = Done"},
        {"query": "project = 'SEC' ORDER BY key", "accountId": me},
        {"query": "project in (SEC, GRC) order by created DESC", "accountId": None},
        {"query": "non-parsable query", "accountId": me}]}))
    out = r.json()["queries"]
    sec, grc = sb.store.projects["SEC"].id, sb.store.projects["GRC"].id
    assert out[0] == {"initialQuery": "project = SEC AND status = Done",
                      "sanitizedQuery": f"project = {sec} AND status = Done"}  # anonymous: no browse permission
    assert out[1] == {"initialQuery": "project = 'SEC' ORDER BY key", "sanitizedQuery": "project = 'SEC' ORDER BY key",
                      "accountId": me}  # the admin browses SEC: unchanged
    assert out[2]["sanitizedQuery"] == f"project IN ({sec}, {grc}) ORDER BY created DESC"
    assert "sanitizedQuery" not in out[3] and out[3]["errors"]["errorMessages"][0].startswith("Error in the JQL")
    empty = s.post(f"{sb.url}/rest/api/3/jql/sanitize", json={"queries": []})
    assert empty.status_code == 400 and empty.json()["errorMessages"] == ["The queries has to be provided."]


def test_sprint_swap(sb, s, atl):
    agile = f"{sb.url}/rest/agile/1.0"
    before = [x["id"] for x in atl.get_all_sprints_from_board(1)["values"]]
    first, last = before[-2], before[-1]
    r = s.post(f"{agile}/sprint/{last}/swap", json={"sprintToSwapWith": first})
    assert r.status_code == 204 and r.content == b""
    after = [x["id"] for x in atl.get_all_sprints_from_board(1)["values"]]
    assert after == [*before[:-2], last, first]
    assert s.post(f"{agile}/sprint/{last}/swap", json={"sprintToSwapWith": 99999}).status_code == 404
    assert s.post(f"{agile}/sprint/99999/swap", json={"sprintToSwapWith": first}).status_code == 404
    assert s.post(f"{agile}/sprint/{last}/swap", json={}).status_code == 400
    assert [x["id"] for x in atl.get_all_sprints_from_board(1)["values"]] == after


def test_archive_and_unarchive(sb, s, pyc):
    api = f"{sb.url}/rest/api/3"
    parent = pyc.create_issue(project="SEC", summary="to archive", issuetype={"name": "Task"})
    sub = pyc.create_issue(project="SEC", summary="its sub-task", issuetype={"name": "Subtask"},
                           parent={"key": parent.key})
    r = _checked(sb, s.put(f"{api}/issue/archive", json={"issueIdsOrKeys": [parent.key, sub.key, "NOPE-1"]}))
    assert r.json() == {"numberOfIssuesUpdated": 2, "errors": {
        "issueIsSubtask": {"count": 1, "issueIdsOrKeys": [sub.key], "message": "Issue is subtask."},
        "issuesNotFound": {"count": 1, "issueIdsOrKeys": ["NOPE-1"], "message": "Issue not found."}}}
    for key in (parent.key, sub.key):
        gone = s.get(f"{api}/issue/{key}")
        assert gone.status_code == 404
        assert gone.json()["errorMessages"] == ["Issue does not exist or you do not have permission to see it."]
    keys = {i.key for i in pyc.enhanced_search_issues("project = SEC", maxResults=0)}
    assert parent.key not in keys and sub.key not in keys
    again = s.put(f"{api}/issue/archive", json={"issueIdsOrKeys": [parent.key]})
    assert again.status_code == 400
    assert again.json()["errorMessages"] == ["No valid issue to archive or unarchive. Bad request."]
    back = _checked(sb, s.put(f"{api}/issue/unarchive", json={"issueIdsOrKeys": [parent.id]}))
    assert back.json() == {"numberOfIssuesUpdated": 2, "errors": {}}
    assert pyc.issue(sub.key).fields.parent.key == parent.key
    assert {parent.key, sub.key} <= {i.key for i in pyc.enhanced_search_issues("project = SEC", maxResults=0)}
    over = s.put(f"{api}/issue/archive", json={"issueIdsOrKeys": [parent.key] + ["X-1"] * 1000})
    assert over.status_code == 412 and s.get(f"{api}/issue/{parent.key}").status_code == 404


def test_bulk_edit_fields_and_queue(sb, s, pyc):
    api = f"{sb.url}/rest/api/3"
    # not schema-checked: the spec's IssueBulkOperationsFieldOption is an empty closed object, while its own
    # example (followed here) gives priority options as {"id", "priority", "description"}
    fields = s.get(f"{api}/bulk/issues/fields", params={"issueIdsOrKeys": "SEC-1,SEC-2"}).json()
    by_id = {f["id"]: f for f in fields["fields"]}
    assert {"summary", "labels", "priority", "assignee"} <= set(by_id)
    assert by_id["labels"]["multiSelectFieldOptions"] == ["ADD", "REMOVE", "REPLACE", "REMOVE_ALL"]
    assert "projectKeys=SEC" in by_id["assignee"]["searchUrl"]
    assert [f["id"] for f in s.get(f"{api}/bulk/issues/fields",
                                   params={"issueIdsOrKeys": "SEC-1", "searchText": "prio"}).json()["fields"]] == \
        ["priority"]
    assert s.get(f"{api}/bulk/issues/fields", params={"issueIdsOrKeys": "ZZ-1"}).status_code == 404
    before = {k: pyc.issue(k).fields.labels for k in ("SEC-1", "SEC-2")}
    me = sb.store.me.account_id
    r = _checked(sb, s.post(f"{api}/bulk/issues/fields", json={
        "selectedIssueIdsOrKeys": ["SEC-1", "SEC-2", "ZZ-9"],
        "selectedActions": ["summary", "labels", "priority", "assignee"],
        "editedFieldsInput": {
            "singleLineTextFields": [{"fieldId": "summary", "text": "Bulk edited"}],
            "labelsFields": [{"fieldId": "labels", "bulkEditMultiSelectFieldOption": "ADD",
                              "labels": [{"name": "bulk"}]}],
            "priority": {"priorityId": "1"},
            "singleSelectClearableUserPickerFields": [{"fieldId": "assignee", "user": {"accountId": me}}]},
        "sendBulkNotification": False}))
    assert r.status_code == 201
    task = r.json()["taskId"]
    progress = s.get(f"{api}/bulk/queue/{task}").json()
    assert progress["status"] == "COMPLETE" and progress["progressPercent"] == 100
    assert progress["invalidOrInaccessibleIssueCount"] == 1 and progress["totalIssueCount"] == 3
    assert progress["submittedBy"]["accountId"] == me
    for key in ("SEC-1", "SEC-2"):
        issue = pyc.issue(key)
        assert int(issue.id) in progress["processedAccessibleIssues"]
        assert (issue.fields.summary, issue.fields.priority.name, issue.fields.assignee.accountId) == \
            ("Bulk edited", "Highest", me)
        assert issue.fields.labels == [*before[key], "bulk"]
        items = {i.field for h in pyc.issue(key, expand="changelog").changelog.histories for i in h.items}
        assert {"summary", "labels", "priority", "assignee"} <= items
    bad = s.post(f"{api}/bulk/issues/fields", json={
        "selectedIssueIdsOrKeys": ["SEC-1"], "selectedActions": ["summary"],
        "editedFieldsInput": {"issueType": {"issueTypeId": "10001"},
                              "singleLineTextFields": [{"fieldId": "summary", "text": "x"}]}})
    assert bad.status_code == 400 and bad.json() == {"errors": [{
        "message": "The following editedFieldInput values are not listed as selectedActions : issuetype"}]}
    cleared = s.post(f"{api}/bulk/issues/fields", json={
        "selectedIssueIdsOrKeys": ["SEC-1"], "selectedActions": ["labels", "summary"],
        "editedFieldsInput": {"labelsFields": [{"fieldId": "labels", "bulkEditMultiSelectFieldOption": "REMOVE_ALL",
                                                "labels": []}],
                              "singleLineTextFields": [{"fieldId": "summary", "text": ""}]}})
    report = s.get(f"{api}/bulk/queue/{cleared.json()['taskId']}").json()
    assert report["processedAccessibleIssues"] == []
    assert list(report["failedAccessibleIssues"]) == [pyc.issue("SEC-1").id]
    assert pyc.issue("SEC-1").fields.labels == [*before["SEC-1"], "bulk"]  # the failed issue is untouched
    assert s.get(f"{api}/bulk/queue/424242").status_code == 404


def test_attachment_redirects_and_thumbnails(sb, s, pyc, atl):
    api = f"{sb.url}/rest/api/3"
    image = pyc.add_attachment("SEC-2", io.BytesIO(b"\x89PNG\r\n\x1a\nfake"), filename="shot.png")
    text = pyc.add_attachment("SEC-2", io.BytesIO(b"hello world"), filename="notes.txt")
    assert image.raw["thumbnail"].endswith(f"/attachment/thumbnail/{image.id}") and "thumbnail" not in text.raw
    assert text.get() == b"hello world" and atl.get_attachment_content(text.id) == b"hello world"
    hop = s.get(f"{api}/attachment/content/{text.id}", allow_redirects=False)
    assert hop.status_code == 303 and "/media/file/" in hop.headers["Location"]
    assert requests.get(hop.headers["Location"], timeout=5).content == b"hello world"  # no credentials needed
    forged = hop.headers["Location"].replace("token=", "token=0")
    assert requests.get(forged, timeout=5).status_code == 403
    direct = s.get(f"{api}/attachment/content/{text.id}", params={"redirect": "false"}, headers={"Range": "bytes=6-"})
    assert (direct.status_code, direct.content, direct.headers["Content-Range"]) == (206, b"world", "bytes 6-10/11")
    assert s.get(f"{api}/attachment/content/{text.id}", params={"redirect": "false"},
                 headers={"Range": "bytes=50-"}).status_code == 416
    thumb = s.get(f"{api}/attachment/thumbnail/{image.id}", params={"width": 32, "height": 16})
    assert thumb.status_code == 200 and thumb.headers["Content-Type"] == "image/png"
    assert thumb.content.startswith(b"\x89PNG") and thumb.content[16:24] == (32).to_bytes(4, "big") + \
        (16).to_bytes(4, "big")
    assert s.get(f"{api}/attachment/thumbnail/{image.id}", allow_redirects=False).status_code == 303
    assert s.get(f"{api}/attachment/thumbnail/{text.id}").status_code == 200  # the default thumbnail
    missing = s.get(f"{api}/attachment/thumbnail/{text.id}", params={"fallbackToDefault": "false"})
    assert missing.status_code == 404
    assert s.get(f"{api}/attachment/thumbnail/99999999").status_code == 404


def test_atlassian_jira_cloud_methods(sb, jc, pyc):
    """atlassian-python-api's JiraCloud wrappers of the same endpoints (they decode JSON or return text)."""
    text = pyc.add_attachment("SEC-3", io.BytesIO(b"plain words"), filename="a.txt")
    assert jc.get_attachment_content(text.id) == "plain words"  # followed the 303
    assert jc.get_attachment_content(text.id, redirect=False) == "plain words"
    with pytest.raises(requests.HTTPError) as no_thumb:
        jc.get_attachment_thumbnail(text.id, fallback_to_default=False)
    assert no_thumb.value.response.status_code == 404
    assert jc.match_issues(data={"issueIds": [10000, 10001], "jqls": ["key = SEC-1"]}) == \
        {"matches": [{"matchedIssues": [10000], "errors": []}]}
    assert jc.sanitise_jql_queries(data={"queries": [{"query": "project = SEC"}]})["queries"][0]["sanitizedQuery"] \
        == f"project = {sb.store.projects['SEC'].id}"
    task = jc.submit_bulk_edit(data={"selectedIssueIdsOrKeys": ["SEC-3"], "selectedActions": ["priority"],
                                     "editedFieldsInput": {"priority": {"priorityId": "2"}}})["taskId"]
    assert jc.get_bulk_operation_progress(task)["processedAccessibleIssues"] == [int(pyc.issue("SEC-3").id)]
    assert pyc.issue("SEC-3").fields.priority.name == "High"
    assert jc.archive_issues(data={"issueIdsOrKeys": ["SEC-3"]}) == {"errors": {}, "numberOfIssuesUpdated": 1}
    assert jc.unarchive_issues(data={"issueIdsOrKeys": ["SEC-3"]})["numberOfIssuesUpdated"] == 1
    with pytest.raises(requests.HTTPError):
        jc.archive_issues(data={"issueIdsOrKeys": ["NOPE-3"]})
