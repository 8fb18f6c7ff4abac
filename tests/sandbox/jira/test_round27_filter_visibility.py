"""Round 27: a saved filter's visibility reaches past `/filter`: JQL `filter = X` / `filter in (..)`, the agile
`/board/filter/{id}` lookup and board creation treat a filter the caller may not see as one that does not exist;
a filter's `editPermissions` decide who else may edit it; `/project/{key}/component` reads `orderBy` and `query`.
Driven by pycontribs `jira.JIRA` unchanged (raw requests where it has no method), as the admin and the ordinary
"Sandbox User"."""

from __future__ import annotations

import pytest
from jira import JIRA
from jira.exceptions import JIRAError

from tests.sandbox.jira.helpers import checked


@pytest.fixture
def sb(make_jira_sandbox):
    return make_jira_sandbox(size=30)


@pytest.fixture
def other(sb) -> JIRA:
    """pycontribs as the ordinary login (Sandbox User)."""
    client = JIRA(server=sb.url, basic_auth=(sb.credentials["user_email"], sb.credentials["user_api_token"]),
                  max_retries=0)
    yield client
    client.close()


def test_jql_filter_clause_needs_a_filter_the_caller_sees(sb, pyc, other, s):
    api = f"{sb.url}/rest/api/2"
    f = pyc.create_filter(name="admin only", jql="project = SEC AND issuetype = Bug", favourite=False)
    mine = {i.key for i in pyc.search_issues(f"filter = {f.id}", maxResults=100)}
    assert mine and mine == {i.key for i in pyc.search_issues("filter = 'admin only'", maxResults=100)}
    for jql in (f"filter = {f.id}", "filter = 'admin only'", f"filter in ({f.id})", f"filter != {f.id}"):
        with pytest.raises(JIRAError) as refused:
            other.search_issues(jql)
        assert refused.value.status_code == 400
        assert refused.value.response.json()["errorMessages"] == [
            f"The value '{f.id if 'admin' not in jql else 'admin only'}' does not exist for the field 'filter'."]
    s.post(f"{api}/filter/{f.id}/permission", json={"type": "user", "accountId": other.myself()["accountId"]})
    assert {i.key for i in other.search_issues(f"filter = {f.id}", maxResults=100)} == mine
    assert other.search_issues("filter in ('admin only')", maxResults=0).total == len(mine)


def test_agile_filter_lookups_need_a_filter_the_caller_sees(sb, pyc, other, s):
    f = pyc.create_filter(name="board source", jql="project = GRC", favourite=False)
    board = pyc.create_board("GRC private", filter_id=f.id, location_type="user")
    agile = f"{sb.url}/rest/agile/1.0/board"
    assert [b["name"] for b in s.get(f"{agile}/filter/{f.id}").json()["values"]] == [board.name]
    seen = other._session.get(f"{agile}/filter/{f.id}")
    assert seen.status_code == 200 and seen.json()["values"] == []
    with pytest.raises(JIRAError) as refused:
        other.create_board("stolen", filter_id=f.id, location_type="user")
    assert refused.value.status_code == 400 and "filterId" in refused.value.response.json()["errors"]
    s.post(f"{sb.url}/rest/api/2/filter/{f.id}/permission", json={"type": "authenticated"})
    assert [b["name"] for b in other._session.get(f"{agile}/filter/{f.id}").json()["values"]] == [board.name]
    assert other.create_board("allowed", filter_id=f.id, location_type="user").name == "allowed"


def test_edit_permissions_name_the_filters_editors(sb, pyc, other, s, user):
    api = f"{sb.url}/rest/api/2"
    me = other.myself()["accountId"]
    made = s.post(f"{api}/filter", json={"name": "team filter", "jql": "project = SEC",
                                         "editPermissions": [{"type": "user", "user": {"accountId": me}}]})
    assert made.status_code == 200
    fid = made.json()["id"]
    assert [(p["type"], p["user"]["accountId"]) for p in made.json()["editPermissions"]] == [("user", me)]
    assert other.filter(fid).name == "team filter"  # an editor sees the filter
    checked(sb, s.get(f"{sb.url}/rest/api/3/filter/{fid}"))  # editPermissions as the spec's SharePermission
    edited = other.update_filter(fid, name="team filter 2", jql="project = SEC AND issuetype = Bug")
    assert (edited.name, edited.jql) == ("team filter 2", "project = SEC AND issuetype = Bug")
    assert edited.owner.accountId == pyc.myself()["accountId"]
    assert pyc.filter(fid).jql == "project = SEC AND issuetype = Bug"
    # the editor may not widen the shares: they stay the owner's [unc]
    assert user.put(f"{api}/filter/{fid}", json={"sharePermissions": [{"type": "global"}]}).status_code == 200
    assert pyc.filter(fid).sharePermissions == []
    found = user.get(f"{api}/filter/search", params={"filterName": "team filter 2", "expand": "isWritable"})
    assert [v["isWritable"] for v in found.json()["values"]] == [True]
    # the owner takes the edit share away: the editor can neither edit nor see it
    assert s.put(f"{api}/filter/{fid}", json={"editPermissions": []}).json()["editPermissions"] == []
    with pytest.raises(JIRAError) as refused:
        other.update_filter(fid, name="hijack")
    assert refused.value.status_code == 400
    assert user.get(f"{api}/filter/{fid}").status_code == 400 and pyc.filter(fid).name == "team filter 2"


def test_a_viewer_is_no_editor_and_edit_shares_are_checked(sb, pyc, other, s):
    api = f"{sb.url}/rest/api/2"
    f = pyc.create_filter(name="read only", jql="project = SEC")
    s.post(f"{api}/filter/{f.id}/permission", json={"type": "group", "groupname": "jira-software-users"})
    assert other.filter(f.id).name == "read only"
    with pytest.raises(JIRAError) as refused:
        other.update_filter(f.id, name="mine now")
    assert refused.value.status_code == 400 and pyc.filter(f.id).name == "read only"
    public = s.put(f"{api}/filter/{f.id}", json={"editPermissions": [{"type": "global"}]})
    assert public.status_code == 400 and "editPermissions" in public.json()["errors"]
    unknown = s.put(f"{api}/filter/{f.id}", json={"editPermissions": [{"type": "group", "group": {"name": "nope"}}]})
    assert unknown.status_code == 400 and pyc.filter(f.id).raw["editPermissions"] == []
    grp = s.put(f"{api}/filter/{f.id}", json={"editPermissions": [{"type": "group",
                                                                   "group": {"name": "jira-software-users"}}]})
    assert grp.json()["editPermissions"][0]["group"]["name"] == "jira-software-users"
    assert other.update_filter(f.id, description="edited by a group member").description == "edited by a group member"


def test_project_component_page_reads_query_and_order_by(sb, pyc, s):
    api3 = f"{sb.url}/rest/api/3"
    seeded = [c.name for c in pyc.project_components("GRC")]
    lead, other_lead = pyc.myself()["accountId"], next(
        u["accountId"] for u in s.get(f"{api3}/users/search", params={"maxResults": 50}).json()
        if u.get("accountType") == "atlassian" and u["accountId"] != pyc.myself()["accountId"])
    made = [pyc.create_component("Zeta r27", "GRC", description="alpha widgets"),
            pyc.create_component("Alpha r27", "GRC", description="zulu gadgets"),
            pyc.create_component("Mid r27", "GRC")]
    made[0].update(leadAccountId=other_lead)  # pycontribs' create_component sends only a Server leadUserName
    made[1].update(leadAccountId=lead)
    issue = pyc.create_issue(project="GRC", summary="comp", issuetype={"name": "Task"},
                             components=[{"id": made[2].id}])
    pyc.create_issue(project="GRC", summary="comp 2", issuetype={"name": "Task"}, components=[{"id": made[2].id}])
    assert issue.key.startswith("GRC-")
    page = f"{api3}/project/GRC/component"

    def names(**params):
        r = checked(sb, s.get(page, params={"query": "r27", **params}))
        return [v["name"] for v in r.json()["values"]]

    assert names() == ["Zeta r27", "Alpha r27", "Mid r27"]  # no orderBy: the project's own order
    assert names(orderBy="name") == names(orderBy="+name") == ["Alpha r27", "Mid r27", "Zeta r27"]
    assert names(orderBy="-name") == ["Zeta r27", "Mid r27", "Alpha r27"]
    assert names(orderBy="description") == ["Zeta r27", "Alpha r27", "Mid r27"]  # no description: last
    assert names(orderBy="-description") == ["Alpha r27", "Zeta r27", "Mid r27"]
    assert names(orderBy="-issueCount")[0] == "Mid r27"
    by_lead = sorted([("Zeta r27", other_lead), ("Alpha r27", lead)], key=lambda x: x[1].lower())
    assert names(orderBy="lead") == [n for n, _ in by_lead] + ["Mid r27"]
    assert names(query="GADGETS") == ["Alpha r27"]  # the description matches, case-insensitively
    counts = {v["name"]: v["issueCount"] for v in s.get(page, params={"query": "r27"}).json()["values"]}
    assert counts == {"Zeta r27": 0, "Alpha r27": 0, "Mid r27": 2}
    assert s.get(page, params={"orderBy": "size"}).status_code == 400
    assert [v["name"] for v in s.get(page, params={"maxResults": 100}).json()["values"]][:len(seeded)] == seeded


def test_a_favourite_that_is_no_longer_shared_leaves_my_filters(sb, pyc, other, s, user):
    api = f"{sb.url}/rest/api/2"
    f = pyc.create_filter(name="once shared", jql="project = SEC")
    share = s.post(f"{api}/filter/{f.id}/permission", json={"type": "authenticated"}).json()[0]
    assert user.put(f"{api}/filter/{f.id}/favourite").status_code == 200
    assert "once shared" in [x.name for x in other.favourite_filters()]
    mine = user.get(f"{api}/filter/my", params={"includeFavourites": "true"}).json()
    assert "once shared" in [x["name"] for x in mine]
    assert s.delete(f"{api}/filter/{f.id}/permission/{share['id']}").status_code == 204
    assert "once shared" not in [x.name for x in other.favourite_filters()]
    mine = user.get(f"{api}/filter/my", params={"includeFavourites": "true"}).json()
    assert "once shared" not in [x["name"] for x in mine]


def test_filter_columns_follow_the_filters_visibility(sb, pyc, other, s, user):
    api = f"{sb.url}/rest/api/3"
    f = pyc.create_filter(name="with columns", jql="project = SEC")
    assert s.put(f"{api}/filter/{f.id}/columns", data=[("columns", "summary")],
                 headers={"X-Atlassian-Token": "no-check"}).status_code == 200  # a form: Jira's XSRF check
    assert user.get(f"{api}/filter/{f.id}/columns").status_code == 400  # the spec: no permission to view it
    assert user.delete(f"{api}/filter/{f.id}/columns").status_code == 400
    s.post(f"{api}/filter/{f.id}/permission", json={"type": "user", "accountId": other.myself()["accountId"]})
    assert [c["value"] for c in user.get(f"{api}/filter/{f.id}/columns").json()] == ["summary"]
    assert user.delete(f"{api}/filter/{f.id}/columns").status_code == 204  # the viewer's own: none was set
    assert [c["value"] for c in s.get(f"{api}/filter/{f.id}/columns").json()] == ["summary"]
    assert s.delete(f"{api}/filter/{f.id}/columns").status_code == 204
    assert s.get(f"{api}/filter/{f.id}/columns").status_code == 404
