"""Workspace look-ups: team.info, bots.info and users.profile.get (team_not_found, bot_not_found,
user_not_found), shaped after Slack's documented examples."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.slack.seed import EMAIL_DOMAIN
from sandbox.slack.webapi import SlackError

if TYPE_CHECKING:
    from sandbox.slack.webapi import WebApi


class DirectoryApi:
    def __init__(self, api: WebApi) -> None:
        self.api, self.sb = api, api.sb
        self.methods = {"team.info": self.team_info, "bots.info": self.bots_info,
                        "users.profile.get": self.profile_get}

    def team_info(self, args: dict[str, Any]) -> dict[str, Any]:
        ws = self.sb.workspace
        if args.get("team") and args["team"] != ws.team_id:
            raise SlackError("team_not_found")
        icon = {f"image_{n}": f"https://avatars.slack-edge.example/{ws.team_id}_{n}.png"
                for n in (34, 44, 68, 88, 102, 132, 230)}
        return {"team": {"id": ws.team_id, "name": ws.team, "url": f"https://{ws.domain}.slack.com/",
                         "domain": ws.domain, "email_domain": EMAIL_DOMAIN,
                         "icon": {**icon, "image_default": True}, "avatar_base_url": "https://ca.slack-edge.com/",
                         "is_verified": False, "lob_sales_home_enabled": False}}

    def bots_info(self, args: dict[str, Any]) -> dict[str, Any]:
        ws = self.sb.workspace
        if args.get("bot") and args["bot"] != ws.bot_id:
            raise SlackError("bot_not_found")
        icons = {f"image_{n}": f"https://avatars.slack-edge.example/{ws.bot_id}_{n}.png" for n in (36, 48, 72)}
        return {"bot": {"id": ws.bot_id, "deleted": False, "name": "Project X Integrations", "updated": 1_760_000_000,
                        "app_id": ws.app_id, "user_id": ws.bot_user_id, "icons": icons}}

    def profile_get(self, args: dict[str, Any]) -> dict[str, Any]:
        uid = str(args.get("user") or self.sb.workspace.bot_user_id)
        user = self.sb.workspace.users.get(uid)
        if user is None:
            raise SlackError("user_not_found")
        return {"profile": dict(user["profile"])}
