"""``comments.*`` and ``replies.*`` on a file, mixed into ``DriveSandbox``.

As in Drive: every method but delete requires ``fields`` (400 required "The 'fields' parameter is
required for this operation.", checked before anything is written); commenting needs
``capabilities.canComment`` (commenter, writer or owner; else 403 insufficientFilePermissions); only a
comment's or reply's author may edit it, its author or the file's writers may delete it. A deleted
comment or reply keeps its id with ``deleted: true`` and no content, and is listed or got only with
``includeDeleted=true`` (else 404 notFound on ``commentId`` / ``replyId``). ``resolved`` is output
only: a reply with ``action`` ``resolve`` or ``reopen`` sets it. Authors carry no email address or
permission id, as Drive shows them. Messages of refusals Drive does not document are guessed."""

from __future__ import annotations

import html
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sandbox.core.http import Request, Response, json_response
from sandbox.gdrive.errors import DriveError
from sandbox.gdrive.fields import select
from sandbox.gdrive.paging import page
from sandbox.gdrive.store import DriveFile, display_name, now_rfc3339

ONE = r"/comments/(?P<comment_id>[A-Za-z0-9_-]+)"
REPLY = ONE + r"/replies/(?P<reply_id>[A-Za-z0-9_-]+)"
COMMENT_ROUTES = (("GET", "/comments", "list_comments"), ("POST", "/comments", "create_comment"),
                  ("GET", ONE, "get_comment"), ("PATCH", ONE, "update_comment"), ("DELETE", ONE, "delete_comment"),
                  ("GET", ONE + "/replies", "list_replies"), ("POST", ONE + "/replies", "create_reply"),
                  ("GET", REPLY, "get_reply"), ("PATCH", REPLY, "update_reply"), ("DELETE", REPLY, "delete_reply"))
ACTIONS = ("resolve", "reopen")
MENTION = re.compile(r"[+@]([\w.+-]+@[\w-]+(?:\.[\w-]+)+)")


@dataclass
class Reply:
    id: str
    who: str
    content: str
    action: str | None = None
    created: str = field(default_factory=now_rfc3339)
    modified: str = field(default_factory=now_rfc3339)
    deleted: bool = False


@dataclass
class Comment:
    id: str
    who: str
    content: str
    anchor: str | None = None
    quoted: dict[str, Any] | None = None
    resolved: bool = False
    deleted: bool = False
    created: str = field(default_factory=now_rfc3339)
    modified: str = field(default_factory=now_rfc3339)
    replies: list[Reply] = field(default_factory=list)


def _author(email: str, who: str) -> dict[str, Any]:
    return {"kind": "drive#user", "displayName": display_name(email), "me": email == who,
            "photoLink": "https://lh3.googleusercontent.com/a/default-user=s64"}


def _text(item: Comment | Reply, who: str) -> dict[str, Any]:
    out: dict[str, Any] = {"id": item.id, "createdTime": item.created, "modifiedTime": item.modified,
                           "author": _author(item.who, who), "deleted": item.deleted,
                           "mentionedEmailAddresses": [] if item.deleted else MENTION.findall(item.content)}
    if not item.deleted:
        out.update(content=item.content, htmlContent=html.escape(item.content).replace("\n", "<br>"))
    return out


def reply_resource(r: Reply, who: str) -> dict[str, Any]:
    out = {"kind": "drive#reply", **_text(r, who)}
    if r.action:
        out["action"] = r.action
    return out


def comment_resource(c: Comment, who: str, with_deleted: bool) -> dict[str, Any]:
    out = {"kind": "drive#comment", **_text(c, who), "resolved": c.resolved,
           "replies": [reply_resource(r, who) for r in c.replies if with_deleted or not r.deleted]}
    if c.anchor is not None:
        out["anchor"] = c.anchor
    if c.quoted is not None:
        out["quotedFileContent"] = c.quoted
    return out


def _new_id() -> str:
    return "AAAA" + secrets.token_urlsafe(9)


class Comments:
    """Uses the sandbox's ``store`` and ``_file``."""

    def _commented(self, req: Request, resource: str, write: bool = False) -> DriveFile:
        """The file, after checking ``fields`` (before anything is written) and, to write, canComment."""
        select({}, resource, req.query.get("fields"))
        f = self._file(req, any_drive=True)  # comments.* take no supportsAllDrives: they work on any drive
        if write and self.store.role(f, req.principal) not in ("owner", "writer", "commenter"):
            raise DriveError(403, "insufficientFilePermissions",
                             f"The user does not have sufficient permissions for file {f.id}.")
        return f

    @staticmethod
    def _with_deleted(req: Request) -> bool:
        return req.query.get("includeDeleted") == "true"

    def _comment(self, f: DriveFile, req: Request, deleted_ok: bool = False) -> Comment:
        cid = req.params["comment_id"]
        found = next((c for c in f.comments if c.id == cid), None)
        if found is None or (found.deleted and not deleted_ok):
            raise DriveError(404, "notFound", f"Comment not found: {cid}.", location="commentId")
        return found

    def _reply(self, c: Comment, req: Request, deleted_ok: bool = False) -> Reply:
        rid = req.params["reply_id"]
        found = next((r for r in c.replies if r.id == rid), None)
        if found is None or (found.deleted and not deleted_ok):
            raise DriveError(404, "notFound", f"Reply not found: {rid}.", location="replyId")
        return found

    @staticmethod
    def _content(req: Request, kind: str, optional: bool = False) -> str | None:
        body = (req.json() if req.body else None) or {}
        content = body.get("content")
        if not content and not optional:
            raise DriveError(400, "required", f"Required parameter: {kind}.content", location=f"{kind}.content")
        return None if content is None else str(content)

    def _may_edit(self, f: DriveFile, item: Comment | Reply, req: Request, delete: bool = False) -> None:
        if item.who == req.principal or (delete and self.store.role(f, req.principal) in ("owner", "writer")):
            return
        raise DriveError(403, "insufficientFilePermissions", "The user does not have sufficient permissions for "
                         f"this {'comment' if isinstance(item, Comment) else 'reply'}.")

    def _answer_comment(self, c: Comment, req: Request) -> Response:
        return json_response(select(comment_resource(c, req.principal, self._with_deleted(req)), "comment",
                                    req.query.get("fields")))

    def _answer_reply(self, r: Reply, req: Request) -> Response:
        return json_response(select(reply_resource(r, req.principal), "reply", req.query.get("fields")))

    # -- comments --------------------------------------------------------------------------------
    def create_comment(self, req: Request) -> Response:
        f = self._commented(req, "comment", write=True)
        body = (req.json() if req.body else None) or {}
        content = self._content(req, "comment")
        quoted = body.get("quotedFileContent")
        c = Comment(_new_id(), req.principal, content, body.get("anchor"),
                    {"mimeType": quoted.get("mimeType", "text/html"), "value": str(quoted.get("value", ""))}
                    if isinstance(quoted, dict) else None)
        with self.store.lock:
            f.comments.append(c)
        return self._answer_comment(c, req)

    def list_comments(self, req: Request) -> Response:
        f = self._commented(req, "commentList")
        since = req.query.get("startModifiedTime")
        if since:
            try:
                floor = datetime.fromisoformat(since.replace("Z", "+00:00"))
            except ValueError:
                raise DriveError(400, "invalid", f"Invalid value for: startModifiedTime: {since}",
                                 location="startModifiedTime") from None
        with self.store.lock:
            found = [c for c in f.comments if (self._with_deleted(req) or not c.deleted) and (
                not since or datetime.fromisoformat(c.modified.replace("Z", "+00:00")) >= floor)]
            chunk, token = page(req, found, 20, 100)
            body: dict[str, Any] = {"kind": "drive#commentList", "comments": [
                comment_resource(c, req.principal, self._with_deleted(req)) for c in chunk]}
        if token:
            body["nextPageToken"] = token
        return json_response(select(body, "commentList", req.query.get("fields")))

    def get_comment(self, req: Request) -> Response:
        f = self._commented(req, "comment")
        return self._answer_comment(self._comment(f, req, self._with_deleted(req)), req)

    def update_comment(self, req: Request) -> Response:
        f = self._commented(req, "comment", write=True)
        c = self._comment(f, req)
        self._may_edit(f, c, req)
        content = self._content(req, "comment")
        with self.store.lock:
            c.content, c.modified = content, now_rfc3339()
        return self._answer_comment(c, req)

    def delete_comment(self, req: Request) -> Response:
        f = self._file(req, any_drive=True)
        c = self._comment(f, req)
        self._may_edit(f, c, req, delete=True)
        with self.store.lock:
            c.deleted, c.content, c.modified = True, "", now_rfc3339()
        return Response(204, b"", "text/plain")

    # -- replies ---------------------------------------------------------------------------------
    def create_reply(self, req: Request) -> Response:
        f = self._commented(req, "reply", write=True)
        c = self._comment(f, req)
        action = ((req.json() if req.body else None) or {}).get("action")
        if action is not None and action not in ACTIONS:
            raise DriveError(400, "invalid", f"Invalid value for: reply.action: {action}", location="reply.action")
        content = self._content(req, "reply", optional=action is not None) or ""
        r = Reply(_new_id(), req.principal, content, action)
        with self.store.lock:
            c.replies.append(r)
            c.modified = r.created
            if action:
                c.resolved = action == "resolve"
        return self._answer_reply(r, req)

    def list_replies(self, req: Request) -> Response:
        f = self._commented(req, "replyList")
        c = self._comment(f, req)
        with self.store.lock:
            found = [r for r in c.replies if self._with_deleted(req) or not r.deleted]
            chunk, token = page(req, found, 20, 100)
            body: dict[str, Any] = {"kind": "drive#replyList",
                                    "replies": [reply_resource(r, req.principal) for r in chunk]}
        if token:
            body["nextPageToken"] = token
        return json_response(select(body, "replyList", req.query.get("fields")))

    def get_reply(self, req: Request) -> Response:
        f = self._commented(req, "reply")
        return self._answer_reply(self._reply(self._comment(f, req), req, self._with_deleted(req)), req)

    def update_reply(self, req: Request) -> Response:
        f = self._commented(req, "reply", write=True)
        c = self._comment(f, req)
        r = self._reply(c, req)
        self._may_edit(f, r, req)
        content = self._content(req, "reply")
        with self.store.lock:
            r.content = content
            r.modified = c.modified = now_rfc3339()
        return self._answer_reply(r, req)

    def delete_reply(self, req: Request) -> Response:
        f = self._file(req, any_drive=True)
        c = self._comment(f, req)
        r = self._reply(c, req)
        self._may_edit(f, r, req, delete=True)
        with self.store.lock:
            r.deleted, r.content = True, ""
            r.modified = c.modified = now_rfc3339()
        return Response(204, b"", "text/plain")
