"""Round 30: an outside-in sweep of common calls with the vendors' clients unchanged (pycontribs `jira`,
atlassian-python-api's `Jira` and `JiraCloud`), checked against the platform spec where a raw answer is at hand.

Found and fixed: `GET|POST /bulk/issues/transition` were 404 (JiraCloud `get_available_transitions`,
`submit_bulk_transition`), worklog entity properties were 404, and an issue link's `comment.visibility` was
dropped (the comment was public). The rest is pinned down as it already matched Cloud: create with fields, search
with both page styles, transitions with fields and resolution, restricted comments, attachments, issue and remote
links, assignment, worklogs, versions and components, `Jira.jql` and `issue_update`."""

from __future__ import annotations

import io

import pytest
from jira.exceptions import JIRAError
from requests import HTTPError

from tests.sandbox.jira.helpers import checked, jira_cloud


@pytest.fixture(scope="module")
def sb(request):
    from sandbox.jira import JiraSandbox

    with JiraSandbox(seed=42, size=60, tls=False) as box:
        yield box


@pytest.fixture(scope="module")
def jc(sb):
    return jira_cloud(sb)


def _doc(text):
    return {"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [{"type": "text",
                                                                                        "text": text}]}]}


@pytest.fixture
def issue(pyc):
    return pyc.create_issue(project="SEC", summary="sweep", issuetype={"name": "Task"})


def test_create_with_fields_and_read_back(sb, pyc):
    me = pyc.myself()["accountId"]
    pyc.create_version("sweep-1.0", "SEC", description="first", releaseDate="2026-12-31")
    pyc.create_component("sweep-api", "SEC", description="api")
    made = pyc.create_issue(project="SEC", summary="with fields", issuetype={"name": "Task"}, description="d",
                            labels=["x"], priority={"name": "High"}, components=[{"name": "sweep-api"}],
                            fixVersions=[{"name": "sweep-1.0"}], duedate="2026-12-01", assignee={"accountId": me})
    f = pyc.issue(made.key).fields
    assert (f.summary, f.description, f.labels, f.priority.name, f.duedate, f.assignee.accountId) == (
        "with fields", "d", ["x"], "High", "2026-12-01", me)
    assert [c.name for c in f.components] == ["sweep-api"] and [v.name for v in f.fixVersions] == ["sweep-1.0"]
    bulk = pyc.create_issues([{"project": "SEC", "summary": "b1", "issuetype": {"name": "Task"}},
                              {"project": {"key": "SEC"}, "summary": "b2", "issuetype": {"name": "Bug"}}])
    assert [r["status"] for r in bulk] == ["Success", "Success"]


def test_search_pages_both_ways(sb, s, pyc, atl, jc):
    total = pyc.approximate_issue_count("project = SEC")
    assert total == atl.approximate_issue_count("project = SEC")["count"] > 13
    every = pyc.search_issues("project = SEC", maxResults=False, fields="summary")
    assert len(every) == total and len({i.key for i in every}) == total
    keys, token = [], None
    while True:  # /search/jql with nextPageToken, as the clients walk it
        page = pyc.enhanced_search_issues("project = SEC ORDER BY created DESC", nextPageToken=token, maxResults=13,
                                          fields=["summary"])
        keys += [i.key for i in page]
        token = page.nextPageToken
        if not token:
            break
    assert sorted(keys) == sorted(i.key for i in every)
    first = atl.jql("project = SEC", fields=["summary"], limit=5)
    assert len(first["issues"]) == 5 and first["nextPageToken"] and first["isLast"] is False
    assert len(jc.enhanced_jql_get_list_of_tickets("project = SEC", fields="summary")) == total
    with pytest.raises(JIRAError):  # Cloud: the old offset paging is gone, the client refuses it itself
        pyc.search_issues("project = SEC", startAt=5)
    r = s.get(f"{sb.url}/rest/api/2/search", params={"jql": "project = SEC"})
    assert r.status_code == 410 and "/rest/api/3/search/jql" in r.json()["errorMessages"][0]
    r = s.get(f"{sb.url}/rest/api/3/search/jql", params={"jql": "project = SEC", "nextPageToken": "garbage"})
    assert r.status_code == 400


def test_transitions_with_fields_and_resolution(sb, pyc, atl, issue):
    assert [t["name"] for t in pyc.transitions(issue)] == ["To Do", "In Progress", "In Review", "Done"]
    pyc.transition_issue(issue, "Done", fields={"resolution": {"name": "Won't Do"}}, comment="closing")
    f = pyc.issue(issue.key).fields
    assert (f.status.name, f.resolution.name) == ("Done", "Won't Do")
    assert pyc.comments(issue.key)[-1].body == "closing"
    atl.set_issue_status(issue.key, "In Progress")
    assert pyc.issue(issue.key).fields.status.name == "In Progress"
    with pytest.raises(JIRAError) as err:
        pyc.transition_issue(issue.key, "41", fields={"resolution": {"name": "Bogus"}})
    assert err.value.status_code == 400 and "resolution" in err.value.response.json()["errors"]


def test_bulk_transitions(sb, s, jc, pyc):
    a, b, c = (pyc.create_issue(project="SEC", summary=f"bulk {n}", issuetype={"name": "Task"}).key for n in range(3))
    r = checked(sb, s.get(f"{sb.url}/rest/api/3/bulk/issues/transition", params={"issueIdsOrKeys": f"{a},{b}"}))
    [flow] = r.json()["availableTransitions"]
    assert flow["issues"] == [a, b] and flow["isTransitionsFiltered"] is True  # Done needs a resolution
    assert [t["transitionId"] for t in flow["transitions"]] == [11, 21, 31]
    assert jc.get_available_transitions(issue_ids_or_keys=a)["availableTransitions"][0]["issues"] == [a]
    task = jc.submit_bulk_transition(data={"bulkTransitionInputs": [
        {"selectedIssueIdsOrKeys": [a, b], "transitionId": "31"},
        {"selectedIssueIdsOrKeys": [c], "transitionId": "41"}]})
    progress = s.get(f"{sb.url}/rest/api/3/bulk/queue/{task['taskId']}").json()  # epoch ms, as the spec example
    assert progress["status"] == "COMPLETE" and len(progress["processedAccessibleIssues"]) == 2
    assert list(progress["failedAccessibleIssues"]) == [pyc.issue(c).id]
    assert [pyc.issue(k).fields.status.name for k in (a, b, c)] == ["In Review", "In Review", "To Do"]
    r = s.post(f"{sb.url}/rest/api/3/bulk/issues/transition", json={"bulkTransitionInputs": [
        {"selectedIssueIdsOrKeys": ["SEC-99999"], "transitionId": "21"}]})
    assert r.status_code == 400 and r.json() == {"errors": [{
        "message": "Some of the issues in the issueIdsOrKeys are not valid"}]}


def test_comments_with_visibility(sb, pyc, atl, jc, user, issue):
    restricted = pyc.add_comment(issue, "admins only", visibility={"type": "role", "value": "Administrators"})
    assert restricted.raw["visibility"] == {"type": "role", "value": "Administrators", "identifier": "Administrators"}
    assert atl.issue_add_comment(issue.key, "atl", visibility={"type": "group", "value": "jira-admins"})[
        "visibility"]["value"] == "jira-admins"
    with pytest.raises(JIRAError) as err:
        pyc.add_comment(issue, "x", visibility={"type": "group", "value": "no-such-group"})
    assert err.value.status_code == 400 and "commentLevel" in err.value.response.json()["errors"]
    seen = user.get(f"{sb.url}/rest/api/3/issue/{issue.key}/comment").json()["comments"]
    assert seen == []  # the ordinary login is in neither audience
    # an issue link's comment keeps its visibility (it was dropped: the comment was public)
    jc.link_issues(data={"type": {"name": "Blocks"}, "inwardIssue": {"key": issue.key}, "outwardIssue": {
        "key": "SEC-1"}, "comment": {"body": _doc("link note"), "visibility": {"type": "role",
                                                                               "value": "Administrators"}}})
    last = jc.get_comments(issue.key)["comments"][-1]
    assert last["visibility"] == {"type": "role", "value": "Administrators", "identifier": "Administrators"}
    assert user.get(f"{sb.url}/rest/api/3/issue/{issue.key}/comment").json()["comments"] == []


def test_attachments_links_and_remote_links(sb, pyc, atl, issue):
    att = pyc.add_attachment(issue, io.BytesIO(b"hello"), filename="résumé.txt")
    assert (att.size, att.filename, att.mimeType) == (5, "résumé.txt", "text/plain")
    assert pyc.attachment(att.id).get() == b"hello"
    pyc.create_issue_link("Blocks", issue.key, "SEC-2")
    [link] = pyc.issue(issue.key).fields.issuelinks
    assert (link.type.name, link.outwardIssue.key) == ("Blocks", "SEC-2")
    pyc.delete_issue_link(link.id)
    assert pyc.issue(issue.key).fields.issuelinks == []
    pyc.add_remote_link(issue.key, {"url": "https://example.com/x", "title": "x"}, globalId="gid-1",
                        relationship="mentions")
    atl.create_or_update_issue_remote_links(issue.key, "https://example.com/x2", "x2", global_id="gid-1")
    [remote] = pyc.remote_links(issue.key)  # the same globalId updates the link
    assert (remote.object.url, remote.globalId) == ("https://example.com/x2", "gid-1")


def test_assign_and_worklogs(sb, pyc, atl, jc, issue):
    me = pyc.myself()["accountId"]
    pyc.assign_issue(issue, me)
    assert pyc.issue(issue.key).fields.assignee.accountId == me
    pyc.assign_issue(issue, None)
    assert pyc.issue(issue.key).fields.assignee is None
    log = pyc.add_worklog(issue, timeSpent="1h", comment="w")
    atl.issue_worklog(issue.key, "2026-10-01T09:00:00.000+0000", 600)
    assert [w.timeSpentSeconds for w in pyc.worklogs(issue)] == [3600, 600]
    with pytest.raises(JIRAError):
        pyc.add_worklog(issue, timeSpent="1h", adjustEstimate="manual")  # manual needs reduceBy
    # worklog properties (were 404)
    assert jc.set_worklog_property(issue.key, log.id, "origin", data={"tool": "sweep"}) == {}
    assert jc.get_worklog_property(issue.key, log.id, "origin")["value"] == {"tool": "sweep"}
    assert [k["key"] for k in jc.get_worklog_property_keys(issue.key, log.id)["keys"]] == ["origin"]
    jc.delete_worklog_property(issue.key, log.id, "origin")
    assert jc.get_worklog_property_keys(issue.key, log.id)["keys"] == []
    with pytest.raises(HTTPError) as err:
        jc.get_worklog_property_keys(issue.key, "999")
    assert err.value.response.status_code == 404


def test_versions_components_and_atlassian_updates(sb, pyc, atl, issue):
    version = pyc.create_version("sweep-2.0", "SEC")
    version.update(released=True, releaseDate="2026-12-31")
    assert {(v.name, v.released) for v in pyc.project_versions("SEC")} >= {("sweep-2.0", True)}
    with pytest.raises(JIRAError) as err:
        pyc.create_version("sweep-2.0", "SEC")
    assert err.value.response.json()["errors"] == {"name": "A version with this name already exists in this project."}
    comp = atl.create_component({"name": "sweep-web", "project": "SEC"})
    assert comp["name"] in {c.name for c in pyc.project_components("SEC")}
    atl.issue_update(issue.key, {"summary": "atl edit", "components": [{"id": comp["id"]}]},
                     update={"labels": [{"add": "atl"}]})
    f = pyc.issue(issue.key).fields
    assert (f.summary, f.labels, [c.name for c in f.components]) == ("atl edit", ["atl"], ["sweep-web"])
    assert atl.get_component_related_issues(comp["id"])["issueCount"] == 1
