"""The instance's own description of its tables: sys_db_object (tables), sys_dictionary (fields) and
sys_choice (choice values and labels), built from the schemas the emulator serves.

As on an instance: a field is described once, on the table that defines it (the base `task` fields are
entries of `task`, not of incident), with one collection entry (element "") per table; a choice list is
an entry of the table whose labels it holds (incident's state labels are entries of incident, the
priority labels of task). Rows have fixed sys_ids (an MD5 of what they describe) and a 2020 creation
date, so they neither depend on nor move the seed. Guessed: column labels follow the field name where
the base system's label is not listed here.

`sys_metadata` (Application File) is the parent of the platform's configuration records: here of
sys_db_object and sys_dictionary, so a list of it holds every table and dictionary entry (its own rows,
none seeded, first), with the fields they share, the way `task` lists its children's records. PySNC's
iteration tests page through more than 500 sys_metadata records of a developer instance. [unc: on an
instance many more tables extend it (sys_script, sys_properties, ...); sys_properties stays out here so its
admin-only ACL (`acl.ADMIN_TABLES`) cannot be read around; sys_choice's parentage is not confirmed]
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from sandbox.servicenow.ci_classes import CI_PARENTS
from sandbox.servicenow.schema import Field, TableSchema
from sandbox.servicenow.tables import Table, TaskView

SINCE = "2020-01-01 00:00:00"
_SYS = (Field("sys_created_on", "datetime"), Field("sys_created_by"), Field("sys_updated_on", "datetime"),
        Field("sys_updated_by"), Field("sys_mod_count", "integer"), Field("sys_class_name"))
METADATA = "sys_metadata"
METADATA_CHILDREN = ("sys_db_object", "sys_dictionary")
META_SCHEMAS = {s.name: s for s in (
    TableSchema(METADATA, (Field("sys_id"), *_SYS), None, "sys_id"),
    TableSchema("sys_db_object", (
        Field("sys_id"), Field("name"), Field("label"), Field("super_class", "reference", "sys_db_object"),
        Field("is_extendable", "boolean"), Field("number_ref"), *_SYS), None, "label", METADATA),
    TableSchema("sys_dictionary", (
        Field("sys_id"), Field("name"), Field("element"), Field("column_label"), Field("internal_type"),
        Field("reference"), Field("max_length", "integer"), Field("mandatory", "boolean"),
        Field("read_only", "boolean"), Field("active", "boolean"), Field("display", "boolean"),
        Field("choice", "integer"), *_SYS), None, "column_label", METADATA),
    TableSchema("sys_choice", (
        Field("sys_id"), Field("name"), Field("element"), Field("value"), Field("label"),
        Field("sequence", "integer"), Field("language"), Field("inactive", "boolean"), Field("dependent_value"),
        *_SYS), None, "label"),
)}
TYPES = {"string": "string", "integer": "integer", "boolean": "boolean", "datetime": "glide_date_time",
         "date": "glide_date", "reference": "reference", "url": "url", "journal": "journal_input"}
LABELS = {"sys_id": "Sys ID", "sys_created_on": "Created", "sys_created_by": "Created by", "sys_updated_on": "Updated",
          "sys_updated_by": "Updated by", "sys_mod_count": "Updates", "sys_class_name": "Class", "sys_tags": "Tags",
          "sys_domain": "Domain", "cmdb_ci": "Configuration item", "caller_id": "Caller", "opened_at": "Opened",
          "closed_at": "Closed", "work_notes": "Work notes", "comments": "Additional comments",
          "comments_and_work_notes": "Comments and Work notes",
          "rfc": "Change Request", "problem_id": "Problem", "parent": "Parent"}
TABLE_LABELS = {"task": "Task", "incident": "Incident", "change_request": "Change Request", "sc_request": "Request",
                "sc_task": "Catalog Task", "sc_req_item": "Requested Item", "sc_cat_item": "Catalog Item",
                "problem": "Problem", "problem_task": "Problem Task", "change_task": "Change Task",
                "cmdb_ci": "Configuration Item", "sys_user": "User", "sys_user_group": "Group",
                "core_company": "Company", "cmn_location": "Location", "cmn_department": "Department",
                "sys_attachment": "Attachment", "sys_user_role": "Role", "sys_user_grmember": "Group Member",
                "sys_user_has_role": "User Role", "sys_journal_field": "Journal Entry", "conflict": "Conflict",
                "cmn_schedule_blackout": "Blackout Schedule", "cmn_schedule_span": "Schedule Entry", "sc_cart": "Cart",
                "sc_cart_item": "Cart Item", "cmn_schedule_maintenance": "Maintenance Schedule",
                METADATA: "Application File", "syslog": "System Log", "sys_group_has_role": "Group Role"}

CI_LABELS = {"cmdb_ci_hardware": "Hardware", "cmdb_ci_computer": "Computer", "cmdb_ci_server": "Server",
             "cmdb_ci_linux_server": "Linux Server", "cmdb_ci_win_server": "Windows Server",
             "cmdb_ci_netgear": "Network Gear", "cmdb_ci_appl": "Application", "cmdb_ci_database": "Database"}


def _id(*parts: str) -> str:
    return hashlib.md5(":".join(parts).encode()).hexdigest()  # an identifier, not a secret


def _label(name: str) -> str:
    return LABELS.get(name) or name.removesuffix("_id").replace("_", " ").capitalize()


def _row(schema: TableSchema, values: dict[str, str]) -> tuple[str, ...]:
    base = {"sys_created_on": SINCE, "sys_updated_on": SINCE, "sys_created_by": "system",
            "sys_updated_by": "system", "sys_mod_count": "0", "sys_class_name": schema.name}
    return tuple({**base, **values}.get(f, "") for f in schema.names)


def meta_rows(schemas: Iterable[TableSchema]) -> dict[str, list[tuple[str, ...]]]:
    """Rows of sys_db_object, sys_dictionary and sys_choice describing `schemas` (and themselves)."""
    every = {s.name: s for s in (*schemas, *META_SCHEMAS.values())}
    objects, fields, choices = [], [], []
    for name, s in every.items():
        parent = every.get(s.parent or "")
        objects.append(_row(META_SCHEMAS["sys_db_object"], {
            "sys_id": _id("sys_db_object", name), "name": name,
            "label": class_label(name),
            "super_class": _id("sys_db_object", parent.name) if parent else "",
            "is_extendable": "true" if name in ("task", "cmdb_ci", METADATA) else "false",
            "number_ref": f"{s.prefix}" if s.prefix else ""}))
        fields.append(_row(META_SCHEMAS["sys_dictionary"], {
            "sys_id": _id("sys_dictionary", name, ""), "name": name, "column_label": TABLE_LABELS.get(name, name),
            "internal_type": "collection", "active": "true"}))
        for f in s.fields:
            inherited = parent.get(f.name) if parent else None
            if inherited is None:
                fields.append(_row(META_SCHEMAS["sys_dictionary"], {
                    "sys_id": _id("sys_dictionary", name, f.name), "name": name, "element": f.name,
                    "column_label": _label(f.name),
                    "internal_type": "GUID" if f.name == "sys_id" else "journal_list"
                    if f.name == "comments_and_work_notes" else TYPES.get(f.kind, "string"),
                    "reference": f.ref or "", "max_length": "32" if f.kind == "reference" else "40",
                    "mandatory": "false", "read_only": "true" if f.name.startswith("sys_") else "false",
                    "active": "true", "display": "true" if f.name == s.display else "false",
                    "choice": "1" if f.choices else "0"}))
            if f.choices and (inherited is None or inherited.choices != f.choices):
                for seq, (value, label) in enumerate(f.choices.items(), 1):
                    choices.append(_row(META_SCHEMAS["sys_choice"], {
                        "sys_id": _id("sys_choice", name, f.name, value), "name": name, "element": f.name,
                        "value": value, "label": label, "sequence": str(seq), "language": "en",
                        "inactive": "false"}))
    for cls, parent_name in CI_PARENTS.items():  # CMDB class tables (`ci_classes`): their fields are cmdb_ci's
        objects.append(_row(META_SCHEMAS["sys_db_object"], {
            "sys_id": _id("sys_db_object", cls), "name": cls, "label": CI_LABELS[cls],
            "super_class": _id("sys_db_object", parent_name), "is_extendable": "true"}))
    return {"sys_db_object": objects, "sys_dictionary": fields, "sys_choice": choices}


def class_label(name: str) -> str:
    """A table's label, the display value of sys_class_name ("Incident", "Linux Server")."""
    return TABLE_LABELS.get(name) or CI_LABELS.get(name) or name.replace("_", " ").title()


class MetadataView(TaskView):
    """sys_metadata: its own rows, then each child's (`METADATA_CHILDREN`), with sys_metadata's fields."""

    def __init__(self, tables: dict[str, Table]) -> None:
        super().__init__(tables[METADATA], [tables[name] for name in METADATA_CHILDREN])
