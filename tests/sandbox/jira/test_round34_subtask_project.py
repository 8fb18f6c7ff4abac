"""Round 34: a sub-task lives in its parent's project. Creating one in GRC under a SEC story through pycontribs
`jira` was accepted (GRC-n with a SEC parent); it is now refused with a 400 on `parent`, alone and in a bulk
create, while an epic's child may still sit in another project, as company-managed epics allow."""

from __future__ import annotations

import pytest
from jira.exceptions import JIRAError

from tests.sandbox.jira.helpers import client_fixtures

sb, _session, pyc, _atl = client_fixtures(size=40)



def test_a_subtask_in_another_project_than_its_parent_is_refused(pyc):
    story = pyc.create_issue(project="SEC", summary="r34 story", issuetype={"name": "Story"})
    before = pyc.approximate_issue_count("project = GRC")
    with pytest.raises(JIRAError) as e:
        pyc.create_issue(project="GRC", summary="r34 stray sub-task", issuetype={"name": "Subtask"},
                         parent={"key": story.key})
    assert e.value.status_code == 400 and "parent" in e.value.response.json()["errors"]
    done = pyc.create_issues([
        {"project": {"key": "SEC"}, "summary": "r34 sub ok", "issuetype": {"name": "Subtask"},
         "parent": {"key": story.key}},
        {"project": {"key": "GRC"}, "summary": "r34 sub stray", "issuetype": {"name": "Subtask"},
         "parent": {"key": story.key}}])
    assert [d["status"] for d in done] == ["Success", "Error"] and "parent" in done[1]["error"]
    assert pyc.approximate_issue_count("project = GRC") == before
    assert [s.fields.summary for s in pyc.issue(story.key).fields.subtasks] == ["r34 sub ok"]
    # an epic's child, though, may sit in another project
    epic = pyc.create_issue(project="SEC", summary="r34 program epic", issuetype={"name": "Epic"})
    task = pyc.create_issue(project="GRC", summary="r34 control task", issuetype={"name": "Task"},
                            parent={"key": epic.key})
    assert task.key.startswith("GRC-") and task.fields.parent.key == epic.key
