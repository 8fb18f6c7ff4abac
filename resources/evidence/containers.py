"""What ClamAV cannot vouch for: archives it did not read whole.

clamd answers ``stream: OK`` for an archive whose content is past its own limits (``MaxScanSize``,
``MaxFileSize``, ``MaxRecursion``, ``MaxFiles``) or encrypted, unless ``AlertExceedsMax`` /
``AlertEncrypted`` are on (they are off by default, and the clamd in production is not configured
here): an EICAR after 150 MB of zeros in a 150 KB zip, or 20 zips deep, comes back ``OK``. So the
library opens every zip (docx, xlsx, jar ... included), gzip, bzip2, xz and tar itself, nested ones
too, and refuses what a scanner may have skipped:

- a zip bomb: more than ``max_ratio`` times the file's own size once decompressed, past
  ``ratio_floor`` bytes (all levels counted: 150 KB expanding to 150 MB; ``PROJECTX_EVIDENCE_MAX_RATIO``,
  default 200, and ``PROJECTX_EVIDENCE_RATIO_FLOOR_BYTES``, default 100 MiB, read by
  :mod:`resources.evidence.limits`). Ordinary files are far below it (Office XML compresses 5-20x); it
  is settled (quarantined);
- more than ``max_expanded_bytes`` once decompressed, all levels counted (the budget,
  ``PROJECTX_EVIDENCE_MAX_EXPANDED_BYTES``): not settled, the file waits (``pending``) for the
  budget to be raised (``Problem.pending``); so does one whose one member (a file in it, at any level)
  expands past ``max_member_bytes`` (the library passes its size limit, ``PROJECTX_EVIDENCE_MAX_BYTES``,
  which clamd's ``MaxFileSize`` must reach anyway for the file itself): clamd skips a bigger member, or
  reads only its start, and answers OK (an EICAR at the end of a 130 MB sheet in a 20 MB xlsx, round 31);
- more than ``max_scan_bytes`` for clamd to read: the file itself and all it expands to, every level
  counted as clamd counts against its ``MaxScanSize`` (``PROJECTX_EVIDENCE_MAX_SCAN_BYTES``, default
  400 MiB, clamd's default; kept within clamd's): clamd stops reading there and answers OK (an EICAR at the
  end of the second of two 70 MiB sheets, round 31). Not settled: the file waits (``pending``), an
  archive or not (a file itself past it is not read whole either);
- nested deeper than ``max_depth`` or with more than ``max_members`` members in all;
- an encrypted member, a compression method or a container that does not open;
- a member of a blocked type (an executable is refused in a zip as it is bare);
- an archive format it cannot open (7z, RAR, CAB, zstd ...; cpio, ARJ, LHA, disc images, TNEF and the other
  formats clamd unpacks that ``formats.py`` names): nobody can say what a scanner saw;
- archive data ``zipfile`` would not read but clamd does (``layout.py``): a zip appended to another
  file (a PDF/zip polyglot, text then a zip) is walked as a zip at the top level and refused inside an
  archive; so is a zip embedded in the middle of a document (a PDF or PNG with a zip inside, more of the
  document after it: clamd finds it by its local headers): at the top level the last zip in the file is
  walked (a zip before it is data its directory does not list), and zip entries no zip directory lists
  (no end record, or after the last zip) are a polyglot, refused; inside an archive, any zip entry in a
  file that is not itself an archive is refused; a zip holding data its central directory does not
  list (a zip before it, a hidden local entry) or a member longer than its declared size is refused;
  a pre-POSIX (V7) tar, which has no ``ustar`` magic, is found by its header checksum; anything but
  zeros after a tar's end, or after a bzip2 or xz stream (other than another stream), is refused.
  So is a stream clamd does not read (round 32): a bzip2 file's second stream (clamd reads the first only)
  and a gzip member after zero padding (clamd stops at the padding; ``gzip`` reads on).
- what clamd decodes from a file that is no archive (``carriers.py``, round 32): an e-mail's base64 and
  quoted-printable parts, a PDF's FlateDecode streams and ``data:`` URIs in HTML or other text are walked
  as members one level down, every decoded byte counted; an LZMA zip attached to an .eml, or a zip bomb in
  a PDF stream, is refused as it is bare.
- an OLE2 compound file (found by its header: an Outlook .msg, a legacy .doc/.xls/.ppt, an
  ``oleObject*.bin`` in a .docx), at the top level or inside an archive, is a container whose embedded
  Office files (zips stored as they are, often several) are normal: the polyglot rules above are not
  applied to it. Each zip stored whole and contiguous in it is walked here as any zip (bombs, nesting,
  encryption, executables, hidden data); a zip split across the file's sectors (or a zip64, or local
  entries with no directory) is left to clamd, which parses OLE2 and reads its streams within its own
  limits only (a residual gap: this library does not parse OLE2's sector chains).

Everything is read as a stream and counted, never held whole: a member is read in 1 MiB pieces
and dropped (its first 8 KiB say whether it is an archive), a nested tar, gzip, bzip2 or xz is read
through, and only a nested zip (which needs seeking) is spooled, to a temporary file past 8 MiB.

``problem(content, ...)`` is the ``Problem`` (a reason naming the fix, and whether it is pending
rather than settled) or None.
"""

from __future__ import annotations

import bz2
import io
import logging
import lzma
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass

import filetype

from resources.evidence import carriers, onenote
from resources.evidence.base import content_address
from resources.evidence.container_readers import (
    BROKEN,
    HEAD,
    READ,
    SPOOL,
    WHERE_CHARS,
    Fault,
    OverBudget,
    Refused,
    _Budget,
    _corrupt,
    _Counted,
    _head,
    _Prefixed,
    _tar,
    _zip,
    fault_reason,
    machine_fault,
    over_scan,
)
from resources.evidence.formats import unopened
from resources.evidence.layout import (
    TAIL,
    GzipDecoder,
    LocalScan,
    Strict,
    data_starts,
    find_local,
    held,
    ole2,
    v7_tar,
    zip_at_end,
    zip_end,
    zips_in,
)
from resources.evidence.metadata import sniff_mime

MAX_RATIO = 200
RATIO_FLOOR = 100 * 1024 * 1024
log = logging.getLogger(__name__)
UNOPENED = {"application/x-rar-compressed": "RAR", "application/x-7z-compressed": "7z",
            "application/vnd.ms-cab-compressed": "CAB", "application/zstd": "zstd", "application/x-lzip": "lzip",
            "application/x-lz4": "LZ4", "application/x-lzop": "lzop", "application/x-compress": "compress (.Z)",
            "application/x-rpm": "RPM", "application/x-deb": "Debian package",
            "application/x-unix-archive": "ar"}
STREAMS = {b"\x1f\x8b": ("gzip", lambda raw: Strict(raw, GzipDecoder, "adjacent", "gzip")),
           b"BZh": ("bzip2", lambda raw: Strict(raw, bz2.BZ2Decompressor, "none", "bzip2")),
           b"\xfd7zXZ\x00": ("xz", lambda raw: Strict(raw, lzma.LZMADecompressor))}


@dataclass(frozen=True)
class Problem:
    reason: str
    pending: bool = False  # True: over the budget, not a verdict on the file; False: quarantine it
    fault: bool = False  # pending for a fault of the machine (retried a few times only: library.MAX_FAULTS)


def kind(content: bytes) -> str | None:
    """``zip``, ``tar``, ``gzip``, ``bzip2``, ``xz``, another archive's name, or None (not an archive)."""
    head = content[:8]
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08"):
        return "zip"
    for magic, (name, _) in STREAMS.items():
        if head.startswith(magic):
            return name
    if content[257:262] == b"ustar" or v7_tar(content):
        return "tar"
    guess = filetype.guess(content[:HEAD]) if content else None
    if guess is not None and guess.mime in UNOPENED:
        return UNOPENED[guess.mime]
    return unopened(content)  # cpio, ARJ, LHA, disc images ... (``formats.py``)


def problem(content: bytes, max_expanded_bytes: int, max_depth: int = 8, max_members: int = 10_000,
            blocked_types: Sequence[str] = (), max_ratio: int = MAX_RATIO,
            ratio_floor: int = RATIO_FLOOR, max_member_bytes: int | None = None,
            max_scan_bytes: int | None = None, unseen: list | None = None) -> Problem | None:
    """Why ``content`` (an archive) cannot be taken as scanned whole, or None (also for a non-archive).
    ``max_member_bytes``: what one file in it may expand to (None: no bound but the budget);
    ``max_scan_bytes``: what clamd reads of it, the file and all it expands to (None: no such bound);
    ``unseen``: a list given is filled with ``(where, bytes)`` decoded here that clamd does not decode itself
    (an RTF's embedded objects, at any level), for the caller to scan."""
    if max_scan_bytes is not None and len(content) > max_scan_bytes:
        return Problem(over_scan("the file is", max_scan_bytes), pending=True)
    top = kind(content)
    ole = top is None and ole2(content)  # Office files embedded in it are no polyglot (``_ole``)
    carried = carriers.kind(content[:HEAD]) if top is None and not ole else None  # e-mail, PDF, text
    # a zip in a document: appended, or inside (a OneNote section's attached zips are walked as OLE2's are)
    end = zip_end(content) if top is None and not ole and carried != "onenote" else None
    if top is None and not ole and end is None and carried is None:
        return None if find_local(content) < 0 else Problem(_polyglot("the file"))
    budget = _Budget(max_expanded_bytes, max(max_ratio * len(content), ratio_floor), len(content), max_ratio,
                     max_members, member_limit=max_member_bytes, scan_limit=max_scan_bytes, unseen=unseen)
    try:
        if carried is not None:  # what clamd decodes from it (attachments, PDF streams, data: URIs)
            carriers.walk(content, carried, "the file", 1, budget, max_depth, tuple(blocked_types), _walk)
        if carried is not None and end is None:
            if onenote.loose_zip(content) if carried == "onenote" else find_local(content) >= 0:
                raise Refused(_polyglot("the file"))
        elif ole:
            _ole(content, "the file", 1, budget, max_depth, tuple(blocked_types))
        elif top is None:
            where = "the file" if zip_at_end(content) else "the zip archive embedded in the file"
            _walk(io.BytesIO(content[:end] if end < len(content) else content), where, 1, budget, max_depth,
                  tuple(blocked_types), "zip")
            if find_local(content, end) >= 0:
                raise Refused(_polyglot("the file, after the zip archive embedded in it,"))
        else:
            _walk(io.BytesIO(content), "the file", 1, budget, max_depth, tuple(blocked_types), top)
    except Fault as exc:  # the machine's fault, not the file's (round 34): it waits and is retried
        log.warning("evidence check of file %s failed: %s (a fault of the machine, left pending)",
                    content_address(content), exc.kind)
        return Problem(str(exc), pending=True, fault=True)
    except Refused as exc:
        return Problem(str(exc), pending=isinstance(exc, OverBudget))
    except Exception as exc:  # a walker's bug on a crafted file: that file is quarantined, the ingest run goes on
        # logged by type and the file's sha256 only: the exception's text may quote the file's bytes (round 34)
        log.warning("evidence check of file %s failed: %s%s", content_address(content), type(exc).__name__,
                    " (a fault of the machine, left pending)" if machine_fault(exc) else "; quarantined")
        if machine_fault(exc):  # out of memory, disk full, an I/O error: retried, never stored meanwhile
            return Problem(fault_reason("the file", exc), pending=True, fault=True)
        return Problem(f"the file could not be checked: {type(exc).__name__} (a file built to break the checks, "
                       "or a fault of the library): send it saved again, or ask an administrator to look at it")
    return None


def _polyglot(where: str) -> str:
    return (f"{where} carries zip entries that no zip directory lists (a polyglot/embedded archive: a document "
            "with an archive hidden inside), which a virus scanner reads within its own limits only: send the "
            "document without it (print or export it again) and the archive's files on their own")


def _ole(data, where: str, depth: int, budget: _Budget, max_depth: int, blocked: tuple[str, ...]) -> None:
    """An OLE2 compound file (``data``: bytes or an mmap): each zip stored whole and contiguous in it (an
    embedded .docx, .xlsx ...) that opens cleanly is walked as a zip one level down; one that does not
    (split across the file's sectors) is left to clamd, as are zip entries no directory lists."""
    for start, end in zips_in(data):
        piece = io.BytesIO(data[start:end])
        try:
            with zipfile.ZipFile(piece) as archive:
                whole = data_starts(piece, archive.start_dir, archive.infolist()) is not None
        except BROKEN:
            whole = False
        if whole:
            piece.seek(0)
            _walk(piece, f"the zip archive at byte {start} of {where}", depth + 1, budget, max_depth, blocked, "zip")


def _looked_through(data, where: str) -> None:
    """A member that is no archive (bytes, an mmap or a stream, read once): a zip appended to it, or zip
    entries in it, are refused."""
    tail, entries = b"", LocalScan()
    if isinstance(data, io.RawIOBase):
        parts = iter(lambda: data.read(READ), b"")
    else:
        parts = (data[at:at + READ] for at in range(0, len(data), READ))
    for part in parts:  # counted (a stream), looked through for zip entries, then dropped
        tail = (tail + part)[-TAIL:]  # (its last 64 KiB kept)
        entries.feed(part)
    if zip_at_end(tail):
        raise Refused(f"{where} is a file with a zip archive appended, which a virus scanner reads within its "
                      "own limits only: send the archive's files on their own")
    if entries.found:
        raise Refused(_polyglot(where))


def _walk(stream, where: str, depth: int, budget: _Budget, max_depth: int, blocked: tuple[str, ...],
          name: str | None = None) -> None:
    """Check what ``stream`` holds (read through once, counted by the ``_Counted`` it is, if any);
    ``name``: its kind when known otherwise (a zip appended to the file)."""
    head = _head(stream)
    name = name or kind(head)
    if name is None:
        mime = sniff_mime(head)
        if mime in blocked:
            raise Refused(f"{where} is {mime}, which is not accepted as evidence, inside an archive as on its "
                          "own: send the documents without it")
        if ole2(head):
            with held(head, stream) as data:
                _ole(data, where, depth, budget, max_depth, blocked)
            return
        carried = carriers.kind(head)
        if carried is not None:  # read whole: what clamd decodes from it is walked, then it is looked through
            with held(head, stream) as data:
                carriers.walk(data, carried, where, depth, budget, max_depth, blocked, _walk)
                if carried != "onenote":
                    _looked_through(data, where)
                elif onenote.loose_zip(data):
                    raise Refused(_polyglot(where))
            return
        _looked_through(_Prefixed(head, stream), where)
        return
    if depth > max_depth:
        raise Refused(f"{where} is archives nested more than {max_depth} deep, deeper than a virus scanner is "
                      "sure to read: send the innermost files instead")
    whole = _Prefixed(head, stream)
    if name == "zip":
        members = _zip(stream if isinstance(stream, io.BytesIO) else whole, where, budget)
    elif name == "tar":
        members = _tar(whole, where, budget)
    elif name in ("gzip", "bzip2", "xz"):
        opener = next(o for n, o in STREAMS.values() if n == name)
        try:
            opened = opener(whole)
        except Refused:
            raise
        except BROKEN as exc:
            raise _corrupt(name, where, exc) from None
        members = iter([(f"{where} (decompressed)", _Counted(opened, name, where, budget))])
    else:
        raise Refused(f"{where} is a {name} archive, which the library cannot open to check that the virus "
                      "scanner read all of it: send the files as a zip or tar, or each on its own")
    for member, data in members:
        with data:
            _walk(data, member, depth + 1, budget, max_depth, blocked)


__all__ = ["BROKEN", "HEAD", "MAX_RATIO", "RATIO_FLOOR", "READ", "SPOOL", "STREAMS", "UNOPENED", "WHERE_CHARS",
           "OverBudget", "Problem", "Refused", "kind", "problem"]
