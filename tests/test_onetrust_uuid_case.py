"""OneTrust ids stored upper-cased by loads from before ids were lower-cased at extraction.

OneTrust ids are UUIDs, case-insensitive. Since ``pipelines.onetrust.rows.uuid_key`` every id is
stored lower-cased, but a warehouse loaded earlier from a tenant that served them upper-cased still
holds those rows under their upper-case ids, and dlt merges on the exact string: the same record then
lives twice in ``onetrust.<entity>`` (the old upper-case row and its lower-case twin), and a full pass
records the upper-case spelling as deleted (it is not in the listing any more). Staging keeps one row
per record (the newest by OneTrust's modified time, then the later load), keyed lower-case; a delete
recorded under the old spelling applies only to the old row; the incremental ``tasks`` mart, which
still holds tasks keyed by the old spelling, ends with one task per record.
"""

from __future__ import annotations

import time
from collections import Counter

import duckdb

from tests.dbt_helpers import dbt
from tests.test_ingestion_hostile_more import RISKS_LIST, VENDORS_LIST, _ot_rewrite, _ot_sync, _rows

ENTITIES = ("risks", "vendors", "vendor_assessments")


def _upper(value):
    return value.upper() if isinstance(value, str) else value


def _shout(req, body):
    """What the old tenant served: every risk and vendor id, and the UUIDs they point to, upper-cased."""
    for record in body.get("content") or body.get("data") or []:
        if "id" in record:
            record["id"] = _upper(record["id"])
        if isinstance(record.get("riskOwnersId"), list):
            record["riskOwnersId"] = [_upper(v) for v in record["riskOwnersId"]]
        for part in ("orgGroup", "owner", "organization", "source"):
            if isinstance(record.get(part), dict) and "id" in record[part]:
                record[part]["id"] = _upper(record[part]["id"])
        details = record.get("primaryInventoryDetails")
        if isinstance(details, dict):
            details["primaryInventoryId"] = _upper(details.get("primaryInventoryId"))


def _old_load(sb, warehouse, monkeypatch) -> None:
    """A load by the code from before ids were canonicalised: ids stored as OneTrust served them."""
    from pipelines.onetrust import rows, sync

    with monkeypatch.context() as old:
        old.setattr(rows, "uuid_key", lambda value: value)
        old.setattr(sync, "uuid_key", lambda value: value)
        for path in (RISKS_LIST, VENDORS_LIST, "/api/assessment/v2/assessments"):
            _ot_rewrite(sb, path, _shout)
        _ot_sync(warehouse, sb, entities=ENTITIES)
    sb.rewrite_responses(None)


def _build(warehouse, tmp_path) -> None:
    """Build up to the tasks mart, with the tests of what is built (the OneTrust staging models' unique
    keys among them); Jira is not synced and ServiceNow only in part here: their source tests are left out."""
    built = dbt(warehouse, tmp_path / "target", "build", "-s", "+tasks", "--exclude", "source:jira",
                "source:servicenow", "--indirect-selection", "cautious")
    assert built.returncode == 0, built.stdout[-4000:]


def _legacy_marts(warehouse) -> None:
    """The tasks mart as staging built it before it lower-cased ids: OneTrust tasks keyed by the id as
    stored (here upper-case), kept there by the incremental merge however staging keys them now."""
    with duckdb.connect(warehouse.duckdb_path) as con:
        con.execute("update marts.tasks set task_id = replace(task_id, source_record_id, upper(source_record_id)), "
                    "source_record_id = upper(source_record_id) where source_system = 'onetrust'")
        assert con.execute("select count(*) from marts.tasks where source_system = 'onetrust' "
                           "and task_id <> lower(task_id)").fetchone()[0] > 0


def _staged(warehouse, model: str, key: str) -> dict[str, tuple]:
    rows = _rows(warehouse, f"select {key}, updated_at, is_deleted from staging.{model}")
    counts = Counter(r[0] for r in rows)
    assert [k for k, n in counts.items() if n > 1] == [], f"{model} holds a record twice"
    return {r[0]: (r[1].strftime("%Y-%m-%dT%H:%M:%S"), r[2]) for r in rows}


def _check(sb, warehouse, deleted: frozenset[str] = frozenset()) -> None:
    def vendor(records, stamp):
        return {r["id"].lower(): (r[stamp][:19], r["id"].lower() in deleted) for r in records}

    risks = _staged(warehouse, "stg_onetrust__risks", "risk_id")
    assert risks == vendor(sb.risks(), "lastModifiedUTCDateTime") | {d: (risks[d][0], True) for d in deleted}
    live_vendors = [r for r in sb.vendors() if not r.get("markForDelete")]
    assert _staged(warehouse, "stg_onetrust__vendors", "vendor_id") == vendor(live_vendors, "lastUpdatedDate")
    pairs = _rows(warehouse, "select assessment_id, vendor_id from staging.stg_onetrust__vendor_assessments")
    assert pairs and all(v == v.lower() for _, v in pairs) and {v for _, v in pairs} <= set(
        _staged(warehouse, "stg_onetrust__vendors", "vendor_id"))
    tasks = _rows(warehouse, "select task_id, source_record_id, status from marts.tasks "
                             "where source_system = 'onetrust' and task_type = 'vendor_follow_up'")
    assert tasks and len(tasks) == len({t[0] for t in tasks})
    assert all(rid == rid.lower() and rid in risks for _, rid, _ in tasks)
    assert {rid for _, rid, status in tasks if status == "closed"} >= deleted & {rid for _, rid, _ in tasks}


def test_upper_case_ids_from_an_old_load_merge_with_their_lower_case_twins(make_onetrust_sandbox, duckdb_warehouse,
                                                                          make_servicenow_sandbox, monkeypatch,
                                                                          tmp_path):
    from tests.test_servicenow_source import _source as servicenow_source

    # the tasks mart stacks ServiceNow's tasks too: its staging needs its tables
    duckdb_warehouse.pipeline("servicenow").run(servicenow_source(make_servicenow_sandbox(size=5), attachments=False),
                                                loader_file_format="parquet")
    sb = make_onetrust_sandbox(size=30)
    _old_load(sb, duckdb_warehouse, monkeypatch)
    stored = [r[0] for r in _rows(duckdb_warehouse, "select risk_id from onetrust.risks")]
    assert stored and all(rid == rid.upper() for rid in stored)  # the old load's rows, as they are in the field
    _build(duckdb_warehouse, tmp_path)
    _legacy_marts(duckdb_warehouse)

    # Changes only: the changed records load lower-cased beside their upper-case rows; the rest stay
    # upper-case only. Staging: one row per record, keyed lower-case, with the newest values.
    sb.touch("risks", n=6)
    sb.touch("vendors", n=4)
    time.sleep(1.05)
    _ot_sync(duckdb_warehouse, sb, entities=ENTITIES, reconcile=False)
    raw = _rows(duckdb_warehouse, "select risk_id from onetrust.risks")
    assert len(raw) > len({r[0].lower() for r in raw})  # the twins are there, raw is left as loaded
    _build(duckdb_warehouse, tmp_path)
    _check(sb, duckdb_warehouse)

    # A full pass loads every twin and records the upper-case spellings as deleted (missing from the
    # listing): that delete belongs to the old row, not to the record.
    sb.touch("risks", n=3)
    time.sleep(1.05)
    _ot_sync(duckdb_warehouse, sb, entities=ENTITIES)
    _build(duckdb_warehouse, tmp_path)
    _check(sb, duckdb_warehouse)

    # A record really deleted at OneTrust is flagged, and its task closed.
    gone = sb.risks()[0]["id"].lower()
    sb.delete("risks", [gone])
    time.sleep(1.05)
    _ot_sync(duckdb_warehouse, sb, entities=ENTITIES)
    _build(duckdb_warehouse, tmp_path)
    _check(sb, duckdb_warehouse, deleted=frozenset({gone}))
    _build(duckdb_warehouse, tmp_path)  # idempotent: building again changes nothing
    _check(sb, duckdb_warehouse, deleted=frozenset({gone}))
