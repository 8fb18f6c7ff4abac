"""Round 27 review of reverse sync, notifications and the evidence path: each test drives real code against
the sandbox emulators over HTTP and fails on the bug it names."""

from __future__ import annotations

import pytest

from tests.conftest import jira_env
from tests.reverse_sync_helpers import jira_rows, query, run, write_outbound


@pytest.fixture
def jira(make_jira_sandbox, duckdb_warehouse, monkeypatch):
    sb = make_jira_sandbox(size=50)
    jira_env(monkeypatch, sb)
    return sb


def _dead(settings, vendor="jira"):
    return {r[0]: r[1] for r in query(settings, f"select internal_id, error from reverse_sync.dead_letters "
                                                f"where vendor = '{vendor}'")}


def _summary(sb, task_id: str) -> str:
    return next(i for i in sb.issues() if f"projectx:{task_id}" in i["fields"]["labels"])["fields"]["summary"]


def test_a_half_written_update_undone_in_the_mart_is_written_back_and_its_dead_letter_cleared(jira, duckdb_warehouse):
    """An update whose PUT landed but whose comment failed is dead-lettered with the link left as before. When
    the mart then goes back to the linked values, the record's hash equals the link's again: it was counted
    unchanged and skipped, so Jira kept the half-written summary for good and the dead letter never cleared
    (the asset check failed forever). A dead-lettered record is re-read instead."""
    rows = jira_rows(3)
    write_outbound(duckdb_warehouse, "jira", rows)
    assert run("jira", run_id="create").created == 3
    original = rows[0]["summary"]
    rows[0]["summary"] = original + " (changed)"
    write_outbound(duckdb_warehouse, "jira", rows)
    jira.faults.set(rate_5xx=1.0, methods=["POST"], paths=[r"/comment$"])
    failed = run("jira", run_id="half")
    jira.faults.clear()
    assert failed.dead_lettered == 1, failed.failures
    assert _summary(jira, "rem-00000") == original + " (changed)", "the PUT went through before the comment failed"
    rows[0]["summary"] = original  # the mart takes the change back
    write_outbound(duckdb_warehouse, "jira", rows)
    run("jira", run_id="revert")
    assert _summary(jira, "rem-00000") == original, "Jira keeps a value Project X no longer wants"
    assert _dead(duckdb_warehouse) == {}, "a dead letter for a record in sync never clears"
    again = run("jira", run_id="again")
    assert again.unchanged == 3 and again.writes == 0


@pytest.mark.parametrize("value", ["abc", "nan", "0", "s.pasted-vault-token-7f3a9c"])
def test_a_bad_onetrust_timeout_stops_the_push_with_the_variable_named(value, make_onetrust_sandbox, duckdb_warehouse,
                                                                       monkeypatch):
    """The reverse-sync client read ONETRUST_TIMEOUT_SECONDS with a bare float(): "could not convert string to
    float: 'abc'", naming neither the variable nor the fix (the ingestion source named both)."""
    from tests.conftest import onetrust_env
    from tests.reverse_sync_helpers import attestation_rows

    sb = make_onetrust_sandbox(size=20)
    onetrust_env(monkeypatch, sb)
    monkeypatch.setenv("ONETRUST_TIMEOUT_SECONDS", value)
    write_outbound(duckdb_warehouse, "onetrust", attestation_rows(2))
    sb.clear_request_log()
    with pytest.raises(ValueError) as raised:
        run("onetrust")
    assert "ONETRUST_TIMEOUT_SECONDS" in str(raised.value) and "e.g. 30" in str(raised.value)
    assert len(value) <= 12 or value not in str(raised.value), "a long value (a pasted secret) is never shown"
    assert sb.request_log == [], "stopped before any vendor call"


@pytest.mark.parametrize("header", ["-1", "nan"])
def test_a_malformed_graph_retry_after_is_backed_off_not_raised_out_of_the_evidence_library(header, sp_env,
                                                                                              monkeypatch, tmp_path):
    """SharePoint store: a 429 whose Retry-After is negative or NaN (a proxy's, not Graph's) went straight to
    time.sleep(), which raised ValueError out of the store and the library: no ledger row, no pending copy.
    It is now backed off like a 429 without the header, and the upload goes through on the retry."""
    from resources.evidence.select import store_from_env
    from tests.evidence.library import make_library

    sharepoint = sp_env
    store = store_from_env()
    store.calls.backoff = 0.01
    lib = make_library(tmp_path, None, store=store, require_scan=False)
    sharepoint.sandbox.fail_next(429, count=1, method="PUT", retry_after=header)  # type: ignore[arg-type]
    done = lib.ingest(b"CAB minutes for CHG0042", "cab.txt", "servicenow")
    assert done.status == "stored", done.reason
    puts = [r["status"] for r in sharepoint.sandbox.request_log if r["method"] == "PUT"]
    assert puts == [429, 201]


def test_a_thread_root_found_after_a_crash_still_gets_the_follow_ups_in_its_thread(
        make_slack_sandbox, make_smtp_sandbox, duckdb_warehouse, monkeypatch):
    """A run killed after Slack stored an anomaly's first message, before the ledger recorded it (and before the
    thread was remembered): the next run finds the post by its metadata and marks it deduplicated, but did not
    remember it as the anomaly's thread, so the next follow-up was posted at the top of the channel as a new
    thread instead of under the first message."""
    from assets.notifications import deliver_channel_type
    from resources.notifications import NotificationsResource
    from resources.warehouse import WarehouseResource
    from tests.notify_helpers import delivery_env, outbox_row, write_outbox

    slack = make_slack_sandbox()
    delivery_env(monkeypatch, slack, make_smtp_sandbox(username="mailer", password="pw", starttls=True))

    def deliver() -> dict[str, int]:
        with WarehouseResource.from_env().connect() as conn:
            report, _ = deliver_channel_type(conn, "slack_channel", NotificationsResource(backoff_base_seconds=0.01),
                                             None, "prod")
        return report.as_metadata()

    first = outbox_row("anomaly:1", "servicenow_sync_anomaly", "slack_channel", "#alerts-servicenow",
                       thread_key="servicenow_sync_anomaly:2026-01-01")
    write_outbox([first])
    assert deliver()["sent"] == 1
    with WarehouseResource.from_env().connect() as conn:  # the kill: after the post, before the ledger's record
        conn.execute("update notifications.delivery_ledger set status = 'sending' where notification_key = %s",
                     ("anomaly:1",))
        conn.execute("delete from notifications.slack_threads")
        conn.raw.commit()
    assert deliver()["deduplicated"] == 1
    follow_up = outbox_row("anomaly:2", "servicenow_sync_anomaly", "slack_channel", "#alerts-servicenow",
                           thread_key="servicenow_sync_anomaly:2026-01-01")
    write_outbox([first, follow_up])
    assert deliver()["sent"] == 1
    root, reply = [m for m in slack.messages("alerts-servicenow") if m["message"].get("metadata")]
    assert root["ts"] != reply["ts"] and reply.get("thread_ts") == root["ts"], "the follow-up started a new thread"


def test_the_nightly_reconciliation_waits_for_a_running_push_instead_of_writing_beside_it(
        make_servicenow_sandbox, duckdb_warehouse, monkeypatch):
    """The reconciliation writes ServiceNow records and reverse_sync.external_links but took no push lock: beside a
    push (another Dagster pool on PostgreSQL, or a CLI push) it adopted the record the push had just created and
    not linked yet, so the push's own link insert then failed on the key (or it closed as an orphan a record the
    push was linking). While a push holds the ServiceNow lock it now waits, then gives up without a write."""
    import assets.reverse_sync.reconcile as reconcile
    import assets.reverse_sync.reconcile_lock as reconcile_lock
    from assets.reverse_sync import state
    from assets.reverse_sync.engine import ensure_tables
    from assets.reverse_sync.servicenow import ServiceNowTaskWriter, remediation_table
    from resources.servicenow import ServiceNowResource
    from resources.warehouse import WarehouseResource
    from tests.conftest import sandbox_env
    from tests.test_reverse_sync_servicenow import remediation_rows

    sb = make_servicenow_sandbox(size=30)
    sandbox_env(monkeypatch, sb)
    rows = remediation_rows(2)
    write_outbound(duckdb_warehouse, "servicenow", rows)
    client = ServiceNowResource().client()
    try:  # a push is creating the first record: sent and answered, its link not saved yet
        made = client.create(remediation_table(), ServiceNowTaskWriter(client, remediation_table()).payload(rows[0]))
        monkeypatch.setattr(reconcile_lock, "LOCK_WAIT_SECONDS", 0.3)
        with WarehouseResource.from_env().connect() as conn:
            ensure_tables(conn)
            owner = state.acquire_run_lock(conn, "servicenow", "push-running")
            sb.clear_request_log()
            with pytest.raises(state.PushAlreadyRunning):
                reconcile.ServiceNowLinks(conn, ServiceNowTaskWriter(client, remediation_table()),
                                          {r["remediation_task_id"]: r for r in rows}, "nightly").run()
            assert [r for r in sb.request_log if r["method"] != "GET" and "oauth" not in r["path"]] == []
            assert query_links(conn) == [], "the push's record was adopted under its feet"
            state.save_link(conn, "servicenow", remediation_table(), rows[0]["remediation_task_id"], made["sys_id"],
                            made.get("number"), "h", "open", {}, None, "push-running", existing=False)
            conn.raw.commit()
            state.release_run_lock(conn, "servicenow", owner)
            report = reconcile.ServiceNowLinks(conn, ServiceNowTaskWriter(client, remediation_table()),
                                               {r["remediation_task_id"]: r for r in rows}, "nightly").run()
            assert report.checked == 1 and not conn.query("select * from reverse_sync.run_locks")
    finally:
        client.close()


def query_links(conn) -> list[dict]:
    return conn.query("select internal_id, vendor_id from reverse_sync.external_links where vendor = 'servicenow'")


class _Proxy:
    """A loopback HTTP proxy in front of a sandbox. Every request reaches the sandbox (its path first passed
    through ``rewrite``); the answer to the first ``cut`` requests whose path ends with ``cut_path`` is cut
    short (Content-Length promises more than is sent, then the connection closes), as a connection dropped
    mid-answer does."""

    def __init__(self, upstream: str, cut: int = 0, cut_path: str = "", rewrite=None):
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        import requests

        proxy = self
        self.cut, self.upstream = cut, upstream.rstrip("/")

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
                path = rewrite(self.path) if rewrite else self.path
                answer = requests.request(self.command, proxy.upstream + path, data=body, headers=headers,
                                          timeout=10)
                self.send_response(answer.status_code)
                self.send_header("Content-Type", answer.headers.get("Content-Type", "application/json"))
                if cut_path and self.path.split("?")[0].endswith(cut_path) and proxy.cut > 0:
                    proxy.cut -= 1
                    self.send_header("Content-Length", str(len(answer.content) + 500))
                    self.end_headers()
                    self.wfile.write(answer.content[:10])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            do_GET = do_PUT = do_PATCH = do_DELETE = do_POST

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_a_slack_answer_cut_short_is_retried_and_found_not_marked_failed_for_good(make_slack_sandbox,
                                                                                   make_smtp_sandbox,
                                                                                   duckdb_warehouse, monkeypatch):
    """slack_sdk raises http.client.IncompleteRead (not an OSError) when Slack's answer is cut short: it escaped
    SlackSender.call, and the delivery recorded the notification as failed for good ("a bug or data the notifier
    cannot send ... delete the ledger row to resend"): no retry, no e-mail fallback, although Slack had stored
    the post. It is now an unsure answer like a timeout: looked up before a retry, and found."""
    from assets.notifications import deliver_channel_type
    from resources.notifications import NotificationsResource
    from resources.warehouse import WarehouseResource
    from tests.notify_helpers import delivery_env, ledger, outbox_row, write_outbox

    slack = make_slack_sandbox()
    delivery_env(monkeypatch, slack, make_smtp_sandbox(username="mailer", password="pw", starttls=True))
    proxy = _Proxy(slack.url, cut=1, cut_path="chat.postMessage")
    try:
        monkeypatch.setenv("SLACK_API_URL", proxy.url + "/api/")
        write_outbox([outbox_row("p1:cut", "servicenow_p1_incident", "slack_channel", "#alerts-servicenow")])
        with WarehouseResource.from_env().connect() as conn:
            report, _ = deliver_channel_type(conn, "slack_channel", NotificationsResource(backoff_base_seconds=0.01),
                                             None, "prod")
    finally:
        proxy.close()
    assert proxy.cut == 0, "the answer was cut"
    posted = [m for m in slack.messages("alerts-servicenow") if m["message"].get("metadata")]
    assert len(posted) == 1, "posted once"
    [row] = ledger()
    assert row["status"] == "sent" and row["slack_ts"] == posted[0]["ts"], (row["status"], row["error"])
    assert report.as_metadata()["failed"] == 0


def test_an_implementation_look_up_answered_unfiltered_does_not_hang_attestations_on_another_control(
        make_onetrust_sandbox, duckdb_warehouse, monkeypatch):
    """The writer looked a control's implementation up by ``?externalId=projectx:<control>`` and took the first
    record of the answer without checking its externalId. An answer that ignores the filter (a tenant or gateway
    that drops an unknown query parameter: the attestation API is undocumented [unc]) hung every later control's
    attestations on the first control's implementation. The look-up is now matched by externalId, as the
    attestation look-up already was."""
    from tests.conftest import onetrust_env
    from tests.reverse_sync_helpers import attestation_rows

    sb = make_onetrust_sandbox(size=20)
    onetrust_env(monkeypatch, sb)
    write_outbound(duckdb_warehouse, "onetrust", attestation_rows(1))  # SN-CHG-01's implementation is made first
    assert run("onetrust", run_id="first").created == 1
    write_outbound(duckdb_warehouse, "onetrust", attestation_rows(3))  # two more controls, new to OneTrust
    proxy = _Proxy(sb.url, rewrite=lambda path: path.split("?")[0] if "control-implementations?" in path else path)
    try:
        monkeypatch.setenv("ONETRUST_BASE_URL", proxy.url)
        report = run("onetrust", run_id="unfiltered")
    finally:
        proxy.close()
    assert report.created == 2 and report.dead_lettered == 0, report.failures
    impls = {i["id"]: i["externalId"] for i in sb.control_implementations()}
    mine = {a["externalId"]: impls.get(a.get("controlImplementationId")) for a in sb.attestations()
            if str(a.get("externalId") or "").startswith("att-")}
    assert mine == {"att-0000": "projectx:SN-CHG-01", "att-0001": "projectx:OT-PIA-01",
                    "att-0002": "projectx:SN-INC-01"}, mine


def test_a_vendor_name_with_a_line_break_still_makes_a_jira_issue(jira, duckdb_warehouse):
    """The Jira summary is built from vendor text (a OneTrust vendor's or PIA's name for OT-VEN-01 / OT-PIA-01).
    Jira refuses a summary with a line break (400 "The summary is invalid because it contains newline
    characters"), so such a task was dead-lettered on every run and never reached Jira. The summary is sent on
    one line; reruns write nothing."""
    rows = jira_rows(2)
    rows[0]["summary"] = "[Project X] OT-VEN-01: High-risk vendors assessed (Acme\r\nHoldings\nLtd)"
    write_outbound(duckdb_warehouse, "jira", rows)
    report = run("jira", run_id="first")
    assert report.created == 2 and report.dead_lettered == 0, report.failures
    assert _summary(jira, "rem-00000") == "[Project X] OT-VEN-01: High-risk vendors assessed (Acme Holdings Ltd)"
    again = run("jira", run_id="again")
    assert again.unchanged == 2 and again.writes == 0


def test_the_reconciliation_recreating_a_deleted_record_makes_one_record_when_servicenow_loses_its_answer(
        make_servicenow_sandbox, duckdb_warehouse, monkeypatch):
    """The nightly reconciliation recreated a remediation record deleted at ServiceNow through the client's create,
    which the HTTP client sends again after a 5xx: ServiceNow carried out each POST and lost its answer, so one
    night made five records for one task (the next night closed four of them as orphans), and the VendorError
    stopped the reconciliation. The create is now sent once and, after an unclear answer, looked up by our id."""
    from assets.reverse_sync.engine import ensure_tables
    from assets.reverse_sync.reconcile import ServiceNowLinks
    from assets.reverse_sync.servicenow import ServiceNowTaskWriter, remediation_table
    from resources.servicenow import ServiceNowResource
    from resources.warehouse import WarehouseResource
    from tests.conftest import sandbox_env
    from tests.test_reverse_sync_servicenow import remediation_rows

    sb = make_servicenow_sandbox(size=30)
    sandbox_env(monkeypatch, sb)
    rows = remediation_rows(2)
    write_outbound(duckdb_warehouse, "servicenow", rows)
    assert run("servicenow").created == 2
    table, task = remediation_table(), rows[0]["remediation_task_id"]
    [gone] = [r["sys_id"] for r in sb.records(table) if r.get("correlation_id") == task]
    sb.delete(table, [gone])
    sb.faults.set(rate_lost_reply=1.0, methods=["POST"], paths=[table])
    client = ServiceNowResource(backoff_base_seconds=0.0).client()
    try:
        with WarehouseResource.from_env().connect() as conn:
            ensure_tables(conn)
            report = ServiceNowLinks(conn, ServiceNowTaskWriter(client, table),
                                     {r["remediation_task_id"]: r for r in rows}, "nightly").run()
            linked = conn.scalar("select vendor_id from reverse_sync.external_links where internal_id = %s", (task,))
    finally:
        sb.faults.clear()
        client.close()
    made = [r["sys_id"] for r in sb.records(table) if r.get("correlation_id") == task]
    assert len(made) == 1, f"{len(made)} records for one task"
    assert report.relinked + report.recreated == [task] and linked == made[0] != gone


def test_onetrust_attestations_leaving_the_mart_record_no_conflict(make_onetrust_sandbox, duckdb_warehouse,
                                                                  monkeypatch):
    """An attestation has no status at OneTrust (it is never closed), yet the writer's policy made status a shared
    field: the vendor's missing value read as a vendor-side change, so every attestation that left the mart (and
    every other update) recorded a status conflict "vendor wins" in reverse_sync.conflicts that nobody made."""
    from tests.conftest import onetrust_env
    from tests.reverse_sync_helpers import attestation_rows

    sb = make_onetrust_sandbox(size=20)
    onetrust_env(monkeypatch, sb)
    rows = attestation_rows(3)
    write_outbound(duckdb_warehouse, "onetrust", rows)
    assert run("onetrust", run_id="first").created == 3
    rows[0]["summary"] += " (recounted)"
    write_outbound(duckdb_warehouse, "onetrust", rows[:2])  # one changed, one left the mart
    report = run("onetrust", run_id="second")
    assert report.updated == 1 and report.closed == 1 and report.dead_lettered == 0, report
    assert report.conflicts == 0
    assert query(duckdb_warehouse, "select field, internal_id from reverse_sync.conflicts") == []


def test_the_reconciliation_leaves_a_resolved_orphan_as_servicenow_holds_it(make_servicenow_sandbox,
                                                                          duckdb_warehouse, monkeypatch):
    """An unlinked record of ours whose task is no longer wanted is closed as an orphan unless already finished.
    The reconciliation's list of finished states left out Resolved (6), which the writer counts as closed
    (VENDOR_CLOSED_STATES): a record a person resolved was rewritten to Closed Complete each time it was found."""
    from assets.reverse_sync.engine import ensure_tables
    from assets.reverse_sync.reconcile import ServiceNowLinks
    from assets.reverse_sync.servicenow import ServiceNowTaskWriter, remediation_table
    from resources.servicenow import ServiceNowResource
    from resources.warehouse import WarehouseResource
    from tests.conftest import sandbox_env
    from tests.test_reverse_sync_servicenow import remediation_rows

    sb = make_servicenow_sandbox(size=30)
    sandbox_env(monkeypatch, sb)
    write_outbound(duckdb_warehouse, "servicenow", [], like=remediation_rows(1))
    table = remediation_table()
    client = ServiceNowResource(backoff_base_seconds=0.0).client()
    try:
        writer = ServiceNowTaskWriter(client, table)
        resolved = client.create(table, {**writer.payload(remediation_rows(1)[0]), "state": "6"})
        with WarehouseResource.from_env().connect() as conn:
            ensure_tables(conn)
            sb.clear_request_log()
            report = ServiceNowLinks(conn, writer, {}, "nightly").run()
    finally:
        client.close()
    assert report.closed_orphans == []
    assert [r for r in sb.request_log if r["method"] == "PATCH"] == []
    assert [r["state"] for r in sb.records(table) if r["sys_id"] == resolved["sys_id"]] == ["6"]
