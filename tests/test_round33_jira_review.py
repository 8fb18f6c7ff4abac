"""Round 33 review of the Jira emulator's new rules (tests/test_round33_jira_clients.py):

- a worklog `visibility` that is not a group or role ("x", a list, an unknown type) was stored as sent, and the new
  visibility filter of `/worklog/updated` and `/worklog/list` then answered 500 to every caller; it is a 400 now;
- an edit changing the type of an issue with children (a Task with a subtask to Subtask, a Story with a subtask to
  Epic, an Epic with a Story to Task) or taking a subtask's parent away left a broken hierarchy (204);
- `/bulk/issues/move` took a parent at the wrong level (a Task moved to Subtask under an Epic).
"""

from __future__ import annotations

import pytest
from jira.exceptions import JIRAError

from tests.sandbox.jira.helpers import client_fixtures

sb, s, pyc, atl = client_fixtures(size=20, scope="function")
HIERARCHY = "Given parent work item does not belong to appropriate hierarchy."


@pytest.mark.parametrize("visibility", ["x", [1], {"type": "planet", "value": "Mars"}])
def test_a_malformed_worklog_visibility_is_refused_and_the_feeds_still_answer(sb, s, pyc, visibility):
    api = f"{sb.url}/rest/api/3"
    r = s.post(f"{api}/issue/SEC-2/worklog", json={"timeSpent": "1h", "visibility": visibility})
    assert r.status_code == 400, r.text  # before: 201, stored as sent
    sb.advance_clock(61)
    assert s.get(f"{api}/worklog/updated", params={"since": 0}).status_code == 200
    assert s.get(f"{api}/issue/SEC-2/worklog").status_code == 200


def test_a_type_change_keeps_every_child_one_level_below(sb, pyc):
    task = pyc.create_issue(project="SEC", summary="r33r task", issuetype={"name": "Task"})
    pyc.create_issue(project="SEC", summary="r33r sub", issuetype={"name": "Subtask"}, parent={"key": task.key})
    for to, why in (("Subtask", "Sub-tasks must have a parent issue."), ("Epic", HIERARCHY)):
        with pytest.raises(JIRAError) as refused:
            task.update(fields={"issuetype": {"name": to}})
        assert refused.value.status_code == 400 and why in str(refused.value.response.json()["errors"])
    epic = pyc.create_issue(project="SEC", summary="r33r epic", issuetype={"name": "Epic"})
    pyc.create_issue(project="SEC", summary="r33r story", issuetype={"name": "Story"}, parent={"key": epic.key})
    with pytest.raises(JIRAError):
        epic.update(fields={"issuetype": {"name": "Task"}})
    assert pyc.issue(epic.key).fields.issuetype.name == "Epic" and pyc.issue(task.key).fields.issuetype.name == "Task"
    task.update(fields={"issuetype": {"name": "Bug"}})  # the same level: its subtask still fits
    assert pyc.issue(task.key).fields.issuetype.name == "Bug"


def test_a_subtask_keeps_its_parent_on_edit(sb, pyc):
    task = pyc.create_issue(project="SEC", summary="r33r parent", issuetype={"name": "Task"})
    sub = pyc.create_issue(project="SEC", summary="r33r child", issuetype={"name": "Subtask"}, parent={"key": task.key})
    with pytest.raises(JIRAError) as refused:
        sub.update(fields={"parent": None})
    assert refused.value.response.json()["errors"] == {"parent": "Sub-tasks must have a parent issue."}
    assert pyc.issue(sub.key).fields.parent.key == task.key


def test_a_bulk_move_takes_a_parent_one_level_up_only(sb, s, pyc):
    api = f"{sb.url}/rest/api/3"
    task = pyc.create_issue(project="SEC", summary="r33r to move", issuetype={"name": "Task"}).key

    def move(target: str):
        return s.post(f"{api}/bulk/issues/move", json={"targetToSourcesMapping": {target: {
            "issueIdsOrKeys": [task], "inferFieldDefaults": True, "inferStatusDefaults": True,
            "inferSubtaskTypeDefault": True, "inferClassificationDefaults": True}}})

    r = move("SEC,10004,SEC-1")  # a Subtask under the Epic SEC-1
    assert r.status_code == 400 and HIERARCHY in r.text, r.text
    assert pyc.issue(task).fields.issuetype.name == "Task" and getattr(pyc.issue(task).fields, "parent", None) is None
