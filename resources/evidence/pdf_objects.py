"""A PDF stream's ``/Filter`` read as a reader reads it (split from ``carriers.py``, round 34 review).

Round 34 decoded ``#hh`` escapes in every name and took the first ``/Filter`` anywhere in the stream's dictionary,
and looked a filter named by reference up in an index of every ``N G obj`` in the file, the last one winning. A
name whose decoded form holds whitespace or a delimiter (``/X#2FFilter#20#2FDCTDecode`` is one name, no key) forged
a ``/Filter /DCTDecode``; a ``/Filter`` in a nested dictionary (``/DecodeParms``) was taken for the stream's; ``05 0
R`` and ``+5 0 R`` (which readers accept) missed; and a decoy ``5 0 obj`` in a comment, a stream's body or after
the last ``%%EOF`` defined the filter, while readers follow the xref; the index kept every object's value (a 14 MiB
file: 110 MiB). Now: such names are left as they are; only ``/Filter`` at depth 1 counts, and a dictionary with
two is refused (obfuscation); numbers are read as integers; the definition is the one the xref table points at,
else the last outside comments, stream bodies and what follows the last ``%%EOF``; only values that can be filters
(names, arrays of names and references) are indexed.
"""

from __future__ import annotations

import bisect
import re

from resources.evidence.container_readers import Refused

PDF_NAME = re.compile(rb"/[^\s/\[\]<>(){}%]*#[^\s/\[\]<>(){}%]*")  # names with an escape only: the others stay
ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
NOT_NAME = re.compile(rb"[\s/\[\]<>(){}%]")
FILTER = re.compile(rb"/Filter(?![^\s/\[\]<>(){}%])\s*(\[[^\]]{0,400}\]|/[A-Za-z0-9]+|[+]?(\d{1,10})\s+\d{1,5}\s+R\b)?")
REFERENCE = re.compile(rb"[+]?(\d{1,10})\s+\d{1,5}\s+R\b")
DEFINITION = re.compile(rb"(?<![0-9])[+]?(\d{1,10})\s+\d{1,5}\s+obj\s*(\[[^\]]{0,400}\]|/[^\s/\[\]<>(){}%]{1,100})")
FILTERISH = re.compile(rb"\[(?:\s*(?:/[^\s/\[\]<>(){}%]{1,100}|[+]?\d{1,10}\s+\d{1,5}\s+R))*\s*\]|/[^\s/\[\]<>(){}%]+")
TOKEN = re.compile(rb"<<|>>|<[0-9A-Fa-f\s]*>|" + FILTER.pattern)  # depth markers, hex strings (``<ab>>``), /Filter
SPECIAL = re.compile(rb"[(%]")
# dictionary tokens (``<<``, strings, comments) read in one file's stream dictionaries, each a Python step or so
# (~0.5 us): past this many the file is refused (a file of dictionaries built to cost the checks [second review])
MAX_TOKENS = 1_000_000
STRING = re.compile(rb"\\.|[()]", re.S)  # within a string: an escape, or a parenthesis that nests or closes
EOL = re.compile(rb"[\r\n]")
KNOWN = re.compile(rb"/(?:FlateDecode|Fl|ASCIIHexDecode|AHx|ASCII85Decode|A85|RunLengthDecode|RL|LZWDecode|LZW)"
                   rb"(?![^\s/\[\]<>(){}%])")
STARTXREF = re.compile(rb"startxref\s+(\d{1,12})")
XREF_LINE = re.compile(rb"(\d{1,12})[ \t]+(\d{1,12})(?:[ \t]+([nf]))?")
MAX_XREF = 1_000_000  # entries read from xref tables


def unescaped(text: bytes) -> bytes:
    """``text`` with each PDF name's ``#hh`` escapes decoded, as a reader reads them; a name whose decoded form holds
    whitespace or a delimiter is one name no key spells (``/X#2FFilter``): left as it is."""
    if b"#" not in text:
        return text

    def name(m: re.Match) -> bytes:
        decoded = b"/" + ESCAPE.sub(lambda e: bytes.fromhex(e.group(1).decode()), m.group(0)[1:])
        return m.group(0) if NOT_NAME.search(decoded, 1) else decoded
    return PDF_NAME.sub(name, text)


def filter_of(dictionary: bytes, part: str, spent: list[int] | None = None) -> re.Match | None:
    """The ``/Filter`` of a stream's dictionary (from its ``obj`` keyword): the key at depth 1 only, read in one pass
    (round 34, second review: ``<<`` counted from the start for each ``/Filter``, 40,000 of them took 24 s), with
    strings and comments set aside and NUL read as whitespace (``/Filter%c``, ``/T(>>)``, ``/Filter\\0`` hid it). A
    dictionary with two is refused (readers disagree on which counts [unc]), and so is one whose ``/Filter`` has no
    value read here, or that names a filter this library knows though no ``/Filter`` of its own is found.
    ``spent``: the file's count of tokens read so far (``MAX_TOKENS``)."""
    raw = unescaped(dictionary)
    if spent is not None:  # counted at C speed before any is read
        spent[0] += sum(raw.count(c) for c in (b"<", b">", b"(", b")", b"%", b"\\", b"/Filter"))
        if spent[0] > MAX_TOKENS:
            raise Refused(f"{part}: the file's stream dictionaries hold more than {MAX_TOKENS} nested dictionaries, "
                          "strings and comments (a file built to cost the checks): send the PDF saved again "
                          "(printed to PDF)")
    text, depth, found = _tokens(raw), 0, []
    for m in TOKEN.finditer(text):
        if m.group(0) == b"<<":
            depth += 1
        elif m.group(0) == b">>":
            depth -= 1
        elif m.group(0).startswith(b"/Filter") and depth == 1:
            found.append(m)
    if len(found) > 1:
        raise Refused(f"{part} names its /Filter twice (obfuscation no PDF writer produces, readers and virus "
                      "scanners may read either): send the PDF saved again (printed to PDF)")
    if (found and found[0].group(1) is None) or (not found and KNOWN.search(raw) is not None):
        raise Refused(f"{part} has a /Filter the library cannot read (hidden by comments, strings or an overlong "
                      "array: obfuscation no PDF writer produces): send the PDF saved again (printed to PDF)")
    return found[0] if found else None


def _tokens(text: bytes) -> bytes:
    """``text`` with its strings emptied (``()``), its comments and NULs made spaces: what a reader tokenizes."""
    text = text.replace(b"\0", b" ")
    if b"(" not in text and b"%" not in text:
        return text
    out, at = [], 0
    while (m := SPECIAL.search(text, at)) is not None:
        out.append(text[at:m.start()])
        if m.group(0) == b"%":
            eol = EOL.search(text, m.end())
            at = eol.start() if eol is not None else len(text)
            out.append(b" ")
            continue
        level, at = 1, m.end()
        while level and (c := STRING.search(text, at)) is not None:
            at = c.end()
            level += 1 if c.group(0) == b"(" else -1 if c.group(0) == b")" else 0
        at = at if level == 0 else len(text)  # an unclosed string: the rest is string
        out.append(b"()")
    out.append(text[at:])
    return b"".join(out)


class Objects:
    """Filter objects of a PDF (``data``: bytes or an mmap), indexed on first use."""

    def __init__(self, data):
        self.data, self.index = data, None

    def names(self, value: bytes, depth: int = 0, part: str = "a PDF stream") -> list[bytes]:
        """The filter names ``value`` (a name, an array, a reference) holds, references resolved; a reference that
        does not resolve (an object stream's, a definition after the last ``%%EOF``, definitions that disagree and
        no xref table to choose) is refused (round 34, second review: taken as no filter, the stream skipped)."""
        ref = REFERENCE.fullmatch(value.strip())
        if ref is not None:
            number = int(ref.group(1))
            target = self.lookup(number) if depth < 2 else None
            if target is None:
                why = ("its definitions disagree and no xref table chooses" if number in self.index else
                       "no definition of it is read here (in an object stream, after the end of the file, or "
                       "references nested)")
                raise Refused(f"{part} names its /Filter by a reference ({number} 0 R) that cannot be resolved: "
                              f"{why}; PDF writers put a filter's name in the stream's own dictionary: send the PDF "
                              "saved again (printed to PDF)")
            return self.names(target, depth + 1, part)
        if not value.startswith(b"["):
            return re.findall(rb"/([A-Za-z0-9]+)", value)[:1]
        out: list[bytes] = []
        for item in re.finditer(rb"/([A-Za-z0-9]+)|[+]?\d{1,10}\s+\d{1,5}\s+R", value):
            out += [item.group(1)] if item.group(1) is not None else self.names(item.group(0), depth + 1, part)
        return out

    def lookup(self, number: int) -> bytes | None:
        """Object ``number``'s value, or None (none found, or candidates that disagree: kept as None)."""
        if self.index is None:
            self.index = self._build()
        return self.index.get(number)

    def _build(self) -> dict[int, bytes | None]:
        data = self.data
        eof = data.rfind(b"%%EOF")
        bodies = self._bodies()
        starts = [start for start, _ in bodies]
        pointed = self._xref()
        chosen: dict[int, tuple[bool, bytes | None]] = {}
        for m in DEFINITION.finditer(data, 0, eof if eof >= 0 else len(data)):
            if FILTERISH.fullmatch(m.group(2)) is None:
                continue
            at = m.start()
            i = bisect.bisect_right(starts, at) - 1
            if i >= 0 and at < bodies[i][1]:  # inside a stream's body: bytes, not an object
                continue
            line = max(data.rfind(b"\n", max(0, at - 4096), at), data.rfind(b"\r", max(0, at - 4096), at))
            if data.find(b"%", line + 1, at) >= 0:  # in a comment
                continue
            number, value = int(m.group(1)), unescaped(m.group(2))
            exact, before = pointed.get(number) == at, chosen.get(number)
            if exact or before is None:
                chosen[number] = (exact, value)
            elif not before[0] and before[1] != value:  # two definitions, no xref entry to choose: neither
                chosen[number] = (False, None)
        return {n: v for n, (_, v) in chosen.items()}

    def _bodies(self) -> list[tuple[int, int]]:
        data, out, at = self.data, [], 0
        for m in re.finditer(rb"(?<!end)stream\r?\n", data):
            if m.start() < at:
                continue
            end = data.find(b"endstream", m.end())
            out.append((m.end(), end if end >= 0 else len(data)))
            at = out[-1][1]
        return out

    def _xref(self) -> dict[int, int]:
        """Object number -> the offset the last classic xref table gives it (its /Prev tables before it)."""
        data, out, seen, entries = self.data, {}, set(), 0
        found = list(STARTXREF.finditer(data, max(0, len(data) - 4096)))
        offset = int(found[-1].group(1)) if found else -1
        while 0 <= offset < len(data) and offset not in seen and data[offset:offset + 4] == b"xref":
            seen.add(offset)
            end = data.find(b"trailer", offset)
            end = end if end >= 0 else len(data)
            first = 0
            for line in XREF_LINE.finditer(data, offset + 4, end):
                entries += 1
                if entries > MAX_XREF:
                    return out
                if line.group(3) is None:
                    first = int(line.group(1))
                    continue
                if line.group(3) == b"n":
                    out.setdefault(first, int(line.group(1)))  # the newest table first: its entry wins
                first += 1
            prev = re.search(rb"/Prev\s+(\d{1,12})", data[end:end + 4096])
            offset = int(prev.group(1)) if prev else -1
        return out
