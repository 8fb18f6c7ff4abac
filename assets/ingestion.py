"""What every vendor's ingestion assets share: how dlt resources appear in the asset graph
(``<vendor>/<resource>``, grouped by vendor, freshness twice the cadence), their daily time-window
partitions, and how a sync runs and reports (rows loaded, quarantined, marked deleted, cursor, duration).

Partitions are UTC days of the vendor's *last-updated* time. The newest partition (today, still open)
is the live sync: it reads everything changed since the cursor, whatever day that was, and advances
the cursor. Any other partition or range re-reads exactly the records updated in that window and
merges them, leaving the cursor alone: that is how an operator reruns a failed or suspect window, and
a backfill over many days runs as one sync of the whole range (``BackfillPolicy.single_run``), or on
the scale-out profile as runs of a week each (:func:`resources.scale_out.backfill_days_per_run`).
"""

import os
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    BackfillPolicy,
    DailyPartitionsDefinition,
    FreshnessPolicy,
    MaterializeResult,
    MetadataValue,
    multi_asset,
)
from dagster_dlt import DagsterDltTranslator
from dagster_dlt.translator import DltResourceTranslatorData

from pipelines.common.recovery import recovered_pipeline
from pipelines.common.runner import normalized_rows
from pipelines.common.warehouse import WarehouseSettings
from resources.owners import owners_for
from resources.scale_out import backfill_days_per_run, op_tags, pool
from resources.warehouse import WarehouseResource

PARTITIONS_START_ENV = "PROJECTX_PARTITIONS_START"
DEFAULT_PARTITIONS_START = "2025-01-01"


def ingestion_partitions() -> DailyPartitionsDefinition:
    """One partition per UTC day of vendor update time, today's included (``end_offset=1``)."""
    start = os.environ.get(PARTITIONS_START_ENV) or DEFAULT_PARTITIONS_START
    try:
        first = datetime.strptime(start, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise ValueError(f"{PARTITIONS_START_ENV}={start!r} is not a date: set it as YYYY-MM-DD, e.g. "
                         f"{DEFAULT_PARTITIONS_START}") from None
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    if first.strftime("%Y-%m-%d") > today:  # no partition yet: every scheduled tick would fail
        raise ValueError(f"{PARTITIONS_START_ENV}={start!r} is after today ({today}, UTC): the live sync is "
                         "today's partition. Set it to today or earlier (it also covers everything older).")
    return DailyPartitionsDefinition(start_date=start, end_offset=1, timezone="UTC")




def ingestion_backfill_policy() -> BackfillPolicy:
    days = backfill_days_per_run()
    return BackfillPolicy.single_run() if days is None else BackfillPolicy.multi_run(max_partitions_per_run=days)


# Put on scheduled runs: the live sync, whatever the clock says when the run finally starts.
LIVE_SYNC_TAG = "projectx/live_sync"


def current_partition_key(now: datetime | None = None) -> str:
    """The open partition: the one a scheduled (live) sync materializes."""
    return ingestion_partitions().get_partition_key_for_timestamp((now or datetime.now(UTC)).timestamp())


def sync_window(context: AssetExecutionContext, now: datetime | None = None) -> tuple[datetime, datetime] | None:
    """None for the live sync (only the open partition selected); else the (start, end) to re-read,
    end capped at now (a range that reaches today is re-read up to now; the live cursor stays put).
    The first partition also covers everything updated before it (vendors keep years of history), so
    a backfill from the first partition re-reads all of it. A run without a
    partition (e.g. a test's ``materialize``) is the live sync."""
    if not (context.has_partition_key or context.has_partition_key_range):
        return None
    if context.run.tags.get(LIVE_SYNC_TAG) == "true":  # a schedule's run, even if it waited past midnight
        return None
    window = context.partition_time_window
    now = now or datetime.now(UTC)
    start, end = window.start.astimezone(UTC), window.end.astimezone(UTC)
    if start <= now < end and end - start <= timedelta(days=1):  # just the open partition
        return None
    if context.partition_key_range.start == ingestion_partitions().get_first_partition_key():
        start = datetime(1970, 1, 1, tzinfo=UTC)
    return start, min(end, now)


class ProjectXDltTranslator(DagsterDltTranslator):
    """Asset key = [source, resource] (the key dbt sources point at); freshness = 2x the cadence."""

    def __init__(self, cadence_minutes: Mapping[str, int], descriptions: Mapping[str, str] | None = None):
        self.cadence_minutes = dict(cadence_minutes)
        self.descriptions = dict(descriptions or {})

    def get_asset_spec(self, data: DltResourceTranslatorData) -> AssetSpec:
        resource = data.resource
        spec = super().get_asset_spec(data)
        minutes = self.cadence_minutes.get(resource.name)
        freshness = (
            FreshnessPolicy.time_window(
                fail_window=timedelta(minutes=2 * minutes), warn_window=timedelta(minutes=minutes)
            )
            if minutes
            else None
        )
        return spec.replace_attributes(
            key=AssetKey([resource.source_name, resource.name]),
            group_name=resource.source_name,
            deps=[],
            description=self.descriptions.get(resource.name, spec.description),
            freshness_policy=freshness,
            owners=owners_for(resource.source_name),
        )


def with_sync_metadata(result: MaterializeResult, pipeline, source: str, side_counts: Mapping[str, dict[str, int]],
                       seconds: float, extra: Mapping[str, MetadataValue]) -> MaterializeResult:
    """Add what an operator asks first: rows loaded, quarantined and marked deleted, cursor, duration."""
    resource = result.asset_key.path[-1]
    counts = normalized_rows(pipeline)
    state = pipeline.state.get("sources", {}).get(source, {}).get("resources", {}).get(resource, {})
    metadata = {
        **(result.metadata or {}),
        "rows_loaded": MetadataValue.int(int(counts.get(resource, 0))),
        "rows_quarantined": MetadataValue.int(side_counts["quarantine"].get(resource, 0)),
        "rows_marked_deleted": MetadataValue.int(side_counts["deletions"].get(resource, 0)),
        "rows_skipped_unchanged": MetadataValue.int(int(state.get("stats", {}).get("skipped_unchanged", 0))),
        "cursor": MetadataValue.text(str(state.get("last_value", ""))),
        "duration_seconds": MetadataValue.float(round(seconds, 2)),
        **extra,
    }
    return MaterializeResult(asset_key=result.asset_key, metadata=metadata)


def _run_counts(pipeline, run_id: str) -> dict[str, dict[str, int]]:
    """Rows this run sent to the quarantine and deletions tables, per entity (none if a table is absent):
    one query per table for the whole run, not one per synced table."""
    out: dict[str, dict[str, int]] = {}
    with pipeline.sql_client() as client:
        for table in ("quarantine", "deletions"):
            try:
                name = client.make_qualified_table_name(table)
                rows = client.execute_sql(
                    f"select entity, count(*) from {name} where run_id = %s group by entity", run_id)
                out[table] = {entity: int(n) for entity, n in rows or []}
            except Exception:  # the table does not exist until something lands in it
                out[table] = {}
    return out


def dlt_assets_kwargs(vendor: str, placeholder, translator: ProjectXDltTranslator) -> dict:
    """What every vendor's ``@dlt_assets`` shares: op name, pipeline, daily partitions, single-run
    backfills and the warehouse pool (one writer at a time on DuckDB). ``placeholder``: a source built
    without credentials, only to enumerate the tables; the real one is built at run time."""
    return dict(
        dlt_source=placeholder,
        dlt_pipeline=WarehouseSettings.from_env().pipeline(vendor, definition_only=True),
        name=f"{vendor}_ingest",
        dagster_dlt_translator=translator,
        partitions_def=ingestion_partitions(),
        backfill_policy=ingestion_backfill_policy(),
        pool=pool("ingestion", vendor),
        op_tags=op_tags("ingestion"),
    )


def sync_partition(context, dlt, vendor: str, vendor_resource, warehouse) -> Iterator[MaterializeResult]:
    """The body of every ``<vendor>_ingest`` op: the live sync or a window re-read, by partition.

    The run's correlation id (run tag ``projectx/correlation_id``, else the run id) goes to the vendor
    as ``X-Correlation-ID``, into the log and into the audit log's ``pull`` row."""
    from pipelines.common.http import set_correlation_id
    from resources.audit import CORRELATION_TAG, record_event

    window = sync_window(context)
    correlation_id = context.run.tags.get(CORRELATION_TAG) or context.run_id
    set_correlation_id(correlation_id)
    context.log.info(f"{vendor}: sync starting, correlation_id={correlation_id}")
    source = vendor_resource.source(run_id=context.run_id, window=window)
    try:
        yield from run_sync(context, dlt, vendor, source, warehouse, window)
    finally:
        set_correlation_id(None)
    with warehouse.connect() as conn:
        record_event(conn, action="pull", system=vendor, correlation_id=correlation_id, operation="sync",
                     status="ok", run_id=context.run_id,
                     detail={"mode": "live" if window is None else "window",
                             "tables": len(context.selected_asset_keys)})


def run_sync(context, dlt, source_name: str, source, warehouse,
             window: tuple[datetime, datetime] | None = None) -> Iterator[MaterializeResult]:
    """Run one vendor's dlt source into the warehouse and yield a result per synced table.

    ``window``: the source was built to re-read that window (see :func:`sync_window`); it is logged and
    shown in each table's metadata so an operator sees what the run covered."""
    started = time.monotonic()
    mode = {"sync_mode": MetadataValue.text("live (cursor)" if window is None else "window re-read")}
    if window is not None:
        context.log.info(f"{source_name}: re-reading records updated in [{window[0]}, {window[1]}); "
                         "the incremental cursor is left where it is")
        mode |= {"window_start": MetadataValue.text(window[0].isoformat()),
                 "window_end": MetadataValue.text(window[1].isoformat())}
    # The same crash recovery as the standalone runner: discard what a killed run left, then sync.
    with recovered_pipeline(warehouse.settings, source_name, progress="log") as run:
        if run.reason:
            context.log.warning(f"{source_name}: {run.reason}; discarded its unfinished dlt packages and "
                                "restarted from the last load the warehouse committed")
            mode |= {"recovered_from": MetadataValue.text(run.reason)}
        pipeline = run.pipeline
        side_counts = None  # read once, after the load: every result comes after it
        for result in dlt.run(context=context, dlt_source=source, dlt_pipeline=pipeline,
                              loader_file_format="parquet"):
            side_counts = side_counts or _run_counts(pipeline, context.run_id)
            yield with_sync_metadata(result, pipeline, source_name, side_counts, time.monotonic() - started, mode)


def side_table_assets(vendor: str, tables: dict[str, str], upstream: list[AssetKey]):
    """Tables a vendor's sync writes beside its resources (deletions, quarantine, dlt's load log, child
    tables). They are assets too, so dbt sources on them have a producer in the graph: this step runs
    after the sync and records each table's row count as its materialization."""

    specs = [AssetSpec(AssetKey([vendor, table]), deps=upstream, group_name=vendor, description=text,
                       kinds={"dlt"}, owners=owners_for(vendor)) for table, text in tables.items()]

    # Not partitioned (row counts of whole tables), but one run per backfill like the sync before it.
    @multi_asset(specs=specs, name=f"{vendor}_side_tables", can_subset=True, pool=pool("ingestion", vendor),
                 op_tags=op_tags("ingestion"), backfill_policy=ingestion_backfill_policy())
    def _side_tables(context: AssetExecutionContext, warehouse: WarehouseResource):
        with warehouse.connect() as conn:
            for key in sorted(context.selected_asset_keys, key=lambda k: k.path[-1]):
                table = key.path[-1]
                rows = conn.scalar(f"select count(*) from {vendor}.{table}") if conn.table_exists(vendor, table) else 0
                yield MaterializeResult(asset_key=key, metadata={"row_count": MetadataValue.int(int(rows or 0))})

    return _side_tables


COMMON_SIDE_TABLES = {
    "deletions": "Records the vendor no longer has: one row per (entity, record_id), with when and how the "
                 "delete was detected (`feed` = the vendor's signal, `reconciliation` = an id sweep). The table "
                 "appears with the first delete; staging reads it as empty until then.",
    "quarantine": "Records rejected by validation, with the reason and the run id; never dropped. The table "
                  "appears with the first rejection; staging reads it as empty until then.",
    "_dlt_loads": "dlt's load log: one row per committed load (load id, status, time).",
}
