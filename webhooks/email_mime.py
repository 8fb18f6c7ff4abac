"""Inbound MIME as hostile input: the limits a message must meet before the bridge parses it, and
the parts it keeps (body first, then each attachment) with names and text safe to store.

Limits (past one, the message is quarantined with the reason, raw bytes kept for review):
- ``MAX_PARTS`` MIME parts: 400,000 tiny parts took 24 s to parse and would each become evidence; the
  delimiter lines are counted in the raw bytes before parsing, the parts again after;
- ``MAX_DEPTH`` levels of nesting (a nesting bomb otherwise ends in RecursionError);
- ``MAX_HEADER_BYTES`` of headers over all parts: a 700 kB subject of encoded words took 49 s to
  decode, and that happened on the listener's event loop.
Headers RFC 5322 allows once (From, Message-ID) are read from their raw text: CPython's structured
parser raises on some Message-IDs (``<@>``, ``<``, ``<a@[>``), which left such a message refused with
451 for ever; a second From or Message-ID, or two mailboxes in From, is ambiguous and quarantined
rather than guessed (the first From was taken: a forger could put a partner's address first).
Names follow RFC 2183 (a file name is a terminal component only: ``../../etc/passwd`` is ``passwd``);
control and bidi-override characters are escaped (``\\x00``, ``\\u202e``), so a NUL never reaches the
warehouse and ``invoice\\u202efdp.exe`` cannot pose as a PDF.
"""

from __future__ import annotations

import hashlib
import re
from email.message import EmailMessage
from email.utils import getaddresses
from urllib.parse import unquote_to_bytes

MAX_PARTS = 200
MAX_DEPTH = 20
MAX_HEADER_BYTES = 128 * 1024
MAX_NAME_CHARS = 255
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
# A boundary parameter in any form the parser accepts: quoted (with quoted-pairs, ``"\\B"``) or not,
# RFC 5322 comments around ``=``, RFC 2231 continuations (``boundary*0=``: the first piece is a prefix,
# and counting lines that start with a prefix can only overcount) and percent-encoding
# (``boundary*=utf-8''%42``).
_COMMENTS = rb"(?:\([^()\r\n]{0,200}\)\s*)*"
_BOUNDARY = re.compile(rb"boundary(\*[0-9]{0,3}\*?)?\s*" + _COMMENTS + rb"=\s*" + _COMMENTS +
                       rb'("(?:[^"\\\r\n]|\\.){1,200}|[^\s;()"]{1,200})', re.I)  # at most 200 bytes: a prefix


def _boundaries(raw: bytes) -> set[bytes]:
    """Every boundary a message may declare, as the parser would read it (or a prefix of it)."""
    found: set[bytes] = set()
    for star, value in _BOUNDARY.findall(raw):
        if value.startswith(b'"'):
            found.add(re.sub(rb"\\(.)", rb"\1", value[1:].removesuffix(b'"')))
        else:
            found.add(value)
            if star:  # an RFC 2231 value: charset'language'percent-encoded
                found.add(unquote_to_bytes(value.rsplit(b"'", 1)[-1]))
    return {b for b in found if b.strip()}


class MimeLimit(ValueError):
    """The message is past a limit (or a part cannot be decoded): the text is the quarantine reason."""


def precheck(raw: bytes) -> None:
    """Refuse, before parsing, a message whose delimiter lines or header section are past the limits."""
    end = min((i for i in (raw.find(b"\r\n\r\n"), raw.find(b"\n\n")) if i >= 0), default=len(raw))
    if end > MAX_HEADER_BYTES:
        raise MimeLimit(f"header section over {MAX_HEADER_BYTES} bytes: resend with ordinary headers")
    boundaries = _boundaries(raw)
    if len(boundaries) > MAX_PARTS:
        raise MimeLimit(f"more than {MAX_PARTS} multipart containers: {too_many()}")
    # a line may end in CR alone: the parser splits there too
    delimiters = sum(raw.count(b"\n--" + b) + raw.count(b"\r--" + b) for b in boundaries)
    if delimiters > 2 * MAX_PARTS + len(boundaries):
        raise MimeLimit(f"about {delimiters} MIME parts: {too_many()}")


def raw_headers(msg: EmailMessage, name: str) -> list[str]:
    """The values of header ``name`` as received (unfolded, whitespace collapsed), never parsed."""
    return [" ".join(str(value).split()) for key, value in msg.raw_items() if key.lower() == name.lower()]


def subject(msg: EmailMessage) -> str:
    """The Subject as stored; its raw text when CPython's parser raises on it (an encoded word that
    decodes to a lone surrogate, ``=?utf-7?Q?+2D0-?=``, is a UnicodeEncodeError)."""
    try:
        return clean_text(msg.get("Subject") or "")
    except Exception:
        return clean_text(" ".join(raw_headers(msg, "Subject")))


def ambiguity(msg: EmailMessage) -> str | None:
    """Why the sender or Message-ID cannot be told (RFC 5322 3.6: at most one of each), or None."""
    for name in ("From", "Message-ID"):
        if len(raw_headers(msg, name)) > 1:
            return (f"more than one {name} header: ambiguous, held for review (RFC 5322 allows one); "
                    "resend with a single one")
    senders = [addr for _, addr in getaddresses(raw_headers(msg, "From")) if addr]
    if len(senders) > 1:
        return (f"{len(senders)} mailboxes in From: ambiguous sender, held for review; "
                "resend with the one sender in From")
    return None


def too_many() -> str:
    return f"over the {MAX_PARTS}-part limit; split the files over several messages"


def check_structure(msg: EmailMessage) -> None:
    """Count parts, depth and header bytes without recursion (``walk()`` recurses)."""
    stack, parts, header_bytes = [(msg, 0)], 0, 0
    while stack:
        part, depth = stack.pop()
        parts += 1
        if parts > MAX_PARTS:
            raise MimeLimit(f"more than {MAX_PARTS} MIME parts: {too_many()}")
        if depth > MAX_DEPTH:
            raise MimeLimit(f"MIME parts nested {depth} deep, over the limit of {MAX_DEPTH}: resend it flat")
        header_bytes += sum(len(name) + len(str(value)) for name, value in part.raw_items())
        if header_bytes > MAX_HEADER_BYTES:
            raise MimeLimit(f"headers over {MAX_HEADER_BYTES} bytes: resend with ordinary headers and file names")
        payload = part.get_payload()
        if isinstance(payload, list):
            stack.extend((child, depth + 1) for child in payload)


def clean_text(value: object, limit: int = 998) -> str:
    """Header text as stored: control and bidi-override characters escaped, at most ``limit`` chars."""
    text = _UNSAFE.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100
                       else f"\\u{ord(m.group()):04x}", str(value))
    return text if len(text) <= limit else text[:limit - 1] + "\u2026"


def clean_name(name: str | None, fallback: str = "attachment") -> str:
    """An attachment's file name: its last path component, escaped, at most ``MAX_NAME_CHARS`` with
    the extension kept."""
    base = re.split(r"[/\\]", name or "")[-1].strip()
    base = clean_text(base, limit=MAX_HEADER_BYTES * 6)  # bounded by the header limit; capped below
    if base in ("", ".", ".."):
        return fallback
    if len(base) > MAX_NAME_CHARS:
        stem, dot, ext = base.rpartition(".")
        ext = ext[:20] if dot and stem else ""
        base = base[:MAX_NAME_CHARS - len(ext) - 2] + "\u2026" + ("." + ext if ext else "")
    return base


def parts(msg: EmailMessage) -> list[tuple[str, str, str, bytes]]:
    """(evidence_type, title, declared content type, bytes): the body first, then each attachment; a
    forwarded message (``message/rfc822``) is kept whole as ``.eml``, a multipart attachment as its
    leaves."""
    out: list[tuple[str, str, str, bytes]] = []
    body = msg.get_body(preferencelist=("plain", "html"))
    if body is not None:
        text = body.get_content()
        if text.strip():  # a lone surrogate (utf-7 can encode one) is stored as "?"
            out.append(("email_body", subject(msg) or "(no subject)", body.get_content_type(),
                        text.encode("utf-8", "replace")))
    stack = list(reversed(list(msg.iter_attachments())))
    while stack:
        att = stack.pop()
        if att.get_content_type() == "message/rfc822":
            inner = att.get_payload(0)
            title = att.get_filename() or f"{subject(inner) or 'message'}.eml"
            out.append(("email_attachment", clean_name(title, "message.eml"), "message/rfc822", inner.as_bytes()))
        elif att.is_multipart():
            stack.extend(reversed(att.get_payload()))
        else:
            name, data = clean_name(att.get_filename()), att.get_payload(decode=True) or b""
            if not data and str(att.get_payload()).strip():  # e.g. x-uuencode garbage: the content is lost
                cte = clean_text(att.get("Content-Transfer-Encoding"), 40)
                raise MimeLimit(f"attachment {name!r} decodes to nothing ({cte}): resend it base64-encoded")
            out.append(("email_attachment", name, att.get_content_type(), data))
    return out


def fingerprint(sender: str, subject: str, kept: list[tuple[str, str, str, bytes]]) -> str:
    """What makes two copies of a Message-ID the same message: sender, subject and the parts' bytes
    (not the headers a relay adds on the way)."""
    digest = hashlib.sha256(f"{sender}\n{subject}".encode("utf-8", "surrogatepass"))
    for kind, title, _, content in kept:
        digest.update(f"\n{kind}|{title}|{hashlib.sha256(content).hexdigest()}".encode("utf-8", "surrogatepass"))
    return digest.hexdigest()
