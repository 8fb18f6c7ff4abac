"""Files that carry other files encoded, which clamd decodes and scans but ``containers.py`` took as plain
documents (round 32, measured with the real clamd the tests run):

- an e-mail (``.eml``, an mbox message, a MIME file with no From line first): clamd decodes its base64 and
  quoted-printable parts and scans them, within its own limits, as files of their own; so a zip with an
  LZMA member, a bzip2 file with a second stream or a zip bomb, attached in base64, came back OK and the
  .eml was stored "clean". clamd decodes a part's base64 body whatever its ``Content-Transfer-Encoding``
  says (missing, doubled, folded, commented), so every block of base64 lines in a mail is decoded here, not
  only the parts Python's parser calls base64;
- a PDF: clamd inflates its ``FlateDecode`` streams (an embedded file, a content stream), after
  ``ASCIIHexDecode`` / ``ASCII85Decode`` when they come first, and scans what comes out; a 150 KB PDF with a
  stream inflating to 150 MB (EICAR at the end) came back OK;
- an HTML or other text file with ``data:...;base64,`` URIs, which clamd decodes too.

Round 33: an RTF's embedded objects (``rtf.py``), which clamd does not decode: each is walked, and its bytes are
kept in ``budget.unseen`` for the library to show clamd; a PDF encrypted with an empty user password
(``pdf_crypt.py``) has its streams decrypted and walked as an unencrypted PDF's are; one with a real password is
refused (nobody can scan it); a OneNote section's attached files (``onenote.py``) are walked, and
one attaching a script is refused.

Round 34: a PDF stream's ``/Filter`` is read as a reader reads it: names with ``#hh`` escapes decoded, and a filter
named by reference (``/Filter 5 0 R``) looked up in the file (its objects indexed once); both were left uninflated.
A ``RunLengthDecode`` stream (which clamd decodes) is decoded too, a piece at a time; LZW is not (left: clamd
decodes it, this library does not). Review of round 34: chains of filters are undone in order and LZW refused
(``pdf_filters.py``); a stream not inflated first ends at its own extent (``_extent``), not at the end of the file;
``/Filter`` is read at depth 1, references resolved through the xref (``pdf_objects.py``).

Each decoded part is walked by ``containers._walk`` as a member one level down (bombs, nesting, encryption,
executables, unread streams), every decoded byte counted against the same budget as an archive's (the ratio
of a zip bomb, the expansion and scan budgets). A PDF stream that does not inflate cleanly is walked as far
as it does: damaged streams are common in ordinary PDFs, and the scanner reads no further either. Parts left
as they are (7bit, 8bit, binary) are the file's own bytes, which clamd reads as they stand.
"""

from __future__ import annotations

import binascii
import email
import email.policy
import hashlib
import io
import itertools
import re
from collections.abc import Callable, Iterator

from resources.evidence import onenote, pdf_crypt, rtf
from resources.evidence.container_readers import Refused, _Budget, _Counted, _inside
from resources.evidence.pdf_filters import MAX_RUNS, NAMES, _decoded, _Inflated, _RunLength, decodable
from resources.evidence.pdf_objects import Objects, filter_of

__all__ = ["MAX_RUNS", "NAMES", "_Inflated", "_RunLength", "_decoded", "decodable", "kind", "walk"]

HEADER = re.compile(rb"[\x21-\x39\x3b-\x7e]{1,76}:")
MIME_ENCODED = re.compile(rb"^content-transfer-encoding[ \t]*:[ \t]*\"?(quoted-printable|x-uu|uu|base64)", re.I | re.M)
BASE64_BLOCK = re.compile(rb"(?:^[A-Za-z0-9+/]{16,}={0,2}[ \t]*\r?\n)+(?:^[A-Za-z0-9+/]+={0,2}[ \t]*(?:\r?\n|$))?",
                          re.M)  # lines of base64, as a mail part's body is written
FILENAME = re.compile(rb'\b(?:file)?name\*?=[ \t]*"?([^";\r\n]{1,200})', re.I)  # the part's, before its body
ENCODED = ("quoted-printable", "uuencode", "x-uue", "uue", "base64")  # base64 also by its blocks (``BASE64_BLOCK``)
DATA_URI = re.compile(rb"data:[\w.+/-]{0,100}(?:;[\w.+=-]{1,100}){0,4};base64,([A-Za-z0-9+/=\s]{16,})", re.I)
STREAM = re.compile(rb"stream\r?\n")
# a filter as pdf_crypt reads it (the checker of unencrypted PDFs reads ``pdf_objects.filter_of``)
FILTER = re.compile(rb"/Filter\s*(\[[^\]]{0,400}\]|/[A-Za-z0-9]+|(\d{1,10})\s+\d{1,5}\s+R\b)")
# round 34 review: a stream's own extent, for a RunLengthDecode stream with no end marker (it was decoded to the
# end of the file, each such stream: 64 s for a 4 MiB PDF of 200): up to its ``endstream``, else its ``/Length``
# (a direct number), else the next stream [unc: clamd's choice between /Length and endstream when they disagree]
LENGTH = re.compile(rb"/Length\s+(\d{1,12})\b(?!\s+\d{1,10}\s+\d{1,5}\s+R)")
OBJ_SPACES = (b" ", b"\n", b"\r", b"\t", b"\x0c", b"\x00")  # whitespace before an ``obj`` keyword

# each decoded part costs ~0.4 ms to walk (its kind sniffed twice): a 100 MiB PDF of 2 million empty streams would
# take ~15 minutes (extrapolated: 20,000 took 8 s); past this many in a file (all levels) it is refused (round 34).
# An ordinary PDF has a few thousand.
MAX_PARTS = 50_000
# what clamd does not decode (an RTF's objects, pictures, data stores) is shown to it one part at a time, ~1 ms a
# round trip: identical parts are shown once, and past this many distinct ones the file is refused (round 34
# review: 10,000 tiny pictures in 100 KB cost 10,000 scans). Concatenating them was not chosen: clamd types a buffer
# by its first bytes, so a program at the start of the second picture would be scanned as picture data.
# Second review: 1,000 refused a Word RTF of 500 images (each written twice, \shppict and \nonshppict): 5,000.
MAX_SHOWN = 5_000

Walk = Callable[..., None]


def kind(head: bytes) -> str | None:
    """``pdf``, ``rtf``, ``onenote``, ``mail``, ``text`` (a file that may hold data URIs) or None, from a file's
    first bytes."""
    if rtf.is_rtf(head):  # byte-0 signatures first: a ``%PDF-`` in an RTF's title or a section's header is
        return "rtf"  # read as a PDF too (``walk``), as clamd may, not instead
    if onenote.is_onenote(head):
        return "onenote"
    if b"%PDF-" in head[:1024]:
        return "pdf"
    if b"\0" in head[:4096]:
        return None
    start = head.lstrip(b"\r\n\t ")
    if start.startswith(b"From "):  # an mbox message
        start = start.partition(b"\n")[2]
    if HEADER.match(start):
        return "mail"
    return "text"


def walk(data, what: str, where: str, depth: int, budget: _Budget, max_depth: int, blocked: tuple[str, ...],
         walker: Walk) -> None:
    """Walk what ``data`` (bytes or an mmap, a ``what`` as ``kind`` says) carries encoded, each part with
    ``walker`` (``containers._walk``) at ``depth + 1``."""
    if what == "pdf":
        parts = _pdf_parts(data, where, budget)
    elif what == "onenote":
        parts = onenote.files(data, where)
    else:
        parts = _data_uris(data, where)
    if what in ("rtf", "onenote") and b"%PDF-" in bytes(data[:1024]):  # both: walked both ways
        parts = itertools.chain(parts, _pdf_parts(data, where, budget))
    if what == "mail":
        parts = itertools.chain(_mail_parts(data, where), parts)
    objects = ((part, io.BytesIO(obj), obj) for part, obj in rtf.objects(data, where)) if what == "rtf" else ()
    for part_where, stream, shown in itertools.chain(objects, ((p, s, None) for p, s in parts)):
        budget.parts += 1
        if budget.parts > MAX_PARTS:
            raise Refused(f"{where} carries more than {MAX_PARTS} encoded parts (PDF streams, attachments, data: URIs, "
                          "embedded objects), more than the library checks in one file (a file built to cost the "
                          "checks): send it split into smaller files")
        if depth + 1 > max_depth:
            raise Refused(f"{where} carries files nested more than {max_depth} deep, deeper than a virus scanner "
                          "is sure to read: send the innermost files instead")
        if what in ("rtf", "onenote"):  # each an embedded file (shown to clamd one by one): counted as a member
            budget.members_left -= 1
            if budget.members_left < 0:
                raise Refused(f"{where} embeds more files than the library checks in one file (the archive member "
                              "limit): send them on their own")
        with _Counted(stream, "decoded", part_where, budget) as counted:
            walker(counted, part_where, depth + 1, budget, max_depth, blocked)
        if shown is not None and budget.unseen is not None:  # clamd never decodes it: the library shows it
            digest = hashlib.sha256(shown).digest()
            if digest in budget.shown:  # the same picture again: scanned once (round 34 review)
                continue
            budget.shown.add(digest)
            if len(budget.unseen) >= MAX_SHOWN:
                raise Refused(f"{where} embeds more than {MAX_SHOWN} different objects, pictures and data stores, "
                              "each a scan of its own (a virus scanner does not decode them), more than the library "
                              "scans for one file: send the document saved again as PDF or .docx")
            budget.unseen.append((part_where, shown))


def _pdf_parts(data, where: str, budget: _Budget) -> Iterator[tuple[str, io.RawIOBase]]:
    parts = pdf_crypt.streams(data, where, budget) if pdf_crypt.encrypted(data) else None
    yield from _pdf_streams(data, where, budget) if parts is None else parts


def _mail_parts(data, where: str) -> Iterator[tuple[str, io.RawIOBase]]:
    """What clamd decodes from a mail: every block of base64 lines, whatever the part around it says (clamd decodes
    one with no ``Content-Transfer-Encoding``, or a doubled, folded, quoted, commented or misspelt one), and the
    parts that say quoted-printable, uuencode or base64 (lines too short for a block: not walked twice)."""
    seen: set[int] = set()
    for found in BASE64_BLOCK.finditer(data):
        text = re.sub(rb"\s+", b"", found.group(0)).rstrip(b"=")
        try:  # a dangling character (4k+1 of them: a note's line, not base64) is dropped, as a decoder does
            decoded = binascii.a2b_base64(text[:len(text) - (len(text) % 4 == 1)] + b"==")
        except binascii.Error:
            continue
        if decoded:
            seen.add(hash(decoded))
            named = list(FILENAME.finditer(bytes(data[max(0, found.start() - 1024):found.start()])))
            name = named[-1].group(1).decode("utf-8", "replace") if named else None
            yield (_inside(name, where) if name else f"the base64 block at byte {found.start()} of {where}",
                   io.BytesIO(decoded))
    if MIME_ENCODED.search(data) is None:
        return
    raw = bytes(data).lstrip(b"\r\n\t ")
    if raw.startswith(b"From "):
        raw = raw.partition(b"\n")[2]
    message = email.message_from_bytes(raw, policy=email.policy.compat32)
    n = 0
    for part in message.walk():
        encodings = " ".join(str(v) for v in part.get_all("Content-Transfer-Encoding") or []).lower()
        if part.is_multipart() or not any(name in encodings for name in ENCODED):
            continue
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes) and payload:
            n += 1
            if hash(payload) in seen:  # a base64 part its blocks already gave (lines of 16 or more)
                continue
            name = part.get_filename() or f"part {n} ({part.get_content_type()})"
            yield _inside(str(name), where), io.BytesIO(payload)


def _data_uris(data, where: str) -> Iterator[tuple[str, io.RawIOBase]]:
    if data.find(b"base64,") < 0:
        return
    for match in DATA_URI.finditer(data):
        try:
            decoded = binascii.a2b_base64(re.sub(rb"\s+", b"", match.group(1)))
        except binascii.Error:
            continue
        yield f"the data: URI at byte {match.start()} of {where}", io.BytesIO(decoded)


def _pdf_streams(data, where: str, budget: _Budget) -> Iterator[tuple[str, io.RawIOBase]]:
    last = 0  # the end of the ``stream`` keyword before: a dictionary is looked for after it, each byte once
    ends = [-1, -1]  # [searched from, the next ``endstream`` found then (-1: none after)]: each byte searched once
    objects = Objects(data)  # filters named by reference, looked up as a reader does (indexed on first use)
    spent = [0]  # dictionary tokens read in this file (``pdf_objects.MAX_TOKENS``)
    for match in STREAM.finditer(data):
        at, since, last = match.start(), last, match.end()
        if data[max(0, at - 3):at] == b"end":  # endstream
            continue
        before = bytes(data[since:at])
        obj = max(before.rfind(space + b"obj") for space in OBJ_SPACES)  # ``1 0\nobj`` too (second review)
        if obj < 0 or before.rfind(b"endstream") > obj:  # not a stream object's dictionary: text that says so
            continue
        part = f"the PDF stream at byte {at} of {where}"
        found = filter_of(before[obj:], part, spent)
        if found is None:
            continue
        chain = [NAMES.get(name) for name in objects.names(found.group(1), part=part)]
        if (walked := decodable(chain, part)) is None:
            continue
        stop = len(data) if walked[0] == "flate" else _extent(data, match.end(), before[obj:], ends)
        stream = _decoded(data, match.end(), walked, part, budget, stop)
        if stream is not None:
            yield part, stream


def _extent(data, start: int, dictionary: bytes, ends: list[int]) -> int:
    """Where the stream at ``start`` ends: its ``endstream``, else its ``/Length``, else the next stream keyword
    (no stream is decoded into the next: a file of many costs its size once). A direct ``/Length`` that lands on an
    ``endstream`` (after an end of line) wins: an ``endstream`` in the body ended it early (second review)."""
    length = LENGTH.search(dictionary)
    if length is not None:
        stop = start + int(length.group(1))
        after = data[stop:stop + 11]
        if bytes(after).lstrip(b"\r\n")[:9] == b"endstream" and len(after) - len(bytes(after).lstrip(b"\r\n")) <= 2:
            return stop
    if ends[0] < 0 or -1 != ends[1] < start:  # not searched yet, or the one found is behind: search on
        ends[0], ends[1] = start, data.find(b"endstream", start)
    if ends[1] >= start:
        return ends[1]
    length = LENGTH.search(dictionary)
    if length is not None:
        return min(len(data), start + int(length.group(1)))
    following = STREAM.search(data, start)
    return following.start() if following is not None else len(data)
