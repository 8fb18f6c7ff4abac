"""Round fourteen: client paths no earlier probe walked, through pycontribs `jira` and atlassian-python-api's
`Jira` unchanged: worklogs with estimate modes, remote links upserted by globalId, watchers, issue links with a
comment, attachments (add, read, iterate, delete), `json_result` searches, transitions carrying fields, a
comment and a worklog, bulk create with one bad element, and atlassian's comment/changelog/JQL/status helpers."""

from __future__ import annotations

import io

import pytest
from jira import JIRA
from jira.exceptions import JIRAError
from requests import HTTPError


@pytest.fixture
def sb(make_jira_sandbox):
    return make_jira_sandbox(size=30)


@pytest.fixture
def key(pyc) -> str:
    return pyc.create_issue(project="SEC", summary="paths", issuetype={"name": "Task"}).key


def test_worklogs_with_estimate_modes(pyc, key):
    made = pyc.add_worklog(key, timeSpent="1h", comment="w", adjustEstimate="new", newEstimate="2h")
    assert pyc.issue(key).fields.timetracking.remainingEstimate == "2h"
    assert [(w.id, w.timeSpent, w.comment) for w in pyc.worklogs(key)] == [(made.id, "1h", "w")]
    assert pyc.worklog(key, made.id).timeSpentSeconds == 3600
    pyc.worklog(key, made.id).update(timeSpent="2h")
    assert pyc.worklog(key, made.id).timeSpent == "2h"
    with pytest.raises(JIRAError) as bad:
        pyc.add_worklog(key, timeSpent="1h", adjustEstimate="manual")
    assert bad.value.status_code == 400 and "reduceBy" in bad.value.text
    pyc.worklog(key, made.id).delete(adjustEstimate="leave")
    assert pyc.worklogs(key) == []


def test_remote_links_upsert_by_global_id(pyc, key):
    first = pyc.add_remote_link(key, {"url": "https://a.example", "title": "A"}, globalId="g1")
    again = pyc.add_remote_link(key, {"url": "https://b.example", "title": "B"}, globalId="g1")
    simple = pyc.add_simple_link(key, {"url": "https://c.example", "title": "C"})
    assert first.id == again.id != simple.id
    links = {link.id: link for link in pyc.remote_links(key)}
    assert links[first.id].object.url == "https://b.example" and links[first.id].globalId == "g1"
    assert pyc.remote_link(key, simple.id).object.title == "C"
    links[simple.id].delete()
    assert [link.id for link in pyc.remote_links(key)] == [first.id]


def test_votes_watchers_and_issue_links(pyc, key):
    me = pyc.myself()["accountId"]
    with pytest.raises(JIRAError) as own:  # Jira does not let the reporter vote
        pyc.add_vote(key)
    assert own.value.status_code == 404
    pyc.add_vote("SEC-1")
    assert pyc.votes("SEC-1").hasVoted is True
    pyc.remove_vote("SEC-1")
    assert pyc.votes("SEC-1").hasVoted is False
    pyc.add_watcher(key, me)
    assert me in [w.accountId for w in pyc.watchers(key).watchers]
    pyc.remove_watcher(key, me)
    assert me not in [w.accountId for w in pyc.watchers(key).watchers]
    pyc.create_issue_link("Blocks", key, "SEC-1", comment={"body": "linked"})
    link = pyc.issue(key).fields.issuelinks[0]
    assert link.type.name == "Blocks" and link.outwardIssue.key == "SEC-1"
    assert pyc.issue_link(link.id).type.name == "Blocks"
    assert pyc.comments(key)[-1].body == "linked"
    pyc.delete_issue_link(link.id)
    assert pyc.issue(key).fields.issuelinks == []


def test_attachments_add_read_delete(pyc, key):
    att = pyc.add_attachment(key, attachment=io.BytesIO(b"hello"), filename="a.txt")
    assert (att.filename, att.size, att.mimeType) == ("a.txt", 5, "text/plain")
    assert pyc.attachment(att.id).get() == b"hello" == b"".join(pyc.attachment(att.id).iter_content())
    assert [a.filename for a in pyc.issue(key).fields.attachment] == ["a.txt"]
    assert pyc.attachment_meta()["enabled"] is True
    pyc.delete_attachment(att.id)
    assert pyc.issue(key).fields.attachment == []
    with pytest.raises(JIRAError) as gone:
        pyc.attachment(att.id)
    assert gone.value.status_code == 404


def test_json_result_searches(pyc):
    raw = pyc.search_issues("project = SEC ORDER BY key", json_result=True, maxResults=2, fields="summary")
    assert len(raw["issues"]) == 2 and raw["isLast"] is False and raw["nextPageToken"]
    assert set(raw["issues"][0]["fields"]) == {"summary"}
    named = pyc.enhanced_search_issues("project = SEC", json_result=True, maxResults=1, expand="names")
    assert "names" in named and len(named["issues"]) == 1
    everything = pyc.enhanced_search_issues("project = SEC", maxResults=False, fields="summary")
    assert len(everything) == pyc.approximate_issue_count("project = SEC")


def test_transition_with_fields_comment_and_worklog(pyc, key):
    pyc.transition_issue(key, "In Progress", worklog="1h")
    assert [w.timeSpent for w in pyc.worklogs(key)] == ["1h"]
    pyc.transition_issue(key, "Done", fields={"resolution": {"name": "Done"}}, comment="closing")
    issue = pyc.issue(key)
    assert issue.fields.status.name == "Done" and issue.fields.resolution.name == "Done"
    assert pyc.comments(key)[-1].body == "closing"
    with pytest.raises(JIRAError) as off_screen:  # `update` is not a transition keyword: it becomes a field
        pyc.transition_issue(key, "To Do", update={"comment": [{"add": {"body": "c"}}]})
    assert off_screen.value.status_code == 400 and "update" in off_screen.value.text


def test_create_issues_reports_the_bad_element(pyc):
    made = pyc.create_issues([{"project": "SEC", "summary": "b1", "issuetype": "Task"},
                              {"project": {"key": "SEC"}, "summary": "b2", "issuetype": {"name": "Nope"}}])
    assert [m["status"] for m in made] == ["Success", "Error"]
    assert made[0]["issue"].fields.summary == "b1" and "issuetype" in made[1]["error"]


def test_atlassian_issue_helpers(atl):
    key = atl.issue_create({"project": {"key": "SEC"}, "summary": "p", "issuetype": {"name": "Task"}})["key"]
    shown = atl.issue_add_comment(key, "hello", visibility={"type": "role", "value": "Administrators"})
    assert shown["visibility"] == {"type": "role", "value": "Administrators", "identifier": "Administrators"}
    assert shown["body"] == "hello"
    atl.update_issue_field(key, {"summary": "upd", "labels": ["x"]}, notify_users=False)
    assert atl.issue_field_value(key, "summary") == "upd"
    atl.set_issue_status(key, "In Progress", fields={"labels": ["y"]})
    atl.set_issue_status(key, "Done", update={"comment": [{"add": {"body": "done"}}]})
    assert atl.get_issue_status(key) == "Done" and atl.get_issue_labels(key) == ["y"]
    assert atl.issue_get_comments(key)["total"] == 2
    fields_changed = [i["field"] for h in atl.get_issue_changelog(key)["values"] for i in h["items"]]
    assert {"summary", "labels", "status"} <= set(fields_changed)
    one = atl.get_issue_changelog(key, start=0, limit=1)
    assert len(one["values"]) == 1 and one["isLast"] is False
    assert atl.get_project_issuekey_last("SEC") == key
    assert len(atl.jql_get_list_of_tickets("project = SEC", fields="summary", limit=5)) == 5
    every = atl.get_all_project_issues("SEC", fields="summary")
    assert len(every) == atl.get_project_issues_count("SEC") == len(atl.jql_get_list_of_tickets("project = SEC"))
    assert key in [i["key"] for i in every]


def test_atlassian_update_version_sends_nulls_that_change_nothing(atl):
    made = atl.add_version("SEC", 10000, "v14")
    atl.update_version(made["id"], description="notes")
    shown = atl.update_version(made["id"], is_released=True)  # name, description, dates go as null
    assert (shown["name"], shown["released"], shown["description"]) == ("v14", True, "notes")
    assert atl.get_version(made["id"])["name"] == "v14"
    other = atl.add_version("SEC", 10000, "v15")
    with pytest.raises(HTTPError) as taken:
        atl.update_version(other["id"], name="V14")
    assert taken.value.response.status_code == 400


def test_v3_update_comment_must_be_adf(sb, s):
    v3 = JIRA(server=sb.url, basic_auth=(sb.credentials["email"], sb.credentials["api_token"]), max_retries=0,
              options={"rest_api_version": "3"})
    key = v3.create_issue(project="SEC", summary="v3", issuetype={"name": "Task"}).key
    with pytest.raises(JIRAError) as plain:  # the client puts a plain string in update.comment
        v3.transition_issue(key, "In Progress", comment="closing")
    assert plain.value.status_code == 400 and "Atlassian Document" in plain.value.text
    assert v3.issue(key).fields.status.name == "To Do" and v3.comments(key) == []
    adf = {"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [{"type": "text", "text": "ok"}]}]}
    ok = s.put(f"{sb.url}/rest/api/3/issue/{key}", json={"update": {"comment": [{"add": {"body": adf}}]}})
    assert ok.status_code == 204 and len(v3.comments(key)) == 1
    v2 = s.put(f"{sb.url}/rest/api/2/issue/{key}", json={"update": {"comment": [{"add": {"body": "plain"}}]}})
    assert v2.status_code == 204 and len(v3.comments(key)) == 2
    v3.close()
