"""`Sandbox`: the vendor-neutral emulator lifecycle and request pipeline.

A vendor subclass sets `vendor`, fills `build_routes(router)` and may override `error()`,
`fault_response()`, `reset()` and `describe()`. Everything else is shared:

    admin routes under /_sandbox/ -> concurrency limit per client -> faults -> vendor route
    -> `latency_ms` -> request log

Admin HTTP API (no auth, never faulted): GET /_sandbox/health, GET|PUT|PATCH|DELETE /_sandbox/faults,
POST /_sandbox/reset, GET|DELETE /_sandbox/requests.

Response rewriters (Python only, for tests of hostile vendor answers the switches cannot express):
`rewrite_responses(fn)` makes every vendor response (after faults and hostile text) go through
`fn(request, response)`, which returns the response to send (the same one changed, or another);
`rewrite_responses(None)` removes them all. Admin routes are never rewritten.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable
from email.utils import formatdate
from pathlib import Path
from typing import Any

from sandbox.core.faults import HOSTILE_MARKER, Decision, Faults, corrupt
from sandbox.core.http import HTTPError, Request, Response, Router, json_response
from sandbox.core.server import SandboxHTTPServer
from sandbox.core.tls import server_context

log = logging.getLogger(__name__)


class Sandbox:
    """Base emulator: start()/stop()/url, faults, latency, per-client concurrency cap, request log."""

    vendor = "generic"
    server_header = "sandbox"

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, seed: int = 42, tls: bool = False,
                 latency_ms: float = 0, max_concurrent_per_client: int | None = None,
                 request_log_size: int = 10_000) -> None:
        self.host = host
        self.port = port
        self.seed = seed
        self.tls = tls
        self.latency_ms = latency_ms
        self.max_concurrent_per_client = max_concurrent_per_client
        self.ca_bundle: str | None = None
        self.faults = Faults(seed)
        self.router = Router()
        self.admin = Router()
        self._log: collections.deque[dict[str, Any]] = collections.deque(maxlen=request_log_size)
        self._inflight: dict[str, int] = collections.defaultdict(int)
        self._inflight_lock = threading.Lock()
        self._rewriters: list[Callable[[Request, Response], Response]] = []
        self._server: SandboxHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._add_admin_routes()
        self.build_routes(self.router)

    def http_date(self) -> str:
        """The ``Date`` header: the vendor's own clock, as a real vendor's is the clock of its records.

        Emulators with a `SandboxClock` (``self.clock``, which tests move forward) answer on it, so a
        client taking the server's time as its "as of" (ServiceNow's incremental cursor does) sees the
        same clock as ``sys_updated_on``; the others answer on the wall clock."""
        clock = getattr(self, "clock", None)
        return formatdate(clock.now().timestamp() if clock is not None else None, usegmt=True)

    # --- vendor hooks ------------------------------------------------------------------------
    def build_routes(self, router: Router) -> None:
        """Register the vendor's API routes."""

    def error(self, status: int, message: str, detail: str | None = None,
              headers: list[tuple[str, str]] | None = None) -> Response:
        """The vendor's error body (default: ServiceNow-like envelope)."""
        body = {"error": {"message": message, "detail": detail}, "status": "failure"}
        return json_response(body, status, headers)

    def fault_response(self, decision: Decision) -> Response:
        """Answer for an injected fault."""
        if decision.status == 429:
            return self.error(429, "Rate limit exceeded", "Too many requests (sandbox fault)",
                              [("Retry-After", str(decision.retry_after))])
        if decision.status == 401:
            return self.error(401, "User Not Authenticated", "Required to provide Auth information")
        if decision.status == 403:
            return self.error(403, "Operation Failed", "ACL Exception: access denied (sandbox fault)")
        return self.error(int(decision.status or 500), "Internal server error", "Injected sandbox fault")

    def reset(self) -> None:
        """Back to the initial state: faults off, no rewriters, request log empty (vendors also reload data)."""
        self.faults.clear()
        self._rewriters.clear()
        self._log.clear()

    def describe(self) -> dict[str, Any]:
        """What the CLI prints: URL, CA bundle and credentials."""
        return {"vendor": self.vendor, "url": self.url, "ca_bundle": self.ca_bundle}

    def rewrite_responses(self, rewriter: Callable[[Request, Response], Response] | None) -> None:
        """Add a response rewriter (see the module docstring); None removes every one."""
        if rewriter is None:
            self._rewriters.clear()
        else:
            self._rewriters.append(rewriter)

    # --- lifecycle -----------------------------------------------------------------------------
    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}"

    def start(self) -> Sandbox:
        """Serve on a background thread (port 0 picks a free port); returns self."""
        if self._server is not None:
            return self
        ctx = None
        if self.tls:
            ctx, ca = server_context()
            self.ca_bundle = str(ca)
        self._server = SandboxHTTPServer((self.host, self.port), self, ctx)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"sandbox-{self.vendor}-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and drop open keep-alive connections."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.close_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def ca_bundle_path(self) -> Path | None:
        return Path(self.ca_bundle) if self.ca_bundle else None

    # --- request log -----------------------------------------------------------------------------
    @property
    def request_log(self) -> list[dict[str, Any]]:
        """Served requests, oldest first: method, path, query, status, client, duration_ms."""
        return list(self._log)

    def clear_request_log(self) -> None:
        self._log.clear()

    # --- pipeline ----------------------------------------------------------------------------------
    def dispatch(self, req: Request) -> Response:
        """Serve one request through admin routes or the vendor pipeline."""
        started = time.monotonic()
        admin = req.path.startswith("/_sandbox/")
        resp = self._call(self.admin, req, faults=False) if admin else self._limited(req)
        if not req.internal:
            self._log.append({"method": req.method, "path": req.path, "query": req.raw_query,
                              "status": resp.status, "client": req.client,
                              "correlation_id": req.headers.get("X-Correlation-ID"),
                              "duration_ms": round((time.monotonic() - started) * 1000, 3)})
        return resp

    def _limited(self, req: Request) -> Response:
        cap = self.max_concurrent_per_client
        if cap is None or req.internal:
            return self._slow_call(req)
        with self._inflight_lock:
            busy = self._inflight[req.client] >= cap
            if not busy:
                self._inflight[req.client] += 1
        if busy:
            return self.error(429, "Too many concurrent requests",
                              f"More than {cap} concurrent requests from {req.client}", [("Retry-After", "1")])
        try:
            return self._slow_call(req)
        finally:
            with self._inflight_lock:
                self._inflight[req.client] -= 1

    def _slow_call(self, req: Request) -> Response:
        """The vendor call plus the configured per-response latency (counted as in flight)."""
        resp = self._call(self.router, req, faults=True)
        if self.faults.settings.hostile_text and HOSTILE_MARKER in resp.body:
            resp.body = corrupt(resp.body)
        for rewrite in list(self._rewriters):
            resp = rewrite(req, resp)
        if self.latency_ms and not req.internal:
            time.sleep(self.latency_ms / 1000.0)
        return resp

    def _call(self, router: Router, req: Request, faults: bool) -> Response:
        method = req.method
        if method == "POST" and req.header("X-HTTP-Method-Override"):
            method = req.header("X-HTTP-Method-Override").upper()
        route, params, allowed = router.match(method, req.path)
        if route is None:
            if allowed:
                return self.error(405, "Method not Supported", f"{method} is not allowed on {req.path}",
                                  [("Allow", ", ".join(sorted(set(allowed))))])
            return self.error(400 if req.path.startswith("/api/") else 404, "Requested URI does not represent "
                              "any resource", req.path)
        decision = Decision()
        if faults and route.faults and not req.internal:
            decision = self.faults.decide(route.auth_faults, method, req.path)
            if decision.delay:
                time.sleep(decision.delay)
            if decision.status is not None:
                return self.fault_response(decision)
        req.params = params
        try:
            resp = route.handler(req)
        except HTTPError as exc:
            resp = self.error(exc.status, exc.message, exc.detail, exc.headers)
        except Exception as exc:  # the emulator must answer, never drop the connection
            log.exception("sandbox %s handler failed for %s %s", self.vendor, req.method, req.path)
            resp = self.error(500, "Internal sandbox error", f"{type(exc).__name__}: {exc}")
        if decision.after == "lost_reply":  # carried out, then reported as failed
            return self.error(self.faults.settings.status_5xx, "Internal server error",
                              "Injected sandbox fault after the request was carried out")
        if decision.after == "html":
            return Response(status=200, body=b"<!DOCTYPE html><html><head><title>Sign in</title></head>"
                            b"<body>Your session has expired.</body></html>",
                            content_type="text/html; charset=utf-8")
        return resp

    # --- admin API ---------------------------------------------------------------------------------
    def _add_admin_routes(self) -> None:
        a = self.admin
        a.add("GET", r"/_sandbox/health", lambda r: json_response({"vendor": self.vendor, "status": "ok"}))
        a.add("GET", r"/_sandbox/faults", lambda r: json_response(self.faults.as_dict()))
        a.add("PUT", r"/_sandbox/faults", lambda r: self._set_faults(r, replace=True))
        a.add("PATCH", r"/_sandbox/faults", lambda r: self._set_faults(r, replace=False))
        a.add("DELETE", r"/_sandbox/faults", self._clear_faults)
        a.add("POST", r"/_sandbox/reset", self._reset)
        a.add("GET", r"/_sandbox/requests", lambda r: json_response({"requests": self.request_log}))
        a.add("DELETE", r"/_sandbox/requests", self._clear_log)

    def _set_faults(self, req: Request, replace: bool) -> Response:
        try:
            body = req.json() or {}
            if not isinstance(body, dict):
                raise ValueError("body must be a JSON object of fault settings")
            result = self.faults.replace(**body) if replace else self.faults.set(**body)
        except (ValueError, TypeError) as exc:
            raise HTTPError(400, "Invalid fault settings", str(exc)) from exc
        return json_response(result)

    def _clear_faults(self, req: Request) -> Response:
        self.faults.clear()
        return json_response(self.faults.as_dict())

    def _reset(self, req: Request) -> Response:
        self.reset()
        return json_response({"status": "reset", "vendor": self.vendor})

    def _clear_log(self, req: Request) -> Response:
        self.clear_request_log()
        return Response(status=204)
