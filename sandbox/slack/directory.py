"""Workspace look-ups: users.info / users.list / users.lookupByEmail (`locale` with include_locale), team.info,
team.billing.info / team.preferences.list (scopes team.billing:read / team.preferences:read),
team.profile.get, auth.teams.list, bots.info, users.profile.get, users.getPresence / users.setPresence,
dnd.info / dnd.teamInfo, emoji.list (`categories` with include_categories) (team_not_found, bot_not_found,
user_not_found, invalid_presence),
Slackbot (`USLACKBOT`, `sandbox.slack.seed.slackbot`) listed last and always active;
shaped after Slack's documented examples (user groups: `sandbox.slack.usergroups`); presence is fixed per
person (the bot is away, as a bot user without Socket Mode is, whatever it sets); nobody has Do Not Disturb
on (Slack's `next_dnd_*_ts` are then 1); a person's snooze (dnd.setSnooze): `sandbox.slack.personal`."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from sandbox.slack import paging
from sandbox.slack.actor import actor_id
from sandbox.slack.emoji_names import CATEGORIES, CATEGORIES_VERSION
from sandbox.slack.seed import EMAIL_DOMAIN, SLACKBOT_ID
from sandbox.slack.webapi import SlackError, _flag, _limit

if TYPE_CHECKING:
    from sandbox.slack.webapi import WebApi

EMOJI = {"projectx": "https://emoji.slack-edge.example/projectx.png", "approved": "alias:white_check_mark"}


class DirectoryApi:
    def __init__(self, api: WebApi) -> None:
        self.api, self.sb = api, api.sb
        self.methods = {"users.info": self.users_info, "users.list": self.users_list,
                        "users.lookupByEmail": self.users_lookup_by_email, "team.info": self.team_info,
                        "bots.info": self.bots_info,
                        "users.profile.get": self.profile_get, "users.getPresence": self.presence,
                        "emoji.list": self.emoji_list, "users.setPresence": self.set_presence,
                        "dnd.info": self.dnd_info, "dnd.teamInfo": self.dnd_team_info,
                        "auth.teams.list": self.teams_list, "team.profile.get": self.team_profile,
                        "team.billing.info": self.team_billing, "team.preferences.list": self.team_preferences}

    def team_billing(self, args: dict[str, Any]) -> dict[str, Any]:
        """team.billing.info: the workspace's plan ("free", "std" Pro, "plus" Business+, "enterprise" [Grid]);
        an Enterprise org-wide install is on "enterprise", a standalone workspace on "std" [unc: the seeded plan]."""
        return {"plan": "enterprise" if self.sb.enterprise.org_wide else "std"}

    def team_preferences(self, args: dict[str, Any]) -> dict[str, Any]:
        """team.preferences.list: the workspace's settings apps may read, the values of Slack's example answer."""
        return {"msg_edit_window_mins": -1, "allow_message_deletion": True, "display_real_names": False,
                "disable_file_uploads": "allow_all", "who_can_post_general": "everyone"}

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
        uid = str(args.get("user") or actor_id(self.sb))
        user = self.sb.workspace.users.get(uid)
        if user is None:
            raise SlackError("user_not_found")
        return {"profile": dict(user["profile"])}

    def presence(self, args: dict[str, Any]) -> dict[str, Any]:
        ws = self.sb.workspace
        uid = str(args.get("user") or ws.bot_user_id)
        if uid not in ws.users:
            raise SlackError("user_not_found")
        away = uid == ws.bot_user_id or (uid != SLACKBOT_ID and sum(uid.encode()) % 3 == 0)  # Slackbot: always
        return {"presence": "away" if away else "active"}

    def set_presence(self, args: dict[str, Any]) -> dict[str, Any]:
        if args.get("presence") not in ("auto", "away"):
            raise SlackError("invalid_presence")
        return {}

    @staticmethod
    def _dnd() -> dict[str, Any]:
        return {"dnd_enabled": False, "next_dnd_start_ts": 1, "next_dnd_end_ts": 1}

    def dnd_info(self, args: dict[str, Any]) -> dict[str, Any]:
        uid = str(args.get("user") or self.sb.workspace.bot_user_id)
        if uid not in self.sb.workspace.users:
            raise SlackError("user_not_found")
        return {**self._dnd(), "snooze_enabled": False}

    def dnd_team_info(self, args: dict[str, Any]) -> dict[str, Any]:
        ids = [u.strip() for u in str(args.get("users") or "").split(",") if u.strip()]
        if any(u not in self.sb.workspace.users for u in ids):
            raise SlackError("user_not_found")
        return {"users": {u: self._dnd() for u in ids}}

    def teams_list(self, args: dict[str, Any]) -> dict[str, Any]:
        ws = self.sb.workspace
        return {"teams": [{"id": ws.team_id, "name": ws.team}], "response_metadata": {"next_cursor": ""}}

    def team_profile(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"profile": {"fields": [], "sections": []}}

    def emoji_list(self, args: dict[str, Any]) -> dict[str, Any]:
        """The workspace's custom emoji; with include_categories also Slack's standard emoji by picker category
        (`categories` [{name, emoji_names}], `categories_version`), as the Web API's EmojiListResponse."""
        out: dict[str, Any] = {"emoji": dict(EMOJI), "cache_ts": "1760000000.000000"}
        if _flag(args.get("include_categories")):
            out.update(categories_version=CATEGORIES_VERSION,
                       categories=[{**c, "emoji_names": list(c["emoji_names"])} for c in CATEGORIES])
        return out

    def _person(self, user: dict[str, Any], args: dict[str, Any]) -> dict[str, Any]:
        """A user object as answered; `locale` only with include_locale, the e-mail only with the
        users:read.email scope, as Slack."""
        out = {**user, "locale": "en-US"} if _flag(args.get("include_locale")) else dict(user)
        if not self.sb.grants.has("users:read.email") and "email" in user["profile"]:
            out["profile"] = {k: v for k, v in user["profile"].items() if k != "email"}
        return out

    def users_list(self, args: dict[str, Any]) -> dict[str, Any]:
        limit = _limit(args, 0, 1000)  # users.list's default is 0: no limit, the whole set (Slack documents it)
        users = self.sb.workspace.users  # Slackbot last, as after every U… id sorted ([unc] Slack's order)
        place = paging.positions(list(users))  # a stable `user:U…` cursor, as Slack's (`sandbox.slack.paging`)

        def key_of(uid: str) -> tuple[bool, int] | None:
            at = place(uid)
            return None if at is None else (uid == SLACKBOT_ID, at)

        rows = sorted(users.values(), key=lambda u: u["id"] == SLACKBOT_ID)
        shown, cursor, _ = paging.page(rows, args.get("cursor"), limit or len(rows) or 1, "user",
                                       lambda u: u["id"], key_of)
        return {"members": [self._person(u, args) for u in shown], "cache_ts": int(time.time()),
                "response_metadata": {"next_cursor": cursor}}

    def users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self.sb.workspace.users.get(str(args.get("user") or ""))
        if user is None:
            raise SlackError("user_not_found")
        return {"user": self._person(user, args)}

    def users_lookup_by_email(self, args: dict[str, Any]) -> dict[str, Any]:
        email = str(args.get("email") or "").lower()
        for user in self.sb.workspace.users.values():
            if user["profile"].get("email", "").lower() == email and email and not user["deleted"]:
                return {"user": dict(user)}  # a deactivated person: users_not_found (Slack's docs) [round 30]
        raise SlackError("users_not_found")
