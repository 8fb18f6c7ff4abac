"""The ServiceNow instance state: every table, write semantics and bookkeeping of deletes.

Writes behave like the platform: the system owns sys_* fields (`sys_updated_on` = clock now,
`sys_mod_count` + 1, `sys_updated_by` = caller), an update that changes nothing is not saved,
inserts get a sys_id and the table's next number, task business rules keep
active/closed_at/resolved_at consistent with state, journal fields take entries (`journal`) and
updates leave field history (`audit`).
Deletes are remembered (`deleted`) and written to `sys_audit_delete`, and cascade to the record's
attachments. Callers hold `lock`.
"""

from __future__ import annotations

import random
import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sandbox.core.clock import SandboxClock
from sandbox.core.http import HTTPError
from sandbox.servicenow import audit, business_rules
from sandbox.servicenow.catalog_cart import CART_SCHEMAS
from sandbox.servicenow.change_conflict import CONFLICT_SCHEMAS
from sandbox.servicenow.ci_classes import CI_PARENTS, ClassView
from sandbox.servicenow.data import Dataset, generate
from sandbox.servicenow.engine import QueryEngine
from sandbox.servicenow.import_tables import IMPORT_SCHEMAS
from sandbox.servicenow.journal import add_entries, save_entries
from sandbox.servicenow.meta_tables import META_SCHEMAS, METADATA, MetadataView, meta_rows
from sandbox.servicenow.platform_tables import PLATFORM_SCHEMAS, platform_rows
from sandbox.servicenow.rate_limits import SCHEMAS as RATE_LIMIT_SCHEMAS
from sandbox.servicenow.reference_data import REFERENCE_SCHEMAS, reference_rows
from sandbox.servicenow.rules import apply_rules
from sandbox.servicenow.schema import SCHEMAS, SYSTEM_FIELDS, TASK_CHILDREN
from sandbox.servicenow.system_tables import DEFAULT_URI, SYSTEM_SCHEMAS, system_rows
from sandbox.servicenow.tables import Table, TaskView
from sandbox.servicenow.well_known import FIXED_HEADS

_SYS_ID = re.compile(r"[0-9a-f]{32}\Z")
REFERENCED = frozenset({"sys_user", "sys_user_group", "cmdb_ci", "change_request", "incident", "task",
                        "sc_request", "sc_cat_item", "sys_user_role", *TASK_CHILDREN})
STATIC_DISPLAY = {"global": "global"}


def to_text(value: Any) -> str:
    """Coerce a JSON value to the Table API's string form."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return to_text(value.get("value", value.get("display_value", "")))
    if isinstance(value, list):
        return ",".join(to_text(v) for v in value)
    return str(value)


def _department_heads(users: list[tuple[str, ...]]) -> dict[str, str]:
    """department sys_id -> the sys_id of its first member in sys_user order (`reference_data`), or the
    head the demo data names (`well_known`)."""
    names = SCHEMAS["sys_user"].names
    at_id, at_dept = names.index("sys_id"), names.index("department")
    heads: dict[str, str] = {}
    for row in users:
        if row[at_dept]:
            heads.setdefault(row[at_dept], row[at_id])
    return {**heads, **FIXED_HEADS}


class Store:
    """All tables of one emulated instance (see module docstring)."""

    def __init__(self, seed: int, size: int, anchor: datetime, clock: SandboxClock,
                 integration_user: str) -> None:
        self.lock = threading.RLock()
        # Like a table without "Audit deletes" (no_audit_delete): deletes leave no sys_audit_delete row.
        self.audit_deletes = True
        self.engine = QueryEngine()
        self.clock = clock
        self.seed, self.size, self.anchor, self.integration_user = seed, size, anchor, integration_user
        # (table, operation, record) after each committed write: the outbound REST messages listen here
        self.listeners: list[Callable[[str, str, dict[str, str]], None]] = []
        self.instance_uri = DEFAULT_URI  # glide.servlet.uri (the sandbox's address once it serves)
        self.load(generate(seed, size, anchor, integration_user))

    def load(self, ds: Dataset) -> None:
        with self.lock:
            schemas = {**SCHEMAS, **IMPORT_SCHEMAS, "sys_audit": audit.AUDIT_SCHEMA, **CONFLICT_SCHEMAS, **CART_SCHEMAS,
                       **REFERENCE_SCHEMAS, **SYSTEM_SCHEMAS, **PLATFORM_SCHEMAS,
                       **RATE_LIMIT_SCHEMAS}
            system = system_rows(SCHEMAS["cmdb_ci"].names, ds.rows.get("cmdb_ci", []), self.instance_uri)
            rows = {**meta_rows(schemas.values()), **reference_rows(_department_heads(ds.rows.get("sys_user", []))),
                    **system, **platform_rows(ds.rows.get("cmdb_ci", [])), **ds.rows}
            schemas.update(META_SCHEMAS)
            self.tables = {name: Table(schemas[name], rows.get(name, []), self) for name in schemas}
            self.view = TaskView(self.tables["task"], [self.tables[c] for c in TASK_CHILDREN])
            self.class_views = {name: ClassView(self.tables["cmdb_ci"], name) for name in CI_PARENTS}
            self.metadata_view = MetadataView(self.tables)
            self.files: dict[str, bytes] = dict(ds.files)
            self.counters = dict(ds.counters)
            self.deleted: list[dict[str, str]] = []
            self.display_epoch = 0
            self.touches = 0
            self._rng = random.Random(f"{self.seed}:writes")
            self._user_ids: dict[tuple[str, int], str] = {}
            self._scratch: dict[str, dict[str, Any]] = {}
            self.engine.clear()

    def reset(self) -> None:
        self.load(generate(self.seed, self.size, self.anchor, self.integration_user))

    def scratch(self, name: str) -> dict[str, Any]:
        """A named dict of API state kept beside the tables (conflict checks, cart item variables),
        emptied with them by a reset."""
        return self._scratch.setdefault(name, {})

    # --- lookups -------------------------------------------------------------------------------
    def source(self, name: str) -> Table | TaskView | None:
        if name == "task":
            return self.view
        if name == METADATA:
            return self.metadata_view
        table = self.tables.get(name)  # (an empty Table is falsy)
        return self.class_views.get(name) if table is None else table

    def locate(self, name: str, sys_id: str) -> tuple[Table, int] | None:
        if name in ("task", METADATA) or name in self.class_views:
            return self.source(name).locate(sys_id)  # type: ignore[union-attr]
        table = self.tables.get(name)
        row = table.row_of(sys_id) if table is not None else None
        return None if row is None else (table, row)  # type: ignore[return-value]

    def display_of(self, table_name: str, sys_id: str) -> str:
        """The display value of a referenced record ("" when it does not exist)."""
        found = self.locate(table_name, sys_id)
        if found is None:
            return STATIC_DISPLAY.get(sys_id, "")
        table, row = found
        return table.rows[row][table.pos[table.schema.display]]  # type: ignore[index]

    def from_display(self, table: Table, values: dict[str, Any], tz: str = "") -> dict[str, Any]:
        """``sysparm_input_display_value=true``: choice labels become their values and reference display
        values the sys_id of the referenced record (`resolve_references`); a date-time is a display value
        in the caller's time zone `tz` ("" is UTC), stored as the UTC moment, as the instance stores it."""
        out = self.resolve_references(table, values)
        for name, raw in values.items():
            field = table.schema.get(name)
            if field is not None and field.kind == "datetime" and tz and isinstance(raw, str):
                out[name] = _local_to_utc(raw, tz)
                continue
            if field is None or raw is None or isinstance(raw, dict | list) or not field.choices:
                continue
            text = to_text(raw)  # the label as written, else in any case (`state=closed`, as documented)
            out[name] = next((v for v, label in field.choices.items() if label == text),
                             next((v for v, label in field.choices.items() if label.lower() == text.lower()), text))
        return out

    def resolve_references(self, table: Table, values: dict[str, Any]) -> dict[str, Any]:
        """A reference field written with something that is not a sys_id of the referenced table takes
        the sys_id of the record whose display value it is (`assigned_to: "Beth Anglin"`), with or
        without sysparm_input_display_value, as GlideElementReference.setValue does; a value that names
        no record is stored as given (an invalid reference, as the platform does). [unc: with several
        records of that display value the instance takes one of them; here the first created]"""
        out = dict(values)
        for name, raw in values.items():
            field = table.schema.get(name)
            if field is None or field.kind != "reference" or not field.ref or raw is None or isinstance(raw, list):
                continue
            text = to_text(raw)
            if not text or self.locate(field.ref, text) is not None:
                continue
            source = self.source(field.ref)
            parts = [] if source is None else [source] if isinstance(source, Table) else source.parts
            for part in parts:
                if part.schema.display not in part.pos:
                    continue
                col = part.pos[part.schema.display]
                match = next((t[0] for t in part.rows if t is not None and t[col] == text
                              and self.locate(field.ref, t[0]) is not None), None)
                if match is not None:
                    out[name] = match
                    break
        return out

    def user_sys_id(self, user_name: str) -> str:
        """sys_id of the sys_user with this user_name ("" if none); cached per table version."""
        users = self.tables["sys_user"]
        key = (user_name, users.version)
        if key not in self._user_ids:
            col = users.pos["user_name"]
            found = next((t[0] for t in reversed(users.rows) if t is not None and t[col] == user_name), "")
            self._user_ids = {k: v for k, v in self._user_ids.items() if k[1] == users.version}
            self._user_ids[key] = found
        return self._user_ids[key]

    def groups_of(self, user_sys_id: str) -> list[str]:
        """sys_ids of the groups the user is a member of (sys_user_grmember)."""
        members = self.tables["sys_user_grmember"]
        user, group = members.getter("user"), members.getter("group")
        return sorted({group(r) for r in members.alive_rows() if user(r) == user_sys_id})

    # --- writes --------------------------------------------------------------------------------
    def _clean(self, table: Table, values: dict[str, Any]) -> dict[str, str]:
        return {k: to_text(v) for k, v in values.items() if k in table.pos and k not in SYSTEM_FIELDS}

    def new_sys_id(self) -> str:
        return f"{self._rng.getrandbits(128):032x}"

    def insert(self, name: str, values: dict[str, Any], user: str) -> tuple[Table, int]:
        """Create a record like POST does (through a CMDB class table: a cmdb_ci of that class); returns
        (table, row)."""
        table = self.class_views[name].parts[0] if name in self.class_views else self.tables[name]
        values = self.resolve_references(table, values)
        now = self.clock.now_str()
        # A client's own sys_id keeps its case (PySNC's test_insert_custom_guid reads back the upper-case
        # id it sent [obs: PySNC test suite against a developer instance]); lookups ignore case.
        # A sys_id is unique in its table's hierarchy (task and its children are one table), not across the
        # instance: another hierarchy may hold it (an import, a clone) [unc: no instance refusal seen for that].
        sys_id = to_text(values.get("sys_id", ""))
        in_task = table.schema.parent == "task" or table.name == "task"
        if sys_id and (not _SYS_ID.match(sys_id.lower()) or (in_task and self.locate("task", sys_id))
                       or table.row_of(sys_id) is not None):
            raise HTTPError(403, "Operation Failed", f"Cannot insert: invalid or duplicate sys_id {sys_id}")
        rec = {**table.schema.defaults, **self._clean(table, values)}
        rec.update(sys_id=sys_id or self.new_sys_id(), sys_class_name=name, sys_created_on=now,
                   sys_updated_on=now, sys_created_by=user, sys_updated_by=user, sys_mod_count="0")
        if table.schema.prefix and not rec.get("number"):
            seq = self.counters.get(name, 10001)
            self.counters[name] = seq + 1
            rec["number"] = f"{table.schema.prefix}{seq:07d}"
        entries = add_entries(self, table, rec, None, self._clean(table, values), user, now)
        if table.schema.parent == "task" or name == "task":
            rec.setdefault("opened_at", now)
            rec["opened_at"] = rec["opened_at"] or now
            rec["opened_by"] = rec.get("opened_by") or self.user_sys_id(user)
        refused = business_rules.before(self, table, rec, "insert", None)
        apply_rules(name, None, rec, values, now, self.user_sys_id(user))
        if refused is not None:
            raise refused
        save_entries(self, entries)
        row = table.append(rec)
        self.notify(table, "insert", row)
        return table, row

    def update(self, table: Table, row: int, values: dict[str, Any], user: str, auto_sys_fields: bool = True) -> bool:
        """PATCH/PUT semantics; returns whether anything changed (no-op updates are not saved).
        ``auto_sys_fields=False``: like a background script's ``gr.autoSysFields(false)``, the change
        leaves sys_updated_on, sys_updated_by and sys_mod_count as they were."""
        old = table.record(row)
        now = self.clock.now_str()
        clean = self._clean(table, self.resolve_references(table, values))
        rec = {**old, **clean}
        entries = add_entries(self, table, rec, old, clean, user, now)
        refused = business_rules.before(self, table, rec, "update", old)
        apply_rules(table.name, old, rec, values, now, self.user_sys_id(user))
        diff = {k: v for k, v in rec.items() if old.get(k) != v}
        if not diff:
            return False
        if refused is not None:
            raise refused
        save_entries(self, entries)
        if auto_sys_fields:
            diff.update(sys_updated_on=now, sys_updated_by=user,
                        sys_mod_count=str(int(old["sys_mod_count"] or 0) + 1))
        table.replace(row, diff)
        audit.record(self, table, old, diff, clean, user, now)
        if table.name in REFERENCED and table.schema.display in diff:
            self.display_epoch += 1
        self.notify(table, "update", row)
        return True

    def delete(self, table: Table, row: int, user: str) -> None:
        """Remove a record, audit it and cascade to its attachments."""
        rec = table.record(row)
        business_rules.check(self, table, rec, "delete", rec)
        now = self.clock.now_str()
        table.remove(row)
        self._tell(table.name, "delete", {**rec, "sys_updated_on": now})
        self.deleted.append({"table": table.name, "sys_id": rec["sys_id"], "deleted_at": now})
        audit = self.tables["sys_audit_delete"]
        if self.audit_deletes:
            audit.append({"sys_id": self.new_sys_id(), "tablename": table.name, "documentkey": rec["sys_id"],
                          "display_value": rec.get(table.schema.display, ""), "payload": "",
                          "sys_created_on": now, "sys_created_by": user, "sys_updated_on": now,
                          "sys_updated_by": user, "sys_mod_count": "0"})
        if table.name in REFERENCED:
            self.display_epoch += 1
        if table.name != "sys_attachment":
            att = self.tables["sys_attachment"]
            tsid = att.pos["table_sys_id"]
            for r, t in enumerate(att.rows):
                if t is not None and t[tsid] == rec["sys_id"]:
                    self.files.pop(t[0], None)
                    att.remove(r)

    def touch_rows(self, table: Table, rows: list[int]) -> list[str]:
        """Modify records as a busy instance would: new description/last_discovered, now, mod_count + 1."""
        now = self.clock.now_str()
        self.touches += 1
        ids = []
        for row in rows:
            rec = table.record(row)
            change = {"sys_updated_on": now, "sys_updated_by": "system",
                      "sys_mod_count": str(int(rec.get("sys_mod_count") or 0) + 1)}
            if "description" in rec:
                change["description"] = rec["description"].split(" [update ")[0] + f" [update {self.touches}]"
            if "last_discovered" in rec:
                change["last_discovered"] = now
            if "phone" in rec:
                change["phone"] = f"+1 555 {self._rng.randrange(10000):04d}"
            table.replace(row, change)
            self.notify(table, "update", row)
            ids.append(rec["sys_id"])
        return ids

    def notify(self, table: Table, operation: str, row: int) -> None:
        if self.listeners:
            self._tell(table.name, operation, table.record(row))

    def _tell(self, table: str, operation: str, record: dict[str, str]) -> None:
        for listener in list(self.listeners):
            listener(table, operation, record)

    def touch(self, name: str, n: int) -> list[str]:
        """Touch n deterministic-random records (seed, table, call count) and return their sys_ids."""
        table = self.tables[name]
        alive = table.alive_rows()
        rng = random.Random(f"{self.seed}:touch:{name}:{self.touches}")
        return self.touch_rows(table, rng.sample(alive, min(n, len(alive))))


def _local_to_utc(text: str, tz: str) -> str:
    """A "YYYY-MM-DD HH:MM:SS" wall time in `tz` as the UTC value (other text unchanged)."""
    try:
        local = datetime.strptime(text.strip(), "%Y-%m-%d %H:%M:%S").replace(tzinfo=ZoneInfo(tz))
    except ValueError:
        return text
    return local.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
