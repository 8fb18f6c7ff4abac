"""Import set tables and their transform maps (what the Import Set API writes through).

Grain: one staging table per `TransformMap`; a staging row is one posted record, kept with its
import set, row number, state and target record, as on an instance. `imp_user` is the platform's own
user staging table (transform map "User" to sys_user, as the API documentation's examples use it);
`u_imp_incident` and `u_imp_remediation` are custom ones (custom columns start with `u_`).
Coalesce fields find the target record to update; without a match the row inserts one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sandbox.servicenow.schema import REMEDIATION_TABLE, Field, TableSchema

IMPORT_STATE = {"pending": "Pending", "inserted": "Inserted", "updated": "Updated", "ignored": "Ignored",
                "skipped": "Skipped", "error": "Error"}
SET_STATE = {"loading": "Loading", "loaded": "Loaded", "processed": "Processed", "cancelled": "Cancelled"}


@dataclass(frozen=True)
class TransformMap:
    """Staging columns -> target fields; `coalesce` target fields identify an existing record;
    `derive` fills calculated target fields (a transform script's job) from the mapped values."""

    name: str
    source: str
    target: str
    fields: dict[str, str]
    coalesce: tuple[str, ...]
    derive: Callable[[dict[str, str]], dict[str, str]] = field(default=lambda values: {})


def _user_name(values: dict[str, str]) -> dict[str, str]:
    full = " ".join(p for p in (values.get("first_name", ""), values.get("last_name", "")) if p)
    return {"name": full} if full else {}


TRANSFORM_MAPS: dict[str, TransformMap] = {m.source: m for m in (
    TransformMap("User", "imp_user", "sys_user",
                 {"user_id": "user_name", "first_name": "first_name", "last_name": "last_name", "email": "email",
                  "title": "title", "phone": "phone", "mobile_phone": "mobile_phone",
                  "employee_number": "employee_number", "manager": "manager"},
                 ("user_name",), _user_name),
    TransformMap("Incident Import", "u_imp_incident", "incident",
                 {"u_number": "number", "u_short_description": "short_description", "u_description": "description",
                  "u_caller": "caller_id", "u_category": "category", "u_impact": "impact", "u_urgency": "urgency",
                  "u_state": "state", "u_assignment_group": "assignment_group", "u_assigned_to": "assigned_to",
                  "u_cmdb_ci": "cmdb_ci", "u_correlation_id": "correlation_id"},
                 ("number",)),
    TransformMap("Remediation Import", "u_imp_remediation", REMEDIATION_TABLE,
                 {"u_correlation_id": "correlation_id", "u_short_description": "short_description",
                  "u_description": "description", "u_priority": "priority", "u_state": "state",
                  "u_assignment_group": "assignment_group", "u_assigned_to": "assigned_to", "u_cmdb_ci": "cmdb_ci",
                  "u_due_date": "due_date", "u_correlation_display": "correlation_display"},
                 ("correlation_id",)),
)}

_SYS = (Field("sys_created_on", "datetime"), Field("sys_created_by"), Field("sys_updated_on", "datetime"),
        Field("sys_updated_by"), Field("sys_mod_count", "integer"), Field("sys_class_name"))


def _staging(m: TransformMap) -> TableSchema:
    return TableSchema(m.source, (
        Field("sys_id"), *(Field(c) for c in m.fields),
        Field("sys_import_set", "reference", "sys_import_set"), Field("sys_import_row", "integer"),
        Field("sys_import_state", choices=IMPORT_STATE), Field("sys_import_state_comment"),
        Field("sys_row_error"), Field("sys_target_table"), Field("sys_target_sys_id"),
        Field("sys_transform_map"), *_SYS), None, "sys_id", None, {"sys_import_state": "pending"})


IMPORT_SCHEMAS: dict[str, TableSchema] = {
    "sys_import_set": TableSchema("sys_import_set", (
        Field("sys_id"), Field("number"), Field("table_name"), Field("state", choices=SET_STATE),
        Field("mode", choices={"synchronous": "Synchronous", "asynchronous": "Asynchronous"}),
        Field("short_description"), Field("load_completed", "datetime"), Field("multi_import_set"), *_SYS),
        "ISET", "number", None, {"state": "loading"}),
    **{m.source: _staging(m) for m in TRANSFORM_MAPS.values()},
}
