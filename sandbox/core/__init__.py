"""Vendor-neutral emulator core.

A vendor emulator subclasses `Sandbox`, registers its routes on `self.router` in `build_routes()`
and overrides `error()` for its error envelope; it gets HTTP/1.1 keep-alive serving, optional TLS
(`tls.py`), switchable seeded faults (`faults.py`), per-response latency, a per-client concurrency
cap, a request log and the /_sandbox/ admin API for free. `TokenStore` and `SandboxClock` are
shared building blocks for OAuth-style auth and record timestamps.
"""

from sandbox.core.base import Sandbox
from sandbox.core.clock import SandboxClock, parse_anchor
from sandbox.core.faults import Faults, FaultSettings
from sandbox.core.http import HTTPError, Request, Response, Route, Router, json_response
from sandbox.core.tls import ensure_certificates, state_dir
from sandbox.core.tokens import TokenStore

__all__ = ["FaultSettings", "Faults", "HTTPError", "Request", "Response", "Route", "Router", "Sandbox",
           "SandboxClock", "TokenStore", "ensure_certificates", "json_response", "parse_anchor", "state_dir"]
