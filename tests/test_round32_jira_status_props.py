"""Round 32: workflow status properties in the Jira emulator ([unc] in part, see `sandbox/jira/status_props.py`).

Before, the sandbox had no way to say "issues in Done cannot be edited" (`jira.issue.editable = false`), so the
two-way sync's not-editable hold was tested by patching the screens. Now the platform spec's bulk workflow API
(`POST /workflows`, `POST /workflows/update`) reads and writes status and transition properties, and an issue
in a status that is not editable has an empty editmeta and every field of an edit refused, as in Cloud."""

from __future__ import annotations

import pytest
from jira.exceptions import JIRAError

from tests.sandbox.jira.helpers import checked, client_fixtures, drop_admin, session_for

DONE, TODO = "10002", "10000"


sb, s, pyc, atl = client_fixtures(size=20, scope="function")


def _read(sb, s) -> dict:
    r = checked(sb, s.post(f"{sb.url}/rest/api/3/workflows", json={"workflowNames": ["Software Simplified Workflow"]}))
    assert r.status_code == 200, r.text
    return r.json()


def _update_body(workflow: dict, props: dict[str, dict[str, str]], version: int | None = None) -> dict:
    return {"statuses": [], "workflows": [{
        "id": workflow["id"], "version": {**workflow["version"],
                                          "versionNumber": version or workflow["version"]["versionNumber"]},
        "statuses": [{"statusReference": st["statusReference"], "properties": props.get(st["statusReference"], {})}
                     for st in workflow["statuses"]],
        "transitions": [{"id": t["id"], "name": t["name"], "toStatusReference": t["toStatusReference"],
                         "type": t["type"]} for t in workflow["transitions"]]}]}


def _freeze_done(sb, s) -> dict:
    wf = _read(sb, s)["workflows"][0]
    r = checked(sb, s.post(f"{sb.url}/rest/api/3/workflows/update",
                           json=_update_body(wf, {DONE: {"jira.issue.editable": "false"}})))
    assert r.status_code == 200, r.text
    return r.json()


def test_status_properties_are_read_and_written_through_the_bulk_workflow_api(sb, s):
    before = _read(sb, s)
    wf = before["workflows"][0]
    assert {st["statusReference"] for st in before["statuses"]} == {st["statusReference"] for st in wf["statuses"]}
    assert all(st["properties"] == {} for st in wf["statuses"])
    updated = _freeze_done(sb, s)["workflows"][0]
    assert updated["version"]["versionNumber"] == wf["version"]["versionNumber"] + 1
    assert {st["statusReference"]: st["properties"] for st in updated["statuses"]}[DONE] == {
        "jira.issue.editable": "false"}
    again = _read(sb, s)["workflows"][0]
    assert again == updated
    searched = checked(sb, s.get(f"{sb.url}/rest/api/3/workflows/search", params={"expand": "values.transitions"}))
    assert {st["statusReference"]: st["properties"] for st in searched.json()["values"][0]["statuses"]}[DONE] == {
        "jira.issue.editable": "false"}
    assert s.post(f"{sb.url}/rest/api/3/workflows", json={"workflowNames": ["Nope"]}).json() == {
        "statuses": [], "workflows": []}


def test_updates_that_the_sandbox_cannot_honour_are_refused_and_change_nothing(sb, s):
    wf = _read(sb, s)["workflows"][0]
    api = f"{sb.url}/rest/api/3/workflows/update"
    stale = s.post(api, json=_update_body(wf, {}, version=wf["version"]["versionNumber"] + 5))
    dropped = _update_body(wf, {DONE: {"jira.issue.editable": "false"}})
    dropped["workflows"][0]["statuses"] = dropped["workflows"][0]["statuses"][:-1]
    not_strings = _update_body(wf, {DONE: {"jira.issue.editable": False}})  # type: ignore[dict-item]
    unknown = _update_body(wf, {})
    unknown["workflows"][0]["id"] = "no-such-workflow"
    for body in (stale, dropped, not_strings, unknown, {"workflows": []}, {"statuses": []}):
        r = body if hasattr(body, "status_code") else s.post(api, json=body)
        assert r.status_code == 400 and r.json()["errorMessages"], r.text
    assert _read(sb, s)["workflows"][0] == wf


def test_only_jira_administrators_read_and_write_workflows(sb, s):
    wf = _read(sb, s)["workflows"][0]
    with session_for(sb, ordinary=True) as user:
        assert user.post(f"{sb.url}/rest/api/3/workflows", json={"workflowIds": [wf["id"]]}).status_code == 403
        r = user.post(f"{sb.url}/rest/api/3/workflows/update",
                      json=_update_body(wf, {DONE: {"jira.issue.editable": "false"}}))
        assert r.status_code == 403
    drop_admin(sb, s)
    assert s.post(f"{sb.url}/rest/api/3/workflows", json={"workflowIds": [wf["id"]]}).status_code == 403


def test_an_issue_in_a_status_that_is_not_editable_takes_no_edit(sb, s, pyc):
    done = pyc.create_issue(project="SEC", summary="to close", issuetype={"name": "Task"})
    open_one = pyc.create_issue(project="SEC", summary="stays open", issuetype={"name": "Task"})
    pyc.transition_issue(done, "41")  # -> Done
    assert pyc.editmeta(done.key)["fields"]
    _freeze_done(sb, s)
    assert pyc.editmeta(done.key)["fields"] == {}
    assert pyc.issue(done.key, expand="editmeta").raw["editmeta"]["fields"] == {}
    with pytest.raises(JIRAError) as refused:
        done.update(fields={"summary": "changed", "duedate": "2027-01-01"})
    assert refused.value.status_code == 400
    assert refused.value.response.json()["errors"] == {
        name: f"Field '{name}' cannot be set. It is not on the appropriate screen, or unknown."
        for name in ("summary", "duedate")}
    assert pyc.issue(done.key).fields.summary == "to close"
    assert pyc.add_comment(done.key, "still takes comments").id  # [unc] no jira.permission.* properties
    open_one.update(fields={"summary": "edited"})  # other statuses are unaffected
    assert pyc.issue(open_one.key).fields.summary == "edited"
    pyc.transition_issue(done, "11")  # back to To Do: editable again
    done.update(fields={"summary": "reopened and edited"})
    assert pyc.issue(done.key).fields.summary == "reopened and edited"


def test_the_issueeditable_alias_and_the_python_knob(sb, s, pyc):
    made = pyc.create_issue(project="SEC", summary="knob", issuetype={"name": "Task"})
    sb.set_status_property("To Do", "issueEditable", "FALSE")
    assert pyc.editmeta(made.key)["fields"] == {}
    wf = _read(sb, s)["workflows"][0]
    assert {st["statusReference"]: st["properties"] for st in wf["statuses"]}[TODO] == {"issueEditable": "FALSE"}
    sb.set_status_property(TODO, "issueEditable", None)
    assert "summary" in pyc.editmeta(made.key)["fields"]
