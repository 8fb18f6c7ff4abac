"""Probe round 24b: gaps left by round 24, driven through pycontribs `jira` and atlassian-python-api —
restricted comments and worklogs (JQL `comment ~`, comment and worklog reads), the wiki-to-ADF conversion of v2
comments read through v3, the JQL functions updatedBy() / projectsWhereUserHasRole(), the `level` field, ORDER
BY workratio / timespent / votes, and users ordered by display name."""

from __future__ import annotations

import pytest
from jira.exceptions import JIRAError
from requests import HTTPError

from tests.sandbox.jira.helpers import checked, drop_admin


@pytest.fixture
def sb(make_jira_sandbox):
    return make_jira_sandbox(size=30)


def _keys(pyc, jql: str) -> list[str]:
    return sorted(i.key for i in pyc.enhanced_search_issues(jql, fields="summary", maxResults=0))


def test_restricted_comments_only_match_their_audience(sb, pyc, atl):
    me = pyc.myself()["accountId"]
    pyc.add_group("auditors")
    pyc.add_user_to_group(me, "auditors")
    hidden = pyc.add_comment("SEC-2", "zebracorn in the vault", visibility={"type": "group", "value": "auditors"})
    pyc.add_comment("SEC-3", "zebracorn in the open")
    viewer = pyc.project_role("SEC", 10004)
    viewer.add_user(users=me)
    pyc.add_comment("SEC-4", "quokka for viewers", visibility={"type": "role", "value": "Viewer"})
    assert _keys(pyc, "comment ~ zebracorn") == ["SEC-2", "SEC-3"]
    assert _keys(pyc, "comment ~ quokka") == ["SEC-4"]
    log = atl.post("rest/api/2/issue/SEC-2/worklog", data={"timeSpent": "1h",
                                                            "visibility": {"type": "group", "value": "auditors"}})
    pyc.remove_user_from_group(me, "auditors")  # no longer in the audience: neither searched nor read
    atl.delete("rest/api/2/project/SEC/role/10004", params={"user": me})
    assert _keys(pyc, "comment ~ zebracorn") == _keys(pyc, "text ~ zebracorn") == ["SEC-3"]
    assert _keys(pyc, "comment ~ quokka") == []
    assert hidden.id not in [c.id for c in pyc.comments("SEC-2")]
    assert hidden.id not in [c.id for c in pyc.issue("SEC-2", fields="comment").fields.comment.comments]
    with pytest.raises(JIRAError) as gone:
        pyc.comment("SEC-2", hidden.id)
    assert gone.value.status_code == 404
    with pytest.raises(JIRAError) as edit:
        hidden.update(body="changed")
    assert edit.value.status_code == 404
    assert atl.post("rest/api/3/comment/list", data={"ids": [int(hidden.id)]})["values"] == []
    assert log["id"] not in [w.id for w in pyc.worklogs("SEC-2")]
    with pytest.raises(JIRAError):
        pyc.worklog("SEC-2", log["id"])


def test_v2_wiki_markup_reads_as_adf_through_v3(sb, pyc, s):
    wiki = ("Rotate *now* and _carefully_, see [the runbook|https://example.com/rb] or {{kubectl get}}.\n"
            "Second line\n\n* first\n* second\n** nested\n# one\n# two\n\nh2. Notes\nplain snake_case_name 2026-01-02")
    added = pyc.add_comment("SEC-2", wiki)
    assert added.body == wiki  # v2 reads the markup as written
    doc = s.get(f"{sb.url}/rest/api/3/issue/SEC-2/comment/{added.id}").json()["body"]
    assert doc["type"] == "doc" and doc["version"] == 1
    para, bullets, numbered, heading, tail = doc["content"]
    assert para["type"] == "paragraph"
    assert {"type": "text", "text": "now", "marks": [{"type": "strong"}]} in para["content"]
    assert {"type": "text", "text": "carefully", "marks": [{"type": "em"}]} in para["content"]
    assert {"type": "text", "text": "the runbook",
            "marks": [{"type": "link", "attrs": {"href": "https://example.com/rb"}}]} in para["content"]
    assert {"type": "text", "text": "kubectl get", "marks": [{"type": "code"}]} in para["content"]
    assert {"type": "hardBreak"} in para["content"]
    assert bullets["type"] == "bulletList" and len(bullets["content"]) == 2
    assert bullets["content"][1]["content"][1]["type"] == "bulletList"  # ** nests under the item before
    assert numbered["type"] == "orderedList" and len(numbered["content"]) == 2
    assert heading == {"type": "heading", "attrs": {"level": 2}, "content": [{"type": "text", "text": "Notes"}]}
    assert tail["content"] == [{"type": "text", "text": "plain snake_case_name 2026-01-02"}]  # no false marks
    pyc.issue("SEC-3").update(description="Plain words.\n\nNo markup here.")  # plain text: one paragraph a block
    desc = s.get(f"{sb.url}/rest/api/3/issue/SEC-3", params={"fields": "description"}).json()["fields"]["description"]
    assert [p["content"] for p in desc["content"]] == [[{"type": "text", "text": "Plain words."}],
                                                       [{"type": "text", "text": "No markup here."}]]


def _ordered(pyc, jql: str) -> list[str]:
    return [i.key for i in pyc.enhanced_search_issues(jql, fields="summary", maxResults=0)]


def test_updated_by_and_projects_where_user_has_role(sb, pyc, atl):
    me = pyc.myself()["accountId"]
    other = next(u for u in sb.store.users if u != me)
    fresh = [pyc.create_issue(project="SEC", summary=f"u{n}", issuetype={"name": "Task"}, labels=["r24b-upd"]).key
             for n in range(3)]
    assert set(_ordered(pyc, f"labels = r24b-upd AND issuekey in updatedBy('{me}')")) == set(fresh)  # created them
    assert _ordered(pyc, f"labels = r24b-upd AND issuekey in updatedBy('{other}')") == []
    assert _ordered(pyc, f"labels = r24b-upd AND issue in updatedBy('{me}', '2020/01/01', '2020/12/31')") == []
    assert len(_ordered(pyc, f"labels = r24b-upd AND key in updatedBy('{me}', '-1d')")) == 3
    assert set(_ordered(pyc, f"labels = r24b-upd AND issuekey not in updatedBy('{me}')")) == set()
    with pytest.raises(JIRAError) as bad:
        pyc.enhanced_search_issues("issuekey in updatedBy()")
    assert bad.value.status_code == 400
    admin_projects = {i.fields.project.key for i in pyc.enhanced_search_issues(
        "project in projectsWhereUserHasRole('Administrators')", fields="project", maxResults=0)}
    assert admin_projects == {p.key for p in pyc.projects()}  # the API user is in jira-admins
    assert _ordered(pyc, "project in projectsWhereUserHasRole(Viewer)") == []
    pyc.project_role("SEC", 10004).add_user(users=me)
    assert {k.split("-")[0] for k in _ordered(pyc, "project in projectsWhereUserHasRole(Viewer)")} == {"SEC"}
    with pytest.raises(JIRAError):
        pyc.enhanced_search_issues("project in projectsWhereUserHasRole('No such role')")


def test_security_level_clause(sb, pyc):
    total = len(_ordered(pyc, "project = SEC"))
    assert len(_ordered(pyc, "project = SEC AND level IS EMPTY")) == total  # the sandbox's issues hold no level
    assert _ordered(pyc, "level = Internal") == _ordered(pyc, "level in ('Reporter Only', 10000)") == []
    with pytest.raises(JIRAError) as bad:
        pyc.enhanced_search_issues("level = Nosuch")
    assert "The value 'Nosuch' does not exist for the field 'level'." in bad.value.text


def test_order_by_numbers_and_user_display_names(sb, pyc, atl):
    keys = [pyc.create_issue(project="SEC", summary=f"o{n}", issuetype={"name": "Task"}, labels=["r24b-ord"],
                             timetracking={"originalEstimate": "4h"}).key for n in range(3)]
    for key, hours in zip(keys, (2, 6, 1), strict=True):
        pyc.add_worklog(key, timeSpent=f"{hours}h")
    assert _ordered(pyc, "labels = r24b-ord ORDER BY timespent DESC") == [keys[1], keys[0], keys[2]]
    assert _ordered(pyc, "labels = r24b-ord ORDER BY workratio ASC") == [keys[2], keys[0], keys[1]]
    other = next(u for u in sb.store.users if u != pyc.myself()["accountId"])
    pyc.issue(keys[2]).update(reporter={"accountId": other})  # one cannot vote on an issue one reported
    pyc.add_vote(keys[2])
    assert _ordered(pyc, "labels = r24b-ord ORDER BY votes DESC, key ASC")[0] == keys[2]
    people = {u.account_id: u.display_name for u in sb.store.users.values()}
    for field in ("assignee", "reporter"):
        got = pyc.enhanced_search_issues(f"project = SEC AND {field} IS NOT EMPTY ORDER BY {field} ASC",
                                         fields=field, maxResults=0)
        names = [getattr(i.fields, field).displayName.lower() for i in got]
        assert names == sorted(names)  # by display name, not by account id
        ids = [getattr(i.fields, field).accountId for i in got]
        assert ids != sorted(ids) or len(set(people)) < 2


def test_path_parameters_are_percent_decoded(sb, pyc):
    assert pyc.status("To Do").id == "10000"  # GET /status/To%20Do: a status by its name, as Jersey decodes it
    assert pyc.status("in progress").name == "In Progress"
    pyc.add_issue_property("SEC-1", "my key", {"a": 1})
    assert pyc.issue_property("SEC-1", "my key").key == "my key"
    with pytest.raises(JIRAError) as gone:
        pyc.status("No Such")
    assert "'No Such'" in gone.value.text


def test_screen_tabs_and_fields(sb, s, atl):
    assert atl.get_screen_tabs(3) == [{"id": 10003, "name": "Field Tab"}]
    resolve = atl.get_screen_tab_fields(3, 10003)
    assert {f["id"] for f in resolve} == {"resolution", "fixVersions", "assignee"}
    assert atl.get_all_screen_fields(2) == [{"id": "assignee", "name": "Assignee"}]
    free = {f["id"] for f in atl.get_all_available_screen_fields(1)}
    assert "status" in free and "summary" not in free  # what the Default Screen does not show yet
    for path in ("screens/1/tabs", "screens/1/tabs/10001/fields", "screens/1/availableFields"):
        checked(sb, s.get(f"{sb.url}/rest/api/3/{path}"))
    assert s.get(f"{sb.url}/rest/api/3/screens/9/tabs").status_code == 404
    assert s.get(f"{sb.url}/rest/api/3/screens/1/tabs/10002/fields").status_code == 404
    drop_admin(sb, s)
    with pytest.raises(HTTPError) as refused:
        atl.get_screen_tabs(1)
    assert refused.value.response.status_code == 403
