"""Conversation lists as the bot sees them: conversations.list and users.conversations.

`types` (comma-separated public_channel, private_channel, mpim, im; default public_channel; invalid_types
otherwise), `exclude_archived`, `limit` (default 100, as is 0; at most 1000; see `webapi._limit`) and `cursor`
(`response_metadata.next_cursor`, stable while channels come and go: `sandbox.slack.paging`; invalid_cursor).
As in Slack a bot token sees every public channel but only the private channels it is a member of, and DMs
(type im) it has opened (`conversations.open`, or a chat.postMessage to a user id). users.conversations lists
the conversations `user` (default the bot) is a member of, limited to those the bot can see (user_not_found
for an unknown user). With a user token, the person's view instead (`sandbox.slack.actor`): their private
channels, DMs and group DMs, their `is_member`. Each requested type needs its scope (public_channel
channels:read, private_channel groups:read, mpim mpim:read, im im:read): missing_scope with `needed` naming
the lacking one otherwise, as Slack (`sandbox.slack.scopes`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.slack import paging
from sandbox.slack.actor import actor_id, seen, sees
from sandbox.slack.scopes import channel_type
from sandbox.slack.webapi import SlackError, _flag, _limit

if TYPE_CHECKING:
    from sandbox.slack.webapi import WebApi

CHANNEL_TYPES = {"public_channel", "private_channel", "mpim", "im"}


class ListingApi:
    def __init__(self, api: WebApi) -> None:
        self.api, self.sb = api, api.sb
        self.methods = {"conversations.list": self.conversations_list,
                        "users.conversations": self.users_conversations}

    @staticmethod
    def _types(args: dict[str, Any]) -> set[str]:
        types = {t.strip() for t in str(args.get("types") or "public_channel").split(",") if t.strip()}
        if not types or types - CHANNEL_TYPES:
            raise SlackError("invalid_types")
        return types

    def _page(self, rows: list[dict[str, Any]], args: dict[str, Any]) -> dict[str, Any]:
        """A page of channels (in the workspace's order) from a stable `team:<channel id>` cursor
        (`sandbox.slack.paging`)."""
        shown, cursor, _ = paging.page(rows, args.get("cursor"), _limit(args, 100, 1000), "team",
                                       lambda c: c["id"], paging.positions(list(self.sb.workspace.channels)))
        return {"channels": shown, "response_metadata": {"next_cursor": cursor}}

    def _visible(self, args: dict[str, Any]) -> list[dict[str, Any]]:
        """Channels of the requested types the bot can see (private ones only as a member); each type needs
        its scope (private_channel: groups:read), missing_scope otherwise, as Slack."""
        types = self._types(args)
        missing = self.sb.grants.lacking(types, "read")
        if missing:
            raise SlackError("missing_scope", **missing)
        return [c for c in list(self.sb.workspace.channels.values())
                if channel_type(c) in types and sees(self.sb, c)
                and not (_flag(args.get("exclude_archived")) and c["is_archived"])]

    def conversations_list(self, args: dict[str, Any]) -> dict[str, Any]:
        return self._page([seen(self.sb, c) for c in self._visible(args)], args)

    def users_conversations(self, args: dict[str, Any]) -> dict[str, Any]:
        ws = self.sb.workspace
        uid = str(args.get("user") or actor_id(self.sb))
        if uid not in ws.users:
            raise SlackError("user_not_found")
        rows = [seen(self.sb, c) for c in self._visible(args) if uid in self.api.channels.member_ids(c)]
        return self._page(rows, args)
