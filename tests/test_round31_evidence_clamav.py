"""Round 31: infected files inside archives, with the real clamd (StreamMaxLength and MaxFileSize 120M, MaxScanSize
140M here) and the shipped signatures.

- An EICAR at the end of a 130 MB sheet in a 20 MB xlsx: clamd reads no more of one file in an archive than
  its MaxFileSize and answers OK (its blind spot, shown for real); the library stored it as clean. A member
  past the size limit (``PROJECTX_EVIDENCE_MAX_BYTES``, which clamd's MaxFileSize must reach anyway) now
  leaves the file pending with the reason naming both settings, never stored; rows split into sheets that
  clamd reads whole are stored (or found infected).
- EICAR in a zip in a tar.gz dropped in a watched Drive folder is quarantined through the ingestion, with a
  security alert, and never reaches the store or the warehouse as stored.
"""

from __future__ import annotations

import gzip
import io
import random
import tarfile
import zipfile

from resources.evidence.containers import problem
from tests.evidence.clamav import EICAR
from tests.evidence.library import make_library
from tests.test_evidence_drive_ingest import _drop, _rows, _run

MIB = 1024 * 1024


def _sheets(sheets: int, blocks: int, tail: bytes) -> bytes:
    """An xlsx of ``blocks`` x ~5.4 MiB of sheet XML (compressing ~6x) in ``sheets`` sheets, ``tail`` at the
    end of the last one."""
    rng = random.Random(7)
    block = "".join(f'<row r="{r}">' + "".join(f'<c r="{c}{r}" t="s"><v>{rng.randrange(300)}</v></c>'
                                              for c in "ABCDEFGHIJ") + "</row>" for r in range(1, 15_001)).encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        zf.writestr("[Content_Types].xml", b"<Types/>")
        for n in range(sheets):
            end = tail if n == sheets - 1 else b""
            zf.writestr(f"xl/worksheets/sheet{n + 1}.xml",
                        b"<worksheet><sheetData>" + block * (blocks // sheets) + end + b"</sheetData></worksheet>")
    return buf.getvalue()


def test_eicar_past_clamds_max_file_size_inside_an_xlsx_is_never_stored_as_clean(tmp_path, clamd):
    one = _sheets(1, 26, EICAR)  # ~20 MB, one sheet of ~140 MiB
    assert len(one) < 30 * MIB and clamd.scan(one).clean  # clamd did not read the sheet to its end
    lib = make_library(tmp_path, clamd)  # the size limit at its default, 100 MiB
    out = lib.ingest(one, "user-access-export.xlsx", "sharepoint")
    assert out.status == "pending" and "sheet1.xml" in out.reason and "MaxFileSize" in out.reason
    assert "PROJECTX_EVIDENCE_MAX_BYTES" in out.reason and f"more than {100 * MIB} bytes" in out.reason
    assert list(lib.store.list()) == [] and any(f.read_bytes().endswith(one) for f in lib.pending_dir.iterdir())
    assert problem(one, 1 << 30) is None  # the rule is the member's size: the budget alone let it through
    # without the EICAR it is held the same way: nobody can say what clamd did not read
    clean = lib.ingest(_sheets(1, 26, b""), "export-2.xlsx", "sharepoint")
    assert clean.status == "pending" and list(lib.store.list()) == []

    # two sheets of ~50 MiB (122 MB with the file, within clamd's MaxScanSize here): each read whole, stored; an
    # EICAR at the end of the second is found (past it, it is not: test_round31_evidence_scan_budget.py)
    two = _sheets(2, 20, b"")
    stored = lib.ingest(two, "export-3.xlsx", "sharepoint")
    assert stored.status == "stored", stored.reason
    infected = lib.ingest(_sheets(2, 20, EICAR), "export-4.xlsx", "sharepoint")
    assert infected.status == "quarantined" and infected.reason.startswith("ClamAV found ProjectX.Test.")
    assert [o.sha256 for o in lib.store.list()] == [stored.sha256]


def test_eicar_in_a_zip_in_a_tarball_from_a_drive_folder_is_quarantined(gdrive, clamd, duckdb_warehouse, tmp_path):
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("evidence/screenshot.txt", EICAR)
    tar = io.BytesIO()
    with tarfile.open(fileobj=tar, mode="w:gz") as tf:
        info = tarfile.TarInfo("bundle/evidence.zip")
        info.size = len(inner.getvalue())
        tf.addfile(info, io.BytesIO(inner.getvalue()))
    packed = tar.getvalue()
    assert packed[:2] == b"\x1f\x8b" and EICAR not in gzip.decompress(packed)  # nowhere in the clear
    lib = make_library(tmp_path, clamd)
    bad = _drop(gdrive, "Q3 evidence.tgz", packed, "application/gzip")
    ok = _drop(gdrive, "Q3 minutes.txt", b"CAB approved CHG0042")
    _run(duckdb_warehouse, gdrive, lib)
    rows = {r[0]: r[1:] for r in _rows(duckdb_warehouse, "select file_id, status, reason, storage_uri "
                                                         "from evidence_stores.drive_files")}
    assert rows[ok][0] == "stored"
    assert rows[bad][0] == "quarantined" and rows[bad][1].startswith("ClamAV found ProjectX.Test.")
    assert rows[bad][2] is None
    assert [(a["kind"], a["filename"]) for a in lib.ledger.rows("alerts")] == [("security_alert", "Q3 evidence.tgz")]
    assert [o.metadata["filename"] for o in lib.store.list()] == ["Q3 minutes.txt"]
