"""ServiceNow constants: endpoints, the tables we sync and their fields, defaults (spec §2.1)."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

TOKEN_PATH = "oauth_token.do"
TABLE_PATH = "api/now/table/{table}"
ATTACHMENT_PATH = "api/now/attachment"

DEFAULT_PAGE_SIZE = 1000
# Pages are validated together up to this many records: pandera's cost is mostly per call and column.
VALIDATION_BATCH = 5000
# Pages fetched at once; real instances cap concurrent sessions per user (semaphores), so keep it modest.
DEFAULT_CONCURRENCY = 4
# Re-read this much before the cursor on every delta: covers equal-second updates and clock skew.
DEFAULT_OVERLAP_SECONDS = 300
INITIAL_CURSOR = "1970-01-01 00:00:00"
# Refresh a token this long before the vendor says it expires.
TOKEN_EXPIRY_MARGIN_SECONDS = 60
# Attachment bodies larger than this are recorded (metadata, sha256 unknown) but not downloaded.
DEFAULT_MAX_ATTACHMENT_BYTES = 5 * 1024 * 1024
# Attachment bodies downloaded ahead, while the tables are read, wait in memory up to this many bytes
# (the rest download when the attachments resource reaches them); listing pages ahead, at most this many.
ATTACHMENT_PREFETCH_BYTES = 64 * 1024 * 1024
ATTACHMENT_PREFETCH_PAGES = 4

CONFIG_HINT = (
    "SERVICENOW_OAUTH_CLIENT_ID / SERVICENOW_OAUTH_CLIENT_SECRET (or SERVICENOW_USER / "
    "SERVICENOW_PASSWORD) and the Vault path integrations/<env>/servicenow"
)

SYS_FIELDS = (
    "sys_id",
    "sys_class_name",
    "sys_created_on",
    "sys_created_by",
    "sys_updated_on",
    "sys_updated_by",
    "sys_mod_count",
)
TASK_FIELDS = (
    "number",
    "short_description",
    "description",
    "state",
    "active",
    "priority",
    "impact",
    "urgency",
    "assignment_group",
    "assigned_to",
    "opened_by",
    "opened_at",
    "closed_at",
    "closed_by",
    "due_date",
    "cmdb_ci",
    "company",
    "location",
    "approval",
    "correlation_id",
    "parent",
)
TASK_DATETIMES = ("opened_at", "closed_at", "due_date")
TASK_INTEGERS = ("state", "priority", "impact", "urgency")


@dataclass(frozen=True)
class TableSpec:
    """One ServiceNow table synced into the ``servicenow`` dataset (all values strings on the wire)."""

    table: str
    resource: str
    fields: tuple[str, ...]
    datetimes: tuple[str, ...] = ()
    integers: tuple[str, ...] = ()
    booleans: tuple[str, ...] = ()
    cursor_field: str = "sys_updated_on"
    description: str = ""


def _task(
    table: str,
    resource: str,
    extra: tuple[str, ...],
    datetimes: tuple[str, ...] = (),
    integers: tuple[str, ...] = (),
    description: str = "",
) -> TableSpec:
    return TableSpec(
        table,
        resource,
        SYS_FIELDS + TASK_FIELDS + extra,
        ("sys_created_on", "sys_updated_on", *TASK_DATETIMES, *datetimes),
        (*TASK_INTEGERS, "sys_mod_count", *integers),
        ("active",),
        description=description,
    )


# The custom scoped-app table Project X installs in ServiceNow for remediation tasks (reverse sync
# pushes them; the ingestion reads them back so a task closed at ServiceNow closes in Project X).
DEFAULT_REMEDIATION_TABLE = "x_pjx_grc_remediation_task"
REMEDIATION_RESOURCE = "remediation_tasks"


def remediation_table() -> str:
    """The remediation table's name at this instance: SERVICENOW_REMEDIATION_TABLE, else the default."""
    return os.environ.get("SERVICENOW_REMEDIATION_TABLE") or DEFAULT_REMEDIATION_TABLE


def resolved(spec: TableSpec) -> TableSpec:
    """``spec`` with the vendor table it reads now: the remediation table's name is a setting."""
    return replace(spec, table=remediation_table()) if spec.resource == REMEDIATION_RESOURCE else spec


TABLES: dict[str, TableSpec] = {
    "incident": _task(
        "incident",
        "incidents",
        (
            "caller_id",
            "category",
            "subcategory",
            "severity",
            "problem_id",
            "rfc",
            "close_code",
            "resolved_at",
            "resolved_by",
            "reopen_count",
            "reassignment_count",
            "business_service",
            "contact_type",
        ),
        datetimes=("resolved_at",),
        # every column staging casts with sn_int: a value it cannot cast is quarantined, not a silent null
        integers=("severity", "reopen_count", "reassignment_count"),
        description="Incidents (table `incident`).",
    ),
    "change_request": _task(
        "change_request",
        "change_requests",
        (
            "type",
            "phase",
            "risk",
            "category",
            "requested_by",
            "start_date",
            "end_date",
            "cab_date",
            "business_service",
            "close_code",
            "close_notes",
        ),
        datetimes=("start_date", "end_date"),
        integers=("risk",),
        description="Change requests (table `change_request`), with approval state and risk.",
    ),
    "sc_request": _task(
        "sc_request",
        "requests",
        ("request_state", "requested_for", "stage", "price"),
        description="Service catalog requests (table `sc_request`).",
    ),
    "sc_task": _task(
        "sc_task",
        "catalog_tasks",
        ("request", "request_item"),
        description="Catalog tasks (table `sc_task`).",
    ),
    "cmdb_ci": TableSpec(
        "cmdb_ci",
        "cmdb_cis",
        (
            *SYS_FIELDS,
            "name",
            "short_description",
            "serial_number",
            "asset_tag",
            "operational_status",
            "install_status",
            "ip_address",
            "fqdn",
            "manufacturer",
            "model_id",
            "location",
            "support_group",
            "assigned_to",
            "managed_by",
            "owned_by",
            "environment",
            "category",
            "subcategory",
            "discovery_source",
            "last_discovered",
        ),
        datetimes=("sys_created_on", "sys_updated_on", "last_discovered"),
        integers=("sys_mod_count", "operational_status", "install_status"),
        description="Configuration items (table `cmdb_ci`) with ownership: owned_by, managed_by, support_group.",
    ),
    DEFAULT_REMEDIATION_TABLE: _task(
        DEFAULT_REMEDIATION_TABLE,
        REMEDIATION_RESOURCE,
        ("correlation_display",),
        description="Remediation tasks Project X pushed (table `x_pjx_grc_remediation_task` by default, "
        "SERVICENOW_REMEDIATION_TABLE to change), read back so their state at ServiceNow reaches Project X.",
    ),
}

ATTACHMENT_FIELDS = (
    "sys_id",
    "file_name",
    "content_type",
    "size_bytes",
    "table_name",
    "table_sys_id",
    "download_link",
    "hash",
    "sys_created_on",
    "sys_created_by",
    "sys_updated_on",
    "sys_updated_by",
    "sys_mod_count",
)
