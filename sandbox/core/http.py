"""Request/response values and the route table shared by every vendor emulator.

A vendor plugs into the core by listing `Route`s (method + regex over the URL path + handler).
Handlers take a `Request` and return a `Response`; they never touch sockets.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from typing import Any
from urllib.parse import parse_qsl

JSON_TYPE = "application/json;charset=UTF-8"


@dataclass
class Request:
    """One HTTP request as a handler sees it (already read, already routed)."""

    method: str
    path: str
    raw_query: str
    headers: Message
    body: bytes
    client: str
    base_url: str
    params: dict[str, str] = field(default_factory=dict)
    principal: Any = None
    internal: bool = False  # True for sub-requests (e.g. inside a ServiceNow batch call)

    @property
    def query_pairs(self) -> list[tuple[str, str]]:
        """All query parameters in order, blanks kept."""
        return parse_qsl(self.raw_query, keep_blank_values=True)

    @property
    def query(self) -> dict[str, str]:
        """Query parameters, first value wins (ServiceNow semantics)."""
        out: dict[str, str] = {}
        for k, v in self.query_pairs:
            out.setdefault(k, v)
        return out

    def header(self, name: str, default: str = "") -> str:
        value = self.headers.get(name)
        return default if value is None else value

    def json(self) -> Any:
        """Body parsed as JSON; raises ValueError on bad JSON."""
        return json.loads(self.body.decode("utf-8") or "null")

    def form(self) -> dict[str, str]:
        """Body parsed as application/x-www-form-urlencoded."""
        return dict(parse_qsl(self.body.decode("utf-8"), keep_blank_values=True))


@dataclass
class Response:
    """What a handler returns: status, body bytes and extra headers (Content-Length is added for you)."""

    status: int = 200
    body: bytes = b""
    content_type: str = JSON_TYPE
    headers: list[tuple[str, str]] = field(default_factory=list)

    def header(self, name: str) -> str | None:
        lname = name.lower()
        for k, v in self.headers:
            if k.lower() == lname:
                return v
        return None


class HTTPError(Exception):
    """Raised by handlers to answer with the vendor's error body."""

    def __init__(self, status: int, message: str, detail: str | None = None,
                 headers: list[tuple[str, str]] | None = None) -> None:
        super().__init__(f"{status} {message}: {detail}")
        self.status = status
        self.message = message
        self.detail = detail
        self.headers = list(headers or [])


def json_response(obj: Any, status: int = 200, headers: list[tuple[str, str]] | None = None) -> Response:
    """Serialise `obj` compactly as UTF-8 JSON."""
    body = json.dumps(obj, separators=(",", ":")).encode("utf-8")
    return Response(status=status, body=body, headers=list(headers or []))


Handler = Callable[[Request], Response]


@dataclass(frozen=True)
class Route:
    """A method + path regex bound to a handler.

    `faults`: whether switchable faults (429/5xx/slow/401/403) apply to this route.
    `auth_faults`: whether the 401/403 faults apply (off for token endpoints).
    """

    method: str
    pattern: re.Pattern[str]
    handler: Handler
    faults: bool = True
    auth_faults: bool = True


class Router:
    """Ordered route table; first match wins."""

    def __init__(self) -> None:
        self.routes: list[Route] = []

    def add(self, method: str, pattern: str, handler: Handler, **opts: bool) -> None:
        self.routes.append(Route(method.upper(), re.compile(pattern + r"\Z"), handler, **opts))

    def match(self, method: str, path: str) -> tuple[Route | None, dict[str, str], list[str]]:
        """Return (route, path params, allowed methods for this path)."""
        allowed: list[str] = []
        want = "GET" if method == "HEAD" else method
        for route in self.routes:
            m = route.pattern.match(path)
            if m is None:
                continue
            allowed.append(route.method)
            if route.method == want:
                params = {k: v for k, v in m.groupdict().items() if v is not None}
                return route, params, allowed
        return None, {}, allowed
