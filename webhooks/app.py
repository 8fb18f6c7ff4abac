"""``create_app(settings) -> Starlette``: the one ASGI app of the long-running service.

It composes route lists from the parts of the service; each part owns its router module and its
lifecycle (``startup``/``shutdown`` callables run by the app's lifespan):

- ``webhooks.receiver``: the vendor webhook endpoints and ``GET /healthz``.

Other parts (the operations router with ``/metrics`` and the health page, the Slack action
semantics, the inbound email bridge) append their routes and lifecycle hooks below.
"""

from __future__ import annotations

from contextlib import asynccontextmanager

from starlette.applications import Starlette

from webhooks.receiver import Receiver
from webhooks.settings import WebhookSettings


def create_app(settings: WebhookSettings | None = None) -> Starlette:
    settings = settings or WebhookSettings.from_env()
    receiver = Receiver(settings)
    routes = [*receiver.routes()]
    startup = [receiver.start]  # opens the inbox: a server that cannot store deliveries does not start
    shutdown = [receiver.close]

    @asynccontextmanager
    async def lifespan(app: Starlette):
        for hook in startup:
            hook()
        try:
            yield
        finally:
            for hook in shutdown:
                hook()

    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.settings = settings
    app.state.receiver = receiver
    return app
