"""CMDB Instance API: /api/now[/v1]/cmdb/instance/{classname}[/{sys_id}] over cmdb_ci and its class
tables (`ci_classes`).

GET list: `{"result": [{"sys_id", "name"}]}` (sysparm_query, sysparm_limit default 1000, sysparm_offset; no
X-Total-Count: that header is the Table API's, and a client pages this list until a page comes back empty [obs:
ansible-collections/servicenow.itsm's `SNowClient.list`]). GET one: `{"result": {"attributes": {...},
"outbound_relations": [], "inbound_relations": []}}`, attributes as raw values, references with their display
value. POST (201) and PATCH/PUT take `{"attributes": {...}, "source": "..."}`; `source` is required, as
documented. The relation lists come from cmdb_rel_ci: outbound = the CI is the parent, inbound = the child, each
`{"sys_id", "type": {"link", "value", "display_value"}, "target": {"link", "value", "display_value"}}`
(the target a link to the other CI's instance record through `cmdb_ci`). Another table's name answers 400.
POST `.../{sys_id}/relation` adds relations and DELETE `.../{sys_id}/relation/{rel_sys_id}` removes one
(`cmdb_relations`, which also shapes the record).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.core.http import HTTPError, Request, Response, Router, json_response
from sandbox.servicenow import acl, cmdb_relations, lenient_json
from sandbox.servicenow.app import caller_query, check_accept, int_param
from sandbox.servicenow.ci_classes import CI_PARENTS
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
        router.add("POST", one + "/relation", self.add_relations)
        router.add("DELETE", one + r"/relation/(?P<rel>[0-9a-f]{32})", self.remove_relation)

    def _source(self, req: Request) -> Table | TaskView:
        name = req.params["cls"]
        source = self.store.source(name) if name == "cmdb_ci" or name in CI_PARENTS else None
        if source is None:
            raise HTTPError(400, "Invalid class", f"{name} is not a CMDB class")
        return source

    def _one(self, req: Request, table: Table, row: int, status: int = 200) -> Response:
        ci, base = table.record(row)["sys_id"], req.base_url
        return json_response({"result": {
            "outbound_relations": cmdb_relations.listed(self.store, ci, "parent", base),
            "attributes": cmdb_relations.attributes(self.store, table, row, base),
            "inbound_relations": cmdb_relations.listed(self.store, ci, "child", base)}}, status)

    def _found(self, req: Request, source: Table | TaskView) -> tuple[Table, int]:
        found = self.store.locate(source.name, req.params["sys_id"])
        if found is None:
            raise HTTPError(404, "No Record found", "Record doesn't exist or ACL restricts the record retrieval")
        return found

    def _discovered(self, body: dict[str, Any]) -> dict[str, str]:
        """What every write records besides its attributes: the body's source (which beats a
        `discovery_source` attribute, as the documented PUT sample shows) and the time [unc: the source is not
        checked against discovery_source's choices]."""
        return {"discovery_source": str(body["source"]), "last_discovered": self.store.clock.now_str()}

    def _body(self, req: Request) -> dict[str, Any]:
        try:
            body = lenient_json.loads(req.body)
        except ValueError as exc:
            raise HTTPError(400, "Exception while reading request", f"Invalid JSON: {exc}") from exc
        if not isinstance(body, dict) or not isinstance(body.get("attributes", {}), dict):
            raise HTTPError(400, "Exception while reading request", 'expected {"attributes": {...}, "source": ...}')
        if not isinstance(body.get("source"), str) or not body["source"].strip():
            raise HTTPError(400, "source is required", "Provide the data source of the change in 'source' (a string)")
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
        return json_response({"result": result})

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
            wanted = cmdb_relations.requested(self.store, body)
            if wanted:
                acl.check_write(self.store, "cmdb_rel_ci", "Insert", user)
            values = {**(body.get("attributes") or {}), **self._discovered(body)}
            match = cmdb_relations.identify(self.store, source.name, values)
            if match is None:
                table, row = self.store.insert(source.name, values, user)
            else:
                table, row = match
                self.store.update(table, row, values, user)
                if table.getter("sys_class_name")(row) != source.name:  # reclassified, as the IRE does
                    table.replace(row, {"sys_class_name": source.name})
            cmdb_relations.add(self.store, table.record(row)["sys_id"], wanted, user)
            return self._one(req, table, row, 201)

    def update(self, req: Request) -> Response:
        user = self.sb.auth.authenticate(req)
        source, body = self._source(req), self._body(req)
        with self.store.lock:
            found = self._found(req, source)
            acl.check_write(self.store, "cmdb_ci", "Update", user)
            self.store.update(found[0], found[1], {**(body.get("attributes") or {}), **self._discovered(body)}, user)
            return self._one(req, *found)

    def add_relations(self, req: Request) -> Response:
        user = self.sb.auth.authenticate(req)
        source, body = self._source(req), self._body(req)
        with self.store.lock:
            found = self._found(req, source)
            acl.check_write(self.store, "cmdb_rel_ci", "Insert", user)
            wanted = cmdb_relations.requested(self.store, body)
            if not wanted:  # [unc: the instance's wording]; nothing written, the CI untouched
                raise HTTPError(400, "Invalid relation", "Provide inbound_relations or outbound_relations")
            cmdb_relations.add(self.store, found[0].record(found[1])["sys_id"], wanted, user)
            self.store.update(found[0], found[1], self._discovered(body), user)
            return self._one(req, *found, 201)

    def remove_relation(self, req: Request) -> Response:
        user = self.sb.auth.authenticate(req)
        source = self._source(req)
        with self.store.lock:
            found = self._found(req, source)
            acl.check_write(self.store, "cmdb_rel_ci", "Delete", user)
            cmdb_relations.remove(self.store, found[0].record(found[1])["sys_id"], req.params["rel"], user)
            return Response(204)
