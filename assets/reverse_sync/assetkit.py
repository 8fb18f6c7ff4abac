"""What the three reverse-sync assets share: their run config, the run itself and its metadata.

``ReverseSyncConfig`` is the Dagster config of every reverse-sync asset (``dry_run``, the
mass-change guard and the breaker). ``run_sync`` reads the outbound mart, runs the engine and turns
the report into Dagster metadata: the counts, and the plan as a metadata table (field-level
before -> after), also kept in ``reverse_sync.plans``; when the push stopped sending (an account-wide write
refusal, :mod:`assets.reverse_sync.refusal`) ``stopped`` says why and what to fix (secrets masked).
"""

from __future__ import annotations

from typing import Any

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    Config,
    Failure,
    MaterializeResult,
    MetadataValue,
    TableColumn,
    TableRecord,
    TableSchema,
)

from pipelines.common.entrypoint import redact, secret_values
from resources.audit import CORRELATION_TAG
from resources.warehouse import Connection, WarehouseResource

from .engine import SCHEMA, MassChangeBlocked, ReverseSync, SyncConfig, VendorWriter, ensure_tables

PLAN_COLUMNS = ("internal_id", "vendor_id", "operation", "field", "before", "after", "reason", "outcome")
PLAN_ROWS_SHOWN = 200


class ReverseSyncConfig(Config):
    """Run config of a reverse-sync asset."""

    dry_run: bool = False  # plan only: write nothing to the vendor, record the plan
    confirm_mass_change: bool = False  # let a run close/reopen more than the guard allows
    max_change_share: float = 0.2  # the guard: share of open linked records a run may close or reopen
    min_change_guard: int = 10  # ... but always at least this many
    breaker_threshold: int | None = None  # consecutive vendor-level failures that open it (None: the environment's)
    breaker_cooldown_seconds: float = 300.0  # open circuit -> half-open after this long
    circuit_breakers: bool | None = None  # None: the environment's switch (on in prod); false: never pause
    concurrency: int | None = None  # records written at once (None: PROJECTX_PUSH_CONCURRENCY, else 4); 1: in order

    def sync_config(self) -> SyncConfig:
        return SyncConfig(**self.model_dump())


def paused_by_flag(context: Any, vendor: str) -> MaterializeResult | None:
    """Feature flag ``integration.<vendor>.enabled`` off: reverse writes pause (the outbound mart keeps them)."""
    from resources.flags import flag

    switch = flag(vendor, for_writes=True)  # Vault's flags unreadable in a fresh process: the step fails
    if switch.enabled:
        return None
    context.log.info("%s reverse writes paused: %s", vendor, switch.skip_reason())
    return MaterializeResult(metadata={"paused_by_flag": MetadataValue.text(switch.name)})


def outbound_rows(conn: Connection, table: str, key: str) -> list[dict[str, Any]]:
    """The outbound mart's rows; a clear error naming the fix when dbt has not built it on this warehouse."""
    if not conn.table_exists("outbound", table):
        raise ValueError(f"outbound.{table} does not exist on this warehouse yet: reverse sync pushes what dbt "
                         "builds there, so run a full cycle first (`make demo`, or the full_sync job)")
    return conn.query(f"select * from outbound.{table} order by {key}")


def run_sync(context: Any, warehouse: WarehouseResource, writer: VendorWriter, *, table: str, key: str,
             config: ReverseSyncConfig) -> MaterializeResult:
    """Run one vendor's reverse sync inside an asset; a blocked guard fails the step with its reason."""
    correlation = context.run.tags.get(CORRELATION_TAG) if context.run else None
    blocked = None
    with warehouse.connect() as conn:
        rows = outbound_rows(conn, table, key)
        sync = ReverseSync(conn, writer, key=key, run_id=context.run_id, correlation_id=correlation,
                           config=config.sync_config())
        try:
            report = sync.run(rows)
        except MassChangeBlocked as exc:  # raised once the connection is closed (its plan is committed)
            blocked = str(exc)
    if blocked:
        raise Failure(description=blocked, metadata={"outbound_rows": MetadataValue.int(len(rows))})
    for failure in report.failures[:20]:
        context.log.warning("dead-lettered: %s", failure)
    context.log.info("%s reverse sync%s: %s", writer.vendor, " (dry run)" if config.dry_run else "",
                     report.as_metadata())
    # the account-wide refusal stop (refusal.py): why the rest was not sent and what to fix, shown in the UI
    stopped = redact(report.stopped, secret_values()) if report.stopped else ""
    if stopped:
        context.log.error("%s", stopped)
    return MaterializeResult(metadata={
        **({"stopped": MetadataValue.text(stopped)} if stopped else {}),
        **{k: MetadataValue.int(v) for k, v in report.as_metadata().items()},
        "outbound_rows": MetadataValue.int(len(rows)),
        "dry_run": MetadataValue.bool(config.dry_run),
        "breaker_state": MetadataValue.text(report.breaker_state),
        **({"skipped_by_flag": MetadataValue.text(sync.flag.name)} if report.skipped_pilot_scope else {}),
        "correlation_id": MetadataValue.text(sync.writes.correlation_id),
        "plan": plan_table(report.plan),
    })


def plan_table(plan: list[dict[str, Any]]) -> MetadataValue:
    records = [TableRecord({c: _cell(p.get(c)) for c in PLAN_COLUMNS}) for p in plan[:PLAN_ROWS_SHOWN]]
    schema = TableSchema(columns=[TableColumn(c, "string") for c in PLAN_COLUMNS])
    return MetadataValue.table(records=records, schema=schema)


def _cell(value: Any) -> str:
    return "" if value is None else str(value)[:300]


def no_dead_letters(warehouse: WarehouseResource, vendor: str) -> AssetCheckResult:
    with warehouse.connect() as conn:
        ensure_tables(conn)
        dead = conn.query(
            f"select internal_id, operation, attempts, error from {SCHEMA}.dead_letters where vendor = %s "
            "order by last_failed_at desc limit 20", (vendor,))
        breaker = conn.query(f"select state, failures from {SCHEMA}.circuit_breakers where vendor = %s", (vendor,))
    return AssetCheckResult(
        passed=not dead,
        severity=AssetCheckSeverity.WARN,
        metadata={"dead_letters": MetadataValue.json(dead), "count": MetadataValue.int(len(dead)),
                  "breaker": MetadataValue.json(breaker[0] if breaker else {"state": "closed"})},
    )
