"""Round 34: a PDF stream's ``/Filter`` written otherwise than as plain names (``resources/evidence/carriers.py``).

A PDF reader takes ``/Fl#61teDecode`` (a name with ``#hh`` escapes) for ``/FlateDecode``, ``/F#69lter`` for
``/Filter``, and ``/Filter 5 0 R`` for the filter object 5 names; the checker of unencrypted PDFs read only the
plain spellings, so such a stream was never inflated and an LZMA zip (which clamd skips, answering OK: checked
first, for each case, against the tests' real clamd) in it was stored clean."""

from __future__ import annotations

import time
import zlib

import pytest

from resources.evidence.containers import problem
from tests.evidence.library import make_library
from tests.test_round32_evidence_carriers import LZMA_ZIP


def pdf(data: bytes, key: bytes = b"/Filter", filters: bytes = b"/FlateDecode", extra: bytes | None = None,
        encode=zlib.compress) -> bytes:
    """A one-page PDF whose content stream is ``data`` through ``encode`` (``key filters`` in its dictionary);
    ``extra``: object 5's value (a filter a reference names)."""
    body = encode(data)
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
            b"<< /Length %d %s %s >>\nstream\n%s\nendstream" % (len(body), key, filters, body)]
    objs += [extra] if extra is not None else []
    out, offsets = b"%PDF-1.4\n", []
    for n, obj in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (n, obj)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1) + b"".join(b"%010d 00000 n \n" % o for o in offsets)
    return out + b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)


ESCAPED = {
    "escaped-filter-name": pdf(LZMA_ZIP, filters=b"/Flat#65Decode"),
    "escaped-filter-key": pdf(LZMA_ZIP, key=b"/F#69lter"),
    "escaped-in-an-array": pdf(LZMA_ZIP, filters=b"[ /#46#6c#61#74#65#44#65#63#6f#64#65 ]"),
    "escaped-hex-then-flate": pdf(LZMA_ZIP, filters=b"[/A#48x /Fl]", encode=lambda d: zlib.compress(d).hex().encode()
                                  + b">"),
}
INDIRECT = {
    "indirect-name": pdf(LZMA_ZIP, filters=b"5 0 R", extra=b"/FlateDecode"),
    "indirect-array": pdf(LZMA_ZIP, filters=b"5 0 R", extra=b"[/FlateDecode]"),
    "indirect-escaped": pdf(LZMA_ZIP, filters=b"5 0 R", extra=b"[ /Fl#61teDecode ]"),
}


@pytest.mark.parametrize("name", list(INDIRECT))
def test_a_filter_named_by_reference_is_inflated(tmp_path, clamd, name):
    content = INDIRECT[name]
    assert clamd.scan(content).clean  # the scanner's blind spot, for real
    lib = make_library(tmp_path, clamd)
    out = lib.ingest(content, "report.pdf", "email")
    assert out.status == "quarantined", (out.status, out.reason)
    assert "is compressed with LZMA" in out.reason and "PDF stream" in out.reason, out.reason
    assert list(lib.store.list()) == []


@pytest.mark.parametrize("name", list(ESCAPED))
def test_an_escaped_filter_is_inflated(name):
    """The tests' clamd (HeuristicAlerts on, clamd's default) flags these as Heuristics.PDF.ObfuscatedNameObject;
    the library's check does not rely on how the production clamd is configured."""
    found = problem(ESCAPED[name], 1 << 30)
    assert found is not None and not found.pending, found
    assert "is compressed with LZMA" in found.reason and "PDF stream" in found.reason, found.reason


def test_references_are_resolved_once_per_file():
    """A reference named by many streams costs one look-up; one to a missing object, or to no filter name, is
    refused (second review: the stream was skipped, stored clean); an ordinary referenced stream is no problem."""
    assert problem(pdf(b"BT /F1 12 Tf (Q3) Tj ET", filters=b"5 0 R", extra=b"/FlateDecode"), 1 << 30) is None
    for unresolved in (pdf(LZMA_ZIP, filters=b"9 0 R"), pdf(LZMA_ZIP, filters=b"5 0 R", extra=b"(text)")):
        found = problem(unresolved, 1 << 30)
        assert found is not None and not found.pending and "cannot be resolved" in found.reason, found
    many = pdf(LZMA_ZIP, filters=b"5 0 R", extra=b"/FlateDecode")
    stream = many[many.index(b"4 0 obj"):many.index(b"5 0 obj")]
    quiet = pdf(b"q Q", filters=b"5 0 R", extra=b"/FlateDecode")
    many = many.replace(stream, quiet[quiet.index(b"4 0 obj"):quiet.index(b"5 0 obj")] * 2_000 + stream)
    started = time.monotonic()
    found = problem(many, 1 << 30)
    assert found is not None and "is compressed with LZMA" in found.reason, found
    assert time.monotonic() - started < 5


def test_a_file_of_countless_tiny_parts_costs_a_bounded_amount(monkeypatch):
    """Each decoded part (a PDF stream, a mail's base64 block, a data: URI) costs ~0.4 ms to walk: a 100 MiB PDF of
    2 million empty streams would take ~15 minutes (20,000 took 8 s). Past ``MAX_PARTS`` in a file it is refused."""
    from resources.evidence import carriers

    monkeypatch.setattr(carriers, "MAX_PARTS", 500)
    one = b"1 0 obj\n<</Filter/FlateDecode>>stream\n" + zlib.compress(b"q Q") + b"\nendstream\nendobj\n"
    found = problem(b"%PDF-1.4\n" + one * 501 + b"%%EOF\n", 1 << 30)
    assert found is not None and not found.pending and "more than 500 encoded parts" in found.reason, found
    assert problem(b"%PDF-1.4\n" + one * 500 + b"%%EOF\n", 1 << 30) is None
    uris = b"<html>" + b'<img src="data:image/png;base64,iVBORw0KGgoAAAANSUhEUg==">' * 501 + b"</html>"
    found = problem(uris, 1 << 30)
    assert found is not None and "more than 500 encoded parts" in found.reason, found


def run_length(data: bytes, width: int = 7) -> bytes:
    """``data`` as RunLengthDecode reads it, in literal runs of ``width`` (a zip's headers split across runs)."""
    return b"".join(bytes([len(data[i:i + width]) - 1]) + data[i:i + width]
                    for i in range(0, len(data), width)) + b"\x80"


def test_a_run_length_stream_is_decoded(tmp_path, clamd):
    """clamd decodes RunLengthDecode (an EICAR split into 7-byte runs is found) and answers OK for an LZMA zip in
    such a stream; the checker decoded FlateDecode only and stored it clean."""
    from tests.evidence.clamav import EICAR

    assert not clamd.scan(pdf(EICAR, filters=b"/RunLengthDecode", encode=run_length)).clean
    for filters in (b"/RunLengthDecode", b"/RL", b"[ /RL ]"):
        content = pdf(LZMA_ZIP, filters=filters, encode=run_length)
        assert clamd.scan(content).clean
        out = make_library(tmp_path / filters.hex(), clamd).ingest(content, "report.pdf", "email")
        assert out.status == "quarantined" and "is compressed with LZMA" in out.reason, (filters, out.reason)
    from resources.evidence.carriers import _RunLength

    data = bytes(range(256)) * 40
    for size in (1, 33, 1 << 20):  # a piece at a time, never more than asked, whatever the runs' lengths
        stream, out = _RunLength(run_length(data, 100)[:-1] + b"\xfd\x07\x81\x09\x80junk", 0), b""
        while part := stream.read(size):
            assert len(part) <= size
            out += part
        assert out == data + b"\x07" * 4 + b"\x09" * 128
    runs = pdf(b"", filters=b"/RL", encode=lambda _: b"\x81\0" * 1_000_000)  # 2 MB -> 128 MB of zeros
    started = time.monotonic()
    found = problem(runs, 10 << 20)  # decoded only as far as the budget goes
    assert found is not None and found.pending and "MAX_EXPANDED_BYTES" in found.reason, found
    assert time.monotonic() - started < 2
