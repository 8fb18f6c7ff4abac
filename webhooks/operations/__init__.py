"""The operations routes of the long-running service: the Integration Health page and ``/metrics``."""

from __future__ import annotations

import math

from starlette.concurrency import run_in_threadpool
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from assets.health.measure import RUNBOOKS
from webhooks.operations.state import HealthReader


def _number(value) -> float | None:
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else None


def operations_routes(reader: HealthReader | None = None) -> list[Route]:
    """``GET /integration-health`` (page), ``/integration-health.json``, ``/metrics`` (Prometheus).

    Each answers 200 while an input it reads is down (the page says which and how to fix it; the JSON's
    ``status`` is ``degraded``; ``integration_health_input_up`` is 0), so a broken dependency is shown,
    not hidden behind a 500. An input that hangs holds no request past ``HEALTH_READ_TIMEOUT_SECONDS``
    (:mod:`webhooks.operations.bounded`); a scrape waits at most that again for the sync events it feeds
    into the counters (:mod:`webhooks.operations.metrics`, ``input="dagster_events"``)."""
    from prometheus_client import CONTENT_TYPE_LATEST

    from webhooks.operations.bounded import BoundedSnapshots
    from webhooks.operations.metrics import Metrics
    from webhooks.operations.page import SECURITY_HEADERS, clean, render

    reader = reader or HealthReader()
    snapshots = BoundedSnapshots(reader)  # one read in flight, each request waiting a bounded time for it
    metrics = Metrics(reader, snapshots.get)

    async def page(_request) -> HTMLResponse:
        html = render(await run_in_threadpool(snapshots.get))
        return HTMLResponse(html.encode("utf-8", "replace"), headers=SECURITY_HEADERS)

    async def as_json(_request) -> JSONResponse:
        snap = await run_in_threadpool(snapshots.get)
        return JSONResponse({"checked_at": snap.now.isoformat(), "environment": snap.env.name,
                             "status": snap.status, "problems": {k: clean(v) for k, v in snap.problems.items()},
                             "warehouse_read_at": snap.warehouse_read_at.isoformat() if snap.warehouse_read_at
                             else None,
                             "vault": {"state": snap.vault.state, "flags_age_seconds": _number(snap.vault.age_seconds),
                                       "message": clean(snap.vault.message)},
                             "receiver_queues": {owner: {f.check: {"light": f.light, "value": _number(f.value),
                                                                   "message": clean(f.message)} for f in findings}
                                                 for owner, findings in snap.receiver_queues.items()},
                             "connectors": {c: {"light": h.light, "enabled": h.flag.enabled,
                                                "runbook": RUNBOOKS.get(c),
                                                "checks": {f.check: {"light": f.light, "value": _number(f.value),
                                                                     "message": clean(f.message)} for f in h.findings}}
                                            for c, h in snap.connectors.items()}}, headers=SECURITY_HEADERS)

    async def scrape(_request) -> Response:
        return Response(await run_in_threadpool(metrics.render), media_type=CONTENT_TYPE_LATEST,
                        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"})

    return [Route("/integration-health", page), Route("/integration-health.json", as_json),
            Route("/metrics", scrape)]
