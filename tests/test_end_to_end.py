"""A whole cycle through Dagster: sandbox -> dlt -> dbt -> reverse sync, and an idempotent rerun."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from dagster import AssetKey, DagsterInstance

from assets.ingestion import DEFAULT_PARTITIONS_START, LIVE_SYNC_TAG, current_partition_key
from assets.reverse_sync.servicenow import remediation_table
from resources.servicenow import ServiceNowResource

pytestmark = pytest.mark.slow


PUSH = AssetKey(["reverse_sync", "servicenow_remediation_tasks"])


def _run_full_sync(job_name: str = "full_sync", partition_key: str | None = None, tags=None, run_config=None,
                   asset_selection=None, **resources):
    """Run a job in process; the partition defaults to today's (the live sync, as the schedules do: with
    their tag, so a run that starts after midnight is not a re-read of yesterday's window).
    ``asset_selection``: only these assets of the job (and their checks), as an operator's
    "materialize selected" does; e.g. ``[PUSH]`` to push again what the last build computed."""
    import definitions

    job = definitions.build_definitions(**resources).resolve_job_def(job_name)
    if partition_key is None and not tags:
        partition_key, tags = current_partition_key(), {LIVE_SYNC_TAG: "true"}
    result = job.execute_in_process(instance=DagsterInstance.ephemeral(), raise_on_error=False,
                                    partition_key=partition_key, tags=tags, run_config=run_config,
                                    asset_selection=asset_selection)
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    return result


def _metadata(result, key: str) -> dict:
    out = {}
    for event in result.get_asset_materialization_events():
        mat = event.materialization
        if mat.asset_key == AssetKey(key.split("/")):
            out = {k: getattr(v, "value", v) for k, v in mat.metadata.items()}
    return out


def readme_queries() -> list[tuple[str, str]]:
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    block = text.split("```sql", 1)[1].split("```", 1)[0]
    out = []
    for statement in block.split(";"):
        lines = [line.strip() for line in statement.strip().splitlines()]
        if lines:
            out.append((lines[0], "\n".join(lines[1:])))
    assert len(out) >= 4
    return out


def _q(settings, sql):
    with duckdb.connect(settings.duckdb_path, read_only=True) as con:
        return con.execute(sql).fetchall()


def test_full_cycle_then_rerun_creates_no_duplicates_then_a_vendor_job_counts_quarantined_and_deleted(
        vendors, duckdb_warehouse):
    """A full cycle and its idempotent rerun; then, on that warehouse, a vendor job's quarantined and
    deleted counts show in its Dagster metadata (one test: the cycle is the state both need, ~25 s a build)."""
    sandbox, _, _ = vendors(size=400)

    first = _run_full_sync()
    assert _metadata(first, "servicenow/incidents")["rows_loaded"] == 400
    # The dbt build kept its parse for the next build and removed its own folder (compiled SQL, log).
    from assets.dbt import BUILD_FOLDER_PREFIX, build_target_root
    assert (build_target_root() / "partial_parse.msgpack").is_file()
    assert not list(build_target_root().glob(f"{BUILD_FOLDER_PREFIX}{first.run_id[:7]}-*"))
    outbound = _q(duckdb_warehouse, "select remediation_task_id from outbound.servicenow_remediation_tasks")
    assert outbound, "the seeded data must make some control fail"
    pushed = _metadata(first, "reverse_sync/servicenow_remediation_tasks")
    assert pushed["created"] == len(outbound)
    vendor_tasks = sandbox.records(remediation_table())
    assert sorted(t["correlation_id"] for t in vendor_tasks) == sorted(r[0] for r in outbound)
    links = _q(duckdb_warehouse, "select internal_id, vendor_id from reverse_sync.external_links "
                                 "where vendor = 'servicenow'")
    assert {r[1] for r in links} == {t["sys_id"] for t in vendor_tasks}

    # Every incident became a review task; P1/P2 are high priority for risk analysts.
    tasks = _q(duckdb_warehouse, """
        select priority, queue, count(*) from marts.tasks where task_type = 'incident_review' group by 1, 2""")
    assert sum(n for _, _, n in tasks) == 400
    assert all(q == "risk-analyst" for _, q, _ in tasks)

    # The analyst questions in the README answer with rows on the sandbox's seeded data.
    for question, sql in readme_queries():
        assert _q(duckdb_warehouse, sql), f"README query returned no rows: {question}"

    second = _run_full_sync()
    assert _metadata(second, "servicenow/incidents")["rows_loaded"] == 0
    again = _metadata(second, "reverse_sync/servicenow_remediation_tasks")
    assert again["created"] == 0 and again["dead_lettered"] == 0
    assert len(sandbox.records(remediation_table())) == len(vendor_tasks)

    # Quarantined and deleted counts show in the vendor job's Dagster metadata.
    sandbox.delete("incident", [r["sys_id"] for r in sandbox.records("incident")[:2]])
    sandbox.faults.set(rate_malformed=0.05)
    sandbox.touch("incident", n=100)
    result = _run_full_sync("servicenow_incidents_sync")
    meta = _metadata(result, "servicenow/incidents")
    run_id = result.run_id
    quarantined = _q(duckdb_warehouse, "select count(*) from servicenow.quarantine "
                                       f"where entity = 'incidents' and run_id = '{run_id}'")[0][0]
    assert meta["rows_quarantined"] == quarantined > 0
    assert meta["rows_marked_deleted"] == 2


def test_a_vendor_job_on_a_new_warehouse_names_the_first_full_sync(vendors, duckdb_warehouse):
    """A vendor job builds on a first full build; on a new warehouse its dbt step stops before dbt
    with the fix (not dbt's "table does not exist"), after its sync has landed the vendor's rows."""
    import definitions

    vendors(size=60)
    job = definitions.build_definitions().resolve_job_def("servicenow_incidents_sync")
    result = job.execute_in_process(instance=DagsterInstance.ephemeral(), raise_on_error=False,
                                    partition_key=current_partition_key())
    assert not result.success
    failed = [e for e in result.all_events if e.is_step_failure]
    assert [e.step_key for e in failed] == ["projectx_dbt_models"]
    error = failed[0].step_failure_data.user_failure_data
    assert "full_sync" in error.description and "catalog.control_catalog" in error.description
    assert "catalog.control_catalog" in error.metadata["missing_relations"].value
    assert _q(duckdb_warehouse, "select count(*) from servicenow.incidents") == [(60,)]

    _run_full_sync()
    rerun = _run_full_sync("servicenow_incidents_sync")
    assert _metadata(rerun, "marts/tasks"), "the vendor job builds its marts once the first build exists"


def test_lost_link_is_adopted_not_duplicated_and_vendor_failures_are_dead_lettered_then_retried(
        vendors, duckdb_warehouse):
    """A run that created vendor records but died before writing links must not duplicate them; then
    vendor failures are dead-lettered and retried (one test: both start from a full sync's state)."""
    sandbox, _, _ = vendors(size=200)
    _run_full_sync()
    created = len(sandbox.records(remediation_table()))
    with duckdb.connect(duckdb_warehouse.duckdb_path) as con:
        con.execute("delete from reverse_sync.external_links where vendor = 'servicenow'")
    result = _run_full_sync(asset_selection=[PUSH])
    meta = _metadata(result, "reverse_sync/servicenow_remediation_tasks")
    assert meta["created"] == 0 and meta["adopted"] == created
    assert len(sandbox.records(remediation_table())) == created

    # Then (from this state: every record linked, as after a full sync) the vendor fails every create.
    _vendor_failures_are_dead_lettered_then_retried(sandbox, duckdb_warehouse)


def _vendor_failures_are_dead_lettered_then_retried(sandbox, duckdb_warehouse):
    fast_retries = {"servicenow": ServiceNowResource(backoff_base_seconds=0.0)}
    with duckdb.connect(duckdb_warehouse.duckdb_path) as con:
        con.execute("delete from reverse_sync.external_links where vendor = 'servicenow'")
    for record in sandbox.records(remediation_table()):
        sandbox.delete(remediation_table(), [record["sys_id"]])
    sandbox.faults.set(rate_5xx=1.0, methods=["POST"])
    op = "reverse_sync__servicenow_remediation_tasks"
    breakers_on = {"ops": {op: {"config": {"circuit_breakers": True}}}}  # as in prod (off locally)
    failed = _run_full_sync(run_config=breakers_on, asset_selection=[PUSH], **fast_retries)
    meta = _metadata(failed, "reverse_sync/servicenow_remediation_tasks")
    assert meta["created"] == 0 and meta["dead_lettered"] >= 1
    # the failures opened the (persisted) circuit: the writes behind them wait in dead letters too
    assert meta["breaker_state"] == "open"
    assert _q(duckdb_warehouse, "select count(*) from reverse_sync.dead_letters where vendor = 'servicenow'"
              )[0][0] == meta["dead_lettered"] + meta["paused_circuit_open"]
    sandbox.faults.clear()
    # after the cool-down (0 here) the next run is half-open: its first success closes the circuit
    healed = _run_full_sync(run_config={"ops": {op: {"config": {"breaker_cooldown_seconds": 0,
                                                                "circuit_breakers": True}}}},
                            asset_selection=[PUSH])
    meta = _metadata(healed, "reverse_sync/servicenow_remediation_tasks")
    assert meta["dead_lettered"] == 0 and meta["created"] > 0 and meta["breaker_state"] == "closed"
    assert _q(duckdb_warehouse, "select count(*) from reverse_sync.dead_letters where vendor = 'servicenow'")[0][0] == 0


def _days(stamps: dict[str, str]) -> dict[str, set[str]]:
    """Record ids per UTC day of their last-updated stamp."""
    from pipelines.common.cursor import parse_vendor_ts

    out: dict[str, set[str]] = {}
    for rid, ts in stamps.items():
        out.setdefault(parse_vendor_ts(ts).strftime("%Y-%m-%d"), set()).add(rid)
    return out


# (table, key, last-updated column): one incremental table per vendor
DAMAGED = [("servicenow.incidents", "sys_id", "sys_updated_on"), ("jira.issues", "id", "updated"),
           ("onetrust.risks", "risk_id", "updated_at")]


def _snapshot(settings) -> dict[str, set[tuple]]:
    return {table: set(_q(settings, f"select {key}, {ts} from {table}")) for table, key, ts in DAMAGED}


def _damage(settings, keep) -> dict[str, int]:
    """Delete the rows whose last-updated day passes ``keep``; returns how many per table."""
    gone = {}
    with duckdb.connect(settings.duckdb_path) as con:
        for table, key, ts in DAMAGED:
            days = _days(dict(con.execute(f"select {key}, {ts} from {table}").fetchall()))
            ids = sorted(set().union(*(ids for d, ids in days.items() if keep(d))))
            if ids:
                con.execute(f"delete from {table} where {key} in (select unnest(?))", [ids])
            gone[table] = len(ids)
    return gone


def test_partition_rerun_and_backfill_restore_exactly_their_window(vendors, duckdb_warehouse):
    """An operator reruns one failed day, then backfills a range, for every vendor at once: the
    window's rows come back, the live cursors stay where they were, nothing is duplicated."""
    # the tags a single-run backfill puts on its run (dagster._core.storage.tags)
    from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

    vendors(size=300)
    live = _run_full_sync()
    cursors = {t: _metadata(live, t)["cursor"] for t in ("servicenow/incidents", "jira/issues", "onetrust/risks")}
    assert {_metadata(live, t)["sync_mode"] for t in cursors} == {"live (cursor)"}
    truth = _snapshot(duckdb_warehouse)

    incident_days = _days(dict(_q(duckdb_warehouse, "select sys_id, sys_updated_on from servicenow.incidents")))
    past = [d for d in incident_days if DEFAULT_PARTITIONS_START < d < current_partition_key()]
    day = max(past, key=lambda d: len(incident_days[d]))
    gone = _damage(duckdb_warehouse, lambda d: d == day)
    rerun = _run_full_sync(partition_key=day)
    for table in cursors:
        meta = _metadata(rerun, table)
        assert meta["sync_mode"] == "window re-read" and meta["window_start"].startswith(day)
        assert meta["cursor"] == cursors[table], f"{table}: a past window leaves the live cursor alone"
    assert _metadata(rerun, "servicenow/incidents")["rows_loaded"] == gone["servicenow.incidents"] > 0
    assert _snapshot(duckdb_warehouse) == truth, "exactly the damaged rows came back"

    # A backfill from the first partition: it also covers everything updated before that partition.
    gone = _damage(duckdb_warehouse, lambda d: d <= day)
    assert all(gone.values()), gone
    backfill = _run_full_sync(tags={ASSET_PARTITION_RANGE_START_TAG: DEFAULT_PARTITIONS_START,
                                    ASSET_PARTITION_RANGE_END_TAG: day})
    assert {t: _metadata(backfill, t)["cursor"] for t in cursors} == cursors
    assert _snapshot(duckdb_warehouse) == truth
    for table, key, _ in DAMAGED:
        assert _q(duckdb_warehouse, f"select count(*) - count(distinct {key}) from {table}")[0][0] == 0
