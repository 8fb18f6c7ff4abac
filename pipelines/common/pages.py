"""One JSON page parser for every vendor: fast and strict, degrading to a lenient parse so that one
record with hostile text costs that record, never the page.

Vendors emit text that strict JSON parsers refuse: a lone UTF-16 surrogate (``"\\ud83d"``, a
truncated emoji), bytes that are not UTF-8 (``0xff``, an overlong ``0xc0 0xaf``, a cut multi-byte
sequence), raw control characters inside strings. The fast path (orjson) takes a clean page as it
is. When it refuses one, the page is read again leniently: undecodable bytes become lone surrogates
(``surrogateescape``, so nothing is guessed or replaced), raw control characters are kept, and every
object of that page is a :class:`Lenient` dict. Validation (:mod:`pipelines.common.validation`) looks
inside ``Lenient`` records only, and quarantines each one whose text cannot be stored with the
reason from :func:`text_problem`; the page's other records load as usual. A NUL (``\\u0000``), which
PostgreSQL cannot store in text, sends the page down the same path.

A UTF-8 byte order mark before the JSON (some proxies and Windows-hosted endpoints add one) is
skipped: it is not part of the document. A body in UTF-16 or UTF-32 that starts with its byte order
mark (a re-encoding proxy; RFC 7159 allowed both) is decoded by that mark. Without one, the NUL bytes among
its first four say which (RFC 4627, section 3: JSON text starts with two ASCII characters); a UTF-8 body never
has a NUL byte there, so nothing else is read this way. Such a body had failed every page of every run.

A page that is not JSON even leniently (cut off, HTML from a proxy) raises ``ValueError``: that is a
transport fault, retried or reported by the caller, not a record to quarantine.

A value nested deeper than the warehouse loader stores (dlt writes records with orjson, which stops at 255
levels; the parsers read about 1,000: a runaway custom field) costs its record too: each value that opens below
:data:`MAX_DEPTH` levels is cut from the text and replaced by a marker no vendor text can produce (two lone
surrogates side by side, which no JSON escape or byte decodes to), so that record is quarantined naming the
field, and the page's other records load. Before, the whole page was "not JSON" on every attempt and every
run, or (256 to 1,000 levels: the parsers read it) the extract failed with "Recursion limit reached" on every
run. The check costs a count of ``[`` and ``{`` bytes on every page; a page holding more than MAX_DEPTH of
them is written back with orjson (C, O(n)), which refuses exactly what the loader would.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

_NUL = b"\\u0000"
_BOM = b"\xef\xbb\xbf"
# Longest first: a UTF-32 LE mark starts like UTF-16 LE's. The codec reads (and drops) the mark itself.
_WIDE_BOMS = ((b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"), (b"\xff\xfe", "utf-16"),
              (b"\xfe\xff", "utf-16"))


MAX_DEPTH = 200  # levels kept when a page is too deep (the loader's orjson stops at 255, with the page's own)
# Unforgeable: a JSON escape pair decodes to one code point, raw bytes to U+DC80..U+DCFF escapes.
_TOO_DEEP = "\udbff\udfff"
# A JSON string (possessive: no backtracking on a 10 MB string), or a bracket that opens or closes a value.
_TOKEN = re.compile(r'"(?:[^"\\]++|\\.)*+"|[\[\]{}]', re.S)


class Lenient(dict):
    """A JSON object from a page the strict parser refused: its strings may be unstorable."""


def loads(body: bytes | str) -> Any:
    """Parse one response body (see the module docstring); ``ValueError`` if it is not JSON at all."""
    raw = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
    codec = next((c for bom, c in _WIDE_BOMS if raw.startswith(bom)), None)
    if codec is None:
        codec = _bomless_codec(raw)
    if codec is not None:  # UTF-16/32 (RFC 7159 allowed them): a cut-off one is no JSON
        raw = raw.decode(codec, "surrogatepass").encode("utf-8", "surrogatepass")
    if raw.startswith(_BOM):
        raw = raw[len(_BOM):]
    deep = raw.count(b"[") + raw.count(b"{") > MAX_DEPTH  # fewer cannot nest deeper
    if _NUL not in raw:
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass
        else:
            if not deep or not _too_deep(value):
                return value
    text = raw.decode("utf-8", "surrogateescape")
    try:  # cut what lies below MAX_DEPTH: that record is quarantined by validation, the rest loads
        return json.loads(_cut_deep(text) if deep else text, strict=False, object_pairs_hook=Lenient)
    except RecursionError:  # not a ValueError: it escaped the callers' retry and explanation, every run
        raise ValueError("JSON nested deeper than the parsers read (about 1,000 levels)") from None


def _too_deep(value: Any) -> bool:
    """Whether the loader's orjson would refuse ``value`` as too deep (it stops at 255 levels)."""
    try:
        orjson.dumps(value)
    except orjson.JSONEncodeError as exc:
        return "ecursion" in str(exc)
    return False


def _cut_deep(text: str) -> str:
    """``text`` with every value opening below :data:`MAX_DEPTH` levels replaced by the marker string."""
    out: list[str] = []
    depth, start, kept = 0, -1, 0
    for token in _TOKEN.finditer(text):
        char = token.group()
        if char in "[{":
            depth += 1
            if depth == MAX_DEPTH + 1 and start < 0:
                start = token.start()
        elif char in "]}":
            depth -= 1
            if depth == MAX_DEPTH and start >= 0:
                out += (text[kept:start], f'"{_TOO_DEEP}"')
                kept, start = token.end(), -1
    return "".join(out) + text[kept:]


def _bomless_codec(raw: bytes) -> str | None:
    """UTF-16/32 without a byte order mark, by where the NUL bytes of the first four are (RFC 4627, 3)."""
    head = raw[:4]
    if len(head) < 4 or 0 not in head:
        return None
    nul = tuple(b == 0 for b in head)
    return {(True, True, True, False): "utf-32-be", (False, True, True, True): "utf-32-le",
            (True, False, True, False): "utf-16-be", (False, True, False, True): "utf-16-le"}.get(nul)


def is_lenient(value: Any) -> bool:
    return type(value) is Lenient


def text_problem(value: Any, path: str = "") -> str | None:
    """Why ``value`` (a record, walked whole) holds text the warehouse cannot store, or None.

    The reason names the field and the character, e.g. ``description: lone UTF-16 surrogate U+D83D
    at character 6 (a truncated emoji or text that is not UTF-8)``.
    """
    if isinstance(value, str):
        return _string_problem(value, path or "value")
    if isinstance(value, dict):
        for key, item in value.items():
            problem = (_string_problem(key, f"{path}{'.' if path else ''}<key>")
                       if isinstance(key, str) else None) or text_problem(item, f"{path}{'.' if path else ''}{key}")
            if problem:
                return problem
    elif isinstance(value, list):
        for n, item in enumerate(value):
            problem = text_problem(item, f"{path}[{n}]")
            if problem:
                return problem
    return None


def _string_problem(text: str, where: str) -> str | None:
    if text == _TOO_DEEP:
        where = _safe(where)
        where = where if len(where) <= 60 else where[:60] + "…"
        return f"{where}: JSON nested deeper than {MAX_DEPTH} levels (the warehouse loader stores up to 255)"
    if text.isascii():
        if "\x00" in text:
            return f"{_safe(where)}: NUL character at character {text.index(chr(0))} (no warehouse stores it in text)"
        return None
    for n, char in enumerate(text):
        code = ord(char)
        if 0xDC80 <= code <= 0xDCFF:
            return (f"{_safe(where)}: byte 0x{code - 0xDC00:02X} at character {n} is not UTF-8 "
                    "(or a lone UTF-16 surrogate standing for it)")
        if 0xD800 <= code <= 0xDFFF:
            return (f"{_safe(where)}: lone UTF-16 surrogate U+{code:04X} at character {n} "
                    "(a truncated emoji or text that is not UTF-16)")
        if code == 0:
            return f"{_safe(where)}: NUL character at character {n} (no warehouse stores it in text)"
    return None


def safe_text(value: Any) -> str:
    """``value`` as storable text: a bad character shown as its escape (for ids and reasons)."""
    return _safe(value if isinstance(value, str) else str(value))


def _safe(text: str) -> str:
    return text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")
