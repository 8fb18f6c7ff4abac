"""Remote files: files.remote.add / update / info / list / share / remove, as Slack documents them.

A remote file lives elsewhere (`external_url`); Slack keeps its record, keyed by the app's `external_id` and
its own `F…` id. `add` is an upsert (an `external_id` added before is updated, same id); `add` / `update`
take `preview_image` and `indexable_file_contents` as multipart/form-data files (slack_sdk sends them so).
The file object is Slack's documented one (`mimetype` application/vnd.slack-remote, `filetype` remote,
`mode` external, `is_external`, `external_type` app, `url_private` = the external URL, `external_id`,
`external_url`, `has_rich_preview`: false in the answer that took the preview, true after, as the docs say).
`share` posts the file into each conversation of `channels` (a message with `files`, like an upload's share)
and the file then lists them (`channels` / `groups` / `ims`, `shares`).
Scopes (`sandbox.slack.scopes`): info / list remote_files:read, share remote_files:share, add / update /
remove remote_files:write.
Errors: invalid_arguments (add without external_id / external_url / title: `[ERROR] missing required field:
…`; share without channels; neither `file` nor `external_id` [unc: Slack's code for that is undocumented]),
too_many_ids (info with both), file_not_found (no such file, or `file` and `external_id` naming two files),
invalid_external_id (an id over 255 characters), bad_title (a title over 255 characters) [unc: the limits],
bad_image (a preview that is not a PNG / JPEG / GIF), channel_not_found, not_in_channel, invalid_cursor.
files.remote.list pages newest first by `limit` (default 100 [unc], at most 1000) and `cursor`.
"""

from __future__ import annotations

import math
import re
import threading
import time
from typing import TYPE_CHECKING, Any

from sandbox.slack import file_access, paging
from sandbox.slack.actor import actor_id, is_member, person
from sandbox.slack.arg_numbers import stamp
from sandbox.slack.file_access import public_file
from sandbox.slack.seed import slack_id
from sandbox.slack.webapi import SlackError, _limit, bad_args

if TYPE_CHECKING:
    from sandbox.slack.webapi import WebApi

MAX_ID = MAX_TITLE = 255  # [unc] Slack names the errors (invalid_external_id, bad_title), not the limits
_IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a")


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", title.lower()).strip("_") or "file"


class RemoteFilesApi:
    def __init__(self, api: WebApi) -> None:
        self.api, self.sb = api, api.sb
        self._lock = threading.Lock()
        self._files: dict[str, dict[str, Any]] = {}  # id -> file (+ "_preview", "_index", "_seq")
        self._by_external: dict[str, str] = {}
        self._seq = 0
        self.methods = {"files.remote.add": self.add, "files.remote.update": self.update,
                        "files.remote.info": self.info, "files.remote.list": self.list_files,
                        "files.remote.share": self.share, "files.remote.remove": self.remove}

    # --- arguments ---------------------------------------------------------------------------------------
    @staticmethod
    def _text(args: dict[str, Any], key: str) -> str:
        value = args.get(key)
        if isinstance(value, (bytes, bytearray)):
            value = bytes(value).decode("utf-8", "replace")
        return "" if value is None else str(value)

    @staticmethod
    def _uploads(args: dict[str, Any], f: dict[str, Any]) -> None:
        preview = args.get("preview_image")
        if preview is not None and preview != "":
            data = preview if isinstance(preview, (bytes, bytearray)) else str(preview).encode()
            if not bytes(data).startswith(_IMAGE_MAGIC):
                raise SlackError("bad_image")
            f["_preview"] = bytes(data)
        index = args.get("indexable_file_contents")
        if index is not None and index != "":
            f["_index"] = index if isinstance(index, bytes) else str(index).encode()

    def _check(self, args: dict[str, Any]) -> None:
        if len(self._text(args, "external_id")) > MAX_ID:
            raise SlackError("invalid_external_id")
        if len(self._text(args, "title")) > MAX_TITLE:
            raise SlackError("bad_title")

    def _find(self, args: dict[str, Any], both_allowed: bool = True) -> dict[str, Any]:
        fid, ext = self._text(args, "file"), self._text(args, "external_id")
        if not fid and not ext:
            raise bad_args("one of file or external_id is required")  # [unc]
        if fid and ext and not both_allowed:
            raise SlackError("too_many_ids")
        with self._lock:
            f = self._files.get(fid) if fid else self._files.get(self._by_external.get(ext, ""))
        if f is None or (fid and ext and f["external_id"] != ext):
            raise SlackError("file_not_found")
        return f

    # --- methods -----------------------------------------------------------------------------------------
    def add(self, args: dict[str, Any]) -> dict[str, Any]:
        for key in ("external_id", "external_url", "title"):
            if not self._text(args, key):
                raise bad_args(f"missing required field: {key}")
        self._check(args)
        ext = self._text(args, "external_id")
        with self._lock:
            known = self._by_external.get(ext)
        if known is not None:  # an upsert, as the docs say
            return self.update({**args, "file": known, "external_id": ""})
        ws, uid, now = self.sb.workspace, actor_id(self.sb), int(time.time())
        title = self._text(args, "title")
        with self._lock:
            self._seq += 1
            fid = slack_id("F", self.sb.seed, f"remote:{self._seq}:{ext}:{time.time_ns()}", 11)
            f: dict[str, Any] = {
                "id": fid, "created": now, "timestamp": now, "name": title, "title": title,
                "mimetype": "application/vnd.slack-remote", "filetype": self._text(args, "filetype") or "remote",
                "pretty_type": "Remote", "user": uid, "user_team": ws.team_id, "editable": False, "size": 0,
                "mode": "external", "is_external": True, "external_type": "app", "is_public": False,
                "public_url_shared": False, "display_as_bot": False, "username": "",
                "url_private": self._text(args, "external_url"), "media_display_type": "unknown",
                "permalink": f"https://{ws.domain}.slack.com/files/{uid}/{fid}/{_slug(title)}",
                "comments_count": 0, "is_starred": False, "shares": {}, "channels": [], "groups": [], "ims": [],
                "has_more_shares": False, "external_id": ext, "external_url": self._text(args, "external_url"),
                "has_rich_preview": False, "file_access": "visible", "_seq": self._seq, "_ns": time.time_ns()}
        self._uploads(args, f)
        with self._lock:
            self._files[fid], self._by_external[ext] = f, fid
        return {"file": public_file(f)}

    def update(self, args: dict[str, Any]) -> dict[str, Any]:
        f = self._find(args)
        self._check(args)
        shown_before = dict(f)
        self._uploads(args, f)
        with self._lock:
            for key in ("title", "filetype"):
                if self._text(args, key):
                    f[key] = self._text(args, key)
            if self._text(args, "title"):
                f["name"] = f["title"]
            if self._text(args, "external_url"):
                f["external_url"] = f["url_private"] = self._text(args, "external_url")
            f["timestamp"] = int(time.time())
        # the preview is being processed: this answer still says has_rich_preview false unless one was had
        return {"file": {**public_file(f), "has_rich_preview": "_preview" in shown_before}}

    def info(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"file": self._shown(self._find(args, both_allowed=False))}

    def remove(self, args: dict[str, Any]) -> dict[str, Any]:
        f = self._find(args)
        with self._lock:
            self._files.pop(f["id"], None)
            self._by_external.pop(f["external_id"], None)
        return {}

    def share(self, args: dict[str, Any]) -> dict[str, Any]:
        refs = [c.strip() for c in self._text(args, "channels").split(",") if c.strip()]
        if not refs:
            raise bad_args("missing required field: channels")
        f = self._find(args)
        targets = []
        for ref in refs:
            channel = self.api._writable({"channel": ref})  # channel_not_found / is_archived
            if not is_member(self.sb, channel):
                raise SlackError("not_in_channel")
            targets.append(channel)
        for channel in targets:
            self.api.files._share(channel, [f], {}, person(self.sb), via="files.remote.share")
        return {"file": self._shown(f)}

    def list_files(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self.api._channel(args)["id"] if args.get("channel") else None
        limit = _limit(args, 100, 1000)
        since, until = stamp(args.get("ts_from") or 0), stamp(args.get("ts_to") or 0)  # not float() [round 27]
        if since is None or until is None:
            raise bad_args("ts_from / ts_to must be timestamps")
        until = until if args.get("ts_to") else math.inf
        with self._lock:
            rows = sorted(self._files.values(), key=lambda f: f["_seq"], reverse=True)
        rows = [f for f in rows if since <= f["created"] <= until and self._visible(f)
                and (channel is None or channel in f["channels"] + f["groups"] + f["ims"])]
        # a stable cursor: the next page's first file by its creation order (`sandbox.slack.paging`)
        page, cursor, _ = paging.page(rows, args.get("cursor"), limit, "file", lambda f: str(f["_seq"]),
                                      paging.int_key, descending=True)
        return {"files": [self._shown(f) for f in page], "response_metadata": {"next_cursor": cursor}}

    # --- seen through files.info / files.list / files.delete (`sandbox.slack.files`) ----------------------
    def seen(self, fid: str) -> dict[str, Any] | None:
        """The remote file `fid` as the caller sees it (None: no such file, or not theirs to see)."""
        with self._lock:
            f = self._files.get(fid)
        return f if f is not None and self._visible(f) else None

    def visible_files(self) -> list[dict[str, Any]]:
        with self._lock:
            rows = list(self._files.values())
        return [f for f in rows if self._visible(f)]

    # --- views -------------------------------------------------------------------------------------------
    def _visible(self, f: dict[str, Any]) -> bool:
        """The app's bot sees every remote file; a person theirs and those shared where they read [unc]."""
        return file_access.visible(self.sb, f)

    @staticmethod
    def _shown(f: dict[str, Any]) -> dict[str, Any]:
        return {**public_file(f), "has_rich_preview": "_preview" in f}


