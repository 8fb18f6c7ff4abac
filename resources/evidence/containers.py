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
  budget to be raised (``Problem.pending``);
- nested deeper than ``max_depth`` or with more than ``max_members`` members in all;
- an encrypted member, a compression method or a container that does not open;
- a member of a blocked type (an executable is refused in a zip as it is bare);
- an archive format it cannot open (7z, RAR, CAB, zstd ...): nobody can say what a scanner saw;
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
import gzip
import io
import lzma
import tarfile
import tempfile
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import filetype

from resources.evidence.layout import (
    TAIL,
    LocalScan,
    Recorder,
    Strict,
    data_starts,
    find_local,
    held,
    longer_than_declared,
    ole2,
    v7_tar,
    zip_at_end,
    zip_end,
    zips_in,
)
from resources.evidence.metadata import sniff_mime

READ = 1024 * 1024
HEAD = 8192
SPOOL = 8 * 1024 * 1024
WHERE_CHARS = 200  # a member's path, in a reason (the explanation and the fix follow it)
MAX_RATIO = 200
RATIO_FLOOR = 100 * 1024 * 1024
UNOPENED = {"application/x-rar-compressed": "RAR", "application/x-7z-compressed": "7z",
            "application/vnd.ms-cab-compressed": "CAB", "application/zstd": "zstd", "application/x-lzip": "lzip",
            "application/x-lz4": "LZ4", "application/x-lzop": "lzop", "application/x-compress": "compress (.Z)",
            "application/x-rpm": "RPM", "application/x-deb": "Debian package",
            "application/x-unix-archive": "ar"}
STREAMS = {b"\x1f\x8b": ("gzip", lambda raw: gzip.GzipFile(fileobj=raw)),
           b"BZh": ("bzip2", lambda raw: Strict(raw, bz2.BZ2Decompressor)),
           b"\xfd7zXZ\x00": ("xz", lambda raw: Strict(raw, lzma.LZMADecompressor))}
BROKEN = (zipfile.BadZipFile, tarfile.TarError, NotImplementedError, OSError, ValueError, EOFError, RuntimeError,
          lzma.LZMAError, zlib.error)


class Refused(Exception):
    """Why the archive cannot be taken as scanned (settled: it is quarantined)."""


class OverBudget(Refused):
    """Past ``max_expanded_bytes``: not settled, it waits for the budget to be raised."""


@dataclass(frozen=True)
class Problem:
    reason: str
    pending: bool = False  # True: over the budget, not a verdict on the file; False: quarantine it


@dataclass
class _Budget:
    limit: int
    cap: int  # the zip-bomb ratio's bound for this file
    size: int  # the file's own size
    max_ratio: int
    members_left: int
    expanded: int = 0

    def count(self, n: int, where: str) -> None:
        self.expanded += n
        if self.expanded > self.cap:
            raise Refused(f"{where} expands to more than {self.cap} bytes from a {self.size}-byte file (over "
                          f"{self.max_ratio} times its size, PROJECTX_EVIDENCE_MAX_RATIO): a zip bomb, which a "
                          "virus scanner stops reading short of: send the files unpacked, or in smaller archives")
        if self.expanded > self.limit:
            raise OverBudget(f"{where} expands to more than {self.limit} bytes (PROJECTX_EVIDENCE_MAX_EXPANDED_BYTES), "
                             "more than a virus scanner is sure to read: it waits, pending; send the files unpacked "
                             "or in smaller archives, or raise the limit (and the scanner's MaxScanSize)")


class _Counted(io.RawIOBase):
    """A decompressed (or extracted) stream, each byte read counted against the budget; a read that
    fails is the container ``name`` at ``where`` that does not open."""

    def __init__(self, stream, name: str, where: str, budget: _Budget):
        super().__init__()
        self.stream, self.name, self.where, self.budget = stream, name, where, budget

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        want = READ if size is None or size < 0 else min(size, READ)
        try:
            part = self.stream.read(want)
        except Refused:
            raise
        except BROKEN as exc:
            raise _corrupt(self.name, self.where, exc) from None
        self.budget.count(len(part), self.where)
        return part

    def readinto(self, buffer) -> int:
        part = self.read(len(buffer))
        buffer[:len(part)] = part
        return len(part)

    def close(self) -> None:
        try:
            self.stream.close()
        finally:
            super().close()


class _Prefixed(io.RawIOBase):
    """``head`` (already read from ``stream``), then the rest of ``stream``."""

    def __init__(self, head: bytes, stream):
        super().__init__()
        self.head, self.stream = head, stream

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self.head:
            n = len(self.head) if size is None or size < 0 else size
            out, self.head = self.head[:n], self.head[n:]
            return out
        return self.stream.read(READ if size is None or size < 0 else size)

    def readinto(self, buffer) -> int:
        part = self.read(len(buffer))
        buffer[:len(part)] = part
        return len(part)


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
    return UNOPENED.get(guess.mime) if guess is not None else None


def problem(content: bytes, max_expanded_bytes: int, max_depth: int = 8, max_members: int = 10_000,
            blocked_types: Sequence[str] = (), max_ratio: int = MAX_RATIO,
            ratio_floor: int = RATIO_FLOOR) -> Problem | None:
    """Why ``content`` (an archive) cannot be taken as scanned whole, or None (also for a non-archive)."""
    top = kind(content)
    ole = top is None and ole2(content)  # Office files embedded in it are no polyglot (``_ole``)
    end = zip_end(content) if top is None and not ole else None  # a zip in a document: appended, or inside
    if top is None and not ole and end is None:
        return None if find_local(content) < 0 else Problem(_polyglot("the file"))
    budget = _Budget(max_expanded_bytes, max(max_ratio * len(content), ratio_floor), len(content), max_ratio,
                     max_members)
    try:
        if ole:
            _ole(content, "the file", 1, budget, max_depth, tuple(blocked_types))
        elif top is None:
            where = "the file" if zip_at_end(content) else "the zip archive embedded in the file"
            _walk(io.BytesIO(content[:end] if end < len(content) else content), where, 1, budget, max_depth,
                  tuple(blocked_types), "zip")
            if find_local(content, end) >= 0:
                raise Refused(_polyglot("the file, after the zip archive embedded in it,"))
        else:
            _walk(io.BytesIO(content), "the file", 1, budget, max_depth, tuple(blocked_types))
    except Refused as exc:
        return Problem(str(exc), pending=isinstance(exc, OverBudget))
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


def _head(stream) -> bytes:
    out = b""
    while len(out) < HEAD:
        part = stream.read(HEAD - len(out))
        if not part:
            break
        out += part
    return out


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
        tail, entries = head, LocalScan()
        entries.feed(head)
        while part := stream.read(READ):  # counted, looked through for zip entries, then dropped
            tail = (tail + part)[-TAIL:]  # (its last 64 KiB kept)
            entries.feed(part)
        if zip_at_end(tail):
            raise Refused(f"{where} is a file with a zip archive appended, which a virus scanner reads within its "
                          "own limits only: send the archive's files on their own")
        if entries.found:
            raise Refused(_polyglot(where))
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


def _inside(name: str, where: str) -> str:
    """Where a member is, for a reason: its name quoted (``repr``), a long one cut in the middle, and the
    whole path kept under ``WHERE_CHARS``, so the reason's explanation and fix always fit the ledger's
    500 characters (a 1000-character name pushed "is encrypted" out of it)."""
    shown = repr(name if len(name) <= 80 else f"{name[:60]}...{name[-17:]}")
    out = f"{shown} in {where}"
    return out if len(out) <= WHERE_CHARS else f"{out[:100]} ... {out[-(WHERE_CHARS - 105):]}"


def _member(budget: _Budget, where: str, max_members_hint: str) -> None:
    budget.members_left -= 1
    if budget.members_left < 0:
        raise Refused(f"{where} holds more than {max_members_hint} files in all, more than a virus scanner is sure "
                      "to read: send them in smaller archives")


def _corrupt(name: str, where: str, exc: BaseException) -> Refused:
    return Refused(f"{where} is a {name} archive that does not open ({type(exc).__name__}: {str(exc)[:120]}), so "
                   "nothing can say the virus scanner read it: send it again whole")


def _zip(stream, where: str, budget: _Budget) -> Iterator[tuple[str, _Counted]]:
    """The members of a zip; ``stream`` is spooled (a zip is read from its end) unless it is in memory."""
    total = budget.members_left
    with tempfile.SpooledTemporaryFile(max_size=SPOOL) as spool:
        if isinstance(stream, io.BytesIO):
            source = stream
        else:
            while part := stream.read(READ):
                spool.write(part)
            source = spool
        source.seek(0)
        try:
            archive = zipfile.ZipFile(source)
            infos = archive.infolist()
        except BROKEN as exc:
            raise _corrupt("zip", where, exc) from None
        with archive:
            try:
                starts = data_starts(source, archive.start_dir, infos)
            except ValueError as exc:
                raise _corrupt("zip", where, exc) from None
            if starts is None:
                raise Refused(f"{where} is a zip archive holding data its directory does not list (another archive "
                              "before or between its files), which nothing can say a virus scanner read as the "
                              "library did: send the files in one plain zip")
            for info, start in zip(infos, starts, strict=True):
                if info.is_dir():
                    continue
                inner = _inside(info.filename, where)
                _member(budget, inner, str(total))
                if info.flag_bits & 0x1:
                    raise Refused(f"{inner} is encrypted: a virus scanner cannot read it; send it unencrypted")
                if longer_than_declared(source, start, info, min(budget.limit, budget.cap) - budget.expanded):
                    raise Refused(f"{inner} holds more than the {info.file_size} bytes its zip declares (a lying "
                                  "size: the rest is read by a virus scanner within its own limits, never checked "
                                  "here): send it again as an ordinary zip")
                try:
                    opened = archive.open(info)
                except BROKEN as exc:
                    raise _corrupt("zip", inner, exc) from None
                yield inner, _Counted(opened, "zip", inner, budget)


def _tar(stream, where: str, budget: _Budget) -> Iterator[tuple[str, _Counted]]:
    """The files of a tar, read in one pass (``r|``: nothing is seeked or held); then what follows its
    end must be zeros (its padding): a zip after it (read by clamd, not by ``tarfile``) is refused."""
    total = budget.members_left
    stream = Recorder(stream)
    try:
        archive = tarfile.open(fileobj=stream, mode="r|")  # noqa: SIM115 (closed below, members yielded)
    except Refused:
        raise
    except BROKEN as exc:
        raise _corrupt("tar", where, exc) from None
    with archive:
        while True:
            try:
                info = archive.next()
                if info is None:
                    _after_end(stream, archive.offset, where)
                    return
                if not info.isfile():
                    continue
                inner = _inside(info.name, where)
                _member(budget, inner, str(total))
                extracted = archive.extractfile(info)
            except Refused:
                raise
            except BROKEN as exc:
                raise _corrupt("tar", where, exc) from None
            if extracted is not None:
                yield inner, _Counted(extracted, "tar", inner, budget)


def _after_end(stream: Recorder, end: int, where: str) -> None:
    """Refuse anything but zeros after a tar's end (``end``: where its end-of-archive block starts)."""
    buffered = stream.total - end
    seen = stream.tail[-buffered:] if 0 < buffered <= len(stream.tail) else b""
    while True:
        if seen.strip(b"\0") or (buffered > len(stream.tail)):
            raise Refused(f"{where} has data after the end of its tar archive (another archive appended, read by "
                          "a virus scanner within its own limits, never checked here): send the tar alone")
        seen, buffered = stream.read(READ), 0
        if not seen:
            return
