"""Round five of vendor-client probes: JQL a checker types every day (`resolution = Unresolved`, `issue`,
`watcher`/`voter`, issue functions, start/end of week/month/year, more ORDER BY fields, text IS EMPTY) and
user search by accountId, through pycontribs `jira` and atlassian-python-api."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from jira import JIRAError
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse

from sandbox.jira.timefmt import from_ms
from tests.sandbox.jira.helpers import openapi, session_for


@pytest.fixture
def sb(make_jira_sandbox):
    return make_jira_sandbox(size=40)


def keys(pyc, jql: str) -> set[str]:
    return {i.key for i in pyc.enhanced_search_issues(jql, maxResults=False, fields="key")}


def test_resolution_unresolved(pyc, atl, sb):
    unresolved = {i["key"] for i in sb.issues() if i["fields"].get("resolution") is None}
    resolved = {i["key"] for i in sb.issues()} - unresolved
    assert unresolved and resolved
    assert keys(pyc, "resolution = Unresolved") == unresolved == keys(pyc, "resolution IS EMPTY")
    assert keys(pyc, "resolution != Unresolved") == resolved
    assert keys(pyc, "resolution in (Unresolved, Done)") == unresolved | keys(pyc, "resolution = Done")
    assert keys(pyc, 'resolution not in (Unresolved, "Won\'t Do")') == keys(pyc, "resolution = Done")
    assert {i["key"] for i in atl.enhanced_jql("project = ENG AND resolution = unresolved", limit=100)["issues"]} \
        == {k for k in unresolved if k.startswith("ENG-")}
    with pytest.raises(JIRAError) as bad:
        pyc.enhanced_search_issues("resolution = Unresolvable")
    assert bad.value.status_code == 400 and "'Unresolvable' does not exist" in bad.value.text


def test_issue_field_and_issue_functions(pyc, sb):
    a = pyc.create_issue(project="ENG", summary="blocker", issuetype={"name": "Task"})
    b = pyc.create_issue(project="ENG", summary="blocked", issuetype={"name": "Task"})
    c = pyc.create_issue(project="SEC", summary="related", issuetype={"name": "Task"})
    pyc.create_issue_link("Blocks", a.key, b.key)
    pyc.create_issue_link("Relates", c.key, a.key)
    assert keys(pyc, f"issue = {a.key}") == {a.key} == keys(pyc, f"issue in ({a.key})")
    assert keys(pyc, f"issue in linkedIssues({a.key})") == {b.key, c.key}
    # read from the issue's own side, as its issuelinks show the link
    [shown] = [lk for lk in pyc.issue(a.key).fields.issuelinks if lk.type.name == "Blocks"]
    assert (shown.type.outward, shown.outwardIssue.key) == ("blocks", b.key)
    assert keys(pyc, f'issue in linkedIssues({a.key}, "blocks")') == {b.key}
    assert keys(pyc, f'issue in linkedIssues({b.key}, "is blocked by")') == {a.key}
    assert keys(pyc, f'issue in linkedIssues({b.key}, "blocks")') == set()
    assert a.key not in keys(pyc, f"project = ENG AND issue not in linkedIssues({b.key})")
    with pytest.raises(JIRAError) as bad:
        pyc.enhanced_search_issues(f'issue in linkedIssues({a.key}, "eats")')
    assert bad.value.status_code == 400


def test_watcher_voter_and_their_functions(pyc, sb):
    me = pyc.myself()["accountId"]
    other = next(u for u in sb.store.users.values() if u.account_id != me)
    mine = {i.key for i in pyc.enhanced_search_issues("reporter = currentUser()", maxResults=False)}
    # the reporter watches an issue until its watchers change
    assert keys(pyc, "watcher = currentUser()") == mine == keys(pyc, "issue in watchedIssues()")
    theirs = next(i for i in sb.issues() if i["fields"]["reporter"]["accountId"] == other.account_id)["key"]
    pyc.add_watcher(theirs, me)
    ours = next(iter(mine))
    pyc.remove_watcher(ours, me)
    assert keys(pyc, "watcher = currentUser()") == mine - {ours} | {theirs} == keys(pyc, "issue in watchedIssues()")
    assert theirs in keys(pyc, f'watcher = "{other.account_id}"')
    assert keys(pyc, "voter = currentUser()") == set() == keys(pyc, "issue in votedIssues()")
    pyc.add_vote(theirs)
    assert keys(pyc, "voter = currentUser()") == {theirs} == keys(pyc, "issue in votedIssues()")
    assert theirs not in keys(pyc, "project in (ENG, SEC, GRC) AND voter is EMPTY")


def test_start_and_end_of_week_month_year(pyc, sb):
    tz = ZoneInfo(sb.user_time_zone)
    now = from_ms(sb.store.now_ms()).astimezone(tz)
    month = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    last_month = (month - timedelta(days=1)).replace(day=1)
    sunday = (now - timedelta(days=(now.weekday() + 1) % 7)).replace(hour=0, minute=0, second=0, microsecond=0)

    def literal(t: datetime) -> str:
        return t.strftime('"%Y-%m-%d %H:%M"')

    assert keys(pyc, "created >= startOfYear()") == keys(pyc, f"created >= {now.year}-01-01")
    assert keys(pyc, "created >= startOfMonth(-1) AND created < endOfMonth(-1)") == keys(
        pyc, f"created >= {literal(last_month)} AND created < {literal(month)}")
    assert keys(pyc, "updated >= startOfWeek(-8)") == keys(pyc, f"updated >= {literal(sunday - timedelta(weeks=8))}")
    assert keys(pyc, 'created >= startOfYear("-1")') == keys(pyc, f"created >= {now.year - 1}-01-01")
    assert keys(pyc, "created < endOfYear()") == keys(pyc, "project in (ENG, SEC, GRC)")


def test_more_order_by_fields_and_empty_text(pyc, atl, sb):
    by_reporter = [i["fields"]["reporter"]["displayName"].lower() for i in
                   atl.enhanced_jql("project = SEC ORDER BY reporter ASC", fields="reporter", limit=100)["issues"]]
    assert by_reporter == sorted(by_reporter)  # users sort by display name (round 24b; was account id)
    resolved = [i.fields.resolution for i in pyc.enhanced_search_issues("project = ENG ORDER BY resolution DESC",
                                                                        maxResults=False, fields="resolution")]
    assert resolved[0] is None and resolved[-1] is not None  # DESC: empty values first, as for dates
    blank = pyc.create_issue(project="GRC", summary="no description", issuetype={"name": "Task"})
    assert blank.key in keys(pyc, "project = GRC AND description IS EMPTY")
    assert blank.key not in keys(pyc, "project = GRC AND description IS NOT EMPTY")
    assert keys(pyc, "summary IS NOT EMPTY") == {i["key"] for i in sb.issues()}


def test_user_search_by_account_id(pyc, atl, sb):
    me = pyc.myself()["accountId"]
    other = next(u for u in sb.store.users.values() if u.account_id != me)
    assert [u["accountId"] for u in atl.user_find_by_user_string(account_id=other.account_id)] == [other.account_id]
    assert atl.user_find_by_user_string(account_id="no-such-account") == []


def test_boolean_parameters_in_any_case(pyc, atl, sb):
    """pycontribs sends Python's `True` as "True"; Jira reads booleans case-insensitively."""
    parent = pyc.create_issue(project="ENG", summary="parent", issuetype={"name": "Task"})
    sub = pyc.create_issue(project="ENG", summary="sub", issuetype={"name": "Subtask"}, parent={"key": parent.key})
    with pytest.raises(JIRAError) as refused:
        pyc.issue(parent.key).delete(deleteSubtasks=False)
    assert refused.value.status_code == 400 and "deleteSubtasks" in refused.value.text
    pyc.issue(parent.key).delete(deleteSubtasks=True)  # ?deleteSubtasks=True
    assert not atl.issue_exists(parent.key) and not atl.issue_exists(sub.key)
    with session_for(sb) as s:
        r = s.put(f"{sb.url}/rest/api/2/issue/ENG-1", params={"returnIssue": "True"}, json={"fields": {"labels": []}})
    assert r.status_code == 200 and r.json()["key"] == "ENG-1"


def test_was_and_changed_read_the_changelog(pyc, atl, sb):
    every = keys(pyc, "project in (ENG, SEC, GRC)")
    moved = {i["key"] for i in sb.issues() if i["fields"]["status"]["name"] != "To Do"}
    assert moved and keys(pyc, "status CHANGED") == moved
    assert keys(pyc, 'status WAS "To Do"') == every  # every issue starts in To Do
    assert keys(pyc, "status CHANGED TO Done") == keys(pyc, "status = Done")
    assert keys(pyc, 'status WAS NOT "In Progress"') == every - keys(pyc, 'status WAS "In Progress"')
    issue = pyc.create_issue(project="ENG", summary="history", issuetype={"name": "Task"})
    pyc.transition_issue(issue.key, "21")
    pyc.transition_issue(issue.key, "41", fields={"resolution": {"name": "Done"}})
    mine = f"key = {issue.key} AND "
    assert keys(pyc, mine + 'status CHANGED FROM "To Do" TO "In Progress" BY currentUser() AFTER -1h') == {issue.key}
    assert keys(pyc, mine + 'status WAS IN ("In Progress", "In Review") DURING ("2020/01/01", "2020/12/31")') == set()
    assert keys(pyc, mine + 'status WAS "In Progress" AFTER -5m') == {issue.key}
    assert keys(pyc, mine + "resolution CHANGED FROM Unresolved TO Done") == {issue.key}
    assert keys(pyc, mine + "status CHANGED BEFORE -1d") == set()
    assert [i["key"] for i in atl.enhanced_jql(mine + 'status WAS "To Do" ON startOfDay()')["issues"]] == [issue.key]
    for bad in ("labels WAS x", "status CHANGED FROM Nope", "status WAS Done FROM Done"):
        with pytest.raises(JIRAError) as refused:
            pyc.enhanced_search_issues(bad)
        assert refused.value.status_code == 400, bad


def test_members_of_and_project_functions(pyc, atl, sb):
    me = pyc.myself()["accountId"]
    pyc.add_group("probe-team")
    assert keys(pyc, 'assignee in membersOf("probe-team")') == set()
    someone = next(i for i in sb.issues() if i["fields"].get("assignee"))
    pyc.add_user_to_group(someone["fields"]["assignee"]["accountId"], "probe-team")
    assert someone["key"] in keys(pyc, 'assignee in membersOf("probe-team")')  # not a stale cached answer
    assert keys(pyc, 'reporter in membersOf("jira-admins")') == keys(pyc, "reporter = currentUser()")
    with pytest.raises(JIRAError) as missing:
        pyc.enhanced_search_issues('assignee in membersOf("no-such-group")')
    assert missing.value.status_code == 400 and "no-such-group" in missing.value.text
    every = keys(pyc, "project in (ENG, SEC, GRC)")
    assert keys(pyc, 'project in projectsWhereUserHasPermission("Browse Projects")') == every
    led = {p.key for p in sb.store.projects.values() if p.lead == me}
    assert keys(pyc, "project in projectsLeadByUser()") == {k for k in every if k.split("-")[0] in led}
    with pytest.raises(JIRAError) as bad:
        pyc.enhanced_search_issues("status in nosuchFunction()")
    assert bad.value.status_code == 400 and "Func(" not in bad.value.text


def test_time_tracking_fields_and_count_clauses(pyc, atl, sb):
    issue = pyc.create_issue(project="GRC", summary="logged", issuetype={"name": "Task"})
    fresh = pyc.issue(issue.key).fields
    assert (fresh.timespent, fresh.timeoriginalestimate, fresh.workratio, fresh.security) == (None, None, -1, None)
    assert (fresh.progress.progress, fresh.progress.total) == (0, 0)
    pyc.add_worklog(issue.key, timeSpent="1h 30m")
    logged = pyc.issue(issue.key).fields
    assert (logged.timespent, logged.aggregatetimespent, logged.timetracking.timeSpentSeconds) == (5400, 5400, 5400)
    assert (logged.progress.progress, logged.progress.total, logged.progress.percent) == (5400, 5400, 100)
    ids = {f["id"]: f for f in pyc.fields()}
    assert {"timespent", "timetracking", "worklog", "votes", "watches", "versions", "environment"} <= set(ids)
    assert ids["timeoriginalestimate"]["clauseNames"] == ["originalEstimate", "timeoriginalestimate"]
    assert keys(pyc, "timespent > 1h") == {issue.key} == keys(pyc, "timespent = 90")  # a bare number is minutes
    assert keys(pyc, "project = GRC AND timespent IS EMPTY") == keys(pyc, "project = GRC") - {issue.key}
    me = pyc.myself()["accountId"]
    pyc.add_watcher(issue.key, next(u for u in sb.store.users.values() if u.account_id != me).account_id)
    assert issue.key in keys(pyc, "project = GRC AND watchers >= 2")
    assert keys(pyc, "project = GRC AND watchers > 1") == {i for i in keys(pyc, "project = GRC")
                                                           if pyc.watchers(i).watchCount > 1}
    assert keys(pyc, "votes > 0") == set()
    theirs = next(i["key"] for i in sb.issues() if i["fields"]["reporter"]["accountId"] != me)
    pyc.add_vote(theirs)
    assert keys(pyc, "votes > 0") == {theirs} == keys(pyc, "votes = 1")
    assert keys(pyc, "lastViewed IS EMPTY") == keys(pyc, "project in (ENG, SEC, GRC)")
    schema = atl.get_issue(issue.key, fields="progress,timespent", expand="schema")["schema"]
    assert schema == {"progress": {"type": "progress", "system": "progress"},
                      "timespent": {"type": "number", "system": "timespent"}}


def test_assignable_users_for_several_projects(pyc, atl, sb):
    found = pyc.search_assignable_users_for_projects("kim", "ENG,SEC")  # sends username=, as for Server
    assert {u.displayName for u in found} == {"Ana Kim"}
    every = atl.get("rest/api/3/user/assignable/multiProjectSearch", params={"projectKeys": "GRC", "maxResults": 3})
    assert len(every) == 3 and all(u["accountType"] == "atlassian" and u["active"] for u in every)
    with pytest.raises(JIRAError) as missing:
        pyc.search_assignable_users_for_projects("ana", "ENG,NOPE")
    assert missing.value.status_code == 404


def test_new_answers_match_the_official_schema(sb):
    spec = openapi("jira-platform-v3.json", sb.url)
    with session_for(sb) as s:
        me = s.get(sb.url + "/rest/api/3/myself").json()["accountId"]
        for path in ("/rest/api/3/user/assignable/multiProjectSearch?projectKeys=ENG,SEC&query=kim",
                     f"/rest/api/3/user/search?accountId={me}", "/rest/api/3/field",
                     "/rest/api/3/issue/ENG-1?fields=timespent,progress,workratio,security,timetracking"):
            r = s.get(sb.url + path)
            assert r.status_code == 200, (path, r.text)
            spec.validate_response(RequestsOpenAPIRequest(r.request), RequestsOpenAPIResponse(r))
        r = s.post(sb.url + "/rest/api/3/search/jql", json={"jql": 'status WAS "To Do" AND resolution = Unresolved',
                                                             "fields": ["timespent", "progress"]})
        assert r.status_code == 200 and r.json()["issues"], r.text
        spec.validate_response(RequestsOpenAPIRequest(r.request), RequestsOpenAPIResponse(r))


def test_attachment_with_a_non_latin1_name_downloads(pyc, atl, sb):
    """The content answer's Content-Disposition carried the raw name: the server could not write a header
    with "✓" and dropped the connection."""
    issue = pyc.create_issue(project="SEC", summary="evidence", issuetype={"name": "Task"})
    att = pyc.add_attachment(issue.key, io.BytesIO(b"proof"), filename="r\u00e9sum\u00e9 \u2713.txt")
    assert att.filename == "r\u00e9sum\u00e9 \u2713.txt"
    assert pyc.issue(issue.key).fields.attachment[0].get() == b"proof"
    assert atl.get_attachment_content(att.id) == b"proof"
    with session_for(sb) as s:
        r = s.get(f"{sb.url}/rest/api/3/attachment/content/{att.id}")
    assert r.headers["Content-Disposition"] == (
        "attachment; filename=\"r_sum_ _.txt\"; filename*=UTF-8''r%C3%A9sum%C3%A9%20%E2%9C%93.txt")
