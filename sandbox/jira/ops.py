"""Compound writes built on `JiraStore` primitives: transitions, touches, comment/attachment/link edits."""

from __future__ import annotations

from typing import Any

from sandbox.jira import catalog as C
from sandbox.jira.changes import parse_fields
from sandbox.jira.model import Attachment, Comment
from sandbox.jira.store import JiraStore

_CYCLE = [C.TODO_STATUS, "3", "10001", C.DONE_STATUS]


def status_changes(store: JiraStore, current: str, target: str, resolution: str | None = None) -> dict[str, Any]:
    """Attribute changes for moving to `target`: resolution set on Done, cleared when leaving Done."""
    changes: dict[str, Any] = {"status_id": target}
    if C.STATUSES[target][1] == "done":
        if C.STATUSES[current][1] != "done" or resolution:
            changes.update(resolution_id=resolution or "10000", resolved=store.now_ms())
    else:
        changes.update(resolution_id=None, resolved=None)
    return changes


def transition(store: JiraStore, issue_id: int, target: str, attrs: dict[str, Any], actor: str,
               metadata: dict[str, Any] | None = None) -> None:
    issue = store.issues[issue_id]
    changes = {**attrs, **status_changes(store, issue.status_id, target, attrs.get("resolution_id"))}
    kind = "issue_resolved" if C.STATUSES[target][1] == "done" else "issue_generic"
    store.update(issue_id, changes, actor, kind, metadata=metadata)


def touch_ids(store: JiraStore, ids: list[int], actor: str | None = None) -> list[str]:
    """Step each issue's status forward and add the "touched" label (updated = now, changelog entry)."""
    actor = actor or store.me.account_id
    keys = []
    for iid in ids:
        old = store.issues.get(iid)
        if old is None:
            continue
        nxt = _CYCLE[(_CYCLE.index(old.status_id) + 1) % len(_CYCLE)]
        changes = {**status_changes(store, old.status_id, nxt), "labels": tuple(sorted({*old.labels, "touched"}))}
        store.update(iid, changes, actor)
        keys.append(old.key)
    return keys


def touch(store: JiraStore, n: int, actor: str | None = None) -> list[str]:
    with store.lock:
        ids = store.rng.sample(sorted(store.issues), min(n, len(store.issues)))
    return touch_ids(store, ids, actor)


def find_comment(store: JiraStore, issue_id: int, comment_id: str) -> Comment | None:
    issue = store.issues[issue_id]
    return next((c for c in store.comments_of(issue) if str(c.id) == str(comment_id)), None)


def edit_comment(store: JiraStore, issue_id: int, comment_id: str, body: Any, actor: str,
                 visibility: Any = ...) -> Comment | None:
    """Replace a comment's body (and its visibility when one is given; None makes it public)."""
    with store.lock:
        store.issues[issue_id] = store._freeze(store.issues[issue_id])
        comment = find_comment(store, issue_id, comment_id)
        if comment is None:
            return None
        comment.body, comment.updated, comment.update_author = body, store.now_ms(), actor
        if visibility is not ...:
            comment.visibility = visibility
    store.update(issue_id, {}, actor, "issue_comment_edited", comment=comment)
    store._emit("comment_updated", "issue_comment_edited", store.issues[issue_id], actor, comment=comment)
    return comment


def delete_comment(store: JiraStore, issue_id: int, comment_id: str, actor: str) -> bool:
    with store.lock:
        store.issues[issue_id] = store._freeze(store.issues[issue_id])
        comment = find_comment(store, issue_id, comment_id)
        if comment is None:
            return False
        store._comments[issue_id].remove(comment)
    store.update(issue_id, {}, actor, "issue_comment_deleted", comment=comment)
    store._emit("comment_deleted", "issue_comment_deleted", store.issues[issue_id], actor, comment=comment)
    return True


def delete_attachment(store: JiraStore, attachment: Attachment, actor: str) -> None:
    with store.lock:
        issue = store.issues.get(attachment.issue_id)
        if issue is None:
            return
        store.issues[issue.id] = store._freeze(issue)
        store._attachments[issue.id] = [a for a in store._attachments[issue.id] if a.id != attachment.id]
    store.update(issue.id, {}, actor, "issue_updated")


def edit_as(store: JiraStore, key: str, fields: dict[str, Any], actor: str) -> None:
    """A person's edit: v2-style field values (`duedate`, `summary`, `labels`, `assignee`...) and
    `status` by name, applied as a transition would be; the changelog names `actor`."""
    issue = store.resolve(key)
    if issue is None:
        raise KeyError(key)
    fields = dict(fields)
    status = fields.pop("status", None)
    if fields:
        attrs, _, errors = parse_fields(store, fields, {}, "2", issue)
        if errors:
            raise ValueError(errors)
        store.update(issue.id, attrs, actor)
    if status is not None:
        transition(store, issue.id, C.STATUS_BY_NAME[status.lower()], {}, actor)
