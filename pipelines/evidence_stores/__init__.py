"""The Evidence Library's records into the warehouse (dataset ``evidence_stores``), and evidence
folders in the providers ingested as evidence.

Resources:

- ``library_files``: one row per outcome the library recorded (stored, quarantined, pending), with
  metadata and classification; incremental by the ledger's sequence number, appended.
- ``library_alerts``: security alerts (infected files), permission tasks, quota pauses and error
  events; incremental by sequence number.
- ``library_pauses``: providers whose ingestion is paused now (replaced each run; empty when none).
- ``drive_files`` (when Drive folders are given): see ``drive.py``.
- ``s3_files`` (when S3 prefixes are given): see ``s3.py``.
- ``sharepoint_files`` (when SharePoint folders are given): see ``sharepoint.py``.

Runs alone: ``python -m pipelines.evidence_stores``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import dlt
from dlt.sources import DltResource

from resources.evidence.ledger import FILE_COLUMNS, Ledger


def _text() -> dict:
    return {"data_type": "text", "nullable": True}  # a fresh dict per column: dlt fills in its name


def _int() -> dict:
    return {"data_type": "bigint", "nullable": True}


def _ledger_rows(ledger_path: str | None, table: str) -> DltResource:
    def rows(seq=dlt.sources.incremental("seq", initial_value=0)) -> Iterator[dict[str, Any]]:  # noqa: B008
        yield from Ledger(ledger_path).rows(table, after_seq=seq.last_value or 0)

    columns = {"seq": {"data_type": "bigint", "nullable": False}}
    if table == "files":
        columns.update({c: _int() for c in ("size_bytes", "page_count", "image_width", "image_height")})
        columns.update({c: _text() for c in ("recorded_at", *FILE_COLUMNS) if c not in columns})
    else:
        columns.update({c: _text() for c in ("raised_at", "kind", "provider", "sha256", "filename", "source",
                                          "message")})
    return dlt.resource(rows, name=f"library_{table}", primary_key="seq", write_disposition="merge",
                        columns=columns)


@dlt.source(name="evidence_stores")
def evidence_stores_source(ledger_path: str | None = None, drive_folders: list[str] | None = None,
                           drive_credentials_file: str | None = None, drive_api_endpoint: str | None = None,
                           library=None, s3_prefixes: list[tuple[str, str]] | None = None,
                           sharepoint_folders: list[str] | None = None, sharepoint_settings=None
                           ) -> list[DltResource]:
    """The library's ledger (``PROJECTX_EVIDENCE_LEDGER``, default ``<data>/evidence-ledger.sqlite``),
    and the Drive folders to ingest (``EVIDENCE_GOOGLE_DRIVE_INGEST_FOLDER_IDS``, comma-separated), the S3
    prefixes (``EVIDENCE_S3_INGEST_PREFIXES``, as ``(bucket, prefix)``) and the SharePoint folders
    (``SHAREPOINT_INGEST_FOLDERS``), read before the ledger so this run's outcomes load with it."""
    def pauses() -> Iterator[dict[str, Any]]:
        yield from Ledger(ledger_path).pauses()

    drive = []
    if drive_folders:
        from pipelines.evidence_stores.drive import drive_files_resource

        if not drive_credentials_file:
            raise ValueError("Drive ingestion needs a service account: set GOOGLE_APPLICATION_CREDENTIALS")
        drive = [drive_files_resource(drive_folders, drive_credentials_file, drive_api_endpoint, library)]
    if s3_prefixes:
        from pipelines.evidence_stores.s3 import s3_files_resource

        drive.append(s3_files_resource(s3_prefixes, library))
    if sharepoint_folders:
        from pipelines.evidence_stores.sharepoint import sharepoint_files_resource

        drive.append(sharepoint_files_resource(sharepoint_folders, library, sharepoint_settings))
    return [
        *drive,
        _ledger_rows(ledger_path, "files"),
        _ledger_rows(ledger_path, "alerts"),
        dlt.resource(pauses, name="library_pauses", write_disposition="replace",
                     columns={"provider": _text(), "paused_at": _text(), "reason": _text()}),
    ]
