"""Workflow status and transition properties of the site's one workflow (Software Simplified Workflow), through
the platform spec's bulk workflow API, and what `jira.issue.editable = false` does to an issue in that status.

- POST `/workflows` (WorkflowReadRequest: `workflowIds`, `workflowNames`; Administer Jira): `{"statuses":
  [JiraWorkflowStatus], "workflows": [JiraWorkflow]}` with each status's `properties` and the transitions'.
  Neither ids nor names, or names/ids of no workflow: empty lists [unc].
- POST `/workflows/update` (WorkflowUpdateRequest; Administer Jira): one entry per workflow with `id`,
  `version` (`versionNumber` must be the current one, which each update raises by one), `statuses` (each
  `{"statusReference", "properties"}`; every status of the workflow, none added: the sandbox does not add or
  drop statuses) and `transitions` (the ids of its transitions; a transition's `properties` are kept). The
  properties given replace the status's (or transition's) own; values must be strings. Answers
  `{"statuses", "workflows", "taskId": null}`. Anything else is 400 with an `errorMessages` entry [unc: Jira's
  wordings, and whether a version conflict is 400 or 409].
- `GET /workflows/search` shows the same properties and version.
- An issue whose status has `jira.issue.editable` (or `issueEditable`, as the spec's WorkflowStatus names it)
  set to `false` (any case) takes no edit: editmeta lists no field and `PUT /issue/{key}` refuses each field
  with the screen error, as Cloud does for a Closed issue (`field_screens.edit_fields`). Comments, worklogs
  and transitions are not affected [unc: `jira.permission.*` properties are not modelled].
- Tests and demos can also call `sb.set_status_property(status, key, value)` (status id or name; value None
  removes the key).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.core.http import Response, json_response
from sandbox.jira import catalog as C
from sandbox.jira.admin_guard import admin_only
from sandbox.jira.call import Call
from sandbox.jira.errors import fail

if TYPE_CHECKING:
    from sandbox.jira.model import Issue
    from sandbox.jira.sandbox import JiraSandbox

EDITABLE_KEYS = ("jira.issue.editable", "issueEditable")


def _state(sb: JiraSandbox) -> dict[str, Any]:
    return sb.store.work.setdefault("workflow_props", {"version": 1, "statuses": {}, "transitions": {}})


def status_properties(sb: JiraSandbox, sid: str) -> dict[str, str]:
    return dict(_state(sb)["statuses"].get(sid, {}))


def editable(sb: JiraSandbox, issue: Issue) -> bool:
    """False when the issue's status carries `jira.issue.editable = false`."""
    props = _state(sb)["statuses"].get(issue.status_id, {})
    return not any(str(props.get(k, "")).strip().lower() == "false" for k in EDITABLE_KEYS)


def set_status_property(sb: JiraSandbox, status: str, key: str, value: str | None) -> None:
    sid = status if status in C.STATUSES else C.STATUS_BY_NAME.get(status.lower())
    if sid is None:
        raise KeyError(f"no status {status!r}")
    props = _state(sb)["statuses"].setdefault(sid, {})
    if value is None:
        props.pop(key, None)
    else:
        props[key] = str(value)


def decorate(sb: JiraSandbox, workflow: dict[str, Any]) -> dict[str, Any]:
    """A workflow bean (routes_catalog_search._workflow) with the stored properties and version."""
    state = _state(sb)
    workflow["version"] = {**workflow.get("version", {}), "versionNumber": state["version"]}
    for status in workflow.get("statuses", []):
        status["properties"] = dict(state["statuses"].get(status["statusReference"], {}))
    for transition in workflow.get("transitions", []):
        transition["properties"] = dict(state["transitions"].get(transition["id"], {}))
    return workflow


def _properties(raw: Any, where: str) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
        raise fail(400, f"The properties of {where} must be an object of string values.")  # [unc]
    return dict(raw)


def register(sb: JiraSandbox) -> None:
    from sandbox.jira.routes_catalog_search import WORKFLOW_ID, WORKFLOW_NAME, _workflow, status_json

    def bean(c: Call) -> dict[str, Any]:
        return decorate(sb, _workflow(c, True))

    def answer(c: Call, found: bool, **extra: Any) -> Response:
        statuses = [{**status_json(sid), "statusReference": sid} for sid in C.STATUSES] if found else []
        return json_response({"statuses": statuses, "workflows": [bean(c)] if found else [], **extra})

    def read(c: Call) -> Response:
        body = c.obj()
        ids, names = body.get("workflowIds") or [], body.get("workflowNames") or []
        if not isinstance(ids, list) or not isinstance(names, list):
            raise fail(400, "workflowIds and workflowNames must be arrays.")  # [unc]
        return answer(c, WORKFLOW_ID in ids or WORKFLOW_NAME in names)

    def update(c: Call) -> Response:
        body = c.obj()
        workflows = body.get("workflows")
        if not isinstance(workflows, list) or not workflows:
            raise fail(400, "At least one workflow must be provided.")  # [unc]
        state = _state(sb)
        staged: tuple[dict[str, dict[str, str]], dict[str, dict[str, str]]] | None = None
        for wf in workflows:
            if not isinstance(wf, dict) or wf.get("id") != WORKFLOW_ID:
                wid = wf.get("id") if isinstance(wf, dict) else None
                raise fail(400, f"The workflow with ID '{wid}' does not exist.")  # [unc]
            version = wf.get("version") if isinstance(wf.get("version"), dict) else {}
            if version.get("versionNumber") != state["version"]:
                raise fail(400, "The workflow has been updated since it was read: read it again and retry "
                                "with its current version.")  # [unc] wording and status
            statuses, transitions = wf.get("statuses"), wf.get("transitions")
            if not isinstance(statuses, list) or not isinstance(transitions, list):
                raise fail(400, "A workflow update needs its statuses and transitions.")  # [unc]
            refs = [s.get("statusReference") if isinstance(s, dict) else None for s in statuses]
            if sorted(map(str, refs)) != sorted(C.STATUSES):
                raise fail(400, "The sandbox's workflow keeps its statuses: list each of "
                                f"{sorted(C.STATUSES)} once.")  # [unc] the sandbox adds or drops none
            known = {"1", *C.TRANSITIONS}
            for t in transitions:
                if not isinstance(t, dict) or str(t.get("id")) not in known:
                    raise fail(400, "The sandbox's workflow keeps its transitions: give each by its id.")  # [unc]
            staged = ({s["statusReference"]: _properties(s.get("properties"), f"status {s['statusReference']}")
                       for s in statuses},
                      {str(t["id"]): _properties(t.get("properties"), f"transition {t['id']}")
                       for t in transitions if "properties" in t})
        assert staged is not None
        state["statuses"] = staged[0]
        state["transitions"] = {**state["transitions"], **staged[1]}
        state["version"] += 1
        return answer(c, True, taskId=None)

    sb.route("POST", r"/workflows", admin_only(sb, read))
    sb.route("POST", r"/workflows/update", admin_only(sb, update), "write")
    sb.set_status_property = lambda status, key, value: set_status_property(sb, status, key, value)  # type: ignore[attr-defined]
