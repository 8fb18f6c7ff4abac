"""Files embedded in a OneNote section (``.one``, round 33), a known malware carrier.

A OneNote section stores each attached file whole in a ``FileDataStoreObject`` (MS-ONESTORE 2.6.13: the GUID
``{BDE316E7-2665-4511-A4C4-8D4D0B7A9EAC}``, a 64-bit length, 12 reserved bytes, the file). Lures attach a
``.hta``, ``.vbs``, ``.cmd`` or ``.lnk`` behind a "double-click to view" picture; no signature names a new script,
and clamd answered OK for a .one carrying one, or a bzip2 file with a second stream (measured with the tests'
clamd). The library took it as a plain binary file and stored it.

``files`` yields each embedded file for ``containers._walk`` (executables, archives, bombs, all counted against
the budget); it refuses a section that names an attachment ending as a script or program (file names are
length-prefixed UTF-16 properties, ``EmbeddedFileName``, found by their ending) or whose attachment reads as one
(a Windows shortcut, or script text: ``WScript``, ``CreateObject``, ``powershell`` ... [unc: the usual lure content;
the list is ours]). Pictures, PDFs and Office files attached to a page are walked and stored as usual.
"""

from __future__ import annotations

import io
import re
import struct
import uuid
from collections.abc import Iterator

from resources.evidence.container_readers import Refused
from resources.evidence.layout import find_local
from resources.evidence.rtf import RUNS

SECTION = uuid.UUID("{7B5C52E4-D88C-4DA7-AEB1-5378D02996D3}").bytes_le  # a .one file's format GUID
TOC = uuid.UUID("{43FF2FA1-EFD9-4C76-9EE2-10EA5722765F}").bytes_le  # a .onetoc2 file's
STORE = uuid.UUID("{BDE316E7-2665-4511-A4C4-8D4D0B7A9EAC}").bytes_le  # FileDataStoreObject's header
ENDING = re.compile(rb"\.\x00(?:" + b"|".join(re.escape(ext[1:].encode("utf-16-le")) for ext in
                                            sorted(RUNS, key=len, reverse=True)) + rb")(?![0-9A-Za-z_-]\x00)", re.I)
SCRIPT = re.compile(rb"hta:application|wscript\.|cscript|createobject\s*\(|activexobject|shell\.application|"
                    rb"powershell|\bcmd(?:\.exe)?\s+/[ck]|@echo\s+off|\bmshta\b|rundll32|regsvr32|certutil|bitsadmin|"
                    rb"invoke-expression|\biex\s*\(|-enc(?:odedcommand)?\s+[A-Za-z0-9+/=]{20}", re.I)
MAX_ENDINGS = 10_000  # script endings looked at (each checked for its length prefix): a crafted file costs no more
TRAILING = 4  # trailing dots, spaces or NULs after a name's ending looked at
SHORTCUT = b"L\0\0\0\x01\x14\x02\0"  # a .lnk's header size and CLSID start


def is_onenote(head: bytes) -> bool:
    return head[:16] in (SECTION, TOC)


def files(data, where: str) -> Iterator[tuple[str, io.RawIOBase]]:
    """Each file embedded in the OneNote section ``data`` (bytes or an mmap), as ``(where, stream)``."""
    for n, (found, start, end) in enumerate(_stores(data)):
        if n == 0 and (shown := _runnable_name(data, where)) is not None:  # names: anywhere, once files are there
            raise Refused(f"{where} is a OneNote section with {shown!r} attached, a script or program that runs "
                          "when its icon on the page is opened (a known lure): send the pages as PDF, and the "
                          "file on its own if it is evidence")
        part = f"the file embedded at byte {found} of {where}"
        head = bytes(data[start:min(end, start + 65536)])
        text = head[2:].decode("utf-16-le", "ignore").encode() if head[:2] == b"\xff\xfe" else head  # a .ps1's BOM
        if head.startswith(SHORTCUT) or (b"\0" not in text[:4096] and SCRIPT.search(text)):
            raise Refused(f"{part} (a OneNote attachment) is a script or a Windows shortcut, which runs when its icon "
                          "on the page is opened (a known lure a virus scanner has no signature for): send the pages "
                          "as PDF, and the file on its own if it is evidence")
        yield part, io.BytesIO(bytes(data[start:end]))


def loose_zip(data) -> bool:
    """Whether zip entries lie outside the section's attached files (those are walked whole, as OLE2's are):
    an archive hidden in the section's own structures, which a scanner reads within its own limits only."""
    at, local = 0, find_local(data)
    for _, start, end in _stores(data):
        if local < 0 or local < start:
            return local >= 0
        at = max(at, end)
        if local < at:  # inside an attached file: the next one past it (each byte looked through once)
            local = find_local(data, at)
    return local >= 0


def _stores(data) -> Iterator[tuple[int, int, int]]:
    """Each FileDataStoreObject: where it is, where its file starts and ends."""
    at = 0
    while (found := data.find(STORE, at)) >= 0:
        start = found + 36  # the GUID, cbLength (8), unused (4), reserved (8)
        (size,) = struct.unpack("<Q", bytes(data[found + 16:found + 24]).ljust(8, b"\0"))
        end = min(len(data), start + size)
        yield found, start, end
        at = end if start + size <= len(data) else start  # a length past the end: what follows is read too

def _runnable_name(data, where: str) -> str | None:
    """A file name property (UTF-16, its byte length in the 4 bytes before it) ending as a script or program."""
    for n, match in enumerate(ENDING.finditer(data)):
        if n == MAX_ENDINGS:
            raise Refused(f"{where} is a OneNote section naming more than {MAX_ENDINGS} files that end as scripts or "
                          "programs (a lure, or built to be slow to check): send the pages as PDF")
        ends = [match.end()]
        while len(ends) <= TRAILING and bytes(data[ends[-1]:ends[-1] + 2]) in (b".\0", b" \0", b"\0\0"):
            ends.append(ends[-1] + 2)  # ``invoice.hta.``: Windows drops trailing dots, spaces and NULs
        for n_end, end in enumerate(ends):
            for start in range(end - 4, max(3, end - 512), -2):  # the name's first character, at most 255 back
                if int.from_bytes(data[start - 4:start], "little") == end - start:
                    name = bytes(data[start:end]).decode("utf-16-le", "replace")
                    stem = name.rstrip(". \0")
                    # page text is stored the same way: "Mail help@contoso.com." or "Built with Node.js." is a
                    # sentence, not a file (an address is never a name; a name ending in a dot has no space in it)
                    if "@" in stem or (n_end and any(c.isspace() for c in stem)):
                        continue
                    return name[-80:]
    return None
