"""``reconciliation.findings``: what each nightly run found out of parity, and what it healed.

Grain: one row per (run, vendor, entity, kind) with something found. ``kind``:
``deleted_at_vendor`` (the warehouse held records the vendor no longer lists), ``missing_in_warehouse``,
``stale_version`` (a sampled row differs from the vendor's record), ``count_mismatch`` (counts still
differ after healing), and for reverse sync ``link_*`` / ``orphan_*`` (see
:mod:`assets.reverse_sync.reconcile`). ``unhealed`` > 0 becomes a task for the connector's owner in
``marts.tasks`` (dbt model ``int_tasks__reconciliation_drift``) with the connector's runbook id.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from assets.reconciliation.census import SCHEMA

# Connector owner queue and runbook (spec §6: ServiceNow RB-002, Jira RB-003, OneTrust RB-004).
OWNERS = {
    "servicenow": ("integrations-servicenow", "RB-002"),
    "jira": ("integrations-jira", "RB-003"),
    "onetrust": ("integrations-onetrust", "RB-004"),
}
DDL = f"""create table if not exists {SCHEMA}.findings (
    run_id varchar not null, detected_at timestamp not null, vendor varchar not null,
    entity varchar not null, kind varchar not null, found integer not null, healed integer not null,
    unhealed integer not null, vendor_count integer, warehouse_count integer, example_ids varchar,
    detail varchar, owner_queue varchar not null, runbook_id varchar not null)"""


@dataclass
class Finding:
    vendor: str
    entity: str
    kind: str
    found: int
    healed: int
    example_ids: list[str]
    vendor_count: int | None = None
    warehouse_count: int | None = None
    detail: str = ""

    @property
    def unhealed(self) -> int:
        return max(0, self.found - self.healed)


def ensure_table(conn) -> None:
    conn.execute(f"create schema if not exists {SCHEMA}")
    conn.execute(DDL)


def record(conn, run_id: str, findings: list[Finding], in_parity_vendor: str | None = None) -> None:
    """Append this run's findings. A vendor's census that found nothing (``in_parity_vendor``) writes one
    ``in_parity`` row (entity ``*``, counts 0): the night it was in parity is then its latest night, and the
    drift tasks of earlier nights close (dbt ``int_tasks__reconciliation_drift``)."""
    ensure_table(conn)
    if not findings and in_parity_vendor:
        findings = [Finding(in_parity_vendor, "*", "in_parity", 0, 0, [])]
    now = datetime.now(UTC).replace(tzinfo=None)
    for f in findings:
        queue, runbook = OWNERS.get(f.vendor, ("integrations", "RB-001"))
        conn.execute(
            f"insert into {SCHEMA}.findings values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (run_id, now, f.vendor, f.entity, f.kind, f.found, f.healed, f.unhealed, f.vendor_count,
             f.warehouse_count, ",".join(f.example_ids[:20]), f.detail[:2000], queue, runbook))
    conn.raw.commit()


FINDINGS_KEY = ["reconciliation", "findings"]


def findings_asset():
    """The findings table as an asset, after every vendor's census: dbt's source for drift tasks."""
    from dagster import AssetKey, MaterializeResult, MetadataValue, asset

    @asset(key=FINDINGS_KEY, group_name="reconciliation", pool="warehouse", kinds={"python"},
           deps=[AssetKey(["reconciliation", v]) for v in OWNERS], required_resource_keys={"warehouse"},
           description="reconciliation.findings: per nightly run, vendor, table and kind, what was found "
                       "out of parity and what was healed; the unhealed become tasks in marts.tasks.")
    def reconciliation_findings(context):
        with context.resources.warehouse.connect() as conn:
            ensure_table(conn)
            rows = conn.query(f"select vendor, sum(unhealed) as unhealed from {SCHEMA}.findings "
                              f"where run_id = %s group by vendor order by vendor", (context.run_id,))
        return MaterializeResult(metadata={
            "unhealed_by_vendor": MetadataValue.json({r["vendor"]: int(r["unhealed"]) for r in rows})})

    return reconciliation_findings
