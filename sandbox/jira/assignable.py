"""Who may be assigned issues in a project (the *Assignable User* project permission).

Jira Cloud lets only active Atlassian accounts with access to the project be assignees: the default permission
scheme grants *Assignable User* to the project's Member and Administrators roles (`routes_roles`; Member holds
the `jira-software-users` group, i.e. everyone with Jira access). A create, edit, bulk edit or
`PUT /issue/{key}/assignee` naming anyone else is Jira's 400 `{"errors": {"assignee": "User '<accountId>'
cannot be assigned issues."}}` [unc: the wording], and `/user/assignable/search` leaves them out. Jira access
is membership of one of the product's groups (`jira-software-users`, `jira-admins`, `site-admins`): removing a
user from them (DELETE `/group/user`) takes it away, even from a project lead [unc]. Deactivated users and app
accounts are never assignable.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sandbox.jira.store import JiraStore


def refusal(account: str) -> str:
    return f"User '{account}' cannot be assigned issues."


def assignable(store: JiraStore, account: str, project: str) -> bool:
    from sandbox.jira.routes_groups import GROUPS, group_members
    from sandbox.jira.routes_roles import ADMINS, MEMBER, in_role

    user = store.users.get(account)
    if user is None or not user.active or user.account_type != "atlassian" or project not in store.projects:
        return False
    shim = SimpleNamespace(store=store)  # `in_role` and `group_members` read only `.store`
    if not any(account in group_members(shim, g) for g in GROUPS):  # type: ignore[arg-type]
        return False  # no Jira access (the product's groups grant it) [unc: a lead without access]
    return in_role(shim, account, project, MEMBER) or in_role(shim, account, project, ADMINS)
