"""Round 33 review: what a reviewer found in the RTF, OneNote and encrypted-PDF walkers (each case failed before).

``containers.problem`` returns why a file is quarantined, or None (stored clean)."""

from __future__ import annotations

import io
import re
import struct
import zlib

import pytest
from pypdf import PdfReader

from resources.evidence import containers
from resources.evidence.containers import problem
from tests.evidence.clamav import EICAR
from tests.evidence.library import make_library
from tests.test_round32_evidence_carriers import LZMA_ZIP, pdf_with
from tests.test_round33_evidence_onenote import HTA, section
from tests.test_round33_evidence_pdf_crypt import encrypted
from tests.test_round33_evidence_rtf import VBS, ole1, package, rtf


def test_a_bin_with_a_bare_minus_is_no_crash():
    found = problem(b"{\\rtf1{\\object\\objemb{\\*\\objdata \\bin- 41}}}", 1 << 30, unseen=(seen := []))
    assert found is None and [obj for _, obj in seen] == [b"A"], found


def test_an_unexpected_error_in_a_walker_quarantines_the_file(monkeypatch):
    def broken(*args, **kwargs):
        raise ValueError("bug")

    monkeypatch.setattr(containers.carriers, "walk", broken)
    found = problem(b"{\\rtf1 hello\\par}", 1 << 30)
    assert found is not None and not found.pending and "could not be checked: ValueError" in found.reason, found


def test_a_pdf_marker_in_an_rtf_or_onenote_head_hides_nothing():
    """Byte-0 signatures come first; a file that is both is walked both ways."""
    vbs = rtf(ole1(b"Package", package(b"Invoice.pdf.vbs", VBS)))
    titled = vbs.replace(b"{\\rtf1", b"{\\rtf1{\\info{\\title %PDF-}}", 1)
    found = problem(titled, 1 << 30)
    assert found is not None and "packages 'Invoice.pdf.vbs'" in found.reason, found
    one = section({"invoice.hta": HTA})
    one = one[:600] + b"%PDF-1.7" + one[608:]
    found = problem(one, 1 << 30)
    assert found is not None and "with 'invoice.hta' attached" in found.reason, found
    both = b"{\\rtf1{\\info{\\title %PDF-}}\\par}\n" + pdf_with(LZMA_ZIP)[9:]
    found = problem(both, 1 << 30)
    assert found is not None and "is compressed with LZMA" in found.reason, found
    assert problem(b"{\\rtf1{\\info{\\title %PDF- notes}}Access review\\par}", 1 << 30) is None


def in_object(objdata: bytes, before: bytes = b"") -> bytes:
    return b"{\\rtf1 " + before + b"{\\object\\objemb{\\*\\objclass Package}{\\*\\objdata " + objdata + b"}}\\par}"


VBS_OBJ = ole1(b"Package", package(b"Invoice.pdf.vbs", VBS))
EICAR_OBJ = ole1(b"Package", package(b"readme.txt", EICAR))


def test_an_escaped_objdata_in_text_starts_no_object(tmp_path, clamd):
    decoy = b"{see \\\\objdata "
    found = problem(in_object(VBS_OBJ.hex().encode(), decoy) + b"}", 1 << 30)
    assert found is not None and "packages 'Invoice.pdf.vbs'" in found.reason, found
    content = in_object(EICAR_OBJ.hex().encode(), decoy) + b"}"
    out = make_library(tmp_path, clamd).ingest(content, "policy.rtf", "email")
    assert out.status == "quarantined" and "ClamAV found" in out.reason, out.reason
    # a bare \objdata outside an object group: what follows is an object inside it, which is refused
    found = problem(in_object(VBS_OBJ.hex().encode(), b"\\objdata "), 1 << 30)
    assert found is not None and "an object inside an object" in found.reason, found
    # an even run of backslashes before it: a real object
    found = problem(b"{\\rtf1 \\\\\\\\" + in_object(VBS_OBJ.hex().encode())[7:], 1 << 30)
    assert found is not None and "packages 'Invoice.pdf.vbs'" in found.reason, found


@pytest.mark.parametrize("objdata", [
    b"\\binf " + VBS_OBJ.hex().encode(),  # \binf, \binary: control words of their own, not \bin
    b"\\binary " + VBS_OBJ.hex().encode(),
    b"\\" + b"a" * 41 + b" " + VBS_OBJ.hex().encode(),  # a 41-letter control word
    b"\\bin%012d " % len(VBS_OBJ) + VBS_OBJ,  # a 12-digit parameter
], ids=["binf", "binary", "long-word", "long-bin-parameter"])
def test_control_words_are_read_whole_as_word_reads_them(objdata):
    found = problem(in_object(objdata), 1 << 30)
    assert found is not None and "packages 'Invoice.pdf.vbs'" in found.reason, found


def test_hex_escapes_in_object_data_are_refused():
    h = VBS_OBJ.hex().encode()
    found = problem(in_object(h[:10] + b"\\'41" + h[10:]), 1 << 30)
    assert found is not None and "\\'hh escapes" in found.reason and "object at byte" in found.reason, found
    found = problem(in_object(h[:10] + b"\\~" + h[10:]), 1 << 30)
    assert found is not None and "control symbols" in found.reason, found
    assert problem(in_object(b"{\\*\\bkmkstart \\'41}" + ole1(b"Package", package(b"a.txt", b"x")).hex().encode()),
                   1 << 30) is None  # in an ignorable group: skipped whole


def named_package(label: bytes, path: bytes, temp: bytes, data: bytes, unicode: tuple[str, ...] = ()) -> bytes:
    temp += b"\0"
    out = (struct.pack("<H", 2) + label + b"\0" + path + b"\0" + struct.pack("<HH", 0, 3) + struct.pack("<I", len(temp))
           + temp + struct.pack("<I", len(data)) + data)
    return out + b"".join(struct.pack("<I", len(u)) + u.encode("utf-16-le") for u in unicode)


@pytest.mark.parametrize("obj", [
    ole1(b"package", package(b"Invoice.pdf.vbs", VBS)),
    ole1(b"PACKAGE ", package(b"Invoice.pdf.vbs", VBS)),
    ole1(b"Package", named_package(b"a.txt", b"C:\\a.txt", b"C:\\Temp\\Invoice.pdf.vbs", VBS)),
    ole1(b"Package", named_package(b"a.txt", b"C:\\a.txt", b"C:\\Temp\\a.txt", VBS,
                                   ("Invoice.pdf.vbs", "C:\\Temp\\a.txt", "C:\\a.txt"))),
    ole1(b"Package", named_package(b"a.txt", b"C:\\a.txt", b"C:\\Temp\\a.txt", VBS,
                                   ("a.txt", "C:\\Temp\\a.txt", "C:\\x\\Invoice.pdf.vbs\0"))),
], ids=["lower-case-class", "upper-case-class", "temp-path", "unicode-label", "unicode-source-path"])
def test_every_name_a_package_gives_its_file_is_checked(obj):
    found = problem(in_object(obj.hex().encode()), 1 << 30)
    assert found is not None and "packages 'Invoice.pdf.vbs" in found.reason, found
    names = ole1(b"Package", named_package(b"a.txt", b"C:\\a.txt", b"C:\\Temp\\a.txt", b"notes",
                                           ("a.txt", "C:\\Temp\\a.txt", "C:\\a.txt")))
    assert problem(in_object(names.hex().encode()), 1 << 30) is None


@pytest.mark.parametrize("name", ["invoice.hta.", "invoice.hta ", "invoice.hta\0", "invoice.hta. .", "console.msc",
                                  "w.gadget", "types.ps1xml", "shell.psc1"])
def test_a_onenote_attachment_name_with_a_trailing_dot_or_a_new_ending_is_refused(name):
    found = problem(section({name: b"<p>view</p>"}), 1 << 30)
    assert found is not None and "attached, a script or program" in found.reason, found
    assert problem(section({"invoice.pdf.": b"<p>view</p>"}), 1 << 30) is None


def crafted_xref_stream(size: bytes) -> bytes:
    """A small PDF whose xref stream declares ``size`` objects and names /Encrypt (pypdf: 24 s before the fix)."""
    rows = zlib.compress(b"\x01\x00\x0f\x00" * 2_000_000, 9)
    out = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n5 0 obj\n<< /Filter /Standard /V 1 /R 2 /O <" \
        + b"00" * 32 \
        + b"> /U <" + b"00" * 32 + b"> /P -4 >>\nendobj\n"
    xref = len(out)
    out += b"9 0 obj\n<< /Type /XRef " + size + b" /W [1 2 1] /Filter /FlateDecode /Length %d /Root 1 0 R " \
        b"/Encrypt 5 0 R >>\nstream\n" % len(rows) + rows + b"\nendstream\nendobj\n"
    return out + b"startxref\n%d\n%%%%EOF\n" % xref


@pytest.mark.parametrize("size", [b"/Size 2000000", b"/Si#7ae%x\n2000000", b"/Size 9 /Index [0 3 7 2000000]",
                                  # final review: a sign, leading zeros, an /Index counted in all
                                  b"/Size +2000000", b"/Size " + b"0" * 40 + b"2000000",
                                  b"/Size 9 /Index [0 40000 40000 40000]"])
def test_a_pdf_declaring_too_many_objects_is_refused_before_pypdf_reads_it(monkeypatch, size):
    import pypdf

    def never(*args, **kwargs):
        raise AssertionError("pypdf asked")

    monkeypatch.setattr(pypdf, "PdfReader", never)
    found = problem(crafted_xref_stream(size), 1 << 30)
    assert found is not None and "more than 50000 objects (its cross-reference section says so)" in found.reason, found


def duplicated(n: int) -> bytes:
    """An empty-password encrypted PDF whose xref table points ``n`` more entries at its content stream."""
    pdf = encrypted(pdf_with(b"BT (x) Tj ET"))
    at = pdf.index(b"xref\n0 6\n")
    offset = re.search(rb"\n(\d{10}) 00000 n \n(?=\d{10} 00000 n \ntrailer)", pdf).group(1)  # object 4's
    head, tail = pdf[:at], pdf[at:].replace(b"/Size 6", b"/Size %d" % (6 + n))
    tail = tail.replace(b"xref\n0 6\n", b"xref\n0 %d\n" % (6 + n)).replace(b"trailer", (offset + b" 00000 n \n") * n
                                                                        + b"trailer")
    return head + tail


def test_entries_pointing_at_one_stream_decrypt_it_once():
    from resources.evidence.container_readers import _Budget
    from resources.evidence.pdf_crypt import streams

    content = duplicated(200)
    assert len(PdfReader(io.BytesIO(content)).xref[0]) > 200
    parts = list(streams(content, "the file", _Budget(1 << 30, 1 << 30, len(content), 100, 10_000)))
    assert len(parts) == 1, [p for p, _ in parts]
    assert problem(content, 1 << 30) is None


@pytest.mark.parametrize("spelt", [b"/Encr#79pt 5 0 R", b"/Encrypt%c\n5 0 R", b"/#45ncrypt 5 0 R"])
def test_an_encrypt_key_however_written_is_seen(tmp_path, clamd, spelt):
    content = encrypted(pdf_with(EICAR), user="s3cret").replace(b"/Encrypt 5 0 R", spelt)
    assert PdfReader(io.BytesIO(content)).is_encrypted and clamd.scan(content).clean
    found = problem(content, 1 << 30)
    assert found is not None and "encrypted with a password" in found.reason, found


def test_a_pdf_pypdf_cannot_parse_is_not_called_password_protected():
    found = problem(b"%PDF-1.4\n1 0 obj\n<< /Encrypt 5 0 R >>\n" + b"garbage " * 10, 1 << 30)
    assert found is not None and "could not be parsed" in found.reason and "password" not in found.reason, found


def test_a_crypt_filter_before_flate_is_decoded():
    content = encrypted(pdf_with(LZMA_ZIP, b"[/Crypt /FlateDecode]"))
    found = problem(content, 1 << 30)
    assert found is not None and "is compressed with LZMA" in found.reason, found


def with_object(pdf: bytes, num: int, body: bytes) -> bytes:
    """``pdf`` (as pypdf writes it: one xref table) with object ``num`` replaced by ``body``, offsets redone."""
    objs = dict(re.findall(rb"(?m)^(\d+) 0 obj\n(.*?)\nendobj\n", pdf, re.S))
    objs[b"%d" % num] = body
    out, offsets = pdf[:pdf.index(b"1 0 obj")], []
    for n in sorted(objs, key=int):
        offsets.append(len(out))
        out += n + b" 0 obj\n" + objs[n] + b"\nendobj\n"
    trailer = pdf[pdf.index(b"trailer"):pdf.index(b"startxref")]
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1) + b"".join(b"%010d 00000 n \n" % o for o in offsets)
    return out + trailer + b"startxref\n%d\n%%%%EOF\n" % xref


def test_an_identity_crypt_filter_stream_is_read_as_the_file_holds_it():
    """pypdf decrypts every stream with the file's default; one whose own crypt filter is /Identity is plain."""
    body = zlib.compress(LZMA_ZIP)
    stream = (b"<< /Length %d /Filter [/Crypt /FlateDecode] /DecodeParms [<< /Type /CryptFilterDecodeParms /Name "
              b"/Identity >> null] >>\nstream\n" % len(body) + body + b"\nendstream")
    content = with_object(encrypted(pdf_with(b"BT (x) Tj ET")), 4, stream)
    assert PdfReader(io.BytesIO(content)).is_encrypted
    found = problem(content, 1 << 30)
    assert found is not None and "is compressed with LZMA" in found.reason, found


@pytest.mark.parametrize("escape", [b"\\u65 a", b"\\uc2 ", b"\\bin-4 "])
def test_unicode_escapes_and_negative_bin_in_object_data_are_refused(escape):
    h = VBS_OBJ.hex().encode()
    found = problem(in_object(h[:10] + escape + h[10:]), 1 << 30)
    assert found is not None and "obfuscation no editor writes" in found.reason, found
