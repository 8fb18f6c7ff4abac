"""ServiceNow ingestion assets: one asset per synced table, in group ``servicenow``."""

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
from pipelines.servicenow import servicenow_source
from pipelines.servicenow.settings import TABLES
from resources.environment import current_environment
from resources.servicenow import ServiceNowResource
from resources.warehouse import WarehouseResource

SYNC_NOTE = (
    " One row per record, merged on sys_id; synced incrementally on sys_updated_on with a 5-minute "
    "overlap. Malformed records are quarantined with their reason (`staging.stg_servicenow__quarantine`); "
    "deletes are flagged is_deleted, and listed in `staging.stg_servicenow__deletions`."
)
DESCRIPTIONS = {spec.resource: spec.description + SYNC_NOTE for spec in TABLES.values()} | {
    "attachments": "ServiceNow attachments on the synced tables: metadata, sha256 and the evidence-store URI "
    "of the content (one row per attachment, merged on sys_id).",
}


def cadences(env) -> dict[str, int]:
    """Minutes between syncs per resource (spec §2.1 and §4): incidents 5 (15 locally), changes 15.

    Remediation tasks (read back from ServiceNow so a task closed there closes in Project X) ride
    with the changes job too.

    Attachments are synced by the changes job (``servicenow_changes_sync``), so their freshness
    follows its cadence; at the incidents' 5 minutes they were stale by design in stg and prod.
    CIs ride with it too, every 15 minutes: graded at 60 (as before round 30) a stalled CI sync went
    unnoticed for two hours."""
    return {
        "incidents": env.servicenow_incident_minutes,
        "attachments": env.servicenow_change_minutes,
        "change_requests": env.servicenow_change_minutes,
        "requests": env.servicenow_change_minutes,
        "catalog_tasks": env.servicenow_change_minutes,
        "cmdb_cis": env.servicenow_change_minutes,
        "remediation_tasks": env.servicenow_change_minutes,
    }


def build_servicenow_assets():
    env = current_environment()
    translator = ProjectXDltTranslator(cadences(env), DESCRIPTIONS)

    placeholder = servicenow_source(base_url="", client_id="", client_secret="")

    @dlt_assets(**dlt_assets_kwargs("servicenow", placeholder, translator))
    def servicenow_ingest(
        context: AssetExecutionContext,
        dlt: DagsterDltResource,
        servicenow: ServiceNowResource,
        warehouse: WarehouseResource,
    ) -> Iterator[MaterializeResult]:
        """Sync ServiceNow tables into the `servicenow` dataset of the warehouse."""
        yield from sync_partition(context, dlt, "servicenow", servicenow, warehouse)

    upstream = [AssetKey(["servicenow", r]) for r in DESCRIPTIONS]
    return [servicenow_ingest, side_table_assets("servicenow", COMMON_SIDE_TABLES, upstream)]
