"""The readers under :mod:`resources.evidence.containers`: an archive's members as counted streams.

Split from :mod:`resources.evidence.containers` by responsibility: the budget (every decompressed byte
counted against the expansion limit and the zip-bomb ratio), the counted and prefixed streams, and the
zip and tar member readers with their refusals (encrypted, lying sizes, data after a tar's end, too
many members). ``containers`` decides what to walk and why; this module reads.
"""

from __future__ import annotations

import errno
import io
import lzma
import tarfile
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field

from resources.evidence.layout import Recorder, Unread, data_starts, longer_than_declared

READ = 1024 * 1024
HEAD = 8192
SPOOL = 8 * 1024 * 1024
WHERE_CHARS = 200  # a member's path, in a reason (the explanation and the fix follow it)

BROKEN = (zipfile.BadZipFile, tarfile.TarError, NotImplementedError, OSError, ValueError, EOFError, RuntimeError,
          lzma.LZMAError, zlib.error)


class Refused(Exception):
    """Why the archive cannot be taken as scanned (settled: it is quarantined)."""


class OverBudget(Refused):
    """Past ``max_expanded_bytes``: not settled, it waits for the budget to be raised."""


class Fault(Refused):
    """A fault of the machine, not of the file (round 34): not settled, it waits and is retried."""

    def __init__(self, reason: str, kind: str = ""):
        super().__init__(reason)
        self.kind = kind  # the exception's type, for the log (its reason may quote the file's member names)


# round 34 review: only these errnos are the machine's; seeking a spooled temporary file to an offset the file
# chose raises EINVAL (a negative offset), and ESPIPE, EFBIG ... come from the file's numbers too: corrupt, settled
MACHINE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EMFILE, errno.ENFILE, errno.ENOMEM, errno.EIO})


def machine_fault(exc: BaseException) -> bool:
    """Whether ``exc`` is the machine's fault: a ``MemoryError``, or an ``OSError`` whose errno says disk full,
    quota, too many open files, out of memory or an I/O error. Any other ``OSError`` (none, or EINVAL from a seek
    to an offset the file chose) is the file's."""
    return isinstance(exc, MemoryError) or (isinstance(exc, OSError) and exc.errno in MACHINE_ERRNOS)


def fault_reason(where: str, exc: BaseException) -> str:
    code = errno.errorcode.get(getattr(exc, "errno", None) or 0, "")
    return (f"{where} could not be checked: {type(exc).__name__}{f' ({code})' if code else ''}, a fault of this "
            "machine, not of the file: it waits, pending, and is retried (retry_pending) once the machine is "
            "healthy: free disk space in the temporary directory, memory or open files")


@dataclass
class _Budget:
    limit: int
    cap: int  # the zip-bomb ratio's bound for this file
    size: int  # the file's own size
    max_ratio: int
    members_left: int
    expanded: int = 0
    member_limit: int | None = None  # what one file in it may expand to (the size limit): clamd skips a bigger one
    scan_limit: int | None = None  # what clamd reads of it: the file itself and all it expands to (MaxScanSize)
    unseen: list | None = None  # (where, bytes) decoded here that clamd does not decode itself (rtf.py): to scan
    parts: int = 0  # decoded parts walked (``carriers.MAX_PARTS``), all levels counted
    runs: int = 0  # RunLengthDecode runs decoded (``carriers.MAX_RUNS``), all streams counted
    shown: set = field(default_factory=set)  # digests of what ``unseen`` holds: each distinct part scanned once

    def left(self) -> int:
        """What may still be decompressed before a limit is passed."""
        bound = min(self.limit, self.cap, *(() if self.scan_limit is None else (self.scan_limit - self.size,)))
        return bound - self.expanded

    def count_member(self, total: int, where: str) -> None:
        if self.member_limit is not None and total > self.member_limit:
            raise OverBudget(f"{where} expands to more than {self.member_limit} bytes, the size limit of a file "
                             "(PROJECTX_EVIDENCE_MAX_BYTES): a virus scanner reads no more of one file in an archive "
                             "(clamd's MaxFileSize) and still answers OK: it waits, pending; send the files unpacked, "
                             "or raise the limit with clamd's MaxFileSize, MaxScanSize and StreamMaxLength")

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
        if self.scan_limit is not None and self.size + self.expanded > self.scan_limit:
            raise OverBudget(over_scan(f"{where} takes", self.scan_limit))


def over_scan(what: str, limit: int) -> str:
    """Why a file waits: past what clamd reads of it (``what``: "the file is", or a member and "takes")."""
    return (f"{what} more than {limit} bytes for the virus scanner to read, the file and all it expands to "
            "(PROJECTX_EVIDENCE_MAX_SCAN_BYTES, within clamd's MaxScanSize: clamd reads no more and answers "
            "OK): it waits, pending; send the files unpacked or in smaller archives, or raise both, clamd's first")


class _Counted(io.RawIOBase):
    """A decompressed (or extracted) stream, each byte read counted against the budget; a read that
    fails is the container ``name`` at ``where`` that does not open."""

    def __init__(self, stream, name: str, where: str, budget: _Budget):
        super().__init__()
        self.stream, self.name, self.where, self.budget = stream, name, where, budget
        self.total = 0  # this member's bytes so far

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        want = READ if size is None or size < 0 else min(size, READ)
        try:
            part = self.stream.read(want)
        except Refused:
            raise
        except Unread as exc:  # a stream clamd skips: it never saw those bytes
            raise Refused(f"{self.where} {exc}") from None
        except BROKEN as exc:
            raise _corrupt(self.name, self.where, exc) from None
        self.budget.count(len(part), self.where)
        self.total += len(part)
        self.budget.count_member(self.total, self.where)
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



def _head(stream) -> bytes:
    out = b""
    while len(out) < HEAD:
        part = stream.read(HEAD - len(out))
        if not part:
            break
        out += part
    return out




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


# zip compression methods clamd unpacks (its unzip: stored, deflate, deflate64, bzip2; LZMA, zstd, xz, PPMd,
# WavPack are skipped and the zip answered OK); deflate64 does not open here and is refused as corrupt anyway
SCANNED_METHODS = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, 9, zipfile.ZIP_BZIP2})
METHOD_NAMES = {zipfile.ZIP_LZMA: "LZMA", 93: "Zstandard", 95: "xz", 96: "JPEG", 97: "WavPack", 98: "PPMd"}


def _corrupt(name: str, where: str, exc: BaseException) -> Refused:
    if machine_fault(exc):  # the spool or the machine failed, not the archive (round 34)
        return Fault(fault_reason(where, exc), type(exc).__name__)
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
            except (ValueError, OSError) as exc:  # OSError: a seek of the spool on disk to a negative offset
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
                if info.compress_type not in SCANNED_METHODS:
                    method = METHOD_NAMES.get(info.compress_type, f"method {info.compress_type}")
                    raise Refused(f"{inner} is compressed with {method}, which the virus scanner does not unpack "
                                  "(ClamAV reads stored, deflate and bzip2 zip members and answers OK for the rest "
                                  "unread): send it again as an ordinary (deflate) zip")
                if longer_than_declared(source, start, info, budget.left()):
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
