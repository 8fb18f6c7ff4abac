"""Archive layouts Python's readers take differently from clamd (used by ``containers.py``).

clamd finds a zip by its local headers and its end record wherever they are, and inflates a member to
the end of its data; ``zipfile`` reads only what the central directory lists, up to the sizes it
declares. So, unless checked, a zip could hide from the library what clamd reads within its own limits
only (a zip bomb, archives nested past its recursion):

- a zip appended to another file (a PDF/zip polyglot, text then a zip): ``zip_at_end``; or inside it,
  with more of the document after it (a zip in the middle of a PDF or PNG, which clamd finds by its
  local headers): ``zip_end`` (the last zip end record anywhere) and ``find_local`` / ``LocalScan``
  (a plausible local entry header anywhere, in memory or in a stream);
- a zip holding data its central directory does not list (a zip before another, a local entry with no
  directory entry): ``data_starts`` is None;
- a stored or deflated member longer than its declared size (``zipfile`` stops there, with a CRC of
  that much): ``longer_than_declared``;
- a pre-POSIX (V7) tar, which has no ``ustar`` magic: ``v7_tar``; what follows a tar's end is read
  through a ``Recorder`` (``tarfile`` buffers past it);
- data after a bzip2 or xz stream, which ``BZ2File`` / ``LZMAFile`` ignore: ``Strict`` reads them;
- streams clamd does not read (measured with clamd 1.4, round 32): it decompresses only the first stream of
  a bzip2 file (``pbzip2``'s concatenated streams included) and a gzip member that follows zero padding is
  not read either (``GzipFile`` skips the padding and reads on): ``Strict`` raises ``Unread`` for both
  (xz: clamd reads every stream, padding or not).

An OLE2 compound file (``ole2``: an Outlook .msg, a legacy .doc/.xls/.ppt, an ``oleObject*.bin`` in a
.docx) is not such a polyglot: it stores embedded Office files (.docx, .xlsx: zips) as they are, in its
streams, often several, with no zip directory over them. ``zips_in`` finds each zip stored whole and
contiguous in it, which ``containers.py`` walks on its own; ``held`` keeps an OLE2 member readable whole
(in memory up to ``SPOOL``, else a temporary file mapped).
"""

from __future__ import annotations

import bz2
import io
import lzma
import mmap
import tempfile
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

READ = 1024 * 1024
TAIL = 65536 + 22  # where a zip's end record (and its comment) is looked for
LOCAL, CENTRAL, EOCD = b"PK\x03\x04", b"PK\x01\x02", b"PK\x05\x06"
OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
SPOOL = 8 * 1024 * 1024


def v7_tar(head: bytes) -> bool:
    """A pre-POSIX (V7) tar header: a name and a header checksum that adds up (what ``tarfile`` and clamd
    go by)."""
    if len(head) < 512 or head[0] == 0:
        return False
    field = head[148:156].split(b"\0")[0].strip()
    if not field or any(c not in b"01234567" for c in field):
        return False
    block = head[:148] + b" " * 8 + head[156:512]
    return int(field, 8) in (sum(block), sum(b - 256 if b > 127 else b for b in block))


def zip_at_end(data: bytes) -> bool:
    """``data`` (a whole file, or a member's last ``TAIL`` bytes) ends with a zip: an end record in its
    last ``TAIL`` bytes whose central directory (``cd_size`` bytes before it) starts where it says, so a
    stray signature in an image is not taken for a zip. One whose directory is not within ``data`` (a
    member's zip of more than ~64 KiB of directory) is not seen here."""
    base = max(0, len(data) - TAIL)
    at = data.rfind(EOCD, base)
    while at >= 0:
        if at + 22 <= len(data):
            begin = at - int.from_bytes(data[at + 12:at + 16], "little")
            if 0 <= begin < at and data[begin:begin + 4] == CENTRAL:
                return True
        at = data.rfind(EOCD, base, at)
    return False


METHODS = frozenset({0, 1, 6, 8, 9, 12, 14, 19, 93, 95, 96, 97, 98, 99})  # compression methods APPNOTE names


def plausible_local(data: bytes, at: int) -> bool:
    """A zip local entry header at ``at``: the signature, a version needed up to 6.3, a known compression
    method and a name (what clamd reads an entry by), so four stray bytes in an image are not taken for
    one (about one chance in 10^14 per position)."""
    head = data[at:at + 30]
    return (len(head) == 30 and head[:4] == LOCAL and head[4] <= 63
            and int.from_bytes(head[8:10], "little") in METHODS and 0 < int.from_bytes(head[26:28], "little") <= 4096)


def find_local(data: bytes, start: int = 0) -> int:
    """Where the first plausible local entry header at or after ``start`` is, or -1."""
    at = data.find(LOCAL, start)
    while at >= 0 and not plausible_local(data, at):
        at = data.find(LOCAL, at + 1)
    return at


class LocalScan:
    """``find_local`` over a stream read in pieces (``feed`` each): ``found`` once a header was seen."""

    def __init__(self) -> None:
        self.carry, self.found = b"", False

    def feed(self, part: bytes) -> None:
        if self.found or not part:
            return
        data = self.carry + part
        self.found = find_local(data) >= 0
        self.carry = data[-29:]  # a header cut at the piece's end is read whole with the next piece


def zip_end(data: bytes) -> int | None:
    """Where the last zip in ``data`` ends (past its end record and comment), wherever it is: an end
    record whose central directory starts where it says (as ``zip_at_end``, over the whole file); None
    when there is none."""
    at = data.rfind(EOCD)
    while at >= 0:
        if at + 22 <= len(data):
            begin = at - int.from_bytes(data[at + 12:at + 16], "little")
            if 0 <= begin < at and data[begin:begin + 4] == CENTRAL:
                return min(len(data), at + 22 + int.from_bytes(data[at + 20:at + 22], "little"))
        at = data.rfind(EOCD, 0, at)
    return None


def ole2(head: bytes) -> bool:
    """An OLE2 compound file's header: its magic, the little-endian byte order mark and a sector size of
    512 or 4096 bytes (what any OLE2 reader checks first), so eight bytes alone do not make one."""
    return (len(head) >= 512 and head[:8] == OLE2 and head[28:30] == b"\xfe\xff"
            and head[30:32] in (b"\x09\x00", b"\x0c\x00"))


def zips_in(data) -> list[tuple[int, int]]:
    """The zips stored whole and contiguous in ``data`` (bytes or an mmap), last first, as ``(start, end)``:
    an end record whose central directory starts where it says, with a local header where the directory
    says the zip starts. A zip inside another one found (a stored member) is left to that one's walk; a
    zip split across an OLE2 file's sectors, or a zip64, is not found here."""
    out: list[tuple[int, int]] = []
    at = data.rfind(EOCD)
    while at >= 0:
        if at + 22 <= len(data):
            begin = at - int.from_bytes(data[at + 12:at + 16], "little")
            start = begin - int.from_bytes(data[at + 16:at + 20], "little")
            if 0 <= start <= begin < at and data[begin:begin + 4] == CENTRAL and data[start:start + 4] == LOCAL:
                end = min(len(data), at + 22 + int.from_bytes(data[at + 20:at + 22], "little"))
                if not any(s <= start and end <= e for s, e in out):
                    out.append((start, end))
        at = data.rfind(EOCD, 0, at)
    return out


@contextmanager
def held(head: bytes, stream) -> Iterator[bytes | mmap.mmap]:
    """``head`` and the rest of ``stream``, readable whole: bytes up to ``SPOOL``, past it a temporary
    file, mapped (read only)."""
    data = bytearray(head)
    while len(data) <= SPOOL and (part := stream.read(READ)):
        data += part
    if len(data) <= SPOOL:
        yield bytes(data)
        return
    with tempfile.TemporaryFile() as spill:
        spill.write(data)
        del data
        while part := stream.read(READ):
            spill.write(part)
        spill.flush()
        with mmap.mmap(spill.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
            yield mapped


def data_starts(source, start_dir: int, infos: Sequence[zipfile.ZipInfo]) -> list[int] | None:
    """Where each member's data starts in ``source``; None when a byte before the central directory
    (``start_dir``) that no listed member covers holds a local header's signature (a zip or member the
    directory does not list); ``ValueError`` when a member's local header is not where it is listed."""
    starts, covered = [], []
    for info in infos:
        source.seek(info.header_offset)
        local = source.read(30)
        if len(local) < 30 or local[:4] != LOCAL:
            raise ValueError(f"no local header for {info.filename[:100]!r} at offset {info.header_offset}")
        start = info.header_offset + 30 + int.from_bytes(local[26:28], "little") + int.from_bytes(local[28:30],
                                                                                                   "little")
        starts.append(start)
        covered.append((info.header_offset, start + info.compress_size))
    at = 0
    for begin, end in [*sorted(covered), (start_dir, start_dir)]:
        if begin > at:
            source.seek(at)
            carry = b""
            while at < begin:
                part = source.read(min(READ, begin - at))
                if not part:
                    break
                at += len(part)
                if LOCAL in carry + part:
                    return None
                carry = part[-3:]
        at = max(at, end)
    return starts


def longer_than_declared(source, start: int, info: zipfile.ZipInfo, bound: int) -> bool:
    """A stored, deflated or bzip2 member with more data than its declared ``file_size``. A deflated one is
    inflated here, counting, to one byte past its declared size; not when that is past ``bound`` (what
    the budget has left: the read that follows stops it). Data that does not inflate is left to that
    read (a corrupt zip); other methods are not checked."""
    if info.flag_bits & 0x1:
        return False  # encrypted: refused as such
    if info.compress_type == zipfile.ZIP_STORED:
        return info.compress_size > info.file_size
    if info.compress_type == zipfile.ZIP_BZIP2 and info.file_size <= bound:
        return _bzip2_more(source, start, info)
    if info.compress_type != zipfile.ZIP_DEFLATED or info.file_size > bound:
        return False
    inflate, out, left = zlib.decompressobj(-15), 0, info.compress_size
    source.seek(start)
    try:
        while left > 0 and not inflate.eof:
            data = source.read(min(READ, left))
            if not data:
                return False
            left -= len(data)
            while data and not inflate.eof:
                out += len(inflate.decompress(data, READ))
                data = inflate.unconsumed_tail
                if out > info.file_size:
                    return True
    except zlib.error:
        return False
    return False


def _bzip2_more(source, start: int, info: zipfile.ZipInfo) -> bool:
    """A bzip2 member with more than its declared size, or with data after its first stream's end (round 32):
    ``zipfile`` and clamd read only that first stream; a second one (an EICAR in it) was never read by either."""
    dec, out, left = bz2.BZ2Decompressor(), 0, info.compress_size
    source.seek(start)
    try:
        while left > 0:
            data = source.read(min(READ, left))
            if not data:
                return False
            left -= len(data)
            if dec.eof:
                if data.strip(b"\0"):
                    return True
                continue
            out += len(dec.decompress(data, READ))
            while not dec.eof and not dec.needs_input:
                out += len(dec.decompress(b"", READ))
                if out > info.file_size:
                    return True
            if out > info.file_size or (dec.eof and dec.unused_data.strip(b"\0")):
                return True
    except (OSError, EOFError, ValueError):
        return False  # damaged: left to the read that follows
    return False


class Recorder(io.RawIOBase):
    """``stream``, counting the bytes read and keeping the last ``KEEP`` (what ``tarfile`` buffered)."""

    KEEP = 65536

    def __init__(self, stream):
        super().__init__()
        self.stream, self.total, self.tail = stream, 0, b""

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        part = self.stream.read(READ if size is None or size < 0 else size)
        self.total += len(part)
        self.tail = (self.tail + part)[-self.KEEP:]
        return part

    def readinto(self, buffer) -> int:
        part = self.read(len(buffer))
        buffer[:len(part)] = part
        return len(part)


class Unread(Exception):
    """A compressed stream the virus scanner does not read follows the first one (the message says which)."""


class GzipDecoder:
    """zlib's gzip decoder (header, CRC32 and size checked) with the bz2 / lzma decompressors' interface."""

    def __init__(self) -> None:
        self._dec = zlib.decompressobj(31)
        self.needs_input = True

    @property
    def eof(self) -> bool:
        return self._dec.eof

    @property
    def unused_data(self) -> bytes:
        return self._dec.unused_data

    def decompress(self, data: bytes, max_length: int = -1) -> bytes:
        dec = self._dec
        out = dec.decompress(dec.unconsumed_tail + data, max(max_length, 0))
        self.needs_input = not dec.eof and not dec.unconsumed_tail and (max_length < 0 or len(out) < max_length)
        return out


class Strict(io.RawIOBase):
    """A gzip, bzip2 or xz stream decompressed: anything but zero padding or a stream the virus scanner reads
    after the first is an error: ``ValueError`` for data that is not a stream (``BZ2File`` / ``LZMAFile``
    ignore it, clamd may read it: a zip after an xz was never checked), ``Unread`` for a stream clamd skips
    (``follow``: ``"any"`` for xz, ``"adjacent"`` for gzip, whose members clamd reads only while no padding
    separates them, ``"none"`` for bzip2, of which it reads the first stream only), and a stream cut short
    ``EOFError``."""

    def __init__(self, raw, factory, follow: str = "any", name: str = "compressed"):
        super().__init__()
        self.raw, self.factory, self.dec, self.follow, self.name = raw, factory, factory(), follow, name

    def readable(self) -> bool:
        return True

    def _next(self, padded: bool) -> None:
        if self.follow == "none":
            raise Unread(f"holds more than one {self.name} stream, and a virus scanner reads only the first (the "
                         "rest is never scanned): decompress it and compress it again as one stream (bzip2, not "
                         "pbzip2), or send the files as a zip")
        if self.follow == "adjacent" and padded:
            raise Unread(f"holds a {self.name} member after zero padding, which a virus scanner does not read "
                         "(it stops at the padding): decompress it and compress it again (gzip), or send the "
                         "files as a zip")

    def read(self, size: int = -1) -> bytes:
        want = READ if size is None or size < 0 else min(size, READ)
        while True:
            if self.dec.eof:  # the next stream, past any zero padding, or the end
                data = self.dec.unused_data
                rest = data.lstrip(b"\0")
                padded = len(rest) < len(data)
                while not rest:
                    data = self.raw.read(READ)
                    if not data:
                        return b""
                    rest = data.lstrip(b"\0")
                    padded = padded or len(rest) < len(data)
                self.dec = self.factory()
                try:
                    out = self.dec.decompress(rest, want)
                except (OSError, lzma.LZMAError, zlib.error):
                    raise ValueError("data after the end of its compressed stream, which is not another "
                                     "stream") from None
                self._next(padded)  # another stream indeed: one the scanner reads?
            elif self.dec.needs_input:
                data = self.raw.read(READ)
                if not data:
                    raise EOFError("the compressed stream ends before its end marker")
                out = self.dec.decompress(data, want)
            else:
                out = self.dec.decompress(b"", want)
            if out:
                return out

    def readinto(self, buffer) -> int:
        part = self.read(len(buffer))
        buffer[:len(part)] = part
        return len(part)
