"""Data-parity asset checks beside each reconciled ingested table (``<vendor>/<table>``):

- ``matches_vendor_count``: live rows in the warehouse = records the vendor lists;
- ``no_missing_ids``: no id only on one side (the vendor deleted it and no delete was marked, or the
  warehouse lacks it), the offending ids (at most 50 per side) in metadata;
- ``no_stale_versions``: a rotating sample of rows (``PROJECTX_RECON_SAMPLE``, default 1000 per
  table) equals the vendor's records in its compared columns, and so does every row whose vendor stamp
  in the census differs from the stored one while older than the vendor's last sync (re-dated: a
  restore, a change the cursor passed; ``redated_ids``).

Severity: WARN while every offending id is newer than the vendor's latest completed sync (the next
sync may absorb it), ERROR once one has survived a sync. They compare against the vendor, read-only,
and run in the nightly job (after its repair) or on demand from the UI; not on every sync.
"""

from __future__ import annotations

from collections.abc import Iterator

from dagster import AssetCheckResult, AssetCheckSeverity, AssetCheckSpec, AssetKey, MetadataValue, multi_asset_check

from assets.reconciliation import census
from assets.reconciliation.compare import TableParity, parity
from assets.reconciliation.nightly import GROUP, sample_size, vendor_tables

CHECKS = ("matches_vendor_count", "no_missing_ids", "no_stale_versions")
TABLES = {
    "servicenow": ("incidents", "change_requests", "requests", "catalog_tasks", "cmdb_cis"),
    "jira": ("issues",),
    "onetrust": ("assessments", "vendor_assessments", "risks", "vendors"),
}


def _severity(conn, vendor: str, entity: str, kind: str, ids: list[str]) -> AssetCheckSeverity:
    seen = census.track_drift(conn, vendor, entity, kind, ids)
    synced = census.last_completed_sync(conn, vendor)
    survived = synced is not None and any(first < synced for first in seen.values())
    return AssetCheckSeverity.ERROR if survived else AssetCheckSeverity.WARN


def results(conn, p: TableParity) -> Iterator[AssetCheckResult]:
    t, c = p.table, p.census
    key = AssetKey([t.vendor, t.entity])
    drift = sorted(set(c.gone) | set(c.missing))
    id_severity = _severity(conn, t.vendor, t.entity, "ids", drift)
    counts = {"vendor_count": MetadataValue.int(c.vendor_count),
              "warehouse_count": MetadataValue.int(c.warehouse_count)}
    yield AssetCheckResult(asset_key=key, check_name="matches_vendor_count",
                           passed=c.vendor_count == c.warehouse_count, severity=id_severity,
                           metadata={**counts, "difference": MetadataValue.int(c.warehouse_count - c.vendor_count)})
    yield AssetCheckResult(asset_key=key, check_name="no_missing_ids", passed=not (c.gone_total or c.missing_total),
                           severity=id_severity, metadata={
                               **counts,
                               "not_at_vendor_count": MetadataValue.int(c.gone_total),
                               "not_at_vendor_ids": MetadataValue.json(c.gone),
                               "not_in_warehouse_count": MetadataValue.int(c.missing_total),
                               "not_in_warehouse_ids": MetadataValue.json(c.missing)})
    yield AssetCheckResult(asset_key=key, check_name="no_stale_versions", passed=not p.stale,
                           severity=_severity(conn, t.vendor, t.entity, "stale", p.stale), metadata={
                               "sampled": MetadataValue.int(p.sampled),
                               "stale_count": MetadataValue.int(len(p.stale)),
                               "stale_ids": MetadataValue.json(p.stale[:census.MAX_IDS_SHOWN]),
                               "redated_ids": MetadataValue.json(p.redated[:census.MAX_IDS_SHOWN]),
                               "compared_columns": MetadataValue.json(list(t.compared))})


def parity_checks(vendor: str):
    specs = [AssetCheckSpec(name, asset=AssetKey([vendor, entity]), additional_deps=[AssetKey([GROUP, vendor])],
                            description=f"{name.replace('_', ' ')}: {vendor}.{entity} against the vendor "
                                        "(id census; sampled rows in full)")
             for entity in TABLES[vendor] for name in CHECKS]

    @multi_asset_check(name=f"{vendor}_parity", specs=specs, required_resource_keys={vendor, "warehouse"},
                       pool="warehouse", description=f"Parity of the synced {vendor} tables with {vendor} itself.")
    def _checks(context) -> Iterator[AssetCheckResult]:
        resource, warehouse = getattr(context.resources, vendor), context.resources.warehouse
        for table in vendor_tables(vendor, resource):
            if table.entity not in TABLES[vendor]:
                continue
            p = parity(warehouse, table, sample=sample_size(), fetch_limit=census.MAX_IDS_SHOWN)
            with warehouse.connect() as conn:
                yield from results(conn, p)

    return _checks


PARITY_CHECKS = [parity_checks(v) for v in TABLES]
