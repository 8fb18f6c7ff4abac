"""The JSONv2 processor: `/<table>.do?JSONv2&sysparm_action=<action>`, the web service older scripts use.

Actions: getRecords (sysparm_query, sysparm_record_count), get and deleteRecord (sysparm_sys_id; a GET
without sysparm_action is get with a sysparm_sys_id, getRecords without),
getKeys (sysparm_query; sys_ids), insert (body: one record), insertMultiple (body: {"records": [...]}),
update (sysparm_sys_id or sysparm_query; body: the changes), deleteMultiple (sysparm_query). Every answer
is `{"records": [...]}` of raw values (a reference is its sys_id); `displayvalue=true` gives display
values instead, `displayvalue=all` raw values plus `dv_<field>` display values. A request without a
valid action, or an unknown table, answers `{"records": []}` with an `error` (guessed wording).
Writes take GET or POST, as the processor does not look at the method. sysparm_query is taken as the Table
API takes it (`app.caller_query`): gs.getUserID() / "Me" / the caller's groups, the date helpers in its
time zone, and a self-service caller's conditions on work notes dropped (its keyword search skips them).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sandbox.core.http import HTTPError, Request, Response, json_response
from sandbox.core.numbers import ascii_int
from sandbox.servicenow import acl
from sandbox.servicenow.app import caller_query, json_object, user_time_zone
from sandbox.servicenow.render import Mode, render_rows
from sandbox.servicenow.tables import Table

if TYPE_CHECKING:
    from sandbox.servicenow.sandbox import ServiceNowSandbox

READS = ("getRecords", "get", "getKeys")
WRITES = ("insert", "insertMultiple", "update", "deleteRecord", "deleteMultiple")


def is_jsonv2(req: Request) -> bool:
    return any(k in ("JSONv2", "JSON") for k, _ in req.query_pairs)


class JSONv2:
    """The processor's actions against one sandbox's store (callers authenticate first)."""

    def __init__(self, sandbox: ServiceNowSandbox) -> None:
        self.sb = sandbox
        self.store = sandbox.store

    def handle(self, req: Request, user: str) -> Response:
        q = req.query
        default = ("get" if q.get("sysparm_sys_id") else "getRecords") if req.method == "GET" else ""
        action = q.get("sysparm_action", default)
        table = self.store.tables.get(req.params["form"])
        if action not in READS + WRITES:
            return json_response({"records": [], "error": f"Invalid sysparm_action {action!r}"})
        if table is None:
            return json_response({"records": [], "error": f"Invalid table {req.params['form']}"})
        with self.store.lock:
            if action in WRITES:
                operation = "Update" if action == "update" else "Delete" if action.startswith("delete") else "Insert"
                acl.check_write(self.store, table.name, operation, user)
            allowed = acl.row_filter(self.store, table, user)
            if action in ("get", "deleteRecord") or (action == "update" and q.get("sysparm_sys_id")):
                row = table.row_of(q.get("sysparm_sys_id", ""))
                rows = [] if row is None or (allowed is not None and not allowed(row)) else [row]
            elif action in ("getRecords", "getKeys", "update", "deleteMultiple"):
                rows = self._select(table, q, user, action, allowed)
            else:
                rows = self._insert(table, req, user, action == "insertMultiple")
            if action == "getKeys":
                return json_response({"records": [table.rows[r][0] for r in rows]})  # type: ignore[index]
            if action == "update":
                changes = acl.drop_unwritable(self.store, user, self._body(req))
                for row in rows:
                    self.store.update(table, row, changes, user)
            records = self._records(table, rows, (q.get("displayvalue") or "false").lower(), req.base_url,
                                    acl.restricted(self.store, user), user_time_zone(self.store, user))
            if action in ("deleteRecord", "deleteMultiple"):
                for row in rows:
                    self.store.delete(table, row, user)
        return json_response({"records": records})

    def _select(self, table: Table, q: dict[str, str], user: str, action: str,
                allowed: Callable[[int], bool] | None) -> list[int]:
        rows = self.store.engine.run(table, caller_query(self.store, q.get("sysparm_query", ""), user))
        rows = rows if allowed is None else [r for r in rows if allowed(r)]
        limit = q.get("sysparm_record_count", "")
        if action == "getRecords" and ascii_int(limit) is not None:  # not int(): 5,000 digits raised
            rows = rows[:ascii_int(limit)]
        return list(rows)

    def _body(self, req: Request) -> dict[str, Any]:
        return json_object(req)

    def _insert(self, table: Table, req: Request, user: str, many: bool) -> list[int]:
        body = self._body(req)
        records = body.get("records") if many else [body]
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            raise HTTPError(400, "Exception while reading request", 'insertMultiple takes {"records": [...]}')
        return [self.store.insert(table.name, acl.drop_unwritable(self.store, user, record), user)[1]
                for record in records]

    def _records(self, table: Table, rows: list[int], display: str, base: str,
                 restricted: bool = False, tz: str = "") -> list[dict[str, str]]:
        raw = [json.loads(b) for b in render_rows(table, rows, Mode("false", True, restricted=restricted), base,
                                                  self.store)]
        if display not in ("true", "all"):
            return raw
        shown = [json.loads(b) for b in render_rows(table, rows, Mode("true", True, restricted=restricted, tz=tz), base,
                                                        self.store)]
        if display == "true":
            return shown
        return [{**r, **{f"dv_{k}": v for k, v in s.items()}} for r, s in zip(raw, shown, strict=True)]
