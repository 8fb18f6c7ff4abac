"""The nightly reconciliation assets: one per vendor (group ``reconciliation``).

Each one, for every synced table of its vendor: takes an id census (ids and their vendor stamps
streamed into the warehouse, compared there: a record re-dated out of the cursor's reach is found
whatever the sample), compares a rotating sample of rows in full, marks what the vendor deleted without
telling us, re-reads what the warehouse lacks or holds stale (the vendor's window mode), then checks
again and records what it found and healed in ``reconciliation.findings``. Jira's deleted-issue
census (``ENABLE_JIRA_DELTA_RECON=true``) runs here, as the asset ``jira/issue_deletions``, and only here.
"""

import os
from collections.abc import Callable, Iterator

from dagster import AssetExecutionContext, AssetKey, AssetSpec, MaterializeResult, MetadataValue, multi_asset

from assets.reconciliation import census
from assets.reconciliation.compare import DEFAULT_SAMPLE, TableParity, parity, stale_ids
from assets.reconciliation.findings import Finding, record
from assets.reconciliation.heal import mark_deleted, refused_deletes, reread
from assets.reconciliation.vendors import VendorTable, jira_tables, onetrust_tables, servicenow_tables
from pipelines.common.recovery import recovered_pipeline
from pipelines.onetrust.helpers import OneTrustClient, resolve_base_url
from pipelines.onetrust.settings import DEFAULT_REGION
from resources.audit import CORRELATION_TAG, new_correlation_id, record_event
from resources.secrets import SecretStore

GROUP = "reconciliation"
SAMPLE_ENV = "PROJECTX_RECON_SAMPLE"
ISSUE_DELETIONS = AssetKey(["jira", "issue_deletions"])


def sample_size() -> int:
    raw = os.environ.get(SAMPLE_ENV) or str(DEFAULT_SAMPLE)
    try:
        return max(0, int(raw))
    except ValueError:
        raise ValueError(f"{SAMPLE_ENV}={raw!r} is not a number of rows: set e.g. {DEFAULT_SAMPLE}") from None


def onetrust_client_factory(resource) -> Callable[[], OneTrustClient]:
    def make() -> OneTrustClient:
        s = SecretStore(resource.vault_prefix).vendor("onetrust")
        from pipelines.common.http import RetryPolicy

        return OneTrustClient(resolve_base_url(s["region"] or DEFAULT_REGION, s["base_url"]),
                              api_token=s["api_token"], client_id=s["client_id"], client_secret=s["client_secret"],
                              verify=resource.ca_bundle or os.environ.get("REQUESTS_CA_BUNDLE") or True,
                              policy=RetryPolicy(backoff_base_seconds=resource.backoff_base_seconds))
    return make


def vendor_tables(vendor: str, resource) -> list[VendorTable]:
    if vendor == "servicenow":
        return servicenow_tables(resource.client)
    if vendor == "jira":
        ctx = resource.context()  # one client (one OAuth rotation chain) for the whole census
        return jira_tables(lambda: ctx)
    return onetrust_tables(onetrust_client_factory(resource))


def window_source(vendor: str, resource, table: VendorTable, run_id: str):
    """The vendor's own source re-reading one window of one table (the ingestion's code path)."""
    def build(window):
        if vendor == "servicenow":
            from pipelines.servicenow.settings import TABLES

            name = next(t for t, spec in TABLES.items() if spec.resource == table.entity)
            return resource.source(run_id=run_id, tables=[name], window=window)
        return resource.source(run_id=run_id, window=window).with_resources(table.entity)
    return build


def reconcile_vendor(context, vendor: str, resource, warehouse, *, mark_gone: bool = True) -> list[Finding]:
    """Census, heal, verify; returns the findings (also logged)."""
    run_id = context.run_id
    size = sample_size()
    parities = [parity(warehouse, t, sample=size) for t in vendor_tables(vendor, resource)]
    # The vendor's pipeline as its syncs hold it: a sync running meanwhile (a webhook's, or one the
    # run queue did not hold back) is waited for, never wiped or written beside.
    with recovered_pipeline(warehouse.settings, vendor) as run:
        marked = mark_deleted(run.pipeline, vendor, parities, run_id) if mark_gone else 0
        windows = 0
        for p in parities:
            if p.stale or p.census.missing_total:
                windows += reread(run.pipeline, p, window_source(vendor, resource, p.table, run_id))
    context.log.info(f"{vendor}: {marked} deletes marked, {windows} windows re-read")
    return _verify(warehouse, parities, mark_gone)


def _verify(warehouse, parities: list[TableParity], mark_gone: bool) -> list[Finding]:
    """Compare again without asking the vendor for its ids (the census table still holds them)."""
    findings: list[Finding] = []
    with warehouse.connect() as conn:
        for p in parities:
            t, before = p.table, p.census
            after = census.compare(conn, t.vendor, t.entity, t.key)
            still_stale = stale_ids(conn, t, p.stale, p.vendor_rows) if p.stale else []
            counts = {"vendor_count": after.vendor_count, "warehouse_count": after.warehouse_count}
            if before.gone_total:
                detail = ("refused: more than half the table would be marked deleted; check the account's "
                          "read access, then mark by hand" if refused_deletes(p) else
                          "" if mark_gone else "not marked: ENABLE_JIRA_DELTA_RECON is off")
                findings.append(Finding(t.vendor, t.entity, "deleted_at_vendor", before.gone_total,
                                        before.gone_total - after.gone_total, before.gone, **counts, detail=detail))
            if before.missing_total:
                findings.append(Finding(t.vendor, t.entity, "missing_in_warehouse", before.missing_total,
                                        before.missing_total - after.missing_total, before.missing, **counts))
            if p.stale:
                detail = (f"{len(p.redated)} re-dated: the vendor's stamp is older than its last sync, out of "
                          "the cursor's reach (a restore?)" if p.redated else "")
                findings.append(Finding(t.vendor, t.entity, "stale_version", len(p.stale),
                                        len(p.stale) - len(still_stale), p.stale, **counts, detail=detail))
            if after.vendor_count != after.warehouse_count and not (after.gone_total or after.missing_total):
                findings.append(Finding(t.vendor, t.entity, "count_mismatch", 1, 0, [], **counts))
    return findings


def _result(key: AssetKey, findings: list[Finding], tables: int) -> MaterializeResult:
    return MaterializeResult(asset_key=key, metadata={
        "tables_reconciled": MetadataValue.int(tables),
        "found": MetadataValue.int(sum(f.found for f in findings)),
        "healed": MetadataValue.int(sum(f.healed for f in findings)),
        "unhealed": MetadataValue.int(sum(f.unhealed for f in findings)),
        "findings": MetadataValue.json([{**f.__dict__, "example_ids": f.example_ids[:10], "unhealed": f.unhealed}
                                        for f in findings]),
    })


def build_reconciliation_assets():
    """One multi-asset per vendor; Jira's also materializes ``jira/issue_deletions``."""
    out = []
    for vendor in ("servicenow", "jira", "onetrust"):
        key = AssetKey([GROUP, vendor])
        specs = [AssetSpec(key, group_name=GROUP, kinds={vendor, "python"}, description=(
            f"Nightly id census and parity repair of every synced {vendor} table: deletes the delete feed "
            "missed are marked, missing and stale rows re-read; findings in reconciliation.findings."))]
        if vendor == "jira":
            specs.append(AssetSpec(ISSUE_DELETIONS, group_name="jira", kinds={"dlt"}, skippable=True, description=(
                "Issues Jira no longer has, found by the id census (ENABLE_JIRA_DELTA_RECON=true) into "
                "jira.deletions (detected_by 'reconciliation'); run by the nightly job only.")))
        out.append(_vendor_asset(vendor, key, specs))
    return out


def _vendor_asset(vendor: str, key: AssetKey, specs: list[AssetSpec]):
    @multi_asset(name=f"reconcile_{vendor}", specs=specs, pool="warehouse",
                 required_resource_keys={vendor, "warehouse"})
    def _reconcile(context: AssetExecutionContext) -> Iterator[MaterializeResult]:
        resource, warehouse = getattr(context.resources, vendor), context.resources.warehouse
        mark_gone = vendor != "jira"  # Jira's deletes: its own census, behind its flag
        if vendor == "jira" and resource.census_enabled():
            with recovered_pipeline(warehouse.settings, "jira") as run:
                info = run.pipeline.run(resource.source(run_id=context.run_id, census=True)
                                        .with_resources("issue_deletions"), loader_file_format="parquet")
                stats = run.pipeline.state.get("sources", {}).get("jira", {}).get("resources", {}) \
                    .get("issue_deletions", {}).get("last", {})
            yield MaterializeResult(asset_key=ISSUE_DELETIONS, metadata={
                "issues_at_vendor": MetadataValue.int(int(stats.get("vendor", 0))),
                "issues_stored": MetadataValue.int(int(stats.get("stored", 0))),
                "issues_marked_deleted": MetadataValue.int(int(stats.get("deleted", 0))),
                "load": MetadataValue.text(str(info.loads_ids[-1:] or "")),
            })
        elif vendor == "jira":
            context.log.info("Jira deleted-issue census is off (ENABLE_JIRA_DELTA_RECON is not true): "
                             "issues deleted at Jira are reported, not marked")
        findings = reconcile_vendor(context, vendor, resource, warehouse, mark_gone=mark_gone)
        with warehouse.connect() as conn:
            record(conn, context.run_id, findings, in_parity_vendor=vendor)
            record_event(conn, action="reconciliation", system=vendor, operation="census",
                         correlation_id=context.run.tags.get(CORRELATION_TAG) or new_correlation_id(),
                         status="ok", run_id=context.run_id,
                         detail={"found": sum(f.found for f in findings), "healed": sum(f.healed for f in findings),
                                 "unhealed": sum(f.unhealed for f in findings)})
        yield _result(key, findings, len(vendor_tables(vendor, resource)))

    return _reconcile
