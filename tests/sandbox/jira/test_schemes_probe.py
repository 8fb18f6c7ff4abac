"""Permission schemes, project categories, issue link type administration and `expand=operations,editmeta`
through pycontribs `jira` and atlassian-python-api, error bodies included; v3 answers validated against
the official OpenAPI spec."""

from __future__ import annotations

import pytest
from jira import JIRAError
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse
from requests import HTTPError

from tests.sandbox.jira.helpers import openapi, session_for


@pytest.fixture
def sb(make_jira_sandbox):
    return make_jira_sandbox(size=30)


def test_permission_schemes(pyc, atl, sb):
    (default,) = pyc.permissionschemes()
    assert default["name"] == "Default Permission Scheme" and "permissions" not in default
    scheme = pyc.project_permissionscheme("SEC")
    assert scheme.id == default["id"]
    full = atl.get_permissionscheme(default["id"], expand="permissions,projectRole")
    grants = {(g["permission"], g["holder"]["type"], g["holder"]["parameter"]) for g in full["permissions"]}
    assert {("BROWSE_PROJECTS", "projectRole", "10004"), ("ADMINISTER_PROJECTS", "projectRole", "10002")} <= grants
    assert ("ADMINISTER_PROJECTS", "projectRole", "10004") not in grants  # not for Viewers
    made = atl.create_permission_scheme("Restricted", "Auditors only", [
        {"permission": "BROWSE_PROJECTS", "holder": {"type": "group", "parameter": "site-admins"}}])
    assert made["name"] == "Restricted" and made["permissions"][0]["holder"]["parameter"] == "site-admins"
    atl.assign_project_permission_scheme("SEC", made["id"])
    assert atl.get_project_permission_scheme("SEC")["id"] == made["id"]
    assert pyc.project_permissionscheme("GRC").id == default["id"]
    with session_for(sb) as s:
        grant = s.post(f"{sb.url}/rest/api/3/permissionscheme/{made['id']}/permission",
                       json={"permission": "EDIT_ISSUES", "holder": {"type": "projectRole", "parameter": "10003"}})
        assert grant.status_code == 201
        listed = s.get(f"{sb.url}/rest/api/3/permissionscheme/{made['id']}/permission").json()["permissions"]
        assert [g["permission"] for g in listed] == ["BROWSE_PROJECTS", "EDIT_ISSUES"]
        bad = s.post(f"{sb.url}/rest/api/3/permissionscheme/{made['id']}/permission",
                     json={"permission": "FLY", "holder": {"type": "anyone"}})
        assert bad.status_code == 400 and "FLY" in bad.json()["errorMessages"][0]
        dup = s.post(f"{sb.url}/rest/api/3/permissionscheme", json={"name": "restricted"})
        assert dup.status_code == 400 and dup.json()["errorMessages"]
        assert s.post(f"{sb.url}/rest/api/3/permissionscheme", json={}).json()["errors"]["name"]
        assert s.delete(f"{sb.url}/rest/api/3/permissionscheme/{made['id']}").status_code == 204
    assert pyc.project_permissionscheme("SEC").id == default["id"]  # back to the default
    with pytest.raises(HTTPError):
        atl.get_permissionscheme(made["id"])
    with pytest.raises(JIRAError) as err:
        pyc.project_permissionscheme("NOPE")
    assert err.value.status_code == 404 and err.value.response.json()["errorMessages"]


def test_project_categories(pyc, atl, sb):
    assert [c["name"] for c in pyc.projectcategories()] == ["Security & Compliance", "Operations"]
    made = atl.post("rest/api/3/projectCategory", data={"name": "Audit", "description": "Evidence projects"})
    assert made["name"] == "Audit" and made["self"].endswith(f"/projectCategory/{made['id']}")
    assert atl.get(f"rest/api/3/projectCategory/{made['id']}")["description"] == "Evidence projects"
    updated = atl.put(f"rest/api/3/projectCategory/{made['id']}", data={"description": "SOX"})
    assert (updated["name"], updated["description"]) == ("Audit", "SOX")
    with session_for(sb) as s:
        taken = s.post(f"{sb.url}/rest/api/2/projectCategory", json={"name": "audit"})
        assert taken.status_code == 409 and "name" in taken.json()["errors"]
        nameless = s.post(f"{sb.url}/rest/api/2/projectCategory", json={"description": "x"})
        assert nameless.status_code == 400 and nameless.json()["errors"]["name"]
        assert s.put(f"{sb.url}/rest/api/3/projectCategory/{made['id']}", json={"name": "x" * 256}).status_code == 400
    atl.delete(f"rest/api/3/projectCategory/{made['id']}")
    with pytest.raises(HTTPError) as err:
        atl.get(f"rest/api/3/projectCategory/{made['id']}")
    assert err.value.response.status_code == 404 and err.value.response.json()["errorMessages"]


def test_issue_link_type_administration(pyc, atl, sb):
    made = atl.create_issue_link_type("Mitigates", "is mitigated by", "mitigates")
    assert (made["name"], made["inward"], made["outward"]) == ("Mitigates", "is mitigated by", "mitigates")
    assert "Mitigates" in [t.name for t in pyc.issue_link_types(force=True)]
    a, b = pyc.search_issues("project = SEC", maxResults=2)
    pyc.create_issue_link("Mitigates", a.key, b.key)
    assert [lk.type.name for lk in pyc.issue(a.key).fields.issuelinks if lk.type.id == made["id"]] == ["Mitigates"]
    renamed = atl.update_issue_link_type(made["id"], {"outward": "reduces"})
    assert (renamed["name"], renamed["outward"]) == ("Mitigates", "reduces")
    kind = pyc.issue_link_type(made["id"])
    kind.update(name="Reduces")
    assert pyc.issue_link_type(made["id"]).name == "Reduces"
    assert atl.create_issue_link_type("reduces", "x", "y") == "Link type name already exists"  # client-side check
    with session_for(sb) as s:
        dup = s.post(f"{sb.url}/rest/api/2/issueLinkType", json={"name": "Blocks", "inward": "a", "outward": "b"})
        assert dup.status_code == 404 and dup.json()["errorMessages"]
        partial = s.post(f"{sb.url}/rest/api/3/issueLinkType", json={"name": "Half"})
        assert partial.status_code == 400 and set(partial.json()["errors"]) == {"inward", "outward"}
        assert s.get(f"{sb.url}/rest/api/3/issueLinkType/abc").status_code == 400
    kind.delete()
    assert not [lk for lk in pyc.issue(a.key).fields.issuelinks if lk.type.id == made["id"]]
    with pytest.raises(JIRAError) as err:
        pyc.issue_link_type(made["id"])
    assert err.value.status_code == 404


def test_issue_expand_operations_and_editmeta(pyc, sb):
    issue = pyc.search_issues("project = SEC", maxResults=1)[0]
    raw = pyc.issue(issue.key, expand="operations,editmeta").raw
    assert raw["editmeta"]["fields"]["summary"]["required"] is True
    groups = {g["id"]: g for g in raw["operations"]["linkGroups"][0]["groups"]}
    assert groups["edit-issue_container"]["links"][0]["id"] == "edit-issue"
    names = {t["name"] for t in pyc.transitions(issue)}
    assert {x["label"] for x in groups["transitions-all"]["links"]} == names
    assert "operations" not in pyc.issue(issue.key).raw


def test_v3_answers_match_the_official_schema(sb):
    spec = openapi("jira-platform-v3.json", sb.url)
    key = sb.store.resolve(next(iter(sb.store.issues))).key
    with session_for(sb) as s:
        for path, params in (("/rest/api/3/permissionscheme", {"expand": "all"}),
                             ("/rest/api/3/permissionscheme/10000", {"expand": "permissions,group,projectRole"}),
                             ("/rest/api/3/project/SEC/permissionscheme", None),
                             ("/rest/api/3/projectCategory", None), ("/rest/api/3/projectCategory/10000", None),
                             (f"/rest/api/3/issue/{key}", {"expand": "operations,editmeta"})):
            r = s.get(sb.url + path, params=params)
            assert r.status_code == 200, (path, r.text)
            spec.validate_response(RequestsOpenAPIRequest(r.request), RequestsOpenAPIResponse(r))
        for path, body in (("/rest/api/3/issueLinkType", {"name": "Causes", "inward": "is caused by",
                                                          "outward": "causes"}),
                           ("/rest/api/3/projectCategory", {"name": "Vendors"}),
                           ("/rest/api/3/permissionscheme", {"name": "Open", "permissions": [
                               {"permission": "BROWSE_PROJECTS", "holder": {"type": "applicationRole"}}]})):
            r = s.post(sb.url + path, json=body)
            assert r.status_code == 201, (path, r.text)
            spec.validate_response(RequestsOpenAPIRequest(r.request), RequestsOpenAPIResponse(r))
