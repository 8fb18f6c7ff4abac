"""Issue archiving by id or key (`PUT /rest/api/3/issue/archive` and `/issue/unarchive`).

Body `{"issueIdsOrKeys": [...]}`; Jira admins only (403 "Only admins can archive or unarchive issues. Access
denied."). The sandbox site counts as Premium, so the licence check never refuses. Answer 200
`{"numberOfIssuesUpdated", "errors"}` (`errors` empty when none [unc]) when at least one issue changed
(sub-tasks go with their parent and are counted; an epic's child issues stay), with `errors` grouping the
refused refs: `issueIsSubtask` ("Issue is subtask."), `issuesNotFound` ("Issue not found."; for unarchive,
also an issue that is not archived [unc]) as `{"count", "issueIdsOrKeys", "message"}`; 400 "No valid issue
to archive or unarchive. Bad request." when none changed; more than 1000 refs: the first 1000 are done,
then 412 with the hard-limit message.

An archived issue leaves the live store and the search index: GET/edit answer 404 "Issue does not exist or
you do not have permission to see it." [unc: Cloud's exact answer for an archived issue], JQL no longer finds
it, and its key is not reused. Unarchiving puts it back unchanged (no changelog entry, no webhook [unc]).
Archived issues are kept in `store.work["archived"]` (id -> Issue).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.core.http import Response, json_response
from sandbox.jira import catalog as C
from sandbox.jira.call import Call
from sandbox.jira.errors import fail
from sandbox.jira.ids import is_id

if TYPE_CHECKING:
    from sandbox.jira.sandbox import JiraSandbox
    from sandbox.jira.store import JiraStore

LIMIT = 1000
MESSAGES = {"issueIsSubtask": "Issue is subtask.", "issuesNotFound": "Issue not found."}


def _is_subtask(store: JiraStore, issue: Any) -> bool:
    return issue.type_id == C.SUBTASK or store.issue_types.get(issue.type_id, ("", 0, False, ""))[2]


def _archive(store: JiraStore, issue_id: int) -> int:
    """Move one issue and its sub-tasks out of the live store; returns how many moved."""
    moved = 0
    subtasks = [k for k in store.children.get(issue_id, ())
                if k in store.issues and _is_subtask(store, store.issues[k])]
    for iid in [issue_id, *sorted(subtasks)]:
        issue = store.issues.pop(iid, None)
        if issue is None:
            continue
        store.by_key.pop(issue.key, None)
        store.work.setdefault("archived", {})[iid] = issue
        store.index.submit(iid, None, store.lag())
        moved += 1
    return moved


def _unarchive(store: JiraStore, issue_id: int) -> int:
    archived = store.work.setdefault("archived", {})
    moved = 0
    subtasks = [k for k, i in archived.items() if i.parent_id == issue_id and _is_subtask(store, i)]
    for iid in [issue_id, *sorted(subtasks)]:
        issue = archived.pop(iid, None)
        if issue is None:
            continue
        store.issues[iid] = issue
        store.by_key[issue.key] = iid
        store.index.submit(iid, issue, store.lag())
        moved += 1
    return moved


def register(sb: JiraSandbox) -> None:
    def find(ref: str, archived: bool) -> Any:
        text = ref.strip()
        if not archived:
            return sb.store.resolve(text)
        pool = sb.store.work.setdefault("archived", {})
        if is_id(text):  # not isdecimal(): '٣' read as 3, 5,000 digits a 500 [round 27]
            return pool.get(int(text))
        return next((i for i in pool.values() if i.key == text.upper()), None)

    def run(c: Call, archive: bool) -> Response:
        if not sb.holds(c.user, "ADMINISTER", []):  # type: ignore[attr-defined]  # routes_roles
            raise fail(403, "Only admins can archive or unarchive issues. Access denied.")
        refs = c.obj().get("issueIdsOrKeys")
        if not isinstance(refs, list) or not refs:
            raise fail(400, "No valid issue to archive or unarchive. Bad request.")
        errors: dict[str, list[str]] = {}
        updated = 0
        with sb.store.lock:  # every ref is judged before any issue moves (a listed sub-task stays "subtask")
            valid = []
            for ref in [str(r) for r in refs[:LIMIT]]:
                issue = find(ref, not archive)
                if issue is None:
                    errors.setdefault("issuesNotFound", []).append(ref)
                elif _is_subtask(sb.store, issue):
                    errors.setdefault("issueIsSubtask", []).append(ref)
                else:
                    valid.append(issue.id)
            for ident in dict.fromkeys(valid):
                updated += (_archive if archive else _unarchive)(sb.store, ident)
        if len(refs) > LIMIT:
            raise fail(412, "The number of issues to archive or unarchive exceeds the hard limit of 1000. "
                            "Precondition failed.")
        if not updated:
            raise fail(400, "No valid issue to archive or unarchive. Bad request.")
        return json_response({"errors": {k: {"count": len(v), "issueIdsOrKeys": v, "message": MESSAGES[k]}
                                         for k, v in errors.items()}, "numberOfIssuesUpdated": updated})

    sb.route("PUT", r"/issue/archive", lambda c: run(c, True), "write")
    sb.route("PUT", r"/issue/unarchive", lambda c: run(c, False), "write")
