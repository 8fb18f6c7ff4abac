"""The Administer-Jira guard of admin-only routes.

`admin_only(sb, handler)` answers 403 before `handler` runs when the caller lacks the global Administer Jira
permission (membership of `jira-admins`, `routes_roles`), as the spec documents for `/workflowscheme`,
`/workflowscheme/{id}`, `/issuetypescheme`, `/issuetypescheme/mapping`, `/fieldconfigurationscheme` and
`/issuesecurityschemes` (+ `/{id}`). `/permissionscheme`, `/notificationscheme` and `/priorityscheme` need only
"permission to access Jira" (the spec lists no 403 for them), so they stay unguarded.
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


def admin_only(sb: JiraSandbox, handler: Callable[[Call], Response]) -> Callable[[Call], Response]:
    """`handler`, behind Jira's 403 for callers without the Administer Jira global permission."""
    def guarded(c: Call) -> Response:
        if not sb.holds(c.user, "ADMINISTER", []):  # type: ignore[attr-defined]  # routes_roles
            raise fail(403, ADMIN_REQUIRED)
        return handler(c)
    return guarded
