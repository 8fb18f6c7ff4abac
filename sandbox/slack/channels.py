"""Channel administration: conversations.create / join / leave / invite / kick / archive / unarchive /
rename / setTopic / setPurpose / members / mark / close / open (DMs, group DMs), with Slack's error codes
(pins.*: `sandbox.slack.pins`).

Membership: every person is in every seeded channel, the bot only where `is_member` (seed.py); a created
channel starts with the bot alone. Names follow Slack's rule (lowercase letters, digits, `-`, `_`, at most
80 characters): invalid_name_required, invalid_name_maxlength, invalid_name_punctuation (only `-`/`_`),
invalid_name_specials (anything else, upper case included), name_taken (archived channels too).
conversations.join on a channel the bot is in succeeds with `warning: already_in_channel` (as Slack does).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sandbox.slack import paging, workspace_events
from sandbox.slack.seed import SLACKBOT_ID, channel_extras, im_id, slack_id
from sandbox.slack.webapi import SlackError, _flag, _limit

_TS = re.compile(r"[0-9]{1,12}(\.[0-9]{1,6})?")

if TYPE_CHECKING:
    from sandbox.slack.webapi import WebApi

_NAME = re.compile(r"[a-z0-9_\-]+")
MAX_TOPIC = 250


class ChannelsApi:
    def __init__(self, api: WebApi) -> None:
        self.api, self.sb = api, api.sb
        self._lock = threading.Lock()
        self._members: dict[str, list[str]] = {}
        self.methods = {
            "conversations.create": self.create, "conversations.join": self.join, "conversations.leave": self.leave,
            "conversations.invite": self.invite, "conversations.kick": self.kick,
            "conversations.archive": self.archive, "conversations.unarchive": self.unarchive,
            "conversations.setTopic": self.set_topic, "conversations.setPurpose": self.set_purpose,
            "conversations.members": self.members, "conversations.rename": self.rename,
            "conversations.mark": self.mark, "conversations.close": self.close, "conversations.open": self.open,
        }

    # --- membership ---------------------------------------------------------------------------------
    def member_ids(self, channel: dict[str, Any]) -> list[str]:
        with self._lock:
            if channel["id"] not in self._members:
                bot = self.sb.workspace.bot_user_id
                if channel.get("is_im"):
                    ids = [bot, channel["user"]]
                else:
                    ids = [u for u in self.sb.workspace.users  # Slackbot is in no channel
                           if (u != bot or channel["is_member"]) and u != SLACKBOT_ID]
                self._members[channel["id"]] = ids
            return self._members[channel["id"]]

    def _set_member(self, channel: dict[str, Any], uid: str, present: bool, inviter: str | None = None) -> None:
        ids = self.member_ids(channel)
        with self._lock:
            joined, left = present and uid not in ids, not present and uid in ids
            if joined:
                ids.append(uid)
            elif left:
                ids.remove(uid)
            channel["num_members"] = len(ids)
            if uid == self.sb.workspace.bot_user_id:
                channel["is_member"] = present
        if joined or left:  # member_joined_channel / member_left_channel (sandbox.slack.events)
            self.sb.events.membership(channel, uid, joined, inviter)

    def _joined(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self.api._channel(args)
        if not channel["is_member"]:
            raise SlackError("not_in_channel")
        return channel

    def _new_name(self, args: dict[str, Any]) -> str:
        name = str(args.get("name") or "")
        if not name:
            raise SlackError("invalid_name_required")
        if len(name) > 80:
            raise SlackError("invalid_name_maxlength")
        if not _NAME.fullmatch(name):
            raise SlackError("invalid_name_specials")
        if not name.strip("-_"):
            raise SlackError("invalid_name_punctuation")
        if self.sb.workspace.channel(name) is not None:
            raise SlackError("name_taken")
        return name

    def create(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"channel": dict(self.add_channel(args, self.sb.workspace.bot_user_id))}

    def add_channel(self, args: dict[str, Any], creator: str) -> dict[str, Any]:
        """conversations.create by ``creator`` (the bot, or a person), its only member: the new channel."""
        name = self._new_name(args)
        ws = self.sb.workspace
        private = _flag(args.get("is_private"))
        cid = slack_id("G" if private else "C", self.sb.seed, f"created:{name}:{time.time_ns()}")
        now = int(time.time())
        channel = {
            "id": cid, "name": name, "is_channel": not private, "is_group": private, "is_im": False,
            "is_mpim": False, "is_private": private, "created": now, "is_archived": False, "is_general": False,
            "unlinked": 0, "name_normalized": name, "is_shared": False, "is_org_shared": False,
            "is_pending_ext_shared": False, "is_ext_shared": False, "context_team_id": ws.team_id,
            "creator": creator, "is_member": creator == ws.bot_user_id,
            "topic": {"value": "", "creator": "", "last_set": 0},
            "purpose": {"value": "", "creator": "", "last_set": 0}, "num_members": 1, "last_read": "0000000000.000000",
            **channel_extras(ws, now),
        }
        ws.channels[cid] = channel
        with self._lock:
            self._members[cid] = [creator]
        workspace_events.created(self.sb.events, channel)
        return channel

    def find_mpim(self, users: list[str]) -> dict[str, Any] | None:
        with self._lock:
            chans = self.sb.workspace.channels  # the bot's own group DMs, not a person's (sandbox.slack.actor)
            return next((chans[cid] for cid, ids in self._members.items()
                         if chans[cid].get("is_mpim") and chans[cid]["is_member"] and sorted(ids[1:]) == users), None)

    def new_mpim(self, users: list[str]) -> dict[str, Any]:
        """A group DM of the bot and `users` (conversations.open with 2-8 users), named as Slack names them."""
        ws = self.sb.workspace
        cid = slack_id("G", self.sb.seed, "mpim:" + ",".join(users))
        handles = [ws.users[u]["name"] for u in [ws.bot_user_id, *users]]
        name = "mpdm-" + "--".join(handles) + "-1"
        channel = {"id": cid, "name": name, "is_channel": False, "is_group": False, "is_im": False, "is_mpim": True,
                   "is_private": True, "created": int(time.time()), "is_archived": False, "is_general": False,
                   "name_normalized": name, "is_member": True, "is_open": True, "creator": ws.bot_user_id,
                   "context_team_id": ws.team_id, "num_members": len(users) + 1, **channel_extras(ws, int(time.time())),
                   "topic": {"value": "Group messaging", "creator": ws.bot_user_id, "last_set": int(time.time())},
                   "purpose": {"value": "Group messaging with: " + " ".join("@" + h for h in handles),
                               "creator": ws.bot_user_id, "last_set": int(time.time())}}
        ws.channels[cid] = channel
        with self._lock:
            self._members[cid] = [ws.bot_user_id, *users]
        return channel

    def joinable(self, args: dict[str, Any]) -> dict[str, Any]:
        """The channel conversations.join names, if anyone may join it (public, not archived)."""
        channel = self.api._channel(args)
        if channel["is_private"] or channel.get("is_im"):
            raise SlackError("method_not_supported_for_channel_type")
        if channel["is_archived"]:
            raise SlackError("is_archived")
        return channel

    def join(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self.joinable(args)
        if channel["is_member"]:
            return {"channel": dict(channel), "warning": "already_in_channel",
                    "response_metadata": {"warnings": ["already_in_channel"]}}
        self._set_member(channel, self.sb.workspace.bot_user_id, True)
        return {"channel": dict(channel)}

    def leave(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self.api._channel(args)
        if channel.get("is_general"):
            raise SlackError("cant_leave_general")
        if channel.get("is_im"):
            raise SlackError("method_not_supported_for_channel_type")
        if not channel["is_member"]:
            return {"not_in_channel": True}
        self._set_member(channel, self.sb.workspace.bot_user_id, False)
        return {}

    def invite(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._joined(args)
        self.add_invited(channel, args, self.sb.workspace.bot_user_id)
        return {"channel": dict(channel)}

    def add_invited(self, channel: dict[str, Any], args: dict[str, Any], inviter: str) -> None:
        """conversations.invite's checks and additions for ``args["users"]``, invited by ``inviter`` (the bot,
        or the person behind a user token), who is in the channel."""
        if channel["is_archived"]:
            raise SlackError("is_archived")
        users = [u.strip() for u in str(args.get("users") or "").split(",") if u.strip()]
        if not users:
            raise SlackError("no_user")
        members = self.member_ids(channel)
        for uid in users:
            if uid == inviter:
                raise SlackError("cant_invite_self")
            if uid not in self.sb.workspace.users:
                raise SlackError("user_not_found")
            if uid == SLACKBOT_ID:  # conversations.invite's documented cant_invite_slackbot
                raise SlackError("cant_invite_slackbot")
            if uid in members:
                raise SlackError("already_in_channel")
        for uid in users:
            self._set_member(channel, uid, True, inviter=inviter)

    def kick(self, args: dict[str, Any]) -> dict[str, Any]:
        self.remove_member(self._joined(args), args, self.sb.workspace.bot_user_id)
        return {}

    def remove_member(self, channel: dict[str, Any], args: dict[str, Any], actor: str,
                      allowed: Callable[[], bool] = lambda: True) -> None:
        """conversations.kick of ``args["user"]`` by ``actor`` (the bot, or a person), a member; ``allowed``
        says whether this actor may remove others here (else restricted_action)."""
        uid = str(args.get("user") or "")
        if uid == actor:
            raise SlackError("cant_kick_self")
        if channel.get("is_general"):
            raise SlackError("cant_kick_from_general")
        if uid not in self.sb.workspace.users:
            raise SlackError("user_not_found")
        if not allowed():
            raise SlackError("restricted_action")
        if uid not in self.member_ids(channel):
            raise SlackError("not_in_channel")
        self._set_member(channel, uid, False)

    def archive(self, args: dict[str, Any]) -> dict[str, Any]:
        self.archive_as(args, self.sb.workspace.bot_user_id, lambda channel: channel["is_member"])
        return {}

    def archive_as(self, args: dict[str, Any], actor: str, member: Callable[[dict[str, Any]], bool]) -> None:
        """conversations.archive by ``actor``, who must be a member (``member(channel)``)."""
        channel = self.api._channel(args)
        if channel.get("is_general"):
            raise SlackError("cant_archive_general")
        if channel["is_archived"]:
            raise SlackError("already_archived")
        if not member(channel):
            raise SlackError("not_in_channel")
        channel["is_archived"] = True
        workspace_events.archived(self.sb.events, channel, True, actor)

    def unarchive(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self.api._channel(args)
        if not channel["is_archived"]:
            raise SlackError("not_archived")
        channel["is_archived"] = False
        workspace_events.archived(self.sb.events, channel, False, self.sb.workspace.bot_user_id)
        return {}

    def _set_text(self, args: dict[str, Any], field: str) -> dict[str, Any]:
        channel = self._joined(args)
        self.set_text(channel, args, field, self.sb.workspace.bot_user_id)
        return {"channel": dict(channel)}

    def set_text(self, channel: dict[str, Any], args: dict[str, Any], field: str, setter: str) -> str:
        """conversations.setTopic / setPurpose (``field``) by ``setter``, a member: the value set."""
        if channel["is_archived"]:
            raise SlackError("is_archived")
        value = str(args.get(field) or "")
        if len(value) > MAX_TOPIC:
            raise SlackError("too_long")
        channel[field] = {"value": value, "creator": setter, "last_set": int(time.time())}
        return value

    def set_topic(self, args: dict[str, Any]) -> dict[str, Any]:
        return self._set_text(args, "topic")

    def set_purpose(self, args: dict[str, Any]) -> dict[str, Any]:
        return self._set_text(args, "purpose")

    def members(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self.api._channel(args)
        """Member ids in the workspace's user order (Slack pages them by a `user:U…` cursor), so one who joins
        or leaves between two pages makes no other repeat or go missing (`sandbox.slack.paging`)."""
        limit = _limit(args, 100, 1000)
        place = paging.positions(list(self.sb.workspace.users))
        ids = sorted((u for u in self.member_ids(channel) if place(u) is not None), key=lambda u: place(u) or 0)
        shown, cursor, _ = paging.page(ids, args.get("cursor"), limit, "user", str, place)
        return {"members": shown, "response_metadata": {"next_cursor": cursor}}

    def rename(self, args: dict[str, Any]) -> dict[str, Any]:
        """A bot may rename only a channel it created (not_authorized otherwise; Slack needs an admin)."""
        channel = self._joined(args)
        if channel.get("is_im"):
            raise SlackError("method_not_supported_for_channel_type")
        if channel["is_archived"]:
            raise SlackError("is_archived")
        if channel.get("creator") != self.sb.workspace.bot_user_id:
            raise SlackError("not_authorized")
        name = self._new_name(args)
        channel.update(name=name, name_normalized=name, previous_names=[channel["name"], *channel["previous_names"]])
        workspace_events.renamed(self.sb.events, channel)
        return {"channel": dict(channel)}

    def mark(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._joined(args)
        ts = str(args.get("ts") or "")
        if not _TS.fullmatch(ts):  # a ts is seconds.micros; anything else is invalid_timestamp [unc: the shapes]
            raise SlackError("invalid_timestamp")
        channel["last_read"] = ts
        return {}

    def close(self, args: dict[str, Any]) -> dict[str, Any]:
        """Close a DM: Slack answers `no_op` / `already_closed` when it was not open."""
        channel = self.api._channel(args)
        if not channel.get("is_im"):
            raise SlackError("method_not_supported_for_channel_type")
        if channel.get("is_open") is False:
            return {"no_op": True, "already_closed": True}
        channel["is_open"] = False
        return {}

    def open(self, args: dict[str, Any]) -> dict[str, Any]:
        """Open (or find) a DM: `users=U…` -> `{"channel": {"id": "D…"}}`; 2-8 users open a group DM (mpim,
        `G…`, the bot and them); `channel=D…|G…` resumes one (the whole object with `return_im`). A deactivated
        user among `users` is `user_disabled`."""
        users = [u.strip() for u in str(args.get("users") or "").split(",") if u.strip()]
        if args.get("channel") and not users:
            channel = self.api._channel(args)
            if not channel.get("is_im") and not channel.get("is_mpim"):
                raise SlackError("method_not_supported_for_channel_type")
            existed = channel.get("is_open", True)
        elif not users:
            raise SlackError("users_list_not_supplied")
        elif len(users) > 8:
            raise SlackError("too_many_users")
        else:
            for uid in users:
                if uid not in self.sb.workspace.users:
                    raise SlackError("user_not_found")
                if self.sb.workspace.users[uid].get("deleted"):  # deactivated (sb.deactivate_user): Slack's
                    raise SlackError("user_disabled")  # documented "A specified `user` has been disabled."
            ids = sorted(set(users) - {self.sb.workspace.bot_user_id})
            if not ids:
                raise SlackError("cannot_dm_bot")
            cid = im_id(self.sb.workspace, ids[0]) if len(ids) == 1 else None
            found = self.sb.workspace.channels.get(cid) if cid else self.find_mpim(ids)
            existed = found is not None and found.get("is_open", True)
            channel = self.sb.dm_channel(ids[0]) if cid else found or self.new_mpim(ids)
        channel["is_open"] = True
        out: dict[str, Any] = {"channel": dict(channel) if _flag(args.get("return_im")) else {"id": channel["id"]}}
        if existed:
            out.update(no_op=True, already_open=True)
        return out
