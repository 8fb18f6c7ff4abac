"""Round 30, outside checker: reruns and backfills of windows where the vendor changed nothing.

README "Rerun a day, backfill a range": any day other than today, or a range, re-reads exactly the
records updated in it and leaves the cursor alone. An operator backfilling a quiet stretch (a weekend,
a holiday, the days before a vendor went live) must get a successful run that loads nothing, changes
nothing, still records every table (so the side tables and dbt after it run), and keeps the cursor.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import duckdb
import pytest
from dagster import AssetKey, DagsterInstance, materialize
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG
from dagster_dlt import DagsterDltResource

from assets.ingestion import LIVE_SYNC_TAG, current_partition_key
from resources.servicenow import ServiceNowResource
from resources.warehouse import WarehouseResource
from tests.conftest import sandbox_env

STAMPED = ("incidents", "change_requests", "requests", "catalog_tasks", "cmdb_cis")


def _metadata(result) -> dict[str, dict]:
    return {e.materialization.asset_key.to_user_string(): {k: getattr(v, "value", v)
                                                         for k, v in e.materialization.metadata.items()}
            for e in result.get_asset_materialization_events()}


def _state(settings) -> dict[str, set[tuple]]:
    with duckdb.connect(settings.duckdb_path, read_only=True) as con:
        return {t: set(con.execute(f"select sys_id, sys_updated_on from servicenow.{t}").fetchall())
                for t in STAMPED}


def _quiet_days(settings, today: str) -> tuple[str, str]:
    """The first and last day after every stored update and before today: no record changed in them."""
    with duckdb.connect(settings.duckdb_path, read_only=True) as con:
        newest = max(con.execute(f"select max(sys_updated_on) from servicenow.{t}").fetchone()[0] for t in STAMPED)
    newest = newest if isinstance(newest, datetime) else datetime.fromisoformat(str(newest))
    first = (newest.date() + timedelta(days=2)).isoformat()
    last = (date.fromisoformat(today) - timedelta(days=2)).isoformat()
    assert first < last, f"the sandbox's data reach {newest}, too close to today ({today}) for a quiet window"
    return first, last


@pytest.mark.slow
def test_a_backfill_and_a_day_rerun_over_days_the_vendor_changed_nothing(duckdb_warehouse,
                                                                          make_servicenow_sandbox, monkeypatch):
    from assets.servicenow import build_servicenow_assets

    sandbox_env(monkeypatch, make_servicenow_sandbox(size=40))
    resources = {"warehouse": WarehouseResource.from_env(), "dlt": DagsterDltResource(),
                 "servicenow": ServiceNowResource()}
    assets = build_servicenow_assets()
    today = current_partition_key(datetime.now(UTC))
    with DagsterInstance.ephemeral() as instance:
        live = materialize(assets, instance=instance, resources=resources, partition_key=today,
                           tags={LIVE_SYNC_TAG: "true"})
        assert live.success
        cursors = {k: m["cursor"] for k, m in _metadata(live).items() if "cursor" in m}
        assert cursors and all(cursors.values()), cursors
        before = _state(duckdb_warehouse)
        first, last = _quiet_days(duckdb_warehouse, today)

        day = materialize(assets, instance=instance, resources=resources, partition_key=first)
        backfill = materialize(assets, instance=instance, resources=resources,
                               tags={ASSET_PARTITION_RANGE_START_TAG: first, ASSET_PARTITION_RANGE_END_TAG: last})
        for run, (start, end) in ((day, (first, first)), (backfill, (first, last))):
            assert run.success, [e.message for e in run.all_events if e.is_failure]
            meta = _metadata(run)
            for table in STAMPED:
                m = meta.get(f"servicenow/{table}")
                assert m is not None, f"servicenow/{table} not recorded by the quiet {start}..{end} run"
                assert m["sync_mode"] == "window re-read" and m["window_start"].startswith(start), m
                assert m["window_end"].startswith((date.fromisoformat(end) + timedelta(days=1)).isoformat()), m
                assert m["rows_loaded"] == 0, (table, m)
                assert m["cursor"] == cursors[f"servicenow/{table}"], f"{table}: a past window moved the cursor"
            assert "servicenow/quarantine" in meta and "servicenow/_dlt_loads" in meta, \
                "the side tables after the sync ran"
        assert _state(duckdb_warehouse) == before, "a window with no updates changes no row"
        partitions = instance.get_materialized_partitions(AssetKey(["servicenow", "incidents"]))
        assert {today, first, last} <= partitions, "each quiet day counts as materialized in the UI"


def test_the_partitions_start_setting_moves_the_first_partition_and_refuses_a_day_after_today(monkeypatch):
    """README: first partition ``PROJECTX_PARTITIONS_START`` (default 2025-01-01). A start after today
    left no partition for the live sync: the definitions loaded, then every scheduled tick failed with
    Dagster's "Could not find a partition with key" (found in round 30). Now loading names the setting."""
    import definitions
    from assets.ingestion import PARTITIONS_START_ENV, ingestion_partitions

    today = current_partition_key(datetime.now(UTC))
    monkeypatch.setenv(PARTITIONS_START_ENV, today)  # a deployment that starts today: one partition, today's
    defs = definitions.build_definitions()
    node = defs.resolve_asset_graph().get(AssetKey(["jira", "issues"]))
    assert node.partitions_def.get_first_partition_key() == node.partitions_def.get_last_partition_key() == today
    tomorrow = (date.fromisoformat(today) + timedelta(days=1)).isoformat()
    monkeypatch.setenv(PARTITIONS_START_ENV, tomorrow)
    with pytest.raises(ValueError, match=rf"{PARTITIONS_START_ENV}='{tomorrow}' is after today \({today}, UTC\)"):
        ingestion_partitions()
    with pytest.raises(ValueError, match=PARTITIONS_START_ENV):
        definitions.build_definitions()
    monkeypatch.setenv(PARTITIONS_START_ENV, "1 June 2026")
    with pytest.raises(ValueError, match=r"is not a date: set it as YYYY-MM-DD"):
        ingestion_partitions()
