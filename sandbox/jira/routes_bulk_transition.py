"""The bulk operations API's transitions, as the platform spec describes them (atlassian-python-api's JiraCloud
`get_available_transitions` / `submit_bulk_transition`).

- GET `/bulk/issues/transition?issueIdsOrKeys=K1,K2` (up to 1,000): BulkTransitionGetAvailableTransitions,
  `{"availableTransitions": [{"isTransitionsFiltered", "issues": [keys], "transitions": [{"transitionId",
  "transitionName", "to": {"statusId", "statusName"}}]}]}`, one entry per workflow (the sandbox has one). Only
  transitions "that do not involve any additional field updates" are listed (the spec), so Done (41, whose
  screen requires a resolution, `screens`) is left out and `isTransitionsFiltered` is true. Paging cursors
  (`startingAfter`/`endingBefore`) are accepted; one workflow always fits one page.
- POST `/bulk/issues/transition` `{"bulkTransitionInputs": [{"selectedIssueIdsOrKeys", "transitionId"}],
  "sendBulkNotification"?}`: 201 `{"taskId"}`, progress at `GET /bulk/queue/{taskId}` (`routes_bulk_edit`); the
  transitions run at submission [unc: Cloud runs them in the background]. A transition with a screen (Done) is
  not taken by the bulk API: its issues are listed in the task's `failedAccessibleIssues` [unc: the message].

400 BulkOperationErrorResponse `{"errors": [{"message"}]}` when the issues are missing, over 1,000, or one does
not exist ("Some of the issues in the issueIdsOrKeys are not valid", the spec's example), or a transition id is
not one of the workflow's; the caller needs Make bulk changes [unc: wordings].
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.core.http import Response, json_response
from sandbox.jira import catalog as C
from sandbox.jira import ops
from sandbox.jira.call import Call
from sandbox.jira.routes_bulk_edit import BulkError, finished_task
from sandbox.jira.screens import SCREENS, transition_name

if TYPE_CHECKING:
    from sandbox.jira.model import Issue
    from sandbox.jira.sandbox import JiraSandbox

MAX_ISSUES = 1000
INVALID = "Some of the issues in the issueIdsOrKeys are not valid"  # the spec's example


def register(sb: JiraSandbox) -> None:
    def issues_of(refs: list[Any]) -> list[Issue]:
        if not refs:
            raise BulkError(400, "issueIdsOrKeys must not be empty.")  # [unc]
        if len(refs) > MAX_ISSUES:
            raise BulkError(400, f"You can't transition more than {MAX_ISSUES} issues at once.")  # [unc]
        found = [sb.store.resolve(str(r)) if isinstance(r, str | int) else None for r in refs]
        if any(i is None for i in found):
            raise BulkError(400, INVALID)
        return list({i.id: i for i in found if i is not None}.values())

    def guarded(handler: Any) -> Any:
        def run(c: Call) -> Response:
            try:
                if not sb.holds(c.user, "BULK_CHANGE", []):  # type: ignore[attr-defined]  # routes_roles
                    raise BulkError(403, "You don't have the global 'Make bulk changes' permission.")  # [unc]
                return handler(c)
            except BulkError as exc:
                return exc.response()
        return run

    def available(c: Call) -> Response:
        refs = [r.strip() for item in c.qlist("issueIdsOrKeys") for r in item.split(",") if r.strip()]
        issues = issues_of(refs)
        plain = [tid for tid in C.TRANSITIONS if tid not in SCREENS]  # no field updates (the spec)
        items = [{"to": {"statusId": int(C.TRANSITIONS[tid]), "statusName": C.STATUSES[C.TRANSITIONS[tid]][0]},
                  "transitionId": int(tid), "transitionName": transition_name(tid)} for tid in plain]
        return json_response({"availableTransitions": [{
            "isTransitionsFiltered": len(plain) < len(C.TRANSITIONS), "issues": [i.key for i in issues],
            "transitions": items}]})

    def submit(c: Call) -> Response:
        body = c.obj()
        inputs = body.get("bulkTransitionInputs")
        if not isinstance(inputs, list) or not inputs:
            raise BulkError(400, "bulkTransitionInputs must not be empty.")  # [unc]
        plan: list[tuple[Issue, str]] = []
        for entry in inputs:
            entry = entry if isinstance(entry, dict) else {}
            tid = str(entry.get("transitionId") or "")
            if tid not in C.TRANSITIONS:
                raise BulkError(400, f"The transition '{tid}' is not valid for the selected issues.")  # [unc]
            refs = entry.get("selectedIssueIdsOrKeys")
            plan += [(i, tid) for i in issues_of(refs if isinstance(refs, list) else [])]
        if len(plan) > MAX_ISSUES:
            raise BulkError(400, f"You can't transition more than {MAX_ISSUES} issues at once.")  # [unc]
        created = sb.store.now_ms()
        done: list[int] = []
        failed: dict[str, list[str]] = {}
        for issue, tid in plan:
            if tid in SCREENS:  # a transition with a screen needs field updates the bulk API does not take
                failed[str(issue.id)] = [f"The transition '{tid}' requires fields to be set and can't be used "
                                         "in a bulk transition."]  # [unc]
                continue
            ops.transition(sb.store, issue.id, C.TRANSITIONS[tid], {}, c.user)
            done.append(issue.id)
        return finished_task(sb, c.user, created, done, failed, 0, len(plan))

    sb.route("GET", r"/bulk/issues/transition", guarded(available))
    sb.route("POST", r"/bulk/issues/transition", guarded(submit), "write")
