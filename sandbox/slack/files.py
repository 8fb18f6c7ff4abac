"""Slack file uploads the way slack_sdk's `files_upload_v2` does them, plus files.info / list / delete.
files.info / files.list / files.delete also take the app's remote files (`sandbox.slack.remote_files`: mode
external, `is_external` true, `external_type` app), listed among the others by `created` (with any `types`
their kind matches: `all`, or gdocs for a gdoc filetype).

1. `files.getUploadURLExternal(filename, length)` -> `{"upload_url", "file_id"}`; the URL is this sandbox's
   `/upload/v1/<ticket>` (Slack's is https://files.slack.com/upload/v1/…).
2. `POST <upload_url>` with the raw bytes -> 200 `OK - <bytes>` (plain text, as files.slack.com answers).
3. `files.completeUploadExternal(files=[{"id","title"}], channel_id | channels, initial_comment | blocks, thread_ts)`
   -> `{"files": [file, …]}`; shared files land in the channel as one message with `files` and `upload: true`
   (kept in `sb.messages()` with via "files.completeUploadExternal"); the message's file objects are
   `is_public` when shared in a public channel and carry no channels / shares lists [unc].
Errors: invalid_arguments (no filename / length, a length that is no integer or negative; a `channel_id` that is a
name or user id, not a C/G/D/Z id; in `channels` such an entry is channel_not_found [unc], as slack_sdk ≥ 3.35
users met when a str `channels` was sent as "C,0,1,…"), missing_argument (length 0, as Slack documents),
alt_txt_too_large (over 1000 characters), snippet_too_large (a `snippet_type` and over 1 MB),
file_upload_size_restricted (over 1 GB [unc]), not_in_channel (sharing needs the bot in the conversation),
file_not_found (unknown id, bytes never uploaded: guessed, Slack's exact code for the latter is undocumented; a
file already completed, as the method "can only be called once" [unc: the code]), file_deleted, channel_not_found,
is_archived. `files.upload` (v1) answers method_deprecated: Slack retired it in November 2025 (guessed code).
`url_private` / `url_private_download` serve the bytes to a request with the bot token, or a user token of
someone who can see the file (`sandbox.slack.file_access`).
With a user token (`sandbox.slack.actor`) the person uploads: the file's `user` is them, it is shared into
conversations they are in (not_in_channel otherwise) by a message of theirs (subtype file_share); a file id
another token asked for is file_not_found [unc]; files.list / files.info show what they can see (their own
files and those shared where they can read: file_not_found otherwise [unc]); files.delete deletes their own
files only (cant_delete_file).
"""

from __future__ import annotations

import json
import math
import mimetypes
import re
import threading
import time
import uuid
from typing import TYPE_CHECKING, Any

from sandbox.core.http import Request, Response
from sandbox.slack import file_access, filetypes
from sandbox.slack.actor import actor_id, is_member, person
from sandbox.slack.arg_numbers import stamp, whole
from sandbox.slack.blocks import check_blocks
from sandbox.slack.file_access import public_file
from sandbox.slack.seed import slack_id
from sandbox.slack.webapi import SlackError, _json_arg, bad_args, check_thread_ts

if TYPE_CHECKING:
    from sandbox.slack.webapi import WebApi

_CONVERSATION_ID = re.compile(r"^[CGDZ][A-Z0-9]{8,}$")
FILE_MAX = 1024**3  # Slack takes files up to 1 GB
SNIPPET_MAX = 1024**2  # a snippet up to 1 MB (snippet_too_large)


class FilesApi:
    def __init__(self, api: WebApi) -> None:
        self.api, self.sb = api, api.sb
        self._lock = threading.Lock()
        self._files: dict[str, dict[str, Any]] = {}  # id -> file object (+ "_data", "_state")
        self._tickets: dict[str, str] = {}  # upload ticket -> file id
        self.methods = {
            "files.getUploadURLExternal": self.get_upload_url, "files.completeUploadExternal": self.complete,
            "files.info": self.info, "files.list": self.list_files, "files.delete": self.delete,
            "files.upload": self.upload_v1,
        }

    def upload_v1(self, args: dict[str, Any]) -> dict[str, Any]:
        raise SlackError("method_deprecated")

    def get_upload_url(self, args: dict[str, Any]) -> dict[str, Any]:
        filename = str(args.get("filename") or "")
        length = _length(args)
        if not filename:
            raise bad_args("missing required field: filename")
        if len(str(args.get("alt_txt") or "")) > 1000:
            raise SlackError("alt_txt_too_large")
        if args.get("snippet_type") and length > SNIPPET_MAX:
            raise SlackError("snippet_too_large")
        if length > FILE_MAX:
            raise SlackError("file_upload_size_restricted")  # Slack's cap is 1 GB a file [unc: the exact code]
        ws, uid = self.sb.workspace, actor_id(self.sb)
        with self._lock:
            n = len(self._files) + 1
            fid = slack_id("F", self.sb.seed, f"file:{n}:{filename}:{time.time_ns()}")
            ticket = f"{ws.team_id}-{fid}-{n:06d}"
            mime = mimetypes.guess_type(filename)[0] or "application/octet-stream"
            filetype, pretty, mode = filetypes.kind(filename, str(args.get("snippet_type") or "") or None)
            self._files[fid] = {
                "id": fid, "created": int(time.time()), "timestamp": int(time.time()), "name": filename,
                "title": filename, "mimetype": mime, "filetype": filetype, "pretty_type": pretty, "user": uid,
                "user_team": ws.team_id, "editable": mode == "snippet", "size": length, "mode": mode,
                "is_external": False, "external_type": "",
                "is_public": False, "public_url_shared": False, "display_as_bot": False, "username": "",
                "url_private": f"{self.sb.url}/files-pri/{ws.team_id}-{fid}/{filename}",
                "url_private_download": f"{self.sb.url}/files-pri/{ws.team_id}-{fid}/download/{filename}",
                "permalink": f"https://{ws.domain}.slack.com/files/{uid}/{fid}/{filename}",
                "alt_txt": args.get("alt_txt") or None, "channels": [], "groups": [], "ims": [], "shares": {},
                "comments_count": 0, "has_rich_preview": False, "file_access": "visible",
                "_data": None, "_state": "pending", "_ns": time.time_ns()}
            if not self._files[fid]["alt_txt"]:
                del self._files[fid]["alt_txt"]
            self._tickets[ticket] = fid
        return {"upload_url": f"{self.sb.url}/upload/v1/{ticket}", "file_id": fid}

    def receive(self, req: Request) -> Response:
        """`POST /upload/v1/<ticket>`: the file's bytes (raw, or a multipart `file` part)."""
        with self._lock:
            fid = self._tickets.get(req.params["ticket"])
            if fid is None:
                return Response(404, b"invalid_upload_url", "text/plain; charset=utf-8")
            data = req.body
            if req.header("Content-Type").lower().startswith("multipart/form-data"):
                data = _multipart_file(req)
            self._files[fid]["_data"], self._files[fid]["size"] = data, len(data)
            self._files[fid]["_state"] = "uploaded"
        return Response(200, f"OK - {len(data)}".encode(), "text/plain; charset=utf-8")

    def complete(self, args: dict[str, Any]) -> dict[str, Any]:
        wanted = args.get("files")
        try:
            wanted = json.loads(wanted) if isinstance(wanted, str) else wanted
        except ValueError as exc:
            raise bad_args("invalid JSON [json-pointer:/files]") from exc
        if not isinstance(wanted, list) or not wanted or not all(isinstance(f, dict) for f in wanted):
            raise bad_args("missing required field: files")
        refs = [str(args["channel_id"])] if args.get("channel_id") else \
            [c.strip() for c in str(args.get("channels") or "").split(",") if c.strip()]
        channels = [self._share_target(ref, "channel_id" if args.get("channel_id") else "channels") for ref in refs]
        check_thread_ts(args)  # [unc] chat.postMessage's check; Slack documents no thread_ts error here
        blocks = None  # "If the initial_comment field is provided, the blocks field is ignored" (Slack's docs)
        if not args.get("initial_comment") and args.get("blocks"):
            blocks = _json_arg(args["blocks"], "invalid_blocks_format")
            check_blocks(blocks or [], SlackError)
        with self._lock:
            picked = []
            for want in wanted:
                f = self._files.get(str(want.get("id")))
                if f is None or f["_state"] == "pending" or f["user"] != actor_id(self.sb):
                    raise SlackError("file_not_found")
                if f["_state"] == "deleted":
                    raise SlackError("file_deleted")
                if f["_state"] == "complete" or f in picked:  # "can only be called once": the ticket is spent
                    raise SlackError("file_not_found")  # [unc: Slack's code for a second completion]
                picked.append(f)
            for want, f in zip(wanted, picked, strict=True):  # all checked first: a refused call changes nothing
                if want.get("title"):
                    f["title"] = str(want["title"])
                f["_state"] = "complete"
        for channel in channels:
            self._share(channel, picked, args, person(self.sb), via="files.completeUploadExternal", blocks=blocks)
        return {"files": [public_file(f) for f in picked]}

    def _share_target(self, ref: str, field: str) -> dict[str, Any]:
        """A conversation to share into: an encoded id (a name or a user id is invalid_arguments, as Slack's
        schema check answers), live, with the bot in it (not_in_channel: chat:write.public covers posts only)."""
        if not _CONVERSATION_ID.fullmatch(ref):
            if field == "channels":  # [unc] python-slack-sdk#1465: channels="C,Q,X,…" was channel_not_found
                raise SlackError("channel_not_found")
            raise bad_args(f"input must match regex pattern: {_CONVERSATION_ID.pattern} [json-pointer:/{field}]")
        channel = self.api._writable({"channel": ref})
        if not is_member(self.sb, channel):
            raise SlackError("not_in_channel")
        return channel

    def _share(self, channel: dict[str, Any], files: list[dict[str, Any]], args: dict[str, Any],
               person: str | None = None, via: str | None = None, blocks: list[Any] | None = None) -> dict[str, Any]:
        """One message with `files` in `channel` (the bot's, or `person`'s: subtype file_share), their
        shares, and a `file_shared` event per file for a subscribed app."""
        ws = self.sb.workspace
        sharer = person or ws.bot_user_id
        kind = "private" if channel["is_private"] or channel.get("is_im") else "public"
        message: dict[str, Any] = {"type": "message", "text": str(args.get("initial_comment") or ""),
                                   "user": sharer, "team": ws.team_id, "upload": True, "display_as_bot": False,
                                   "files": [_in_message(f, kind == "public") for f in files]}
        if person:
            message.update(subtype="file_share", client_msg_id=str(uuid.uuid4()))
        else:
            message.update(bot_id=ws.bot_id, app_id=ws.app_id)
        if blocks:
            message["blocks"] = blocks
        if args.get("thread_ts"):
            message["thread_ts"] = str(args["thread_ts"])
        stored = self.sb.record_message(channel, message, via or ("user" if person else "files.completeUploadExternal"),
                                        args)
        share = {"ts": stored["ts"], "channel_name": channel["name"], "team_id": ws.team_id,
                 "share_user_id": sharer, "reply_users": [], "reply_count": 0}
        if args.get("thread_ts"):
            share["thread_ts"] = str(args["thread_ts"])
        with self._lock:
            for f in files:
                f["shares"].setdefault(kind, {}).setdefault(channel["id"], []).append(share)
                bucket = "ims" if channel.get("is_im") else "groups" if channel["is_private"] else "channels"
                if channel["id"] not in f[bucket]:
                    f[bucket].append(channel["id"])
                f["is_public"] = f["is_public"] or kind == "public"
        for f in files:
            self.sb.events.emit(channel, "file_shared", {
                "type": "file_shared", "channel_id": channel["id"], "file_id": f["id"], "user_id": sharer,
                "file": {"id": f["id"]}, "event_ts": stored["ts"]})
        return stored

    def upload_as_user(self, channel: dict[str, Any], uid: str, filename: str, data: bytes,
                       text: str = "") -> dict[str, Any]:
        """A person uploads a file into `channel` (`sb.upload_as_user`): the kept message."""
        fid = self.get_upload_url({"filename": filename, "length": max(len(data), 1)})["file_id"]
        ws = self.sb.workspace
        with self._lock:
            f = self._files[fid]
            f.update(_data=data, size=len(data), _state="complete", user=uid,
                     permalink=f"https://{ws.domain}.slack.com/files/{uid}/{fid}/{filename}")
        return self._share(channel, [f], {"initial_comment": text}, person=uid)

    def _visible(self, f: dict[str, Any]) -> bool:
        """Whether the caller sees file `f`: the bot every file; a person theirs and those shared where they read."""
        return file_access.visible(self.sb, f)

    def _file(self, args: dict[str, Any]) -> dict[str, Any]:
        """The hosted file `file` names, or a remote one (files.remote.add's: marked `_remote`)."""
        fid = str(args.get("file") or "")
        with self._lock:
            f = self._files.get(fid)
        if f is None:
            remote = self.api.remote_files.seen(fid)
            if remote is not None:
                return {**remote, "_remote": True}
        if f is None or f["_state"] == "pending" or not self._visible(f):
            raise SlackError("file_not_found")
        if f["_state"] == "deleted":
            raise SlackError("file_deleted")
        return f

    def info(self, args: dict[str, Any]) -> dict[str, Any]:
        f = self._file(args)
        return {"file": self._shown(f), "comments": [], "response_metadata": {"next_cursor": ""}}

    def _shown(self, f: dict[str, Any]) -> dict[str, Any]:
        return self.api.remote_files._shown(f) if f.get("_remote") or f.get("mode") == "external" else public_file(f)

    def delete(self, args: dict[str, Any]) -> dict[str, Any]:
        f = self._file(args)
        if person(self.sb) is not None and f["user"] != person(self.sb):
            raise SlackError("cant_delete_file")
        if f.get("_remote"):  # a remote file goes as files.remote.remove takes it away [unc]
            self.api.remote_files.remove({"file": f["id"]})
            return {}
        with self._lock:
            f["_state"], f["_data"] = "deleted", None
        return {}

    def list_files(self, args: dict[str, Any]) -> dict[str, Any]:
        """Newest first, filtered by channel / user / ts_from / ts_to / types (comma list of Slack's file kinds:
        all, images, pdfs, zips, snippets, gdocs, spaces), paged by `count` + `page`."""
        channel = self.api._channel(args)["id"] if args.get("channel") else None
        with self._lock:
            rows = [f for f in self._files.values() if f["_state"] == "complete"]
        rows = [f for f in rows if self._visible(f)] + self.api.remote_files.visible_files()
        rows.sort(key=lambda f: (f["created"], f["_ns"]))  # hosted and remote (files.remote.add) files
        since, until = stamp(args.get("ts_from") or 0), stamp(args.get("ts_to") or 0)
        if since is None or until is None:  # not float(): 'x' was a 500, '٣' read as 3 [round 27]
            raise bad_args("ts_from / ts_to must be timestamps")  # [unc] wording
        until = until if args.get("ts_to") else math.inf
        rows = [f for f in rows if (channel is None or channel in f["channels"] + f["groups"] + f["ims"])
                and (not args.get("user") or f["user"] == args["user"])
                and f["created"] >= since
                and f["created"] <= until and _of_types(f, args.get("types"))]
        rows.reverse()
        count, page = whole(args.get("count") or 100), whole(args.get("page") or 1)  # not int() [round 27]
        if count is None or page is None:
            raise SlackError("invalid_arguments")
        count, page = max(count, 1), max(page, 1)
        pages = max((len(rows) + count - 1) // count, 1)
        return {"files": [self._shown(f) for f in rows[(page - 1) * count:page * count]],
                "paging": {"count": count, "total": len(rows), "page": page, "pages": pages}}

    def download(self, req: Request) -> Response:
        """`GET /files-pri/<team>-<id>/…`: the bytes to a bearer token that may see the file
        (`sandbox.slack.file_access`); Slack's sign-in page or login redirect otherwise, never JSON."""
        fid = req.params["key"].split("-", 1)[-1]
        with self._lock:
            f = self._files.get(fid)
        if f is None or f["_data"] is None:
            return Response(404, b"file_not_found", "text/plain; charset=utf-8")
        refused = file_access.refusal(self.sb, req, lambda: self._visible(f))
        return refused or Response(200, f["_data"], f["mimetype"])


def _length(args: dict[str, Any]) -> int:
    """files.getUploadURLExternal's `length`: required (invalid_arguments, Slack's schema check), an integer,
    not 0 (missing_argument, as Slack documents for a length of 0), not negative [unc: invalid_arguments]."""
    raw = args.get("length")
    if raw is None or str(raw).strip() == "":
        raise bad_args("missing required field: length")
    length = whole(str(raw), strip=True)  # not int(): '٣' read as 3, '3_0' as 30 [round 27]
    if length is None:
        raise bad_args("must be an integer [json-pointer:/length]")
    if length == 0:
        raise SlackError("missing_argument")
    if length < 0:
        raise bad_args("must be greater than or equal to 1 [json-pointer:/length]")
    return length


def _in_message(f: dict[str, Any], public_share: bool) -> dict[str, Any]:
    """A file as a message carries it: public once shared in a public channel, without the `channels` /
    `groups` / `ims` / `shares` lists files.info has [unc: Slack's message file objects leave them out]."""
    out = {k: v for k, v in public_file(f).items() if k not in ("channels", "groups", "ims", "shares")}
    return {**out, "is_public": bool(f["is_public"] or public_share)}


def _of_types(f: dict[str, Any], types: Any) -> bool:
    """Whether a file is of one of the `types` files.list filters by (none or `all`: every file)."""
    wanted = {t.strip() for t in str(types or "all").split(",") if t.strip()} or {"all"}
    kinds = {"all", "images" if f["mimetype"].startswith("image/") else "", "pdfs" if f["filetype"] == "pdf" else "",
             "zips" if f["filetype"] == "zip" else "", "snippets" if f["mode"] == "snippet" else "",
             "gdocs" if f["filetype"].startswith("gdoc") else "", "spaces" if f["mode"] in ("space", "post") else ""}
    return bool(wanted & kinds)


def _multipart_file(req: Request) -> bytes:
    """The first part's content of a multipart/form-data body (uploads sent as a form)."""
    boundary = req.header("Content-Type").split("boundary=", 1)[-1].strip('"').encode()
    for part in req.body.split(b"--" + boundary)[1:]:
        head, _, content = part.partition(b"\r\n\r\n")
        if head.strip() and content:
            return content[:-2] if content.endswith(b"\r\n") else content
    return b""
