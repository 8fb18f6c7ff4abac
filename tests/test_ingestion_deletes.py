"""Delete edge cases (issue 18, class 3): decided by the vendor's state and times, never by load order.

- ServiceNow: records deleted and re-created with the same sys_id between two syncs, in the same
  second, are live; deleted, re-created and deleted again, they are deleted.
- OneTrust: deleted, restored, deleted again: deleted. One listed record with an unusable id does not
  switch delete capture off: the other deletes are still marked.
- dbt staging agrees with the raw tables (is_deleted).
"""

from __future__ import annotations

import pytest

from tests.conftest import onetrust_env, sandbox_env
from tests.dbt_helpers import dbt
from tests.ingestion_harness import (
    OT_RISKS,
    OT_VENDORS,
    SN_INCIDENTS,
    assert_parity,
    marked_deleted,
    sql,
    sync,
    wait_a_second,
)


def _recreate(sb, sys_ids: list[str]) -> None:
    """Delete and re-create with the same sys_id, at once (the same second)."""
    records = {sid: sb.get("incident", sid) for sid in sys_ids}
    sb.delete("incident", sys_ids)
    for sid, rec in records.items():
        sb.insert("incident", {"sys_id": sid, "short_description": rec["short_description"] + " (re-created)"})


@pytest.mark.parametrize("via", ["cli", "dagster"])
def test_servicenow_delete_and_recreate_with_the_same_sys_id_stays_live(via, make_servicenow_sandbox,
                                                                       monkeypatch, duckdb_warehouse, tmp_path):
    sb = make_servicenow_sandbox(size=80)
    sandbox_env(monkeypatch, sb)
    sync("servicenow", via)
    ids = [r["sys_id"] for r in sb.records("incident")]
    recreated, twice, gone = ids[:10], ids[10:14], ids[14:17]
    _recreate(sb, recreated)
    _recreate(sb, twice)
    sb.delete("incident", gone)
    sync("servicenow", via)
    assert not marked_deleted(duckdb_warehouse, SN_INCIDENTS) & set(recreated + twice)
    assert marked_deleted(duckdb_warehouse, SN_INCIDENTS) >= set(gone)
    assert_parity(sb, duckdb_warehouse, SN_INCIDENTS)

    # Deleted once more after being re-created: now deleted. And a deleted record re-created later:
    # its recorded delete is withdrawn.
    wait_a_second()
    sb.delete("incident", twice)
    sb.insert("incident", {"sys_id": gone[0], "short_description": "back again"})
    sync("servicenow", via)
    assert marked_deleted(duckdb_warehouse, SN_INCIDENTS) >= set(twice)
    assert gone[0] not in marked_deleted(duckdb_warehouse, SN_INCIDENTS)
    assert_parity(sb, duckdb_warehouse, SN_INCIDENTS)

    if via == "cli":  # staging flags exactly what the vendor no longer has
        built = dbt(duckdb_warehouse, tmp_path / "target", "build", "-s", "+stg_servicenow__incidents")
        assert built.returncode == 0, built.stdout[-3000:]
        flagged = {r[0] for r in sql(duckdb_warehouse, "select incident_id from staging.stg_servicenow__incidents "
                                                       "where is_deleted")}
        live = {r["sys_id"] for r in sb.records("incident")}
        staged = {r[0] for r in sql(duckdb_warehouse, "select incident_id from staging.stg_servicenow__incidents")}
        assert staged - flagged == live
        assert flagged == set(twice) | set(gone[1:])


def test_onetrust_delete_restore_delete_ends_deleted(make_onetrust_sandbox, monkeypatch, duckdb_warehouse):
    sb = make_onetrust_sandbox(size=40)
    onetrust_env(monkeypatch, sb)
    sync("onetrust", "cli")
    risks = sb.risks()[:8]
    vendors = sb.vendors()[:3]
    sb.delete("risks", [r["id"] for r in risks])
    sb.delete("vendors", [v["id"] for v in vendors])
    sync("onetrust", "cli")
    assert marked_deleted(duckdb_warehouse, OT_RISKS) >= {r["id"] for r in risks}
    wait_a_second()
    with sb.store.lock:  # restored at the vendor (same ids)
        for r in risks:
            sb.store.save("risks", dict(r))
        for v in vendors:
            sb.store.save("vendors", dict(v))
    sync("onetrust", "dagster")
    for entity in (OT_RISKS, OT_VENDORS):
        assert_parity(sb, duckdb_warehouse, entity)
    sb.delete("risks", [r["id"] for r in risks])  # and deleted again
    sb.delete("vendors", [v["id"] for v in vendors])
    sync("onetrust", "cli")
    assert marked_deleted(duckdb_warehouse, OT_RISKS) >= {r["id"] for r in risks}
    assert marked_deleted(duckdb_warehouse, OT_VENDORS) >= {v["id"] for v in vendors}
    for entity in (OT_RISKS, OT_VENDORS):
        assert_parity(sb, duckdb_warehouse, entity)


@pytest.mark.parametrize("via", ["cli", "dagster"])
def test_onetrust_one_malformed_id_does_not_switch_off_delete_capture(via, make_onetrust_sandbox, monkeypatch,
                                                                     duckdb_warehouse):
    from sandbox.onetrust.pages import MALFORMED_VARIANTS

    sb = make_onetrust_sandbox(size=60)
    onetrust_env(monkeypatch, sb)
    sync("onetrust", via)
    rate = 0.05
    sb.faults.set(rate_malformed=rate)

    def blank_id(kind: str, rid: str) -> bool:
        return sb.faults.malformed_variant(f"{kind}:{rid}", MALFORMED_VARIANTS) == 2

    assert any(blank_id("risk", r["id"]) for r in sb.risks()), "the seed should give a risk a blank id"
    clean = lambda kind, rows: [r["id"] for r in rows if sb.faults.malformed_variant(f"{kind}:{r['id']}",  # noqa: E731
                                                                                     MALFORMED_VARIANTS) is None]
    risks, vendors = clean("risk", sb.risks())[:6], clean("vendor", sb.vendors())[:4]
    sb.delete("risks", risks)
    sb.delete("vendors", vendors)
    sync("onetrust", via)
    assert marked_deleted(duckdb_warehouse, OT_RISKS) >= set(risks)
    assert marked_deleted(duckdb_warehouse, OT_VENDORS) >= set(vendors)
    # Nothing alive is marked deleted, the blank-id record included.
    assert not marked_deleted(duckdb_warehouse, OT_RISKS) & {r["id"] for r in sb.risks()}
    assert not marked_deleted(duckdb_warehouse, OT_VENDORS) & {v["id"] for v in sb.vendors()}


@pytest.mark.parametrize("via", ["cli", "dagster"])
def test_onetrust_assessment_deleted_and_restored_in_the_same_second_stays_live(via, make_onetrust_sandbox,
                                                                                monkeypatch, duckdb_warehouse):
    """The delete log still lists the delete, stamped in the very second the assessment came back:
    no time comparison can order the two, so the log's delete must not be recorded for a record that
    exists (asked for by id). Deleted ones that stay deleted are still marked."""
    sb = make_onetrust_sandbox(size=40)
    onetrust_env(monkeypatch, sb)
    sync("onetrust", via)
    records = sb.assessments()[:6]
    restored, gone = records[:4], records[4:]
    with sb.store.lock:  # deleted and restored at once (the same second)
        sb.store.delete("assessments", [a["assessmentId"] for a in records])
        for a in restored:
            sb.store.save("assessments", dict(a))
    sync("onetrust", via)
    marked = {r[0] for r in sql(duckdb_warehouse, "select record_id from onetrust.deletions "
                                                  "where entity = 'assessments'")}
    assert marked >= {a["assessmentId"] for a in gone}
    assert not marked & {a["assessmentId"] for a in restored}
    vendor = {a["assessmentId"]: a["lastUpdated"] for a in sb.assessments()}
    stored = {k: v for k, v in sql(duckdb_warehouse, "select assessment_id, updated_at from onetrust.assessments")
              if k not in marked}
    assert stored == vendor
