"""Round 28: reverse sync attacked again over HTTP against the vendor sandboxes."""

from __future__ import annotations

from tests import test_reverse_sync_attacks as attacks
from tests.reverse_sync_helpers import jira_rows, query, run, write_outbound, writes

servicenow, jira, onetrust = attacks.servicenow, attacks.jira, attacks.onetrust  # the sandbox fixtures


def _links(settings, vendor: str) -> dict[str, str]:
    return dict(query(settings, f"select internal_id, vendor_id from reverse_sync.external_links "
                                f"where vendor = '{vendor}'"))


def _issue(sb, issue_id: str) -> dict:
    return next(i for i in sb.issues() if str(i["id"]) == str(issue_id))


def test_a_jira_side_status_and_due_date_survive_every_later_project_x_change(jira, duckdb_warehouse):
    rows = jira_rows(1)
    write_outbound(duckdb_warehouse, "jira", rows)
    run("jira")
    issue_id = _links(duckdb_warehouse, "jira")["rem-00000"]
    key = _issue(jira, issue_id)["key"]
    jira.edit_as(key, {"status": "Done", "duedate": "2027-03-01"})  # a person, in Jira
    for n, text in enumerate(["first change", "second change", "third change"]):
        write_outbound(duckdb_warehouse, "jira", [{**rows[0], "description": text}])
        jira.clear_request_log()
        report = run("jira", run_id=f"px-{n}")
        assert report.updated == 1 and report.dead_lettered == 0, report.failures
        fields = _issue(jira, issue_id)["fields"]
        assert fields["status"]["statusCategory"]["key"] == "done", f"change {n}: Jira wins the status"
        assert fields["duedate"] == "2027-03-01", f"change {n}: only Jira changed the due date"
        assert not [w for w in writes(jira) if w["path"].endswith("/transitions")]


# --- ServiceNow refusing one record with 403 (an ACL, a business rule that aborts the write) ---------------------

def test_a_servicenow_403_about_one_record_is_its_dead_letter_with_the_reason_and_opens_no_breaker(
        servicenow, duckdb_warehouse):
    from assets.reverse_sync.servicenow import remediation_table
    from tests.test_reverse_sync_servicenow import remediation_rows

    rows = remediation_rows(8)
    write_outbound(duckdb_warehouse, "servicenow", rows)
    assert run("servicenow").created == 8
    # an admin's business rule refuses any update that names "frozen" (the instance answers 403)
    servicenow.insert("sys_script", {"name": "Freeze remediation text", "collection": remediation_table(),
                                     "when": "before", "order": "100", "abort_action": "true", "action_update": "true",
                                     "filter_condition": "short_descriptionLIKEfrozen"})
    changed = [{**r, "short_description": r["short_description"] + (" frozen" if i < 6 else " moved")}
               for i, r in enumerate(rows)]
    write_outbound(duckdb_warehouse, "servicenow", changed)
    report = run("servicenow", circuit_breakers=True, breaker_threshold=3, concurrency=1)
    assert report.updated == 2 and report.dead_lettered == 6 and report.paused_circuit_open == 0, report.failures
    assert report.breaker_state == "closed", "a refusal about one record says nothing about ServiceNow's health"
    dead = attacks._dead(duckdb_warehouse, "servicenow")
    assert len(dead) == 6 and all("Freeze remediation text" in e for e in dead.values()), dead
    assert not any("credentials are refused" in e for e in dead.values())
    # the rule is lifted: the next push writes the six, once each
    servicenow.clear_request_log()
    rule = next(r for r in servicenow.records("sys_script") if r["name"] == "Freeze remediation text")
    servicenow.update("sys_script", rule["sys_id"], {"active": "false"})
    again = run("servicenow", circuit_breakers=True, breaker_threshold=3)
    assert again.updated == 6 and again.dead_lettered == 0 and attacks._dead(duckdb_warehouse, "servicenow") == {}
    assert len([w for w in writes(servicenow) if w["method"] == "PATCH"]) == 6
