"""Change Management API: /api/sn_chg_rest[/v1]/change over the change_request and change_task tables the
Table API serves (a change made here is a change_request record there, and back).

Every field answers as `{"value", "display_value"}` (the Table API's `sysparm_display_value=all` without
reference links [unc: links]). GET list (name=value filters, sysparm_query, `order` (a field; number by
default), textSearch over number, short_description and description, sysparm_limit default 500 (as documented),
sysparm_offset; X-Total-Count);
GET/PATCH/DELETE /change[/{type}]/{sys_id} (a type path answers 404 for another type [unc]; DELETE answers
200 with the record as it was, as documented, and so does a task's); POST
/change/normal, /change/emergency and /change/standard/{template} (fields from the JSON body or as
name=value query parameters; `type` follows the path and is never written by PATCH); POST/PATCH answer
200 with `__meta.ignoredFields` (as documented), the fields the table has not. /change/{sys_id}/task lists and
creates change tasks, /task/{task_sys_id} reads, patches and deletes one; /nextstates gives the next
states of `change_model` [unc]; PATCH /approvals approves or rejects (the caller's pending approvals,
the change's `approval`; approved in Authorize moves it to Scheduled, rejected back to New [unc]).
A PATCH moving the state where the model does not allow answers 400
"Invalid state transition" [unc: wording] and changes nothing. A user without roles
sees only the changes `acl` lets it read and may not write (403). Standard change templates are `change_model`'s
fixed list (GET /change/standard/template, one: /change/standard/template/{sys_id}). Change models
(`change_model.MODELS`): GET /change/model (name=value filters, sysparm_limit/offset, X-Total-Count) and
/change/model/{sys_id}; POST /change {"chg_model": <sys_id or name>, fields} creates a change from the model's
record_preset (the default model, Normal, without one) [unc: the change keeps no chg_model field here].
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from sandbox.core.http import HTTPError, Request, Response, Router, json_response
from sandbox.servicenow import acl
from sandbox.servicenow.app import caller_query, check_accept, int_param, json_object
from sandbox.servicenow.change_model import MODEL_LABELS, MODELS, TEMPLATES, next_states, preset_values
from sandbox.servicenow.render import Mode, render_rows
from sandbox.servicenow.schema import CHANGE_STATE
from sandbox.servicenow.tables import Table

if TYPE_CHECKING:
    from sandbox.servicenow.sandbox import ServiceNowSandbox

BASE = r"/api/sn_chg_rest(?:/v1)?/change"
SID = r"(?P<sys_id>[0-9a-f]{32})"
KIND = r"(?:/(?P<type>normal|standard|emergency))?"
API_MODE = Mode("all", True)
NOT_FOUND = ("No Record found", "Record doesn't exist or ACL restricts the record retrieval")
TEXT_FIELDS = ("number", "short_description", "description")


class ChangeAPI:
    """Route handlers bound to one ServiceNowSandbox."""

    def __init__(self, sandbox: ServiceNowSandbox) -> None:
        self.sb = sandbox
        self.store = sandbox.store

    def register(self, router: Router) -> None:
        one = BASE + KIND + "/" + SID
        router.add("GET", BASE + r"/standard/template", self.templates)
        router.add("GET", BASE + r"/standard/template/(?P<template>[0-9a-f]{32})", self.template)
        router.add("GET", BASE + r"/model", self.models)
        router.add("GET", BASE + r"/model/(?P<model>[0-9a-f]{32})", self.model)
        router.add("GET", BASE + KIND, self.list_changes)
        router.add("POST", BASE, self.create_from_model)
        router.add("POST", BASE + r"/(?P<type>normal|emergency)", self.create)
        router.add("POST", BASE + r"/(?P<type>standard)/(?P<template>[0-9a-f]{32})", self.create)
        router.add("GET", one, self.get)
        router.add("PATCH", one, self.update)
        router.add("DELETE", one, self.delete)
        router.add("GET", BASE + "/" + SID + "/task", self.list_tasks)
        router.add("POST", BASE + "/" + SID + "/task", self.create_task)
        for method in ("GET", "PATCH", "DELETE"):
            router.add(method, BASE + "/" + SID + r"/task/(?P<task_id>[0-9a-f]{32})", self.task)
        router.add("GET", BASE + "/" + SID + "/nextstates", self.next_states)
        router.add("PATCH", BASE + "/" + SID + "/approvals", self.approve)

    # --- helpers ---------------------------------------------------------------------------------
    def _render(self, req: Request, table: Table, rows: list[int]) -> list[bytes]:
        return render_rows(table, rows, API_MODE, req.base_url, self.store)

    def _record(self, req: Request, table: Table, row: int, ignored: list[str] | None = None) -> Response:
        rec = json.loads(self._render(req, table, [row])[0])
        if ignored is not None:
            rec["__meta"] = {"ignoredFields": ignored}
        return json_response({"result": rec})

    def _change(self, req: Request) -> tuple[Table, int]:
        found = self.store.locate("change_request", req.params["sys_id"])
        kind = req.params.get("type")
        if found is None or (kind and found[0].record(found[1]).get("type") != kind) or not self._visible(req, *found):
            raise HTTPError(404, *NOT_FOUND)
        return found

    def _visible(self, req: Request, table: Table, row: int) -> bool:
        allowed = acl.row_filter(self.store, table, str(req.principal))
        return allowed is None or allowed(row)

    def _fields(self, req: Request) -> dict[str, Any]:
        """The record's fields: name=value query parameters, then the JSON body's."""
        values: dict[str, Any] = {k: v for k, v in req.query_pairs if not k.startswith("sysparm_")}
        values.update(json_object(req, empty=True))
        return values

    def _split(self, table: Table, values: dict[str, Any], fixed: tuple[str, ...]) -> tuple[dict[str, Any], list[str]]:
        ignored = [k for k in values if k not in table.pos or k in fixed]
        return {k: v for k, v in values.items() if k not in ignored}, ignored

    def _query(self, req: Request, table: Table, extra: list[str], user: str) -> list[int]:
        q = req.query
        pairs = {k: v for k, v in req.query_pairs if not k.startswith("sysparm_") and k not in ("textSearch", "order")}
        raw = self.store.from_display(table, pairs)
        terms = [q.get("sysparm_query", ""), *extra, *(f"{k}={str(raw[k]).replace('^', '^^')}" for k in pairs),
                 f"ORDERBY{q.get('order') or 'number'}"]  # documented: `order`, by number by default
        rows = self.store.engine.run(table, caller_query(self.store, "^".join(filter(None, terms)), user))
        text = q.get("textSearch", "").strip().lower()
        if text:
            getters = [table.getter(f) for f in TEXT_FIELDS]
            rows = [r for r in rows if any(text in g(r).lower() for g in getters)]
        return rows

    def _page(self, req: Request, table: Table, rows: list[int]) -> Response:
        limit, offset = int_param(req.query, "sysparm_limit", 500), int_param(req.query, "sysparm_offset", 0)
        if offset < 0 or limit < 0:
            raise HTTPError(400, "Invalid pagination parameters", "sysparm_offset/sysparm_limit must be >= 0")
        allowed = acl.row_filter(self.store, table, str(req.principal))
        rows = rows if allowed is None else [r for r in rows if allowed(r)]
        parts = self._render(req, table, rows[offset:offset + limit])
        return Response(200, b'{"result":[' + b",".join(parts) + b"]}",
                        headers=[("X-Total-Count", str(len(rows)))])

    @staticmethod
    def _legal_move(rec: dict[str, str], wanted: str) -> str:
        """The state to write (a label such as "Assess" taken as its value), or the 400 for a move the
        change's model does not allow from its current state."""
        state = next((v for v, label in CHANGE_STATE.items() if label.lower() == wanted.lower()), wanted)
        if state != rec["state"] and state not in next_states(rec["type"], rec["state"]):
            allowed = ", ".join(CHANGE_STATE.get(s, s) for s in next_states(rec["type"], rec["state"])) or "none"
            raise HTTPError(400, "Invalid state transition",
                            f"{rec['number']} cannot move from {CHANGE_STATE.get(rec['state'], rec['state'])} to "
                            f"{CHANGE_STATE.get(state, state)}; the next states are: {allowed}")
        return state

    # --- changes ---------------------------------------------------------------------------------
    def templates(self, req: Request) -> Response:
        self.sb.auth.authenticate(req)
        check_accept(req)
        fields = ("sys_id", "name", "short_description", "category")
        return json_response({"result": [{f: {"value": t[f], "display_value": t[f]} for f in fields}
                                         for t in TEMPLATES]})

    def template(self, req: Request) -> Response:
        """GET /change/standard/template/{sys_id}: one template, every field `{"value", "display_value"}`
        [unc: the fields beyond the list's]; 404 for an id that is no template."""
        self.sb.auth.authenticate(req)
        check_accept(req)
        found = next((t for t in TEMPLATES if t["sys_id"] == req.params["template"]), None)
        if found is None:
            raise HTTPError(404, *NOT_FOUND)
        return json_response({"result": {f: {"value": v, "display_value": v} for f, v in found.items()}})

    @staticmethod
    def _model_fields(model: dict[str, str]) -> dict[str, dict[str, str]]:
        return {f: {"value": v, "display_value": MODEL_LABELS.get(f, v)} for f, v in model.items()}

    def models(self, req: Request) -> Response:
        """GET /change/model: the change models (name=value pairs filter on their raw values; limit/offset)."""
        self.sb.auth.authenticate(req)
        check_accept(req)
        q = req.query
        pairs = {k: v for k, v in req.query_pairs if not k.startswith("sysparm_")}
        kept = [m for m in MODELS if all(m.get(k) == v for k, v in pairs.items())]
        limit, offset = int_param(q, "sysparm_limit", 500), int_param(q, "sysparm_offset", 0)
        page = [self._model_fields(m) for m in kept[offset:offset + limit]]
        return json_response({"result": page}, 200, [("X-Total-Count", str(len(kept)))])

    def model(self, req: Request) -> Response:
        self.sb.auth.authenticate(req)
        check_accept(req)
        found = next((m for m in MODELS if m["sys_id"] == req.params["model"]), None)
        if found is None:
            raise HTTPError(404, *NOT_FOUND)
        return json_response({"result": self._model_fields(found)})

    def create_from_model(self, req: Request) -> Response:
        """POST /change {"chg_model": <model sys_id or name>, fields...}: a change from the model's record_preset
        (its type among them); without chg_model the default model (Normal) [unc]; an unknown model 400."""
        user = self.sb.auth.authenticate(req)
        values = self._fields(req)
        wanted = str(values.pop("chg_model", "") or "")
        model = next((m for m in MODELS if wanted in (m["sys_id"], m["name"])), None) if wanted else \
            next(m for m in MODELS if m["default_change_model"] == "true")
        if model is None:
            raise HTTPError(400, "Invalid change model", f"{wanted} is not an active change model")
        preset = preset_values(model)
        kind = preset.pop("type", "normal")
        if kind == "standard":
            raise HTTPError(400, "Invalid change model", "a standard change is created from a template")
        with self.store.lock:
            acl.check_write(self.store, "change_request", "Insert", user)
            table = self.store.tables["change_request"]
            clean, ignored = self._split(table, values, ("type", "sys_id"))
            table, row = self.store.insert("change_request", {**preset, **clean, "type": kind}, user)
            return self._record(req, table, row, ignored)

    def list_changes(self, req: Request) -> Response:
        user = self.sb.auth.authenticate(req)
        check_accept(req)
        kind = req.params.get("type")
        with self.store.lock:
            table = self.store.tables["change_request"]
            return self._page(req, table, self._query(req, table, [f"type={kind}"] if kind else [], user))

    def get(self, req: Request) -> Response:
        self.sb.auth.authenticate(req)
        check_accept(req)
        with self.store.lock:
            return self._record(req, *self._change(req))

    def create(self, req: Request) -> Response:
        user = self.sb.auth.authenticate(req)
        kind, values = req.params["type"], self._fields(req)
        base: dict[str, Any] = {}
        if kind == "standard":
            template = next((t for t in TEMPLATES if t["sys_id"] == req.params["template"]), None)
            if template is None:
                raise HTTPError(404, "No Record found", f"Standard change template {req.params['template']} not found")
            base = {k: v for k, v in template.items() if k not in ("sys_id", "name")}
            base["approval"] = "approved"  # pre-approved [unc]
        with self.store.lock:
            acl.check_write(self.store, "change_request", "Insert", user)
            table = self.store.tables["change_request"]
            clean, ignored = self._split(table, values, ("type", "sys_id"))
            table, row = self.store.insert("change_request", {**base, **clean, "type": kind}, user)
            return self._record(req, table, row, ignored)

    def update(self, req: Request) -> Response:
        user = self.sb.auth.authenticate(req)
        values = self._fields(req)
        with self.store.lock:
            table, row = self._change(req)
            acl.check_write(self.store, "change_request", "Update", user)
            clean, ignored = self._split(table, values, ("type", "sys_id"))
            if "state" in clean:
                clean["state"] = self._legal_move(table.record(row), str(clean["state"]))
            self.store.update(table, row, clean, user)
            return self._record(req, table, row, ignored)

    def delete(self, req: Request) -> Response:
        user = self.sb.auth.authenticate(req)
        with self.store.lock:
            table, row = self._change(req)
            acl.check_write(self.store, "change_request", "Delete", user)
            gone = self._record(req, table, row)  # the answer is the record as it was
            self.store.delete(table, row, user)
        return gone

    # --- tasks, state model, approvals -----------------------------------------------------------
    def list_tasks(self, req: Request) -> Response:
        user = self.sb.auth.authenticate(req)
        check_accept(req)
        with self.store.lock:
            self._change(req)
            table = self.store.tables["change_task"]
            return self._page(req, table, self._query(req, table, [f"change_request={req.params['sys_id']}"], user))

    def create_task(self, req: Request) -> Response:
        user = self.sb.auth.authenticate(req)
        values = self._fields(req)
        with self.store.lock:
            chg, chg_row = self._change(req)
            acl.check_write(self.store, "change_task", "Insert", user)
            table = self.store.tables["change_task"]
            clean, ignored = self._split(table, values, ("sys_id", "change_request", "parent"))
            sys_id = req.params["sys_id"]
            inherited = {k: chg.record(chg_row)[k] for k in ("cmdb_ci", "assignment_group") if k not in clean}
            table, row = self.store.insert("change_task", {**inherited, **clean, "change_request": sys_id,
                                                           "parent": sys_id}, user)
            return self._record(req, table, row, ignored)

    def task(self, req: Request) -> Response:
        """GET, PATCH or DELETE one of the change's tasks."""
        user = self.sb.auth.authenticate(req)
        values = self._fields(req) if req.method == "PATCH" else {}
        with self.store.lock:
            self._change(req)
            found = self.store.locate("change_task", req.params["task_id"])
            if found is None or found[0].record(found[1])["change_request"] != req.params["sys_id"]:
                raise HTTPError(404, *NOT_FOUND)
            if req.method != "GET":
                acl.check_write(self.store, "change_task", "Delete" if req.method == "DELETE" else "Update", user)
            if req.method == "DELETE":
                gone = self._record(req, *found)
                self.store.delete(*found, user)
                return gone
            clean, ignored = self._split(found[0], values, ("sys_id", "change_request", "parent"))
            if req.method == "PATCH":
                self.store.update(*found, clean, user)
            return self._record(req, *found, ignored if req.method == "PATCH" else None)

    def next_states(self, req: Request) -> Response:
        self.sb.auth.authenticate(req)
        check_accept(req)
        with self.store.lock:
            table, row = self._change(req)
            rec = table.record(row)
        state = rec["state"]
        nxt = next_states(rec["type"], state)
        available = [state, *nxt]
        return json_response({"result": {
            "available_states": available,
            "state_transitions": [{"from_state": state, "to_state": s, "display_value": CHANGE_STATE.get(s, s),
                                   "automatic_transition": False, "conditions": []} for s in nxt],
            "state_label": {s: CHANGE_STATE.get(s, s) for s in available}}})

    def approve(self, req: Request) -> Response:
        user = self.sb.auth.authenticate(req)
        values = self._fields(req)
        decision = str(values.get("state", "")).lower()
        if decision not in ("approved", "rejected"):
            raise HTTPError(400, "Invalid state", "state must be 'approved' or 'rejected'")
        with self.store.lock:
            table, row = self._change(req)
            approvals, me = self.store.tables["sysapproval_approver"], self.store.user_sys_id(user)
            for r in approvals.alive_rows():
                a = approvals.record(r)
                if a["sysapproval"] == req.params["sys_id"] and a["approver"] == me and a["state"] == "requested":
                    self.store.update(approvals, r, {"state": decision, "comments": values.get("comments", "")}, user)
            change: dict[str, str] = {"approval": decision}
            state = table.record(row)["state"]
            if decision == "approved" and state == "-3":
                change["state"] = "-2"
            elif decision == "rejected" and state in ("-4", "-3"):
                change["state"] = "-5"
            self.store.update(table, row, change, user)
            return self._record(req, table, row)
