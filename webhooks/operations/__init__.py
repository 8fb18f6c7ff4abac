"""The operations routes of the long-running service: the Integration Health page and ``/metrics``."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from webhooks.operations.state import HealthReader


def operations_routes(reader: HealthReader | None = None) -> list[Route]:
    """``GET /integration-health`` (page), ``/integration-health.json``, ``/metrics`` (Prometheus)."""
    from prometheus_client import CONTENT_TYPE_LATEST

    from webhooks.operations.metrics import Metrics
    from webhooks.operations.page import render

    reader = reader or HealthReader()
    metrics = Metrics(reader)

    async def page(_request) -> HTMLResponse:
        return HTMLResponse(render(await run_in_threadpool(reader.snapshot)))

    async def as_json(_request) -> JSONResponse:
        snap = await run_in_threadpool(reader.snapshot)
        return JSONResponse({"checked_at": snap.now.isoformat(), "environment": snap.env.name,
                             "connectors": {c: {"light": h.light, "enabled": h.flag.enabled,
                                                "checks": {f.check: {"light": f.light, "value": f.value,
                                                                     "message": f.message} for f in h.findings}}
                                            for c, h in snap.connectors.items()}})

    async def scrape(_request) -> Response:
        return Response(await run_in_threadpool(metrics.render), media_type=CONTENT_TYPE_LATEST)

    return [Route("/integration-health", page), Route("/integration-health.json", as_json),
            Route("/metrics", scrape)]
