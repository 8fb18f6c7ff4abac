"""The bulk operations API's edit (`/rest/api/3/bulk/issues/fields`, `/rest/api/3/bulk/queue/{taskId}`).

- GET `/bulk/issues/fields?issueIdsOrKeys=K1,K2[&searchText=]`: `{"fields": [IssueBulkEditField]}` for the
  fields the sandbox edits in bulk: `assignee` (with `searchUrl`), `labels` (`multiSelectFieldOptions`),
  `priority` (`fieldOptions`), `summary`; `searchText` filters by name. Missing `issueIdsOrKeys` is a 400,
  ids of which none exist a 404 (`{"errors": [{"message"}]}`, BulkOperationErrorResponse) [unc: wordings].
- POST `/bulk/issues/fields` `{"selectedIssueIdsOrKeys", "selectedActions", "editedFieldsInput",
  "sendBulkNotification"?}`: 201 `{"taskId"}`. Inputs read: `singleLineTextFields` (fieldId `summary`),
  `labelsFields` (`bulkEditMultiSelectFieldOption` ADD | REMOVE | REPLACE | REMOVE_ALL, `labels: [{"name"}]`),
  `priority` (`{"priorityId"}`), `singleSelectClearableUserPickerFields` (fieldId `assignee`, `user:
  {"accountId"}`, null to unassign, "-1" for the default assignee). An edited field missing from
  `selectedActions` (or the reverse), a field the sandbox does not bulk-edit, more than 1000 issues or 200
  fields are 400s. The edit runs at submission [unc: Cloud runs it in the background]; each issue gets
  one changelog entry and an `issue_updated` webhook, as a bulk edit does.
- GET `/bulk/queue/{taskId}`: BulkOperationProgress (`status` COMPLETE, `progressPercent` 100,
  `processedAccessibleIssues` (ids), `failedAccessibleIssues` (id -> reasons), `invalidOrInaccessibleIssueCount`,
  `totalIssueCount`, `submittedBy`, and `created`/`started`/`updated` as epoch milliseconds like the spec's
  examples). A task id of another kind (e.g. a custom field deletion) is the spec's 400 "not a bulk operation
  task"; an unknown id is a 404 [unc].
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.core.http import Response, json_response
from sandbox.jira import catalog as C
from sandbox.jira import routes_bulk_watch
from sandbox.jira.call import Call
from sandbox.jira.changes import parse_fields
from sandbox.jira.ids import is_id
from sandbox.jira.routes_field_admin import _state
from sandbox.jira.routes_versions import default_assignee

if TYPE_CHECKING:
    from sandbox.jira.sandbox import JiraSandbox

SUPPORTED = {"summary", "labels", "priority", "assignee"}
INPUT_FIELD = {"singleLineTextFields": "fieldId", "labelsFields": "fieldId",
               "singleSelectClearableUserPickerFields": "fieldId"}
LABEL_OPS = ("ADD", "REMOVE", "REPLACE", "REMOVE_ALL")


class BulkError(Exception):
    def __init__(self, status: int, *messages: str) -> None:
        super().__init__(messages[0])
        self.status, self.messages = status, messages

    def response(self) -> Response:
        return json_response({"errors": [{"message": m} for m in self.messages]}, self.status)


def _named(fields: dict[str, Any]) -> dict[str, Any]:
    """editedFieldsInput -> {field id: input}, for the inputs the sandbox reads."""
    out: dict[str, Any] = {}
    for kind, items in fields.items():
        if kind == "priority":
            out["priority"] = items
        elif kind == "issueType":
            out["issuetype"] = items
        elif kind == "status":
            out["status"] = items
        elif isinstance(items, list):
            for item in items:
                fid = item.get("fieldId") if isinstance(item, dict) else None
                if not fid:
                    raise BulkError(400, f"Each {kind} item needs a fieldId.")  # [unc]
                out[str(fid)] = (kind, item)
        else:
            raise BulkError(400, f"Unrecognized editedFieldsInput entry: {kind}")  # [unc]
    return out


def register(sb: JiraSandbox) -> None:
    def issues_of(refs: list[str]) -> tuple[list[Any], int]:
        found = [sb.store.resolve(r) for r in refs]
        unique = {f.id: f for f in found if f is not None}
        return list(unique.values()), sum(f is None for f in found)

    def field_beans(c: Call, issues: list[Any]) -> list[dict[str, Any]]:
        keys = ",".join(sorted({i.project for i in issues}))
        return [
            {"id": "assignee", "isRequired": False, "name": "Assignee", "type": "assignee",
             "searchUrl": f"{c.r.api}/user/assignable/multiProjectSearch?projectKeys={keys}&query="},
            {"id": "labels", "isRequired": False, "name": "Labels", "type": "labels",
             "multiSelectFieldOptions": list(LABEL_OPS)},
            {"id": "priority", "isRequired": False, "name": "Priority", "type": "priority",
             "fieldOptions": [{"id": k, "priority": v, "description": ""} for k, v in C.PRIORITIES.items()]},
            {"id": "summary", "isRequired": True, "name": "Summary", "type": "summary"}]

    def editable(c: Call) -> Response:
        refs = [r for v in c.qlist("issueIdsOrKeys") for r in v.split(",") if r.strip()]
        if not refs:
            return BulkError(400, "issueIdsOrKeys must not be empty.").response()  # [unc]
        issues, _missing = issues_of([r.strip() for r in refs])
        if not issues:
            return BulkError(404, "No editable fields found for the given issues.").response()  # [unc]
        text = (c.q("searchText") or "").lower()
        return json_response({"fields": [f for f in field_beans(c, issues) if text in f["name"].lower()]})

    def changes_for(issue: Any, named: dict[str, Any]) -> dict[str, Any]:
        """The v2-style `fields` that apply the bulk inputs to one issue."""
        fields: dict[str, Any] = {}
        for fid, value in named.items():
            if fid == "priority":
                fields["priority"] = {"id": str((value or {}).get("priorityId") or "")}
                continue
            _kind, item = value
            if fid == "summary":
                fields["summary"] = item.get("text")
            elif fid == "assignee":
                account = (item.get("user") or {}).get("accountId")
                if account == "-1":
                    account = default_assignee(sb.store, issue.project, issue.components)
                fields["assignee"] = {"accountId": account} if account else None
            elif fid == "labels":
                names = [str((x or {}).get("name")) for x in item.get("labels") or []]
                op = item.get("bulkEditMultiSelectFieldOption")
                cur = list(issue.labels)
                fields["labels"] = {"ADD": cur + [n for n in names if n not in cur],
                                    "REMOVE": [x for x in cur if x not in names],
                                    "REPLACE": names, "REMOVE_ALL": []}[op]
        return fields

    def submit(c: Call) -> Response:
        try:
            return _submit(c)
        except BulkError as exc:
            return exc.response()

    def _submit(c: Call) -> Response:
        body = c.obj()
        refs, actions, edited = (body.get(k) for k in ("selectedIssueIdsOrKeys", "selectedActions",
                                                        "editedFieldsInput"))
        if not isinstance(refs, list) or not refs:
            raise BulkError(400, "selectedIssueIdsOrKeys must not be empty.")  # [unc]
        if not isinstance(actions, list) or not actions:
            raise BulkError(400, "selectedActions must not be empty.")  # [unc]
        if not isinstance(edited, dict):
            raise BulkError(400, "editedFieldsInput must be given.")  # [unc]
        if len(refs) > 1000:
            raise BulkError(400, "A bulk edit can change at most 1000 issues.")  # [unc]
        if len(actions) > 200:
            raise BulkError(400, "A bulk edit can change at most 200 fields.")  # [unc]
        named = _named(edited)
        extra = [f for f in named if f not in actions]
        if extra:
            raise BulkError(400, "The following editedFieldInput values are not listed as selectedActions : "
                                 + ", ".join(extra))
        missing = [a for a in actions if a not in named]
        if missing:
            raise BulkError(400, "The following selectedActions are missing from editedFieldsInput : "
                                 + ", ".join(missing))  # [unc]
        unknown = [a for a in actions if a not in SUPPORTED]
        if unknown:
            raise BulkError(400, "These fields can not be bulk edited in the sandbox : " + ", ".join(unknown))
        for fid, value in named.items():
            if fid == "labels" and value[1].get("bulkEditMultiSelectFieldOption") not in LABEL_OPS:
                raise BulkError(400, "bulkEditMultiSelectFieldOption must be one of " + ", ".join(LABEL_OPS))
            if fid == "priority" and not isinstance(value, dict):
                raise BulkError(400, "priority must be an object with a priorityId.")  # [unc]
        issues, invalid = issues_of([str(r) for r in refs])
        created = sb.store.now_ms()
        done, failed = [], {}
        for issue in issues:
            attrs, _comments, errors = parse_fields(sb.store, changes_for(issue, named), {}, "2", issue)
            if errors:
                failed[str(issue.id)] = list(errors.values())
                continue
            sb.store.update(issue.id, attrs, c.user)
            done.append(issue.id)
        return finished_task(sb, c.user, created, done, failed, invalid, len(issues) + invalid)

    def progress(c: Call) -> Response:
        raw = c.p["task"]
        ident = int(raw) if is_id(raw) else None
        state = _state(sb)
        found = state.get("bulk_tasks", {}).get(ident)
        if found is not None:
            return json_response(found)
        if ident in state.get("tasks", {}):
            return json_response({"errorMessages": ["The task associated with this taskId is not a bulk operation "
                                                    "task"], "errors": {}}, 400)
        return BulkError(404, f"Task with id {raw} not found.").response()  # [unc]

    sb.route("GET", r"/bulk/issues/fields", editable)
    sb.route("POST", r"/bulk/issues/fields", submit, "write")
    sb.route("GET", r"/bulk/queue/(?P<task>[^/]+)", progress)
    routes_bulk_watch.register(sb)  # the bulk watch / unwatch tasks, read at the same queue


def finished_task(sb: Any, user: str, created: int, done: list, failed: dict[str, list[str]], invalid: int,
                  total: int) -> Response:
    """A bulk operation's task, complete (the sandbox runs it at once): 201 with its id, read back from
    ``GET /bulk/queue/{taskId}``."""
    now = sb.store.now_ms()
    with sb.store.lock:
        task = sb.store.new_id()
        _state(sb).setdefault("bulk_tasks", {})[task] = {
            "taskId": str(task), "status": "COMPLETE", "progressPercent": 100, "created": created,
            "started": created, "updated": now, "submittedBy": {"accountId": user},
            "processedAccessibleIssues": done, "failedAccessibleIssues": failed,
            "invalidOrInaccessibleIssueCount": invalid, "totalIssueCount": total}
    return json_response({"taskId": str(task)}, 201)
