"""Moving an issue to another project or issue type (what `POST /bulk/issues/move` does to each issue).

The issue keeps its id and gets the next key of the target project; the old key keeps resolving to it
(`store.by_key` keeps the old entry, so `GET /issue/OLD-1` answers the issue under its new key, as Jira Cloud
does). Components and versions belong to the source project and are dropped when the project changes [unc:
Cloud asks for a mapping of them in the UI]. One changelog entry records `Key` and `project` (and the issue
type, components and versions that changed) [unc: Cloud's exact items], with an `issue_moved` update webhook.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sandbox.jira.model import Issue
    from sandbox.jira.store import JiraStore


def move_items(store: JiraStore, old: Issue, new_project: str, new_key: str) -> list[dict[str, Any]]:
    """The changelog items of a project change (`changes.diff_items` calls this for its `_move` entry)."""
    if old.project == new_project:
        return []
    src, dst = store.projects[old.project], store.projects[new_project]
    return [{"field": "Key", "fieldtype": "jira", "from": None, "fromString": old.key, "to": None,
             "toString": new_key},
            {"field": "project", "fieldtype": "jira", "fieldId": "project", "from": src.id, "fromString": src.name,
             "to": dst.id, "toString": dst.name}]


def move(store: JiraStore, issue_id: int, project: str, type_id: str, parent_id: int | None, actor: str) -> Issue:
    """Move one issue (not its sub-tasks: the caller moves them too); returns the new record."""
    with store.lock:
        old = store.issues[issue_id]
        changes: dict[str, Any] = {}
        if old.project != project:
            store.next_num[project] += 1
            num = store.next_num[project]
            key = f"{project}-{num}"
            changes.update(project=project, num=num, key=key, components=(), fix_versions=(), versions=(),
                           _move=(project, key))
        if type_id != old.type_id:
            changes["type_id"] = type_id
        if parent_id is not None and parent_id != old.parent_id:
            changes["parent_id"] = parent_id
        if not changes:
            return old
        new, _history = store.update(issue_id, changes, actor, "issue_moved")
        store.by_key[new.key] = issue_id  # the old key stays in by_key: it resolves to the moved issue
        return new
