"""`ServiceNowSandbox`: a stateful ServiceNow instance over real HTTP(S).

Serves the Table API, Attachment API, Batch API, Aggregate API (`stats`), Import Set API, CMDB Instance
API (`cmdb_api`), Change Management API (`change_api`, conflict checking: `change_conflict`), Service
Catalog API (`catalog_api`, the cart: `catalog_cart`), the JSONv2 processor (`/<table>.do?JSONv2`) and
`/oauth_token.do` from a seeded dataset (users besides the integration user and ACLs: `acl`,
`add_user`), plus the shared admin API
under /_sandbox/ and ServiceNow admin extras:
POST /_sandbox/servicenow/touch {"table","n"}, POST /_sandbox/servicenow/delete {"table","sys_ids"},
GET /_sandbox/servicenow/deleted, and the outbound REST messages (signed webhooks on task changes,
``sandbox.servicenow.outbound``): POST|GET|DELETE /_sandbox/servicenow/webhooks.
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from datetime import datetime
from pathlib import Path
from typing import Any

from sandbox.core.base import Sandbox
from sandbox.core.clock import SandboxClock, parse_anchor
from sandbox.core.faults import Decision
from sandbox.core.http import HTTPError, Request, Response, Router, json_response
from sandbox.core.numbers import control_number
from sandbox.servicenow import persistence, xml_format
from sandbox.servicenow.acl import Logins, login_barred
from sandbox.servicenow.app import TableAPI
from sandbox.servicenow.attachments import AttachmentAPI
from sandbox.servicenow.auth import Authenticator, Credentials, InstanceTokens
from sandbox.servicenow.batch import BatchAPI
from sandbox.servicenow.catalog_api import ServiceCatalogAPI
from sandbox.servicenow.catalog_cart import CartAPI
from sandbox.servicenow.change_api import ChangeAPI
from sandbox.servicenow.change_conflict import ChangeConflictAPI
from sandbox.servicenow.cmdb_api import CmdbInstanceAPI
from sandbox.servicenow.cmdb_meta import CmdbMetaAPI
from sandbox.servicenow.imports import ImportSetAPI
from sandbox.servicenow.jsonv2 import JSONv2
from sandbox.servicenow.outbound import OutboundMessages
from sandbox.servicenow.path_ids import loosen
from sandbox.servicenow.rate_limits import RateLimiter, register_admin
from sandbox.servicenow.stats import StatsAPI
from sandbox.servicenow.store import Store
from sandbox.servicenow.tables import Table
from sandbox.servicenow.ui_pages import UIPages, target_too_long

NO_CACHE = (("Pragma", "no-store,no-cache"), ("Cache-control", "no-cache,no-store,must-revalidate,max-age=-1"),
            ("Expires", "0"))


class ServiceNowSandbox(Sandbox):
    """Emulated ServiceNow instance. `size` = number of incidents; other tables scale from it.

    Python API (thread-safe, same semantics as the HTTP API): records, get, insert, update, delete,
    touch, deleted, attachment_content, faults, reset, token_ttl_seconds, clock.
    """

    vendor = "servicenow"
    server_header = "ServiceNow"
    # an injected 403 on a write is worded as the instance words an ACL refusal of that operation
    _ACL_OPERATION = {"POST": "Insert", "PATCH": "Update", "PUT": "Update", "DELETE": "Delete"}

    def __init__(self, host: str = "127.0.0.1", port: int = 0, seed: int = 42, size: int = 200, tls: bool = False,
                 token_ttl_seconds: int = 1800, latency_ms: float = 0, client_id: str = "sandbox-client",
                 client_secret: str = "sandbox-secret", username: str = "integration.user",
                 password: str = "sandbox-password", *, anchor: str | datetime | None = None,
                 max_concurrent_per_client: int | None = None, state_path: str | Path | None = None,
                 client_credentials_enabled: bool = True) -> None:
        self.credentials = Credentials(client_id, client_secret, username, password)
        self.tokens = InstanceTokens(token_ttl_seconds)
        self.clock = SandboxClock(parse_anchor(anchor))
        self.size = size
        self.store = Store(seed, size, self.clock.anchor, self.clock, username)
        self.logins = Logins(lambda: self.store.scratch("passwords"), lambda name: login_barred(self.store, name))
        self.auth = Authenticator(self.tokens, self.credentials, client_credentials_enabled, self.logins)
        self.outbound = OutboundMessages()
        self.rate_limits = RateLimiter(self.store)
        self.store.listeners.append(self.outbound.on_change)
        self._sessions: OrderedDict[str, threading.Lock] = OrderedDict()
        self._session_users: dict[str, str] = {}
        self._sessions_lock = threading.Lock()
        self._busy = 0
        self.concurrency_peak = 0  # the most vendor requests served at once
        super().__init__(host, port, seed=seed, tls=tls, latency_ms=latency_ms,
                         max_concurrent_per_client=max_concurrent_per_client)
        self.faults.tokens = self.tokens
        # With a state folder the instance outlives the process: loaded now, saved on stop().
        self.state_path = Path(state_path) if state_path else None
        self.resumed = persistence.load(self.store, self.state_path) if self.state_path else False

    # --- session synchronization -------------------------------------------------------------
    # Like the real instance: a request without a session cookie starts a session (``Set-Cookie:
    # JSESSIONID``); requests that send one back run one at a time, in the order they arrive. A client
    # that keeps cookies therefore gets no parallelism however many requests it sends at once.
    # A session that has authenticated stays so: a request that sends its cookie and no Authorization
    # header runs as that user (pysnc's OAuth refresh sends its next request that way). A request with
    # an Authorization header is judged on the header alone (guessed precedence).
    SESSIONS_KEPT = 10_000

    def fault_response(self, decision: Decision) -> Response:
        """An injected 403 on a write answers as a lost write role does: "ACL Exception Insert Failed due to
        security constraints" for a POST, "Update" for a PATCH / PUT, "Delete" for a DELETE (`acl.check_write`)."""
        operation = self._ACL_OPERATION.get(decision.method) if decision.status == 403 else None
        if operation:
            return self.error(403, "Operation Failed", f"ACL Exception {operation} Failed due to security constraints")
        return super().fault_response(decision)

    def _slow_call(self, req: Request) -> Response:
        if req.internal:  # a Batch API item runs in its batch's session and transaction: no session, not counted
            resp = xml_format.convert(req, super()._slow_call(req))
            if req.path.startswith("/api/"):
                resp.headers.extend(NO_CACHE)
            return resp
        refused = target_too_long(req)
        if refused is not None:
            return refused
        session = _cookie(req.header("Cookie"), "JSESSIONID")
        with self._sessions_lock:
            lock = self._sessions.get(session) if session else None
            if lock is not None:
                self._sessions.move_to_end(session)
        if lock is None:
            return self._counted(req, set_session=True)
        with lock:
            if not req.header("Authorization") and self._session_users.get(session):  # type: ignore[arg-type]
                req.principal = self._session_users[session]  # type: ignore[index]
            resp = self._counted(req, set_session=False)
            if req.principal:
                self._session_users.setdefault(session, str(req.principal))  # type: ignore[arg-type]
            return resp

    def _counted(self, req: Request, *, set_session: bool) -> Response:
        with self._sessions_lock:
            self._busy += 1
            self.concurrency_peak = max(self.concurrency_peak, self._busy)
        try:
            limit_headers, refusal = self._rate_limited(req)
            resp = xml_format.convert(req, refusal or super()._slow_call(req))
            resp.headers.extend(limit_headers)
        finally:
            with self._sessions_lock:
                self._busy -= 1
        if req.path.startswith("/api/"):  # what every REST answer of an instance carries
            resp.headers.extend([*NO_CACHE, ("X-Is-Logged-In", "true" if req.principal else "false"),
                                 ("X-Transaction-ID", secrets.token_hex(6))])
        if set_session:
            session = secrets.token_hex(16).upper()
            with self._sessions_lock:
                self._sessions[session] = threading.Lock()
                if req.principal:
                    self._session_users[session] = str(req.principal)
                while len(self._sessions) > self.SESSIONS_KEPT:
                    self._session_users.pop(self._sessions.popitem(last=False)[0], None)
            secure = "; Secure" if self.tls else ""  # a Secure cookie never comes back over plain HTTP
            resp.headers.append(("Set-Cookie", f"JSESSIONID={session}; Path=/{secure}; HttpOnly"))
        return resp

    def _rate_limited(self, req: Request) -> tuple[list[tuple[str, str]], Response | None]:
        """The rate limit rule's headers for an API request, and its 429 once past the rule's limit
        (`rate_limits`); nothing for a request that does not authenticate (its handler answers 401)."""
        if not req.path.startswith("/api/") or not self.rate_limits.any_rules():
            return [], None
        try:
            user = self.auth.authenticate(req)
        except HTTPError:
            return [], None
        return self.rate_limits.check(req, user)

    def reset_concurrency_peak(self) -> None:
        """Start counting the most requests served at once (``concurrency_peak``) from zero."""
        with self._sessions_lock:
            self.concurrency_peak = 0

    def start(self) -> ServiceNowSandbox:
        """Serve (base class); the instance's glide.servlet.uri property becomes this address."""
        super().start()
        with self.store.lock:
            self.store.instance_uri = f"{self.url}/"
            props = self.store.tables["sys_properties"]
            name, value = props.getter("name"), props.pos["value"]
            for r in props.alive_rows():
                if name(r) == "glide.servlet.uri" and props.rows[r][value] != self.store.instance_uri:  # type: ignore[index]
                    props.replace(r, {"value": self.store.instance_uri})
        return self

    def stop(self) -> None:
        self.outbound.stop()
        super().stop()
        if self.state_path is not None:
            persistence.save(self.store, self.state_path)

    def build_routes(self, router: Router) -> None:
        router.add("POST", r"/oauth_token\.do", self.auth.token_endpoint, auth_faults=False)
        for method in ("GET", "POST"):
            router.add(method, r"/oauth_revoke_token\.do", self.auth.revoke_endpoint, auth_faults=False)
        self.jsonv2 = JSONv2(self)
        UIPages(self).register(router)  # the form, list and login pages (`ui_pages`)
        TableAPI(self).register(router)
        AttachmentAPI(self).register(router)
        BatchAPI(self).register(router)
        StatsAPI(self).register(router)
        ImportSetAPI(self).register(router)
        CmdbInstanceAPI(self).register(router)
        CmdbMetaAPI(self).register(router)
        ChangeConflictAPI(self).register(router)
        ChangeAPI(self).register(router)
        ServiceCatalogAPI(self).register(router)
        CartAPI(self).register(router)
        loosen(router)  # an id that is not hex reaches its handler: the API's 404, not an unknown URI (`path_ids`)
        self.admin.add("POST", r"/_sandbox/servicenow/touch", self._admin_touch)
        self.admin.add("POST", r"/_sandbox/servicenow/delete", self._admin_delete)
        self.admin.add("GET", r"/_sandbox/servicenow/deleted", lambda r: json_response({"deleted": self.deleted}))
        self.admin.add("POST", r"/_sandbox/servicenow/webhooks", self._admin_webhook)
        self.admin.add("GET", r"/_sandbox/servicenow/webhooks", lambda r: json_response(
            {"endpoints": [{k: v for k, v in e.items() if k != "secret"} for e in self.outbound.endpoints],
             "deliveries": list(self.outbound.deliveries)[-500:]}))
        self.admin.add("DELETE", r"/_sandbox/servicenow/webhooks", self._admin_clear_webhooks)
        register_admin(self)  # /_sandbox/servicenow/rate_limits: the REST API rate limit rules (`rate_limits`)

    # --- Python API ----------------------------------------------------------------------------
    @property
    def client_credentials_enabled(self) -> bool:
        """Whether /oauth_token.do accepts grant_type=client_credentials (switchable at run time)."""
        return self.auth.client_credentials_enabled

    @client_credentials_enabled.setter
    def client_credentials_enabled(self, enabled: bool) -> None:
        self.auth.client_credentials_enabled = bool(enabled)

    @property
    def audit_deletes(self) -> bool:
        """Whether deletes write sys_audit_delete rows (ServiceNow's "Audit deletes"; on by default)."""
        return self.store.audit_deletes

    @audit_deletes.setter
    def audit_deletes(self, enabled: bool) -> None:
        self.store.audit_deletes = bool(enabled)

    @property
    def token_ttl_seconds(self) -> int:
        return self.tokens.ttl_seconds

    @token_ttl_seconds.setter
    def token_ttl_seconds(self, seconds: int) -> None:
        self.tokens.ttl_seconds = int(seconds)

    def _table(self, name: str) -> Table:
        table = self.store.tables.get(name)
        if table is None:
            raise KeyError(f"unknown ServiceNow table {name!r}; known: {sorted(self.store.tables)}")
        return table

    def records(self, table: str) -> list[dict[str, str]]:
        """Current raw records (dicts of str) in insertion order; deleted records excluded."""
        with self.store.lock:
            if table == "task":
                view = self.store.view
                return [{f: t.record(r)[f] for f in view.fields} for t, r in view.split(view.alive_rows())]
            t = self._table(table)
            return [t.record(r) for r in t.alive_rows()]

    def get(self, table: str, sys_id: str) -> dict[str, str] | None:
        with self.store.lock:
            found = self.store.locate(table, sys_id)
            return None if found is None else found[0].record(found[1])

    def insert(self, table: str, values: dict[str, Any]) -> dict[str, str]:
        """Create a record exactly like POST would (as the integration user); returns it."""
        self._table(table)
        with self.store.lock:
            t, row = self.store.insert(table, values, self.credentials.username)
            return t.record(row)

    def add_user(self, user_name: str, password: str, roles: tuple[str, ...] = ()) -> dict[str, str]:
        """A sys_user who can sign in with `password` and holds the named roles (none: a self-service
        user the ACLs restrict, `acl`); returns the record."""
        user = self.insert("sys_user", {"user_name": user_name, "name": user_name})
        with self.store.lock:
            known = {r["name"]: r["sys_id"] for r in self.records("sys_user_role")}
            for role in roles:
                self.store.insert("sys_user_has_role", {"user": user["sys_id"], "role": known[role]},
                                  self.credentials.username)
            self.logins.passwords[user_name] = password
        return user

    def update(self, table: str, sys_id: str, values: dict[str, Any], *,
               auto_sys_fields: bool = True) -> dict[str, str]:
        """PATCH semantics as the integration user; returns the record. ``auto_sys_fields=False``
        changes it as a background script with ``autoSysFields(false)`` would: update time kept."""
        with self.store.lock:
            found = self.store.locate(table, sys_id)
            if found is None:
                raise KeyError(f"{table}/{sys_id} does not exist")
            self.store.update(found[0], found[1], values, self.credentials.username, auto_sys_fields)
            return found[0].record(found[1])

    def delete(self, table: str, sys_ids: list[str] | str) -> int:
        """Delete records (remembered in `deleted` and sys_audit_delete); returns how many existed."""
        ids = [sys_ids] if isinstance(sys_ids, str) else list(sys_ids)
        count = 0
        with self.store.lock:
            for sys_id in ids:
                found = self.store.locate(table, sys_id)
                if found is not None:
                    self.store.delete(found[0], found[1], "system")
                    count += 1
        return count

    def touch(self, table: str, n: int = 10) -> list[str]:
        """Update n deterministic-random records (new sys_updated_on=now, mod_count+1); returns sys_ids."""
        self._table(table)
        with self.store.lock:
            return self.store.touch(table, n)

    @property
    def deleted(self) -> list[dict[str, str]]:
        """Deleted records so far: {"table", "sys_id", "deleted_at"}."""
        with self.store.lock:
            return list(self.store.deleted)

    def attachment_content(self, sys_id: str) -> bytes | None:
        return self.store.files.get(sys_id)

    def reset(self) -> None:
        """Regenerate the seeded data, clear faults, tokens and the request log."""
        super().reset()
        self.tokens.clear()
        self.store.reset()
        self.rate_limits.clear()

    def describe(self) -> dict[str, Any]:
        c = self.credentials
        return {**super().describe(), "size": self.size, "seed": self.seed, "client_id": c.client_id,
                "client_secret": c.client_secret, "username": c.username, "password": c.password,
                "token_url": f"{self.url}/oauth_token.do"}

    # --- admin extras -------------------------------------------------------------------------------
    def _admin_json(self, req: Request) -> dict[str, Any]:
        try:
            body = req.json() or {}
            assert isinstance(body, dict)
            return body
        except (ValueError, AssertionError) as exc:
            raise HTTPError(400, "Invalid admin request", "body must be a JSON object") from exc

    def _admin_touch(self, req: Request) -> Response:
        body = self._admin_json(req)
        try:
            n = control_number("n", body.get("n", 10), int, 0, 2**31 - 1)  # not int(): '٣' read as 3 [round 27]
            return json_response({"sys_ids": self.touch(str(body.get("table")), n)})
        except ValueError as exc:
            raise HTTPError(400, "Invalid admin request", str(exc)) from exc
        except KeyError as exc:
            raise HTTPError(400, "Invalid table", str(exc)) from exc

    def _admin_webhook(self, req: Request) -> Response:
        body = self._admin_json(req)
        try:
            endpoint = self.outbound.register(str(body.get("url", "")), str(body.get("secret", "")), body.get("tables"))
        except ValueError as exc:
            raise HTTPError(400, "Invalid outbound REST message", str(exc)) from exc
        return json_response({k: v for k, v in endpoint.items() if k != "secret"}, 201)

    def _admin_clear_webhooks(self, req: Request) -> Response:
        self.outbound.clear()
        return Response(204)

    def _admin_delete(self, req: Request) -> Response:
        body = self._admin_json(req)
        return json_response({"deleted": self.delete(str(body.get("table")), body.get("sys_ids") or [])})


def _cookie(header: str, name: str) -> str | None:
    """The value of cookie ``name`` in a ``Cookie`` request header, if sent."""
    for part in (header or "").split(";"):
        key, _, value = part.strip().partition("=")
        if key == name and value:
            return value
    return None
