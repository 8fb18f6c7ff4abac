"""The Evidence Library's Dagster asset (group ``evidence_stores``): finish pending files, ingest
the watched Google Drive folders, S3 prefixes and SharePoint folders (each only when configured),
and load the library's ledger into the warehouse.

Tables: ``library_files`` (one row per outcome: stored, quarantined, pending), ``library_alerts``
(security alerts, permission tasks, quota pauses, error events), ``library_pauses`` (providers paused
now), ``drive_files`` (one row per file of a watched Drive folder), ``s3_files`` (per object under a
watched S3 prefix), ``sharepoint_files`` (per file of a watched SharePoint folder). The marts read them through
``stg_evidence_stores__*``: ``evidence_files``, ``evidence``, ``evidence_links``, ``integration_health``.
"""

import os
from collections.abc import Iterator

from dagster import AssetExecutionContext, AssetKey, AssetSpec, MaterializeResult, MetadataValue, multi_asset

from resources.audit import CORRELATION_TAG, new_correlation_id, record_event
from resources.warehouse import WarehouseResource

TABLES = {
    "library_files": "What the Evidence Library did with each file it was handed (ledger order): stored with "
                     "metadata and classification, quarantined with the reason, or pending.",
    "library_alerts": "Security alerts (infected files), permission tasks, quota pauses and error events.",
    "library_pauses": "Evidence store providers whose ingestion is paused now (quota), with the reason.",
    "drive_files": "One row per file in a watched Google Drive evidence folder "
                   "(EVIDENCE_GOOGLE_DRIVE_INGEST_FOLDER_IDS), merged on the Drive file id.",
    "s3_files": "One row per object under a watched S3 evidence prefix (EVIDENCE_S3_INGEST_PREFIXES), merged on "
                "s3://bucket/key.",
    "sharepoint_files": "One row per file in a watched SharePoint evidence folder (SHAREPOINT_INGEST_FOLDERS), "
                        "merged on the Graph drive item id.",
}


@multi_asset(
    specs=[AssetSpec(AssetKey(["evidence_stores", t]), description=d, group_name="evidence_stores",
                     kinds={"dlt", "duckdb"}) for t, d in TABLES.items()],
    name="evidence_stores_ingest",
    pool="warehouse",
)
def evidence_stores_ingest(context: AssetExecutionContext, warehouse: WarehouseResource
                           ) -> Iterator[MaterializeResult]:
    """Retry pending evidence files, ingest the Drive, S3 and SharePoint evidence folders, load the ledger."""
    from pipelines.common.recovery import recovered_pipeline
    from pipelines.common.runner import normalized_rows
    from pipelines.evidence_stores import evidence_stores_source
    from pipelines.evidence_stores.s3 import prefixes_from_env
    from pipelines.evidence_stores.sharepoint import folders_from_env
    from resources.evidence.library import EvidenceLibrary

    library = EvidenceLibrary.from_env()
    retried = library.retry_pending()
    folders = [f for f in os.environ.get("EVIDENCE_GOOGLE_DRIVE_INGEST_FOLDER_IDS", "").split(",") if f.strip()]
    prefixes, sp_folders = prefixes_from_env(), folders_from_env()
    source = evidence_stores_source(drive_folders=folders, library=library,
                                    drive_credentials_file=os.environ.get("GOOGLE_APPLICATION_CREDENTIALS"),
                                    drive_api_endpoint=os.environ.get("EVIDENCE_GOOGLE_DRIVE_API_ENDPOINT"),
                                    s3_prefixes=prefixes, sharepoint_folders=sp_folders)
    with recovered_pipeline(warehouse.settings, "evidence_stores") as run:  # a killed run's packages discarded
        if run.reason:
            context.log.warning(f"evidence_stores: recovered: {run.reason}; discarded its unfinished dlt packages")
        info = run.pipeline.run(source)
        counts = normalized_rows(run.pipeline)
    _audit(context, warehouse, list(info.loads_ids))
    context.log.info(f"evidence library: {len(retried)} pending file(s) retried, {len(folders)} Drive folder(s), "
                     f"{len(prefixes)} S3 prefix(es), {len(sp_folders)} SharePoint folder(s)")
    configured = {"drive_files": folders, "s3_files": prefixes, "sharepoint_files": sp_folders}
    for table in TABLES:
        if table in configured and not configured[table]:
            continue
        yield MaterializeResult(asset_key=AssetKey(["evidence_stores", table]), metadata={
            "row_count": MetadataValue.int(int(counts.get(table, 0))),
            "pending_retried": MetadataValue.int(len(retried))})


def _audit(context, warehouse: WarehouseResource, load_ids: list[str]) -> None:
    """One audit event per library outcome and alert loaded by this run (ids and statuses only)."""
    if not load_ids:
        return
    correlation = context.run.tags.get(CORRELATION_TAG) or new_correlation_id()
    marks = ", ".join("%s" for _ in load_ids)
    with warehouse.connect() as conn:
        if conn.table_exists("evidence_stores", "library_files"):
            for row in conn.query("select sha256, source, source_ref, status, store from evidence_stores.library_files"
                                  f" where _dlt_load_id in ({marks}) order by seq", load_ids):
                record_event(conn, action="evidence", system=row["source"] or "evidence_library",
                             correlation_id=correlation, operation="ingest", object_id=row["sha256"],
                             status=row["status"], run_id=context.run_id,
                             detail={"store": row["store"], "source_ref": row["source_ref"]})
        if conn.table_exists("evidence_stores", "library_alerts"):
            for row in conn.query("select kind, provider, sha256 from evidence_stores.library_alerts"
                                  f" where _dlt_load_id in ({marks}) order by seq", load_ids):
                record_event(conn, action="evidence", system=row["provider"], correlation_id=correlation,
                             operation=row["kind"], object_id=row["sha256"], status="raised", run_id=context.run_id)
