"""Round 31: Drive's refusals that are about the file, not the account's access, through the ingestion of an
evidence folder (Drive emulator, real clamd). A Google Doc whose export is over Drive's 10 MB (403
``exportSizeLimitExceeded``) and a file Drive flagged as malware or spam (403 ``cannotDownloadAbusiveFile``)
were read as permission errors: a ``permission_task`` to share the folder on every run and the file left
``pending`` for good. They are ``quarantined`` with a reason that names the fix (the flagged file also a
``security_alert``), are not read again, and a new version of the Doc is read and stored."""

from __future__ import annotations

from sandbox.gdrive.store import DriveFile, now_rfc3339
from tests.evidence.files import make_pdf
from tests.evidence.library import make_library
from tests.test_evidence_drive_ingest import _drop, _rows, _run

DOC = "application/vnd.google-apps.document"


def _statuses(wh) -> dict[str, tuple]:
    return {r[0]: r[1:] for r in _rows(wh, "select file_id, status, reason from evidence_stores.drive_files")}


def _alerts(lib) -> list[tuple[str, str]]:
    return [(a["kind"], a["filename"]) for a in lib.ledger.rows("alerts")]


def _reads(gdrive) -> list[str]:
    return [r["path"] for r in gdrive.sandbox.request_log if "alt=media" in r["query"] or r["path"].endswith("/export")]


def test_a_doc_too_large_to_export_and_a_flagged_file_are_quarantined_not_permission_tasks(
        gdrive, clamd, duckdb_warehouse, tmp_path):
    wh, store = duckdb_warehouse, gdrive.sandbox.store
    lib = make_library(tmp_path, clamd)
    big = store.add(DriveFile(store.new_id(), "Access review 2026", DOC, [gdrive.inbox_folder], "auditor@example.com",
                              b"user,role,approved\n" * (11 * 1024 * 1024 // 19))).id
    flagged = _drop(gdrive, "invoice.pdf", make_pdf(["invoice"]), "application/pdf")
    store.files[flagged].abusive = True
    store.record(flagged)
    ok = _drop(gdrive, "CAB minutes.pdf", make_pdf(["Change advisory board approval of CHG0042"]), "application/pdf")
    _run(wh, gdrive, lib)

    rows = _statuses(wh)
    assert rows[ok][0] == "stored"
    assert rows[big][0] == "quarantined" and "exportSizeLimitExceeded" in rows[big][1]
    assert "download it as PDF" in rows[big][1] and "share" not in rows[big][1]
    assert rows[flagged][0] == "quarantined" and "cannotDownloadAbusiveFile" in rows[flagged][1]
    assert "malware or spam" in rows[flagged][1]
    # no task to share a folder the account can already read; one security alert for the flagged file
    assert _alerts(lib) == [("security_alert", "invoice.pdf")]
    assert {o.metadata["filename"] for o in lib.store.list()} == {"CAB minutes.pdf"}

    # a re-run reads neither again (they are settled for this version) and raises nothing new
    gdrive.sandbox.clear_request_log()
    _run(wh, gdrive, lib)
    assert _reads(gdrive) == [] and len(lib.ledger.rows("alerts")) == 1
    assert {k: v[0] for k, v in _statuses(wh).items()} == {ok: "stored", big: "quarantined", flagged: "quarantined"}

    # the same version changed in its metadata (the change feed lists it again): read again, alerted once only
    store.record(flagged)
    _run(wh, gdrive, lib)
    assert _statuses(wh)[flagged][0] == "quarantined" and len(lib.ledger.rows("alerts")) == 1

    # the Doc cut down below the limit is a new version: exported as PDF and stored
    doc = store.files[big]
    doc.content, doc.modified = b"user,role,approved\nalice,admin,yes\n", now_rfc3339()
    store.record(big)
    _run(wh, gdrive, lib)
    assert _statuses(wh)[big][0] == "stored"
    assert "Access review 2026.pdf" in {o.metadata["filename"] for o in lib.store.list()}
    assert [k for k, _ in _alerts(lib)] == ["security_alert"]


def test_other_refusals_of_a_download_keep_their_meaning(gdrive, clamd, duckdb_warehouse, tmp_path):
    """Any other 403 on the download is still the account's access (a task, the file pending, read again);
    a 5xx still an error event. Once they stop, the file is stored."""
    wh = duckdb_warehouse
    lib = make_library(tmp_path, clamd)
    hidden = _drop(gdrive, "hr.pdf", make_pdf(["hr"]), "application/pdf")
    gdrive.sandbox.faults.set(rate_403=1.0, methods=["GET"], paths=[rf"/drive/v3/files/{hidden}$"])
    _run(wh, gdrive, lib)
    status, reason = _statuses(wh)[hidden]
    assert status == "pending" and f"share folder {gdrive.inbox_folder}" in reason
    assert _alerts(lib) == [("permission_task", "hr.pdf")]
    gdrive.sandbox.faults.replace(rate_5xx=1.0, methods=["GET"], paths=[rf"/drive/v3/files/{hidden}$"])
    _run(wh, gdrive, lib)
    assert _statuses(wh)[hidden][0] == "pending" and [k for k, _ in _alerts(lib)] == ["permission_task", "error_event"]
    gdrive.sandbox.faults.clear()
    _run(wh, gdrive, lib)
    assert _statuses(wh)[hidden][0] == "stored"
