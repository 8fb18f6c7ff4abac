"""Field history (`sys_audit`): one row per field an update changes on an audited table.

As on an instance: tablename, documentkey (the record's sys_id), fieldname, oldvalue, newvalue, user
(user_name) and record_checkpoint (the record's sys_mod_count after the update); a journal entry is
audited with oldvalue "JOURNAL FIELD ADDITION" and the entry as newvalue. Audited: the task tables,
sys_user, sys_user_group and cmdb_ci; system fields (sys_*) are not. Guessed: inserts leave no rows
(the emulator records changes only; deletes go to sys_audit_delete), and the seeded records have no
history before the anchor.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sandbox.servicenow.schema import SCHEMAS, Field, TableSchema

if TYPE_CHECKING:
    from sandbox.servicenow.store import Store
    from sandbox.servicenow.tables import Table

AUDIT_SCHEMA = TableSchema("sys_audit", (
    Field("sys_id"), Field("tablename"), Field("documentkey"), Field("fieldname"), Field("oldvalue"),
    Field("newvalue"), Field("user"), Field("reason"), Field("record_checkpoint", "integer"),
    Field("internal_checkpoint"), Field("sys_created_on", "datetime"), Field("sys_created_by"),
    Field("sys_updated_on", "datetime"), Field("sys_updated_by"), Field("sys_mod_count", "integer")),
    None, "fieldname")
AUDITED = frozenset({*(n for n, s in SCHEMAS.items() if s.parent == "task"), "task", "sys_user", "sys_user_group",
                     "cmdb_ci"})


def record(store: Store, table: Table, old: dict[str, str], diff: dict[str, str], sent: dict[str, str],
           user: str, now: str) -> None:
    """Audit rows for `diff` (the changed fields of a saved update) of a record of `table`."""
    if table.name not in AUDITED:
        return
    audit = store.tables["sys_audit"]
    checkpoint = diff.get("sys_mod_count", old.get("sys_mod_count", "0"))
    for name, new in diff.items():
        if name.startswith("sys_"):
            continue
        journal = table.kinds.get(name) == "journal"
        audit.append({
            "sys_id": store.new_sys_id(), "tablename": table.name, "documentkey": old["sys_id"], "fieldname": name,
            "oldvalue": "JOURNAL FIELD ADDITION" if journal else old.get(name, ""),
            "newvalue": sent.get(name, "") if journal else new, "user": user, "record_checkpoint": checkpoint,
            "internal_checkpoint": f"{int(checkpoint or 0):x}", "sys_created_on": now, "sys_created_by": user,
            "sys_updated_on": now, "sys_updated_by": user, "sys_mod_count": "0"})
