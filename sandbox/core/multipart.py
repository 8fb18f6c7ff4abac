"""Multipart bodies split byte for byte, for emulators that take file uploads.

Python's ``email`` parser takes the line break before each delimiter to be CRLF whatever the sender
wrote. googleapiclient builds its ``multipart/related`` uploads with bare LF line breaks, so a file
whose last byte is CR came out one byte short: the parser read that CR and the LF before the closing
delimiter as one CRLF and dropped both. Here the line break is the one the sender put after its first
delimiter line (CRLF, as RFC 2046 asks, or LF), and a part's bytes are everything up to the next
``<that line break>--boundary``.
"""

from __future__ import annotations

import base64
import binascii
from email.message import Message


class MultipartError(ValueError):
    """The body is not the multipart message its Content-Type announces."""


def boundary_of(content_type: str) -> str | None:
    """The ``boundary`` parameter of a Content-Type header, or None."""
    header = Message()
    header["content-type"] = content_type
    value = header.get_param("boundary")
    return value if isinstance(value, str) and value else None


def split_parts(body: bytes, boundary: str) -> list[tuple[dict[str, str], bytes]]:
    """(headers with lower-cased names, decoded content) of each part, in order."""
    dash = b"--" + boundary.encode("latin-1")
    start = body.find(dash)
    if start < 0 or (start and body[start - 1:start] != b"\n"):
        raise MultipartError(f"the body has no delimiter line --{boundary[:70]}")
    after = start + len(dash)
    if body[after:after + 2] == b"--":
        return []
    eol = b"\r\n" if body[after:after + 2] == b"\r\n" else b"\n"
    delimiter = eol + dash
    pos = body.find(b"\n", after) + 1  # past transport padding and the line break
    if pos == 0:
        raise MultipartError("the body ends after its first delimiter")
    parts = []
    while True:
        end = body.find(delimiter, pos - len(eol))  # an empty part starts right at the next delimiter
        if end < 0:
            raise MultipartError(f"the body has no closing delimiter --{boundary[:70]}--")
        parts.append(_part(body[pos:end] if end >= pos else b"", eol))
        pos = end + len(delimiter)
        if body[pos:pos + 2] == b"--":
            return parts
        nl = body.find(b"\n", pos)
        if nl < 0:
            raise MultipartError("the body ends inside a delimiter line")
        pos = nl + 1


def _part(raw: bytes, eol: bytes) -> tuple[dict[str, str], bytes]:
    if not raw:
        return {}, b""
    if raw.startswith(eol):  # no headers
        head, content = b"", raw[len(eol):]
    else:
        head, sep, content = raw.partition(eol + eol)
        if not sep:
            raise MultipartError("a part has no blank line between its headers and its content")
    headers: dict[str, str] = {}
    for line in head.split(eol) if head else []:
        name, colon, value = line.partition(b":")
        if not colon:
            raise MultipartError(f"a part header is not 'Name: value': {line[:60]!r}")
        headers[name.strip().lower().decode("latin-1")] = value.strip().decode("latin-1")
    if headers.get("content-transfer-encoding", "").lower() == "base64":
        try:
            content = base64.b64decode(content, validate=False)
        except binascii.Error as exc:
            raise MultipartError(f"a base64 part does not decode: {exc}") from None
    return headers, content
