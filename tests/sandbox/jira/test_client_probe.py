"""Calls of pycontribs `jira` and atlassian-python-api that used to answer 404 from the emulator:
worklogs, remote links, watchers, components/versions, create/edit metadata, assignable users."""

from __future__ import annotations

import json

import pytest
from jira import JIRAError
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse

from tests.sandbox.jira.helpers import openapi, session_for

ADF = {"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [{"type": "text", "text": "w"}]}]}


@pytest.fixture
def sb(make_jira_sandbox):
    return make_jira_sandbox(size=40)


def test_worklog_add_read_update_delete(pyc, sb):
    w = pyc.add_worklog("SEC-3", timeSpent="1d 2h", comment="collected evidence")
    assert (w.timeSpent, w.timeSpentSeconds, w.comment) == ("1d 2h", 36000, "collected evidence")
    assert w.author.accountId == sb.store.me.account_id and w.issueId == str(sb.store.resolve("SEC-3").id)
    pyc.add_worklog("SEC-3", timeSpentSeconds=1800)
    assert [x.timeSpentSeconds for x in pyc.worklogs("SEC-3")] == [36000, 1800]
    fields = pyc.issue("SEC-3").fields
    assert fields.worklog.total == 2 and fields.timetracking.timeSpentSeconds == 37800
    one = pyc.worklog("SEC-3", w.id)
    one.update(timeSpent="3h")
    assert pyc.worklog("SEC-3", w.id).timeSpentSeconds == 10800
    one.delete()
    assert [x.timeSpentSeconds for x in pyc.worklogs("SEC-3")] == [1800]
    with pytest.raises(JIRAError) as err:
        pyc._session.post(pyc._get_url("issue/SEC-3/worklog"), data="{}")
    assert err.value.status_code == 400
    assert err.value.response.json()["errors"] == {"timeLogged": "You must indicate the time spent working."}


def test_worklog_v3_matches_the_official_schema(sb):
    spec = openapi("jira-platform-v3.json", sb.url)
    with session_for(sb) as s:
        for method, path, body in (("POST", "/rest/api/3/issue/SEC-2/worklog", {"timeSpent": "2h", "comment": ADF}),
                                   ("GET", "/rest/api/3/issue/SEC-2/worklog", None),
                                   ("GET", "/rest/api/3/issue/createmeta/SEC/issuetypes", None),
                                   ("GET", "/rest/api/3/issue/createmeta/SEC/issuetypes/10002", None),
                                   ("GET", "/rest/api/3/issue/createmeta", None),
                                   ("GET", "/rest/api/3/issue/SEC-2/editmeta", None),
                                   ("GET", "/rest/api/3/issue/SEC-2/watchers", None),
                                   ("GET", "/rest/api/3/project/SEC", None)):
            r = s.request(method, sb.url + path, json=body)
            assert r.status_code in (200, 201), (path, r.text)
            spec.validate_response(RequestsOpenAPIRequest(r.request), RequestsOpenAPIResponse(r))
        logs = s.get(sb.url + "/rest/api/3/issue/SEC-2/worklog").json()["worklogs"]
        assert logs[0]["comment"] == ADF and logs[0]["timeSpentSeconds"] == 7200
        assert s.get(sb.url + "/rest/api/2/issue/SEC-2/worklog").json()["worklogs"][0]["comment"] == "w"


def test_remote_links_simple_and_by_global_id(pyc, atl):
    simple = pyc.add_simple_link("GRC-4", {"url": "https://evidence.example/1", "title": "Evidence 1"})
    assert simple.id
    pyc.add_remote_link("GRC-4", {"url": "https://evidence.example/2", "title": "Evidence 2"}, globalId="ev-2")
    # the same globalId updates the link in place (200), it does not add a third one
    atl.create_or_update_issue_remote_links("GRC-4", "https://evidence.example/2b", "Evidence 2b", global_id="ev-2")
    links = pyc.remote_links("GRC-4")
    assert [(x.object.url, x.object.title) for x in links] == [("https://evidence.example/1", "Evidence 1"),
                                                               ("https://evidence.example/2b", "Evidence 2b")]
    assert atl.get_issue_remote_link_by_id("GRC-4", links[1].id)["globalId"] == "ev-2"
    with pytest.raises(JIRAError) as err:
        pyc.add_simple_link("GRC-4", {"title": "no url"})
    assert err.value.status_code == 400 and "url" in err.value.response.json()["errors"]


def test_components_versions_and_project_issue_types(pyc, atl, sb):
    assert pyc.project_components("SEC") == [] and pyc.project_versions("SEC") == []
    comp = pyc.create_component("Identity", "SEC", description="IAM controls")
    atl.add_version("SEC", sb.store.projects["SEC"].id, "2026.1")
    assert [c.name for c in pyc.project_components("SEC")] == ["Identity"]
    assert [v.name for v in pyc.project_versions("SEC")] == ["2026.1"]
    assert pyc.component(comp.id).description == "IAM controls"
    project = pyc.project("SEC")
    assert [t.name for t in project.issueTypes] == ["Epic", "Story", "Task", "Bug", "Subtask"]
    assert [c.name for c in project.components] == ["Identity"]
    with pytest.raises(JIRAError) as err:
        pyc.create_component("identity", "SEC")
    assert err.value.status_code == 400
    assert pyc.project_components("GRC") == []


def test_create_metadata_assignable_users_and_watchers(pyc, atl, sb):
    meta = pyc.createmeta(projectKeys="SEC", issuetypeNames="Task", expand="projects.issuetypes.fields")
    [task] = meta["projects"][0]["issuetypes"]
    assert task["name"] == "Task" and task["fields"]["summary"]["required"] is True
    assert task["fields"]["priority"]["allowedValues"][0]["name"] == "Highest"
    types = atl.issue_createmeta_issuetypes("SEC")
    assert types["total"] == 5 and {t["name"] for t in types["issueTypes"]} >= {"Task", "Bug"}
    fields = atl.issue_createmeta_fieldtypes("SEC", "10004")["fields"]
    assert {f["fieldId"] for f in fields if f["required"]} == {"summary", "issuetype", "project", "parent"}
    assert "summary" in pyc.editmeta("SEC-1")["fields"]

    assignable = pyc.search_assignable_users_for_issues(query="sandbox", project="SEC")
    assert sb.store.me.account_id in {u.accountId for u in assignable}
    with pytest.raises(JIRAError) as err:
        pyc.search_assignable_users_for_issues(query="a", project="NOPE")
    assert err.value.status_code == 404

    other = sb.person()
    before = pyc.watchers("SEC-1").watchCount
    pyc.add_watcher("SEC-1", other)
    assert pyc.watchers("SEC-1").watchCount == before + 1
    assert pyc.issue("SEC-1").fields.watches.watchCount == before + 1
    pyc.remove_watcher("SEC-1", other)
    assert other not in {w.accountId for w in pyc.watchers("SEC-1").watchers}


def test_create_sprint_on_a_board(pyc, sb):
    board = pyc.boards()[0]
    sprint = pyc.create_sprint("Audit sprint", board.id, startDate="2026-12-07T09:00:00.000+0000",
                               endDate="2026-12-21T17:00:00.000+0000", goal="SOC 2 evidence")
    assert (sprint.name, sprint.state, sprint.originBoardId, sprint.goal) == ("Audit sprint", "future", board.id,
                                                                             "SOC 2 evidence")
    assert pyc.sprint(sprint.id).startDate.startswith("2026-12-07T09:00:00")
    assert sprint.id in {s.id for s in pyc.sprints(board.id)}
    pyc.add_issues_to_sprint(sprint.id, ["SEC-2"])
    assert [i.key for i in pyc.search_issues(f"sprint = {sprint.id}")] == ["SEC-2"]
    with pytest.raises(JIRAError) as err:
        pyc.create_sprint("", board.id)
    assert err.value.status_code == 400 and "name" in err.value.response.json()["errors"]


def test_components_and_fix_versions_are_settable_and_searchable(pyc, atl, sb):
    identity, network = pyc.create_component("Identity", "SEC"), pyc.create_component("Network", "SEC")
    released, planned = pyc.create_version("1.0", "SEC", released=True), pyc.create_version("2.0", "SEC")
    issue = pyc.create_issue(project="SEC", summary="MFA rollout", issuetype={"name": "Task"},
                             components=[{"name": "Identity"}], fixVersions=[{"id": planned.id}])
    assert [c.name for c in issue.fields.components] == ["Identity"]
    assert [(v.name, v.released) for v in issue.fields.fixVersions] == [("2.0", False)]
    issue.update(fields={"components": [{"id": network.id}]})
    assert [c.id for c in pyc.issue(issue.key).fields.components] == [network.id]
    issue.update(update={"components": [{"add": {"name": "Identity"}}],
                         "fixVersions": [{"add": {"name": "1.0"}}, {"remove": {"id": planned.id}}]})
    issue.add_field_value("versions", {"id": released.id})
    got = pyc.issue(issue.key, expand="changelog")
    assert [c.name for c in got.fields.components] == ["Network", "Identity"]
    assert [v.name for v in got.fields.fixVersions] == ["1.0"] and [v.name for v in got.fields.versions] == ["1.0"]
    items = [(i.field, i.fromString, i.toString) for h in got.changelog.histories for i in h.items]
    assert ("Component", None, "Network") in items and ("Fix Version", "2.0", None) in items
    other = atl.issue_create(fields={"project": {"key": "SEC"}, "summary": "VPN", "issuetype": {"name": "Task"},
                                     "components": [{"id": identity.id}]})["key"]
    for jql, want in ((f"component = Identity AND key in ({issue.key}, {other})", {issue.key, other}),
                      ("component in (Network)", {issue.key}), ('fixVersion = "1.0"', {issue.key}),
                      ("fixVersion in releasedVersions(SEC)", {issue.key}), (f"fixVersion = {planned.id}", set()),
                      (f"component is EMPTY AND key in ({issue.key}, {other}, SEC-1)", {"SEC-1"}),
                      ("affectedVersion = 1.0", {issue.key})):
        assert {i.key for i in pyc.search_issues(jql)} == want, jql
    for bad, error in (({"components": [{"name": "Nope"}]}, {"components": "Component name 'Nope' is not valid"}),
                       ({"fixVersions": [{"id": "99"}]}, {"fixVersions": "Version with id '99' does not exist."}),
                       ({"components": {"name": "Identity"}}, {"components": "data was not an array"})):
        with pytest.raises(JIRAError) as err:
            pyc.create_issue(project="SEC", summary="x", issuetype={"name": "Task"}, **bad)
        assert err.value.status_code == 400 and err.value.response.json()["errors"] == error
    with pytest.raises(JIRAError) as err:
        pyc.search_issues("component = Nope")
    assert err.value.response.json()["errorMessages"] == ["The value 'Nope' does not exist for the field 'component'."]


def test_sprint_issues_on_a_board_and_votes(pyc, atl, sb):
    board = pyc.boards()[0]
    sprint = pyc.sprints(board.id)[0]
    page = atl.get_all_issues_for_sprint_in_board(board.id, sprint.id, fields="summary")
    want = {i.key for i in sb.store.issues.values() if sprint.id in i.sprints}
    assert page["total"] == len(want) > 0 and {i["key"] for i in page["issues"]} == want
    assert set(page["issues"][0]["fields"]) == {"summary"}  # a fields list names only what it gets
    full = atl.get_sprint_issues(sprint.id, 0, 50)
    assert full["total"] == len(want) and set(full["issues"][0]["fields"]) >= {"summary", "sprint", "closedSprints"}
    with pytest.raises(Exception, match="does not exist"):
        atl.get_all_issues_for_sprint_in_board(board.id, 9999)

    key = next(i.key for i in sb.store.issues.values() if i.reporter != sb.store.me.account_id)
    assert (pyc.votes(key).votes, pyc.votes(key).hasVoted) == (0, False)
    pyc.add_vote(key)
    votes = pyc.votes(key)
    assert (votes.votes, votes.hasVoted, votes.voters[0].accountId) == (1, True, sb.store.me.account_id)
    assert pyc.issue(key).fields.votes.votes == 1
    pyc.remove_vote(key)
    with pytest.raises(JIRAError) as err:
        pyc.remove_vote(key)
    assert err.value.status_code == 404
    own = pyc.create_issue(project="SEC", summary="mine", issuetype={"name": "Task"})
    with pytest.raises(JIRAError) as err:
        pyc.add_vote(own.key)
    assert err.value.response.json()["errorMessages"] == ["You cannot vote for an issue you have reported."]


def test_groups_filters_and_issue_properties(pyc, atl, sb):
    assert pyc.groups() == ["jira-admins", "jira-software-users", "site-admins"]
    assert pyc.groups(query="admin") == ["jira-admins", "site-admins"]
    assert atl.get_groups(query="site")["groups"][0]["html"] == "<b>site</b>-admins"
    members = atl.get_all_users_from_group("site-admins")
    assert [u["accountId"] for u in members["values"]] == [sb.store.me.account_id]

    saved = pyc.create_filter("Open SEC", "audit scope", "project = SEC", favourite=True)
    assert [f.id for f in pyc.favourite_filters()] == [saved.id] and pyc.filter(saved.id).jql == "project = SEC"
    assert {i.key for i in pyc.search_issues(f"filter = {saved.id}", maxResults=100)} == {
        i.key for i in sb.store.issues.values() if i.project == "SEC"}
    pyc.update_filter(saved.id, jql="key = SEC-1")
    assert [i.key for i in pyc.search_issues('filter = "Open SEC"')] == ["SEC-1"]
    for name, jql, errors in (("open sec", "project = SEC", {"filterName": "Filter with same name already exists."}),
                              ("", "project = SEC", {"filterName": "You must specify a name to save this filter as."}),
                              ("Bad", "nosuch = 1", {"jql": "Field 'nosuch' does not exist or you do not have "
                                                            "permission to view it."})):
        with pytest.raises(JIRAError) as err:
            pyc.create_filter(name, None, jql)
        assert err.value.status_code == 400 and err.value.response.json()["errors"] == errors
    with pytest.raises(JIRAError) as err:
        pyc.filter("999")
    assert err.value.status_code == 400

    assert pyc.add_issue_property("SEC-1", "audit", {"checked": True}).status_code == 201
    assert pyc.add_issue_property("SEC-1", "audit", {"checked": False}).status_code == 200
    assert [p.key for p in pyc.issue_properties("SEC-1")] == ["audit"]
    assert pyc.issue_property("SEC-1", "audit").value.checked is False
    with pytest.raises(JIRAError) as err:
        pyc.issue_property("SEC-1", "nope")
    assert err.value.status_code == 404


def test_update_sprint_full_and_partial(pyc, atl, sb):
    """PUT /sprint/{id} (pycontribs update_sprint) and POST (atlassian update_partially_sprint) were 405."""
    from sandbox.jira.routes_sprint_update import set_parallel_sprints

    set_parallel_sprints(sb, True)  # board 1 already has an active sprint (round 16: one per board otherwise)
    board = pyc.boards()[0]
    sprint = pyc.create_sprint("Q1 audit", board.id, goal="old goal")
    start, end = "2026-12-07T09:00:00.000+0000", "2026-12-21T17:00:00.000+0000"
    with pytest.raises(JIRAError) as err:  # a future sprint starts only with both dates
        pyc.update_sprint(sprint.id, name="Q1 audit", state="active")
    assert err.value.status_code == 400 and set(err.value.response.json()["errors"]) == {"startDate", "endDate"}
    full = pyc.update_sprint(sprint.id, name="Q1 audit", startDate=start, endDate=end, state="active")
    assert (full["state"], full["name"], full.get("goal", "")) == ("active", "Q1 audit", "")  # PUT cleared the goal
    with pytest.raises(JIRAError) as err:  # PUT is a full update: the name is required
        pyc.update_sprint(sprint.id, goal="x")
    assert err.value.status_code == 400 and "name" in err.value.response.json()["errors"]
    part = atl.update_partially_sprint(sprint.id, {"goal": "evidence for CC6.1"})
    assert (part["goal"], part["name"], part["startDate"][:10]) == ("evidence for CC6.1", "Q1 audit", "2026-12-07")
    with pytest.raises(JIRAError) as err:
        pyc._session.post(pyc._get_url(f"sprint/{sprint.id}", base=pyc.AGILE_BASE_URL), data='{"state": "future"}')
    assert err.value.status_code == 400
    closed = atl.update_partially_sprint(sprint.id, {"state": "closed", "completeDate": "2020-01-01T00:00:00.000Z"})
    assert closed["state"] == "closed" and not closed["completeDate"].startswith("2020")
    renamed = pyc._session.post(pyc._get_url(f"sprint/{sprint.id}", base=pyc.AGILE_BASE_URL), data='{"name": "x"}')
    assert renamed.json()["name"] == "x"  # a closed sprint's name and goal may change (Cloud reference)


def test_move_to_backlog_and_rank(pyc, atl, sb):
    """POST /backlog/issue and PUT /issue/rank were 404."""
    board = pyc.boards()[0]
    sprint = pyc.create_sprint("Backlog grooming", board.id)
    pyc.add_issues_to_sprint(sprint.id, ["SEC-1", "SEC-2", "SEC-3"])
    assert pyc.move_to_backlog(["SEC-1"]).status_code == 204
    atl.move_issues_to_backlog(["SEC-2"])
    assert [i.key for i in pyc.search_issues(f"sprint = {sprint.id}")] == ["SEC-3"]
    with pytest.raises(JIRAError) as err:
        pyc.move_to_backlog(["SEC-99999"])
    assert err.value.status_code == 400

    def order(n=6):
        return [i.key for i in pyc.search_issues("project = SEC ORDER BY Rank ASC", maxResults=n)]

    keys = order()
    assert pyc.rank(keys[4], next_issue=keys[0]).status_code == 204
    assert order() == [keys[4], *keys[:4], keys[5]]
    assert pyc.rank(keys[4], prev_issue=keys[2]).status_code == 204
    assert order() == [keys[0], keys[1], keys[2], keys[4], keys[3], keys[5]]
    atl.update_rank([keys[3], keys[5]], keys[1], 10019)
    assert order() == [keys[0], keys[3], keys[5], keys[1], keys[2], keys[4]]
    items = pyc.issue(keys[3], expand="changelog").changelog.histories[-1].items
    assert (items[0].field, items[0].toString) == ("Rank", "Ranked higher")
    url = pyc._get_url("issue/rank", base=pyc.AGILE_BASE_URL)
    partial = pyc._session.put(url, data=json.dumps({"issues": [keys[0], "SEC-99999"], "rankAfterIssue": keys[4]}))
    assert partial.status_code == 207
    assert [e["status"] for e in partial.json()["entries"]] == [200, 404]
    with pytest.raises(JIRAError) as err:
        pyc._session.put(url, data=json.dumps({"issues": [keys[0]], "rankBeforeIssue": keys[1],
                                               "rankAfterIssue": keys[2]}))
    assert err.value.status_code == 400
