"""Round six of vendor-client probes: administration real apps call (project create/edit/delete, version merge
and swap, component delete with a replacement, paged priority/resolution/status/workflow searches, issue type
CRUD, /myself expands and failed-login headers), through
pycontribs `jira` and atlassian-python-api, answers checked against the official schema."""

from __future__ import annotations

import io

import pytest
from jira import JIRAError
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse
from requests import HTTPError

from tests.sandbox.jira.helpers import jira_cloud, openapi, session_for

SCRUM = "com.pyxis.greenhopper.jira:gh-simplified-scrum-classic"


@pytest.fixture
def sb(make_jira_sandbox):
    return make_jira_sandbox(size=40)


def test_create_edit_delete_project(pyc, atl, sb):
    me = pyc.myself()["accountId"]
    made = pyc.create_project("OPS", name="Operations Desk", assignee=me)  # finds the schemes it needs first
    assert made["key"] == "OPS" and made["self"].endswith(f"/project/{made['id']}")
    project = pyc.project("OPS")
    assert (project.name, project.lead.accountId, project.projectTypeKey, project.simplified) == \
        ("Operations Desk", me, "software", False)
    assert pyc.create_issue(project="OPS", summary="first", issuetype={"name": "Task"}).key == "OPS-1"
    assert [i.key for i in pyc.enhanced_search_issues("project = OPS")] == ["OPS-1"]

    other = atl.create_project_from_raw_json({"key": "BIZ", "name": "Business", "projectTypeKey": "business",
                                              "leadAccountId": me, "url": "https://wiki.example.com/biz"})
    assert other["key"] == "BIZ"
    edited = atl.update_project("BIZ", {"name": "Business Ops", "description": "Back office"})
    assert (edited["name"], edited["description"], edited["url"], edited["projectTypeKey"]) == \
        ("Business Ops", "Back office", "https://wiki.example.com/biz", "business")
    assert {p.key for p in pyc.projects()} == {"SEC", "GRC", "ENG", "OPS", "BIZ"}

    for body, field in (({"key": "SEC", "name": "Again"}, "projectKey"), ({"key": "ok", "name": "x"}, "projectKey"),
                        ({"key": "NEWX", "name": "Business Ops"}, "projectName"),
                        ({"key": "NEWX", "name": "x", "leadAccountId": "nobody"}, "projectLead")):
        with pytest.raises(HTTPError) as bad:
            atl.create_project_from_raw_json({"projectTypeKey": "software", "leadAccountId": me, **body})
        assert bad.value.response.status_code == 400 and field in bad.value.response.json()["errors"]
    with pytest.raises(HTTPError) as wrong_template:
        atl.create_project_from_raw_json({"key": "SVC", "name": "Svc", "projectTypeKey": "business",
                                          "projectTemplateKey": SCRUM, "leadAccountId": me})
    assert wrong_template.value.response.status_code == 400

    assert pyc.delete_project("OPS") is True
    with pytest.raises(JIRAError) as gone:
        pyc.project("OPS")
    assert gone.value.status_code == 404
    assert pyc.enhanced_search_issues("project = BIZ") == []
    with pytest.raises(JIRAError) as bad_jql:  # its issues went with it: the project name no longer resolves
        pyc.enhanced_search_issues("project = OPS")
    assert bad_jql.value.status_code == 400


def test_merge_and_swap_versions_and_components(pyc, atl, sb):
    v1, v2, v3 = (pyc.create_version(n, "SEC") for n in ("1.0", "1.1", "2.0"))
    a = pyc.create_issue(project="SEC", summary="a", issuetype={"name": "Task"}, fixVersions=[{"id": v1.id}],
                         versions=[{"id": v1.id}])
    b = pyc.create_issue(project="SEC", summary="b", issuetype={"name": "Task"}, fixVersions=[{"id": v2.id}])
    atl.put(f"rest/api/3/version/{v1.id}/mergeto/{v2.id}")
    assert [v.name for v in pyc.issue(a.key).fields.fixVersions] == ["1.1"]
    assert [v.name for v in pyc.issue(a.key).fields.versions] == ["1.1"]
    assert [v.name for v in pyc.project_versions("SEC")] == ["1.1", "2.0"]
    assert {i.key for i in pyc.enhanced_search_issues('fixVersion = "1.1"')} == {a.key, b.key}
    atl.post(f"rest/api/3/version/{v2.id}/removeAndSwap", data={"moveFixIssuesTo": int(v3.id)})
    assert [v.name for v in pyc.issue(b.key).fields.fixVersions] == ["2.0"]
    assert pyc.issue(a.key).fields.versions == []  # affected issues were not moved anywhere
    history = pyc.issue(b.key, expand="changelog").changelog.histories
    assert any(item.field == "Fix Version" for h in history for item in h.items)
    with pytest.raises(HTTPError) as missing:
        atl.put(f"rest/api/3/version/{v3.id}/mergeto/99999")
    assert missing.value.response.status_code == 404

    c1 = pyc.create_component("Auth", "SEC")
    c2 = pyc.create_component("Edge", "SEC")
    issue = pyc.create_issue(project="SEC", summary="c", issuetype={"name": "Task"}, components=[{"id": c1.id}])
    with session_for(sb) as s:
        assert s.delete(f"{sb.url}/rest/api/3/component/{c1.id}", params={"moveIssuesTo": c2.id}).status_code == 204
    assert [c.name for c in pyc.issue(issue.key).fields.components] == ["Edge"]
    c2.delete()
    assert pyc.issue(issue.key).fields.components == []


def test_paged_catalog_searches(atl, sb):
    priorities = atl.get("rest/api/3/priority/search")
    assert [p["name"] for p in priorities["values"]] == ["Highest", "High", "Medium", "Low", "Lowest"]
    assert [p["name"] for p in atl.get("rest/api/3/priority/search", params={"onlyDefault": "true"})["values"]] \
        == ["Medium"]
    two = atl.get("rest/api/3/priority/search", params={"maxResults": 2, "startAt": 2})
    assert ([p["id"] for p in two["values"]], two["total"], two["isLast"]) == (["3", "4"], 5, False)
    assert "startAt=4" in two["nextPage"]
    assert [r["name"] for r in atl.get("rest/api/3/resolution/search", params={"id": "10001"})["values"]] == \
        ["Won't Do"]
    done = atl.get("rest/api/3/statuses/search", params={"statusCategory": "DONE"})
    assert [(s["name"], s["statusCategory"], s["scope"]) for s in done["values"]] == \
        [("Done", "DONE", {"type": "GLOBAL"})]
    assert [s["name"] for s in atl.get("rest/api/3/statuses/search", params={"searchString": "in "})["values"]] \
        == ["In Progress", "In Review"]
    flows = atl.get("rest/api/3/workflows/search", params={"expand": "values.transitions"})
    [flow] = flows["values"]
    assert {t["toStatusReference"] for t in flow["transitions"]} == {"10000", "3", "10001", "10002"}
    assert {s["statusReference"] for s in flow["statuses"]} == {s["id"] for s in flows["statuses"]}
    assert atl.get("rest/api/3/workflows/search", params={"queryString": "nothing"})["values"] == []

    spec = openapi("jira-platform-v3.json", sb.url)
    with session_for(sb) as s:
        for path in ("/priority/search", "/resolution/search", "/statuses/search", "/workflows/search",
                     "/issuesecurityschemes", "/notificationscheme", "/project/SEC/notificationscheme",
                     "/statuses?id=3,10002"):
            r = s.get(f"{sb.url}/rest/api/3{path}")
            assert r.status_code == 200, (path, r.text)
            spec.validate_response(RequestsOpenAPIRequest(r.request), RequestsOpenAPIResponse(r))
        r = s.post(f"{sb.url}/rest/api/3/project", json={"key": "NEWP", "name": "N", "projectTypeKey": "software",
                                                           "leadAccountId": sb.store.me.account_id})
        assert r.status_code == 201
        spec.validate_response(RequestsOpenAPIRequest(r.request), RequestsOpenAPIResponse(r))


def test_myself_expands_groups_and_failed_logins_say_why(pyc, atl, sb):
    me = atl.get("rest/api/3/myself", params={"expand": "groups,applicationRoles"})
    assert me["groups"]["size"] == 3 == len(me["groups"]["items"])
    assert {g["name"] for g in me["groups"]["items"]} == {"jira-software-users", "jira-admins", "site-admins"}
    assert me["applicationRoles"]["items"] == [{"key": "jira-software", "name": "Jira Software"}]
    plain = atl.myself()
    assert (plain["groups"], plain["applicationRoles"]["size"]) == ({"size": 3, "items": []}, 1)
    other = pyc._get_json("user", params={"accountId": sb.person(), "expand": "groups"})
    assert [g["name"] for g in other["groups"]["items"]] == ["jira-software-users"]

    with session_for(sb) as s:
        s.auth = (sb.credentials["email"], "not-the-token")
        denied = s.get(f"{sb.url}/rest/api/3/myself")
        assert denied.status_code == 401 and denied.headers["X-Seraph-LoginReason"] == "AUTHENTICATED_FAILED"
        assert denied.json() == {"errorMessages": ["Client must be authenticated to access this resource."],
                                 "errors": {}}
        info = s.get(f"{sb.url}/rest/api/3/serverInfo")  # anonymous access still works, with the reason
        assert info.status_code == 200 and info.headers["X-Seraph-LoginReason"] == "AUTHENTICATED_FAILED"
        s.auth = None
        anonymous = s.get(f"{sb.url}/rest/api/3/myself")
        assert anonymous.status_code == 401 and "X-Seraph-LoginReason" not in anonymous.headers
    with pytest.raises(JIRAError) as bad:
        type(pyc)(server=sb.url, basic_auth=(sb.credentials["email"], "wrong"), max_retries=0).myself()
    assert bad.value.status_code == 401


def test_issue_type_crud(pyc, atl, sb):
    jc = jira_cloud(sb)
    made = jc.create_issue_type(data={"name": "Incident", "description": "Ops incident", "hierarchyLevel": 0})
    assert (made["name"], made["subtask"], made["hierarchyLevel"]) == ("Incident", False, 0)
    assert "Incident" in {t.name for t in pyc.issue_types()}
    assert "Incident" in {t["name"] for t in atl.issue_createmeta_issuetypes("SEC")["issueTypes"]}
    issue = pyc.create_issue(project="SEC", summary="outage", issuetype={"name": "Incident"})
    assert [i.key for i in pyc.enhanced_search_issues("issuetype = Incident")] == [issue.key]
    with pytest.raises(HTTPError) as taken:
        jc.create_issue_type(data={"name": "incident"})
    assert taken.value.response.status_code == 409
    assert jc.update_issue_type(made["id"], data={"name": "Major Incident"})["name"] == "Major Incident"
    assert pyc.issue(issue.key).fields.issuetype.name == "Major Incident"
    assert {t["name"] for t in jc.get_alternative_issue_types(made["id"])} == {"Story", "Task", "Bug"}
    with pytest.raises(HTTPError) as in_use:
        jc.delete_issue_type(made["id"])
    assert in_use.value.response.status_code == 400
    jc.delete_issue_type(made["id"], alternative_issue_type_id="10003")
    moved = pyc.issue(issue.key, expand="changelog")
    assert moved.fields.issuetype.name == "Bug"
    assert [(i.field, i.fromString, i.toString) for h in moved.changelog.histories for i in h.items] == \
        [("issuetype", "Major Incident", "Bug")]
    with pytest.raises(JIRAError) as gone:
        pyc.issue_type(made["id"])
    assert gone.value.status_code == 404
    sub = jc.create_issue_type(data={"name": "Checklist item", "type": "subtask"})
    assert (sub["subtask"], sub["hierarchyLevel"]) == (True, -1)


def test_form_posts_need_the_xsrf_token_and_json(sb, pyc):
    url = f"{sb.url}/rest/api/3/issue"
    with session_for(sb) as s:
        form = s.post(url, data={"summary": "x"})
        assert (form.status_code, form.text) == (403, "XSRF check failed")
        token = {"X-Atlassian-Token": "no-check"}
        assert s.post(url, data={"summary": "x"}, headers=token).status_code == 415
        assert s.post(url, data="x", headers={**token, "Content-Type": "text/plain"}).status_code == 415
        upload = s.post(f"{url}/SEC-1/attachments", files={"file": ("a.txt", b"a")}, headers=token)
        assert upload.status_code == 200
        assert s.post(url, json={"fields": {"project": {"key": "SEC"}, "summary": "json",
                                            "issuetype": {"name": "Task"}}}).status_code == 201
    assert pyc.add_attachment("SEC-1", io.BytesIO(b"x"), filename="b.txt").filename == "b.txt"


def test_project_search_orders_filters_and_expands_insight(atl, pyc, sb):
    def keys(**params) -> list[str]:
        return [p["key"] for p in atl.get("rest/api/3/project/search", params=params)["values"]]

    assert keys() == ["ENG", "GRC", "SEC"] == keys(orderBy="+key")  # Jira's default order is by key
    assert keys(orderBy="-key") == ["SEC", "GRC", "ENG"]
    assert keys(orderBy="name") == ["GRC", "ENG", "SEC"]  # Governance.., Platform.., Security..
    counts = {p.key: len(pyc.enhanced_search_issues(f"project = {p.key}", maxResults=False)) for p in pyc.projects()}
    assert keys(orderBy="issueCount") == sorted(counts, key=lambda k: (counts[k], k))
    atl.create_project_from_raw_json({"key": "BIZ", "name": "Back office", "projectTypeKey": "business",
                                      "leadAccountId": sb.store.me.account_id})
    assert keys(typeKey="business") == ["BIZ"] and keys(status="archived") == []
    page = atl.get("rest/api/3/project/search", params={"expand": "insight", "keys": "SEC"})
    assert page["values"][0]["insight"]["totalIssueCount"] == counts["SEC"]
    with pytest.raises(HTTPError) as bad:
        keys(orderBy="colour")
    assert bad.value.response.status_code == 400


def test_scrum_and_kanban_templates_make_a_board(atl, pyc, sb):
    me = sb.store.me.account_id
    atl.create_project_from_raw_json({"key": "SCR", "name": "Scrum team", "projectTypeKey": "software",
                                      "projectTemplateKey": SCRUM, "leadAccountId": me})
    atl.create_project_from_raw_json({"key": "PLAIN", "name": "Plain", "projectTypeKey": "software",
                                      "projectTemplateKey": "com.pyxis.greenhopper.jira:gh-simplified-basic",
                                      "leadAccountId": me})
    [board] = pyc.boards(projectKeyOrID="SCR")
    assert (board.name, board.type) == ("SCR board", "scrum")
    assert pyc.boards(projectKeyOrID="PLAIN") == []
    sprint = pyc.create_sprint("Sprint 1", board.id)
    issue = pyc.create_issue(project="SCR", summary="in a sprint", issuetype={"name": "Story"})
    pyc.add_issues_to_sprint(sprint.id, [issue.key])
    assert [i.key for i in pyc.enhanced_search_issues(f"sprint = {sprint.id}")] == [issue.key]
    pyc.delete_project("SCR")
    assert board.id not in {b.id for b in pyc.boards()}
    with pytest.raises(JIRAError) as gone:
        pyc.sprint(sprint.id)
    assert gone.value.status_code == 404


def test_comment_properties_on_create_and_return_issue_expand(atl, pyc, sb):
    jc = jira_cloud(sb)
    made = atl.post("rest/api/3/issue/SEC-2/comment", data={
        "body": {"type": "doc", "version": 1, "content": []}, "properties": [{"key": "review", "value": {"ok": 1}}]})
    listed = atl.get("rest/api/3/issue/SEC-2/comment", params={"expand": "properties"})["comments"]
    assert [x["properties"] for x in listed if x["id"] == made["id"]] == [[{"key": "review", "value": {"ok": 1}}]]
    assert jc.get_comment_property(made["id"], "review")["value"] == {"ok": 1}
    back = jc.edit_issue("SEC-2", return_issue=True, expand="changelog", data={"fields": {"summary": "renamed"}})
    assert back["fields"]["summary"] == "renamed" and back["changelog"]["histories"][-1]["items"][0]["field"] == \
        "summary"


def test_workflow_schemes(sb, pyc):
    jc = jira_cloud(sb)
    assert [s["id"] for s in jc.get_all_workflow_schemes()["values"]] == [10000]
    [assoc] = jc.get_project_workflow_scheme_associations(["10000", "10002", "99999"])["values"]
    assert assoc["projectIds"] == ["10002"]  # SEC is team-managed, 99999 does not exist
    assert assoc["workflowScheme"]["defaultWorkflow"] == "Software Simplified Workflow"
    made = pyc.create_project("EMPTY", name="Empty", assignee=sb.store.me.account_id)
    assert jc.assign_project_workflow_scheme(made["id"], 10000) is None
    with pytest.raises(HTTPError) as busy:
        jc.assign_project_workflow_scheme("10002", 10000)
    assert busy.value.response.status_code == 400
    spec = openapi("jira-platform-v3.json", sb.url)
    with session_for(sb) as s:
        for path in ("/workflowscheme", "/workflowscheme/10000", "/workflowscheme/project?projectId=10002",
                     "/permissions/project"):
            r = s.post(f"{sb.url}/rest/api/3{path}", json={"permissions": ["BROWSE_PROJECTS"]}) \
                if path.startswith("/permissions") else s.get(f"{sb.url}/rest/api/3{path}")
            assert r.status_code == 200, (path, r.text)
            spec.validate_response(RequestsOpenAPIRequest(r.request), RequestsOpenAPIResponse(r))
