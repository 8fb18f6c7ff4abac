"""Enterprise Grid: the sandbox's workspace as one workspace of an Enterprise Grid org, and the app installed
org-wide (an org-ready app an org admin installs for the whole org), as Slack reports such an install.

Off by default (a standalone workspace: `enterprise` null, `is_enterprise_install` false everywhere).
`sb.configure_enterprise(org_wide=True)` (or `PUT /_sandbox/enterprise {"org_wide": true}`) turns it on:

- `oauth.v2.access` (codes and refreshes): `"is_enterprise_install": true`, `"enterprise": {"id": "E…",
  "name"}`, `"team": null`, as Slack documents for org-wide installs.
- `auth.test`: `enterprise_id` and `is_enterprise_install: true`; the url, team and team_id stay the
  workspace's [unc: what auth.test names for an org-level token].
- Event envelopes: `enterprise_id` and `context_enterprise_id` set; the authorization has the enterprise
  id, `team_id` null and `is_enterprise_install: true` (what bolt's installation lookup keys on); the
  envelope's `team_id` is still the workspace the event happened in.
- Interaction payloads (clicks, modals, shortcuts): `enterprise {id, name}` and `is_enterprise_install: true`;
  slash commands: `enterprise_id`, `enterprise_name`, `is_enterprise_install: "true"`.
- Assistant thread contexts carry the enterprise id.
[not emulated: other workspaces of the org (every call acts in the sandbox's one workspace), admin.*
methods, org-level user ids (`W…`), who may approve an org-wide install (anyone here).]
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.core.http import Request, Response, Router, json_response
from sandbox.slack.seed import slack_id

if TYPE_CHECKING:
    from sandbox.slack.app import SlackSandbox


class Enterprise:
    """The org the workspace belongs to, and whether the app is installed org-wide."""

    def __init__(self, sb: SlackSandbox) -> None:
        self.sb = sb
        self.id = slack_id("E", sb.workspace.seed, "enterprise")
        self.name = f"{sb.team} Org"
        self.org_wide = False

    def configure(self, org_wide: bool | None = None, name: str | None = None) -> dict[str, Any]:
        if org_wide is not None:
            self.org_wide = bool(org_wide)
        if name:
            self.name = str(name)
        return self.settings()

    def settings(self) -> dict[str, Any]:
        return {"org_wide": self.org_wide, "enterprise": {"id": self.id, "name": self.name}}

    @property
    def org(self) -> dict[str, str] | None:
        """`{"id", "name"}` of the org while installed org-wide, else None."""
        return {"id": self.id, "name": self.name} if self.org_wide else None

    @property
    def org_id(self) -> str | None:
        return self.id if self.org_wide else None

    def oauth_fields(self) -> dict[str, Any]:
        """The `team` / `enterprise` / `is_enterprise_install` fields of an oauth.v2.access answer."""
        ws = self.sb.workspace
        team = None if self.org_wide else {"id": ws.team_id, "name": ws.team}
        return {"team": team, "enterprise": self.org, "is_enterprise_install": self.org_wide}

    def payload_fields(self) -> dict[str, Any]:
        """An interaction payload's `enterprise` and `is_enterprise_install`."""
        return {"enterprise": self.org, "is_enterprise_install": self.org_wide}

    def command_fields(self) -> dict[str, str]:
        """A slash command's form fields for the org (strings, as Slack posts them)."""
        extra = {"enterprise_id": self.id, "enterprise_name": self.name} if self.org_wide else {}
        return {**extra, "is_enterprise_install": "true" if self.org_wide else "false"}

    def authorization(self, user_id: str) -> dict[str, Any]:
        """An event envelope's `authorizations` entry for the app's bot."""
        return {"enterprise_id": self.org_id, "team_id": None if self.org_wide else self.sb.workspace.team_id,
                "user_id": user_id, "is_bot": True, "is_enterprise_install": self.org_wide}


def add_enterprise_routes(sb: SlackSandbox, admin: Router) -> None:
    def put(req: Request) -> Response:
        body = req.json() or {}
        if not isinstance(body, dict):
            return json_response({"error": "the body is a JSON object: {org_wide?, name?}"}, 400)
        return json_response(sb.enterprise.configure(body.get("org_wide"), body.get("name")))

    admin.add("GET", r"/_sandbox/enterprise", lambda r: json_response(sb.enterprise.settings()))
    admin.add("PUT", r"/_sandbox/enterprise", put)
