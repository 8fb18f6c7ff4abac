"""Probe round 23: gaps found driving pycontribs `jira` and atlassian-python-api through the listed flows —
the "No Category" status category, expand=changelog's cap of 100 histories, and JAX-RS trailing slashes."""

from __future__ import annotations

import pytest
from jira.exceptions import JIRAError

from tests.sandbox.jira.helpers import checked


@pytest.fixture
def sb(make_jira_sandbox):
    return make_jira_sandbox(size=30)


def test_no_category_status_category(sb, s, pyc):
    cats = pyc.statuscategories()
    assert [(x.id, x.key, x.name) for x in cats] == [(1, "undefined", "No Category"), (2, "new", "To Do"),
                                                     (4, "indeterminate", "In Progress"), (3, "done", "Done")]
    one = pyc.statuscategory(1).raw
    assert (one["key"], one["colorName"], one["self"]) == ("undefined", "medium-gray",
                                                           f"{sb.url}/rest/api/2/statuscategory/1")
    assert pyc.statuscategory("undefined").name == "No Category"
    checked(sb, s.get(f"{sb.url}/rest/api/3/statuscategory"))
    checked(sb, s.get(f"{sb.url}/rest/api/3/statuscategory/1"))
    with pytest.raises(JIRAError) as missing:
        pyc.statuscategory(5)
    assert missing.value.status_code == 404
    # a valid JQL value that no seeded status belongs to; the other categories still hold every issue
    assert pyc.enhanced_search_issues('statusCategory = "No Category"', json_result=True)["issues"] == []
    assert pyc.approximate_issue_count("statusCategory != undefined") == len(sb.store.issues)


def test_expand_changelog_embeds_the_latest_hundred(sb, s, pyc, atl):
    issue = pyc.create_issue(project="SEC", summary="s0", issuetype={"name": "Task"})
    url = f"{sb.url}/rest/api/2/issue/{issue.key}"
    for n in range(1, 121):
        assert s.put(url, json={"fields": {"summary": f"s{n}"}}).status_code == 204
    log = pyc.issue(issue.key, expand="changelog").changelog
    assert (log.total, log.maxResults, len(log.histories)) == (120, 100, 100)
    assert [h.items[0].toString for h in log.histories] == [f"s{n}" for n in range(21, 121)]
    found = pyc.enhanced_search_issues(f"key = {issue.key}", expand="changelog", fields="summary")[0].changelog
    assert (found.total, len(found.histories), found.histories[-1].items[0].toString) == (120, 100, "s120")
    bulk = s.post(f"{sb.url}/rest/api/3/issue/bulkfetch", json={"issueIdsOrKeys": [issue.key],
                                                                 "expand": ["changelog"], "fields": ["summary"]})
    assert bulk.json()["issues"][0]["changelog"]["total"] == 120
    assert len(bulk.json()["issues"][0]["changelog"]["histories"]) == 100
    # the whole history stays readable page by page
    pages = [atl.get_issue_changelog(issue.key, start=start, limit=100) for start in (0, 100)]
    values = [h for page in pages for h in page["values"]]
    assert [h["items"][0]["toString"] for h in values] == [f"s{n}" for n in range(1, 121)]
    assert (pages[0]["isLast"], pages[1]["isLast"]) == (False, True)
    short = pyc.issue("SEC-3", expand="changelog").changelog
    assert short.total == short.maxResults == len(short.histories)


def test_one_trailing_slash_reaches_the_resource(sb, s):
    api = f"{sb.url}/rest/api/2"
    assert s.get(f"{api}/myself/").json()["accountId"] == s.get(f"{api}/myself").json()["accountId"]
    made = s.post(f"{api}/component/", json={"name": "slash", "project": "SEC"})
    assert made.status_code == 201, made.text
    assert s.get(f"{api}/component/{made.json()['id']}/").json()["name"] == "slash"
    assert s.get(f"{api}/issue/SEC-1/").json()["key"] == "SEC-1"
    assert s.get(f"{sb.url}/rest/agile/1.0/board/").json()["values"]
    for path in ("/rest/api/2//myself", "/rest/api/2/myself//", "/rest/api/2/nosuchthing/"):
        assert s.get(sb.url + path).status_code == 404, path


def test_project_bean_lists_roles_and_asked_properties(sb, s, pyc):
    api = f"{sb.url}/rest/api/3"
    assert s.put(f"{api}/project/SEC/properties/team", json={"name": "blue"}).status_code == 201
    bean = checked(sb, s.get(f"{api}/project/SEC", params={"properties": "team,missing"})).json()
    assert bean["properties"] == {"team": {"name": "blue"}}
    roles = bean["roles"]
    assert set(roles) == {"Administrators", "Member", "Viewer", "atlassian-addons-project-access"}
    listed = s.get(f"{api}/project/SEC/role").json()
    assert {name: url.rsplit("/", 1)[-1] for name, url in roles.items()} == \
        {name: url.rsplit("/", 1)[-1] for name, url in listed.items()}
    for name, url in roles.items():
        assert s.get(url).json()["name"] == name
    assert s.get(f"{api}/project/SEC").json()["properties"] == {}
    assert pyc.project("SEC").roles.Administrators.endswith("/role/10002")
    assert "roles" not in s.get(f"{api}/project").json()[0]  # the list beans stay short


def test_bulk_watch_and_unwatch(sb, s, pyc, jc):
    me = pyc.myself()["accountId"]
    keys = ["SEC-1", "SEC-2", "ENG-1"]

    def watching() -> list[bool]:
        return [me in [w.accountId for w in pyc.watchers(k).watchers] for k in keys]

    assert watching() == [False, False, False]
    task = jc.submit_bulk_watch({"selectedIssueIdsOrKeys": keys})
    assert watching() == [True, True, True]
    done = s.get(f"{sb.url}/rest/api/3/bulk/queue/{task['taskId']}").json()  # epoch ms, as the bulk edit task
    assert (done["status"], done["totalIssueCount"]) == ("COMPLETE", 3)
    assert sorted(done["processedAccessibleIssues"]) == sorted(sb.store.resolve(k).id for k in keys)
    found = pyc.enhanced_search_issues("watcher = currentUser()", maxResults=False)
    assert set(keys) <= {i.key for i in found}
    jc.submit_bulk_watch({"selectedIssueIdsOrKeys": keys[:1]})  # watching twice changes nothing
    assert pyc.watchers(keys[0]).watchCount == len({me, sb.store.resolve(keys[0]).reporter})
    jc.submit_bulk_unwatch({"selectedIssueIdsOrKeys": keys[1:]})
    assert watching() == [True, False, False]
    bad = s.post(f"{sb.url}/rest/api/3/bulk/issues/unwatch", json={"selectedIssueIdsOrKeys": ["SEC-1", "SEC-99999"]})
    assert (bad.status_code, bad.json()) == (400, {"errors": [{"message": "Some of the issues in the "
                                                                          "issueIdsOrKeys are not valid"}]})
    assert watching() == [True, False, False]
    for body in ({}, {"selectedIssueIdsOrKeys": []}, {"selectedIssueIdsOrKeys": ["SEC-1"] * 1001}):
        assert s.post(f"{sb.url}/rest/api/3/bulk/issues/watch", json=body).status_code == 400


def test_version_overdue_user_dates_and_issue_status_counts(sb, s, pyc):
    def made(name: str, **body) -> str:  # raw POSTs: pycontribs' create_version sleeps a second after each
        r = s.post(f"{sb.url}/rest/api/3/version", json={"name": name, "projectId": 10000, **body})
        assert r.status_code == 201, r.text
        return r.json()["id"]

    past = made("past", releaseDate="2026-01-05", startDate="2025-12-01")
    ahead = made("ahead", releaseDate="2099-03-15")
    shipped = made("shipped", releaseDate="2026-01-05", released=True)
    bare = made("bare")
    got = {v: checked(sb, s.get(f"{sb.url}/rest/api/3/version/{v}")).json() for v in (past, ahead, shipped, bare)}
    assert (got[past]["overdue"], got[past]["userStartDate"], got[past]["userReleaseDate"]) == \
        (True, "1/Dec/2025", "5/Jan/2026")  # d/MMM/yyyy as the spec's examples ("6/Jul/2010")
    assert (got[ahead]["overdue"], got[ahead]["userReleaseDate"]) == (False, "15/Mar/2099")
    # the spec's example: "released":true with "overdue":true
    assert (got[shipped]["overdue"], got[shipped]["userReleaseDate"]) == (True, "5/Jan/2026")
    assert got[bare]["overdue"] is False  # the spec's "Next Version": no release date, "overdue":false
    assert not {"userReleaseDate", "userStartDate", "issuesStatusForFixVersion"} & set(got[bare])
    keys = ["SEC-1", "SEC-2", "SEC-3"]
    for key in keys:
        pyc.issue(key).update(fields={"fixVersions": [{"name": "past"}]})
    want = {"unmapped": 0, "toDo": 0, "inProgress": 0, "done": 0}
    for key in keys:
        bucket = {"new": "toDo", "indeterminate": "inProgress", "done": "done"}
        want[bucket[pyc.issue(key).fields.status.statusCategory.key]] += 1
    counted = checked(sb, s.get(f"{sb.url}/rest/api/3/version/{past}", params={"expand": "issuesstatus"})).json()
    assert counted["issuesStatusForFixVersion"] == want
    assert pyc.version(past, expand="issuesstatus").raw["issuesStatusForFixVersion"] == want
    listed = checked(sb, s.get(f"{sb.url}/rest/api/3/project/SEC/version", params={"expand": "issuesstatus"})).json()
    assert next(v for v in listed["values"] if v["id"] == past)["issuesStatusForFixVersion"] == want
    assert "issuesStatusForFixVersion" not in s.get(f"{sb.url}/rest/api/3/version/{past}").json()
