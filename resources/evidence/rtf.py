"""Objects embedded in an RTF document (round 33), which clamd does not decode.

An RTF carries an embedded object (``{\\object ... {\\*\\objdata <hex>}}``) as hex text, which Word decodes
and runs (an OLE1 ``Package`` holding a script is the classic lure) while clamd 1.4 reads the hex as text and
answers OK: an EICAR or a packaged ``.vbs`` in an ``\\objdata`` came back OK (measured with the tests' clamd).
Word reads the hex however it is split: by whitespace, control words (``\\par``, ``\\'41``), ignorable groups
(``{\\*\\x ...}``, skipped whole) and ``\\binN`` runs of raw bytes. ``objects`` decodes each ``\\objdata`` the
same way [unc: Word's exact tolerance of malformed hex; oletools' rtfobj documents the same tricks]; the OLE1
wrapper is opened (its native data, and a ``Package``'s file with its name) so that the innermost bytes are
what is walked and shown to clamd (``containers.problem``'s ``unseen``, scanned by the library).

Cost: the text between control tokens is stripped at C speed; the tokens themselves are counted and a file
with more than ``MAX_TOKENS`` of them inside its objects (obfuscation no editor writes: Word puts none) is
refused, so a crafted file cannot make the decoder loop in Python for long. Every decoded byte is counted
against the same budget (expansion, scan budget) as an archive's members by the caller.
"""

from __future__ import annotations

import binascii
import re
import struct
from collections.abc import Iterator

from resources.evidence.container_readers import Refused, _inside

OBJDATA = re.compile(rb"\\objdata(?![a-zA-Z])")
SPECIAL = re.compile(rb"[\\{}]")
NOT_HEX = bytes(b for b in range(256) if b not in b"0123456789ABCDEFabcdef")  # deleted: bytes.translate
CONTROL = re.compile(rb"\\(?:(bin)(-?\d{0,10}) ?|([a-zA-Z]{1,32})(-?\d{0,10}) ?|'[0-9A-Fa-f]{0,2}|.)", re.S)
MAX_TOKENS = 100_000  # control words and groups inside a file's objects, all objects counted
# A packaged file with one of these endings runs when opened from the document [unc: the list of what
# Windows runs on a double click; the usual lure types]
RUNS = (".bat", ".cmd", ".com", ".cpl", ".dll", ".exe", ".hta", ".inf", ".jar", ".js", ".jse", ".lnk", ".msi",
        ".msp", ".pif", ".ps1", ".psm1", ".reg", ".scf", ".scr", ".sct", ".sh", ".url", ".vb", ".vbe", ".vbs",
        ".ws", ".wsc", ".wsf", ".wsh", ".xll", ".application", ".appref-ms", ".iqy", ".settingcontent-ms")


def is_rtf(head: bytes) -> bool:
    return head[:4] == b"{\\rt"  # Word takes ``{\rt`` as RTF, whatever follows [unc]


def objects(data, where: str) -> Iterator[tuple[str, bytes]]:
    """Each ``\\objdata`` of ``data`` (bytes or an mmap), decoded as Word reads it, opened down to its
    innermost bytes: ``(where it is, bytes)``. A ``Package`` holding a file that runs is refused."""
    tokens, at = [0], 0
    while (match := OBJDATA.search(data, at)) is not None:  # each byte decoded once: objects do not overlap
        decoded, at = _decode(data, match.end(), tokens, where)
        if decoded:
            yield _innermost(decoded, f"the embedded object at byte {match.start()} of {where}")


def _decode(data, at: int, tokens: list[int], where: str) -> tuple[bytes, int]:
    """The object's bytes from ``at`` (just after ``\\objdata``) to the end of its group, and where that is."""
    out, hexed = bytearray(), bytearray()
    depth, skip = 1, 0  # skip: the depth of an ignorable group (``{\*...}``) being skipped, 0 for none
    end = len(data)
    while at < end:
        found = SPECIAL.search(data, at)
        stop = found.start() if found else end
        if not skip and stop > at:
            hexed += bytes(data[at:stop]).translate(None, NOT_HEX)
        if found is None:
            at = end
            break
        tokens[0] += 1
        if tokens[0] > MAX_TOKENS:
            raise Refused(f"{where} splits its embedded objects with more than {MAX_TOKENS} control words or groups "
                          "(obfuscation no editor writes), which a virus scanner does not decode: send the document "
                          "saved again as PDF or .docx")
        char = data[stop:stop + 1]
        if char == b"{":
            depth, at = depth + 1, stop + 1
            if not skip and data[at:at + 2] == b"\\*":
                skip = depth
            continue
        if char == b"}":
            depth, at = depth - 1, stop + 1
            if skip and depth < skip:
                skip = 0
            if depth == 0:
                break
            continue
        control = CONTROL.match(data, stop)
        if control is None:  # a backslash at the very end
            at = end
            break
        at = control.end()
        if control.group(1):  # \binN: N raw bytes follow, taken as they are
            count = max(0, int(control.group(2))) if control.group(2) not in (b"", b"-") else 0
            if not skip:
                out += _unhex(hexed)
                hexed = bytearray()
                out += data[at:at + count]
            at += count
    return bytes(out + _unhex(hexed)), at


def _unhex(hexed: bytearray) -> bytes:
    return binascii.unhexlify(hexed[:len(hexed) - len(hexed) % 2])  # a dangling digit is dropped


def _innermost(obj: bytes, where: str) -> tuple[str, bytes]:
    """An OLE1 object's native data (a ``Package``'s file, by its name), or the bytes as they are."""
    try:
        version, format_id = struct.unpack_from("<II", obj, 0)
        if version & 0xFFFF0000 or format_id != 2:  # not an embedded OLE1 object: clamd gets the bytes whole
            return where, obj
        at = 8
        names = []
        for _ in range(3):  # class name, topic, item: length-prefixed strings
            (size,) = struct.unpack_from("<I", obj, at)
            if size > 4096:
                return where, obj
            names.append(obj[at + 4:at + 4 + size].rstrip(b"\0").decode("latin-1"))
            at += 4 + size
        (size,) = struct.unpack_from("<I", obj, at)
        native = obj[at + 4:at + 4 + size]
    except struct.error:
        return where, obj
    if names[0] != "Package":
        return f"the {names[0][:40]!r} object{where.removeprefix('the embedded object')}", native
    return _package(native, where)


def _package(native: bytes, where: str) -> tuple[str, bytes]:
    """The file an OLE ``Package`` object carries and its name; one that runs when opened is refused."""
    try:
        label_end = native.index(b"\0", 2)
        path_end = native.index(b"\0", label_end + 1)
        (kind,) = struct.unpack_from("<H", native, path_end + 3)
        if kind != 3:  # a link to a file, not a file: nothing embedded
            return where, native
        (size,) = struct.unpack_from("<I", native, path_end + 5)
        temp_end = path_end + 9 + size
        (length,) = struct.unpack_from("<I", native, temp_end)
        payload = native[temp_end + 4:temp_end + 4 + length]
        name = native[2:label_end].decode("latin-1")
        path = native[label_end + 1:path_end].decode("latin-1")
    except (ValueError, struct.error):
        return where, native
    for shown in (name, path.rpartition("\\")[2]):
        if shown.strip().lower().rstrip(". ").endswith(RUNS):
            raise Refused(f"{where} packages {shown[:80]!r}, a script or program that runs when the "
                          "document's icon is opened (a lure a virus scanner does not decode): send the document "
                          "without it, and the file on its own if it is evidence")
    return _inside(name or "a packaged file", where), payload
