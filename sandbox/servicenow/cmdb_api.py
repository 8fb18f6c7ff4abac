"""CMDB Instance API: /api/now[/v1]/cmdb/instance/{classname}[/{sys_id}] over cmdb_ci and its class
tables (`ci_classes`).

GET list: `{"result": [{"sys_id", "name"}]}` (sysparm_query, sysparm_limit default 1000,
sysparm_offset; X-Total-Count). GET one: `{"result": {"attributes": {...}, "outbound_relations": [],
"inbound_relations": []}}`, attributes as the Table API renders raw values. POST (201) and PATCH/PUT
take `{"attributes": {...}, "source": "..."}`; `source` is required, as documented. The relation lists
come from cmdb_rel_ci: outbound = the CI is the parent, inbound = the child, each
`{"sys_id", "type": {"link", "value", "display_value"}, "target": {"link", "value", "display_value"}}`
(the target a link to the other CI's instance record). Another table's name answers 400.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from sandbox.core.http import HTTPError, Request, Response, Router, json_response
from sandbox.servicenow import acl, lenient_json
from sandbox.servicenow.app import caller_query, check_accept, int_param
from sandbox.servicenow.ci_classes import CI_PARENTS
from sandbox.servicenow.render import Mode, render_rows
from sandbox.servicenow.tables import Table, TaskView

if TYPE_CHECKING:
    from sandbox.servicenow.sandbox import ServiceNowSandbox

BASE = r"/api/now(?:/v1)?/cmdb/instance/(?P<cls>[A-Za-z0-9_]+)"


class CmdbInstanceAPI:
    """Route handlers bound to one ServiceNowSandbox."""

    def __init__(self, sandbox: ServiceNowSandbox) -> None:
        self.sb = sandbox
        self.store = sandbox.store

    def register(self, router: Router) -> None:
        one = BASE + r"/(?P<sys_id>[0-9a-f]{32})"
        router.add("GET", BASE, self.list_cis)
        router.add("POST", BASE, self.create)
        router.add("GET", one, self.get)
        router.add("PATCH", one, self.update)
        router.add("PUT", one, self.update)

    def _source(self, req: Request) -> Table | TaskView:
        name = req.params["cls"]
        source = self.store.source(name) if name == "cmdb_ci" or name in CI_PARENTS else None
        if source is None:
            raise HTTPError(400, "Invalid class", f"{name} is not a CMDB class")
        return source

    def _one(self, req: Request, table: Table, row: int, status: int = 200) -> Response:
        attributes = json.loads(render_rows(table, [row], Mode("false"), req.base_url, self.store)[0])
        return json_response({"result": {"outbound_relations": self._relations(req, attributes["sys_id"], "parent"),
                                         "attributes": attributes,
                                         "inbound_relations": self._relations(req, attributes["sys_id"], "child")}},
                             status)

    def _relations(self, req: Request, ci: str, side: str) -> list[dict[str, Any]]:
        rels = self.store.tables["cmdb_rel_ci"]
        this, kind = rels.getter(side), rels.getter("type")
        other = rels.getter("child" if side == "parent" else "parent")
        out = []
        for r in rels.alive_rows():
            if this(r) != ci:
                continue
            target = self.store.locate("cmdb_ci", other(r))
            cls = target[0].record(target[1])["sys_class_name"] if target else "cmdb_ci"
            out.append({"sys_id": rels.getter("sys_id")(r), "type": {
                "link": f"{req.base_url}/api/now/table/cmdb_rel_type/{kind(r)}", "value": kind(r),
                "display_value": self.store.display_of("cmdb_rel_type", kind(r))}, "target": {
                "link": f"{req.base_url}/api/now/cmdb/instance/{cls}/{other(r)}", "value": other(r),
                "display_value": self.store.display_of("cmdb_ci", other(r))}})
        return out

    def _body(self, req: Request) -> dict[str, Any]:
        try:
            body = lenient_json.loads(req.body)
        except ValueError as exc:
            raise HTTPError(400, "Exception while reading request", f"Invalid JSON: {exc}") from exc
        if not isinstance(body, dict) or not isinstance(body.get("attributes", {}), dict):
            raise HTTPError(400, "Exception while reading request", 'expected {"attributes": {...}, "source": ...}')
        if not body.get("source"):
            raise HTTPError(400, "source is required", "Provide the data source of the change in 'source'")
        return body

    def list_cis(self, req: Request) -> Response:
        user = self.sb.auth.authenticate(req)
        check_accept(req)
        source, q = self._source(req), req.query
        limit, offset = int_param(q, "sysparm_limit", 1000), int_param(q, "sysparm_offset", 0)
        with self.store.lock:
            rows = self.store.engine.run(source, caller_query(self.store, q.get("sysparm_query", ""), user))
            allowed = acl.row_filter(self.store, source, user)
            rows = rows if allowed is None else [r for r in rows if allowed(r)]
            ids, names = source.getter("sys_id"), source.getter("name")
            result = [{"sys_id": ids(r), "name": names(r)} for r in rows[offset:offset + limit]]
        return json_response({"result": result}, 200, [("X-Total-Count", str(len(rows)))])

    def get(self, req: Request) -> Response:
        user = self.sb.auth.authenticate(req)
        check_accept(req)
        source = self._source(req)
        with self.store.lock:
            found = self.store.locate(source.name, req.params["sys_id"])
            allowed = acl.row_filter(self.store, found[0], user) if found else None
            if found is None or (allowed is not None and not allowed(found[1])):
                raise HTTPError(404, "No Record found", "Record doesn't exist or ACL restricts the record retrieval")
            return self._one(req, *found)

    def create(self, req: Request) -> Response:
        user = self.sb.auth.authenticate(req)
        source, body = self._source(req), self._body(req)
        with self.store.lock:
            acl.check_write(self.store, "cmdb_ci", "Insert", user)
            table, row = self.store.insert(source.name, body.get("attributes") or {}, user)
            return self._one(req, table, row, 201)

    def update(self, req: Request) -> Response:
        user = self.sb.auth.authenticate(req)
        source, body = self._source(req), self._body(req)
        with self.store.lock:
            found = self.store.locate(source.name, req.params["sys_id"])
            if found is None:
                raise HTTPError(404, "No Record found", "Record doesn't exist or ACL restricts the record retrieval")
            acl.check_write(self.store, "cmdb_ci", "Update", user)
            self.store.update(found[0], found[1], body.get("attributes") or {}, user)
            return self._one(req, *found)
