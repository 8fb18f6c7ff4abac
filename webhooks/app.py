"""``create_app(settings) -> Starlette``: the one ASGI app of the long-running service.

It composes route lists from the parts of the service; each part owns its router module and its
lifecycle (``startup``/``shutdown`` callables run by the app's lifespan):

- ``webhooks.receiver``: the vendor webhook endpoints and ``GET /healthz``.
- ``webhooks.operations``: the Integration Health page (``/integration-health``) and ``/metrics``,
  read-only over the Dagster instance and the warehouse.
- ``webhooks.email_bridge``: the inbound e-mail bridge's SMTP listener (when EMAIL_BRIDGE_ADDRESSES is set).

Other parts append their routes and lifecycle hooks below (Slack interactions reach
``webhooks.slack.actions`` through the inbox's handler registry).
"""

from __future__ import annotations

from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import PlainTextResponse

from webhooks.email_bridge import start_email_bridge, stop_email_bridge
from webhooks.receiver import Receiver
from webhooks.settings import WebhookSettings

# Every answer of the service, unless its route set its own (the health page sets a stricter set): no
# content sniffing (a 4xx body is text, never a page), and nothing kept by a cache or a proxy.
BASELINE_HEADERS = ((b"x-content-type-options", b"nosniff"), (b"cache-control", b"no-store"))


class BaselineHeaders:
    """ASGI middleware adding :data:`BASELINE_HEADERS` to every HTTP response that lacks them."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                present = {name.lower() for name, _ in headers}
                headers += [(name, value) for name, value in BASELINE_HEADERS if name not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class CloseUnreadBody:
    """ASGI middleware: a request that declares a body (a Content-Length other than 0, or a Transfer-Encoding)
    answered before its body was all received (a 404, a 405, a GET, on any path) is answered with
    ``connection: close``, so the connection closes instead of going on reading a body no one wants.

    uvicorn kept such a connection open. With ``Expect: 100-continue`` the body was never coming (uvicorn sends
    the 100 only when the app reads): a client or proxy that took the final answer and sent no body, as RFC
    9110 10.1.1 lets it, had the first bytes of its next request read as that body and the rest served as a
    request of their own (a "0.CL" desync). Without it, a body declared a gigabyte long and trickled a byte
    at a time held the connection with no deadline at all (the body deadline is the app's, which was done;
    each byte restarted keep-alive)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or not any(name == b"transfer-encoding" or (name == b"content-length"
                                                                                and value.strip() != b"0")
                                              for name, value in scope.get("headers") or ()):
            await self.app(scope, receive, send)
            return
        received = False

        async def receive_marked():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request" and not message.get("more_body", False):
                received = True  # the body's last part: the connection may serve the next request
            return message

        async def send_closing(message) -> None:
            if message["type"] == "http.response.start" and not received:
                headers = [(n, v) for n, v in message.get("headers") or () if n.lower() != b"connection"]
                message = {**message, "headers": [*headers, (b"connection", b"close")]}
            await send(message)

        await self.app(scope, receive_marked, send_closing)


class AnswerErrors:
    """ASGI middleware: an exception raised before the answer began is answered here, 500 with
    ``connection: close``, inside :class:`BaselineHeaders` and :class:`CloseUnreadBody`, then raised on (uvicorn
    logs it and closes the connection).

    Starlette's own 500 is written by its outermost middleware, outside every one of ours: it went without the
    baseline headers and without ``connection: close``, so a client or proxy that had been answered before
    sending the declared body (``Expect: 100-continue``) took the connection for reusable, and its next request
    met a connection closed under it, or, on a server that kept it, was read as the unsent body (a "0.CL"
    desync: the bytes after it served as a request of their own)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_marked(message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, send_marked)
        except Exception:
            if not started:
                await PlainTextResponse("internal error: the receiver logged it; send again later", 500,
                                        headers={"connection": "close"})(scope, receive, send)
            raise


class NoEscapedPaths:
    """ASGI middleware answering 404 to a request whose path holds a percent-escape, on every route.

    Starlette routes on the decoded path, so ``/metr%69cs`` was ``/metrics`` and
    ``/api/integrations/jira/%77ebhook`` the Jira endpoint, past a proxy rule written for the real path
    (``/metrics`` kept from the internet, an address allowlist on a vendor's path), as ``%2F`` was before
    round 18. No path served here needs an escape; the query string is not the path."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and b"%" in (scope.get("raw_path") or b"").partition(b"?")[0]:
            await PlainTextResponse("Not Found: no path here holds a percent-escape (%XX, an encoded slash or "
                                    "any other): send the path unescaped", 404)(scope, receive, send)
            return
        await self.app(scope, receive, send)


def create_app(settings: WebhookSettings | None = None, *, operations=None) -> Starlette:
    """``operations``: a :class:`webhooks.operations.state.HealthReader` (tests pass one with their own
    instance, warehouse and clock); by default it reads ``DAGSTER_HOME`` and the warehouse."""
    from webhooks.operations import operations_routes

    settings = settings or WebhookSettings.from_env()
    receiver = Receiver(settings)
    routes = [*receiver.routes(), *operations_routes(operations)]
    startup = [receiver.start]  # opens the inbox: a server that cannot store deliveries does not start
    shutdown = [receiver.close]
    bridge: list = []  # the inbound e-mail bridge, started with the app (None when no address is mapped)
    startup.append(lambda: bridge.append(start_email_bridge()))
    shutdown.append(lambda: stop_email_bridge(bridge.pop() if bridge else None))

    @asynccontextmanager
    async def lifespan(app: Starlette):
        for hook in startup:
            hook()
        try:
            yield
        finally:
            for hook in shutdown:
                hook()

    app = Starlette(routes=routes, lifespan=lifespan, middleware=[Middleware(BaselineHeaders),
                                                                      Middleware(CloseUnreadBody),
                                                                      Middleware(AnswerErrors),
                                                                      Middleware(NoEscapedPaths)])
    # "<path>/" is a 404, never Starlette's 307 to the same path at the request's Host header (an unverified
    # redirect to wherever the caller said the server was; a poisoned redirect behind a cache)
    app.router.redirect_slashes = False
    app.state.settings = receiver.settings  # with the secrets it read
    app.state.receiver = receiver
    return app
