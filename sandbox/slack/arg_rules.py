"""Argument rules Slack applies to a Web API call before the method runs (round 29).

- `as_user` on chat.postMessage, chat.postEphemeral, chat.update or chat.scheduleMessage from a bot token of a
  granular (OAuth v2) app, as every token this sandbox issues is: `invalid_arguments` with
  `deprecated_argument: "as_user"`, even when it is false ("as_user may not be used with newer bot tokens";
  answers seen from Slack: `{"ok":false,"error":"invalid_arguments","deprecated_argument":"as_user"}`, e.g.
  java-slack-sdk #372 for a false `as_user` on chat.update). A user token may still send it. [unc: that
  chat.delete and chat.meMessage take it: their docs describe it for bot users too]
- An org-wide install (`sb.configure_enterprise(org_wide=True)`): conversations.list, conversations.create,
  users.list and users.conversations need `team_id` ("required if token belongs to org-wide app"):
  `missing_argument` without it, `team_access_not_granted` for a workspace the install does not cover
  [unc: that code for a team id that is not the sandbox's workspace].
- A conversations.* write with no `channel` argument at all is `invalid_arguments` with
  `[ERROR] missing required field: channel` (Slack's stricter argument checks of 2023; one sent empty still
  resolves to channel_not_found) [unc: beyond conversations.join, where it was seen].
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.slack.actor import person
from sandbox.slack.webapi import SlackError, bad_args

if TYPE_CHECKING:
    from sandbox.slack.app import SlackSandbox

AS_USER_METHODS = frozenset({"chat.postMessage", "chat.postEphemeral", "chat.update", "chat.scheduleMessage"})
ORG_TEAM_METHODS = frozenset({"conversations.list", "conversations.create", "users.list", "users.conversations"})
CHANNEL_WRITES = frozenset({"conversations.join", "conversations.leave", "conversations.archive",
                            "conversations.unarchive", "conversations.invite", "conversations.kick",
                            "conversations.rename", "conversations.setTopic", "conversations.setPurpose",
                            "conversations.mark"})


def check_arguments(sb: SlackSandbox, method: str, args: dict[str, Any]) -> None:
    """Raise the SlackError Slack answers a call of `method` with these arguments before running it."""
    if method in AS_USER_METHODS and args.get("as_user") is not None and person(sb) is None:
        raise SlackError("invalid_arguments", deprecated_argument="as_user")
    if sb.enterprise.org_wide and method in ORG_TEAM_METHODS:
        team = str(args.get("team_id") or "")
        if not team:
            raise SlackError("missing_argument")
        if team != sb.workspace.team_id:
            raise SlackError("team_access_not_granted")
    if method in CHANNEL_WRITES and args.get("channel") is None:
        raise bad_args("missing required field: channel")
