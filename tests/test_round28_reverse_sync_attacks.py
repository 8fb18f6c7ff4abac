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


# --- OneTrust periods held as instants with an offset ---------------------------------------------------------------

def test_onetrust_periods_read_in_a_non_utc_session_time_zone_are_sent_as_the_same_instant(
        onetrust, duckdb_warehouse, monkeypatch):
    import duckdb

    from pipelines.common.cursor import parse_vendor_ts
    from tests.reverse_sync_helpers import attestation_rows

    rows = attestation_rows(3)
    write_outbound(duckdb_warehouse, "onetrust", rows)
    with duckdb.connect(duckdb_warehouse.duckdb_path) as con:  # the mart's periods as instants (timestamptz)
        con.execute("alter table outbound.onetrust_control_attestations alter period_start type timestamptz "
                    "using timezone('UTC', cast(period_start as timestamp))")
        con.execute("alter table outbound.onetrust_control_attestations alter period_end type timestamptz "
                    "using timezone('UTC', cast(period_end as timestamp))")
    monkeypatch.setenv("TZ", "Asia/Kolkata")  # the worker's zone: the warehouse answers instants in it (+05:30)
    report = run("onetrust")
    assert report.created == 3 and report.dead_lettered == 0, report.failures
    stored = {a["externalId"]: a for a in onetrust.attestations() if a.get("source") == "Project X"}
    for r in rows:
        start = parse_vendor_ts(stored[r["attestation_id"]]["periodStart"])
        assert start == r["period_start"].replace(tzinfo=None), (r["attestation_id"], start)
    onetrust.clear_request_log()
    assert run("onetrust").unchanged == 3 and writes(onetrust) == []


def test_servicenow_due_dates_read_in_a_non_utc_session_time_zone_are_sent_in_utc(
        servicenow, duckdb_warehouse, monkeypatch):
    import duckdb

    from assets.reverse_sync.servicenow import remediation_table
    from tests.test_reverse_sync_servicenow import remediation_rows

    write_outbound(duckdb_warehouse, "servicenow", remediation_rows(2))
    with duckdb.connect(duckdb_warehouse.duckdb_path) as con:
        con.execute("alter table outbound.servicenow_remediation_tasks alter due_at type timestamptz "
                    "using timezone('UTC', cast(due_at as timestamp))")
    monkeypatch.setenv("TZ", "America/New_York")
    assert run("servicenow").created == 2
    assert {r["due_date"] for r in servicenow.records(remediation_table())
            if r.get("correlation_display") == "Project X"} == {"2026-12-01 00:00:00"}


# --- our ids as JQL and encoded-query values ------------------------------------------------------------------------

def test_a_jira_create_whose_answer_is_lost_is_found_by_a_label_with_quotes_and_backslashes(jira, duckdb_warehouse):
    odd = ['rem"quoted"', "rem\\back\\slash", 'rem"OR"labels="projectx']
    rows = jira_rows(len(odd))
    for r, internal_id in zip(rows, odd, strict=True):
        r["remediation_task_id"], r["labels"] = internal_id, f"projectx,control:SN-CHG-01,projectx:{internal_id}"
    write_outbound(duckdb_warehouse, "jira", rows)
    jira.faults.set(rate_lost_reply=1.0, methods=["POST"], paths=[r"/issue$"])  # each create made, answered 5xx
    report = run("jira", concurrency=1)
    assert report.created + report.adopted == 3 and report.dead_lettered == 0, report.failures
    assert attacks._jira_by_task(jira) == dict.fromkeys(odd, 1)


def test_servicenow_ids_with_query_characters_are_looked_up_as_themselves(servicenow, duckdb_warehouse):
    from tests.test_reverse_sync_servicenow import remediation_rows

    odd = ["rem^ORshort_descriptionISNOTEMPTY", "rem,with,commas", "rem^NQsys_idISNOTEMPTY"]
    rows = remediation_rows(2)
    write_outbound(duckdb_warehouse, "servicenow", rows)
    assert run("servicenow").created == 2
    # a record a person made (not linked to any task) that a query injected through our id would match
    servicenow.insert(__import__("assets.reverse_sync.servicenow", fromlist=["x"]).remediation_table(),
                      {"short_description": "made by hand", "correlation_id": "someone-else"})
    extra = remediation_rows(len(odd), start=10)
    for r, internal_id in zip(extra, odd, strict=True):
        r["remediation_task_id"] = internal_id
    write_outbound(duckdb_warehouse, "servicenow", rows + extra)
    servicenow.faults.set(rate_lost_reply=1.0, methods=["POST"])  # each create made, then answered 5xx
    report = run("servicenow", concurrency=1)
    servicenow.faults.clear()
    assert report.dead_lettered == 0 and report.created + report.adopted == 3, report.failures
    links = _links(duckdb_warehouse, "servicenow")
    by_sys_id = {r["sys_id"]: r for r in servicenow.records(__import__(
        "assets.reverse_sync.servicenow", fromlist=["x"]).remediation_table())}
    for internal_id in odd:
        assert by_sys_id[links[internal_id]]["correlation_id"] == internal_id, internal_id
    assert {k: v for k, v in attacks._sn_by_task(servicenow).items() if k in odd} == dict.fromkeys(odd, 1)
    # a push killed after those creates finds them by our ids (the prefetch), never makes them again
    with __import__("duckdb").connect(duckdb_warehouse.duckdb_path) as con:
        con.execute("delete from reverse_sync.external_links where vendor = 'servicenow'")
    again = run("servicenow")
    assert again.adopted == 5 and again.created == 0, again.failures


def test_a_jira_id_that_cannot_be_a_label_is_dead_lettered_naming_why_and_never_creates_issues(
        jira, duckdb_warehouse, monkeypatch):
    monkeypatch.setenv("PROJECTX_JIRA_SEARCH_LAG_SECONDS", "0")
    odd = ["rem,comma", "rem with space", "rem-" + "x" * 260]
    rows = jira_rows(len(odd) + 1)
    for r, internal_id in zip(rows, odd, strict=False):
        r["remediation_task_id"], r["labels"] = internal_id, f"projectx,control:SN-CHG-01,projectx:{internal_id}"
    write_outbound(duckdb_warehouse, "jira", rows)
    before = len(jira.issues())
    for n in range(3):
        report = run("jira", run_id=f"odd-{n}")
        assert report.dead_lettered == 3, report.failures
    assert len(jira.issues()) == before + 1, "only the task with a usable id has an issue, made once"
    dead = attacks._dead(duckdb_warehouse, "jira")
    assert set(dead) == set(odd) and all("label" in e for e in dead.values()), dead
