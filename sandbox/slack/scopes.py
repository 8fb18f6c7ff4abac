"""OAuth scopes: what the sandbox's bot token was granted (`X-OAuth-Scopes` on every Web API answer) and
what each method accepts (`X-Accepted-OAuth-Scopes`, and `needed` in a `missing_scope` error), as Slack
sends them. A `missing_scope` answer (a method the granted scopes do not cover, a 403 fault or
`sb.set_method_error(method, "missing_scope")`) says `needed` (the method's scopes) and `provided` (the
granted ones without them), as Slack's does. A conversation type needs its own family's scope, as on Slack:
conversations.list / users.conversations with `types=private_channel` need groups:read (channels:read alone
answers missing_scope, needed groups:read, as an app installed before it asked for groups:read sees), and
reading a private channel's history needs groups:history (`Grants.lacking`)."""

from __future__ import annotations

from typing import Any

# the bot's granted scopes: those of the methods served
GRANTED = ("chat:write", "chat:write.public", "chat:write.customize", "commands", "channels:read", "groups:read",
           "im:read", "mpim:read", "channels:history", "groups:history", "im:history", "mpim:history",
           "channels:join", "channels:manage", "groups:write", "im:write", "mpim:write", "users:read",
           "users:read.email", "users:write", "users.profile:read", "usergroups:read", "usergroups:write",
           "team:read", "emoji:read", "files:read", "files:write", "reactions:read", "reactions:write", "pins:read",
           "pins:write", "bookmarks:read", "bookmarks:write", "links:write", "dnd:read", "assistant:write",
           "calls:read", "calls:write", "remote_files:read", "remote_files:write", "remote_files:share",
           "team.billing:read", "team.preferences:read", "canvases:read", "canvases:write")

_HISTORY = "channels:history,groups:history,im:history,mpim:history"
_READ = "channels:read,groups:read,im:read,mpim:read"
_MANAGE = "channels:manage,channels:write,groups:write,im:write,mpim:write"  # channels:write: a user token's
# method (or method family, the longest prefix wins) -> accepted scopes; "" needs none
ACCEPTED = {
    "api.test": "", "auth.": "", "views.": "", "dialog.open": "", "bots.info": "users:read", "chat.": "chat:write",
    "chat.unfurl": "links:write", "conversations.": _READ, "conversations.history": _HISTORY,
    "conversations.replies": _HISTORY, "conversations.join": "channels:join,channels:write",
    "conversations.create": _MANAGE,
    "conversations.archive": _MANAGE, "conversations.unarchive": _MANAGE, "conversations.rename": _MANAGE,
    "conversations.invite": _MANAGE, "conversations.kick": _MANAGE, "conversations.leave": _MANAGE,
    "conversations.setTopic": _MANAGE, "conversations.setPurpose": _MANAGE, "conversations.open": _MANAGE,
    "conversations.close": _MANAGE, "conversations.mark": _MANAGE, "users.": "users:read",
    "users.lookupByEmail": "users:read.email", "users.setPresence": "users:write",
    "users.profile.get": "users.profile:read", "usergroups.": "usergroups:write",
    "usergroups.list": "usergroups:read", "usergroups.users.list": "usergroups:read", "team.": "team:read",
    "team.billing.info": "team.billing:read", "team.preferences.list": "team.preferences:read",
    "canvases.": "canvases:write", "canvases.sections.lookup": "canvases:read",
    "conversations.canvases.create": "canvases:write",
    "emoji.list": "emoji:read", "dnd.": "dnd:read", "files.": "files:write", "files.info": "files:read",
    "files.list": "files:read", "reactions.": "reactions:write", "reactions.get": "reactions:read",
    "reactions.list": "reactions:read", "pins.": "pins:write", "pins.list": "pins:read",
    "bookmarks.": "bookmarks:write", "bookmarks.list": "bookmarks:read", "assistant.": "assistant:write",
    "calls.": "calls:write", "calls.info": "calls:read", "files.remote.": "remote_files:write",
    "files.remote.info": "remote_files:read", "files.remote.list": "remote_files:read",
    "files.remote.share": "remote_files:share",
    # user-token-only methods (`sandbox.slack.personal`, `sandbox.slack.search`): Slack's user scopes
    "search.": "search:read", "reminders.": "reminders:write", "reminders.list": "reminders:read",
    "reminders.info": "reminders:read", "stars.": "stars:write", "stars.list": "stars:read",
    "users.profile.set": "users.profile:write", "dnd.setSnooze": "dnd:write", "dnd.endSnooze": "dnd:write",
    "dnd.endDnd": "dnd:write", "users.identity": "identity.basic", "users.setPhoto": "users.profile:write",
    "users.deletePhoto": "users.profile:write",
}


# each conversation type's scope family: `<family>:read` lists it, `<family>:history` reads its messages
FAMILY = {"public_channel": "channels", "private_channel": "groups", "mpim": "mpim", "im": "im"}


def channel_type(channel: dict[str, Any]) -> str:
    """A conversation's type as conversations.list's `types` names it."""
    if channel.get("is_im"):
        return "im"
    if channel.get("is_mpim"):
        return "mpim"
    return "private_channel" if channel["is_private"] else "public_channel"


def accepted(method: str) -> str:
    """The scopes a method accepts (comma-separated, as Slack's header), "" when it needs none."""
    best = max((k for k in ACCEPTED if method == k or (k.endswith(".") and method.startswith(k))),
               key=len, default=None)
    return ACCEPTED[best] if best is not None else ""


class Grants:
    """The bot token's granted scopes: all of GRANTED unless `sb.set_scopes([...])` narrows them. A method
    whose accepted scopes are all missing answers missing_scope (`needed`, `provided`), as Slack; without
    chat:write.public, chat.postMessage into a public channel the bot is not in is not_in_channel; without
    users:read.email, user profiles carry no `email`."""

    def __init__(self) -> None:
        self.scopes: tuple[str, ...] = GRANTED

    def set(self, scopes: list[str] | None) -> list[str]:
        if scopes is not None and (not isinstance(scopes, list) or not all(isinstance(x, str) for x in scopes)):
            raise ValueError("scopes are a list of scope names, e.g. ['chat:write', 'channels:read']")
        self.scopes = GRANTED if scopes is None else tuple(dict.fromkeys(scopes))
        return list(self.scopes)

    def header(self) -> str:
        return ",".join(self.scopes)

    def has(self, scope: str) -> bool:
        return scope in self.scopes

    def missing(self, method: str) -> dict[str, str]:
        """The `needed` / `provided` fields of a missing_scope answer for `method`."""
        needed = accepted(method) or "chat:write"
        lacking = set(needed.split(","))
        return {"needed": needed, "provided": ",".join(x for x in self.scopes if x not in lacking)}

    def lacks(self, method: str) -> bool:
        """Whether the token has none of the scopes `method` accepts."""
        needed = accepted(method)
        return bool(needed) and not set(needed.split(",")) & set(self.scopes)

    def lacking(self, types: set[str], verb: str) -> dict[str, str] | None:
        """missing_scope's `needed` / `provided` when the token lacks `<family>:<verb>` for one of the
        conversation `types` (verb "read": listing them, "history": reading their messages), None when it
        has them all. Slack names the type's own scope (groups:read for private_channel), not the method's
        whole list, and `provided` is every granted scope."""
        needed = [f"{family}:{verb}" for kind, family in FAMILY.items()
                  if kind in types and not self.has(f"{family}:{verb}")]
        return {"needed": ",".join(needed), "provided": self.header()} if needed else None
