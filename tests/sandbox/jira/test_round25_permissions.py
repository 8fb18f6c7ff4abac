"""Round 25 (Jira): what the ordinary login (Sandbox User, `jira-software-users` only) may not do, over raw HTTP
(Basic auth), as the Cloud spec's "Permissions required" gives it, each next to the admin still doing it; and
two id/key reuse fixes (a purged project's archived issues, board ids)."""

from __future__ import annotations

import pytest
import requests

API = "/rest/api/3"
ADMIN_TEXT = "You are not authorized to perform this action. Administrator privileges are required."


@pytest.fixture
def sb(make_jira_sandbox):
    return make_jira_sandbox(size=30)


def _me(sb, s: requests.Session) -> str:
    return s.get(f"{sb.url}{API}/myself").json()["accountId"]


def _refused(r: requests.Response, status: int = 403) -> None:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["errors"] == {} and len(body["errorMessages"]) == 1


def _groups(sb, s, account: str) -> list[str]:
    return [g["name"] for g in s.get(f"{sb.url}{API}/user/groups", params={"accountId": account}).json()]


def test_user_may_not_add_itself_to_jira_admins(sb, admin, user):
    me = _me(sb, user)
    r = user.post(f"{sb.url}{API}/group/user", params={"groupname": "jira-admins"}, json={"accountId": me})
    _refused(r)
    assert _groups(sb, admin, me) == ["jira-software-users"]
    assert user.get(f"{sb.url}{API}/mypermissions", params={"permissions": "ADMINISTER"}).json()[
        "permissions"]["ADMINISTER"]["havePermission"] is False
    _refused(user.delete(f"{sb.url}{API}/group/user", params={"groupname": "jira-admins",
                                                             "accountId": _me(sb, admin)}))
    _refused(user.post(f"{sb.url}{API}/group", json={"name": "mine"}))
    _refused(user.delete(f"{sb.url}{API}/group", params={"groupname": "site-admins"}))
    assert _me(sb, admin) in [u["accountId"] for u in admin.get(
        f"{sb.url}{API}/group/member", params={"groupname": "site-admins"}).json()["values"]]
    # the admin still manages groups; membership it grants carries the power with it
    r = admin.post(f"{sb.url}{API}/group/user", params={"groupname": "jira-admins"}, json={"accountId": me})
    assert r.status_code == 201, r.text
    assert user.post(f"{sb.url}{API}/project", json={
        "key": "UPR", "name": "Promoted", "projectTypeKey": "software", "leadAccountId": me}).status_code == 201
    assert admin.delete(f"{sb.url}{API}/group/user", params={"groupname": "jira-admins",
                                                             "accountId": me}).status_code == 200
    assert admin.post(f"{sb.url}{API}/group", json={"name": "mine"}).status_code == 201
    assert admin.delete(f"{sb.url}{API}/group", params={"groupname": "mine"}).status_code == 200


def test_user_may_not_create_a_project(sb, admin, user):
    body = {"key": "ZZQ", "name": "Not mine", "projectTypeKey": "software", "leadAccountId": _me(sb, user)}
    r = user.post(f"{sb.url}{API}/project", json=body)
    _refused(r)
    assert r.json()["errorMessages"] == [ADMIN_TEXT]
    assert "ZZQ" not in sb.store.projects
    r = admin.post(f"{sb.url}{API}/project", json=body)
    assert r.status_code == 201 and r.json()["key"] == "ZZQ"


def test_user_may_not_delete_issues(sb, admin, user):
    key = admin.post(f"{sb.url}{API}/issue", json={"fields": {
        "project": {"key": "SEC"}, "summary": "keep me", "issuetype": {"name": "Task"}}}).json()["key"]
    _refused(user.delete(f"{sb.url}{API}/issue/{key}"))
    assert user.get(f"{sb.url}{API}/issue/{key}").status_code == 200  # the user still sees and edits it
    assert user.put(f"{sb.url}{API}/issue/{key}", json={"fields": {"summary": "edited"}}).status_code == 204
    assert admin.delete(f"{sb.url}{API}/issue/{key}").status_code == 204
    assert admin.get(f"{sb.url}{API}/issue/{key}").status_code == 404


def test_user_may_not_change_project_roles(sb, admin, user):
    me, role = _me(sb, user), f"{sb.url}{API}/project/SEC/role/10002"
    _refused(user.post(role, json={"user": [me]}), 401)  # the spec's 401 for POST/PUT without project admin
    _refused(user.put(role, json={"categorisedActors": {"atlassian-user-role-actor": [me]}}), 401)
    _refused(user.delete(role, params={"group": "jira-admins"}), 404)
    _refused(user.get(role), 404)
    _refused(user.get(f"{sb.url}{API}/project/SEC/role"), 404)
    assert user.put(f"{sb.url}{API}/project/SEC", json={"name": "Mine now"}).status_code == 403
    r = admin.post(role, json={"user": [me]})
    assert r.status_code == 200 and me in [a.get("actorUser", {}).get("accountId") for a in r.json()["actors"]]
    # a project administrator (Administrators role) may now administer SEC, and only SEC
    assert user.get(role).status_code == 200
    assert user.put(f"{sb.url}{API}/project/SEC/properties/k", json={"a": 1}).status_code == 201
    _refused(user.put(f"{sb.url}{API}/project/GRC/properties/k", json={"a": 1}))
    assert user.delete(role, params={"user": me}).status_code == 204
    assert admin.delete(role, params={"group": "jira-admins"}).status_code == 204
    assert admin.post(role, json={"group": ["jira-admins"]}).status_code == 200  # Administer Jira suffices


def test_user_may_not_grant_permissions_or_manage_schemes(sb, admin, user):
    grants = f"{sb.url}{API}/permissionscheme/10000/permission"
    grant = {"holder": {"type": "group", "parameter": "jira-software-users"}, "permission": "ADMINISTER_PROJECTS"}
    _refused(user.post(grants, json=grant))
    _refused(user.post(f"{sb.url}{API}/permissionscheme", json={"name": "mine"}))
    _refused(user.put(f"{sb.url}{API}/project/SEC/permissionscheme", json={"id": 10000}))
    _refused(user.get(f"{sb.url}{API}/project/SEC/permissionscheme"))
    _refused(user.post(f"{sb.url}{API}/projectCategory", json={"name": "mine"}))
    _refused(user.post(f"{sb.url}{API}/issueLinkType", json={"name": "x", "inward": "a", "outward": "b"}), 404)
    r = admin.post(grants, json=grant)
    assert r.status_code == 201, r.text
    assert admin.delete(f"{grants}/{r.json()['id']}").status_code == 204
    assert admin.get(f"{sb.url}{API}/project/SEC/permissionscheme").status_code == 200
    assert admin.post(f"{sb.url}{API}/projectCategory", json={"name": "mine"}).status_code == 201


def test_user_may_not_create_or_delete_users(sb, admin, user):
    new = {"emailAddress": "new.person@example.com", "products": ["jira-software"]}
    _refused(user.post(f"{sb.url}{API}/user", json=new))
    made = admin.post(f"{sb.url}{API}/user", json=new)
    assert made.status_code == 201
    account = made.json()["accountId"]
    _refused(user.delete(f"{sb.url}{API}/user", params={"accountId": account}))
    assert admin.delete(f"{sb.url}{API}/user", params={"accountId": account}).status_code == 204


def test_user_may_not_administer_fields_or_issue_types(sb, admin, user):
    field = {"name": "Mine", "type": "com.atlassian.jira.plugin.system.customfieldtypes:textfield"}
    _refused(user.post(f"{sb.url}{API}/field", json=field))
    made = admin.post(f"{sb.url}{API}/field", json=field)
    assert made.status_code == 201, made.text
    fid = made.json()["id"]
    _refused(user.put(f"{sb.url}{API}/field/{fid}", json={"name": "Renamed"}))
    _refused(user.get(f"{sb.url}{API}/field/{fid}/context"))
    _refused(user.post(f"{sb.url}{API}/field/{fid}/context", json={"name": "ctx"}))
    _refused(user.delete(f"{sb.url}{API}/field/{fid}"))
    assert admin.get(f"{sb.url}{API}/field/{fid}/context").status_code == 200
    assert admin.put(f"{sb.url}{API}/field/{fid}", json={"name": "Renamed"}).status_code == 204
    _refused(user.post(f"{sb.url}{API}/issuetype", json={"name": "Mine"}))
    assert admin.post(f"{sb.url}{API}/issuetype", json={"name": "Mine"}).status_code == 201
    _refused(user.put(f"{sb.url}{API}/issuetype/10001/properties/k", json={"a": 1}))
    assert admin.put(f"{sb.url}{API}/issuetype/10001/properties/k", json={"a": 1}).status_code == 201


def test_user_may_not_manage_admin_webhooks(sb, admin, user):
    hooks = f"{sb.url}/rest/webhooks/1.0/webhook"
    hook = {"name": "mine", "url": "https://example.com/hook", "events": ["jira:issue_created"]}
    _refused(user.post(hooks, json=hook))
    _refused(user.get(hooks))
    made = admin.post(hooks, json=hook)
    assert made.status_code == 201, made.text
    one = made.json()["self"]
    _refused(user.delete(one))
    assert admin.delete(one).status_code == 204


def test_user_may_not_manage_versions_or_components(sb, admin, user):
    _refused(user.post(f"{sb.url}{API}/version", json={"project": "SEC", "name": "v9"}), 404)
    _refused(user.post(f"{sb.url}{API}/component", json={"project": "SEC", "name": "c9"}))
    version = admin.post(f"{sb.url}{API}/version", json={"project": "SEC", "name": "v9"})
    component = admin.post(f"{sb.url}{API}/component", json={"project": "SEC", "name": "c9"})
    assert (version.status_code, component.status_code) == (201, 201)
    vid, cid = version.json()["id"], component.json()["id"]
    _refused(user.put(f"{sb.url}{API}/version/{vid}", json={"name": "v10"}), 401)
    _refused(user.delete(f"{sb.url}{API}/version/{vid}"), 401)
    _refused(user.delete(f"{sb.url}{API}/component/{cid}"))
    assert user.get(f"{sb.url}{API}/version/{vid}").json()["name"] == "v9"  # reading stays open
    assert admin.delete(f"{sb.url}{API}/version/{vid}").status_code == 204
    assert admin.delete(f"{sb.url}{API}/component/{cid}").status_code == 204


def test_user_properties_are_ones_own(sb, admin, user):
    me, other = _me(sb, user), _me(sb, admin)
    assert user.put(f"{sb.url}{API}/user/properties/k", params={"accountId": me}, json=1).status_code == 201
    _refused(user.put(f"{sb.url}{API}/user/properties/k", params={"accountId": other}, json=1))
    assert admin.put(f"{sb.url}{API}/user/properties/k", params={"accountId": me}, json=2).status_code == 200
    _refused(user.put(f"{sb.url}{API}/application-properties/jira.home", json={"id": "jira.home", "value": "x"}))


def test_purged_project_takes_its_archived_issues(sb, admin):
    body = {"key": "PUR", "name": "Purged", "projectTypeKey": "software", "leadAccountId": _me(sb, admin)}
    assert admin.post(f"{sb.url}{API}/project", json=body).status_code == 201
    issue = {"fields": {"project": {"key": "PUR"}, "summary": "old", "issuetype": {"name": "Task"}}}
    old = admin.post(f"{sb.url}{API}/issue", json=issue).json()["key"]
    assert old == "PUR-1"
    assert admin.put(f"{sb.url}{API}/issue/archive", json={"issueIdsOrKeys": [old]}).status_code == 200
    assert admin.delete(f"{sb.url}{API}/project/PUR", params={"enableUndo": "false"}).status_code == 204
    assert admin.post(f"{sb.url}{API}/project", json=body).status_code == 201
    issue["fields"]["summary"] = "new"
    assert admin.post(f"{sb.url}{API}/issue", json=issue).json()["key"] == "PUR-1"
    r = admin.put(f"{sb.url}{API}/issue/unarchive", json={"issueIdsOrKeys": ["PUR-1"]})
    assert r.status_code == 400  # nothing archived under that key any more
    live = [i for i in sb.store.issues.values() if i.key == "PUR-1"]
    assert len(live) == 1 and admin.get(f"{sb.url}{API}/issue/PUR-1").json()["fields"]["summary"] == "new"


def test_board_ids_are_never_reused(sb, admin):
    seeded = sorted(sb.store.boards)
    assert seeded == list(range(1, len(seeded) + 1))  # seeded ids stay as they were
    fid = admin.post(f"{sb.url}{API}/filter", json={"name": "boards", "jql": "project = SEC"}).json()["id"]
    board = {"name": "B1", "type": "scrum", "filterId": int(fid), "location": {"type": "project",
                                                                                "projectKeyOrId": "SEC"}}
    agile = f"{sb.url}/rest/agile/1.0/board"
    first = admin.post(agile, json=board).json()["id"]
    assert first == seeded[-1] + 1
    r = admin.put(f"{agile}/{first}/features", json={"boardId": first, "feature": "SPRINTS", "state": "DISABLED"})
    assert r.status_code == 200, r.text
    assert first in sb.store.work["board_features"]
    assert admin.delete(f"{agile}/{first}").status_code == 204
    assert first not in sb.store.work["board_features"]  # the deleted board's features go with it
    second = admin.post(agile, json={**board, "type": "kanban"}).json()["id"]
    assert second == first + 1
    made = admin.post(f"{sb.url}{API}/project", json={
        "key": "BRD", "name": "Boards", "projectTypeKey": "software", "leadAccountId": _me(sb, admin),
        "projectTemplateKey": "com.pyxis.greenhopper.jira:gh-simplified-scrum-classic"})
    assert made.status_code == 201, made.text
    assert [b.id for b in sb.store.boards.values() if b.project == "BRD"] == [second + 1]
    assert sb.store.work.get("board_features", {}).get(second) is None


def _order(sb, s, project: str) -> list[str]:
    return [v["name"] for v in s.get(f"{sb.url}{API}/project/{project}/versions").json()]


def test_version_move_needs_browse_projects(sb, admin, user):
    """The spec's permission for POST /version/{id}/move is Browse projects (not Administer Projects): the
    ordinary login (the Member role browses) moves; taken out of every role it may not."""
    ids = [admin.post(f"{sb.url}{API}/version", json={"project": "GRC", "name": n}).json()["id"] for n in "ab"]
    assert user.post(f"{sb.url}{API}/version/{ids[1]}/move", json={"position": "First"}).status_code == 200
    assert _order(sb, admin, "GRC") == ["b", "a"]
    role = f"{sb.url}{API}/project/GRC/role/10003"
    assert admin.delete(role, params={"group": "jira-software-users"}).status_code == 204
    _refused(user.post(f"{sb.url}{API}/version/{ids[1]}/move", json={"position": "Last"}), 404)
    assert _order(sb, admin, "GRC") == ["b", "a"]
    assert admin.post(f"{sb.url}{API}/version/{ids[1]}/move", json={"position": "Last"}).status_code == 200
    assert _order(sb, admin, "GRC") == ["a", "b"]


def test_other_users_columns_need_administer_jira(sb, admin, user):
    url, them, me = f"{sb.url}{API}/user/columns", _me(sb, admin), _me(sb, user)
    before = admin.get(url).json()
    _refused(user.put(url, params={"accountId": them}, json=["summary"]))
    _refused(user.get(url, params={"accountId": them}))
    assert admin.get(url).json() == before
    assert user.put(url, json=["summary"]).status_code == 200  # one's own
    assert user.put(url, params={"accountId": me}, json=["summary", "status"]).status_code == 200
    assert [c["value"] for c in user.get(url).json()] == ["summary", "status"]
    assert admin.put(url, params={"accountId": me}, json=["priority"]).status_code == 200  # the admin: anyone's
    assert [c["value"] for c in admin.get(url, params={"accountId": me}).json()] == ["priority"]


def test_mergeto_needs_the_target_versions_project_too(sb, admin, user):
    """A project admin of the source only (the user made an Administrators actor of SEC) is refused a merge into
    another project's version for lack of Administer Projects there (401), not told about the other project."""
    me = _me(sb, user)
    assert admin.post(f"{sb.url}{API}/project/SEC/role/10002", json={"user": [me]}).status_code == 200
    src = admin.post(f"{sb.url}{API}/version", json={"project": "SEC", "name": "src"}).json()["id"]
    same = admin.post(f"{sb.url}{API}/version", json={"project": "SEC", "name": "same"}).json()["id"]
    other = admin.post(f"{sb.url}{API}/version", json={"project": "ENG", "name": "other"}).json()["id"]
    _refused(user.put(f"{sb.url}{API}/version/{src}/mergeto/{other}"), 401)
    assert admin.put(f"{sb.url}{API}/version/{src}/mergeto/{other}").status_code == 400  # another project
    assert int(src) in sb.store.work["versions"] and int(other) in sb.store.work["versions"]
    assert user.put(f"{sb.url}{API}/version/{src}/mergeto/{same}").status_code == 204  # both its own project's
    assert int(src) not in sb.store.work["versions"]
