"""Multipart bodies for the Drive emulator's uploads and batches, with folded part headers unfolded.

googleapiclient flattens its ``multipart/related`` uploads and ``multipart/mixed`` batches with the
``email`` generator's default line length (78), which folds a long header onto a continuation line that
starts with a space (RFC 5322 2.2.3): ``Content-Type: application/vnd.openxmlformats-officedocument.
wordprocessingml.document`` (every .docx, .xlsx and .pptx sent with uploadType=multipart) and a batch
part's ``Content-ID: <uuid + request id>`` for a request id longer than about 25 characters. Drive
unfolds them, as any MIME parser does; ``sandbox.core.multipart.split_parts`` refused the continuation
line ("a part header is not 'Name: value'"), so such an upload was 400 badContent and such a batch 400.

Only the header block of each part is unfolded (a CRLF or LF followed by a space or tab is removed, the
whitespace kept), then ``split_parts`` reads the body; the parts' content is left byte for byte as the
sender wrote it."""

from __future__ import annotations

import re

__all__ = ["unfold_part_headers"]


def unfold_part_headers(body: bytes, boundary: str) -> bytes:
    """``body`` with each part's folded header lines joined."""
    dash = b"--" + boundary.encode("latin-1")
    pieces = body.split(dash)
    for n in range(1, len(pieces)):
        seg = pieces[n]
        nl = seg.find(b"\n")
        if nl < 0 or seg.startswith(b"--"):  # the closing delimiter, or a truncated body: left to split_parts
            continue
        eol = b"\r\n" if seg[nl - 1:nl] == b"\r" else b"\n"
        start = nl + 1
        if seg[start:start + len(eol)] == eol:  # a part without headers
            continue
        end = seg.find(eol + eol, start)
        if end < 0:
            continue
        head = re.sub(re.escape(eol) + rb"(?=[ \t])", b"", seg[start:end])
        pieces[n] = seg[:start] + head + seg[end:]
    return dash.join(pieces)
