"""Round 25: what pycontribs `jira`'s tests/resources/test_issue.py, the remaining resource tests and
tests/test_client.py (run in cloud mode against the sandbox) found — `delete_project(key, enable_undo=False)`
deletes a project for good, so its key can name a new project (the `slug` fixture in test_client.py re-creates
the key it deleted), while the default (`enableUndo=true`, the recycle bin) keeps the key taken."""

from __future__ import annotations

import pytest
from jira.exceptions import JIRAError


@pytest.fixture
def sb(make_jira_sandbox):
    return make_jira_sandbox(size=30)


def _made(pyc, key, name):
    pyc.create_project(key, name)
    return pyc.project(key)


def test_permanent_delete_frees_the_key_for_a_fresh_project(sb, pyc):
    old = _made(pyc, "ZPERM", "Permanent delete A")
    assert pyc.create_issue(project="ZPERM", summary="one", issuetype={"name": "Bug"}).key == "ZPERM-1"
    pyc.create_issue(project="ZPERM", summary="two", issuetype={"name": "Bug"})
    assert pyc.delete_project("ZPERM", enable_undo=False) is True
    with pytest.raises(JIRAError) as gone:
        pyc.project("ZPERM")
    assert gone.value.status_code == 404
    new = _made(pyc, "ZPERM", "Permanent delete B")
    assert new.name == "Permanent delete B" and int(new.id) > int(old.id)  # a new project: ids never reused
    assert pyc.create_issue(project="ZPERM", summary="again", issuetype={"name": "Bug"}).key == "ZPERM-1"
    assert [i.summary for i in (x.fields for x in pyc.enhanced_search_issues("project = ZPERM"))] == ["again"]


def test_recycle_bin_delete_keeps_the_key_taken(sb, pyc):
    _made(pyc, "ZBIN", "Recycle bin")
    assert pyc.delete_project("ZBIN") is True  # enable_undo defaults to True: the recycle bin
    with pytest.raises(JIRAError) as gone:
        pyc.project("ZBIN")
    assert gone.value.status_code == 404
    with pytest.raises(JIRAError) as taken:
        pyc.create_project("ZBIN", "Recycle bin again")
    assert taken.value.status_code == 400 and "uses this project key" in taken.value.text


def test_a_reused_key_starts_without_the_old_projects_properties_or_role_actors(sb, pyc, s):
    old = _made(pyc, "ZPROP", "Property holder")
    url = f"{sb.url}/rest/api/3/project/ZPROP/properties/flag"
    assert s.put(url, json={"on": True}).status_code in (200, 201)
    admins = pyc.project_roles("ZPROP")["Administrators"]["id"]
    pyc.project_role("ZPROP", admins).update(groups="jira-admins")  # only the group: the lead user is gone
    assert [a.name for a in pyc.project_role("ZPROP", admins).actors] == ["jira-admins"]
    pyc.delete_project(old.id, enable_undo=False)  # by id works too

    _made(pyc, "ZPROP", "Fresh holder")
    assert s.get(url).status_code == 404
    assert s.get(f"{sb.url}/rest/api/3/project/ZPROP/properties").json() == {"keys": []}
    assert len(pyc.project_role("ZPROP", admins).actors) == 2  # the new project's own defaults again


def test_deleting_with_undo_false_twice_is_a_404(sb, pyc):
    _made(pyc, "ZTWICE", "Twice")
    assert pyc.delete_project("ZTWICE", enable_undo=False) is True
    with pytest.raises(JIRAError) as again:
        pyc.delete_project("ZTWICE", enable_undo=False)
    assert again.value.status_code == 404
