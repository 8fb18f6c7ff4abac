"""`POST /rest/api/3/bulk/issues/move` (the bulk operations API's move), as the platform spec describes it.

Body `{"sendBulkNotification"?, "targetToSourcesMapping": {"<project id or key>,<issue type id>[,<parent id or
key>]": {"issueIdsOrKeys": [...], "inferFieldDefaults", "inferStatusDefaults", "inferSubtaskTypeDefault",
"inferClassificationDefaults", "targetMandatoryFields"?, "targetStatus"?, "targetClassification"?}}}`: 201
`{"taskId"}`, progress at `GET /bulk/queue/{taskId}` (`routes_bulk_edit`). The move runs at submission [unc:
Cloud runs it in the background]. Each issue keeps its id, takes the next key of the target project (the old
key still resolves, `moves`) and the target issue type; sub-tasks go with their parent. The single workflow
keeps every status, so status mappings are not needed here.

400 `{"errors": [{"message"}]}` (BulkOperationErrorResponse) when: the mapping is missing or empty, a key does
not name a project and an issue type, a sub-task type has no parent (or the parent does not exist, or sits in
another project than the target, which create refuses too), an entry has no `issueIdsOrKeys`, an issue does not
exist ("Some of the issues in the issueIdsOrKeys are not valid", the spec's example), more than 1,000 issues
(sub-tasks counted), or the caller lacks Make bulk changes, Move Issues in a source project or Create Issues in
the target (the spec lists no 403 for this operation) [unc: wordings].
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sandbox.core.http import Response
from sandbox.jira import catalog as C
from sandbox.jira import moves, routes_bulk_transition
from sandbox.jira.call import Call
from sandbox.jira.routes_bulk_edit import BulkError, finished_task

if TYPE_CHECKING:
    from sandbox.jira.model import Issue
    from sandbox.jira.sandbox import JiraSandbox

MAX_ISSUES = 1000  # the spec: "up to 1,000 issues in a single operation, including any subtasks"


def register(sb: JiraSandbox) -> None:
    def target(ref: str) -> tuple[str, str, Issue | None]:
        parts = [p.strip() for p in ref.split(",")]
        if len(parts) not in (2, 3) or not all(parts[:2]):
            raise BulkError(400, f"The target '{ref}' must be '<project ID or key>,<issueType ID>[,<parent ID or "
                                 "key>]'.")
        project = next((p.key for p in sb.store.projects.values() if parts[0].upper() == p.key
                        or parts[0] == p.id), None)
        if project is None:
            raise BulkError(400, f"The project '{parts[0]}' does not exist.")
        if parts[1] not in sb.store.issue_types:
            raise BulkError(400, f"The issue type '{parts[1]}' does not exist.")
        parent = sb.store.resolve(parts[2]) if len(parts) == 3 and parts[2] else None
        if len(parts) == 3 and parts[2] and parent is None:
            raise BulkError(400, f"The parent issue '{parts[2]}' does not exist.")
        if parts[1] == C.SUBTASK and parent is None:
            raise BulkError(400, "A parent issue is required to move issues to a sub-task issue type.")
        types = sb.store.issue_types
        if parent is not None and parent.type_id in types and types[parent.type_id][1] != types[parts[1]][1] + 1:
            raise BulkError(400, "Given parent work item does not belong to appropriate hierarchy.")  # [unc] wording
        if parent is not None and types[parts[1]][1] < 0 and parent.project != project:  # as create refuses it
            raise BulkError(400, "Sub-tasks must be created in the same project as their parent.")  # [unc] wording
        return project, parts[1], parent

    def with_subtasks(issue: Issue) -> list[Issue]:
        subs = [sb.store.issues[k] for k in sorted(sb.store.children.get(issue.id, ()))
                if k in sb.store.issues and sb.store.issues[k].type_id == C.SUBTASK]
        return [issue, *subs]

    def submit(c: Call) -> Response:
        try:
            return run(c)
        except BulkError as exc:
            return exc.response()

    def run(c: Call) -> Response:
        body = c.obj()
        mapping = body.get("targetToSourcesMapping")
        if not isinstance(mapping, dict) or not mapping:
            raise BulkError(400, "targetToSourcesMapping must not be empty.")
        if not sb.holds(c.user, "BULK_CHANGE", []):  # type: ignore[attr-defined]  # routes_roles
            raise BulkError(400, "You don't have the global 'Make bulk changes' permission.")
        plan: list[tuple[Issue, str, str, Issue | None]] = []
        for ref, entry in mapping.items():
            project, type_id, parent = target(str(ref))
            refs = entry.get("issueIdsOrKeys") if isinstance(entry, dict) else None
            if not isinstance(refs, list) or not refs:
                raise BulkError(400, f"issueIdsOrKeys must not be empty for the target '{ref}'.")
            found = [sb.store.resolve(str(r)) if isinstance(r, str | int) else None for r in refs]
            if any(i is None for i in found):
                raise BulkError(400, "Some of the issues in the issueIdsOrKeys are not valid")
            if not sb.holds(c.user, "CREATE_ISSUES", [project]):  # type: ignore[attr-defined]
                raise BulkError(400, f"You don't have permission to create issues in the project '{project}'.")
            for issue in found:
                assert issue is not None
                if not sb.holds(c.user, "MOVE_ISSUES", [issue.project]):  # type: ignore[attr-defined]
                    raise BulkError(400, f"You don't have permission to move the issue '{issue.key}'.")
                if parent is not None and parent.id == issue.id:
                    raise BulkError(400, f"The issue '{issue.key}' can't be its own parent.")
                plan.append((issue, project, type_id, parent))
        total = sum(len(with_subtasks(i)) for i, *_ in plan)
        if total > MAX_ISSUES:
            raise BulkError(400, f"You can't move more than {MAX_ISSUES} issues (including subtasks) at once.")
        created = sb.store.now_ms()
        done: list[int] = []
        for issue, project, type_id, parent in plan:
            subs = with_subtasks(issue)[1:]
            moves.move(sb.store, issue.id, project, type_id, parent.id if parent else None, c.user)
            done.append(issue.id)
            for sub in subs:  # sub-tasks follow their parent into the target project
                moves.move(sb.store, sub.id, project, sub.type_id, None, c.user)
                done.append(sub.id)
        return finished_task(sb, c.user, created, list(dict.fromkeys(done)), {}, 0, len(set(done)))

    sb.route("POST", r"/bulk/issues/move", submit, "write")
    routes_bulk_transition.register(sb)  # the bulk transitions, read at the same queue
