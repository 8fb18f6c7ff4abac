"""How a file's name shows to the person who opens it (round 32), for the lure check in ``library.py``: a
script (``#!``) named as a document or image is quarantined, and the check compared the name as stored, so
``report.pdf`` followed by a zero-width space, a no-break space, a tab or a byte order mark, ``report.pdf`` in
full-width letters (U+FF50 ...), ``report.pdf:evil`` (an NTFS alternate data stream of ``report.pdf``) or
``report`` U+202E ``fdp.sh`` (a right-to-left override: it shows as ``reporths.pdf``) passed as a script and was
stored. ``shown`` gives the names to check; ``spoofed`` says whether the name carries bidirectional controls,
whose order on screen is not the name's."""

from __future__ import annotations

import unicodedata

BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def spoofed(name: str) -> bool:
    return any(ch in BIDI for ch in name)


def _trimmed(name: str) -> str:
    """Without invisible format characters, and without what Windows drops from a name's end (spaces, dots)."""
    name = "".join(ch for ch in name if unicodedata.category(ch) != "Cf")
    before = None
    while before != name:
        before, name = name, name.rstrip().rstrip(".")
    return name


def shown(name: str) -> list[str]:
    """``name`` lower-cased as it shows (NFKC, invisible characters and trailing spaces and dots dropped), and,
    when it names an NTFS data stream (``a.pdf:x``, ``a.pdf::$DATA``), the file it is a stream of, and when it
    holds a NUL, what comes before it."""
    plain = _trimmed(unicodedata.normalize("NFKC", name)).lower()
    base = plain.rpartition("/")[2].rpartition("\\")[2]
    out = [plain]
    if ":" in base:
        out.append(_trimmed(base.partition(":")[0]))
    for cut in ("\x00", "\\x00"):  # a C string ends at a NUL (kept escaped as ``\x00`` by ``base.safe_name``)
        if cut in plain:
            out.append(_trimmed(plain.partition(cut)[0]))
    return out
