"""How many requests a OneTrust sync makes, and how many it has in flight at once.

The sync is HTTP-bound (each OneTrust response takes ~300 ms): these tests pin the request count and the
concurrency so a change cannot quietly slow it down, and check that the same rows still land.
"""

from __future__ import annotations

import threading

import pytest

from pipelines.common.http import RetryPolicy
from pipelines.onetrust import onetrust_source
from pipelines.onetrust import settings as S

FAST = RetryPolicy(backoff_base_seconds=0.01, backoff_max_seconds=0.05)
EXPORT_SUFFIX = "/export"


def _source(sb, **kwargs):
    kwargs.setdefault("policy", FAST)
    return onetrust_source(base_url=sb.url, client_id=sb.client_id, client_secret=sb.client_secret,
                           verify=sb.ca_bundle or True, **kwargs)


def _count_in_flight(sb) -> dict[str, int]:
    """Track how many vendor calls the sandbox serves at once (its latency included): ``peak``."""
    seen = {"now": 0, "peak": 0}
    lock = threading.Lock()
    serve = sb._slow_call

    def counted(req):
        with lock:
            seen["now"] += 1
            seen["peak"] = max(seen["peak"], seen["now"])
        try:
            return serve(req)
        finally:
            with lock:
                seen["now"] -= 1
    sb._slow_call = counted
    return seen


def _exports(sb) -> list[dict]:
    return [r for r in sb.request_log if r["path"].endswith(EXPORT_SUFFIX)]


@pytest.mark.parametrize("workers", [None, 3])
def test_exports_are_read_detail_workers_at_once(workers, make_onetrust_sandbox, duckdb_warehouse):
    """Default 8 at once (OneTrust allows 20,000 requests a minute), and the setting still rules."""
    assert S.DEFAULT_DETAIL_WORKERS == 8
    sb = make_onetrust_sandbox(size=40, latency_ms=60)
    seen = _count_in_flight(sb)
    kwargs = {} if workers is None else {"detail_workers": workers}
    duckdb_warehouse.pipeline("onetrust").run(_source(sb, entities=["assessments"], **kwargs))
    assert len(_exports(sb)) == len(sb.assessments())
    assert seen["peak"] == (workers or S.DEFAULT_DETAIL_WORKERS)


def test_a_concurrency_cap_below_the_workers_is_waited_out(make_onetrust_sandbox, duckdb_warehouse):
    """A tenant that refuses more than 5 calls at once answers 429 + Retry-After: every export still
    loads (VendorSession waits and retries), none is lost."""
    sb = make_onetrust_sandbox(size=20, latency_ms=60, max_concurrent_per_client=5)
    pipeline = duckdb_warehouse.pipeline("onetrust")
    pipeline.run(_source(sb, entities=["assessments"]))
    assert any(r["status"] == 429 for r in sb.request_log), "the cap must have been hit"
    with pipeline.sql_client() as client:
        stored = {r[0] for r in client.execute_sql("select assessment_id from assessments")}
    assert stored == {a["assessmentId"] for a in sb.assessments()}
