"""A PDF stream's filters undone as clamd undoes them, a piece at a time (split from ``carriers.py``, round 34 review).

clamd decodes ``FlateDecode``, ``ASCIIHexDecode``, ``ASCII85Decode``, ``RunLengthDecode`` and ``LZWDecode``, in any
order and any number of them, and scans what comes out; it stops at a filter it does not decode (``DCTDecode``,
``JPXDecode`` ...: an image, scanned as it stands). ``decodable`` takes the filters of a chain up to the first this
library does not decode; when that one is LZW (clamd goes on, the library cannot) the stream is refused: what
clamd reads of it nothing here can check. Round 34 decoded ``[/Fl /RL]``, ``[/RL /Fl]``, ``[/AHx /RL]`` and
``[/Fl /Fl]`` only as far as their first FlateDecode or RunLengthDecode, and skipped an LZW chain unchecked.

A RunLengthDecode stream is decoded only up to its own extent (``carriers._extent``: its ``endstream``, else its
``/Length``), never on to the end of the file, and its runs are counted against a per-file step budget
(``MAX_RUNS``): each costs a Python step, and a 4 MiB PDF of 200 such streams with no end marker took 64 s.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
import zlib

from resources.evidence.container_readers import READ, Refused, _Budget

NAMES = {b"FlateDecode": "flate", b"Fl": "flate", b"ASCIIHexDecode": "hex", b"AHx": "hex",
         b"ASCII85Decode": "a85", b"A85": "a85", b"RunLengthDecode": "rl", b"RL": "rl",
         b"LZWDecode": "lzw", b"LZW": "lzw"}
DECODED = ("flate", "hex", "a85", "rl")  # what this library undoes; "lzw" clamd undoes too
# each RunLengthDecode run costs a Python step (~0.25 us): past this many in one file (all streams counted) it is
# refused (~2 s). An ordinary PDF rarely uses the filter at all.
MAX_RUNS = 8_000_000
MAX_CHAIN = 4  # filters in one stream's chain (round 34, second review): a writer uses one or two
MAX_TEXT = 16 * 1024 * 1024  # ASCIIHex / ASCII85 text held to decode one stream (second review)


def decodable(chain: list[str | None], where: str = "a PDF stream") -> list[str] | None:
    """The filters of ``chain`` undone here, in order: up to the first this library does not decode (clamd stops
    at an image filter too), or None when that is the first; a chain reaching LZWDecode is refused."""
    walked: list[str] = []
    for name in chain:
        if name == "lzw":
            raise Refused(f"{where} is compressed with LZWDecode, which a virus scanner decodes and this library "
                          "does not, so nothing can say what the scanner read there was checked: send the PDF "
                          "saved again (printed to PDF), which writes FlateDecode")
        if name not in DECODED:
            break
        walked.append(name)
    return walked or None


def _decoded(data, start: int, chain: list[str], where: str, budget: _Budget,
             stop: int | None = None) -> io.RawIOBase | None:
    """The stream from ``start`` (to ``stop``, or as far as its first filter reads) through ``chain``, in order.
    Every stage's output but the last (which the walker counts) is counted against the budget (round 34, second
    review: ``[/Fl /Fl]`` over 10 MB of empty deflate blocks inflated uncounted), and a chain longer than
    ``MAX_CHAIN`` is refused."""
    if len(chain) > MAX_CHAIN:
        raise Refused(f"{where} is encoded with {len(chain)} filters in a chain, more than the {MAX_CHAIN} the "
                      "library undoes (obfuscation no PDF writer produces): send the PDF saved again (printed to PDF)")
    stream: io.RawIOBase = _Slice(data, start, len(data) if stop is None else stop)
    for n, name in enumerate(chain):
        if n:  # what the stage before gave: counted as it is read
            stream = _Stage(stream, budget, where)
        if name == "flate":
            stream = _Inflated(stream)
        elif name == "rl":
            stream = _RunLength(stream, budget=budget, where=where)
        else:
            stream = _text(stream, name, where, budget)
    return stream


def _text(source: io.RawIOBase, name: str, where: str, budget: _Budget) -> io.RawIOBase:
    """An ASCIIHex or ASCII85 stream, held whole up to its end marker, each byte read counted against the budget:
    at most ``MAX_TEXT`` bytes of it are held (round 34, second review: up to what the budget left, 100 MiB and
    more, and ``a85decode`` takes ~9 times that); a longer one is refused."""
    marker, held = (b">" if name == "hex" else b"~>"), bytearray()
    limit = min(max(0, budget.left()), MAX_TEXT) + 1
    while len(held) < limit and (chunk := source.read(READ)):
        held += chunk
        if held.find(marker, max(0, len(held) - len(chunk) - 1)) >= 0:
            break
    end = held.find(marker)
    if end < 0 and len(held) > MAX_TEXT:
        raise Refused(f"{where} holds more than {MAX_TEXT} bytes of {'ASCIIHex' if name == 'hex' else 'ASCII85'} "
                      "text, more than the library decodes in one stream: send the PDF saved again (printed to PDF)")
    text = bytes(held[:end if end >= 0 else min(len(held), limit)])
    budget.count(len(text), where)
    try:
        if name == "hex":
            text = re.sub(rb"[^0-9A-Fa-f]", b"", text)
            return io.BytesIO(binascii.unhexlify(text + b"0" * (len(text) % 2)))
        return io.BytesIO(base64.a85decode(re.sub(rb"\s+", b"", text.removeprefix(b"<~")) + b"~>", adobe=True))
    except ValueError:
        return io.BytesIO(b"")  # not decodable: nothing comes out (clamd reads no further either)


class _Reader(io.RawIOBase):
    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        part = self.read(len(buffer))
        buffer[:len(part)] = part
        return len(part)


class _Stage(_Reader):
    """A filter's output read on to the next, each byte counted against the budget."""

    def __init__(self, source: io.RawIOBase, budget: _Budget, where: str):
        super().__init__()
        self.source, self.budget, self.where = source, budget, where

    def read(self, size: int = -1) -> bytes:
        chunk = self.source.read(size)
        self.budget.count(len(chunk), self.where)
        return chunk


class _Slice(_Reader):
    """``data[start:stop]`` (bytes or an mmap) read a piece at a time."""

    def __init__(self, data, start: int, stop: int):
        super().__init__()
        self.data, self.at, self.stop = data, start, min(stop, len(data))

    def read(self, size: int = -1) -> bytes:
        want = READ if size is None or size < 0 else min(size, READ)
        chunk = bytes(self.data[self.at:min(self.stop, self.at + want)])
        self.at += len(chunk)
        return chunk


def _source(data, start: int) -> io.RawIOBase:
    return data if hasattr(data, "read") else _Slice(data, start, len(data))


class _Inflated(_Reader):
    """The deflate (zlib) stream ``source`` (a reader, or bytes from ``start``), inflated a piece at a time; it ends
    where the stream does, or where it stops inflating (a damaged stream ends there)."""

    def __init__(self, source, start: int = 0):
        super().__init__()
        self.source, self.dec, self.done = _source(source, start), zlib.decompressobj(), False

    def read(self, size: int = -1) -> bytes:
        want = READ if size is None or size < 0 else min(size, READ)
        while not self.done:
            try:
                if self.dec.unconsumed_tail:
                    out = self.dec.decompress(self.dec.unconsumed_tail, want)
                else:
                    chunk = self.source.read(READ)
                    if not chunk:
                        self.done = True
                        break
                    out = self.dec.decompress(chunk, want)
            except zlib.error:
                self.done = True
                break
            if self.dec.eof:
                self.done = True
            if out:
                return out
        return b""


class _RunLength(_Reader):
    """The RunLengthDecode stream ``source`` (a reader, or bytes from ``start``), decoded a piece at a time (never
    held whole: a run expands 64 times); it ends at its end marker or the end of its source. Its runs are counted
    in ``budget.runs`` (``MAX_RUNS``)."""

    def __init__(self, source, start: int = 0, budget: _Budget | None = None, where: str = "a PDF stream"):
        super().__init__()
        self.source, self.budget, self.where = _source(source, start), budget, where
        self.raw, self.at, self.left, self.done = b"", 0, b"", False  # left: decoded past what was asked

    def read(self, size: int = -1) -> bytes:
        want = READ if size is None or size < 0 else min(size, READ)
        out, runs = bytearray(self.left), 0
        while len(out) < want and not self.done:
            raw, at = self.raw, self.at
            n = raw[at] if at < len(raw) else 0
            if at + (2 + n if n < 128 else 1 if n == 128 else 2) > len(raw):  # a run cut by the piece's end
                more = self.source.read(READ)
                if not more:
                    self.done = True
                    if at < len(raw) and n < 128:  # a last literal run cut short: what it holds
                        out += raw[at + 1:]
                    break
                self.raw, self.at = raw[at:] + more, 0
                continue
            runs += 1
            if n == 128:
                self.done = True
                break
            if n < 128:
                out += raw[at + 1:at + 2 + n]
                self.at = at + 2 + n
            else:
                out += raw[at + 1:at + 2] * (257 - n)
                self.at = at + 2
        if self.budget is not None:
            self.budget.runs += runs
            if self.budget.runs > MAX_RUNS:
                raise Refused(f"{self.where} is run-length encoded in more than {MAX_RUNS} runs (all the file's "
                              "streams counted), more than the library decodes in one file (a file built to cost "
                              "the checks): send the PDF saved again (printed to PDF)")
        self.left = bytes(out[want:])
        return bytes(out[:want])
