"""How many requests a vendor sync keeps in flight: ``PROJECTX_<VENDOR>_SYNC_CONCURRENCY``.

ServiceNow: one cap shared by every table read and attachment download of a run (ServiceNow caps
concurrent sessions per user with its semaphores). Jira: each of its pools keeps up to that many in
flight (the search plan, the boards' sprint reads, the attachment downloads), as Jira answers bursts
with 429 and the client backs off. OneTrust: assessment exports read that many at a time.
The defaults (ServiceNow 4, Jira 4, OneTrust 8) suit a shared instance; an operator whose
instance allows more (or who is asked by the vendor's admin to send less) sets the variable. Read
where a source is built (the Dagster resources and ``python -m pipelines.<vendor>``), so a bad value
fails the run before any vendor call, naming the fix.
"""

from __future__ import annotations

from collections.abc import Mapping

from pipelines.common.envvars import env_int

MAX_SYNC_CONCURRENCY = 32


def sync_concurrency(vendor: str, default: int, environ: Mapping[str, str] | None = None) -> int:
    """Requests in flight for ``vendor``'s sync: the variable when set, else ``default``; a value that is
    not a whole number from 1 to ``MAX_SYNC_CONCURRENCY`` raises ValueError naming the variable."""
    return env_int(f"PROJECTX_{vendor.upper()}_SYNC_CONCURRENCY", default, unit="a number of requests in flight",
                   example="8", maximum=MAX_SYNC_CONCURRENCY, environ=environ)
