"""Events API events that are not messages, for an app subscribed to them (`sandbox.slack.events`):

- `channel_created`, `channel_archive`, `channel_unarchive`, `channel_rename` for public channels (sent
  workspace-wide, bot member or not, as Slack sends them under channels:read); a private channel's are
  `group_archive`, `group_unarchive`, `group_rename`, sent only when the bot is in it (groups:read);
- `tokens_revoked` when auth.revoke revokes a token (`tokens: {"bot": [bot user id]}`, a user token's
  `{"oauth": [user id]}`) or apps.uninstall revokes them all, then `app_uninstalled` (`sandbox.slack.oauth`);
- `app_home_opened` when a person opens the app's Home or Messages tab (`sb.open_app_home(user, tab)`),
  with the Home view the app published for them (views.publish), as Slack sends it.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sandbox.slack.events import Events

WORKSPACE_EVENTS = ("channel_created", "channel_archive", "channel_unarchive", "channel_rename", "group_archive",
                    "group_unarchive", "group_rename", "tokens_revoked", "app_home_opened", "app_uninstalled")


def _ts() -> str:
    return f"{time.time():.6f}"


def _scope(channel: dict[str, Any], kind: str) -> tuple[dict[str, Any] | None, str]:
    """(the channel to check membership of, or None for workspace-wide; the event type)."""
    if channel.get("is_private"):
        return channel, "group_" + kind
    return None, "channel_" + kind


def created(events: Events, channel: dict[str, Any]) -> str | None:
    if channel.get("is_private"):
        return None  # Slack has no event for a new private channel (the creator's member_joined_channel)
    return events.emit(None, "channel_created", {
        "type": "channel_created", "channel": {k: channel.get(k) for k in ("id", "name", "created", "creator")},
        "event_ts": _ts()})


def archived(events: Events, channel: dict[str, Any], archived: bool, user: str) -> str | None:
    where, kind = _scope(channel, "archive" if archived else "unarchive")
    event: dict[str, Any] = {"type": kind, "channel": channel["id"], "user": user, "event_ts": _ts()}
    if archived and not channel.get("is_private"):
        event["is_moved"] = 0
    return events.emit(where, kind, event)


def renamed(events: Events, channel: dict[str, Any]) -> str | None:
    where, kind = _scope(channel, "rename")
    return events.emit(where, kind, {"type": kind, "channel": {
        "id": channel["id"], "name": channel["name"], "created": channel.get("created"),
        "is_channel": not channel.get("is_private"), "is_mpim": False}, "event_ts": _ts()})


def tokens_revoked(events: Events, user_id: str, kind: str = "bot") -> str | None:
    tokens = {"bot": [user_id]} if kind == "bot" else {"oauth": [user_id]}
    return events.emit(None, "tokens_revoked", {"type": "tokens_revoked", "tokens": tokens, "event_ts": _ts()})


def app_uninstalled(events: Events, user_ids: list[str]) -> list[str]:
    """apps.uninstall: `tokens_revoked` (every user token's person under `oauth`, the bot under `bot`), then
    `app_uninstalled`, as Slack sends both to an app subscribed to them [unc: the order]."""
    tokens: dict[str, list[str]] = {"oauth": user_ids} if user_ids else {}
    tokens["bot"] = [events.sb.workspace.bot_user_id]
    ids = [events.emit(None, "tokens_revoked", {"type": "tokens_revoked", "tokens": tokens, "event_ts": _ts()}),
           events.emit(None, "app_uninstalled", {"type": "app_uninstalled", "event_ts": _ts()})]
    return [i for i in ids if i]


def app_home_opened(events: Events, dm: dict[str, Any], user: str, tab: str,
                    view: dict[str, Any] | None) -> str | None:
    event: dict[str, Any] = {"type": "app_home_opened", "user": user, "channel": dm["id"], "tab": tab,
                             "event_ts": _ts()}
    if view is not None and tab == "home":
        event["view"] = view
    return events.emit(dm, "app_home_opened", event)
