"""ServiceNow ingestion assets: one asset per synced table, in group ``servicenow``."""


import time
from collections.abc import Iterator

from dagster import AssetExecutionContext, MaterializeResult, MetadataValue
from dagster_dlt import DagsterDltResource, dlt_assets

from assets.dlt_translator import ProjectXDltTranslator
from pipelines.common.quarantine import QUARANTINE_TABLE
from pipelines.common.warehouse import WarehouseSettings
from pipelines.servicenow import servicenow_source
from resources.environment import current_environment
from resources.servicenow import ServiceNowResource
from resources.warehouse import WarehouseResource

DESCRIPTIONS = {
    "incidents": (
        "ServiceNow incidents (table `incident`), one row per incident, merged on sys_id. "
        "Synced incrementally on sys_updated_on with a 5-minute overlap; malformed records go to "
        "`servicenow.quarantine` with their reason."
    ),
}


def build_servicenow_assets():
    env = current_environment()
    translator = ProjectXDltTranslator({"incidents": env.servicenow_incident_minutes}, DESCRIPTIONS)

    @dlt_assets(
        # Placeholders: the real source, with credentials, is built at run time below.
        dlt_source=servicenow_source(base_url="", client_id="", client_secret=""),
        dlt_pipeline=WarehouseSettings.from_env().pipeline("servicenow"),
        name="servicenow_sync",
        dagster_dlt_translator=translator,
        pool="warehouse",
    )
    def servicenow_sync(
        context: AssetExecutionContext,
        dlt: DagsterDltResource,
        servicenow: ServiceNowResource,
        warehouse: WarehouseResource,
    ) -> Iterator[MaterializeResult]:
        """Sync ServiceNow tables into the `servicenow` dataset of the warehouse."""
        started = time.monotonic()
        pipeline = warehouse.settings.pipeline("servicenow", progress="log")
        source = servicenow.source(run_id=context.run_id)
        for result in dlt.run(context=context, dlt_source=source, dlt_pipeline=pipeline,
                              loader_file_format="parquet"):
            yield _with_sync_metadata(result, pipeline, time.monotonic() - started)

    return servicenow_sync


def _with_sync_metadata(result: MaterializeResult, pipeline, seconds: float) -> MaterializeResult:
    """Add what an operator asks first: rows loaded, rows quarantined, cursor, duration."""
    resource = result.asset_key.path[-1]
    counts = pipeline.last_trace.last_normalize_info.row_counts if pipeline.last_trace else {}
    state = pipeline.state.get("sources", {}).get("servicenow", {}).get("resources", {}).get(resource, {})
    metadata = {
        **(result.metadata or {}),
        "rows_loaded": MetadataValue.int(int(counts.get(resource, 0))),
        "rows_quarantined": MetadataValue.int(int(counts.get(QUARANTINE_TABLE, 0))),
        "rows_skipped_unchanged": MetadataValue.int(int(state.get("stats", {}).get("skipped_unchanged", 0))),
        "cursor": MetadataValue.text(str(state.get("last_value", ""))),
        "duration_seconds": MetadataValue.float(round(seconds, 2)),
    }
    return MaterializeResult(asset_key=result.asset_key, metadata=metadata)
