"""Graph upload sessions and SharePoint's pre-authenticated downloads, for ``GraphSandbox``.

``createUploadSession`` answers an ``uploadUrl`` (no bearer token needed: it carries ``tempauth``);
fragments are ``PUT`` there with ``Content-Range``, in order, none over 60 MiB; ``202`` with
``nextExpectedRanges`` until the last, then ``201`` (``200`` when it replaced a file) and the item.
With ``deferCommit: true`` the last fragment is ``202`` with no ranges left and a ``POST`` to the upload
URL commits. ``GET`` the URL for the ranges still expected; ``DELETE`` cancels (``204``); an expired or
finished session is 404. ``item.@microsoft.graph.conflictBehavior`` (``replace`` by default) is checked
when the session is made and again at the commit (``fail``: 409; ``rename``: ``name 1.ext``).
Once the total is known the range is ``"{next}-{total - 1}"``, as SharePoint writes it (msgraph-core's
``LargeFileUploadTask`` reads both ends). Graph asks for fragments in multiples of 320 KiB but commits
others too (that task sends 320 KiB + 1 bytes after the first), so the size is not checked beyond the 60 MiB cap.
The quota is checked when the session is created (if ``fileSize`` is given) and at the last fragment.
A session whose folder was deleted before its last fragment is spent with 404 itemNotFound (it was a 500), at its
next fragment, whichever it is (round 34: the earlier ones were still 202).
"""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from sandbox.core.http import Request, Response, json_response
from sandbox.core.numbers import ascii_int, json_int
from sandbox.sharepoint.errors import GraphError, graph_error
from sandbox.sharepoint.file_times import apply_times, file_times
from sandbox.sharepoint.store import Drive, Item

MAX_FRAGMENT = 60 * 1024 * 1024


class UploadSessions:
    """Mixed into ``GraphSandbox`` (uses its ``store``, ``downloads``, ``_room`` and ``_item_resource``)."""

    def create_session(self, drive: Drive, parent: Item, name: str, item: Item | None, req: Request) -> Response:
        body = (req.json() if req.body else None) or {}
        spec = body.get("item") or {}
        behavior = spec.get("@microsoft.graph.conflictBehavior") or req.query.get(
            "@microsoft.graph.conflictBehavior") or "replace"
        if behavior not in ("fail", "replace", "rename"):
            raise GraphError(400, "invalidRequest", f"Invalid value '{behavior}' for "
                             "@microsoft.graph.conflictBehavior (fail, replace or rename).")
        if item is not None and item.content is None:
            raise GraphError(409, "nameAlreadyExists", "A folder with the specified name already exists.")
        if item is not None and behavior == "fail":
            raise GraphError(409, "nameAlreadyExists", "The specified item name already exists.")
        if spec.get("fileSize") is not None:  # an Int64: int() read '٣' as 3 and 1.5 as 1; 1e999 and 'x' were 500s
            size = json_int(spec["fileSize"], signed=True)
            if size is None:
                raise GraphError(400, "invalidRequest", "The value of fileSize is not a valid Int64.")  # [unc]
            self._room(drive, size, item)
        sid = secrets.token_urlsafe(24)
        expires = self._expiry()
        self.store.uploads[sid] = {"drive": drive.id, "parent": parent.id, "name": name, "data": bytearray(),
                                   "total": None, "expires": expires, "who": req.principal,
                                   "behavior": behavior, "defer": bool(body.get("deferCommit")),
                                   "times": file_times(spec.get("fileSystemInfo"))}  # file_times.py
        return json_response({"uploadUrl": f"{req.base_url}/_api/v2.0/uploadSession/{sid}?tempauth="
                              f"{secrets.token_urlsafe(32)}", "expirationDateTime": expires,
                              "nextExpectedRanges": ["0-"]})

    @staticmethod
    def _expiry() -> str:
        return (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"

    def _session(self, req: Request) -> dict[str, Any]:
        session = self.store.uploads.get(req.params["sid"])
        if session is not None and session["expires"] < datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f"):
            self.store.uploads.pop(req.params["sid"], None)  # an expired session is gone, as its fragments
            session = None
        if session is None or not req.query.get("tempauth"):
            raise GraphError(404, "itemNotFound", "The upload session was not found or has expired.")
        return session

    def session_status(self, req: Request) -> Response:
        s = self._session(req)
        return json_response({"expirationDateTime": s["expires"], "nextExpectedRanges": [self._next_range(s)]})

    @staticmethod
    def _next_range(s: dict[str, Any]) -> str:
        return f"{len(s['data'])}-" + (str(s["total"] - 1) if s["total"] else "")

    def cancel_session(self, req: Request) -> Response:
        self._session(req)
        self.store.uploads.pop(req.params["sid"], None)
        return Response(204, b"")

    def upload_fragment(self, req: Request) -> Response:
        # the fragment is checked before the session (a Content-Range that its body does not fill is 400 even
        # on a finished session: LargeFileUploadTask sends one such empty PUT after a single-fragment upload)
        # ASCII digits within Int64 (int() raised on 5,000 of them: a 500; past Int64 is malformed [unc])
        m = re.fullmatch(r"bytes ([0-9]+)-([0-9]+)/([0-9]+)", req.header("Content-Range").strip())
        start, end, total = (ascii_int(g, cap=2**63) for g in m.groups()) if m else (None, None, 2**63)
        if m is None or total >= 2**63:
            raise GraphError(400, "invalidRequest", "The Content-Range header is missing or malformed.")
        size = len(req.body)
        if end - start + 1 != size or end >= total:
            raise GraphError(400, "invalidRange", "The Content-Range does not match the fragment length.")
        s = self._session(req)
        if s["parent"] not in self.store.items:  # round 34: any fragment, not only the last (earlier ones were 202)
            self.store.uploads.pop(req.params["sid"], None)  # [unc: Graph's answer, as the commit's in round 33]
            raise GraphError(404, "itemNotFound", "The folder this upload goes to no longer exists.")
        if s["total"] not in (None, total):
            raise GraphError(400, "invalidRange", "The total size changed within the upload session.")
        if start != len(s["data"]):
            raise GraphError(416, "invalidRange",
                             f"The uploaded fragment overlaps or skips: expected {len(s['data'])}-")
        last = end + 1 == total
        if size > MAX_FRAGMENT:
            raise GraphError(400, "invalidRange", "Fragments must be at most 60 MiB.")
        s["expires"] = self._expiry()  # each fragment extends the session, as Graph documents
        if not last or s["defer"]:
            s["total"] = total
            s["data"] += req.body
            ranges = [self._next_range(s)] if not last else []  # deferCommit: all there, waiting for the POST
            return json_response({"expirationDateTime": s["expires"], "nextExpectedRanges": ranges}, 202)
        return self._commit(s, bytes(s["data"] + req.body), req)

    def commit_session(self, req: Request) -> Response:
        """``POST`` to the upload URL (empty body) commits a ``deferCommit`` session once every byte is in."""
        s = self._session(req)
        if not s["defer"] or s["total"] is None or len(s["data"]) != s["total"]:
            raise GraphError(400, "invalidRequest", "The upload session is not complete or was not created with "
                             "deferCommit.")
        return self._commit(s, bytes(s["data"]), req)

    def _commit(self, s: dict[str, Any], content: bytes, req: Request) -> Response:
        drive = self.store.drives[s["drive"]]
        with self.store.lock:
            if s["parent"] not in self.store.items:  # its folder was deleted meanwhile: it was a 500 KeyError
                del self.store.uploads[req.params["sid"]]  # [round 33] [unc: Graph's answer; a 404 as for the path]
                raise GraphError(404, "itemNotFound", "The folder this upload goes to no longer exists.")
            name, existing = s["name"], self.store.child(s["parent"], s["name"])
            if existing is not None and (s.get("behavior") == "fail" or existing.content is None):
                del self.store.uploads[req.params["sid"]]  # the commit failed: the session is spent
                raise GraphError(409, "nameAlreadyExists", "The specified item name already exists.")
            if existing is not None and s.get("behavior") == "rename":
                name, existing = self.store.free_name(s["parent"], name), None
            self._room(drive, len(content), existing)
            created = existing is None
            del self.store.uploads[req.params["sid"]]
            with self.store.writing(s["who"]):  # the upload URL carries no token: the session's app wrote it
                stored = self.store.add(drive.id, s["parent"], name, content)
            apply_times(stored, s.get("times") or {})
        return json_response(self._item_resource(stored, drive, req), 201 if created else 200)

    def download(self, req: Request) -> Response:
        item_id, _, label = (self.downloads.get(req.query.get("tempauth", "")) or "").partition("@")
        item = self.store.items.get(item_id)
        if item is None or item.id != req.query.get("UniqueId") or item.content is None:
            return graph_error(401, "unauthenticated", "The tempauth token is invalid or has expired.")
        if label == "pdf":  # content?format=pdf (graph_convert.py)
            return Response(200, self.pdf_of(item), "application/pdf", [("Accept-Ranges", "bytes")])
        data = self.version_bytes(item, label) if label else item.content
        if data is None:
            return graph_error(404, "itemNotFound", "The version was not found.")
        ranged = re.fullmatch(r"bytes=([0-9]*)-([0-9]*)", req.header("Range").strip())
        if ranged is None or not any(ranged.groups()):
            return Response(200, data, "application/octet-stream", [("Accept-Ranges", "bytes")])
        first, last = ranged.groups()
        if first and last and ascii_int(last) < ascii_int(first):
            # "bytes=9-2" is not a range (RFC 9110 14.1.1): the header is ignored, the whole file served, as Drive
            # does [unc: SharePoint's own answer]; it was 416, which a client reads as "past the end"
            return Response(200, data, "application/octet-stream", [("Accept-Ranges", "bytes")])
        start = ascii_int(first) if first else max(0, len(data) - ascii_int(last))  # "bytes=-N": the last N bytes
        end = min(ascii_int(last), len(data) - 1) if first and last else len(data) - 1
        if start >= len(data) or start > end:
            return Response(416, b"", "text/plain", [("Content-Range", f"bytes */{len(data)}")])
        return Response(206, data[start:end + 1], "application/octet-stream",
                        [("Content-Range", f"bytes {start}-{end}/{len(data)}"), ("Accept-Ranges", "bytes")])
