"""The whole loop through Dagster: a control fails -> remediation task -> Jira issue -> closed in
Jira by a person -> ingested -> task closed -> the control's attestation in OneTrust says so."""

from __future__ import annotations

import pytest

from tests.reverse_sync_helpers import query, run, writes
from tests.test_end_to_end import _metadata, _run_full_sync

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]


def test_remediations_closed_in_jira_and_in_servicenow_close_their_tasks_and_update_the_attestations(
        vendors, duckdb_warehouse):
    """The loop for both vendors in one cycle (each was its own test, two full syncs each, ~25 s a build):
    a remediation closed in Jira, and one closed in ServiceNow (its remediation table ingested back, the
    record's Closed Complete state closes the task, vendor wins for status); OneTrust's attestation of
    each control says so. Jira-routed and ServiceNow-routed controls differ, so each attestation moves once."""
    from assets.reverse_sync.servicenow import STATE_CLOSED, remediation_table

    sandbox, jira, onetrust = vendors(size=200)
    first = _run_full_sync()
    outbound = query(duckdb_warehouse, "select remediation_task_id, control_id from outbound.jira_remediation_issues "
                                       "order by remediation_task_id")
    assert len(outbound) >= 2, "the seeded data must make some Jira-routed controls fail"
    pushed = _metadata(first, "reverse_sync/jira_remediation_issues")
    assert pushed["created"] == len(outbound) and pushed["dead_lettered"] == 0
    links = dict(query(duckdb_warehouse, "select internal_id, vendor_number from reverse_sync.external_links "
                                         "where vendor = 'jira'"))
    attested = _metadata(first, "reverse_sync/onetrust_control_attestations")
    assert attested["created"] > 0 and attested["dead_lettered"] == 0
    sn_outbound = query(duckdb_warehouse, "select remediation_task_id, control_id from "
                                          "outbound.servicenow_remediation_tasks order by remediation_task_id")
    assert len(sn_outbound) >= 2, "the seeded data must make some ServiceNow-routed controls fail"
    assert _metadata(first, "reverse_sync/servicenow_remediation_tasks")["created"] == len(sn_outbound)
    sn_links = dict(query(duckdb_warehouse, "select internal_id, vendor_id from reverse_sync.external_links "
                                            "where vendor = 'servicenow'"))

    task_id, control_id = outbound[0]
    jira.edit_as(links[task_id], {"status": "Done"})  # a person finishes the remediation in Jira
    jira.comment_as(links[task_id], "Approval recorded retroactively; CAB minutes attached to CHG.")
    jira.comment_as(links[task_id], "Project X updated this issue: duedate", actor=jira.store.me.account_id)
    given_up = outbound[-1][0]  # closed as Won't Do: nothing remediated, the task stays open
    jira.edit_as(links[given_up], {"status": "Done"})
    jira.edit_as(links[given_up], {"resolution": "Won't Do"})

    sn_task_id, sn_control_id = sn_outbound[0]
    assert {sn_control_id} & {c for _, c in outbound} == set(), "a control is routed to one vendor"
    assert query(duckdb_warehouse, f"select status from marts.tasks where task_id = '{sn_task_id}'") == [("open",)]
    sandbox.update(remediation_table(), sn_links[sn_task_id], {"state": STATE_CLOSED})  # done at ServiceNow
    sn_given_up = sn_outbound[-1][0]  # Closed Incomplete: nothing remediated, the task stays open
    sandbox.update(remediation_table(), sn_links[sn_given_up], {"state": "4"})
    jira.clear_request_log()
    sandbox.clear_request_log()
    before = {a["externalId"]: a for a in onetrust.attestations() if a.get("source") == "Project X"}

    second = _run_full_sync()
    # Jira
    status = query(duckdb_warehouse, f"select status, source_system from marts.tasks where task_id = '{task_id}'")
    assert status == [("closed", "jira")], "the remediation closed in Jira is closed in Project X"
    # Resolution and comments come back too; the integration's own comment is not a Jira-side one.
    back = query(duckdb_warehouse, f"""select vendor_resolution, vendor_comment_count, last_vendor_comment_excerpt,
        last_vendor_comment_at is not null from marts.tasks where task_id = '{task_id}'""")
    assert back == [("Done", 1, "Approval recorded retroactively; CAB minutes attached to CHG.", True)]
    # One rule for both vendors: a vendor record closes its task only when the work was done, so
    # Jira's Won't Do leaves the task open, as ServiceNow's Closed Incomplete does.
    assert query(duckdb_warehouse, f"select status, vendor_resolution, vendor_comment_count from marts.tasks "
                                   f"where task_id = '{given_up}'") == [("open", "Won't Do", 0)]
    assert query(duckdb_warehouse, """select count(vendor_resolution), count(vendor_comment_count),
        count(last_vendor_comment_at), count(last_vendor_comment_excerpt) from marts.tasks
        where task_type != 'control_remediation'""") == [(0, 0, 0, 0)], "other tasks carry no vendor summary"
    assert writes(jira) == [], "the issue Jira closed is not reopened or touched again (Jira wins the status)"
    assert _metadata(second, "reverse_sync/jira_remediation_issues")["writes"] == 0
    # ServiceNow
    assert _metadata(second, "servicenow/remediation_tasks")["rows_loaded"] == len(sn_outbound)
    status = query(duckdb_warehouse, f"select status, source_system from marts.tasks where task_id = '{sn_task_id}'")
    assert status == [("closed", "servicenow")], "the remediation closed in ServiceNow is closed in Project X"
    assert query(duckdb_warehouse, f"select status, vendor_resolution, vendor_comment_count from marts.tasks "
                                   f"where task_id = '{sn_given_up}'") == [("open", "Closed Incomplete", None)]
    assert query(duckdb_warehouse, f"select vendor_resolution from marts.tasks where task_id = '{sn_task_id}'") == [
        ("Closed Complete",)]
    assert writes(sandbox) == [], "the record ServiceNow closed is not reopened or touched (vendor wins the status)"
    assert _metadata(second, "reverse_sync/servicenow_remediation_tasks")["writes"] == 0
    assert sandbox.get(remediation_table(), sn_links[sn_task_id])["state"] == STATE_CLOSED

    # OneTrust: each control's current attestation moved once and says so.
    after = {a["externalId"]: a for a in onetrust.attestations() if a.get("source") == "Project X"}
    for control in (control_id, sn_control_id):
        current = query(duckdb_warehouse, f"""
            select attestation_id, remediation_tasks_closed, onetrust_result from outbound.onetrust_control_attestations
            where control_id = '{control}' and not is_period_closed""")
        assert current and current[0][1] >= 1, control
        att = after[current[0][0]]
        assert att["id"] == before[current[0][0]]["id"] and att["version"] == before[current[0][0]]["version"] + 1
        assert "remediation tasks closed at the vendor" in att["comment"] and att["result"] == current[0][2]

    for vendor in ("jira", "onetrust", "servicenow"):  # and again: nothing changed, nothing written
        assert run(vendor, run_id=f"again-{vendor}").writes == 0, vendor
