"""The seeded Slack workspace: team, bot user, human users and channels.

Ids look like Slack's (T…, U…, B…, C…, G… for private channels) and depend only on the seed.
Channel flags that drive Web API errors: `is_archived` (is_archived / channel_is_archived),
`is_private` with `is_member` False (channel_not_found: invisible to the bot). The bot is a member of every
channel but #random (public: it may post there, not read it) and #secops-private.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

EMAIL_DOMAIN = "projectx.example"
SLACKBOT_ID = "USLACKBOT"  # every workspace's built-in Slackbot (users.list lists it; not a bot user: is_bot false)
# (name, private, archived, bot is member, purpose)
CHANNELS = (
    ("general", False, False, True, "Company-wide announcements"),
    ("random", False, False, False, "Non-work banter"),
    ("alerts-servicenow", False, False, True, "ServiceNow sync alerts"),
    ("alerts-jira", False, False, True, "Jira sync alerts"),
    ("alerts-onetrust", False, False, True, "OneTrust sync alerts"),
    ("compliance-delivery", False, False, True, "Compliance deliverables and evidence"),
    ("vendor-management", False, False, True, "Third-party risk and vendor reviews"),
    ("stg-integrations", False, False, True, "Staging integration notifications"),
    ("prod-integrations", False, False, True, "Production integration notifications"),
    ("secops-private", True, False, False, "Security operations (private)"),
    ("legacy-alerts", False, True, True, "Archived: old alert feed"),
)
PEOPLE = (
    ("Amelia Hart", "amelia.hart", "Europe/London"), ("Bruno Keller", "bruno.keller", "Europe/Berlin"),
    ("Chen Wei", "chen.wei", "Asia/Singapore"), ("Dana Okafor", "dana.okafor", "America/New_York"),
    ("Elif Yilmaz", "elif.yilmaz", "Europe/Istanbul"), ("Farah Haddad", "farah.haddad", "Europe/Paris"),
    ("Gustavo Lima", "gustavo.lima", "America/Sao_Paulo"), ("Priya Nair", "priya.nair", "Asia/Kolkata"),
)


def slack_id(prefix: str, seed: int, key: str, length: int = 10) -> str:
    digest = hashlib.blake2b(f"{seed}:{prefix}:{key}".encode(), digest_size=16).hexdigest().upper()
    return prefix + digest[: length - 1]


@dataclass
class Workspace:
    seed: int
    team_id: str
    team: str
    domain: str
    bot_user_id: str
    bot_id: str
    app_id: str
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    channels: dict[str, dict[str, Any]] = field(default_factory=dict)

    def channel(self, ref: str) -> dict[str, Any] | None:
        """A channel by id or by name (with or without '#')."""
        if ref in self.channels:
            return self.channels[ref]
        name = ref.lstrip("#")
        return next((c for c in self.channels.values() if c["name"] == name), None)


def _tz_offset(tz: str) -> int:
    """Seconds east of UTC in `tz` now, as Slack's `tz_offset` (0 for an unknown zone)."""
    try:
        offset = datetime.now(ZoneInfo(tz)).utcoffset()
    except (ZoneInfoNotFoundError, ValueError):
        return 0
    return int(offset.total_seconds()) if offset else 0


# Slack's `tz_label` is the zone's long name in force now ("Pacific Daylight Time" in its examples); [unc] the
# wording for zones outside the examples. Keyed by zone: (standard-time label, summer-time label).
_TZ_LABELS = {
    "America/Los_Angeles": ("Pacific Standard Time", "Pacific Daylight Time"),
    "America/New_York": ("Eastern Standard Time", "Eastern Daylight Time"),
    "America/Sao_Paulo": ("Brasilia Standard Time", "Brasilia Summer Time"),
    "Asia/Kolkata": ("India Standard Time", "India Standard Time"),
    "Asia/Singapore": ("Singapore Standard Time", "Singapore Standard Time"),
    "Europe/Berlin": ("Central European Time", "Central European Summer Time"),
    "Europe/Paris": ("Central European Time", "Central European Summer Time"),
    "Europe/Istanbul": ("Turkey Time", "Turkey Time"),
    "Europe/London": ("Greenwich Mean Time", "British Summer Time"),
}


def _tz_label(tz: str) -> str:
    """The long name of `tz` now, as Slack's `tz_label` (the zone id itself for a zone not in _TZ_LABELS)."""
    if tz not in _TZ_LABELS:
        return tz
    dst = datetime.now(ZoneInfo(tz)).dst()
    return _TZ_LABELS[tz][1 if dst else 0]


def _user(ws: Workspace, uid: str, name: str, handle: str, tz: str, bot: bool = False) -> dict[str, Any]:
    """A user object with the fields of Slack's users.info example (profile images, status, color, ...)."""
    email = None if bot else f"{handle}@{EMAIL_DOMAIN}"
    first, _, last = name.partition(" ")
    digest = hashlib.sha256(uid.encode()).hexdigest()
    profile: dict[str, Any] = {
        "title": "", "phone": "", "skype": "", "real_name": name, "real_name_normalized": name,
        "display_name": handle, "display_name_normalized": handle, "fields": None, "status_text": "",
        "status_emoji": "", "status_emoji_display_info": [], "status_expiration": 0, "avatar_hash": digest[:12],
        "first_name": first, "last_name": last, "team": ws.team_id,
        **{f"image_{n}": f"https://avatars.slack-edge.example/{uid}_{n}.png" for n in (24, 32, 48, 72, 192, 512)}}
    if email:
        profile["email"] = email
    if bot:
        profile.update(bot_id=ws.bot_id, api_app_id=ws.app_id, always_active=False)
    return {"id": uid, "team_id": ws.team_id, "name": handle, "deleted": False, "color": digest[12:18],
            "real_name": name, "tz": tz, "tz_label": _tz_label(tz), "tz_offset": _tz_offset(tz), "profile": profile,
            "is_admin": False, "is_owner": False, "is_primary_owner": False, "is_restricted": False,
            "is_ultra_restricted": False, "is_bot": bot, "is_app_user": False, "updated": 1_760_000_000,
            "is_email_confirmed": not bot, "who_can_share_contact_card": "EVERYONE"}


def slackbot(ws: Workspace) -> dict[str, Any]:
    """Slackbot as users.list / users.info show it: no e-mail, `is_bot` false, always active; [unc] its tz
    (Slack's examples show America/Los_Angeles) and the a.slack-edge.com image paths."""
    user = _user(ws, SLACKBOT_ID, "Slackbot", "slackbot", "America/Los_Angeles")
    profile = user["profile"]
    del profile["email"]
    profile.update(display_name="Slackbot", display_name_normalized="Slackbot", first_name="slackbot",
                   last_name="", always_active=True, fields={}, avatar_hash="sv41d8cd98f0",
                   **{f"image_{n}": f"https://a.slack-edge.com/80588/img/slackbot_{n}.png"
                      for n in (24, 32, 48, 72, 192, 512)})
    user.update(color="757575", updated=0, is_email_confirmed=False)
    return user


def im_id(ws: Workspace, user_id: str) -> str:
    """The id of the bot's DM with `user_id` (Slackbot's an ordinary D id, as Slack's)."""
    return slack_id("D", ws.seed, "im:slackbot") if user_id == SLACKBOT_ID else "D" + user_id[1:]


def channel_extras(ws: Workspace, created: int) -> dict[str, Any]:
    """Fields Slack's conversation objects carry that nothing here changes (besides `previous_names`)."""
    return {"updated": created * 1000, "parent_conversation": None, "shared_team_ids": [ws.team_id],
            "pending_shared": [], "pending_connected_team_ids": [], "previous_names": []}


def build_workspace(seed: int, team: str = "Project X") -> Workspace:
    ws = Workspace(seed=seed, team_id=slack_id("T", seed, "team"), team=team, domain="projectx-sandbox",
                   bot_user_id=slack_id("U", seed, "bot"), bot_id=slack_id("B", seed, "bot"),
                   app_id=slack_id("A", seed, "app"))
    ws.users[ws.bot_user_id] = _user(ws, ws.bot_user_id, "Project X Integrations", "projectx-bot", "UTC", bot=True)
    for name, handle, tz in PEOPLE:
        uid = slack_id("U", seed, handle)
        ws.users[uid] = _user(ws, uid, name, handle, tz)
    creator = next(iter(u for u in ws.users if u != ws.bot_user_id))
    for n, (name, private, archived, member, purpose) in enumerate(CHANNELS):
        cid = slack_id("G" if private else "C", seed, name)
        created = 1_700_000_000 + n * 86_400
        ws.channels[cid] = {
            "id": cid, "name": name, "is_channel": not private, "is_group": private, "is_im": False,
            "is_mpim": False, "is_private": private, "created": created, "is_archived": archived,
            "is_general": name == "general", "unlinked": 0, "name_normalized": name, "is_shared": False,
            "is_org_shared": False, "is_pending_ext_shared": False, "is_ext_shared": False, "context_team_id":
            ws.team_id, "creator": creator, "is_member": member,
            "topic": {"value": "", "creator": "", "last_set": 0},
            "purpose": {"value": purpose, "creator": creator, "last_set": created},
            "num_members": len(ws.users) if member else len(ws.users) - 1, **channel_extras(ws, created),
        }
    ws.users[SLACKBOT_ID] = slackbot(ws)  # in no channel; users.list shows it last
    return ws
