"""The Administer-Jira guard of admin-only routes.

`admin_only(sb, handler)` answers 403 before `handler` runs when the caller lacks the global Administer Jira
permission (membership of `jira-admins`, `routes_roles`), as the spec documents for `/workflowscheme`,
`/workflowscheme/{id}`, `/issuetypescheme`, `/issuetypescheme/mapping`, `/fieldconfigurationscheme` and
`/issuesecurityschemes` (+ `/{id}`). `/permissionscheme`, `/notificationscheme` and `/priorityscheme` need only
"permission to access Jira" (the spec lists no 403 for them), so they stay unguarded.

`site_admin_only` is the spec's "Site administration" (membership of `site-admins`: group and user management),
`require_project_admin` Administer Jira or Administer Projects for the project (roles, versions, components,
project properties), answered with the status the spec gives for that operation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from sandbox.core.http import Response
from sandbox.jira.call import Call
from sandbox.jira.errors import fail

if TYPE_CHECKING:
    from sandbox.jira.sandbox import JiraSandbox

ADMIN_REQUIRED = "You are not authorized to perform this action. Administrator privileges are required."  # [unc]


def admin_only(sb: JiraSandbox, handler: Callable[[Call], Response], status: int = 403,
               message: str = ADMIN_REQUIRED) -> Callable[[Call], Response]:
    """`handler`, behind Jira's 403 (or the `status` the spec gives that operation) for callers without the
    Administer Jira global permission."""
    def guarded(c: Call) -> Response:
        if not sb.holds(c.user, "ADMINISTER", []):  # type: ignore[attr-defined]  # routes_roles
            raise fail(status, message)
        return handler(c)
    return guarded


SITE_ADMIN_REQUIRED = "You do not have permission to perform this action. Site administration is required."  # [unc]


def site_admin_only(sb: JiraSandbox, handler: Callable[[Call], Response]) -> Callable[[Call], Response]:
    """`handler`, behind the 403 for callers outside the `site-admins` group (the spec's "Site administration"
    that group and user management need; the Jira System Administrators global permission here)."""
    def guarded(c: Call) -> Response:
        if not sb.holds(c.user, "SYSTEM_ADMIN", []):  # type: ignore[attr-defined]  # routes_roles
            raise fail(403, SITE_ADMIN_REQUIRED)
        return handler(c)
    return guarded


def administers(sb: JiraSandbox, user: str, project: str) -> bool:
    """Administer Jira, or Administer Projects for `project` (what project configuration writes need)."""
    return bool(sb.holds(user, "ADMINISTER", []) or  # type: ignore[attr-defined]  # routes_roles
                sb.holds(user, "ADMINISTER_PROJECTS", [project]))  # type: ignore[attr-defined]


def require_project_admin(sb: JiraSandbox, c: Call, project: str, status: int = 403,
                          message: str = "You cannot edit the configuration of this project.") -> None:  # [unc]
    """Raise `status` (the spec's answer for that operation) unless the caller administers `project` or Jira."""
    if not administers(sb, c.user, project):
        raise fail(status, message)
