"""Round 31: the expansion budget is what clamd reads (``PROJECTX_EVIDENCE_MAX_SCAN_BYTES``, default 400 MiB,
clamd's default MaxScanSize; kept within the clamd's MaxScanSize).

clamd stops reading a file once the file and what it extracted from it, all levels counted, reach its
MaxScanSize, and answers OK. The library's budget was max(10 x the size limit, 1 GiB), so an xlsx of two
70 MiB sheets with an EICAR at the end of the second (22 MB, 159 MB in all) was stored as clean by a clamd
reading 140M (the test clamd; 400M by default). Now what is past the scan budget waits, pending, with a
reason naming the setting and clamd's MaxScanSize; never stored, never quarantined as infected.
"""

from __future__ import annotations

import io
import zipfile

import pytest

from resources.evidence.containers import problem
from resources.evidence.library import DEFAULT_MAX_SCAN_BYTES, EvidenceLibrary
from tests.evidence.clamav import EICAR, MAX_SCAN_BYTES
from tests.evidence.library import make_library
from tests.test_round31_evidence_clamav import _sheets

SETTINGS = ("PROJECTX_EVIDENCE_MAX_SCAN_BYTES", "MaxScanSize")


def _expanded(content: bytes) -> int:
    return sum(i.file_size for i in zipfile.ZipFile(io.BytesIO(content)).infolist())


def _zipped(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return out.getvalue()


def test_eicar_past_clamds_max_scan_size_in_an_xlsx_is_never_stored_as_clean(tmp_path, clamd):
    two = _sheets(2, 26, EICAR)  # two sheets of ~65 MiB, each within MaxFileSize (120M) and the size limit
    assert len(two) + _expanded(two) > MAX_SCAN_BYTES and max(
        i.file_size for i in zipfile.ZipFile(io.BytesIO(two)).infolist()) < 100 * 1024 * 1024
    assert clamd.scan(two).clean  # clamd stopped at its MaxScanSize, short of the EICAR: OK, for real
    lib = make_library(tmp_path, clamd)
    out = lib.ingest(two, "user-access-export.xlsx", "sharepoint", source_ref="item-9@v1")
    assert out.status == "pending", (out.status, out.reason)
    assert all(s in out.reason for s in SETTINGS) and "sheet2.xml" in out.reason, out.reason
    assert f"more than {MAX_SCAN_BYTES} bytes" in out.reason and len(out.reason) <= 500
    assert out.metadata["scan_status"] == "clean"  # what clamd said, kept; not a verdict the library takes
    assert list(lib.store.list()) == [] and not lib.quarantine_dir.exists()
    assert lib.ledger.rows("alerts") == [] and lib.ledger.last_stored("sharepoint", "item-9@v1") is None
    assert any(f.read_bytes() == two for f in lib.pending_dir.iterdir())
    assert [o.status for o in lib.retry_pending()] == ["pending"]  # still over: it waits, never stored
    assert list(lib.store.list()) == []
    assert problem(two, 1 << 30) is None  # the old budget alone (1 GiB) let it through


def test_the_budget_counts_the_file_itself_and_every_level_to_the_byte():
    """As clamd counts: the file, then each extracted file (a nested zip, then its members)."""
    inner = _zipped({"sheet.xml": b"<row/>" * 20_000})
    outer = _zipped({"a.txt": b"audit log\n" * 5_000, "inner.zip": inner}, zipfile.ZIP_STORED)
    total = len(outer) + 50_000 + len(inner) + 120_000
    assert problem(outer, 1 << 30, max_scan_bytes=total) is None
    over = problem(outer, 1 << 30, max_scan_bytes=total - 1)
    assert over is not None and over.pending and all(s in over.reason for s in SETTINGS)
    assert "'sheet.xml' in 'inner.zip' in the file" in over.reason


def test_a_file_over_the_scan_budget_waits_whatever_it_is(tmp_path, clamd):
    """A plain file past it (a size limit raised above clamd's MaxScanSize) is not read whole by clamd either."""
    lib = make_library(tmp_path, clamd, max_scan_bytes=10_000)
    out = lib.ingest(b"user,role\n" * 1_001, "users.csv", "jira")
    assert out.status == "pending" and out.reason.startswith("the file is more than 10000 bytes"), out.reason
    assert all(s in out.reason for s in SETTINGS) and list(lib.store.list()) == []
    assert lib.ingest(b"user,role\n" * 999, "users2.csv", "jira").status == "stored"
    lib.max_scan_bytes = 1_000_000  # raised (with clamd's MaxScanSize): finished on the next retry
    assert [o.status for o in lib.retry_pending()] == ["stored"]


def test_a_zip_bomb_is_still_quarantined_before_the_scan_budget_is_reached(tmp_path, clamd):
    bomb = _zipped({"zeros.bin": b"\0" * (150 * 1024 * 1024)})
    out = make_library(tmp_path, clamd).ingest(bomb, "bomb.zip", "slack")
    assert out.status == "quarantined" and "zip bomb" in out.reason


@pytest.fixture
def env(tmp_path, monkeypatch):
    for name in ("PROJECTX_EVIDENCE_MAX_SCAN_BYTES", "PROJECTX_CLAMD_ADDRESS", "PROJECTX_EVIDENCE_STORE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PROJECTX_ENV", "local")
    monkeypatch.setenv("PROJECTX_EVIDENCE_REQUIRE_SCAN", "false")
    monkeypatch.setenv("PROJECTX_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("PROJECTX_EVIDENCE_LEDGER", str(tmp_path / "ledger.sqlite"))
    return monkeypatch


def test_the_scan_budget_comes_from_the_environment(env, tmp_path):
    assert EvidenceLibrary.from_env(tmp_path / "lib").max_scan_bytes == DEFAULT_MAX_SCAN_BYTES == 400 << 20
    env.setenv("PROJECTX_EVIDENCE_MAX_SCAN_BYTES", "100000")
    lib = EvidenceLibrary.from_env(tmp_path / "lib")
    out = lib.ingest(_zipped({"report.txt": b"0" * 200_000}), "c.zip", "sharepoint")
    assert out.status == "pending" and "PROJECTX_EVIDENCE_MAX_SCAN_BYTES" in out.reason
    env.setenv("PROJECTX_EVIDENCE_MAX_SCAN_BYTES", "400MB")
    with pytest.raises(ValueError, match=r"^PROJECTX_EVIDENCE_MAX_SCAN_BYTES='400MB' is not "):
        EvidenceLibrary.from_env(tmp_path / "lib")
