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
