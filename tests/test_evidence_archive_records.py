"""Archival of warehouse records (issue 13 Deliver 5): OneTrust PIA snapshots and the payloads vendor
pipelines rejected become evidence files in the configured store, once each; the file holds what the
warehouse holds (the PIA's answers; the raw rejected record and its reason)."""

from __future__ import annotations

import json

from pipelines.common.http import RetryPolicy
from pipelines.onetrust import onetrust_source
from resources.evidence.archive_records import archive_warehouse_records
from resources.warehouse import WarehouseResource
from tests.evidence.library import make_library


def test_pia_snapshots_and_rejected_payloads_are_archived_once(make_onetrust_sandbox, duckdb_warehouse, tmp_path):
    sb = make_onetrust_sandbox(size=40)
    sb.faults.set(rate_malformed=0.15)
    creds = sb.credentials
    source = onetrust_source(base_url=sb.url, client_id=creds["client_id"], client_secret=creds["client_secret"],
                             verify=sb.ca_bundle or True, run_id="run-archive-1",
                             policy=RetryPolicy(backoff_base_seconds=0.01, backoff_max_seconds=0.05))
    duckdb_warehouse.pipeline("onetrust").run(source, loader_file_format="parquet")
    with WarehouseResource.from_env().connect() as conn:
        pias = {r["assessment_id"]: r["n"] for r in conn.query(
            "select a.assessment_id, count(r._dlt_id) as n from onetrust.assessments as a left join "
            "onetrust.assessments__responses as r on r._dlt_parent_id = a._dlt_id where a.template_type = 'PIA' "
            "group by a.assessment_id")}
        rejected = conn.query("select entity, record_id, reason from onetrust.quarantine")
    assert pias and rejected

    lib = make_library(tmp_path, None, require_scan=False)
    outcomes = archive_warehouse_records(lib)
    assert all(o.status == "stored" for o in outcomes)
    snapshots = [o for o in outcomes if "pia-snapshot" in o.tags]
    payloads = [o for o in outcomes if "rejected-payload" in o.tags]
    assert len(snapshots) == len(pias) and len(payloads) == len(rejected)
    for o in snapshots:
        body = json.loads(lib.store.get(o.sha256))
        assert body["kind"] == "onetrust_pia_snapshot" and body["assessment"]["template_type"] == "PIA"
        assert len(body["responses"]) == pias[body["assessment"]["assessment_id"]]
        assert f"assessment:{body['assessment']['assessment_id']}" in o.tags and o.source == "onetrust"
    reasons = sorted(r["reason"] for r in rejected)
    bodies = [json.loads(lib.store.get(o.sha256)) for o in payloads]
    assert sorted(b["reason"] for b in bodies) == reasons
    assert all(b["record"] and b["run_id"] == "run-archive-1" for b in bodies)
    assert lib.store.head(payloads[0].sha256).metadata["tags"].startswith("source:onetrust,rejected-payload,entity:")

    assert archive_warehouse_records(lib) == []  # nothing twice
