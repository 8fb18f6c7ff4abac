"""`JqlContext`: what JQL compilation needs from the Jira sandbox (the store's lookups, the caller's time zone and
now); made per query by `JiraSandbox.jql`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sandbox.jira import routes_groups
from sandbox.jira.ids import is_id
from sandbox.jira.store import JiraStore


class JqlContext:
    """What JQL compilation needs: the store's lookups, the caller's time zone and now."""

    def __init__(self, store: JiraStore, tz: str, me: str,
                 sees_filter: Callable[[dict[str, Any]], bool] | None = None) -> None:
        self.store, self.tz, self.me = store, tz, me
        self._sees_filter = sees_filter
        self.now_ms = store.now_ms()
        self.projects, self.sprints, self.users = store.projects, store.sprints, store.users
        self.work, self.link_types, self.links_of = store.work, store.link_types, store.links_of
        self.issue_types = store.issue_types
        self.relations_version, self.volatile = store.relations_version, False
        self.history_of, self.attachments_of = store.history_of, store.attachments_of

    def group_members(self, name: str) -> list[str] | None:
        """A group's members (matched case-insensitively, as Jira's group names are), or None."""
        groups = routes_groups.groups_of(self)  # type: ignore[arg-type]  # reads only `.store`
        found = next((g for g in list(groups) if g.lower() == name.lower()), None)
        return None if found is None else list(groups[found])

    def sees_filter(self, f: dict[str, Any]) -> bool:
        """Whether the caller may see a saved filter (`filter = X` finds only those); all of them without a rule."""
        return self._sees_filter is None or self._sees_filter(f)

    def reported_by(self, account_id: str) -> list[Any]:
        return [i for i in list(self.store.issues.values()) if i.reporter == account_id]

    def resolve_issue(self, ref: str) -> Any:
        return self.store.resolve(ref) or self.store.index.get(int(ref) if is_id(ref) else
                                                               self.store.by_key.get(ref.upper(), -1))
