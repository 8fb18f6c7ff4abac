"""Journal fields (`comments`, `work_notes`): a write adds an entry, it does not replace a value.

As on an instance: each non-empty value written to a journal field becomes a `sys_journal_field` row
(element, element_id, name = table, value, sys_created_on/by) and the field reads as its history,
newest first, `"<time> - <user's name> (Additional comments)\\n<text>\\n\\n"` per entry. The Table API
shows that history only as a display value (`sysparm_display_value=true|all`); the raw value is ""
(`render`). The record keeps the history text, so a write that adds an entry is a change.

`comments_and_work_notes` (a task's journal list, type journal_list) reads as both histories merged,
newest first, the way the form's activity stream shows them; written, it is ignored (it has no entries
of its own). [unc: an instance's display value of the journal list; taken from the activity formatter]
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sandbox.servicenow.store import Store
    from sandbox.servicenow.tables import Table

LABELS = {"comments": "Additional comments", "work_notes": "Work notes"}
COMBINED = "comments_and_work_notes"
JOURNAL_TABLE = "sys_journal_field"


def add_entries(store: Store, table: Table, rec: dict[str, str], old: dict[str, str] | None,
                sent: dict[str, str], user: str, now: str) -> list[dict[str, str]]:
    """Turn journal values in `sent` into entries: `rec`'s history text, and the sys_journal_field rows
    returned, which the caller appends (`save_entries`) only once the write passes the business rules
    (a refused write leaves no entry)."""
    rows: list[dict[str, str]] = []
    combined = table.kinds.get(COMBINED) == "journal"
    if combined:
        rec[COMBINED] = (old or {}).get(COMBINED, "")
    for name, label in LABELS.items():
        if table.kinds.get(name) != "journal":
            continue
        history = (old or {}).get(name, "")
        text = sent.get(name, "")
        rec[name] = history
        if not text.strip():
            continue
        entry = f"{now} - {user_full_name(store, user)} ({label})\n{text}\n\n"
        rec[name] = entry + history
        if combined:
            rec[COMBINED] = entry + rec[COMBINED]
        rows.append({
            "sys_id": store.new_sys_id(), "element": name, "element_id": rec["sys_id"], "name": table.name,
            "value": text, "sys_created_on": now, "sys_created_by": user, "sys_updated_on": now,
            "sys_updated_by": user, "sys_mod_count": "0"})
    return rows


def save_entries(store: Store, rows: list[dict[str, str]]) -> None:
    """Append the sys_journal_field rows `add_entries` made for a write that is being saved."""
    for row in rows:
        store.tables[JOURNAL_TABLE].append(row)


def user_full_name(store: Store, user: str) -> str:
    users = store.tables["sys_user"]
    row = users.row_of(store.user_sys_id(user))
    return user if row is None else users.record(row).get("name") or user
