"""Batch requests (``POST /batch/drive/v3``) for ``DriveSandbox``, as googleapiclient's ``BatchHttpRequest``
sends them: a ``multipart/mixed`` body of ``application/http`` parts, each a whole request (request line,
headers with its own ``Authorization``, body); the answer is ``multipart/mixed`` too, one
``application/http`` part per call in order, its ``Content-ID`` the call's prefixed with ``response-``.

Each call runs as if sent alone (its own auth, errors and faults). As Drive: more than 100 calls is 400
``batchSizeTooLarge``; a body that is not multipart/mixed, or a part that is not a request, is 400; a call that
uploads or downloads media (``/upload/``, ``alt=media``, ``files.export``) is 400 in its part, as Drive batches
no media (round 30: downloads were served) [unc: the words].
googleapiclient posts batches to ``www.googleapis.com`` whatever ``api_endpoint`` says: pass
``batch_uri=sb.url + "/batch/drive/v3"`` to ``BatchHttpRequest``.
"""

from __future__ import annotations

import secrets
from email.message import Message
from http import HTTPStatus
from urllib.parse import urlsplit

from sandbox.core.http import Request, Response
from sandbox.core.multipart import MultipartError, boundary_of, split_parts
from sandbox.core.numbers import ascii_int
from sandbox.gdrive.errors import DriveError
from sandbox.gdrive.mime_parts import unfold_part_headers

MAX_CALLS = 100
BATCH_ROUTES = [("POST", r"/batch/drive/v3", "batch"), ("POST", r"/batch", "batch")]


def _call(outer: Request, raw: bytes) -> Request:
    """The request an ``application/http`` part holds."""
    text = raw.replace(b"\r\n", b"\n")
    head, _, body = text.partition(b"\n\n")
    lines = head.decode("latin-1").split("\n")
    words = lines[0].split()
    if len(words) < 2:
        raise DriveError(400, "badRequest", "Failed to parse batch request: no request line in a part.")
    url = urlsplit(words[1])
    headers = Message()
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if colon:
            headers[name.strip()] = value.strip()
    length = headers.get("Content-Length")
    size = ascii_int(length.strip()) if length is not None else None  # not isdecimal() + int() [round 27]
    if size is not None:
        body = body[:size]
    return Request(method=words[0].upper(), path=url.path, raw_query=url.query, headers=headers, body=body,
                   client=outer.client, base_url=outer.base_url, internal=True)


def _downloads(call: Request) -> bool:
    """A download (``alt=media``, or an export, which is one) asked inside a batch."""
    from urllib.parse import parse_qs

    alt = parse_qs(call.raw_query or "").get("alt", [""])[0]
    return alt == "media" or call.path.rstrip("/").endswith("/export")


class Batch:
    """Mixed into ``DriveSandbox`` (uses ``dispatch``)."""

    def batch(self, req: Request) -> Response:
        boundary = boundary_of(req.header("Content-Type"))
        if not req.header("Content-Type").lower().startswith("multipart/mixed") or boundary is None:
            raise DriveError(400, "badRequest", "Failed to parse batch request: the body is not multipart/mixed.")
        try:
            parts = split_parts(unfold_part_headers(req.body, boundary), boundary)  # a long Content-ID folds
        except MultipartError as exc:
            raise DriveError(400, "badRequest", f"Failed to parse batch request: {exc}") from None
        if len(parts) > MAX_CALLS:
            raise DriveError(400, "batchSizeTooLarge", f"A batch request cannot contain more than {MAX_CALLS} "
                             "calls.")
        calls = [(headers.get("content-id", ""), _call(req, raw)) for headers, raw in parts]
        mark = "batch_" + secrets.token_urlsafe(12)
        out = []
        for content_id, call in calls:
            if call.path.startswith(("/batch", "/_sandbox/", "/upload/")):  # no nesting, no media, no admin
                resp = DriveError(400, "badRequest", f"{call.path} cannot be called in a batch.").response()
            elif _downloads(call):  # Drive batches no media, downloads neither [round 30] [unc: the words]
                resp = DriveError(400, "badRequest", "Media download is not supported in batch requests.",
                                  location="alt").response()
            else:
                resp = self.dispatch(call)
            try:
                reason = HTTPStatus(resp.status).phrase
            except ValueError:
                reason = ""
            heads = "".join(f"{k}: {v}\r\n" for k, v in resp.headers if k.lower() != "content-length")
            inner = (f"HTTP/1.1 {resp.status} {reason}\r\nContent-Type: {resp.content_type}\r\n{heads}"
                     f"Content-Length: {len(resp.body)}\r\n\r\n").encode() + resp.body
            cid = f"<response-{content_id.strip('<>')}>" if content_id else ""
            out.append(f"--{mark}\r\nContent-Type: application/http\r\n"
                       + (f"Content-ID: {cid}\r\n" if cid else "") + "\r\n")
            out.append(inner + b"\r\n")
        body = b"".join(p.encode() if isinstance(p, str) else p for p in out) + f"--{mark}--\r\n".encode()
        return Response(200, body, f"multipart/mixed; boundary={mark}")
