"""Attachment downloads and thumbnails as Jira Cloud serves them: through a redirect to the media service.

- GET `/attachment/content/{id}` (`redirect` default true): 303 with `Location` on the sandbox's media
  path (Cloud: api.media.atlassian.com) carrying a token, so a client that follows redirects gets the bytes
  without sending credentials again. `redirect=false`: 200 with the bytes, or 206 for a `Range: bytes=a-b`
  (416 when it starts past the end, 400 when malformed).
- GET `/attachment/thumbnail/{id}` (`redirect`, `fallbackToDefault` default true, `width`, `height`): a
  PNG (a flat placeholder of the requested size, at most 400x400, default 200x200 [unc: Cloud scales the
  image]) for image attachments; for other files the default thumbnail, or 404 with `fallbackToDefault=false`.
  Attachment beans carry a `thumbnail` URL for images only (`render`).
- GET `/media/file/{id}/binary|image?token=` (no Jira auth; a wrong token is 403): the redirect targets.
"""

from __future__ import annotations

import hashlib
import re
import struct
import zlib
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from sandbox.core.http import Request, Response
from sandbox.core.numbers import ascii_int
from sandbox.jira.call import Call
from sandbox.jira.errors import body as error_body
from sandbox.jira.errors import fail
from sandbox.jira.ids import is_id

if TYPE_CHECKING:
    from sandbox.jira.sandbox import JiraSandbox

_RANGE = re.compile(r"^bytes=([0-9]*)-([0-9]*)$")


def png(width: int, height: int, rgb: tuple[int, int, int] = (222, 226, 232)) -> bytes:
    """A flat-colour RGB PNG."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" + bytes(rgb) * width
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(row * height)) + chunk(b"IEND", b""))


def _size(raw: str | None, default: int) -> int:
    return max(1, min(400, int(raw))) if raw and is_id(raw) else default


def register(sb: JiraSandbox) -> None:
    def token(att_id: int, kind: str) -> str:
        secret = f"{sb.seed}:{sb.credentials['client_secret']}:{kind}:{att_id}"
        return hashlib.blake2b(secret.encode(), digest_size=16).hexdigest()

    def attachment(ref: str) -> Any:
        att = sb.store.attachment(int(ref)) if is_id(ref) else None
        if att is None or att.issue_id not in sb.store.issues:
            raise fail(404, f"The attachment with id '{ref}' does not exist")
        return att

    def ranged(req: Request, data: bytes, ctype: str, headers: list[tuple[str, str]]) -> Response:
        spec = req.header("Range")
        if not spec:
            return Response(status=200, body=data, content_type=ctype, headers=headers)
        m = _RANGE.match(spec.strip())
        if m is None or m.group(1) == m.group(2) == "":
            raise fail(400, "The Range header is malformed.")  # [unc] wording
        if m.group(1) == "":
            # ascii_int saturates: 5,000 digits were int()'s ValueError, a 500 [round 27]
            start, end = max(0, len(data) - (ascii_int(m.group(2)) or 0)), len(data) - 1
        else:
            start = ascii_int(m.group(1)) or 0
            end = min(len(data) - 1, ascii_int(m.group(2)) or 0) if m.group(2) else len(data) - 1
        if start >= len(data) or start > end:
            return Response(status=416, body=b"", content_type=ctype,
                            headers=[*headers, ("Content-Range", f"bytes */{len(data)}")])
        return Response(status=206, body=data[start:end + 1], content_type=ctype,
                        headers=[*headers, ("Content-Range", f"bytes {start}-{end}/{len(data)}")])

    def thumb_bytes(att: Any, width: int, height: int) -> bytes:
        if att.mime_type.startswith("image/"):
            return png(width, height)
        return png(width, height, (160, 168, 180))  # the default thumbnail [unc]

    def content(c: Call) -> Response:
        from sandbox.jira.routes_children import disposition

        att = attachment(c.p["attachment"])
        if c.qbool("redirect") is False:
            return ranged(c.req, att.data, att.mime_type, [("Content-Disposition", disposition(att.filename)),
                                                          ("Accept-Ranges", "bytes")])
        where = (f"{c.base}/media/file/{att.id}/binary?token={token(att.id, 'binary')}&client=jira&dl=true"
                 f"&name={quote(att.filename)}")
        return Response(status=303, headers=[("Location", where)])

    def thumbnail(c: Call) -> Response:
        att = attachment(c.p["attachment"])
        if not att.mime_type.startswith("image/") and c.qbool("fallbackToDefault") is False:
            raise fail(404, f"The thumbnail for attachment '{att.id}' can not be found.")  # [unc] wording
        width, height = _size(c.q("width"), 200), _size(c.q("height"), 200)
        if c.qbool("redirect") is False:
            return Response(status=200, body=thumb_bytes(att, width, height), content_type="image/png")
        where = (f"{c.base}/media/file/{att.id}/image?token={token(att.id, 'image')}&client=jira"
                 f"&width={width}&height={height}")
        return Response(status=303, headers=[("Location", where)])

    def media(req: Request) -> Response:
        from sandbox.jira.routes_children import disposition

        kind, ref = req.params["kind"], req.params["id"]
        if not is_id(ref) or req.query.get("token") != token(int(ref), kind):
            return error_body(403, "The media token is missing, expired or not valid for this file.")  # [unc]
        att = attachment(ref)
        if kind == "image":
            data = thumb_bytes(att, _size(req.query.get("width"), 200), _size(req.query.get("height"), 200))
            return Response(status=200, body=data, content_type="image/png")
        return ranged(req, att.data, att.mime_type, [("Content-Disposition", disposition(att.filename)),
                                                     ("Accept-Ranges", "bytes")])

    sb.route("GET", r"/attachment/content/(?P<attachment>[^/]+)", content)
    sb.route("GET", r"/attachment/thumbnail/(?P<attachment>[^/]+)", thumbnail)
    sb.router.add("GET", r"(?:/ex/jira/(?P<cloud>[^/]+))?/media/file/(?P<id>[^/]+)/(?P<kind>binary|image)", media,
                  auth_faults=False)
