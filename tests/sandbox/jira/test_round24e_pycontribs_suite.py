"""Round 24e: gaps pycontribs `jira`'s own test suite (tests/resources, run in cloud mode against the sandbox)
found — `expand=projectKeys` on projects, dashboards (an `authenticated` share reads back `loggedin`, ids never
reused, a deleted dashboard's gadgets go with it) and Attachment / Linked Issues in editmeta."""

from __future__ import annotations

import pytest
from jira.resources import Dashboard


@pytest.fixture
def sb(make_jira_sandbox):
    return make_jira_sandbox(size=30)


def test_project_and_project_lists_expand_project_keys(sb, pyc, s):
    assert not hasattr(pyc.project("SEC"), "projectKeys")
    assert pyc.project("SEC", expand="projectKeys").projectKeys == ["SEC"]
    assert all(not hasattr(p, "projectKeys") for p in pyc.projects())
    assert {p.key: p.projectKeys for p in pyc.projects(expand="projectKeys")} == {
        k: [k] for k in ("SEC", "GRC", "ENG")}
    found = s.get(f"{sb.url}/rest/api/3/project/search", params={"expand": "projectKeys,insight"}).json()
    assert all(p["projectKeys"] == [p["key"]] and "insight" in p for p in found["values"])


def test_dashboard_share_authenticated_reads_back_loggedin(sb, pyc):
    made = pyc.create_dashboard(name="ops", description="d", share_permissions=[{"type": "authenticated"}])
    assert isinstance(made, Dashboard)
    assert [p.type for p in made.sharePermissions] == ["loggedin"]
    assert [p.type for p in pyc.dashboard(made.id).sharePermissions] == ["loggedin"]
    made.update(name="ops2")  # an edit keeping the shares keeps them as read
    assert made.name == "ops2" and [p.type for p in made.sharePermissions] == ["loggedin"]


def test_deleted_dashboard_takes_its_gadgets_and_its_id_is_not_reused(sb, pyc):
    uri = next(g.uri for g in pyc.all_dashboard_gadgets() if g.title == "Filter Results")
    first = pyc.create_dashboard(name="a", share_permissions=[{"type": "authenticated"}])
    gadget = pyc.add_gadget_to_dashboard(first.id, color="blue", ignore_uri_and_module_key_validation=True, uri=uri)
    pyc.set_dashboard_item_property(first.id, gadget.id, "config", value={"num": 5})
    assert first.delete().status_code == 204
    second = pyc.create_dashboard(name="b", share_permissions=[{"type": "authenticated"}])
    assert int(second.id) > int(first.id)
    assert pyc.dashboard(second.id).gadgets == [] and pyc.dashboard_gadgets(second.id) == []
    added = pyc.add_gadget_to_dashboard(second.id, color="green", ignore_uri_and_module_key_validation=True, uri=uri)
    shown = pyc.dashboard(second.id).gadgets
    assert shown == [added] and shown[0].item_properties == []


def test_editmeta_holds_attachment_and_linked_issues(sb, pyc):
    expected = {"assignee", "attachment", "comment", "components", "description", "fixVersions", "issuelinks",
                "labels", "summary"}
    fields = pyc.editmeta("SEC-1")["fields"]
    assert expected <= set(fields)
    assert fields["issuelinks"]["schema"] == {"type": "array", "items": "issuelinks", "system": "issuelinks"}
    assert fields["attachment"]["name"] == "Attachment" and fields["issuelinks"]["name"] == "Linked Issues"
    assert set(pyc.issue("SEC-1", expand="editmeta").raw["editmeta"]["fields"]) == set(fields)
