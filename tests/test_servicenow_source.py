"""The ServiceNow dlt source against the sandbox, into DuckDB."""

from __future__ import annotations

import json
from collections import Counter

import duckdb
import pytest

from pipelines.common.http import VendorAuthError
from pipelines.servicenow import servicenow_source


def _source(sandbox, **kwargs):
    creds = sandbox.credentials
    return servicenow_source(
        base_url=sandbox.url, client_id=creds["client_id"], client_secret=creds["client_secret"],
        username=creds["username"], password=creds["password"], verify=sandbox.ca_bundle or True,
        **kwargs,
    )


def _rows(settings, sql):
    with duckdb.connect(settings.duckdb_path, read_only=True) as con:
        return con.execute(sql).fetchall()


def _loaded(pipeline) -> int:
    return pipeline.last_trace.last_normalize_info.row_counts.get("incidents", 0)


def test_full_then_incremental_moves_only_changed_rows(make_servicenow_sandbox, duckdb_warehouse):
    sandbox = make_servicenow_sandbox(size=300)
    pipeline = duckdb_warehouse.pipeline("servicenow")

    pipeline.run(_source(sandbox, page_size=37), loader_file_format="parquet")
    assert _loaded(pipeline) == 300
    assert _rows(duckdb_warehouse, "select count(*), count(distinct sys_id) from servicenow.incidents") == [
        (300, 300)
    ]

    pipeline.run(_source(sandbox, page_size=37), loader_file_format="parquet")
    assert _loaded(pipeline) == 0, "an unchanged vendor must move no rows"

    touched = sandbox.touch("incident", n=7)
    pipeline.run(_source(sandbox, page_size=37), loader_file_format="parquet")
    assert _loaded(pipeline) == 7
    by_id = {r["sys_id"]: r for r in sandbox.records("incident")}
    stored = dict(_rows(duckdb_warehouse, "select sys_id, sys_updated_on from servicenow.incidents"))
    assert len(stored) == 300
    for sys_id in touched:
        assert stored[sys_id] == by_id[sys_id]["sys_updated_on"]


def test_warehouse_equals_vendor_with_tiny_pages(make_servicenow_sandbox, duckdb_warehouse):
    """Many rows share one sys_updated_on second; paging through them must lose none."""
    sandbox = make_servicenow_sandbox(size=250)
    pipeline = duckdb_warehouse.pipeline("servicenow")
    pipeline.run(_source(sandbox, page_size=5), loader_file_format="parquet")
    vendor = {(r["sys_id"], r["sys_updated_on"]) for r in sandbox.records("incident")}
    stored = set(_rows(duckdb_warehouse, "select sys_id, sys_updated_on from servicenow.incidents"))
    assert stored == vendor


def test_malformed_records_are_quarantined_with_reason(make_servicenow_sandbox, duckdb_warehouse):
    sandbox = make_servicenow_sandbox(size=120)
    sandbox.faults.set(rate_malformed=0.1)
    pipeline = duckdb_warehouse.pipeline("servicenow")
    pipeline.run(_source(sandbox, run_id="run-42"), loader_file_format="parquet")
    quarantined = _rows(duckdb_warehouse, "select entity, reason, run_id, record from servicenow.quarantine "
                                          "where entity = 'incidents'")
    loaded = _rows(duckdb_warehouse, "select count(*) from servicenow.incidents")[0][0]
    assert quarantined, "the fault rate should have produced malformed records"
    assert loaded + len(quarantined) == 120
    assert all(q[0] == "incidents" and q[2] == "run-42" and q[1] for q in quarantined)


def test_retries_through_5xx_and_429(make_servicenow_sandbox, duckdb_warehouse):
    sandbox = make_servicenow_sandbox(size=200)
    sandbox.faults.set(rate_5xx=0.2, rate_429=0.1, retry_after=0)
    pipeline = duckdb_warehouse.pipeline("servicenow")
    pipeline.run(_source(sandbox, page_size=20), loader_file_format="parquet")
    assert _rows(duckdb_warehouse, "select count(distinct sys_id) from servicenow.incidents") == [(200,)]


def test_bad_credentials_fail_with_a_clear_error_and_no_secret(make_servicenow_sandbox, duckdb_warehouse):
    sandbox = make_servicenow_sandbox(size=10)
    pipeline = duckdb_warehouse.pipeline("servicenow")
    source = servicenow_source(base_url=sandbox.url, client_id="sandbox-client",
                               client_secret="wrong-secret-value", verify=sandbox.ca_bundle or True)
    with pytest.raises(Exception) as excinfo:
        pipeline.run(source)
    chain = []
    exc = excinfo.value
    while exc is not None:
        chain.append(exc)
        exc = exc.__cause__ or exc.__context__
    auth_errors = [e for e in chain if isinstance(e, VendorAuthError)]
    assert auth_errors, f"expected a VendorAuthError in {chain!r}"
    message = str(auth_errors[0])
    assert "SERVICENOW_OAUTH_CLIENT_ID" in message
    assert "wrong-secret-value" not in "".join(str(e) for e in chain)


def test_password_grant_is_the_fallback(make_servicenow_sandbox, duckdb_warehouse):
    from pipelines.servicenow.auth import ServiceNowOAuth

    sandbox = make_servicenow_sandbox(size=10, client_credentials_enabled=False)
    creds = sandbox.credentials
    auth = ServiceNowOAuth(sandbox.url, creds["client_id"], creds["client_secret"],
                           creds["username"], creds["password"], verify=sandbox.ca_bundle or True)
    assert auth.auth_header()["Authorization"].startswith("Bearer ")
    assert auth.grant_used == "password"


def test_keyset_ranges_read_each_record_once_while_the_vendor_changes(make_servicenow_sandbox):
    """Deletes and updates while paging shift nothing: no record twice, none alive throughout missed."""
    from pipelines.servicenow.helpers import ServiceNowClient

    sandbox = make_servicenow_sandbox(size=400)
    before = {r["sys_id"] for r in sandbox.records("incident")}
    sandbox.faults.set(delete_per_page=1, touch_per_page=2)
    creds = sandbox.credentials
    client = ServiceNowClient(sandbox.url, creds["client_id"], creds["client_secret"],
                              verify=sandbox.ca_bundle or True)
    try:
        ids = [r["sys_id"] for page in client.read_concurrently("incident", "sys_updated_on>=1970-01-01 00:00:00",
                                                               page_size=9, concurrency=3, fields=["sys_id"])
               for r in page]
    finally:
        client.close()
    sandbox.faults.set(delete_per_page=0, touch_per_page=0)
    after = {r["sys_id"] for r in sandbox.records("incident")}
    assert len(ids) == len(set(ids)), "a record was read twice"
    assert after <= set(ids) <= before
    assert len(after) < len(before), "the fault should have deleted records while we paged"


def test_window_rereads_and_merges_only_that_window(make_servicenow_sandbox, duckdb_warehouse):
    from datetime import UTC, datetime, timedelta

    sandbox = make_servicenow_sandbox(size=400)
    pipeline = duckdb_warehouse.pipeline("servicenow")
    pipeline.run(_source(sandbox, page_size=50), loader_file_format="parquet")
    sandbox.touch("incident", n=5)
    pipeline.run(_source(sandbox, page_size=50), loader_file_format="parquet")  # cursor now past the seed
    vendor = {r["sys_id"]: r for r in sandbox.records("incident")}
    day = Counter(r["sys_updated_on"][:10] for r in vendor.values()).most_common(1)[0][0]  # a bulk-job day
    start = datetime.fromisoformat(day).replace(tzinfo=UTC)
    in_window = sorted(sid for sid, r in vendor.items() if r["sys_updated_on"][:10] == day)
    assert len(in_window) >= 4
    gone, corrupt = in_window[:2], in_window[2:4]
    with duckdb.connect(duckdb_warehouse.duckdb_path) as con:
        con.execute("delete from servicenow.incidents where sys_id in (?, ?)", gone)
        con.execute("update servicenow.incidents set description = 'corrupt', state = '99' "
                    "where sys_id in (?, ?)", corrupt)
    resources = lambda: pipeline.state["sources"]["servicenow"]["resources"]  # noqa: E731
    state_before = json.dumps(resources(), sort_keys=True)

    pipeline.run(_source(sandbox, page_size=50, window=(start, start + timedelta(days=1))),
                 loader_file_format="parquet")

    assert _loaded(pipeline) == len(in_window), "exactly the records updated in the window are re-read"
    stored = {r[0]: r[1:] for r in _rows(duckdb_warehouse, "select sys_id, sys_updated_on, description, state "
                                                          "from servicenow.incidents")}
    assert stored == {sid: (r["sys_updated_on"], r["description"], r["state"]) for sid, r in vendor.items()}
    assert _rows(duckdb_warehouse, "select count(*) - count(distinct sys_id) from servicenow.incidents") == [(0,)]
    assert json.dumps(resources(), sort_keys=True) == state_before, "a window re-read leaves every cursor alone"


def test_window_reads_the_delete_audit_of_that_window(make_servicenow_sandbox, duckdb_warehouse):
    from datetime import UTC, datetime, timedelta

    sandbox = make_servicenow_sandbox(size=120)
    pipeline = duckdb_warehouse.pipeline("servicenow")
    run = {"tables": ["incident"], "attachments": False}
    pipeline.run(_source(sandbox, **run), loader_file_format="parquet")
    victim = sandbox.records("incident")[0]["sys_id"]
    sandbox.delete("incident", victim)
    now = datetime.now(UTC)
    past = (now - timedelta(days=400), now - timedelta(days=399))
    pipeline.run(_source(sandbox, window=past, **run), loader_file_format="parquet")
    assert _rows(duckdb_warehouse, "select count(*) from information_schema.tables "
                                   "where table_name = 'deletions'") == [(0,)]
    pipeline.run(_source(sandbox, window=(now - timedelta(hours=1), now + timedelta(days=1)), **run),
                 loader_file_format="parquet")
    assert _rows(duckdb_warehouse, "select record_id, detected_by from servicenow.deletions") == [(victim, "feed")]
    first = _rows(duckdb_warehouse, "select deleted_at, detected_at, run_id from servicenow.deletions")
    audit = [r for r in sandbox.records("sys_audit_delete") if r["documentkey"] == victim]
    assert first[0][0].astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") == audit[0]["sys_created_on"], \
        "deleted_at is when ServiceNow deleted it"
    # Read again (the live overlap, then the same window): a delete already recorded is not re-sent,
    # so it can never look newer than a later restore of the record.
    pipeline.run(_source(sandbox, **run), loader_file_format="parquet")
    pipeline.run(_source(sandbox, window=(now - timedelta(hours=1), now + timedelta(days=1)), **run),
                 loader_file_format="parquet")
    assert _rows(duckdb_warehouse, "select deleted_at, detected_at, run_id from servicenow.deletions") == first


def test_window_needs_aware_datetimes(make_servicenow_sandbox):
    from datetime import datetime

    sandbox = make_servicenow_sandbox(size=5)
    with pytest.raises(ValueError, match="timezone-aware"):
        _source(sandbox, window=(datetime(2026, 1, 1), datetime(2026, 1, 2)))


def test_keyset_range_steps_over_a_page_that_acls_emptied():
    """ServiceNow applies the limit before ACL filtering: an empty page is not the end while the count
    says rows remain past it; the range steps over it by offset instead of stopping (and a reconcile
    sweep would otherwise take the unseen ids for deletes)."""
    from pipelines.servicenow.helpers import KeysetRange

    part = KeysetRange("active=true", None, None)
    assert part.advance([{"sys_id": "0" * 31 + "a"}], total=12_000, page_size=5000)
    assert part.advance([], total=11_999, page_size=5000), "hidden rows, more behind them"
    assert part.offset == 5000 and "sys_id>" + "0" * 31 + "a" in part.query()
    assert not part.advance([], total=4_000, page_size=5000), "the count is used up: the range is done"
    assert KeysetRange("", None, None).split(4)[0].hi is not None
    top = KeysetRange("", None, None)
    top.after = "f" * 32
    assert top.split(4) == [top], "nothing above the top id to cut"


def test_failed_attachment_downloads_are_retried_and_never_overwrite_stored_content(make_servicenow_sandbox,
                                                                                     duckdb_warehouse):
    from datetime import UTC, datetime

    from pipelines.common.http import RetryPolicy

    sandbox = make_servicenow_sandbox(size=200)
    pipeline = duckdb_warehouse.pipeline("servicenow")
    run = {"tables": ["incident"], "policy": RetryPolicy(backoff_base_seconds=0.0, backoff_max_seconds=0.0)}

    def statuses():
        return dict(_rows(duckdb_warehouse, "select content_status, count(*) from servicenow.attachments group by 1"))

    sandbox.faults.replace(rate_5xx=1.0, paths=[r"/file$"])  # every content download fails
    pipeline.run(_source(sandbox, **run), loader_file_format="parquet")
    failed = statuses().get("failed", 0)
    assert failed > 0 and set(statuses()) <= {"failed", "too_large"}, "metadata kept, failure recorded"

    sandbox.faults.clear()
    pipeline.run(_source(sandbox, **run), loader_file_format="parquet")
    assert statuses().get("failed", 0) == 0 and statuses()["stored"] == failed, "the next live run retries them"
    stored = set(_rows(duckdb_warehouse, "select sys_id, sha256 from servicenow.attachments"))

    sandbox.faults.replace(rate_5xx=1.0, paths=[r"/file$"])
    everything = (datetime(1970, 1, 1, tzinfo=UTC), datetime.now(UTC))
    pipeline.run(_source(sandbox, window=everything, **run), loader_file_format="parquet")
    assert set(_rows(duckdb_warehouse, "select sys_id, sha256 from servicenow.attachments")) == stored, \
        "a window rerun whose downloads fail keeps the content stored before"
