"""Who a Web API call acts as: the app's bot (the preinstalled `bot_token`, an OAuth bot token) or, for a user
token (xoxp-, `sandbox.slack.oauth`), the person who installed, as Slack does. A person sees every public
channel and the private channels, DMs and group DMs they are a member of (channel_not_found otherwise, as
Slack hides them); `is_member` on a conversation they read is theirs; an `im`'s `user` is the other party.
A person's DM with someone else (`conversations.open users=U…` with a user token, or chat.postMessage to a
user id) is a conversation of the two, invisible to the bot, as on Slack."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

from sandbox.slack.seed import channel_extras, slack_id

if TYPE_CHECKING:
    from sandbox.slack.app import SlackSandbox

_LOCK = threading.Lock()


def person(sb: SlackSandbox) -> str | None:
    """The person a user token acts as (None: the bot acts)."""
    caller = sb.caller()
    return caller.user_id if caller is not None and caller.kind == "user" else None


def actor_id(sb: SlackSandbox) -> str:
    """The user id the call acts as: the person's, else the bot user's."""
    return person(sb) or sb.workspace.bot_user_id


def is_member(sb: SlackSandbox, channel: dict[str, Any]) -> bool:
    uid = person(sb)
    return bool(channel["is_member"]) if uid is None else uid in sb.api.channels.member_ids(channel)


def sees(sb: SlackSandbox, channel: dict[str, Any]) -> bool:
    """Whether the caller can see a conversation: public ones always, private ones (DMs too) as a member."""
    return not channel["is_private"] or is_member(sb, channel)


def seen(sb: SlackSandbox, channel: dict[str, Any]) -> dict[str, Any]:
    """A copy of a conversation as the caller sees it (their `is_member`; an im's `user`: the other party)."""
    out = dict(channel)
    uid = person(sb)
    if uid is None:
        return out
    if not out.get("is_im"):
        out["is_member"] = uid in sb.api.channels.member_ids(channel)
    else:
        others = [u for u in sb.api.channels.member_ids(channel) if u != uid]
        out["user"] = others[0] if others else uid
        out.pop("is_member", None)  # Slack's im objects carry no is_member [unc]
    return out


def dm_for(sb: SlackSandbox, other: str) -> dict[str, Any]:
    """The caller's DM with user `other` (opened when new): the bot's DMs as before; a person's with the bot
    is the bot's DM with them, with anyone else a DM of the two."""
    me = person(sb)
    if me is None or other == sb.workspace.bot_user_id:
        return sb.dm_channel(me or other)
    cid, pair = dm_id(sb, other), sorted({me, other})
    with _LOCK:
        channel = sb.workspace.channels.get(cid)
        if channel is None:
            channel = {"id": cid, "name": cid, "is_im": True, "is_private": True, "is_member": False,
                       "is_archived": False, "user": other, "is_channel": False, "is_group": False,
                       "is_mpim": False, "created": int(time.time()), "is_user_deleted": False}
            sb.workspace.channels[cid] = channel
            with sb.api.channels._lock:
                sb.api.channels._members[cid] = pair
    return channel


def dm_id(sb: SlackSandbox, other: str) -> str:
    """The id of the caller's DM with `other`, opened or not."""
    me = person(sb)
    if me is None or other == sb.workspace.bot_user_id:
        return "D" + (me or other)[1:]
    return slack_id("D", sb.seed, "im:" + ",".join(sorted({me, other})))


def mpim_for(sb: SlackSandbox, others: list[str]) -> dict[str, Any]:
    """A person's group DM with `others` (found or opened), named as Slack names them; the bot is not in it."""
    me = str(person(sb))
    ids = sorted(set(others) | {me})
    api, ws = sb.api.channels, sb.workspace
    with api._lock:
        for cid, members in api._members.items():
            if ws.channels[cid].get("is_mpim") and sorted(members) == ids:
                return ws.channels[cid]
    cid = slack_id("G", sb.seed, "mpim:" + ",".join(ids))
    handles = [ws.users[u]["name"] for u in [me, *[u for u in ids if u != me]]]
    name, now = "mpdm-" + "--".join(handles) + "-1", int(time.time())
    channel = {"id": cid, "name": name, "is_channel": False, "is_group": False, "is_im": False, "is_mpim": True,
               "is_private": True, "created": now, "is_archived": False, "is_general": False,
               "name_normalized": name, "is_member": False, "is_open": True, "creator": me,
               "context_team_id": ws.team_id, "num_members": len(ids), **channel_extras(ws, now),
               "topic": {"value": "Group messaging", "creator": me, "last_set": now},
               "purpose": {"value": "Group messaging with: " + " ".join("@" + h for h in handles),
                           "creator": me, "last_set": now}}
    ws.channels[cid] = channel
    with api._lock:
        api._members[cid] = [me, *[u for u in ids if u != me]]
    return channel
