"""The evidence_stores Dagster asset: finishes pending files and loads the library's ledger."""

from __future__ import annotations

import duckdb
from dagster import materialize

from assets.evidence import evidence_stores_ingest
from resources.evidence.library import EvidenceLibrary, ingest_file
from resources.warehouse import WarehouseResource


def test_asset_retries_pending_and_loads_the_ledger(duckdb_warehouse, clamd, monkeypatch, tmp_path):
    monkeypatch.setenv("PROJECTX_EVIDENCE_STORE", "local")
    monkeypatch.setenv("PROJECTX_CLAMD_ADDRESS", str(tmp_path / "down.sock"))  # scanner down: pending
    monkeypatch.delenv("EVIDENCE_GOOGLE_DRIVE_INGEST_FOLDER_IDS", raising=False)
    waiting = ingest_file(b"Privacy impact assessment for the HR system", "pia.txt", "email", ["inbox:grc"])
    assert waiting.status == "pending"
    monkeypatch.setenv("PROJECTX_CLAMD_ADDRESS", clamd.address)
    result = materialize([evidence_stores_ingest], resources={"warehouse": WarehouseResource.from_env()})
    assert result.success
    with duckdb.connect(duckdb_warehouse.duckdb_path, read_only=True) as con:
        rows = con.execute("select status, evidence_class, control_ids from evidence_stores.library_files "
                           "order by seq").fetchall()
        audit = con.execute("select action, system, operation, status from audit.events").fetchall()
    assert rows == [("pending", None, None), ("stored", "privacy_assessment", "OT-PIA-01")]
    assert sorted(audit) == [("evidence", "email", "ingest", "pending"), ("evidence", "email", "ingest", "stored")]
    assert EvidenceLibrary.from_env().retry_pending() == []
