"""Remediation tasks for failed controls, pushed to ServiceNow's remediation-task table."""


import os
from datetime import datetime
from typing import Any

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetExecutionContext,
    AssetKey,
    MaterializeResult,
    MetadataValue,
    asset,
    asset_check,
)

from assets.reverse_sync.engine import SCHEMA, ReverseSync, ensure_tables
from pipelines.servicenow.helpers import ServiceNowClient
from pipelines.servicenow.settings import DEFAULT_REMEDIATION_TABLE
from resources.flags import flag
from resources.scale_out import op_tags, pool
from resources.servicenow import ServiceNowResource
from resources.warehouse import WarehouseResource

OUTBOUND = AssetKey(["outbound", "servicenow_remediation_tasks"])
KEY = AssetKey(["reverse_sync", "servicenow_remediation_tasks"])


def remediation_table() -> str:
    return os.environ.get("SERVICENOW_REMEDIATION_TABLE", DEFAULT_REMEDIATION_TABLE)


def _sn_ts(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if isinstance(value, datetime) else (value or "")


class ServiceNowTaskWriter:
    """Maps an outbound row to a ServiceNow record; our id travels in ``correlation_id``."""

    vendor = "servicenow"

    def __init__(self, client: ServiceNowClient, table: str):
        self.client = client
        self.vendor_object = table

    def payload(self, row: dict[str, Any]) -> dict[str, Any]:
        return {
            "short_description": row["short_description"],
            "description": row["description"],
            "priority": str(row["priority"]),
            "due_date": _sn_ts(row["due_at"]),
            "cmdb_ci": row.get("cmdb_ci_id") or "",
            "correlation_id": row["remediation_task_id"],
            "correlation_display": "Project X",
        }

    def find_existing(self, internal_id: str) -> dict[str, Any] | None:
        found = self.client.find(self.vendor_object, f"correlation_id={internal_id}", limit=1)
        return found[0] if found else None

    def create(self, payload: dict[str, Any]) -> dict[str, Any]:
        return self.client.create(self.vendor_object, payload)

    def update(self, vendor_id: str, payload: dict[str, Any]) -> None:
        self.client.update(self.vendor_object, vendor_id, payload)

    def close(self, vendor_id: str) -> None:
        self.client.update(self.vendor_object, vendor_id, {
            "state": "3", "close_notes": "Closed by Project X: the control passes again.",
        })

    @staticmethod
    def identity(record: dict[str, Any]) -> tuple[str, str]:
        return record["sys_id"], record.get("number", "")


@asset(
    key=KEY,
    deps=[OUTBOUND],
    group_name="reverse_sync",
    pool=pool("reverse_sync", "servicenow"),
    op_tags=op_tags("reverse_sync"),
    kinds={"servicenow", "python"},
    description=(
        "Remediation tasks held in ServiceNow (table x_pjx_grc_remediation_task by default, "
        "SERVICENOW_REMEDIATION_TABLE to change). Idempotent: reverse_sync.external_links maps each "
        "remediation_task_id to its sys_id, so reruns create nothing new; failed writes land in "
        "reverse_sync.dead_letters and are retried next run."
    ),
)
def servicenow_remediation_push(
    context: AssetExecutionContext, servicenow: ServiceNowResource, warehouse: WarehouseResource
) -> MaterializeResult:
    switch = flag("servicenow")
    if not switch.enabled:  # reverse writes pause; the outbound mart keeps them for when it is back on
        context.log.info("ServiceNow remediation writes paused: %s", switch.skip_reason())
        return MaterializeResult(metadata={"paused_by_flag": MetadataValue.text(switch.name)})
    with warehouse.connect() as conn:
        rows = conn.query("select * from outbound.servicenow_remediation_tasks order by remediation_task_id")
        client = servicenow.client()
        try:
            report = ReverseSync(conn, ServiceNowTaskWriter(client, remediation_table()),
                                 key="remediation_task_id").run(rows)
        finally:
            client.close()
    for failure in report.failures[:20]:
        context.log.warning("dead-lettered: %s", failure)
    context.log.info("ServiceNow remediation tasks: %s", report.as_metadata())
    return MaterializeResult(metadata={
        **{k: MetadataValue.int(v) for k, v in report.as_metadata().items()},
        "outbound_rows": MetadataValue.int(len(rows)),
    })


@asset_check(asset=KEY, description="No remediation task is waiting in the dead-letter table.")
def servicenow_remediation_no_dead_letters(warehouse: WarehouseResource) -> AssetCheckResult:
    with warehouse.connect() as conn:
        ensure_tables(conn)
        dead = conn.query(
            f"select internal_id, attempts, error from {SCHEMA}.dead_letters where vendor = 'servicenow' "
            "order by last_failed_at desc limit 20"
        )
    return AssetCheckResult(
        passed=not dead,
        severity=AssetCheckSeverity.WARN,
        metadata={"dead_letters": MetadataValue.json(dead), "count": MetadataValue.int(len(dead))},
    )
