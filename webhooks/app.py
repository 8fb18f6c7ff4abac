"""The long-running service as one ASGI app: ``create_app()`` composes each concern's route list.

Served by uvicorn: ``uv run uvicorn --factory webhooks.app:create_app --host 127.0.0.1 --port 8090``.
It never writes the warehouse; it reads the warehouse and the Dagster instance read-only.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route


async def healthz(_request) -> PlainTextResponse:
    return PlainTextResponse("ok")


def create_app(*, operations=None) -> Starlette:
    """The app. ``operations``: a :class:`webhooks.operations.state.HealthReader` (tests pass one with
    their own instance, warehouse and clock); by default it reads ``DAGSTER_HOME`` and the warehouse."""
    from webhooks.operations import operations_routes

    routes = [Route("/healthz", healthz), *operations_routes(operations)]
    return Starlette(routes=routes)
