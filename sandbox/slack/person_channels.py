"""Channel administration with a user token (xoxp-, `sandbox.slack.oauth`): the person acts, not the bot, as on
slack.com (a bot token keeps `sandbox.slack.channels`' behaviour). User scope `channels:write` (public) or
`groups:write` (private), as Slack's user-token scopes for these methods.

- conversations.create: the person is `creator` and the only member (the bot is not in it); name checks as the
  bot's (invalid_name_*, name_taken).
- conversations.join: the person joins a public channel (method_not_supported_for_channel_type for private
  ones, is_archived; `warning: already_in_channel` when already in), with a `channel_join` system message
  ("<@U…> has joined the channel").
- conversations.leave: cant_leave_general; not a member: `not_in_channel: true` as the bot's answer [unc: Slack's
  page shows it with ok false]; otherwise the person leaves (`channel_leave` message).
- conversations.invite: the person must be in the channel (not_in_channel); inviting themselves is
  cant_invite_self; inviting the app's bot user adds the bot (`is_member` becomes true).
- conversations.kick: cant_kick_self; a workspace admin / owner or the channel's creator may remove someone;
  any other member gets restricted_action [unc: Slack's default for public channels; workspaces can let
  members remove people from private channels].
- conversations.archive (member; cant_archive_general, already_archived) / unarchive (not_archived): by the
  person (`user` of channel_archive / channel_unarchive).
- conversations.rename: the channel's creator or an admin (not_authorized otherwise [unc: a workspace setting]).
- conversations.setTopic / setPurpose: a member (not_in_channel); the value's `creator` is the person and a
  `channel_topic` / `channel_purpose` system message is posted by them ("<@U…> set the channel topic: …")."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sandbox.slack import workspace_events
from sandbox.slack.actor import person, seen
from sandbox.slack.webapi import SlackError

if TYPE_CHECKING:
    from sandbox.slack.app import SlackSandbox
    from sandbox.slack.webapi import WebApi

Method = Callable[[dict[str, Any]], dict[str, Any]]
ADMIN_METHODS = ("create", "join", "leave", "invite", "kick", "archive", "unarchive", "rename", "setTopic",
                 "setPurpose")


def person_channel_methods(sb: SlackSandbox, api: WebApi) -> dict[str, Method]:
    """conversations.<admin> for every token: the person's version for a user token, the bot's otherwise."""
    admin = PersonChannels(sb, api)
    out: dict[str, Method] = {}
    for name in ADMIN_METHODS:
        method = "conversations." + name
        out[method] = _either(sb, api.methods[method], getattr(admin, name.lower()))
    return out


def _either(sb: SlackSandbox, bot: Method, mine: Method) -> Method:
    return lambda args: bot(args) if person(sb) is None else mine(args)


class PersonChannels:
    def __init__(self, sb: SlackSandbox, api: WebApi) -> None:
        self.sb, self.api, self.ch = sb, api, api.channels

    @property
    def me(self) -> str:
        return str(person(self.sb))

    def _is_admin(self) -> bool:
        user = self.sb.workspace.users.get(self.me, {})
        return bool(user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner"))

    def _in(self, channel: dict[str, Any]) -> bool:
        return self.me in self.ch.member_ids(channel)

    def _joined(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self.api._channel(args)
        if not self._in(channel):
            raise SlackError("not_in_channel")
        return channel

    def _system(self, channel: dict[str, Any], subtype: str, text: str, **extra: Any) -> None:
        message = {"type": "message", "subtype": subtype, "user": self.me, "text": text,
                   "team": self.sb.workspace.team_id, **extra}
        self.sb.record_message(channel, message, "conversations." + subtype.split("_")[-1], {})

    def create(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"channel": seen(self.sb, self.ch.add_channel(args, self.me))}

    def join(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self.ch.joinable(args)
        if self._in(channel):
            return {"channel": seen(self.sb, channel), "warning": "already_in_channel",
                    "response_metadata": {"warnings": ["already_in_channel"]}}
        self.ch._set_member(channel, self.me, True)
        self._system(channel, "channel_join", f"<@{self.me}> has joined the channel")
        return {"channel": seen(self.sb, channel)}

    def leave(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self.api._channel(args)
        if channel.get("is_general"):
            raise SlackError("cant_leave_general")
        if channel.get("is_im"):
            raise SlackError("method_not_supported_for_channel_type")
        if not self._in(channel):
            return {"not_in_channel": True}
        if channel["is_archived"]:
            raise SlackError("is_archived")
        self._system(channel, "channel_leave", f"<@{self.me}> has left the channel")
        self.ch._set_member(channel, self.me, False)
        return {}

    def invite(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._joined(args)
        self.ch.add_invited(channel, args, self.me)
        return {"channel": seen(self.sb, channel)}

    def kick(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._joined(args)
        self.ch.remove_member(channel, args, self.me,
                              lambda: channel.get("creator") == self.me or self._is_admin())
        return {}

    def archive(self, args: dict[str, Any]) -> dict[str, Any]:
        self.ch.archive_as(args, self.me, self._in)
        return {}

    def unarchive(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self.api._channel(args)
        if not channel["is_archived"]:
            raise SlackError("not_archived")
        channel["is_archived"] = False
        workspace_events.archived(self.sb.events, channel, False, self.me)
        return {}

    def rename(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._joined(args)
        if channel.get("is_im") or channel.get("is_mpim"):
            raise SlackError("method_not_supported_for_channel_type")
        if channel["is_archived"]:
            raise SlackError("is_archived")
        if channel.get("creator") != self.me and not self._is_admin():
            raise SlackError("not_authorized")
        name = self.ch._new_name(args)
        old = channel["name"]
        channel.update(name=name, name_normalized=name, previous_names=[old, *channel.get("previous_names", [])])
        workspace_events.renamed(self.sb.events, channel)
        self._system(channel, "channel_name", f"<@{self.me}> renamed the channel from \"{old}\" to \"{name}\"",
                     old_name=old, name=name)
        return {"channel": seen(self.sb, channel)}

    def _set_text(self, args: dict[str, Any], field: str) -> dict[str, Any]:
        channel = self._joined(args)
        value = self.ch.set_text(channel, args, field, self.me)
        said = f"set the channel {field}: {value}" if value else f"cleared the channel {field}"
        self._system(channel, "channel_" + field, f"<@{self.me}> {said}", **{field: value})
        return {"channel": seen(self.sb, channel)}

    def settopic(self, args: dict[str, Any]) -> dict[str, Any]:
        return self._set_text(args, "topic")

    def setpurpose(self, args: dict[str, Any]) -> dict[str, Any]:
        return self._set_text(args, "purpose")
