"""What ClamAV cannot vouch for: archives it did not read whole.

clamd answers ``stream: OK`` for an archive whose content is past its own limits (``MaxScanSize``,
``MaxFileSize``, ``MaxRecursion``, ``MaxFiles``) or encrypted, unless ``AlertExceedsMax`` /
``AlertEncrypted`` are on (they are off by default, and the clamd in production is not configured
here): an EICAR after 150 MB of zeros in a 150 KB zip, or 20 zips deep, comes back ``OK``. So the
library opens every zip (docx, xlsx, jar ... included), gzip, bzip2, xz and tar itself, nested ones
too, and refuses what a scanner may have skipped:

- more than ``max_expanded_bytes`` once decompressed, all levels counted (a zip bomb: it is read
  as a stream and given up at the limit, never inflated whole);
- nested deeper than ``max_depth`` or with more than ``max_members`` members in all;
- an encrypted member, a compression method or a container that does not open;
- a member of a blocked type (an executable is refused in a zip as it is bare);
- an archive format it cannot open (7z, RAR, CAB, zstd ...): nobody can say what a scanner saw.

``problem(content, ...)`` is the reason (naming the fix) or None.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import tarfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass

import filetype

from resources.evidence.metadata import sniff_mime

READ = 1024 * 1024
UNOPENED = {"application/x-rar-compressed": "RAR", "application/x-7z-compressed": "7z",
            "application/vnd.ms-cab-compressed": "CAB", "application/zstd": "zstd", "application/x-lzip": "lzip",
            "application/x-lz4": "LZ4", "application/x-lzop": "lzop", "application/x-compress": "compress (.Z)",
            "application/x-rpm": "RPM", "application/x-deb": "Debian package",
            "application/x-unix-archive": "ar"}
STREAMS = {b"\x1f\x8b": ("gzip", lambda raw: gzip.GzipFile(fileobj=raw)), b"BZh": ("bzip2", bz2.BZ2File),
           b"\xfd7zXZ\x00": ("xz", lzma.LZMAFile)}


class Refused(Exception):
    """Why the archive cannot be taken as scanned."""


@dataclass
class _Budget:
    bytes_left: int
    members_left: int


def kind(content: bytes) -> str | None:
    """``zip``, ``tar``, ``gzip``, ``bzip2``, ``xz``, another archive's name, or None (not an archive)."""
    head = content[:8]
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08"):
        return "zip"
    for magic, (name, _) in STREAMS.items():
        if head.startswith(magic):
            return name
    if content[257:262] == b"ustar":
        return "tar"
    guess = filetype.guess(content[:8192]) if content else None
    return UNOPENED.get(guess.mime) if guess is not None else None


def problem(content: bytes, max_expanded_bytes: int, max_depth: int = 8, max_members: int = 10_000,
            blocked_types: Sequence[str] = ()) -> str | None:
    """Why ``content`` (an archive) cannot be taken as scanned whole, or None (also for a non-archive)."""
    if kind(content) is None:
        return None
    try:
        _walk(content, "the file", 1, _Budget(max_expanded_bytes, max_members), max_depth, tuple(blocked_types),
              max_expanded_bytes)
    except Refused as exc:
        return str(exc)
    return None


def _walk(content: bytes, where: str, depth: int, budget: _Budget, max_depth: int, blocked: tuple[str, ...],
          limit: int) -> None:
    name = kind(content)
    if name is None:
        mime = sniff_mime(content[:8192])
        if mime in blocked:
            raise Refused(f"{where} is {mime}, which is not accepted as evidence, inside an archive as on its "
                          "own: send the documents without it")
        return
    if depth > max_depth:
        raise Refused(f"{where} is archives nested more than {max_depth} deep, deeper than a virus scanner is "
                      "sure to read: send the innermost files instead")
    if name in ("zip", "tar"):
        for member, data in (_zip if name == "zip" else _tar)(content, where, budget, limit):
            _walk(data, member, depth + 1, budget, max_depth, blocked, limit)
    elif name in ("gzip", "bzip2", "xz"):
        opener = next(o for n, o in STREAMS.values() if n == name)
        try:
            data = _read(opener(io.BytesIO(content)), where, budget, limit)
        except (OSError, EOFError, lzma.LZMAError, ValueError) as exc:
            raise _corrupt(name, where, exc) from None
        _walk(data, f"{where} (decompressed)", depth + 1, budget, max_depth, blocked, limit)
    else:
        raise Refused(f"{where} is a {name} archive, which the library cannot open to check that the virus "
                      "scanner read all of it: send the files as a zip or tar, or each on its own")


def _read(stream, where: str, budget: _Budget, limit: int) -> bytes:
    """All of ``stream``, counted against the budget; refused at the limit, never read past it."""
    out = io.BytesIO()
    with stream:
        while True:
            part = stream.read(min(READ, budget.bytes_left + 1))
            if not part:
                return out.getvalue()
            budget.bytes_left -= len(part)
            if budget.bytes_left < 0:
                raise Refused(f"{where} expands to more than {limit} bytes (PROJECTX_EVIDENCE_MAX_EXPANDED_BYTES), "
                              "more than a virus scanner is sure to read (a zip bomb?): send the files unpacked, "
                              "or in smaller archives")
            out.write(part)


def _member(budget: _Budget, where: str, max_members_hint: str) -> None:
    budget.members_left -= 1
    if budget.members_left < 0:
        raise Refused(f"{where} holds more than {max_members_hint} files in all, more than a virus scanner is sure "
                      "to read: send them in smaller archives")


def _corrupt(name: str, where: str, exc: BaseException) -> Refused:
    return Refused(f"{where} is a {name} archive that does not open ({type(exc).__name__}: {str(exc)[:120]}), so "
                   "nothing can say the virus scanner read it: send it again whole")


def _zip(content: bytes, where: str, budget: _Budget, limit: int):
    total = budget.members_left
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
        infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise _corrupt("zip", where, exc) from None
    with archive:
        for info in infos:
            if info.is_dir():
                continue
            inner = f"{info.filename!r} in {where}"
            _member(budget, inner, str(total))
            if info.flag_bits & 0x1:
                raise Refused(f"{inner} is encrypted: a virus scanner cannot read it; send it unencrypted")
            try:
                data = _read(archive.open(info), inner, budget, limit)
            except Refused:
                raise
            except (zipfile.BadZipFile, NotImplementedError, OSError, ValueError, EOFError, RuntimeError,
                    lzma.LZMAError) as exc:
                raise _corrupt("zip", inner, exc) from None
            yield inner, data


def _tar(content: bytes, where: str, budget: _Budget, limit: int):
    total = budget.members_left
    try:
        with tarfile.open(fileobj=io.BytesIO(content), mode="r:") as archive:
            for info in archive:
                if not info.isfile():
                    continue
                inner = f"{info.name!r} in {where}"
                _member(budget, inner, str(total))
                extracted = archive.extractfile(info)
                if extracted is not None:
                    yield inner, _read(extracted, inner, budget, limit)
    except (tarfile.TarError, OSError, ValueError, EOFError) as exc:
        raise _corrupt("tar", where, exc) from None
