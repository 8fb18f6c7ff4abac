"""Round 20 of attacks on the Evidence Library: a zip embedded in the middle of another file (a PDF or PNG
with a zip inside and more of the document after it, a polyglot). clamd finds such a zip by its local
headers and reads it within its own limits only, so the library walks it as it walks an appended zip (a
zip bomb or archives nested past clamd's recursion are refused), and refuses zip entries no directory
lists (a polyglot/embedded archive). Real clamd (``clamd`` fixture) where the scan matters."""

from __future__ import annotations

import io
import zipfile

from resources.evidence.containers import problem
from resources.evidence.layout import LocalScan, find_local, zip_end
from tests.evidence.clamav import EICAR
from tests.evidence.files import make_pdf, make_png
from tests.test_evidence_attacks import nested, tarred, zipped

BUDGET = 10**9
DEEP = nested(20, zipped({"eicar.txt": EICAR}))  # past clamd's MaxRecursion (17): clamd says OK
TRAILER = b"%" + b"A" * 100_000 + b"\n%%EOF\n"  # more of the document after the zip: past zip_at_end's 64 KiB


def in_the_middle(document: bytes, inner: bytes, at: int = 200) -> bytes:
    return document[:at] + inner + document[at:] + TRAILER


def test_a_zip_in_the_middle_of_a_pdf_or_png_is_walked_like_an_appended_one(tmp_path, clamd):
    from tests.evidence.library import make_library

    lib = make_library(tmp_path, clamd)
    pdf, png = make_pdf(["Access review Q3"]), make_png(40, 20)
    carriers = {"report.pdf": in_the_middle(pdf, DEEP), "chart.png": png[:-12] + DEEP + b"x" * 100_000 + png[-12:],
                "notes.txt": b"notes\n" * 100 + DEEP + b"notes\n" * 20_000}
    for name, content in carriers.items():
        assert clamd.scan(content).clean  # clamd finds the zip and stops at its recursion: OK
        out = lib.ingest(content, name, "email")
        assert out.status == "quarantined", (name, out.reason)
        assert "nested more than 8 deep" in out.reason and "embedded in the file" in out.reason, out.reason
    bomb = in_the_middle(pdf, zipped({"z.bin": b"\0" * 150_000_000 + EICAR}))
    assert clamd.scan(bomb).clean  # past clamd's MaxFileSize
    out = lib.ingest(bomb, "slides.pdf", "email")
    assert out.status == "quarantined" and "zip bomb" in out.reason
    exe = lib.ingest(in_the_middle(pdf, zipped({"setup.exe": b"MZ\x90\x00\x03" + b"\0" * 300})), "a.pdf", "email")
    assert exe.status == "quarantined" and "not accepted as evidence" in exe.reason
    assert list(lib.store.list()) == []
    # EICAR deflated in the middle: clamd itself finds it (its signature is not in the raw bytes)
    infected = in_the_middle(pdf, zipped({"e.txt": EICAR * 3}))
    assert EICAR not in infected
    assert lib.ingest(infected, "b.pdf", "email").reason.startswith("ClamAV found")
    # one that checks out is no reason to refuse the document (as an appended one)
    fine = lib.ingest(in_the_middle(pdf, zipped({"notes.txt": b"reviewed by J. Doe"})), "signed.pdf", "email")
    assert fine.status == "stored"
    assert lib.store.get(fine.sha256) == in_the_middle(pdf, zipped({"notes.txt": b"reviewed by J. Doe"}))


def test_zip_entries_no_directory_lists_are_a_polyglot_refused():
    pdf = make_pdf(["Policy"])
    local_only = DEEP[:DEEP.index(b"PK\x01\x02")]  # local entries, no directory: clamd reads them anyway
    for content in (in_the_middle(pdf, local_only), pdf + local_only):
        found = problem(content, BUDGET)
        assert found is not None and not found.pending and "polyglot/embedded archive" in found.reason
        assert "send the document without it" in found.reason
    # a benign zip, then hidden local entries after it
    after = in_the_middle(pdf, zipped({"a.txt": b"ok"}) + local_only)
    found = problem(after, BUDGET)
    assert found is not None and "after the zip archive embedded in it" in found.reason
    # two zips in one document: the first is data the last one's directory does not list
    two = in_the_middle(pdf, zipped({"a.txt": b"ok"}) + b"filler" * 10 + zipped({"b.txt": b"ok"}))
    found = problem(two, BUDGET)
    assert found is not None and "its directory does not list" in found.reason


def test_a_file_with_a_zip_in_its_middle_inside_an_archive_is_refused():
    pdf = make_pdf(["Policy"])
    for outer in (zipped({"policy.pdf": in_the_middle(pdf, zipped({"a.txt": b"ok"}))}),
                  tarred({"policy.pdf": in_the_middle(pdf, DEEP[:DEEP.index(b"PK\x01\x02")])})):
        found = problem(outer, BUDGET)
        assert found is not None and "'policy.pdf' in the file carries zip entries" in found.reason, found
    assert problem(zipped({"policy.pdf": pdf + TRAILER}), BUDGET) is None


def test_stray_signatures_in_ordinary_files_are_not_taken_for_zip_entries():
    # the signature followed by bytes no zip writer puts there (no method, no name), in text and binary
    stray = (b"notes PK\x03\x04 and PK\x01\x02 and PK\x05\x06 " * 50 + bytes(range(256)) * 100
             + b"PK\x03\x04" + b"\xff" * 40)
    assert find_local(stray) == -1 and zip_end(stray) is None
    assert problem(stray, BUDGET) is None and problem(zipped({"raw.bin": stray}), BUDGET) is None
    assert problem(make_png(300, 300), BUDGET) is None and problem(make_pdf(["Policy"]) + TRAILER, BUDGET) is None
    # a stored member holding a zip's bytes is that member's data, walked as a zip of its own
    assert problem(zipped({"inner.zip": zipped({"a.txt": b"ok"})}, zipfile.ZIP_STORED), BUDGET) is None


def test_a_local_header_cut_across_two_reads_is_found():
    header = zipped({"a.txt": b"ok"})[:40]
    for cut in range(1, 30):
        scan = LocalScan()
        stream = io.BytesIO(b"x" * 1000 + header + b"y" * 1000)
        first = stream.read(1000 + cut)
        scan.feed(first)
        assert not scan.found
        scan.feed(stream.read())
        assert scan.found, cut
