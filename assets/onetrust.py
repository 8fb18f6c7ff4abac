"""OneTrust ingestion assets: PIAs, the risk register, vendors and vendor assessments (group ``onetrust``)."""

from collections.abc import Iterator

from dagster import AssetExecutionContext, AssetKey, MaterializeResult
from dagster_dlt import DagsterDltResource, dlt_assets

from assets.ingestion import (
    COMMON_SIDE_TABLES,
    INGESTION_BACKFILL_POLICY,
    ProjectXDltTranslator,
    ingestion_partitions,
    run_sync,
    side_table_assets,
    sync_window,
)
from pipelines.common.warehouse import WarehouseSettings
from pipelines.onetrust import onetrust_source
from resources.environment import current_environment
from resources.onetrust import OneTrustResource
from resources.warehouse import WarehouseResource

NOTE = (" Merged on OneTrust's own ids; incremental on last-modified where the API allows, with a full "
        "pass that repairs gaps and marks deletes in `onetrust.deletions`; rejected records in "
        "`onetrust.quarantine`.")
DESCRIPTIONS = {
    "assessments": "OneTrust assessments (PIAs): one row per assessment with risk level, status and "
                   "respondents; answers in `assessments__responses`." + NOTE,
    "vendor_assessments": "OneTrust assessments of vendors: one row per assessment, with the vendor." + NOTE,
    "risks": "OneTrust risk register: one row per risk with inherent/residual level, category, owner." + NOTE,
    "vendors": "OneTrust vendor inventory: one row per vendor with criticality and tier." + NOTE,
}


def build_onetrust_assets():
    env = current_environment()
    minutes = env.onetrust_hours * 60
    translator = ProjectXDltTranslator(dict.fromkeys(DESCRIPTIONS, minutes), DESCRIPTIONS)

    @dlt_assets(
        # A placeholder to enumerate the tables; the real source, with credentials, is built at run time.
        dlt_source=onetrust_source(api_token="-"),
        dlt_pipeline=WarehouseSettings.from_env().pipeline("onetrust"),
        name="onetrust_ingest",
        dagster_dlt_translator=translator,
        partitions_def=ingestion_partitions(),
        backfill_policy=INGESTION_BACKFILL_POLICY,
        pool="warehouse",
    )
    def onetrust_ingest(
        context: AssetExecutionContext,
        dlt: DagsterDltResource,
        onetrust: OneTrustResource,
        warehouse: WarehouseResource,
    ) -> Iterator[MaterializeResult]:
        """Sync OneTrust into the `onetrust` dataset of the warehouse."""
        window = sync_window(context)
        yield from run_sync(context, dlt, "onetrust", onetrust.source(run_id=context.run_id, window=window), warehouse,
                            window)

    upstream = [AssetKey(["onetrust", r]) for r in DESCRIPTIONS]
    return [onetrust_ingest, side_table_assets("onetrust", COMMON_SIDE_TABLES, upstream)]
