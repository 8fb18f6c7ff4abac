"""What a user token (xoxp-, from the OAuth install's `user_scope`, `sandbox.slack.oauth`) does differently
from the bot token: chat.postMessage posts as the person who installed, as Slack does. The message carries
their `user` and no `bot_id` / `app_id` / `bot_profile`; the channel is theirs to see (a private channel
they are not in: channel_not_found; a public one they are not in: not_in_channel [unc]; archived:
is_archived), and the app's `message` event (where its bot is a member) is a person's message. DMs
(channel_not_found here) and other methods, which act with the bot's memberships, are not emulated for
user tokens."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sandbox.slack.webapi import SlackError

if TYPE_CHECKING:
    from sandbox.slack.app import SlackSandbox
    from sandbox.slack.webapi import WebApi

Method = Callable[[dict[str, Any]], dict[str, Any]]


def user_post(sb: SlackSandbox, api: WebApi, bot_post: Method) -> Method:
    """chat.postMessage for every token: a user token's post is the person's, the others' the bot's."""

    def post(args: dict[str, Any]) -> dict[str, Any]:
        caller = sb.caller()
        if caller is None or caller.kind != "user":
            return bot_post(args)
        uid, ws = caller.user_id, sb.workspace
        ref = str(args.get("channel") or "")
        channel = ws.channel(ref) if ref else None
        if channel is None or channel.get("is_im"):  # [not emulated: a person's DMs with other people]
            raise SlackError("channel_not_found")
        members = api.channels.member_ids(channel)
        if uid not in members and (channel["is_private"] or channel.get("is_mpim")):
            raise SlackError("channel_not_found")
        if channel["is_archived"]:
            raise SlackError("is_archived")
        if uid not in members:
            raise SlackError("not_in_channel")
        text, blocks, attachments = api._content(args)
        message: dict[str, Any] = {"user": uid, "type": "message", "text": text or "", "team": ws.team_id}
        for key, value in (("blocks", blocks), ("attachments", attachments), ("thread_ts", args.get("thread_ts"))):
            if value:
                message[key] = str(value) if key == "thread_ts" else value
        stored = sb.record_message(channel, message, "chat.postMessage", args)
        return {"channel": channel["id"], "ts": stored["ts"], "message": dict(stored["message"])}

    return post
