"""The bulk operations API's watch and unwatch (`POST /rest/api/3/bulk/issues/watch|unwatch`).

- Body `{"selectedIssueIdsOrKeys": [...]}` (IssueBulkWatchOrUnwatchPayload; no other member): 201 `{"taskId"}`;
  the caller then watches (or no longer watches) each issue, as `POST|DELETE /issue/{key}/watchers` would.
- The task reads like a bulk edit's at GET `/bulk/queue/{taskId}` (`routes_bulk_edit`): COMPLETE at once
  [unc: Cloud runs it in the background], `processedAccessibleIssues` the issue ids, `totalIssueCount`.
- Refusals are BulkOperationErrorResponse `{"errors": [{"message"}]}`: no issue list, an empty one or more than
  1000 [unc: wordings], and a list naming an issue that does not exist ("Some of the issues in the issueIdsOrKeys
  are not valid", the spec's example; nothing changes then) are 400s.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sandbox.core.http import Response, json_response
from sandbox.jira.call import Call
from sandbox.jira.routes_field_admin import _state

if TYPE_CHECKING:
    from sandbox.jira.sandbox import JiraSandbox

LIMIT = 1000


def _refused(message: str) -> Response:
    return json_response({"errors": [{"message": message}]}, 400)


def register(sb: JiraSandbox) -> None:
    def submit(c: Call, watch: bool) -> Response:
        body = c.obj()
        extra = sorted(set(body) - {"selectedIssueIdsOrKeys"})
        if extra:
            return _refused(f"Unrecognized field \"{extra[0]}\"")  # [unc: wording]
        refs = body.get("selectedIssueIdsOrKeys")
        if not isinstance(refs, list) or not refs:
            return _refused("selectedIssueIdsOrKeys must not be empty.")  # [unc: wording]
        if len(refs) > LIMIT:
            return _refused(f"You can watch or unwatch at most {LIMIT} issues in one request.")  # [unc: wording]
        found = [sb.store.resolve(str(r)) if isinstance(r, str | int) else None for r in refs]
        if any(f is None for f in found):
            return _refused("Some of the issues in the issueIdsOrKeys are not valid")
        issues = list({f.id: f for f in found if f is not None}.values())
        created = sb.store.now_ms()
        with sb.store.lock:
            for issue in issues:  # the same default list as GET /issue/{key}/watchers (the reporter)
                people = sb.store.work["watchers"].setdefault(issue.id, [a for a in (issue.reporter,) if a])
                if watch and c.user not in people:
                    people.append(c.user)
                elif not watch and c.user in people:
                    people.remove(c.user)
            sb.store.relations_version += 1
            task = sb.store.new_id()
            _state(sb).setdefault("bulk_tasks", {})[task] = {
                "taskId": str(task), "status": "COMPLETE", "progressPercent": 100, "created": created,
                "started": created, "updated": sb.store.now_ms(), "submittedBy": {"accountId": c.user},
                "processedAccessibleIssues": [i.id for i in issues], "failedAccessibleIssues": {},
                "invalidOrInaccessibleIssueCount": 0, "totalIssueCount": len(issues)}
        return json_response({"taskId": str(task)}, 201)

    def watch(c: Call) -> Response:
        return submit(c, True)

    def unwatch(c: Call) -> Response:
        return submit(c, False)

    sb.route("POST", r"/bulk/issues/watch", watch, "write")
    sb.route("POST", r"/bulk/issues/unwatch", unwatch, "write")

