"""Round 34: a checker that fails (``resources/evidence/containers.py``).

The generic catch quarantined the file and logged nothing: an operator saw "could not be checked" with no trace
of which file or what failed. It now logs the exception's type and the file's sha256 (never its bytes or the
exception's text, which may quote them). A fault of the machine rather than the file (an ``OSError`` with an
errno: disk full while spooling, too many open files, an I/O error; a ``MemoryError``) quarantined the file for
good, or even called a zip "an archive that does not open"; it now leaves the file pending, retried by
``retry_pending`` once the machine is healthy, never stored meanwhile. An ``OSError`` without errno is what the
readers raise for a file's own bad bytes (``BadGzipFile``): still settled."""

from __future__ import annotations

import errno
import logging

import pytest

from resources.evidence import container_readers, containers
from resources.evidence.base import content_address
from resources.evidence.containers import problem
from tests.evidence.library import make_library
from tests.test_round32_evidence_carriers import zipped

SECRET = b"{\\rtf1 salary table: ann 123456\\par}"
DOCX = zipped({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document/>"})


def failing(exc: BaseException):
    def broken(*args, **kwargs):
        raise exc
    return broken


def test_an_unexpected_error_is_logged_with_the_file_id_and_no_content(monkeypatch, caplog):
    monkeypatch.setattr(containers.carriers, "walk", failing(ValueError(f"bad byte in {SECRET!r}")))
    with caplog.at_level(logging.WARNING, logger="resources.evidence.containers"):
        found = problem(SECRET, 1 << 30)
    assert found is not None and not found.pending and "could not be checked: ValueError" in found.reason, found
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert content_address(SECRET) in logged and "ValueError" in logged, logged
    assert "salary" not in logged and "salary" not in found.reason


@pytest.mark.parametrize("exc", [OSError(errno.ENOSPC, "No space left on device"),
                                 OSError(errno.EMFILE, "Too many open files"), MemoryError()],
                         ids=["disk-full", "open-files", "memory"])
def test_a_fault_of_the_machine_leaves_the_file_pending(monkeypatch, caplog, exc):
    monkeypatch.setattr(containers.carriers, "walk", failing(exc))
    with caplog.at_level(logging.WARNING, logger="resources.evidence.containers"):
        found = problem(SECRET, 1 << 30)
    assert found is not None and found.pending, found
    assert type(exc).__name__ in found.reason and "retried" in found.reason, found.reason
    assert content_address(SECRET) in " ".join(r.getMessage() for r in caplog.records)


def test_an_io_error_reading_a_zip_is_no_corrupt_archive(monkeypatch, caplog):
    monkeypatch.setattr(container_readers.zipfile, "ZipFile", failing(OSError(errno.EIO, "Input/output error")))
    with caplog.at_level(logging.WARNING, logger="resources.evidence.containers"):
        found = problem(DOCX, 1 << 30)
    assert found is not None and found.pending and "does not open" not in found.reason, found
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert content_address(DOCX) in logged and "OSError" in logged, logged
    monkeypatch.setattr(container_readers.zipfile, "ZipFile", failing(OSError("Not a gzipped file (b'PK')")))
    found = problem(DOCX, 1 << 30)  # no errno: the file's own bytes, settled as before
    assert found is not None and not found.pending and "does not open" in found.reason, found


def test_a_pending_fault_is_retried_and_stored(tmp_path, clamd, monkeypatch):
    lib = make_library(tmp_path, clamd)
    with monkeypatch.context() as patched:
        patched.setattr(containers.carriers, "walk", failing(OSError(errno.ENOSPC, "No space left on device")))
        out = lib.ingest(SECRET, "salaries.rtf", "email")
    assert out.status == "pending", (out.status, out.reason)
    assert list(lib.store.list()) == []
    assert [o.status for o in lib.retry_pending()] == ["stored"]


@pytest.mark.parametrize("where", ["PdfReader", "get_object"])
def test_out_of_memory_in_an_encrypted_pdf_is_no_verdict(monkeypatch, where):
    """pypdf's failures were caught whole: out of memory while parsing quarantined the file for good, and while
    reading one object skipped that object's stream unchecked (the file could be stored clean)."""
    import pypdf

    from tests.test_round32_evidence_carriers import LZMA_ZIP, pdf_with
    from tests.test_round33_evidence_pdf_crypt import encrypted

    content = encrypted(pdf_with(LZMA_ZIP))
    if where == "PdfReader":
        monkeypatch.setattr(pypdf, "PdfReader", failing(MemoryError()))
    else:
        read = pypdf.PdfReader.get_object

        def stream_fails(self, ref):
            if getattr(ref, "idnum", ref) == 4:  # the content stream, with the LZMA zip
                raise MemoryError
            return read(self, ref)

        monkeypatch.setattr(pypdf.PdfReader, "get_object", stream_fails)
    found = problem(content, 1 << 30)
    assert found is not None and found.pending and "MemoryError" in found.reason, found
