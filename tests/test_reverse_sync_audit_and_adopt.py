"""Loose ends of reverse sync at full breadth (issue 17): the nightly reconciliation adopts an unlinked
ServiceNow record of ours into the engine's link table (so the next push writes nothing), and every
create is audited under the vendor's new record id."""

from __future__ import annotations

import json

import pytest

from assets.reverse_sync.engine import ensure_tables
from assets.reverse_sync.reconcile import ServiceNowLinks
from assets.reverse_sync.servicenow import STATE_CLOSED, ServiceNowTaskWriter, remediation_table
from resources.servicenow import ServiceNowResource
from resources.warehouse import WarehouseResource
from tests.conftest import jira_env, sandbox_env
from tests.reverse_sync_helpers import jira_rows, query, run, write_outbound, writes
from tests.test_reverse_sync_servicenow import remediation_rows


@pytest.fixture
def servicenow(make_servicenow_sandbox, duckdb_warehouse, monkeypatch):
    sb = make_servicenow_sandbox(size=20)
    sandbox_env(monkeypatch, sb)
    return sb


def test_reconciliation_adopts_an_unlinked_record_of_ours_as_the_engine_links_it(servicenow, duckdb_warehouse):
    rows = remediation_rows(2)
    write_outbound(duckdb_warehouse, "servicenow", rows)
    table = remediation_table()
    # a crashed push left two records carrying our ids but no link; one was closed at ServiceNow since
    stray = servicenow.insert(table, {"short_description": "left by a crashed run",
                                      "correlation_id": "rem-sn-00000", "correlation_display": "Project X"})
    closed = servicenow.insert(table, {"short_description": "left by a crashed run",
                                       "correlation_id": "rem-sn-00001", "correlation_display": "Project X"})
    servicenow.update(table, closed["sys_id"], {"state": STATE_CLOSED})
    client = ServiceNowResource(backoff_base_seconds=0.0).client()
    try:
        with WarehouseResource.from_env().connect() as conn:
            ensure_tables(conn)
            report = ServiceNowLinks(conn, ServiceNowTaskWriter(client, table),
                                     {r["remediation_task_id"]: r for r in rows}, "nightly").run()
    finally:
        client.close()
    assert sorted(report.adopted) == ["rem-sn-00000", "rem-sn-00001"] and report.closed_orphans == []
    links = dict(query(duckdb_warehouse, "select internal_id, vendor_id from reverse_sync.external_links"))
    assert links == {"rem-sn-00000": stray["sys_id"], "rem-sn-00001": closed["sys_id"]}
    assert servicenow.get(table, stray["sys_id"])["short_description"] == rows[0]["short_description"]

    servicenow.clear_request_log()
    again = run("servicenow", run_id="after-adopt")
    assert again.created == 0 and again.unchanged == 2 and writes(servicenow) == [], "adopted: nothing to redo"
    assert servicenow.get(table, closed["sys_id"])["state"] == STATE_CLOSED, "the vendor keeps the status"


def test_creates_are_audited_under_the_vendors_new_record_id(servicenow, make_jira_sandbox, duckdb_warehouse,
                                                             monkeypatch):
    jira = make_jira_sandbox(size=30)
    jira_env(monkeypatch, jira)
    write_outbound(duckdb_warehouse, "servicenow", remediation_rows(2))
    write_outbound(duckdb_warehouse, "jira", jira_rows(2))
    run("servicenow", run_id="sn")
    run("jira", run_id="jira")
    for vendor in ("servicenow", "jira"):
        links = dict(query(duckdb_warehouse, "select internal_id, vendor_id from reverse_sync.external_links "
                                             f"where vendor = '{vendor}'"))
        audited = query(duckdb_warehouse, "select object_id, detail, status from audit.events where action = 'push' "
                                          f"and operation = 'create' and system = '{vendor}'")
        assert len(audited) == 2 and {s for _, _, s in audited} == {"201"}
        assert {json.loads(d)["internal_id"]: o for o, d, _ in audited} == links, vendor


def _plan(settings, run_id: str) -> list[tuple]:
    return sorted(query(settings, "select internal_id, operation, field, before_value, after_value "
                                  f"from reverse_sync.plans where run_id = '{run_id}'"))


def test_onetrust_dry_run_plans_every_write_the_real_run_makes(make_onetrust_sandbox, duckdb_warehouse,
                                                               monkeypatch, tmp_path):
    """Implementations and evidence attachments are writes too: the dry run lists them, the real run
    makes exactly those (counted at the sandbox), and an attach that failed is retried next run."""
    from tests.conftest import onetrust_env
    from tests.reverse_sync_helpers import attestation_rows

    onetrust = make_onetrust_sandbox(size=20)
    onetrust_env(monkeypatch, onetrust)
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    monkeypatch.setenv("PROJECTX_EVIDENCE_DIR", str(evidence))
    (evidence / "cab-minutes.pdf").write_bytes(b"%PDF-1.4 minutes of the change advisory board")
    rows = attestation_rows(6, evidence="CAB minutes <cab-minutes.pdf> | Ticket <https://x.example/CHG1>")
    write_outbound(duckdb_warehouse, "onetrust", rows)
    onetrust.clear_request_log()
    dry = run("onetrust", run_id="dry", dry_run=True)
    assert dry.writes == 0 and writes(onetrust) == []
    real = run("onetrust", run_id="real")
    assert real.created == 6 and real.dead_lettered == 0
    planned = _plan(duckdb_warehouse, "dry")
    assert planned == _plan(duckdb_warehouse, "real")
    ops = [op for _, op, *_ in planned]
    assert ops.count("create_implementation") == 3 and ops.count("attach_evidence") == 6
    sent = writes(onetrust)
    one_write_each = {(i, op) for i, op, *_ in planned if op in ("create", "update")}
    assert len(sent) == len(one_write_each) + ops.count("create_implementation") + ops.count("attach_evidence")
    assert sum(p["path"].endswith("/attachments") for p in sent) == 6

    # a new evidence file for one period, and an attach that fails: dead-lettered, then retried alone
    (evidence / "review.txt").write_bytes(b"quarterly access review")
    rows[0] = {**rows[0], "evidence_refs": rows[0]["evidence_refs"] + " | Review <review.txt>"}
    write_outbound(duckdb_warehouse, "onetrust", rows)
    onetrust.faults.set(rate_5xx=1.0, methods=["POST"], paths=[r"/attachments$"])
    failed = run("onetrust", run_id="attach-fails", breaker_threshold=50)
    assert failed.dead_lettered == 1
    onetrust.faults.clear()
    onetrust.clear_request_log()
    dry = run("onetrust", run_id="dry-2", dry_run=True)
    assert [(op, after) for _, op, _, _, after in _plan(duckdb_warehouse, "dry-2")] == \
        [("attach_evidence", "review.txt")]
    healed = run("onetrust", run_id="real-2")
    assert healed.dead_lettered == 0 and _plan(duckdb_warehouse, "real-2") == _plan(duckdb_warehouse, "dry-2")
    assert [p["path"].rsplit("/", 1)[-1] for p in writes(onetrust)] == ["attachments"]
    attestation = next(a for a in onetrust.attestations() if a.get("externalId") == "att-0000")
    assert sorted(a["fileName"] for a in onetrust.attachments[attestation["id"]]) == ["cab-minutes.pdf", "review.txt"]
    onetrust.clear_request_log()
    assert run("onetrust", run_id="again").writes == 0 and writes(onetrust) == []


def test_the_assignee_is_the_account_of_an_exact_email_match_never_a_guess(make_jira_sandbox, duckdb_warehouse,
                                                                           monkeypatch):
    jira = make_jira_sandbox(size=30)
    jira_env(monkeypatch, jira)
    person = next(u for u in jira.store.users.values() if u.active and u.account_type == "atlassian")
    rows = jira_rows(3)
    rows[0]["assignee_email"] = person.email.upper()  # e-mail addresses compare case-insensitively
    rows[1]["assignee_email"] = person.email.split("@")[0]  # a partial match: found by the search, not taken
    rows[2]["assignee_email"] = "@example.com"  # matches everyone: never a guess
    write_outbound(duckdb_warehouse, "jira", rows)
    assert run("jira").created == 3
    links = dict(query(duckdb_warehouse, "select internal_id, vendor_number from reverse_sync.external_links"))
    assignee = {i["key"]: (i["fields"].get("assignee") or {}).get("accountId") for i in jira.issues()}
    assert [assignee[links[r["remediation_task_id"]]] for r in rows] == [person.account_id, None, None]


def test_servicenow_write_faults_land_or_wait_in_dead_letters_then_drain(servicenow, duckdb_warehouse):
    """The write-fault bullet for the third vendor: 10% 5xx, 429 with Retry-After and OAuth tokens
    that expire after a second; no write lost, none doubled, a clean run drains the dead letters."""
    rows = remediation_rows(30)
    write_outbound(duckdb_warehouse, "servicenow", rows)
    servicenow.faults.set(rate_5xx=0.1, rate_429=0.05, retry_after=1, token_ttl_seconds=1, expire_tokens=True)
    servicenow.clear_request_log()
    report = run("servicenow", breaker_threshold=50)
    served = {r["status"] for r in servicenow.request_log}
    assert 429 in served and served & {500, 502, 503, 504}, served  # the faults did happen
    tokens = [r for r in servicenow.request_log if "oauth" in r["path"]]
    assert len(tokens) > 1, "tokens expired during the run and were renewed"
    ours = {r["correlation_id"] for r in servicenow.records(remediation_table()) if r.get("correlation_id")}
    dead = {r[0] for r in query(duckdb_warehouse, "select internal_id from reverse_sync.dead_letters")}
    assert len(ours | dead) == 30 and report.created + report.dead_lettered == 30, "a write was lost"
    servicenow.faults.clear()
    clean = run("servicenow")
    assert clean.dead_lettered == 0
    assert query(duckdb_warehouse, "select count(*) from reverse_sync.dead_letters") == [(0,)]
    records = [r["correlation_id"] for r in servicenow.records(remediation_table()) if r.get("correlation_id")]
    assert sorted(records) == sorted(r["remediation_task_id"] for r in rows), "one record per task"


def _push_killed_at_first_link(run_id: str) -> None:
    """In a forked child: the push dies like a SIGKILL (no cleanup, no commit) when it first saves a link."""
    import os

    from assets.reverse_sync import state

    def killed(*args, **kwargs):
        os._exit(137)

    state.save_link = killed
    run("servicenow", run_id=run_id, concurrency=1)  # one record in flight: the kill follows one create
    os._exit(0)


def _rows(sql: str) -> list[tuple]:
    with WarehouseResource.from_env().connect() as conn:
        return [tuple(r.values()) for r in conn.query(sql)]


def test_a_write_the_vendor_accepted_stays_audited_when_the_push_dies_before_its_link(servicenow, any_warehouse):
    """The audit row of a vendor write is committed with the write's outcome, not with the record's link
    at the end of the record: a push killed between the two leaves the write in the audit log, and the
    next run adopts the record. (On PostgreSQL the kill used to lose both the link and the audit row.)"""
    import multiprocessing

    rows = remediation_rows(3)
    with WarehouseResource.from_env().connect() as conn:
        conn.execute("create schema if not exists outbound")
        conn.execute("create table outbound.servicenow_remediation_tasks "
                     f"({', '.join(f'{k} varchar' for k in rows[0])})")
        for r in rows:
            conn.execute(f"insert into outbound.servicenow_remediation_tasks values ({', '.join('%s' for _ in r)})",
                         [None if v is None else str(v) for v in r.values()])
    child = multiprocessing.get_context("fork").Process(target=_push_killed_at_first_link, args=("killed",))
    child.start()
    child.join(timeout=120)
    assert child.exitcode == 137, "the push died at its first link"
    created = [w for w in writes(servicenow) if w["method"] == "POST"]
    assert len(created) == 1, "the push died after its first create"
    audited = _rows("select operation, status from audit.events where action = 'push' and run_id = 'killed'")
    assert audited == [("create", "201")]
    assert _rows("select count(*) from reverse_sync.external_links") == [(0,)]
    servicenow.clear_request_log()
    again = run("servicenow", run_id="after")
    assert (again.adopted, again.created) == (1, 2)
    # the adopted record already holds every field (its CI included): adopting it writes nothing
    assert sorted(w["method"] for w in writes(servicenow)) == ["POST", "POST"]
