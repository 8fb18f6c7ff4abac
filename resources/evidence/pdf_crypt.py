"""Encrypted PDFs (round 33).

A PDF encrypted with an empty user password opens in any viewer without a prompt, and clamd decrypts it and scans
its streams; but ``carriers._pdf_streams`` read the ciphertext, which does not inflate, so what clamd reads only
within its limits (an LZMA zip, a second bzip2 stream, a zip bomb in a stream) came back OK and was stored
clean (measured with the tests' clamd, RC4 and AES alike). ``streams`` decrypts each stream with pypdf (which
tries the empty password when it opens a file) and hands its bytes, still filtered, to the same decoders as an
unencrypted PDF's, every byte counted against the same budget; a stream without filters that holds zip entries
is walked as it is (clamd reads the decrypted bytes; in an unencrypted file the library finds them in place).

A PDF that needs a real password to open cannot be read by anyone but its owner: clamd answers OK for its
ciphertext unread. It is refused (quarantined) with the reason, as an encrypted zip member is: send it without
the password. pypdf does not inflate anything here (``_data`` is the raw stream), so a crafted PDF costs what
parsing its cross-reference table does, with at most ``MAX_OBJECTS`` objects read: a file whose cross-reference
sections declare more (``/Size``, ``/Index``, a table's subsection) is refused before pypdf reads it (a 20 KB xref
stream declaring 2,000,000 objects cost pypdf 24 s), entries sharing an offset are read once, and every decrypted
byte counts against the budget. ``/Encrypt`` is looked for however the name is written (``#hh``, comments).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator

from resources.evidence.container_readers import Refused, _Budget, machine_fault
from resources.evidence.layout import find_local


def _name(word: str) -> bytes:
    """A regex for the PDF name ``/word`` however it is written (each character as itself or ``#hh``)."""
    def char(c: str) -> bytes:
        hexed = b"".join(b"[%s%s]" % (d.lower().encode(), d.upper().encode()) if d.isalpha() else d.encode()
                         for d in f"{ord(c):02x}")
        return b"(?:%s|#%s)" % (re.escape(c.encode()), hexed)
    return b"/" + b"".join(char(c) for c in word)


GAP = rb"(?:\s|%[^\r\n]*[\r\n])*"  # whitespace and comments, as between any two PDF tokens
# the /Encrypt entry however written, with its value (a reference or a dictionary): a mention in a page's text is none
ENCRYPT = re.compile(_name("Encrypt") + GAP + rb"(?:\d+" + GAP + rb"\d+" + GAP + rb"R|<<)")
# object counts a cross-reference section declares: a trailer's or an xref stream's /Size, a table's subsection
# (signs and leading zeros read as PDF reads numbers; an /Index counted in all)
SIZE = re.compile(_name("Size") + GAP + rb"([+-]?\d+)|" + _name("Index") + GAP + rb"\[([\d\s+-]{0,20000})|"
                  rb"\bxref" + GAP + rb"\d+[ \t]+([+-]?\d+)")
MAX_OBJECTS = 50_000  # each read and decrypted by pypdf (~1 ms): a crafted file costs under a minute [unc]


def encrypted(data) -> bool:
    """Whether ``data`` (a PDF, bytes or an mmap) names an ``/Encrypt`` dictionary (confirmed by ``streams``)."""
    return ENCRYPT.search(data) is not None


def streams(data, where: str, budget: _Budget) -> Iterator[tuple[str, io.RawIOBase]] | None:
    """The decrypted streams of an encrypted PDF as ``carriers.walk`` takes them, or None when pypdf finds no
    encryption (the file is read as an unencrypted PDF). Refused when the PDF needs a password."""
    from pypdf import PasswordType, PdfReader

    for found in SIZE.finditer(data):  # pypdf's cost follows what the file declares: bounded before it is asked
        counts = found.group(2).split()[1::2] if found.group(2) is not None else [found.group(1) or found.group(3)]
        try:
            declared = sum(abs(int(n)) for n in counts)
        except ValueError:  # more digits than a number has (or a sign alone): no count a real PDF declares
            declared = MAX_OBJECTS + 1
        if declared > MAX_OBJECTS:
            raise Refused(f"{where} is an encrypted PDF of more than {MAX_OBJECTS} objects (its cross-reference "
                          "section says so), more than the library decrypts to check it: send it without encryption")
    try:
        reader = PdfReader(io.BytesIO(bytes(data)), strict=False, xref_stream_maximum_entries=MAX_OBJECTS)
        if not reader.is_encrypted:
            return None
    except Exception as exc:  # a file pypdf cannot parse: nobody here can tell what it holds
        if machine_fault(exc):  # out of memory: no verdict on the file, it waits (round 34)
            raise
        raise Refused(f"{where} names PDF encryption but could not be parsed (damaged, or built to break "
                      "readers): send it saved again without encryption") from None
    try:
        opened = reader.decrypt("") != PasswordType.NOT_DECRYPTED
    except Exception as exc:  # an /Encrypt pypdf cannot use (damaged, an unknown handler)
        if machine_fault(exc):
            raise
        opened = False
    if not opened:
        raise Refused(f"{where} is a PDF encrypted with a password (or with an encryption nothing here opens): a "
                      "virus scanner cannot read it and answers OK unread: send it without the password (print or "
                      "save it again unprotected)")
    return _decrypted(reader, data, where, budget)


def _decrypted(reader, data, where: str, budget: _Budget) -> Iterator[tuple[str, io.RawIOBase]]:
    from pypdf.generic import IndirectObject, NameObject, StreamObject

    from resources.evidence.carriers import NAMES, _decoded, decodable

    refs = [(num, gen) for gen, nums in reader.xref.items() for num in nums]
    if len(refs) > MAX_OBJECTS:
        raise Refused(f"{where} is an encrypted PDF of more than {MAX_OBJECTS} objects, more than the library "
                      "decrypts to check it: send it without encryption")
    read: set[int] = set()
    for num, gen in refs:
        offset = reader.xref[gen][num]
        if offset in read:  # entries pointing at one object: read (and decrypted) once
            continue
        read.add(offset)
        try:
            obj = reader.get_object(IndirectObject(num, gen, reader))
        except Exception as exc:  # a damaged object (common, the scanner skips it too), or plain bytes pypdf decrypted
            if machine_fault(exc):  # out of memory: the stream would go unchecked, the file stored (round 34)
                raise
            if (plain := _identity(data, offset, where, budget)) is not None:  # (a crypt filter of its own)
                yield plain
            continue
        if not isinstance(obj, StreamObject) or obj.get("/Type") == "/XRef":
            continue
        raw = obj._data  # decrypted, still filtered: nothing inflated by pypdf
        named = obj.get("/Filter")  # a reference resolved, and each in an array (second review: [None], skipped)
        named = named.get_object() if isinstance(named, IndirectObject) else named
        items = [n.get_object() if isinstance(n, IndirectObject) else n
                 for n in (named if isinstance(named, list) else [named] if named is not None else [])]
        if not all(isinstance(n, NameObject) for n in items):  # a reference to nothing, or no name: unread
            raise Refused(f"the PDF stream of object {num} of {where} has a /Filter that is no filter name (a "
                          "reference that does not resolve: obfuscation no PDF writer produces): send the PDF saved "
                          "again (printed to PDF)")
        names = [str(n) for n in items]
        versions = [raw] if isinstance(raw, bytes) and raw else []
        if "/Crypt" in names:  # a crypt filter of its own (``/Identity``: not encrypted), which pypdf does not
            names = [n for n in names if n != "/Crypt"]  # tell apart: the file's bytes are walked too [unc]
            versions.append(_in_file(data, offset, budget))
        part = f"the PDF stream of object {num} of {where}"
        chain = [NAMES.get(n.lstrip("/").encode()) for n in names]
        for version in versions:
            budget.count(len(version), part)  # decrypted (or copied): bytes the library made, as a decoded part's
            if (walked := decodable(chain, part)) is None:
                if not chain and find_local(version) >= 0:  # zip entries in the decrypted bytes, which clamd reads
                    yield part, io.BytesIO(version)  # (in an unencrypted PDF they are found in place: a polyglot)
                continue
            stream = _decoded(version, 0, walked, part, budget)
            if stream is not None:
                yield part, stream


def _in_file(data, offset: int, budget: _Budget) -> bytes:
    """The stream's bytes as the file holds them (from ``stream`` to ``endstream``, at most what the budget
    leaves), undecrypted (pypdf drops ``/Length``)."""
    from resources.evidence.carriers import STREAM

    found = STREAM.search(data, offset, min(len(data), offset + 65536))
    if found is None:
        return b""
    left = max(0, budget.left())
    stop = data.find(b"endstream", found.end(), found.end() + left + 9)
    held = bytes(data[found.end():stop if stop >= 0 else found.end() + left])
    return held.removesuffix(b"\n").removesuffix(b"\r") if stop >= 0 else held


def _identity(data, offset: int, where: str, budget: _Budget) -> tuple[str, io.RawIOBase] | None:
    """A stream pypdf failed to decrypt whose filters name ``/Crypt``: its bytes as the file holds them."""
    from resources.evidence.carriers import FILTER, NAMES, STREAM, _decoded, decodable

    found = STREAM.search(data, offset, min(len(data), offset + 4096))
    named = FILTER.search(bytes(data[offset:found.start()])) if found else None
    if named is None or b"/Crypt" not in named.group(1):
        return None
    chain = [NAMES.get(n) for n in re.findall(rb"/(\w+)", named.group(1)) if n != b"Crypt"]
    part = f"the PDF stream at byte {offset} of {where}"
    if (walked := decodable(chain, part)) is None:
        return None
    plain = _in_file(data, offset, budget)
    budget.count(len(plain), part)
    stream = _decoded(plain, 0, walked, part, budget)
    return None if stream is None else (part, stream)
