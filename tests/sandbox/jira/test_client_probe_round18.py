"""Probe round 18: the Agile issue lists' field selection (shared with GET /rest/agile/1.0/issue/{key}) and
the mismatches found calling commonly used pycontribs `jira` / atlassian-python-api methods."""

from __future__ import annotations

import pytest

from sandbox.jira import catalog as C
from tests.sandbox.jira.helpers import checked

AGILE = {"sprint", "closedSprints", "flagged", "epic"}


@pytest.fixture
def sb(make_jira_sandbox):
    return make_jira_sandbox(size=30)


def _lists(sb, s) -> list[str]:
    agile = f"{sb.url}/rest/agile/1.0"
    board = next(iter(sb.store.boards.values()))
    sprint = next(iter(sb.store.sprints))
    epic = next(i.key for i in sb.store.issues.values() if i.type_id == C.EPIC and i.project == board.project
                and sb.store.children.get(i.id))
    return [f"{agile}/board/{board.id}/issue", f"{agile}/board/{board.id}/backlog", f"{agile}/sprint/{sprint}/issue",
            f"{agile}/board/{board.id}/sprint/{sprint}/issue", f"{agile}/epic/none/issue",
            f"{agile}/epic/{epic}/issue", f"{agile}/board/{board.id}/epic/{epic}/issue"]


def test_agile_issue_lists_honour_a_fields_list(sb, s):
    for url in _lists(sb, s):
        page = s.get(url).json()
        assert page["issues"], url
        default = page["issues"][0]["fields"]
        assert set(default) >= AGILE | {"summary"} and "comment" not in default, url
        named = s.get(url, params={"fields": "summary"}).json()["issues"][0]["fields"]
        assert set(named) == {"summary"}, url
        some = s.get(url, params={"fields": "summary,epic"}).json()["issues"][0]["fields"]
        assert set(some) == {"summary", "epic"}, url
        wide = s.get(url, params={"fields": "*all"}).json()["issues"][0]["fields"]
        assert set(wide) >= AGILE | {"comment", "worklog"}, url
        minus = s.get(url, params={"fields": "-flagged"}).json()["issues"][0]["fields"]
        assert "flagged" not in minus and AGILE - {"flagged"} <= set(minus), url
        names = s.get(url, params={"fields": "summary", "expand": "names"}).json()["issues"][0]["names"]
        assert set(names) == {"summary"}, url


def test_filter_columns_get_set_reset(sb, s, jc):
    api = f"{sb.url}/rest/api/3"
    fid = s.post(f"{api}/filter", json={"name": "Columns", "jql": "project = SEC"}).json()["id"]
    unset = s.get(f"{api}/filter/{fid}/columns")
    assert unset.status_code == 404  # spec: no column configuration set
    jc.set_columns(fid, {"columns": ["summary", "status"]})  # atlassian JiraCloud: the spec's ColumnRequestBody
    assert jc.get_columns(fid) == [{"label": "Summary", "value": "summary"}, {"label": "Status", "value": "status"}]
    form = s.put(f"{api}/filter/{fid}/columns", data=[("columns", "issuekey"), ("columns", "assignee")],
                 headers={"X-Atlassian-Token": "no-check"})  # the spec's curl form
    assert form.status_code == 200
    assert [c["value"] for c in checked(sb, s.get(f"{api}/filter/{fid}/columns")).json()] == ["issuekey", "assignee"]
    assert s.put(f"{api}/filter/{fid}/columns", json={"columns": ["comment"]}).status_code == 400  # not navigable
    assert s.put(f"{api}/filter/{fid}/columns", json={"columns": ["nope"]}).status_code == 400
    jc.reset_columns(fid)
    assert s.get(f"{api}/filter/{fid}/columns").status_code == 404
    assert s.get(f"{api}/filter/999/columns").status_code == 400
    assert s.delete(f"{api}/filter/999/columns").status_code == 400


def test_priority_scheme_priorities_and_projects(sb, s, jc):
    api = f"{sb.url}/rest/api/3"
    prios = checked(sb, s.get(f"{api}/priorityscheme/1/priorities")).json()
    assert [p["name"] for p in prios["values"]] == ["Highest", "High", "Medium", "Low", "Lowest"]
    assert [p["sequence"] for p in prios["values"]] == ["1", "2", "3", "4", "5"]
    assert jc.get_priorities_by_priority_scheme("1") == prios  # atlassian JiraCloud
    assert [p["key"] for p in jc.get_projects_by_priority_scheme("1", query="GRC")["values"]] == ["GRC"]
    projects = checked(sb, s.get(f"{api}/priorityscheme/1/projects")).json()
    assert {p["key"] for p in projects["values"]} == set(sb.store.projects) and projects["total"] == 3
    one = s.get(f"{api}/priorityscheme/1/projects", params={"projectId": sb.store.projects["SEC"].id}).json()
    assert [p["key"] for p in one["values"]] == ["SEC"]
    assert [p["key"] for p in s.get(f"{api}/priorityscheme/1/projects", params={"query": "sec"}).json()["values"]] \
        == ["SEC"]
    paged = s.get(f"{api}/priorityscheme/1/priorities", params={"maxResults": 2}).json()
    assert len(paged["values"]) == 2 and paged["isLast"] is False
    assert s.get(f"{api}/priorityscheme/99/priorities").status_code == 400
    assert s.get(f"{api}/priorityscheme/99/projects").status_code == 400


def test_licence_counts_and_owner_avatars(sb, s, jc):
    api = f"{sb.url}/rest/api/3"
    active = sum(1 for u in sb.store.users.values() if u.account_type == "atlassian" and u.active)
    total = checked(sb, s.get(f"{api}/license/approximateLicenseCount")).json()
    assert total == {"key": "license.totalApproximateUserCount", "value": str(active)}
    assert jc.get_approximate_license_count() == total  # atlassian JiraCloud
    product = checked(sb, s.get(f"{api}/license/approximateLicenseCount/product/jira-software")).json()
    assert product == {"key": "license.jira-software.approximateUserCount", "value": str(active)}
    assert s.get(f"{api}/license/approximateLicenseCount/product/nope").status_code == 400
    avatars = s.get(f"{api}/universal_avatar/type/project/owner/{sb.store.projects['SEC'].id}").json()
    assert avatars == s.get(f"{api}/project/SEC/avatars").json() and avatars["custom"] == []
    assert jc.get_avatars("project", sb.store.projects["SEC"].id) == avatars
    kinds = s.get(f"{api}/universal_avatar/type/issuetype/owner/10002").json()
    assert kinds["system"] and "/type/issuetype/avatar/" in kinds["system"][0]["urls"]["48x48"]
    assert s.get(f"{api}/universal_avatar/type/project/owner/99999").status_code == 404
    assert s.get(f"{api}/universal_avatar/type/user/owner/1").status_code == 400
    me = s.get(f"{api}/myself").json()["accountId"]
    assert s.delete(f"{api}/group/user", params={"groupname": "jira-admins", "accountId": me}).status_code == 200
    refused = s.get(f"{api}/license/approximateLicenseCount")
    assert refused.status_code == 403
    assert refused.json()["errorMessages"] == ["Only Jira administrators can access license details."]


def test_users_with_permissions_search(sb, s, jc):
    api = f"{sb.url}/rest/api/3/user/permission/search"
    me = s.get(f"{sb.url}/rest/api/3/myself").json()["accountId"]
    found = checked(sb, s.get(api, params={"permissions": "BROWSE_PROJECTS,EDIT_ISSUES", "projectKey": "SEC"})).json()
    assert me in {u["accountId"] for u in found}
    admins = s.get(api, params={"permissions": "ADMINISTER_PROJECTS", "projectKey": "SEC", "maxResults": 1000}).json()
    assert me in {u["accountId"] for u in admins} and len(admins) < len(found)  # project admins: fewer
    assert jc.find_users_with_all_permissions(permissions="BROWSE_PROJECTS", project_key="SEC")  # atlassian
    one = s.get(api, params={"permissions": "BROWSE_PROJECTS", "issueKey": "SEC-1", "accountId": me}).json()
    assert [u["accountId"] for u in one] == [me]
    for bad in ({"projectKey": "SEC"}, {"permissions": "NOPE", "projectKey": "SEC"},
                {"permissions": "BROWSE_PROJECTS"},
                {"permissions": "BROWSE_PROJECTS", "projectKey": "SEC", "query": "a", "accountId": me}):
        assert s.get(api, params=bad).status_code == 400, bad
    assert s.get(api, params={"permissions": "BROWSE_PROJECTS", "projectKey": "NOPE"}).status_code == 404
    assert s.delete(f"{sb.url}/rest/api/3/group/user", params={"groupname": "jira-admins", "accountId": me}).ok
    lead = {p["key"]: p["lead"]["accountId"] for p in s.get(f"{sb.url}/rest/api/3/project/search",
                                                                params={"expand": "lead"}).json()["values"]}
    assert lead["SEC"] != me  # so no longer an administrator of SEC either
    assert s.get(api, params={"permissions": "BROWSE_PROJECTS", "projectKey": "SEC"}).status_code == 403


def test_group_user_picker(sb, s, jc):
    api = f"{sb.url}/rest/api/3"
    both = checked(sb, s.get(f"{api}/groupuserpicker", params={"query": "jira"})).json()
    assert {g["name"] for g in both["groups"]["groups"]} >= {"jira-admins", "jira-software-users"}
    assert both["users"]["users"] == s.get(f"{api}/user/picker", params={"query": "jira"}).json()["users"]
    users = s.get(f"{api}/groupuserpicker", params={"query": "a", "maxResults": 2}).json()
    assert len(users["users"]["users"]) <= 2 and users["users"]["total"] >= len(users["users"]["users"])
    assert jc.find_users_and_groups(query="jira")["groups"]["total"] == both["groups"]["total"]
    assert s.get(f"{api}/groupuserpicker").status_code == 400


def test_software_token_paged_issue_lists(sb, s):
    from atlassian.jira.jira_cloud import JiraSoftware

    js = JiraSoftware(url=sb.url, username=sb.credentials["email"], password=sb.credentials["api_token"])
    board = next(iter(sb.store.boards.values()))
    agile = s.get(f"{sb.url}/rest/agile/1.0/board/{board.id}/issue", params={"maxResults": 100}).json()
    keys, token = [], None
    while True:
        page = js.get_issues_for_board_jsis(board.id, max_results=5, next_page_token=token, fields="summary")
        assert all(set(i["fields"]) == {"summary"} for i in page["issues"])
        keys += [i["key"] for i in page["issues"]]
        if page["isLast"]:
            assert "nextPageToken" not in page
            break
        token = page["nextPageToken"]
    assert keys == [i["key"] for i in agile["issues"]]
    assert js.get_approximate_issue_count_for_board(board.id) == {"count": agile["total"]}
    backlog = s.get(f"{sb.url}/rest/agile/1.0/board/{board.id}/backlog").json()["total"]
    assert js.get_approximate_issue_count_for_backlog(board.id) == {"count": backlog}
    sprint = next(iter(sb.store.sprints))
    assert set(js.get_issues_for_sprint_jsis(sprint)) >= {"issues", "isLast"}
    assert js.get_issues_without_epic_jsis(max_results=1)["nextPageToken"]
    soft = f"{sb.url}/rest/software/1.0"
    assert s.get(f"{soft}/board/{board.id}/issue", params={"nextPageToken": "garbage!"}).status_code == 400
    assert s.get(f"{soft}/board/99999/issue").status_code == 404
    assert s.get(f"{soft}/board/{board.id}/issue", params={"jql": "nonsense ="}).status_code == 400
