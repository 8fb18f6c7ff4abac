"""Import Set API: /api/now[/v1]/import/{staging_table}[/insertMultiple | /{sys_id}].

POST /import/{staging}: the body's name-value pairs become one staging row (unknown columns
ignored), transformed at once by the table's transform map; 201 with the transform result
`{"import_set": "ISET0010001", "staging_table", "result": [{"transform_map", "table", "display_name",
"display_value", "record_link", "status", "sys_id"}]}` (status inserted | updated | ignored | error;
sys_id is the target record's). Synchronous rows of one staging table share one open import set
(state loading), as the platform keeps it until its nightly clean-up.
POST .../insertMultiple `{"records": [...]}`: a new import set per call (mode asynchronous, its rows
already transformed when the call returns), 201 `{"import_set_id", "multi_import_set_id"}`;
`?multi_import_set_id=` joins an earlier multi import set.
GET .../{sys_id}: a staging row's transform result in the POST shape; 404 when it does not exist.
Transform maps copy non-empty values only, take choice labels and reference display values, and
update the record the coalesce fields match (nothing changed: ignored).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.core.http import HTTPError, Request, Response, Router, json_response
from sandbox.servicenow import acl, lenient_json
from sandbox.servicenow.app import check_accept
from sandbox.servicenow.import_tables import TRANSFORM_MAPS, TransformMap
from sandbox.servicenow.store import to_text

if TYPE_CHECKING:
    from sandbox.servicenow.sandbox import ServiceNowSandbox
    from sandbox.servicenow.tables import Table

BASE = r"/api/now(?:/v[12])?/import/(?P<table>[A-Za-z0-9_]+)"


class ImportSetAPI:
    """Import Set API handlers of one ServiceNowSandbox (callers of `transform` hold the store lock)."""

    def __init__(self, sandbox: ServiceNowSandbox) -> None:
        self.sb = sandbox
        self.store = sandbox.store

    def register(self, router: Router) -> None:
        router.add("POST", BASE + r"/insertMultiple", self.insert_multiple)
        router.add("POST", BASE, self.insert)
        router.add("GET", BASE + r"/(?P<sys_id>[0-9a-f]{32})", self.get)

    # --- handlers ------------------------------------------------------------------------------
    def insert(self, req: Request) -> Response:
        user = self.sb.auth.authenticate(req)
        check_accept(req)
        tmap = self._map(req.params["table"])
        acl.check_write(self.store, tmap.source, "Insert", user)
        body = self._json(req)
        if not isinstance(body, dict):
            raise HTTPError(400, "Exception while reading request",
                            "The payload is not a JSON object of name-value pairs")
        with self.store.lock:
            iset = self._open_set(tmap, user)
            entry = self.transform(tmap, iset, body, user, req.base_url)
            number = self._set_number(iset)
        return json_response({"import_set": number, "staging_table": tmap.source, "result": [entry]}, 201)

    def insert_multiple(self, req: Request) -> Response:
        user = self.sb.auth.authenticate(req)
        tmap = self._map(req.params["table"])
        acl.check_write(self.store, tmap.source, "Insert", user)
        body = self._json(req)
        records = body.get("records") if isinstance(body, dict) else None
        if not isinstance(records, list) or not records or not all(isinstance(r, dict) for r in records):
            raise HTTPError(400, "Exception while reading request",
                            'The body must be {"records": [ {name-value pairs}, ... ]} with at least one record')
        multi = req.query.get("multi_import_set_id") or ""
        with self.store.lock:
            multi = multi or self.store.new_sys_id()
            sets, row = self.store.insert("sys_import_set", {"table_name": tmap.source, "mode": "asynchronous",
                                                             "multi_import_set": multi}, user)
            iset = sets.rows[row][0]  # type: ignore[index]
            for record in records:
                self.transform(tmap, iset, record, user, req.base_url)
            self.store.update(sets, row, {"state": "processed", "load_completed": self.store.clock.now_str()}, user)
        return json_response({"import_set_id": iset, "multi_import_set_id": multi}, 201)

    def get(self, req: Request) -> Response:
        self.sb.auth.authenticate(req)
        check_accept(req)
        tmap = self._map(req.params["table"])
        with self.store.lock:
            staging = self.store.tables[tmap.source]
            row = staging.row_of(req.params["sys_id"])
            if row is None:
                raise HTTPError(404, "No Record found", "Record doesn't exist or ACL restricts the record retrieval")
            rec = staging.record(row)
            entry = self._entry(tmap, rec["sys_import_state"], rec["sys_target_sys_id"], req.base_url,
                                rec["sys_row_error"])
            number = self._set_number(rec["sys_import_set"])
        return json_response({"import_set": number, "staging_table": tmap.source, "result": [entry]})

    # --- the transform ------------------------------------------------------------------------------
    def transform(self, tmap: TransformMap, iset: str, values: dict[str, Any], user: str, base: str) -> dict[str, Any]:
        """Insert one staging row into import set `iset`, run the transform map, return the result entry."""
        staging = self.store.tables[tmap.source]
        cols = {k: to_text(v) for k, v in values.items() if k in tmap.fields}
        seq = sum(1 for t in staging.rows if t is not None and t[staging.pos["sys_import_set"]] == iset)
        _, srow = self.store.insert(tmap.source, {**cols, "sys_import_set": iset, "sys_import_row": str(seq)}, user)
        target = self.store.tables[tmap.target]
        mapped = {tmap.fields[k]: v for k, v in cols.items() if v != ""}
        mapped = self.store.from_display(target, mapped)
        mapped.update({k: v for k, v in tmap.derive(mapped).items() if k not in mapped})
        error = comment = ""
        try:
            match = self._coalesce(target, tmap, mapped)
            if match is None:
                _, trow = self.store.insert(tmap.target, mapped, user)
                status = "inserted"
            else:
                trow = match
                status = "updated" if self.store.update(target, trow, mapped, user) else "ignored"
                comment = "" if status == "updated" else "No field values changed"
            target_id = target.rows[trow][0]  # type: ignore[index]
        except HTTPError as exc:
            status, target_id, error = "error", "", f"{exc.message}: {exc.detail}" if exc.detail else exc.message
        self.store.update(staging, srow, {"sys_import_state": status, "sys_import_state_comment": comment or error,
                                          "sys_row_error": error, "sys_target_table": tmap.target,
                                          "sys_target_sys_id": target_id, "sys_transform_map": tmap.name}, user)
        return self._entry(tmap, status, target_id, base, error)

    @staticmethod
    def _coalesce(target: Table, tmap: TransformMap, mapped: dict[str, Any]) -> int | None:
        keys = [(target.pos[f], to_text(mapped.get(f, ""))) for f in tmap.coalesce]
        if not keys or any(v == "" for _, v in keys):
            return None
        for row, t in enumerate(target.rows):
            if t is not None and all(t[i] == v for i, v in keys):
                return row
        return None

    def _entry(self, tmap: TransformMap, status: str, target_id: str, base: str, error: str = "") -> dict[str, Any]:
        target = self.store.tables[tmap.target]
        display = target.schema.display
        entry: dict[str, Any] = {"transform_map": tmap.name, "table": tmap.target, "display_name": display}
        row = target.row_of(target_id) if target_id else None
        if row is not None:
            entry["display_value"] = target.record(row).get(display, "")
            entry["record_link"] = f"{base}/api/now/table/{tmap.target}/{target_id}"
        entry["status"] = status
        if target_id:
            entry["sys_id"] = target_id
        if status == "ignored":
            entry["status_message"] = "No field values changed"
        if error:
            entry["error_message"] = error
        return entry

    # --- helpers --------------------------------------------------------------------------------------
    def _map(self, name: str) -> TransformMap:
        tmap = TRANSFORM_MAPS.get(name)
        if tmap is not None:
            return tmap
        if self.store.source(name) is not None:
            raise HTTPError(400, f"Invalid import set table {name}", f"{name} does not extend sys_import_set_row")
        raise HTTPError(400, f"Invalid table {name}", None)

    @staticmethod
    def _json(req: Request) -> Any:
        try:
            return lenient_json.loads(req.body)
        except ValueError as exc:
            raise HTTPError(400, "Exception while reading request", f"Invalid JSON: {exc}") from exc

    def _open_set(self, tmap: TransformMap, user: str) -> str:
        sets = self.store.tables["sys_import_set"]
        pos = sets.pos
        for t in reversed(sets.rows):
            if t is not None and t[pos["table_name"]] == tmap.source and t[pos["mode"]] == "synchronous" \
                    and t[pos["state"]] == "loading":
                return t[0]
        _, row = self.store.insert("sys_import_set", {"table_name": tmap.source, "mode": "synchronous",
                                                      "short_description": "REST synchronous import"}, user)
        return sets.rows[row][0]  # type: ignore[index]

    def _set_number(self, sys_id: str) -> str:
        sets = self.store.tables["sys_import_set"]
        row = sets.row_of(sys_id)
        return "" if row is None else sets.record(row)["number"]
