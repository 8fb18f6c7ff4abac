"""Round 31: an orphan close a business rule set back or refused is reported by the nightly reconciliation, with
the fix.

Round 30b audited it (``close_orphan_reverted``) and left it out of the count of closed orphans, but nothing in the
ReconcileReport, the asset's metadata or ``reconciliation.findings`` named it: the record stayed open at ServiceNow
and nobody was told why or what to do. Now the report lists it (``reverted_orphans``), its ``fixes`` name the record
(number, sys_id, correlation id) and the fix (close the child tasks), and the finding ``orphan_close_reverted``
(unhealed, so a drift task for the connector's owner) carries that text. A rule that aborts the close (403
"Operation Failed", "aborted by Business Rule") failed the whole night with "the credentials are refused", every
night, and the orphans after it were never looked at: it is now reported the same way, with the rule's words.
End to end against the ServiceNow sandbox.
"""

from __future__ import annotations

import pytest
from dagster import materialize

from assets.reverse_sync.reconcile import findings, reverse_sync_reconciliation
from assets.reverse_sync.servicenow import STATE_OPEN, ServiceNowTaskWriter, remediation_table
from assets.reverse_sync.sn_reverted import ORPHAN_REVERTED
from pipelines.common.http import VendorError
from resources.servicenow import ServiceNowResource
from resources.warehouse import WarehouseResource
from tests import test_reverse_sync_attacks as attacks
from tests.reverse_sync_helpers import query, run, write_outbound
from tests.test_reverse_sync_round22_reconcile import _reconcile
from tests.test_reverse_sync_servicenow import remediation_rows
from tests.test_round30_sn_close_reverted import RULE

ABORT = {"name": "orphans close with an approval", "collection": "task", "active": "true", "when": "before",
         "order": "100", "action_update": "true", "abort_action": "true", "add_message": "true",
         "message": "Closing needs the owner's approval",
         "filter_condition": "stateCHANGESTO3^short_descriptionSTARTSWITHneeds approval^EQ"}

servicenow = attacks.servicenow  # the sandbox fixture


def _orphan_with_open_child(sb, correlation_id: str) -> tuple[dict, dict]:
    table = remediation_table()
    orphan = sb.insert(table, {"short_description": "left by a crashed run", "correlation_id": correlation_id,
                               "correlation_display": "Project X"})
    return orphan, sb.insert(table, {"short_description": "child", "parent": orphan["sys_id"]})


def test_the_report_names_the_reverted_orphan_and_the_fix(servicenow, duckdb_warehouse):
    rows = remediation_rows(2)
    write_outbound(duckdb_warehouse, "servicenow", rows)
    assert run("servicenow").created == 2
    first, _ = _orphan_with_open_child(servicenow, "rem-gone-a")
    second, _ = _orphan_with_open_child(servicenow, "rem-gone-b")
    servicenow.insert("sys_script", RULE)

    night = _reconcile(rows)
    assert night.closed_orphans == []
    assert sorted(night.reverted_orphans) == sorted([first["sys_id"], second["sys_id"]])
    assert night.counts()["reverted_orphans"] == 2 and "fixes" not in night.counts()
    fix = night.fixes[ORPHAN_REVERTED]
    for orphan, corr in ((first, "rem-gone-a"), (second, "rem-gone-b")):
        number = servicenow.get(remediation_table(), orphan["sys_id"])["number"]
        assert f"{number} (sys_id {orphan['sys_id']}, correlation_id {corr}, set back)" in fix
    assert "child tasks" in fix and "next nightly reconciliation" in fix

    [finding] = [f for f in findings(night) if f.kind == ORPHAN_REVERTED]
    assert finding.unhealed == 2 and finding.healed == 0 and finding.detail == fix
    assert sorted(finding.example_ids) == sorted(night.reverted_orphans)


def test_the_asset_writes_an_unhealed_finding_and_the_fix_then_closes_it_next_night(servicenow, duckdb_warehouse):
    rows = remediation_rows(1)
    write_outbound(duckdb_warehouse, "servicenow", rows)
    assert run("servicenow").created == 1
    orphan, child = _orphan_with_open_child(servicenow, "rem-gone-since")
    servicenow.insert("sys_script", RULE)
    resources = {"servicenow": ServiceNowResource(backoff_base_seconds=0.0),
                 "warehouse": WarehouseResource.from_env()}

    result = materialize([reverse_sync_reconciliation], resources=resources)
    meta = result.asset_materializations_for_node(reverse_sync_reconciliation.op.name)[0].metadata
    assert meta["reverted_orphans"].value == 1 and meta["closed_orphans"].value == 0
    assert orphan["sys_id"] in meta[f"fix_{ORPHAN_REVERTED}"].value
    [(found, healed, unhealed, examples, detail, runbook)] = query(
        duckdb_warehouse, "select found, healed, unhealed, example_ids, detail, runbook_id from "
                          f"reconciliation.findings where kind = '{ORPHAN_REVERTED}'")
    assert (found, healed, unhealed, examples, runbook) == (1, 0, 1, orphan["sys_id"], "RB-002")
    assert "child tasks" in detail and "rem-gone-since" in detail
    assert servicenow.get(remediation_table(), orphan["sys_id"])["state"] == STATE_OPEN

    servicenow.update(remediation_table(), child["sys_id"], {"state": "3"})  # a person follows the fix
    again = materialize([reverse_sync_reconciliation], resources=resources)
    meta = again.asset_materializations_for_node(reverse_sync_reconciliation.op.name)[0].metadata
    assert meta["reverted_orphans"].value == 0 and meta["closed_orphans"].value == 1
    assert f"fix_{ORPHAN_REVERTED}" not in meta
    kinds = query(duckdb_warehouse, "select kind, found, unhealed from reconciliation.findings "
                                    f"where run_id = '{again.run_id}' order by kind")
    assert kinds == [(ORPHAN_REVERTED, 0, 0), ("orphan_closed", 1, 0)]  # the clean night supersedes the last


def test_an_orphan_closed_by_hand_closes_the_drift_task_the_next_night(servicenow, duckdb_warehouse):
    """The fix text offers "close it by hand": the next night finds no orphan and heals nothing, yet its zero row
    of ``orphan_close_reverted`` is the latest of the reverse-sync producer, so no drift task stays open."""
    rows = remediation_rows(1)
    write_outbound(duckdb_warehouse, "servicenow", rows)
    assert run("servicenow").created == 1
    orphan, _ = _orphan_with_open_child(servicenow, "rem-by-hand")
    rule = servicenow.insert("sys_script", RULE)
    resources = {"servicenow": ServiceNowResource(backoff_base_seconds=0.0),
                 "warehouse": WarehouseResource.from_env()}
    first = materialize([reverse_sync_reconciliation], resources=resources)
    status = query(duckdb_warehouse, "select status from audit.events where operation = 'close_orphan_reverted'")
    assert status == [("reverted",)]  # not "ok": the vendor did not keep the write

    servicenow.delete("sys_script", rule["sys_id"])
    servicenow.update(remediation_table(), orphan["sys_id"], {"state": "3"})  # closed by hand at ServiceNow
    again = materialize([reverse_sync_reconciliation], resources=resources)
    latest = query(duckdb_warehouse, "select run_id, unhealed from reconciliation.findings where "
                                     f"kind = '{ORPHAN_REVERTED}' order by detected_at desc, run_id desc limit 1")
    assert latest == [(again.run_id, 0)] and again.run_id != first.run_id
    drift = query(duckdb_warehouse, """
        with f as (select *, first_value(run_id) over (partition by vendor order by detected_at desc, run_id desc)
                   as last_run from reconciliation.findings where left(kind, 7) = 'orphan_' or left(kind, 5) = 'link_')
        select count(*) from f where run_id = last_run and unhealed > 0""")
    assert drift == [(0,)]


def test_an_orphan_deleted_between_the_read_and_the_close_is_skipped_and_the_night_goes_on(
        servicenow, duckdb_warehouse):
    rows = remediation_rows(1)
    write_outbound(duckdb_warehouse, "servicenow", rows)
    assert run("servicenow").created == 1
    table = remediation_table()
    gone, kept = (servicenow.insert(table, {"short_description": f"orphan {n}", "correlation_id": corr,
                                            "correlation_display": "Project X"})
                  for n, corr in ((1, "rem-vanish-1"), (2, "rem-vanish-2")))
    real_close = ServiceNowTaskWriter.close

    def close_after_a_delete(self, vendor_id):
        if vendor_id == gone["sys_id"]:
            servicenow.delete(table, vendor_id)  # someone deletes it at ServiceNow after the page was read
        return real_close(self, vendor_id)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(ServiceNowTaskWriter, "close", close_after_a_delete)
        night = _reconcile(rows)
    assert night.closed_orphans == [kept["sys_id"]] and night.reverted_orphans == []
    assert servicenow.get(table, kept["sys_id"])["state"] == "3"
    assert query(duckdb_warehouse, "select object_id from audit.events where operation = 'close_orphan_gone'") \
        == [("rem-vanish-1",)]


def test_a_close_a_business_rule_refuses_is_reported_and_the_other_orphans_are_still_closed(
        servicenow, duckdb_warehouse):
    rows = remediation_rows(1)
    write_outbound(duckdb_warehouse, "servicenow", rows)
    assert run("servicenow").created == 1
    table = remediation_table()
    made = [servicenow.insert(table, {"short_description": text, "correlation_id": corr,
                                      "correlation_display": "Project X"})
            for text, corr in (("needs approval 1", "rem-gone-1"), ("plain orphan", "rem-gone-2"),
                               ("needs approval 2", "rem-gone-3"))]
    servicenow.insert("sys_script", ABORT)

    night = _reconcile(rows)  # it stopped at the first refused close with "the credentials are refused"
    refused = sorted([made[0]["sys_id"], made[2]["sys_id"]])
    assert sorted(night.reverted_orphans) == refused and night.closed_orphans == [made[1]["sys_id"]]
    assert servicenow.get(table, made[1]["sys_id"])["state"] == "3"
    assert all(servicenow.get(table, s)["state"] == STATE_OPEN for s in refused)
    fix = night.fixes[ORPHAN_REVERTED]
    assert fix.count("refused: ") == 2 and "Closing needs the owner's approval" in fix
    assert "credentials" not in fix
    audited = query(duckdb_warehouse, "select object_id from audit.events where action = 'reconciliation' "
                                      "and operation = 'close_orphan_refused' order by object_id")
    assert audited == [("rem-gone-1",), ("rem-gone-3",)]
    [finding] = [f for f in findings(night) if f.kind == ORPHAN_REVERTED]
    assert finding.unhealed == 2


def test_an_account_wide_refusal_still_stops_the_night(servicenow, duckdb_warehouse):
    """Not about one record (every write refused with an ACL 403): raised as before, no orphan reported."""
    rows = remediation_rows(1)
    write_outbound(duckdb_warehouse, "servicenow", rows)
    assert run("servicenow").created == 1
    servicenow.insert(remediation_table(), {"short_description": "orphan", "correlation_id": "rem-gone-acl",
                                            "correlation_display": "Project X"})
    servicenow.faults.replace(rate_403=1.0, methods=("POST", "PATCH", "PUT", "DELETE"))
    with pytest.raises(VendorError, match="403") as raised:
        _reconcile(rows)
    assert "refused: " not in str(raised.value)
    assert query(duckdb_warehouse, "select count(*) from audit.events where operation = 'close_orphan_refused'") \
        == [(0,)]
