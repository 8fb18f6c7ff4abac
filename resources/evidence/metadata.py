"""What a file is, from its bytes (never its name): MIME type sniffed by ``filetype`` (text and
e-mail recognised here, which ``filetype`` does not), sha256, size, PDF page count and a text
excerpt (``pypdf``), image dimensions (``Pillow``), and e-mail headers. A file that claims a type
but does not parse keeps what could be read plus ``parse_error``."""

from __future__ import annotations

import email
import email.policy
import hashlib
import io
import re
import warnings
from typing import Any

import filetype

EXCERPT_CHARS = 300
EMAIL_HEADER = re.compile(rb"^(Received|Return-Path|From|To|Subject|Date|Message-ID|MIME-Version):", re.I)


MACH_O = (b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf", b"\xce\xfa\xed\xfe", b"\xcf\xfa\xed\xfe")


def sniff_mime(content: bytes) -> str:
    # Mach-O, which filetype does not know (a Mac executable named report.pdf was "text"); a fat binary
    # shares 0xCAFEBABE with Java class files, told apart by the count that follows (class: version >= 45)
    if content[:4] in MACH_O or (content[:4] == b"\xca\xfe\xba\xbe" and 0 < int.from_bytes(content[4:8]) < 45):
        return "application/x-mach-binary"
    kind = filetype.guess(content[:8192]) if content else None
    if kind is not None:
        return kind.mime
    head = content[:4096]
    if EMAIL_HEADER.match(head) and b"\n\n" in content.replace(b"\r\n", b"\n")[:65536]:
        return "message/rfc822"
    if b"\0" in head:
        return "application/octet-stream"
    text = head.decode("utf-8", "replace")
    if text.count("\ufffd") > len(text) // 20:  # mostly not text (a few bad bytes in a note still are)
        return "application/octet-stream"
    if text.lstrip().startswith(("{", "[")):
        return "application/json"
    return "text/plain" if content else "application/x-empty"


def _pdf(content: bytes, out: dict[str, Any]) -> None:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(content))
    out["page_count"] = len(reader.pages)
    text = ""
    for page in reader.pages[:3]:
        text += (page.extract_text() or "") + " "
        if len(text) > EXCERPT_CHARS * 2:
            break
    out["text_excerpt"] = " ".join(text.split())[:EXCERPT_CHARS]


def _image(content: bytes, out: dict[str, Any]) -> None:
    from PIL import Image

    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with Image.open(io.BytesIO(content)) as img:
            out["image_width"], out["image_height"] = img.size


def _email(content: bytes, out: dict[str, Any]) -> None:
    msg = email.message_from_bytes(content, policy=email.policy.default)
    for header in ("subject", "from", "to", "date", "message-id"):
        value = msg.get(header)
        if value is not None:
            out[f"email_{header.replace('-', '_')}"] = str(value)[:300]
    body = msg.get_body(preferencelist=("plain",)) if msg.is_multipart() else msg
    if body is not None:
        out["text_excerpt"] = " ".join(str(body.get_content()).split())[:EXCERPT_CHARS]


def extract(content: bytes) -> dict[str, Any]:
    """The metadata of ``content``: always ``mime_type``, ``sha256``, ``size_bytes``."""
    mime = sniff_mime(content)
    out: dict[str, Any] = {"mime_type": mime, "sha256": hashlib.sha256(content).hexdigest(),
                           "size_bytes": len(content)}
    try:
        if mime == "application/pdf":
            _pdf(content, out)
        elif mime.startswith("image/"):
            _image(content, out)
        elif mime == "message/rfc822":
            _email(content, out)
        elif mime in ("text/plain", "application/json"):
            out["text_excerpt"] = " ".join(content[:4096].decode("utf-8", "replace").split())[:EXCERPT_CHARS]
    except Exception as exc:  # hostile files: keep what we have, say what failed
        out["parse_error"] = f"{mime} did not parse: {exc.__class__.__name__}: {str(exc)[:200]}"
    return out
