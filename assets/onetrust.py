"""OneTrust ingestion assets: PIAs, the risk register, vendors and vendor assessments (group ``onetrust``)."""

from collections.abc import Iterator

from dagster import AssetExecutionContext, AssetKey, MaterializeResult
from dagster_dlt import DagsterDltResource, dlt_assets

from assets.ingestion import (
    COMMON_SIDE_TABLES,
    ProjectXDltTranslator,
    dlt_assets_kwargs,
    side_table_assets,
    sync_partition,
)
from pipelines.onetrust import onetrust_source
from resources.environment import current_environment
from resources.onetrust import OneTrustResource
from resources.warehouse import WarehouseResource

NOTE = (" Merged on OneTrust's own ids; incremental on last-modified where the API allows, with a full "
        "pass that repairs gaps and marks deletes (`staging.stg_onetrust__deletions`); rejected records "
        "with their reason in `staging.stg_onetrust__quarantine`.")
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

    placeholder = onetrust_source(api_token="-")

    @dlt_assets(**dlt_assets_kwargs("onetrust", placeholder, translator))
    def onetrust_ingest(
        context: AssetExecutionContext,
        dlt: DagsterDltResource,
        onetrust: OneTrustResource,
        warehouse: WarehouseResource,
    ) -> Iterator[MaterializeResult]:
        """Sync OneTrust into the `onetrust` dataset of the warehouse."""
        yield from sync_partition(context, dlt, "onetrust", onetrust, warehouse)

    upstream = [AssetKey(["onetrust", r]) for r in DESCRIPTIONS]
    children = {"assessments__responses": "OneTrust assessment answers, one row per (assessment, question); "
                                          "written by the assessments sync, replaced when the assessment changes."}
    return [onetrust_ingest, side_table_assets("onetrust", {**COMMON_SIDE_TABLES, **children}, upstream)]
