"""Push notification channels, mixed into ``DriveSandbox``: ``files.watch`` (``POST …/files/{id}/watch``),
``changes.watch`` (``POST …/changes/watch``) and ``channels.stop`` (``POST …/channels/stop``), delivered by
``push.py``. As Drive:

- the body is a Channel: ``id`` (up to 64 characters of ``[A-Za-z0-9-_+/=]``, else 400
  ``push.channelIdInvalid``; one already open is 400 ``push.channelIdNotUnique``), ``type`` ``web_hook``
  (or ``webhook``), ``address``, optional ``token`` and ``expiration`` (Unix ms); the answer is the
  channel (``kind: api#channel``, ``resourceId``, ``resourceUri``, ``expiration`` as an int64 string,
  ``token`` when given);
- ``expiration`` defaults to an hour from now and is cut to Drive's maximum (a day for files, a week for
  changes);
- the address must be ``https``: anything else is 400 ``push.webhookUrlNotHttps`` "WebHook callback must be
  HTTPS: <address>", plain-http loopback receivers included (start them with ``sandbox.core.tls``'s
  ``server_context()``, whose CA the emulator trusts). ``DriveSandbox(http_webhooks=True)`` accepts plain
  http too, for receivers that cannot do TLS. A URL without a host is 400 ``push.webhookUrlNoHostOrAddress``;
- the file is found as ``files.get`` finds it (404 notFound; shared drive items need
  ``supportsAllDrives=true``); ``changes.watch`` takes a ``pageToken`` as ``changes.list`` does (and
  ``driveId`` for a shared drive's log; ``includeItemsFromAllDrives`` with ``supportsAllDrives`` for the
  shared drive entries of the user's log, ``listing.py``);
- ``channels.stop`` with ``{id, resourceId}``: 204; a channel that is not open (or another resourceId) is 404
  notFound "Channel '<id>' not found for project '<number>'".

What is sent: a ``sync`` message when the channel opens; then, for files.watch, ``update`` (with
``X-Goog-Changed``: ``content``, ``properties``, ``parents``, ``permissions``, and ``children`` when files
come into or leave a watched folder), ``trash`` / ``untrash``, ``remove`` (deleted, or the caller lost
access) and ``add`` (the caller gained access); for changes.watch ``change`` on every change of the
watched log that the caller may see. The channel type's error reason ("invalid") and the messages of
the no-host and not-found errors are guessed; the rest are Google's."""

from __future__ import annotations

import base64
import hashlib
import re
import time
from typing import Any
from urllib.parse import urlencode, urlsplit

from sandbox.core.http import Request, Response, json_response
from sandbox.core.numbers import json_int
from sandbox.gdrive.errors import DriveError
from sandbox.gdrive.listing import all_drives
from sandbox.gdrive.push import Channel
from sandbox.gdrive.store import FOLDER, Change, DriveFile, DriveStore

WATCH_ROUTES = (("POST", r"/drive/v3/files/(?P<file_id>[A-Za-z0-9_-]+)/watch", "watch_file"),
                ("POST", r"/drive/v3/changes/watch", "watch_changes"),
                ("POST", r"/drive/v3/channels/stop", "stop_channel"))
CHANNEL_ID = re.compile(r"[A-Za-z0-9\-_+/=]{1,64}\Z")
DEFAULT_SECONDS, MAX_SECONDS = 3600, {"file": 86400, "changes": 604800}
PROJECT_NUMBER = "100000000001"


class NotifyingStore(DriveStore):
    """``DriveStore`` that hands each batch of new change-log entries to ``listeners`` (under the lock)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.listeners: list[Any] = []

    def appended(self, start: int) -> None:
        for listen in self.listeners:
            listen(self.changes[start:])


def _resource_id(key: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(key.encode()).digest()).decode()[:27]


class Watches:
    """Uses the sandbox's ``store`` (a ``NotifyingStore``), ``push``, ``http_webhooks``, ``_file``,
    ``_page_token``, ``_shared_items`` and ``_shows`` (``listing.py``)."""

    def _channel(self, req: Request, kind: str, resource_id: str, uri: str, **where: Any) -> Channel:
        body = (req.json() if req.body else None) or {}
        ident, address = str(body.get("id") or ""), str(body.get("address") or "")
        if not ident:
            raise DriveError(400, "required", "Required", location="resource.id")
        if not CHANNEL_ID.match(ident):
            raise DriveError(400, "push.channelIdInvalid", "Channel id must match [A-Za-z0-9\\-_\\+/=]+")
        if body.get("type") not in ("web_hook", "webhook"):
            raise DriveError(400, "invalid", f"Unknown channel type: {body.get('type')}", location="resource.type")
        parts = urlsplit(address)
        if not parts.hostname:
            raise DriveError(400, "push.webhookUrlNoHostOrAddress", f"WebHook callback must have a host: {address}")
        if parts.scheme != "https" and not (self.http_webhooks and parts.scheme == "http"):
            raise DriveError(400, "push.webhookUrlNotHttps", f"WebHook callback must be HTTPS: {address}")
        now = int(time.time() * 1000)
        raw = body.get("expiration")
        # json_int, not int(): 1e999 was an OverflowError (a 500), '٣' read as 3, 1.5 as 1 [round 27]
        asked = json_int(raw, signed=True) if raw not in (None, "") else now + DEFAULT_SECONDS * 1000
        if asked is None:
            raise DriveError(400, "invalid", f"Invalid value for: expiration: {str(raw)[:40]}",
                             location="resource.expiration")
        expiration = min(asked, now + MAX_SECONDS[kind] * 1000)
        with self.store.lock:
            old = self.push.channels.get(ident)
            if old is not None and old.live():
                raise DriveError(400, "push.channelIdNotUnique", "Channel id not unique")
            token = body.get("token")
            channel = Channel(ident, resource_id, uri, address, None if token is None else str(token), expiration,
                              req.principal, **where)
            if channel.file_id is not None:
                channel.last = self._snapshot(self.store.files[channel.file_id], req.principal)
            self.push.channels[ident] = channel
        self.push.notify(channel, "sync")
        return channel

    def watch_file(self, req: Request) -> Response:
        f = self._file(req)
        query = {"acknowledgeAbuse": "false", "supportsAllDrives": str(all_drives(req)).lower(), "alt": "json"}
        uri = f"{req.base_url}/drive/v3/files/{f.id}?{urlencode(query)}"
        channel = self._channel(req, "file", _resource_id("file:" + f.id), uri, file_id=f.id)
        return json_response(channel.resource())

    def watch_changes(self, req: Request) -> Response:
        token, _, log = self._page_token(req)
        shared = log is None and self._shared_items(req)
        query = {"alt": "json", "pageToken": token, **({"driveId": log, "supportsAllDrives": "true"} if log else {}),
                 **({"includeItemsFromAllDrives": "true", "supportsAllDrives": "true"} if shared else {})}
        uri = f"{req.base_url}/drive/v3/changes?{urlencode(query)}"
        channel = self._channel(req, "changes", _resource_id(f"changes:{req.principal}:{log or ''}"), uri, log=log,
                                shared=shared)
        return json_response(channel.resource())

    def stop_channel(self, req: Request) -> Response:
        body = (req.json() if req.body else None) or {}
        ident = str(body.get("id") or "")
        with self.store.lock:
            channel = self.push.channels.get(ident)
            if channel is None or channel.stopped or body.get("resourceId") != channel.resource_id:
                raise DriveError(404, "notFound", f"Channel '{ident}' not found for project '{PROJECT_NUMBER}'")
            channel.stopped = True
            del self.push.channels[ident]
        return Response(204, b"", "text/plain")

    # -- what changed ----------------------------------------------------------------------------
    def _snapshot(self, f: DriveFile | None, who: str) -> dict[str, Any]:
        if f is None or f.id not in self.store.files or not self.store.can_read(f, who):
            return {"readable": False}
        out = {"readable": True, "trashed": f.in_trash, "content": hashlib.md5(f.content).hexdigest(),
               "properties": (f.name, f.description, f.starred, f.mime_type, sorted(f.properties.items()),
                              sorted(f.app_properties.items())),  # not modifiedTime: every change moves it
               "parents": tuple(f.parents), "permissions": repr(f.permissions())}
        if f.mime_type == FOLDER:
            out["children"] = frozenset(c.id for c in self.store.files.values() if f.id in c.parents)
        return out

    def _in_feed(self, c: Change, channel: Channel) -> bool:
        """Whether a changes.watch channel's caller sees ``c`` in the log it watches (as ``list_changes``)."""
        if c.kind == "drive":
            return channel.shared and channel.who in c.audience
        f = self.store.files.get(c.file_id)
        return self._shows(c.drive, channel.log, channel.shared, channel.who, c.number) and (
            c.removed or f is None or self.store.can_read(f, channel.who))

    def _on_changes(self, changes: list[Change]) -> None:
        """Store listener: the notifications the new change-log entries call for."""
        for channel in list(self.push.channels.values()):
            if not channel.live():
                continue
            if channel.file_id is None:
                if any(self._in_feed(c, channel) for c in changes):
                    self.push.notify(channel, "change")
                continue
            watched = self.store.files.get(channel.file_id)
            touched = {c.file_id for c in changes}
            if channel.file_id not in touched and not (
                    "children" in channel.last and (touched & channel.last["children"] or any(
                        channel.file_id in self.store.files[t].parents for t in touched if t in self.store.files))):
                continue
            before, after = channel.last, self._snapshot(watched, channel.who)
            channel.last = after
            if before["readable"] != after["readable"]:
                self.push.notify(channel, "add" if after["readable"] else "remove")
            elif after["readable"] and before["trashed"] != after["trashed"]:
                self.push.notify(channel, "trash" if after["trashed"] else "untrash")
            elif after["readable"]:
                changed = [k for k in ("content", "properties", "parents", "children", "permissions")
                           if before.get(k) != after.get(k)]
                if changed:
                    self.push.notify(channel, "update", changed)
