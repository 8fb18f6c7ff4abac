"""REST API rate limit rules (`sys_rate_limit_rules`), as an admin configures them on an instance.

A rule caps the requests per hour one caller may make to one REST API. The documented behaviour: each
request a rule applies to answers `X-RateLimit-Limit` (requests allowed per hour), `X-RateLimit-Reset` (Unix
time the count resets) and `X-RateLimit-Rule` (the rule's sys_id); past the limit the request is not run and
answers **429** with `Retry-After` (seconds to the reset) and
`{"error":{"message":"Rate limit exceeded","detail":"Rate limit of N requests per hour for <API> exceeded"},
"status":"failure"}`. Each refusal is recorded in `sys_rate_limit_violations` (one row per rule, user and
hour, its `count` the refusals so far).

Fields of a rule (the form's Name, REST API, Table, Active, Request limit per hour, Apply to, Role, User):
`name`, `active`, `rest_api` (the API's name: "Table API", "Attachment API", "Aggregate API", "Import Set API",
"Batch API", "CMDB Instance API", "Change Management API", "Service Catalog API"; empty = every REST API),
`table` (for the Table API: the table the path names, empty = every table), `http_method` (empty or "all" =
every method; the form's Resource), `type` (Apply to: "user", "role" or "all"), `user` (sys_user), `role` (a
role name) and `rate_limit` (requests per hour). [unc: column names guessed from the form's labels; on an
instance `rest_api` references sys_ws_definition and `role` sys_user_role.] As documented, when several
rules fit a request one applies: a user rule before a role rule before an all-users rule, and among rules
of one kind the one allowing the fewest requests. Changing a rule's limit starts its count of the hour
again. Counts run per rule and user in clock hours of the sandbox's clock (an instance commits its counts
every 30 s, so it may let a few requests past the limit: the sandbox is exact) [unc: the hour boundaries].
Requests that do not authenticate are not counted, nor are a batch's sub-requests (the batch itself is a
Batch API request) [unc]. The tables are admin-only like sys_properties (`acl.ADMIN_TABLES`; an instance
also grants rate_limit_admin).
"""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sandbox.core.http import HTTPError, Request, Response, json_response
from sandbox.servicenow import roles
from sandbox.servicenow.schema import SYS_FIELDS, Field, TableSchema

if TYPE_CHECKING:
    from sandbox.servicenow.sandbox import ServiceNowSandbox
    from sandbox.servicenow.store import Store

RULES, VIOLATIONS = "sys_rate_limit_rules", "sys_rate_limit_violations"
TYPES = {"user": "User", "role": "Role", "all": "All Users"}
METHODS = {"all": "All", "GET": "GET", "POST": "POST", "PUT": "PUT", "PATCH": "PATCH", "DELETE": "DELETE"}
_SPECIFIC = {"user": 0, "role": 1, "all": 2}
# the REST API a path belongs to, first match wins
APIS = (
    (re.compile(r"/api/now(?:/v[12])?/table/(?P<table>[^/]+)"), "Table API"),
    (re.compile(r"/api/now(?:/v1)?/attachment(?:/|$)"), "Attachment API"),
    (re.compile(r"/api/now(?:/v1)?/stats/"), "Aggregate API"),
    (re.compile(r"/api/now(?:/v1)?/import/"), "Import Set API"),
    (re.compile(r"/api/now(?:/v1)?/batch$"), "Batch API"),
    (re.compile(r"/api/now(?:/v1)?/cmdb/"), "CMDB Instance API"),
    (re.compile(r"/api/sn_chg_rest/"), "Change Management API"),
    (re.compile(r"/api/sn_sc/"), "Service Catalog API"),
)

SCHEMAS = {s.name: s for s in (
    TableSchema(RULES, (
        Field("sys_id"), Field("name"), Field("active", "boolean"), Field("rest_api"),
        Field("http_method", "string", None, METHODS), Field("type", "string", None, TYPES),
        Field("user", "reference", "sys_user"), Field("role"), Field("table"), Field("rate_limit", "integer"),
        Field("description"), *SYS_FIELDS), None, "name", None,
        {"active": "true", "http_method": "all", "type": "all", "rate_limit": "1000", "sys_domain": "global"}),
    TableSchema(VIOLATIONS, (
        Field("sys_id"), Field("rule", "reference", RULES), Field("user", "reference", "sys_user"),
        Field("rest_api"), Field("window_start", "datetime"), Field("count", "integer"), *SYS_FIELDS),
        None, "rule", None, {"count": "0", "sys_domain": "global"}),
)}


def api_of(path: str) -> tuple[str, str] | None:
    """(the REST API a request path is a resource of, the table a Table API path names) or None."""
    for pattern, name in APIS:
        m = pattern.match(path)
        if m:
            return name, m.groupdict().get("table") or ""
    return None


class RateLimiter:
    """Applies the store's active rules to API requests; counts per (rule, user, clock hour)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, str, int, int], int] = {}

    def any_rules(self) -> bool:
        """Whether any rule is stored (most instances have none: requests are then not looked at)."""
        with self.store.lock:
            return bool(self.store.tables[RULES].alive_rows())

    def _rule_for(self, user: str, api: str, table_name: str, method: str) -> dict[str, str] | None:
        store = self.store
        with store.lock:
            table = store.tables[RULES]
            rules = [table.record(r) for r in table.alive_rows()]
            if not rules:
                return None
            me = store.user_sys_id(user)
            held = set(roles.names_by_user(store).get(me, "").split(","))
        fitting = []
        for rule in rules:
            kind = rule.get("type") or "all"
            limit = rule.get("rate_limit", "")
            if (rule.get("active") != "true" or not limit.isdigit() or kind not in _SPECIFIC
                    or rule.get("rest_api", "").strip().lower() not in ("", api.lower())
                    or rule.get("http_method", "").upper() not in ("", "ALL", method)
                    or rule.get("table", "").strip() not in ("", table_name)
                    or (kind == "user" and rule.get("user") not in (me, user))
                    or (kind == "role" and rule.get("role", "") not in held)):
                continue
            fitting.append((_SPECIFIC[kind], int(limit), rule))
        return min(fitting, key=lambda f: f[:2])[2] if fitting else None

    def check(self, req: Request, user: str) -> tuple[list[tuple[str, str]], Response | None]:
        """(the rule's headers to add to the answer, the 429 to answer instead or None) for `user`'s request."""
        found = api_of(req.path)
        if found is None or req.internal:
            return [], None
        api, table_name = found
        method = req.header("X-HTTP-Method-Override").upper() or req.method.upper()
        rule = self._rule_for(user, api, table_name, method)
        if rule is None:
            return [], None
        limit, now = int(rule["rate_limit"]), self.store.clock.now()
        stamp = int(now.replace(tzinfo=UTC).timestamp()) if now.tzinfo is None else int(now.timestamp())
        hour = stamp - stamp % 3600
        reset = hour + 3600
        headers = [("X-RateLimit-Limit", str(limit)), ("X-RateLimit-Reset", str(reset)),
                   ("X-RateLimit-Rule", rule["sys_id"])]
        key = (rule["sys_id"], user, hour, limit)  # a new limit starts the hour's count again
        with self._lock:
            if key not in self._counts:  # a new hour's first request drops the counts of past hours
                self._counts = {k: v for k, v in self._counts.items() if k[2] == hour}
            over = self._counts.get(key, 0) >= limit
            if not over:
                self._counts[key] = self._counts.get(key, 0) + 1
        if not over:
            return headers, None
        self._violation(rule, user, api, hour)
        body = {"error": {"message": "Rate limit exceeded",
                          "detail": f"Rate limit of {limit} requests per hour for {api} exceeded"}, "status": "failure"}
        return headers, json_response(body, 429, [("Retry-After", str(max(1, reset - stamp)))])

    def _violation(self, rule: dict[str, str], user: str, api: str, hour: int) -> None:
        start = datetime.fromtimestamp(hour, UTC).strftime("%Y-%m-%d %H:%M:%S")
        store = self.store
        with store.lock:
            table = store.tables[VIOLATIONS]
            me = store.user_sys_id(user)
            for r in table.alive_rows():
                rec = table.record(r)
                if (rec["rule"], rec["user"], rec["window_start"]) == (rule["sys_id"], me, start):
                    store.update(table, r, {"count": str(int(rec["count"] or 0) + 1)}, "system")
                    return
            store.insert(VIOLATIONS, {"rule": rule["sys_id"], "user": me, "rest_api": api,
                                      "window_start": start, "count": "1"}, "system")

    def clear(self) -> None:
        with self._lock:
            self._counts.clear()


def register_admin(sb: ServiceNowSandbox) -> None:
    """Sandbox admin routes: POST /_sandbox/servicenow/rate_limits {"name", "rest_api", "rate_limit", ...} adds a
    rule (201, the record; a Table API POST by an admin does the same), GET lists rules and violations, DELETE
    removes every rule and forgets the counts (204)."""

    def add(req: Request) -> Response:
        body = sb._admin_json(req)
        limit = str(body.get("rate_limit", ""))
        if not limit.isdigit() or not limit.isascii():
            raise HTTPError(400, "Invalid admin request", "rate_limit must be a whole number of requests per hour")
        return json_response(sb.insert(RULES, {k: str(v) for k, v in body.items() if k in SCHEMAS[RULES].names}), 201)

    def clear(req: Request) -> Response:
        sb.delete(RULES, [r["sys_id"] for r in sb.records(RULES)])
        sb.rate_limits.clear()
        return Response(204)

    sb.admin.add("POST", r"/_sandbox/servicenow/rate_limits", add)
    sb.admin.add("GET", r"/_sandbox/servicenow/rate_limits", lambda r: json_response(
        {"rules": sb.records(RULES), "violations": sb.records(VIOLATIONS)}))
    sb.admin.add("DELETE", r"/_sandbox/servicenow/rate_limits", clear)
