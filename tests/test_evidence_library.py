"""The pipeline every evidence file passes, with a real clamd and the shipped test signatures:
limits, scan, metadata, classification, store; infected files quarantined with a security alert;
files that cannot finish wait as pending with their reason and are finished later."""

from __future__ import annotations

import email.message

import pytest

from resources.evidence.base import content_address
from resources.evidence.scan import ClamdScanner
from tests.evidence.clamav import EICAR, MARKER
from tests.evidence.files import make_pdf, make_png
from tests.evidence.library import make_library


def test_clean_pdf_is_stored_with_metadata_and_classification(tmp_path, clamd):
    lib = make_library(tmp_path, clamd)
    pdf = make_pdf(["Change approval: the CAB approved CHG0030001", "Implementation plan", "Rollback plan"])
    out = lib.ingest(pdf, "chg0030001.bin", "servicenow", ["change-management"])
    assert out.status == "stored" and out.reason is None
    assert out.sha256 == content_address(pdf)
    assert out.metadata["mime_type"] == "application/pdf"  # sniffed, whatever the name says
    assert out.metadata["page_count"] == 3
    assert "CAB approved CHG0030001" in out.metadata["text_excerpt"]
    assert out.metadata["scan_status"] == "clean"
    assert out.evidence_class == "change_approval" and out.control_ids == ("SN-CHG-01",)
    assert out.tags == ("source:servicenow", "change-management")
    assert lib.store.get(out.sha256) == pdf
    assert lib.store.head(out.sha256).metadata["evidence_class"] == "change_approval"
    [row] = lib.ledger.rows("files")
    assert (row["status"], row["page_count"], row["control_ids"]) == ("stored", 3, "SN-CHG-01")


@pytest.mark.parametrize("content", [EICAR, EICAR + b"\n", make_pdf(["quarterly access review"], extra=MARKER)],
                         ids=["eicar", "eicar-newline", "pdf-with-test-signature"])
def test_infected_files_are_quarantined_never_stored(tmp_path, clamd, content):
    lib = make_library(tmp_path, clamd)
    out = lib.ingest(content, "invoice.pdf", "jira", ["control:CM-3"])
    assert out.status == "quarantined" and out.storage_uri is None
    assert out.reason.startswith("ClamAV found ProjectX.Test.")
    assert not lib.store.exists(out.sha256) and list(lib.store.list()) == []
    assert (lib.quarantine_dir / out.sha256).read_bytes() == content
    [alert] = lib.ledger.rows("alerts")
    assert alert["kind"] == "security_alert" and "invoice.pdf" in alert["message"]
    assert lib.ledger.rows("files")[0]["scan_signature"].startswith("ProjectX.Test.")


def test_limits_quarantine_with_a_reason(tmp_path, clamd):
    lib = make_library(tmp_path, clamd, max_bytes=1000)
    big = lib.ingest(b"a" * 1001, "big.txt", "slack")
    assert big.status == "quarantined" and "PROJECTX_EVIDENCE_MAX_BYTES" in big.reason
    elf = lib.ingest(b"\x7fELF\x02\x01\x01" + b"\0" * 200, "report.pdf", "email")
    assert elf.status == "quarantined" and "application/x-executable" in elf.reason
    assert list(lib.store.list()) == [] and lib.ledger.rows("alerts") == []


def test_image_and_email_metadata(tmp_path, clamd):
    lib = make_library(tmp_path, clamd)
    png = lib.ingest(make_png(640, 480), "screenshot", "slack")
    assert (png.metadata["mime_type"], png.metadata["image_width"], png.metadata["image_height"]) == \
        ("image/png", 640, 480)
    assert png.evidence_class == "screenshot"
    msg = email.message.EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "cab@example.com", "grc@example.com", "Change approval CHG42"
    msg["Message-ID"] = "<chg42@example.com>"
    msg.set_content("The change advisory board approved CHG42.")
    mail = lib.ingest(msg.as_bytes(), "chg42.eml", "email")
    assert mail.metadata["mime_type"] == "message/rfc822"
    assert mail.metadata["email_subject"] == "Change approval CHG42"
    assert mail.metadata["email_message_id"] == "<chg42@example.com>"
    assert mail.evidence_class == "change_approval"


def test_hostile_files_keep_what_parsed(tmp_path, clamd):
    lib = make_library(tmp_path, clamd)
    broken = lib.ingest(b"%PDF-1.7\n" + b"\xff" * 300, "x.pdf", "jira")
    assert broken.status == "stored" and "did not parse" in broken.metadata["parse_error"]
    bad_utf8 = lib.ingest(b"incident report \xc3\x28 root cause analysis", "notes.txt", "jira")
    assert bad_utf8.status == "stored" and bad_utf8.evidence_class == "incident_report"
    empty = lib.ingest(b"", "empty.txt", "jira")
    assert empty.status == "stored" and empty.sha256 == content_address(b"")


def test_large_file_is_scanned_in_chunks(tmp_path, clamd):
    lib = make_library(tmp_path, clamd)
    payload = b"x" * (20 * 1024 * 1024) + EICAR
    assert lib.ingest(payload, "dump.txt", "servicenow").status == "quarantined"


def test_scanner_down_keeps_files_pending_then_finishes_them(tmp_path, clamd):
    down = ClamdScanner(str(tmp_path / "no-such.sock"), timeout=2)
    lib = make_library(tmp_path, down)
    clean = lib.ingest(make_pdf(["incident report INC001"]), "inc.pdf", "servicenow", source_ref="a1")
    bad = lib.ingest(EICAR, "eicar.com", "servicenow", source_ref="a2")
    assert {clean.status, bad.status} == {"pending"}
    assert "PROJECTX_CLAMD_ADDRESS" in clean.reason
    assert list(lib.store.list()) == []
    lib.scanner = clamd
    done = {o.filename: o for o in lib.retry_pending()}
    assert done["inc.pdf"].status == "stored" and done["eicar.com"].status == "quarantined"
    assert lib.retry_pending() == []  # nothing left waiting
    assert [o.sha256 for o in lib.store.list()] == [clean.sha256]


def test_no_scanner_where_scanning_is_required_is_pending(tmp_path):
    lib = make_library(tmp_path, None, require_scan=True)
    out = lib.ingest(b"hello", "a.txt", "jira")
    assert out.status == "pending" and "PROJECTX_CLAMD_ADDRESS" in out.reason


def test_attachment_hook_reports_a_misconfigured_store_as_failed(tmp_path, monkeypatch):
    from pipelines.common.evidence import admit_evidence

    monkeypatch.setenv("PROJECTX_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("PROJECTX_EVIDENCE_STORE", "s3")
    monkeypatch.delenv("EVIDENCE_S3_BUCKET", raising=False)
    row = admit_evidence("servicenow", b"x", tmp_path, "a.txt", "abc")
    assert row["content_status"] == "failed" and "EVIDENCE_S3_BUCKET" in row["content_error"]
    monkeypatch.setenv("PROJECTX_EVIDENCE_STORE", "local")
    monkeypatch.delenv("PROJECTX_CLAMD_ADDRESS", raising=False)
    row = admit_evidence("servicenow", b"x", tmp_path, "a.txt", "abc")
    assert row["content_status"] == "stored" and row["storage_uri"].startswith("file://")
