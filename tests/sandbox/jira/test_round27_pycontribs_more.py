"""Round 27: pycontribs `jira`'s remaining resource areas (filters, priorities, versions, issue properties, links,
worklogs, search) re-derived from its client and run unchanged against the sandbox. Found and fixed: a filter's
share permissions (kept on POST/PUT, the `/filter/{id}/permission` operations), `description`/`statusColor` on
`/priority`, version `expand=operations`, bulk issue properties (303 to a task) and `/project/{key}/version`'s
`status`/`query`/`orderBy`."""

from __future__ import annotations

import io

import pytest
from jira.exceptions import JIRAError

from tests.sandbox.jira.helpers import checked


@pytest.fixture
def sb(make_jira_sandbox):
    return make_jira_sandbox(size=30)


def test_filter_share_permissions_round_trip(sb, pyc, s):
    api = f"{sb.url}/rest/api/2"
    sec = pyc.project("SEC").id
    made = s.post(f"{api}/filter", json={"name": "shared", "jql": "project = SEC", "sharePermissions": [
        {"type": "project", "project": {"id": sec}}, {"type": "group", "group": {"name": "jira-software-users"}}]})
    assert made.status_code == 200
    f = pyc.filter(made.json()["id"])
    assert [p.type for p in f.sharePermissions] == ["project", "group"]
    assert f.sharePermissions[0].project.key == "SEC" and f.sharePermissions[1].group.name == "jira-software-users"
    added = s.post(f"{api}/filter/{f.id}/permission", json={"type": "projectRole", "projectId": sec,
                                                             "projectRoleId": "10002"})
    assert added.status_code == 201
    role_share = added.json()[-1]
    assert role_share["type"] == "project" and role_share["role"]["name"] == "Administrators"
    assert s.get(f"{api}/filter/{f.id}/permission/{role_share['id']}").json() == role_share
    assert s.delete(f"{api}/filter/{f.id}/permission/{role_share['id']}").status_code == 204
    assert s.get(f"{api}/filter/{f.id}/permission/{role_share['id']}").status_code == 404
    # pycontribs update_filter sends no sharePermissions: the shares stay
    assert [p.type for p in pyc.update_filter(f.id, name="shared 2").sharePermissions] == ["project", "group"]


def test_share_answers_fit_the_spec(sb, pyc, s):
    api = f"{sb.url}/rest/api/3"
    f = pyc.create_filter(name="spec shares", jql="project = SEC")
    me = pyc.myself()["accountId"]
    for body in ({"type": "user", "accountId": me}, {"type": "group", "groupname": "jira-admins"},
                 {"type": "projectRole", "projectId": pyc.project("GRC").id, "projectRoleId": "10002"}):
        assert checked(sb, s.post(f"{api}/filter/{f.id}/permission", json=body)).status_code == 201
    shares = checked(sb, s.get(f"{api}/filter/{f.id}/permission")).json()
    assert [x["type"] for x in shares] == ["user", "group", "project"]
    assert "emailAddress" not in shares[0]["user"] and shares[0]["user"]["accountId"] == me
    checked(sb, s.get(f"{api}/filter/{f.id}"))
    checked(sb, s.get(f"{api}/priority/1"))
    version = pyc.create_version("spec", "SEC")
    checked(sb, s.get(f"{api}/version/{version.id}", params={"expand": "operations,approvers"}))


def test_global_share_replaces_others_and_blocks_more(sb, pyc, s, user):
    api = f"{sb.url}/rest/api/2"
    f = pyc.create_filter(name="everyone", jql="project = SEC", favourite=False)
    assert f.sharePermissions == [] and s.get(f"{api}/filter/{f.id}/permission").json() == []
    s.post(f"{api}/filter/{f.id}/permission", json={"type": "group", "groupname": "jira-admins"})
    shown = s.post(f"{api}/filter/{f.id}/permission", json={"type": "authenticated"})
    assert shown.status_code == 201 and [p["type"] for p in shown.json()] == ["loggedin"]
    refused = s.post(f"{api}/filter/{f.id}/permission", json={"type": "group", "groupname": "jira-admins"})
    assert refused.status_code == 400 and refused.json()["errorMessages"]
    bad = s.post(f"{api}/filter/{f.id}/permission", json={"type": "project", "projectId": "424242"})
    assert bad.status_code == 400 and set(bad.json()) == {"errorMessages", "errors"}
    assert s.post(f"{api}/filter/987654/permission", json={"type": "global"}).status_code == 404
    assert user.post(f"{api}/filter/{f.id}/permission", json={"type": "global"}).status_code == 400  # not owner


def test_priorities_carry_description_and_status_color(sb, pyc):
    listed = pyc.priorities()
    assert listed and all(p.statusColor.startswith("#") and p.description for p in listed)
    one = pyc.priority(listed[0].id)
    assert (one.name, one.statusColor) == (listed[0].name, listed[0].statusColor)
    assert set(pyc.issue("SEC-1").raw["fields"]["priority"]) == {"self", "iconUrl", "name", "id"}  # the ref stays


def test_version_expand_operations(sb, pyc):
    v = pyc.create_version("ops", "SEC")
    assert not hasattr(pyc.version(v.id), "operations")
    ops = pyc.version(v.id, expand="operations").operations
    assert "release" in [o.id for o in ops] and all(o.label and o.href for o in ops)
    v.update(released=True)
    assert "unrelease" in [o.id for o in pyc.version(v.id, expand="operations").operations]


def test_project_version_page_filters_and_orders(sb, pyc, atl):
    pyc.create_version("vp zeta", "ENG", releaseDate="2020-01-05", description="alpha text")
    pyc.create_version("vp alpha", "ENG", releaseDate="2019-01-05", released=True)
    pyc.create_version("vp mid", "ENG", archived=True)
    pyc.create_version("vp none", "ENG")

    def names(**kw):
        return [v["name"] for v in atl.get_project_versions_paginated("ENG", **kw)["values"]
                if v["name"].startswith("vp")]

    assert names() == ["vp zeta", "vp alpha", "vp mid", "vp none"]
    assert names(status="unreleased") == ["vp zeta", "vp none"]
    assert names(status="archived") == ["vp mid"]
    assert names(order_by="-name") == ["vp zeta", "vp none", "vp mid", "vp alpha"]
    assert names(order_by="releaseDate") == ["vp alpha", "vp zeta", "vp mid", "vp none"]  # undated last
    assert names(query="ALPHA") == ["vp zeta", "vp alpha"]  # name or description


def test_bulk_issue_properties_then_read_by_pycontribs(sb, pyc, s):
    api = f"{sb.url}/rest/api/2/issue/properties"
    ids = [int(pyc.issue(k).id) for k in ("SEC-1", "SEC-2", "SEC-3")]
    put = s.put(f"{api}/team", json={"value": {"n": 5}, "filter": {"entityIds": ids[:2]}}, allow_redirects=False)
    assert put.status_code == 303 and s.get(put.headers["Location"]).json()["status"] == "COMPLETE"
    assert pyc.issue_property("SEC-1", "team").value.n == 5 and pyc.issue_property("SEC-2", "team").value.n == 5
    with pytest.raises(JIRAError) as missing:
        pyc.issue_property("SEC-3", "team")
    assert missing.value.status_code == 404
    s.put(f"{api}/team", json={"value": 7, "filter": {"entityIds": ids, "hasProperty": True}})
    assert [pyc.issue_property(k, "team").value for k in ("SEC-1", "SEC-2")] == [7, 7]
    assert "team" not in [p.key for p in pyc.issue_properties("SEC-3")]
    assert s.put(f"{api}/team", json={"value": 1, "filter": {"currentValue": 7, "hasProperty": False}}
                 ).status_code == 400
    s.delete(f"{api}/team", json={"entityIds": [ids[0]], "currentValue": 7})
    assert [p.key for p in pyc.issue_properties("SEC-1")] == [] and pyc.issue_property("SEC-2", "team").value == 7
    multi = s.post(f"{api}/multi", json={"issues": [{"issueID": ids[2], "properties": {"a": 1, "b": [2]}}]},
                   allow_redirects=False)
    assert multi.status_code == 303 and pyc.issue_property("SEC-3", "b").value == [2]


def test_worklog_estimates_and_links_as_pycontribs_sends_them(sb, pyc):
    issue = pyc.create_issue(project="SEC", summary="est", issuetype={"name": "Bug"},
                             timetracking={"originalEstimate": "2d"})
    pyc.add_worklog(issue.key, "1h", adjustEstimate="manual", reduceBy="1d")
    assert pyc.issue(issue.key).fields.timetracking.remainingEstimate == "1d"
    w = pyc.add_worklog(issue.key, "2h", adjustEstimate="new", newEstimate="3h")
    w.delete(adjustEstimate="manual", increaseBy="1h")
    assert pyc.issue(issue.key).fields.timetracking.remainingEstimate == "4h"
    pyc.add_attachment(issue.key, io.BytesIO(b"x" * 7), "seven.txt")
    assert [(a.filename, a.size) for a in pyc.issue(issue.key).fields.attachment] == [("seven.txt", 7)]
    pyc.create_issue_link("Blocks", issue.key, "SEC-2", comment={"body": "blocking"})
    link = next(x for x in pyc.issue(issue.key).fields.issuelinks if hasattr(x, "outwardIssue"))
    assert link.outwardIssue.key == "SEC-2" and pyc.issue_link(link.id).inwardIssue.key == issue.key


def test_an_unshared_filter_is_the_owners_alone(sb, pyc, s, user):
    api = f"{sb.url}/rest/api/2"
    f = pyc.create_filter(name="private one", jql="project = SEC", favourite=True)
    assert user.get(f"{api}/filter/{f.id}").status_code == 400
    assert user.get(f"{api}/filter/{f.id}/permission").status_code == 404
    assert user.put(f"{api}/filter/{f.id}/favourite").status_code == 400
    assert "private one" not in [x["name"] for x in user.get(f"{api}/filter/search").json()["values"]]
    s.post(f"{api}/filter/{f.id}/permission", json={"type": "group", "groupname": "jira-software-users"})
    seen = user.get(f"{api}/filter/{f.id}")
    assert seen.status_code == 200 and seen.json()["sharePermissions"][0]["group"]["name"] == "jira-software-users"
    assert user.put(f"{api}/filter/{f.id}/favourite").json()["favourite"] is True
    assert "private one" in [x["name"] for x in user.get(f"{api}/filter/favourite").json()]
