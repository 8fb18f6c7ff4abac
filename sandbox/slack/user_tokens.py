"""What a user token (xoxp-, from the OAuth install's `user_scope`, `sandbox.slack.oauth`) does differently
from the bot token: it acts as the person who installed, as Slack does (`sandbox.slack.actor` decides what
they see and are a member of).

- chat.postMessage posts as them: the message carries their `user` and no `bot_id` / `app_id` /
  `bot_profile`; the channel is theirs to see (a private channel or DM they are not in: channel_not_found;
  a public one they are not in: not_in_channel [unc]; archived: is_archived); `channel=U…` posts in their
  DM with that person; the app's `message` event (where its bot is a member) is a person's message.
- conversations.open `users=U…` opens the person's DM with that user (`D…`, the two of them, the bot not
  in it); 2-8 users a group DM of the person and them.
- chat.update / chat.delete: only their own messages (cant_update_message / cant_delete_message), `edited`
  by them; reactions, pins and bookmarks are theirs; conversations.* read with their memberships (a public
  channel they are not in is readable [unc]; a private one is channel_not_found).
- chat.postEphemeral posts the ephemeral as the person (`user`, no bot fields [unc]), in a conversation they
  are in (not_in_channel), to a member of it (user_not_in_channel).
The user-token-only methods: `sandbox.slack.search` and `sandbox.slack.personal`; channel administration:
`sandbox.slack.person_channels`; chat.scheduleMessage / meMessage: `sandbox.slack.scheduled`; files.*:
`sandbox.slack.files`."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sandbox.slack.actor import dm_for, is_member, mpim_for, person, seen
from sandbox.slack.person_channels import person_channel_methods
from sandbox.slack.personal import PersonalApi
from sandbox.slack.photos import PhotoApi
from sandbox.slack.search import SearchApi
from sandbox.slack.webapi import SlackError, _flag

if TYPE_CHECKING:
    from sandbox.slack.app import SlackSandbox
    from sandbox.slack.webapi import WebApi

Method = Callable[[dict[str, Any]], dict[str, Any]]


def person_methods(sb: SlackSandbox, api: WebApi) -> dict[str, Method]:
    """The methods a user token acts differently in (each still serves the other tokens as before)."""
    return {**PersonalApi(api).methods, **PhotoApi(api).methods, **SearchApi(api).methods,
            **person_channel_methods(sb, api),
            "chat.postMessage": user_post(sb, api, api.methods["chat.postMessage"]),
            "chat.postEphemeral": user_ephemeral(sb, api, api.methods["chat.postEphemeral"]),
            "conversations.open": user_open(sb, api.methods["conversations.open"])}


def user_post(sb: SlackSandbox, api: WebApi, bot_post: Method) -> Method:
    """chat.postMessage for every token: a user token's post is the person's, the others' the bot's."""

    def post(args: dict[str, Any]) -> dict[str, Any]:
        uid = person(sb)
        if uid is None:
            return bot_post(args)
        ws = sb.workspace
        channel = api._writable(args, names=True)  # channel_not_found / is_archived as the person sees it
        if not is_member(sb, channel):
            raise SlackError("not_in_channel")
        text, blocks, attachments = api._content(args)
        message: dict[str, Any] = {"user": uid, "type": "message", "text": text or "", "team": ws.team_id}
        for key, value in (("blocks", blocks), ("attachments", attachments), ("thread_ts", args.get("thread_ts"))):
            if value:
                message[key] = str(value) if key == "thread_ts" else value
        if message.get("thread_ts") and _flag(args.get("reply_broadcast")):
            message["subtype"] = "thread_broadcast"
        stored = sb.record_message(channel, message, "chat.postMessage", args)
        return {"channel": channel["id"], "ts": stored["ts"], "message": dict(stored["message"])}

    return post


def user_open(sb: SlackSandbox, bot_open: Method) -> Method:
    """conversations.open for every token: a user token opens the person's own DM / group DM."""

    def open_(args: dict[str, Any]) -> dict[str, Any]:
        me = person(sb)
        users = [u.strip() for u in str(args.get("users") or "").split(",") if u.strip()]
        if me is None or not users:
            return bot_open(args)  # resuming by `channel` goes through the caller-aware _channel
        if len(users) > 8:
            raise SlackError("too_many_users")
        if any(u not in sb.workspace.users for u in users):
            raise SlackError("user_not_found")
        others = sorted(set(users) - {me})
        channel = dm_for(sb, others[0] if others else me) if len(others) <= 1 else mpim_for(sb, others)
        existed = channel.get("is_open", False)
        channel["is_open"] = True
        out: dict[str, Any] = {"channel": {"id": channel["id"]}}
        if _flag(args.get("return_im")):
            out["channel"] = seen(sb, channel)
        if existed:
            out.update(no_op=True, already_open=True)
        return out

    return open_


def user_ephemeral(sb: SlackSandbox, api: WebApi, bot_ephemeral: Method) -> Method:
    """chat.postEphemeral for every token: a user token's ephemeral is the person's [unc]."""

    def post(args: dict[str, Any]) -> dict[str, Any]:
        uid = person(sb)
        if uid is None:
            return bot_ephemeral(args)
        channel = api._writable(args, names=True)
        if not is_member(sb, channel):
            raise SlackError("not_in_channel")
        user = str(args.get("user") or "")
        if user not in sb.workspace.users:
            raise SlackError("user_not_found")
        if user not in api.channels.member_ids(channel):
            raise SlackError("user_not_in_channel")
        text, blocks, attachments = api._content(args)
        message: dict[str, Any] = {"type": "message", "user": uid, "text": text or "", "team": sb.workspace.team_id}
        for key, value in (("blocks", blocks), ("attachments", attachments), ("thread_ts", args.get("thread_ts"))):
            if value:
                message[key] = value
        stored = sb.record_message(channel, message, "chat.postEphemeral", args, ephemeral_user=user)
        return {"message_ts": stored["ts"]}

    return post
