"""Slack Web API methods a notifier needs, served at `POST|GET /api/<method>`.

Arguments come from the query string, a form-encoded body or a JSON body (`application/json`);
the bot token from `Authorization: Bearer xoxb-…` (or a `token` form/query field; never a JSON body's, as
Slack; a JSON body without `charset=utf-8` gets Slack's `missing_charset` warning). Failures are
HTTP 200 with `{"ok": false, "error": "<code>"}`, as in Slack: not_authed, invalid_auth,
token_revoked, channel_not_found, not_in_channel, is_archived, no_text, msg_too_long,
invalid_blocks (Block Kit limits, see `sandbox.slack.blocks`),
too_many_attachments, invalid_metadata_format, invalid_limit, invalid_cursor, users_not_found,
user_not_found, invalid_json, unknown_method (HTTP 404); request errors before any method runs
(missing_post_type, invalid_post_type, invalid_charset, invalid_form_data, invalid_array_arg: `sandbox.slack.post_body`)
and argument rules (`as_user` from a bot token, an org-wide install's `team_id`: `sandbox.slack.arg_rules`).

Methods: api.test, auth.test (auth.revoke: `sandbox.slack.oauth`), chat.postMessage, chat.update, chat.delete,
chat.getPermalink, chat.postEphemeral, conversations.info (`locale` with include_locale [unc])
(conversations.history / conversations.replies: `sandbox.slack.history`; users.*: `sandbox.slack.directory`);
user-token methods (USER_TOKEN_ONLY: search.*, reminders.*, stars.*, ...) answer not_allowed_token_type to
the bot token.
chat.update / chat.delete act on the caller's own messages (a user token acts as the person: `sandbox.slack.actor`)
(message_not_found, cant_update_message, cant_delete_message). chat.postMessage / chat.update keep `metadata`
(and echo it in their `message`, chat.update only when sent [unc]); conversations.history returns it with
`include_all_metadata=true`, as Slack does. A private channel it is not in is channel_not_found to every
method, as Slack hides it from non-members (chat.postMessage too; public channels take posts without
joining). Read-back messages carry Slack's thread fields (`sandbox.slack.threads`: reply_count,
latest_reply, parent_user_id, thread_broadcast).
api.test echoes `args` (and fails with `error=<code>`).
More methods live in their own modules: files.* (`sandbox.slack.files`), conversations admin
(`sandbox.slack.channels`), pins.* (`sandbox.slack.pins`), reactions.* (`sandbox.slack.reactions`), bookmarks.*
(`sandbox.slack.bookmarks`), scheduled messages, chat.meMessage and chat.unfurl (`sandbox.slack.scheduled`),
views.* (`sandbox.slack.views`), team / bot / profile / presence / dnd / emoji look-ups
(`sandbox.slack.directory`), usergroups.* (`sandbox.slack.usergroups`), assistant.threads.* and
chat.*Stream (`sandbox.slack.assistant`), conversations.list /
users.conversations (`sandbox.slack.listing`), calls.* (`sandbox.slack.calls`), files.remote.*
(`sandbox.slack.remote_files`), dialog.open (`sandbox.slack.dialogs`).
"""

from __future__ import annotations

import json
import re
from email.message import Message
from typing import TYPE_CHECKING, Any

from sandbox.core.http import Request
from sandbox.core.multipart import MultipartError, boundary_of, split_parts
from sandbox.slack.actor import actor_id, dm_for, person, seen, sees
from sandbox.slack.arg_numbers import whole
from sandbox.slack.authorship import bot_message, customized
from sandbox.slack.blocks import check_blocks, markdown_content
from sandbox.slack.post_body import body_codec, form_fields, json_body, refuse_array_args
from sandbox.slack.threads import with_threads

if TYPE_CHECKING:
    from sandbox.slack.app import SlackSandbox

MAX_TEXT = 40_000
# methods Slack serves to other token types only: a bot token gets not_allowed_token_type
USER_TOKEN_ONLY = ("search.messages", "search.all", "search.files", "reminders.add", "reminders.list",
                   "reminders.info", "reminders.delete", "reminders.complete", "stars.add", "stars.list",
                   "stars.remove", "users.profile.set", "users.setPhoto", "users.deletePhoto", "dnd.setSnooze",
                   "dnd.endSnooze", "dnd.endDnd", "users.identity", "files.sharedPublicURL", "files.revokePublicURL",
                   "team.accessLogs", "team.billableInfo",
                   # classic-app RTM and the app-level (xapp-) token's Socket Mode: not for a granular bot token
                   "rtm.connect", "rtm.start", "apps.connections.open")


class SlackError(Exception):
    """A Slack `ok: false` answer (HTTP 200 unless `status` says otherwise)."""

    def __init__(self, error: str, status: int = 200, **extra: Any) -> None:
        super().__init__(error)
        self.error, self.status, self.extra = error, status, extra


def bad_args(*messages: str) -> SlackError:
    """Slack's `invalid_arguments`, each problem in `response_metadata.messages` as `[ERROR] …`."""
    return SlackError("invalid_arguments", response_metadata={"messages": [f"[ERROR] {m}" for m in messages]})


# Read methods take query or form arguments only ("most write methods allow arguments with
# application/json"): a JSON body sent to one is not read, so its arguments are missing (conversations.history
# then answers channel_not_found, users.lookupByEmail users_not_found), as on Slack.
READ_VERBS = frozenset({"history", "replies", "list", "info", "members", "lookupByEmail", "getPresence", "get",
                        "getPermalink", "conversations", "identity"})


def reads_json(method: str) -> bool:
    return method.rsplit(".", 1)[-1] not in READ_VERBS


def call_args(req: Request, method: str = "") -> dict[str, Any]:
    args: dict[str, Any] = dict(req.query)
    refuse_array_args(args, SlackError)
    if not req.body:
        return args
    codec = body_codec(req, SlackError)  # missing_post_type, invalid_post_type, invalid_charset (post_body)
    if req.header("Content-Type").lower().startswith("application/json"):
        if not reads_json(method):
            return args  # the token in the Authorization header still counts
        body = json_body(req, codec, SlackError)
        if not isinstance(body, dict):
            raise SlackError("invalid_json")
        args.update(body)
    elif req.header("Content-Type").lower().startswith("multipart/form-data"):
        args.update(_multipart_args(req))
    else:
        form = form_fields(req, codec, SlackError)
        refuse_array_args(form, SlackError)
        args.update(form)
    return args


def _multipart_args(req: Request) -> dict[str, Any]:
    """A multipart/form-data body's fields (slack_sdk sends one when a call carries a file, e.g.
    files.remote.add's preview_image): text fields as str, file parts (with a filename) as bytes."""
    boundary = boundary_of(req.header("Content-Type"))
    if boundary is None:
        raise SlackError("invalid_form_data")
    try:
        parts = split_parts(req.body, boundary)
    except MultipartError as exc:
        raise SlackError("invalid_form_data") from exc
    out: dict[str, Any] = {}
    for headers, content in parts:
        disposition = Message()
        disposition["content-disposition"] = headers.get("content-disposition", "")
        name = disposition.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        filename = disposition.get_param("filename", header="content-disposition")
        out[name] = content if filename is not None else content.decode("utf-8", "replace")
    return out


def _json_arg(value: Any, error: str) -> list[Any] | None:
    """Blocks/attachments arrive as lists (JSON body) or JSON strings (form body)."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise SlackError(error) from exc
    if not isinstance(value, list):
        raise SlackError(error)
    return value


def _metadata(value: Any) -> dict[str, Any] | None:
    """Message metadata (`{"event_type", "event_payload"}`), a JSON object or its string (form body)."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise SlackError("invalid_metadata_format") from exc
    if not isinstance(value, dict) or not isinstance(value.get("event_type"), str) \
            or not isinstance(value.get("event_payload", {}), dict):
        raise SlackError("invalid_metadata_format")
    return value


_THREAD_TS = re.compile(r"[0-9]+(\.[0-9]+)?")


def check_thread_ts(args: dict[str, Any]) -> None:
    """A `thread_ts` that is sent must look like a message ts: "" or "0" is invalid_thread_ts with Slack's
    `[ERROR] <value> is not a valid thread_ts` [unc: the check for other shapes]. One naming no message is
    taken (the reply then shows in no channel history, as Slack does with a mistyped thread_ts)."""
    if "thread_ts" in args and args["thread_ts"] is not None:
        value = str(args["thread_ts"])
        if not _THREAD_TS.fullmatch(value) or float(value) <= 0:
            raise SlackError("invalid_thread_ts", response_metadata={
                "messages": [f"[ERROR] {value} is not a valid thread_ts"]})


def _flag(value: Any) -> bool:
    return str(value).lower() in ("1", "true", "yes")


def _limit(args: dict[str, Any], default: int, most: int) -> int:
    """A paging method's `limit`, one rule for all: absent, "" or 0 is the method's default page size, a negative
    one too ("Invalid limit values are currently magically adjusted to something sensible", Slack's pagination
    guide; [unc] that negative means the default), one over the method's maximum is capped to it; a value that is
    not an integer is invalid_limit (conversations.list documents it: "Value passed for limit is not understood")."""
    raw = args.get("limit")
    if raw is None or str(raw).strip() == "":
        return default
    n = whole(str(raw), strip=True)  # not int(): '٣' read as 3, '3_0' as 30 [round 27]
    if n is None:
        raise SlackError("invalid_limit")
    return default if n < 1 else min(n, most)


class WebApi:
    """The method table; each method takes the parsed args and returns the success body (sans ok)."""

    def __init__(self, sb: SlackSandbox) -> None:
        self.sb = sb
        self.methods = {
            "api.test": self.api_test, "auth.test": self.auth_test,
            "chat.postMessage": self.post_message,
            "conversations.info": self.conversations_info,
            "chat.update": self.update_message,
            "chat.delete": self.delete_message, "chat.getPermalink": self.permalink,
            "chat.postEphemeral": self.post_ephemeral,
        }
        from sandbox.slack.assistant import AssistantApi
        from sandbox.slack.bookmarks import BookmarksApi
        from sandbox.slack.calls import CallsApi
        from sandbox.slack.canvases import CanvasesApi
        from sandbox.slack.channels import ChannelsApi
        from sandbox.slack.dialogs import DialogsApi
        from sandbox.slack.directory import DirectoryApi
        from sandbox.slack.files import FilesApi
        from sandbox.slack.history import HistoryApi
        from sandbox.slack.listing import ListingApi
        from sandbox.slack.pins import PinsApi
        from sandbox.slack.reactions import ReactionsApi
        from sandbox.slack.remote_files import RemoteFilesApi
        from sandbox.slack.scheduled import ScheduledApi
        from sandbox.slack.usergroups import UsergroupsApi
        from sandbox.slack.views import ViewsApi

        self.files, self.channels = FilesApi(self), ChannelsApi(self)
        self.scheduled, self.views = ScheduledApi(self), ViewsApi(self)
        self.assistant, self.pins = AssistantApi(self), PinsApi(self)
        self.dialogs, self.remote_files = DialogsApi(self), RemoteFilesApi(self)
        for ext in (self.files, self.channels, self.scheduled, self.views, DirectoryApi(self), ListingApi(self),
                    self.pins, ReactionsApi(self), BookmarksApi(self), UsergroupsApi(self),
                    self.assistant, HistoryApi(self), CallsApi(self), self.remote_files,
                    self.dialogs, CanvasesApi(self)):
            self.methods.update(ext.methods)
        self.methods.update(dict.fromkeys(USER_TOKEN_ONLY, self.user_token_only))

    @staticmethod
    def user_token_only(args: dict[str, Any]) -> dict[str, Any]:
        raise SlackError("not_allowed_token_type")

    def api_test(self, args: dict[str, Any]) -> dict[str, Any]:
        """Echo the arguments; `error=<code>` makes it fail with that code, as Slack's does."""
        echoed = {k: v for k, v in args.items() if k != "token"}
        if args.get("error"):
            raise SlackError(str(args["error"]), args=echoed)
        return {"args": echoed}

    def auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        ws = self.sb.workspace
        return {"url": f"https://{ws.domain}.slack.com/", "team": ws.team, "user": "projectx-bot",
                "team_id": ws.team_id, "user_id": ws.bot_user_id, "bot_id": ws.bot_id,
                **({"enterprise_id": self.sb.enterprise.id} if self.sb.enterprise.org_wide else {}),
                "is_enterprise_install": self.sb.enterprise.org_wide}

    def _channel(self, args: dict[str, Any], names: bool = False) -> dict[str, Any]:
        """The conversation ``channel`` names. By id only, as Slack's conversations.*, chat.update/delete and
        most methods take it (a name there is ``channel_not_found``); ``names``: also by name (``#x`` or
        ``x``), as the posting methods (chat.postMessage, postEphemeral, scheduleMessage, meMessage) do."""
        ref = str(args.get("channel") or "")
        channel = None
        if ref and (names or ref in self.sb.workspace.channels):
            channel = self.sb.workspace.channel(ref)
        if channel is None and ref.startswith("U") and ref in self.sb.workspace.users:
            channel = dm_for(self.sb, ref)  # the caller's DM with that user (sandbox.slack.actor)
        if channel is None or not sees(self.sb, channel):
            raise SlackError("channel_not_found")  # a private channel is invisible to a caller not in it
        return channel

    def _writable(self, args: dict[str, Any], names: bool = False) -> dict[str, Any]:
        channel = self._channel(args, names)
        if channel["is_archived"]:
            raise SlackError("is_archived")
        return channel

    @staticmethod
    def _content(args: dict[str, Any]) -> tuple[Any, list[Any] | None, list[Any] | None]:
        markdown = markdown_content(args, SlackError)
        if markdown:
            return *markdown, _json_arg(args.get("attachments"), "invalid_attachments")
        text = args.get("text")
        blocks = _json_arg(args.get("blocks"), "invalid_blocks_format")
        attachments = _json_arg(args.get("attachments"), "invalid_attachments")
        if not text and not blocks and not attachments:
            raise SlackError("no_text")
        if blocks:
            check_blocks(blocks, SlackError)
        if text and len(str(text)) > MAX_TEXT:
            raise SlackError("msg_too_long")
        if attachments and len(attachments) > 100:
            raise SlackError("too_many_attachments")
        return text, blocks, attachments

    def _own_message(self, args: dict[str, Any], ts_arg: str, not_ours: str) -> tuple[dict[str, Any], dict]:
        channel = self._channel(args)
        stored = self.sb.find_message(channel["id"], str(args.get(ts_arg) or ""))
        if stored is None:
            raise SlackError("message_not_found")
        uid = person(self.sb)  # a person may change only their own messages, the bot only its own
        if not_ours and (stored["message"].get("bot_id") != self.sb.workspace.bot_id if uid is None else
                         stored["message"].get("bot_id") or stored["message"].get("user") != uid):
            raise SlackError(not_ours)
        return channel, stored

    def update_message(self, args: dict[str, Any]) -> dict[str, Any]:
        """chat.update: only the bot's own messages (cant_update_message otherwise); `reply_broadcast` makes a
        reply a thread_broadcast, shown in the channel's history too."""
        channel, stored = self._own_message(args, "ts", "cant_update_message")
        if channel["is_archived"]:
            raise SlackError("is_archived")
        text, blocks, attachments = self._content(args)
        changes: dict[str, Any] = {"text": text or ""}
        if blocks is not None:
            changes["blocks"] = blocks
        if attachments is not None:
            changes["attachments"] = attachments
        metadata = _metadata(args.get("metadata"))
        if metadata:
            changes["metadata"] = metadata
        if _flag(args.get("reply_broadcast")) and stored["thread_ts"] and stored["thread_ts"] != stored["ts"]:
            changes["subtype"] = "thread_broadcast"  # "Broadcast an existing thread reply" (chat.update's docs)
        self.sb.edit_message(stored, changes, args, actor_id(self.sb))
        # Slack's answer carries the metadata it was just given (ChatUpdateResponse.message.metadata) [unc: not
        # otherwise]
        message = {k: v for k, v in stored["message"].items() if k != "ts" and (k != "metadata" or metadata)}
        return {"channel": channel["id"], "ts": stored["ts"], "text": message["text"], "message": message}

    def delete_message(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, stored = self._own_message(args, "ts", "cant_delete_message")
        self.sb.delete_message(stored)
        return {"channel": channel["id"], "ts": stored["ts"]}

    def permalink(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, stored = self._own_message(args, "message_ts", "")
        link = self._link(channel["id"], stored["ts"])
        if stored["thread_ts"] and stored["thread_ts"] != stored["ts"]:  # a reply links into its thread
            link += f"?thread_ts={stored['thread_ts']}&cid={channel['id']}"
        return {"channel": channel["id"], "permalink": link}

    def post_ephemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        """chat.postEphemeral: shown to one user, never in conversations.history; kept in `sb.messages()`
        flagged ``ephemeral`` with ``ephemeral_user`` (as a response_url's ephemeral message is)."""
        channel = self._writable(args, names=True)
        user = str(args.get("user") or "")
        if user not in self.sb.workspace.users:
            raise SlackError("user_not_found")
        if user not in self.channels.member_ids(channel):
            raise SlackError("user_not_in_channel")
        check_thread_ts(args)
        message = bot_message(self.sb.workspace, *self._content(args), args.get("thread_ts"))
        stored = self.sb.record_message(channel, message, "chat.postEphemeral", args, ephemeral_user=user)
        return {"message_ts": stored["ts"]}

    def _link(self, channel_id: str, ts: str) -> str:
        return f"https://{self.sb.workspace.domain}.slack.com/archives/{channel_id}/p{ts.replace('.', '')}"

    def post_message(self, args: dict[str, Any], via: str = "chat.postMessage") -> dict[str, Any]:
        channel = self._writable(args, names=True)
        if not channel["is_member"] and not self.sb.grants.has("chat:write.public"):
            raise SlackError("not_in_channel")  # a public channel the bot is not in needs chat:write.public
        ws = self.sb.workspace
        check_thread_ts(args)
        message = customized(bot_message(ws, *self._content(args), args.get("thread_ts")), args)
        if message.get("thread_ts") and _flag(args.get("reply_broadcast")):
            message["subtype"] = "thread_broadcast"
        metadata = _metadata(args.get("metadata"))
        if metadata:
            message["metadata"] = metadata
        stored = self.sb.record_message(channel, message, via, args)
        message = dict(stored["message"])  # with its ts and the block_ids Slack gave the blocks
        if stored["thread_ts"] and stored["thread_ts"] != stored["ts"]:  # a reply: its parent's author, and a
            with self.sb._lock:  # broadcast its thread's parent as `root` (ChatPostMessageResponse.message)
                rows = [m for m in self.sb._messages if m["channel"] == channel["id"]]
            shown = with_threads(rows).get(stored["ts"], {})
            message.update({k: shown[k] for k in ("parent_user_id", "root") if k in shown})
        return {"channel": channel["id"], "ts": stored["ts"], "message": message}

    def conversations_info(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = seen(self.sb, self._channel(args))  # the member count only with include_num_members, as Slack
        if not _flag(args.get("include_num_members")):
            channel = {k: v for k, v in channel.items() if k != "num_members"}
        if (channel.get("is_member") or channel.get("is_im")) and "last_read" not in channel:
            channel = {**channel, "last_read": "0000000000.000000"}  # a member's read cursor: none yet [unc]
        return {"channel": {**channel, "locale": "en-US"} if _flag(args.get("include_locale")) else channel}  # [unc]
