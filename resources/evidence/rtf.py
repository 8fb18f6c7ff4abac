"""Objects embedded in an RTF document (round 33), which clamd does not decode.

An RTF carries an embedded object (``{\\object ... {\\*\\objdata <hex>}}``) as hex text, which Word decodes
and runs (an OLE1 ``Package`` holding a script is the classic lure) while clamd 1.4 reads the hex as text and
answers OK: an EICAR or a packaged ``.vbs`` in an ``\\objdata`` came back OK (measured with the tests' clamd).
Word reads the hex however it is split: by whitespace, control words (``\\par``), ignorable groups
(``{\\*\\x ...}``, skipped whole) and ``\\binN`` runs of raw bytes. ``objects`` decodes each ``\\objdata`` the
same way [unc: Word's exact tolerance of malformed hex; oletools' rtfobj documents the same tricks], tokenising
as Word does (a control word only after an even run of backslashes, up to 250 letters and a 250-digit
parameter, ``\\bin`` only as the whole word). What no editor writes in object data and Word's decoding of is a
guess (``\\'hh``, other control symbols, ``\\u``, an object inside an object) is refused as obfuscation. The OLE1
wrapper is opened (its native data, and a ``Package``'s file with its name) so that the innermost bytes are
what is walked and shown to clamd (``containers.problem``'s ``unseen``, scanned by the library).

Round 34: a picture's hex (``{\\pict ... <hex>}``), a ``{\\*\\datastore <hex>}`` and a ``\\themedata`` are decoded
the same way, walked and shown to clamd as they stand (an EICAR in them came back OK); a ``\\binN`` whose N runs past
the end of the file is refused (outside objects it made the checker skip the rest of the file, an object after it
unread).
"""

from __future__ import annotations

import binascii
import re
import struct
from collections.abc import Iterator

from resources.evidence.container_readers import Refused, _inside

# a control word outside objects that matters: ``\objdata`` (an object starts) or ``\binN`` (N raw bytes follow);
# it is one only after an even number of backslashes (``\\objdata`` is text), counted back by ``objects``
# round 34 review: the word's numeric parameter and one space are consumed as ``CONTROL`` does (``\pict1 <hex>`` fed
# the "1" into the hex, shifting every byte after it)
FOUND = re.compile(rb"\\(?:(objdata|pict|datastore|themedata)(?![a-zA-Z])(?:-?\d{1,250})? ?"
                   rb"|bin(?![a-zA-Z])(-?\d{1,250})? ?)")
# round 34: a picture's hex, a ``\datastore``'s (an OLE2 store of form data) and a ``\themedata``'s (a zip of the
# theme) are decoded by Word as an object's are, and clamd reads them as text (an EICAR in them: OK): decoded and
# shown to clamd too, each as it stands
KINDS = {b"objdata": "the embedded object", b"pict": "the picture", b"datastore": "the data store",
         b"themedata": "the theme data"}
SPECIAL = re.compile(rb"[\\{}]")
NOT_HEX = bytes(b for b in range(256) if b not in b"0123456789ABCDEFabcdef")  # deleted: bytes.translate
# Word's tokens: a control word of up to 250 letters (``\binf``, ``\binary`` are not ``\bin``), its parameter of
# up to 250 digits, one space eaten; a control symbol (``\'hh``, ``\~`` ...) [unc: Word's limits, from the spec]
CONTROL = re.compile(rb"\\(?:([a-zA-Z]{1,250})(-?\d{1,250})? ?|(')[0-9A-Fa-f]{0,2}|(.))", re.S)
MAX_TOKENS = 100_000  # control words and groups inside a file's objects, all objects counted
# A packaged file with one of these endings runs when opened from the document [unc: the list of what
# Windows runs on a double click; the usual lure types]
RUNS = (".bat", ".cmd", ".com", ".cpl", ".dll", ".exe", ".hta", ".inf", ".jar", ".js", ".jse", ".lnk", ".msi",
        ".msp", ".pif", ".ps1", ".psm1", ".reg", ".scf", ".scr", ".sct", ".sh", ".url", ".vb", ".vbe", ".vbs",
        ".ws", ".wsc", ".wsf", ".wsh", ".xll", ".application", ".appref-ms", ".iqy", ".settingcontent-ms",
        ".msc", ".gadget", ".ps1xml", ".psc1")


def is_rtf(head: bytes) -> bool:
    return head[:4] == b"{\\rt"  # Word takes ``{\rt`` as RTF, whatever follows [unc]


def objects(data, where: str) -> Iterator[tuple[str, bytes]]:
    """Each ``\\objdata`` of ``data`` (bytes or an mmap), decoded as Word reads it, opened down to its
    innermost bytes: ``(where it is, bytes)``. A ``Package`` holding a file that runs is refused."""
    tokens, at = [0], 0
    while (match := FOUND.search(data, at)) is not None:  # each byte decoded once: objects do not overlap
        start = run = match.start()
        while run > at and data[run - 1] == 0x5C:  # the backslashes before it, back to the last token's end
            run -= 1
        if (start - run) % 2:  # ``\\objdata``: an escaped backslash, then text
            at = start + 1
            continue
        _count(tokens, where)
        if match.group(1) is None:  # \binN outside objects: its raw bytes are no tokens (Word skips them)
            if match.group(2) and data[match.end() - 1] != 0x20 and data[match.end():match.end() + 1].isdigit():
                raise _obfuscated(f"byte {start} of {where}", "a \\bin parameter longer than Word reads")
            at = match.end() + _bin_count(data, match.end(), match.group(2), f"byte {start} of {where}")
            continue
        part = f"{KINDS[match.group(1)]} at byte {start} of {where}"
        decoded, at = _decode(data, match.end(), tokens, part, flat=match.group(1) != b"objdata")
        if decoded:
            yield _innermost(decoded, part) if match.group(1) == b"objdata" else (part, decoded)


def _bin_count(data, at: int, digits: bytes | None, part: str) -> int:
    """The N of a ``\\binN`` whose raw bytes start at ``at``: one running past the end of the file is refused (it
    would hide the rest of the file from the checks, round 34; no editor writes one [unc: what Word does then])."""
    count = max(0, int(digits or 0))
    if count > len(data) - at:
        raise _obfuscated(part, f"a \\bin of {str(count)[:20]} raw bytes, past the end of the file")
    return count


def _count(tokens: list[int], where: str) -> None:
    tokens[0] += 1
    if tokens[0] > MAX_TOKENS:
        raise Refused(f"{where} splits its embedded objects with more than {MAX_TOKENS} control words or groups "
                      "(obfuscation no editor writes), which a virus scanner does not decode: send the document "
                      "saved again as PDF or .docx")


def _obfuscated(part: str, what: str) -> Refused:
    return Refused(f"{part} writes its data with {what} (obfuscation no editor writes, which a virus scanner does "
                   "not decode): send the document saved again as PDF or .docx")


def _decode(data, at: int, tokens: list[int], part: str, flat: bool = False) -> tuple[bytes, int]:
    """The object's bytes from ``at`` (just after ``\\objdata``) to the end of its group, and where that is.
    Hex split by whitespace, control words, groups and ``\\bin`` runs is decoded; what Word's decoding of is not
    known (``\\'hh`` and other control symbols, an object in an object, over-long words) is refused. ``flat`` (a
    picture, a data store, theme data): hex at the group's own depth only; a nested group's text (``{\\sv 75}``,
    ``{\\blipuid ...}``) is no picture data (round 34 review) [unc: Word's reading, as the RTF spec says]."""
    out, hexed = bytearray(), bytearray()
    depth, skip = 1, 0  # skip: the depth of an ignorable group (``{\*...}``) being skipped, 0 for none
    end = len(data)
    while at < end:
        found = SPECIAL.search(data, at)
        stop = found.start() if found else end
        text = not skip and (not flat or depth == 1)  # this group's text is data
        if text and stop > at:
            hexed += bytes(data[at:stop]).translate(None, NOT_HEX)
        if found is None:
            at = end
            break
        _count(tokens, part)
        char = data[stop:stop + 1]
        if char == b"{":
            depth, at = depth + 1, stop + 1
            if not skip and data[at:at + 2] == b"\\*":
                skip, at = depth, at + 2
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
        word = control.group(1)
        if word is not None and control.group(0)[-1:] != b" " and (
                data[at:at + 1].isdigit() if control.group(2) else data[at:at + 1].isalpha()):
            raise _obfuscated(part, "a control word or parameter longer than Word reads")
        if word == b"objdata":
            raise _obfuscated(part, "an object inside an object")
        if text and word is None:
            raise _obfuscated(part, "\\'hh escapes" if control.group(3) else "control symbols")
        if text and (word in (b"u", b"uc") or (word == b"bin" and (control.group(2) or b"")[:1] == b"-")):
            raise _obfuscated(part, "Unicode escapes" if word != b"bin" else "a negative \\bin")  # text it eats [unc]
        if word == b"bin":  # \binN: N raw bytes follow, taken as they are
            count = _bin_count(data, at, control.group(2), part)
            if text:
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
    if names[0].strip().lower() != "package":  # Word matches the class name whatever its case [unc]
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
        temp = native[path_end + 9:temp_end].partition(b"\0")[0].decode("latin-1")
    except (ValueError, struct.error):
        return where, native
    shown = [name, path.rpartition("\\")[2], temp.rpartition("\\")[2]]
    at = temp_end + 4 + length
    for _ in range(3):  # the label, temp and source paths again in UTF-16 (what Word shows and saves as)
        try:
            (chars,) = struct.unpack_from("<I", native, at)
        except struct.error:
            break
        text = native[at + 4:at + 4 + min(chars, 4096) * 2].decode("utf-16-le", "replace")
        shown.append(text.partition("\0")[0].rpartition("\\")[2])
        at += 4 + chars * 2
    for each in shown:
        if runs(each):
            raise Refused(f"{where} packages {each[:80]!r}, a script or program that runs when the "
                          "document's icon is opened (a lure a virus scanner does not decode): send the document "
                          "without it, and the file on its own if it is evidence")
    return _inside(name or "a packaged file", where), payload


def runs(name: str) -> bool:
    """Whether a file named ``name`` runs when opened (Windows drops trailing dots, spaces and NULs)."""
    return name.lower().rstrip(" .\0\t\r\n").endswith(RUNS)
