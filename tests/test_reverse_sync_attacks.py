"""Reverse sync attacked where the other reverse-sync tests do not look, against the sandboxes over HTTP:
vendors that carry out a write and then answer 5xx or an HTML page, creates answered without the new
record's id, auth refused mid-batch, record-level rejections, duplicate keys in an outbound mart,
hostile text, and two pushes for one vendor at once."""

from __future__ import annotations

from datetime import timedelta

import pytest

from assets.reverse_sync.servicenow import remediation_table
from tests.conftest import jira_env, onetrust_env, sandbox_env
from tests.reverse_sync_helpers import attestation_rows, jira_rows, query, run, write_outbound, writes
from tests.test_reverse_sync_servicenow import remediation_rows


@pytest.fixture
def servicenow(make_servicenow_sandbox, duckdb_warehouse, monkeypatch):
    sb = make_servicenow_sandbox(size=10)
    sandbox_env(monkeypatch, sb)
    return sb


@pytest.fixture
def jira(make_jira_sandbox, duckdb_warehouse, monkeypatch):
    sb = make_jira_sandbox(size=20)
    jira_env(monkeypatch, sb)
    return sb


@pytest.fixture
def onetrust(make_onetrust_sandbox, duckdb_warehouse, monkeypatch, tmp_path):
    sb = make_onetrust_sandbox(size=20)
    onetrust_env(monkeypatch, sb)
    monkeypatch.setenv("PROJECTX_EVIDENCE_DIR", str(tmp_path / "evidence"))
    (tmp_path / "evidence").mkdir()
    return sb


def _dead(settings, vendor: str) -> dict[str, str]:
    return dict(query(settings, f"select internal_id, error from reverse_sync.dead_letters where vendor = '{vendor}'"))


def _sn_by_task(sb) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in sb.records(remediation_table()):
        if r.get("correlation_display") == "Project X":
            out[r["correlation_id"]] = out.get(r["correlation_id"], 0) + 1
    return out


def _jira_by_task(sb) -> dict[str, int]:
    out: dict[str, int] = {}
    for issue in sb.issues():
        for label in issue["fields"]["labels"]:
            if label.startswith("projectx:"):
                out[label[len("projectx:"):]] = out.get(label[len("projectx:"):], 0) + 1
    return out


# --- a write carried out, then answered 5xx: the retry adopts, never duplicates ----------------------------

def test_servicenow_create_committed_but_answered_5xx_is_adopted_not_duplicated(servicenow, duckdb_warehouse):
    rows = remediation_rows(12)
    write_outbound(duckdb_warehouse, "servicenow", rows)
    servicenow.faults.set(rate_lost_reply=0.5, methods=["POST"])
    report = run("servicenow")
    assert _sn_by_task(servicenow) == {r["remediation_task_id"]: 1 for r in rows}, "one record per task"
    assert report.dead_lettered == 0 and report.created + report.adopted == 12
    servicenow.faults.clear()
    servicenow.clear_request_log()
    assert run("servicenow").created == 0 and writes(servicenow) == []


def test_jira_create_committed_but_answered_5xx_is_adopted_not_duplicated(jira, duckdb_warehouse):
    rows = jira_rows(12)
    write_outbound(duckdb_warehouse, "jira", rows)
    jira.faults.set(rate_lost_reply=0.5, methods=["POST"], paths=[r"/issue$"])
    report = run("jira")
    assert _jira_by_task(jira) == {r["remediation_task_id"]: 1 for r in rows}, "one issue per task"
    assert report.dead_lettered == 0 and report.created + report.adopted == 12


@pytest.mark.parametrize("fault", ["rate_lost_reply", "rate_5xx"])
def test_a_jira_create_with_an_unclear_answer_is_never_sent_twice_while_search_lags(jira, duckdb_warehouse,
                                                                                      fault, monkeypatch):
    """Jira's JQL search is eventually consistent: after a create answered 5xx (carried out or not), an empty
    search proves nothing, so the create is not sent again in that run (it would duplicate an issue the index
    has not shown yet): the record is dead-lettered saying so, and the next run adopts the issue when it
    exists, else creates it."""
    rows = jira_rows(4)
    write_outbound(duckdb_warehouse, "jira", rows)
    jira.faults.set(search_lag_seconds=600, methods=["POST"], paths=[r"/issue$"], **{fault: 1.0})
    first = run("jira")
    assert (first.created, first.dead_lettered) == (0, 4), first.failures
    creates = [w for w in writes(jira) if w["path"].endswith("/rest/api/3/issue")]
    assert len(creates) == 4, "each create sent once, never again within the run"
    for error in _dead(duckdb_warehouse, "jira").values():
        assert "outcome unknown" in error and "search may not show" in error and "next run adopts" in error, error
    jira.faults.clear()
    jira.sync_index()  # the search index caught up
    second = run("jira")
    if fault == "rate_5xx":  # nothing was made, but an empty search proves it only once the lag has passed
        assert (second.created, second.dead_lettered) == (0, 4), second.failures
        assert all(e.startswith("deferred:") and "PROJECTX_JIRA_SEARCH_LAG_SECONDS" in e
                   for e in _dead(duckdb_warehouse, "jira").values())
        monkeypatch.setenv("PROJECTX_JIRA_SEARCH_LAG_SECONDS", "0")  # that much time has passed
        second = run("jira")
    assert second.dead_lettered == 0 and second.created + second.adopted == 4, second.failures
    assert second.adopted == (4 if fault == "rate_lost_reply" else 0)
    assert _jira_by_task(jira) == {r["remediation_task_id"]: 1 for r in rows}, "one issue per task"
    assert _dead(duckdb_warehouse, "jira") == {}


def test_jira_comments_and_transitions_committed_but_answered_5xx_are_not_sent_twice(jira, duckdb_warehouse):
    rows = jira_rows(6)
    write_outbound(duckdb_warehouse, "jira", rows)
    assert run("jira").created == 6
    for r in rows:
        r["summary"] += " (rescoped)"
    write_outbound(duckdb_warehouse, "jira", rows[:3])  # three close, three change their summary
    jira.faults.set(rate_lost_reply=1.0, methods=["POST"], paths=[r"/comment$", r"/transitions$"])
    report = run("jira", min_change_guard=10)
    assert (report.updated, report.closed, report.dead_lettered) == (3, 3, 0)
    ours = {k for k in _jira_keys(jira)}
    counts = sorted(len(jira.store.comments_of(jira.store.resolve(k))) for k in ours)
    assert counts == [1] * 6, "one comment per issue: the change note or the close note, never twice"
    done = [i for i in jira.issues() if i["key"] in ours and i["fields"]["status"]["statusCategory"]["key"] == "done"]
    assert len(done) == 3
    jira.faults.clear()
    jira.clear_request_log()
    assert run("jira").dead_lettered == 0 and writes(jira) == []


def _jira_keys(sb) -> set[str]:
    return {i["key"] for i in sb.issues() if any(x.startswith("projectx:") for x in i["fields"]["labels"])}


# --- a 2xx that is not the record: an HTML page, a create without the new id ---------------------------------

def test_a_create_answered_with_an_html_page_is_read_back_and_adopted(servicenow, duckdb_warehouse):
    rows = remediation_rows(6)
    write_outbound(duckdb_warehouse, "servicenow", rows)
    servicenow.faults.set(rate_html=1.0, methods=["POST"])
    report = run("servicenow")
    assert (report.created, report.dead_lettered) == (6, 0), report.failures
    assert _sn_by_task(servicenow) == {r["remediation_task_id"]: 1 for r in rows}
    links = dict(query(duckdb_warehouse, "select internal_id, vendor_id from reverse_sync.external_links"))
    assert links == {r["correlation_id"]: r["sys_id"] for r in servicenow.records(remediation_table())
                     if r.get("correlation_display") == "Project X"}
    adopted = query(duckdb_warehouse, "select count(*) from audit.events where action = 'push' and operation = 'adopt'")
    assert adopted == [(6,)], "each adoption is audited"


def test_a_proxy_page_instead_of_the_api_is_dead_lettered_naming_the_base_url(servicenow, duckdb_warehouse,
                                                                                monkeypatch):
    """The HTML page comes back and nothing was created (a sign-in page in front of the API): after the
    client's attempts each record waits in dead letters with a reason that names the fix; the run goes on."""
    from assets.reverse_sync.servicenow import ServiceNowTaskWriter

    write_outbound(duckdb_warehouse, "servicenow", remediation_rows(3))
    monkeypatch.setattr(ServiceNowTaskWriter, "find_existing", lambda self, internal_id: None)
    servicenow.faults.set(rate_html=1.0, methods=["POST"])
    report = run("servicenow")
    assert report.dead_lettered == 3
    for error in _dead(duckdb_warehouse, "servicenow").values():
        assert "text/html" in error and "base URL" in error and "sign-in page" in error, error


def test_a_jira_create_answered_201_without_the_issue_id_is_adopted(jira, duckdb_warehouse, monkeypatch):
    import requests

    rows = jira_rows(4)
    write_outbound(duckdb_warehouse, "jira", rows)
    real = requests.Response.json

    def no_id(self, **kw):  # the vendor's 201 lost its id field on the way (a gateway rewriting bodies)
        body = real(self, **kw)
        if self.request.method == "POST" and self.request.url.endswith("/rest/api/3/issue"):
            body.pop("id", None)
        return body

    monkeypatch.setattr(requests.Response, "json", no_id)
    report = run("jira")
    assert (report.created, report.dead_lettered) == (4, 0), report.failures
    assert _jira_by_task(jira) == {r["remediation_task_id"]: 1 for r in rows}


def test_onetrust_html_answers_and_lost_replies_neither_stop_the_run_nor_double_an_attachment(onetrust,
                                                                                              duckdb_warehouse,
                                                                                              tmp_path):
    rows = attestation_rows(6)
    for r in rows:
        (tmp_path / "evidence" / f"{r['attestation_id']}.pdf").write_bytes(f"%PDF {r['attestation_id']}".encode())
        r["evidence_refs"] = f"Evidence <{r['attestation_id']}.pdf>"
    write_outbound(duckdb_warehouse, "onetrust", rows)
    onetrust.faults.set(rate_html=1.0, methods=["POST"], paths=[r"/attestations$", r"/control-implementations$"])
    first = run("onetrust")
    assert first.dead_lettered == 0, first.failures
    onetrust.faults.replace(rate_lost_reply=1.0, methods=["POST"], paths=[r"/attachments$"])
    for r in rows:
        (tmp_path / "evidence" / f"{r['attestation_id']}.pdf").write_bytes(f"%PDF v2 {r['attestation_id']}".encode())
    second = run("onetrust")
    assert second.dead_lettered == 0, second.failures
    ours = [a for a in onetrust.attestations() if a.get("source") == "Project X"]
    assert sorted(a["externalId"] for a in ours) == [r["attestation_id"] for r in rows]
    for a in ours:
        assert len(onetrust.attachments.get(a["id"], [])) == 2, "v1 and v2 of the file, each attached once"


# --- a look-up answered with the wrong shape fails that record, not the push ------------------------------------

def test_a_jira_issue_search_of_the_wrong_shape_dead_letters_that_record_and_the_rest_land(jira, duckdb_warehouse,
                                                                                           monkeypatch):
    from pipelines.jira.helpers import JiraClient

    rows = jira_rows(4)
    write_outbound(duckdb_warehouse, "jira", rows)
    real = JiraClient.search

    def search(self, jql, fields, **kw):
        if jql.startswith('labels = "projectx:rem-00001"'):
            yield [["an array where an issue belongs"]]
            return
        yield from real(self, jql, fields, **kw)

    monkeypatch.setattr(JiraClient, "search", search)
    jira.faults.set(rate_html=1.0, methods=["POST"], paths=[r"/issue$"])  # every create is read back
    report = run("jira")
    assert (report.created, report.dead_lettered) == (3, 1), report.failures
    dead = _dead(duckdb_warehouse, "jira")
    assert list(dead) == ["rem-00001"] and "JSON array" in dead["rem-00001"] and "JIRA_BASE_URL" in dead["rem-00001"]


def test_a_onetrust_lookup_of_the_wrong_shape_dead_letters_that_record_and_the_rest_land(onetrust, duckdb_warehouse,
                                                                                         monkeypatch):
    from pipelines.onetrust.helpers import OneTrustClient

    rows = attestation_rows(4)
    write_outbound(duckdb_warehouse, "onetrust", rows)
    real = OneTrustClient.request

    def request(self, method, path, *args, **kw):
        if method == "GET" and (kw.get("params") or {}).get("externalId") == "att-0002":
            return [{"id": "x", "externalId": "att-0002"}]  # a bare array where the page object belongs
        return real(self, method, path, *args, **kw)

    monkeypatch.setattr(OneTrustClient, "request", request)
    onetrust.faults.set(rate_html=1.0, methods=["POST"], paths=[r"/attestations$"])  # every create is read back
    report = run("onetrust")
    assert (report.created, report.dead_lettered) == (3, 1), report.failures
    dead = _dead(duckdb_warehouse, "onetrust")
    assert list(dead) == ["att-0002"] and "JSON array" in dead["att-0002"] and "ONETRUST_BASE_URL" in dead["att-0002"]


# --- hostile text and field length limits -----------------------------------------------------------------------

HOSTILE = ["nul \x00 inside", "emoji \U0001f600 e\u0301 combining", "rtl \u202egnp.exe\u202c override",
           "zero\u200bwidth"]


def test_hostile_text_reaches_jira_once_and_reruns_write_nothing(jira, duckdb_warehouse):
    rows = jira_rows(5)
    for r, text in zip(rows, HOSTILE, strict=False):
        r["summary"] = f"[Project X] {text}"
        r["description"] = f"line one {text}\nline two"
    rows[4]["summary"] = "S" * 300  # Jira refuses a summary over 255 characters
    rows[4]["description"] = "D" * 1_000_000  # and a text field over 32,767
    write_outbound(duckdb_warehouse, "jira", rows)
    first = run("jira")
    assert (first.created, first.dead_lettered) == (5, 0), first.failures
    jira.clear_request_log()
    again = run("jira")
    assert (again.unchanged, again.updated, again.dead_lettered) == (5, 0, 0) and writes(jira) == []
    long = next(i for i in jira.issues() if "projectx:rem-00004" in i["fields"]["labels"])
    assert len(long["fields"]["summary"]) == 255 and long["fields"]["summary"].endswith("…")


def test_hostile_text_reaches_servicenow_once_and_reruns_write_nothing(servicenow, duckdb_warehouse):
    rows = remediation_rows(5)
    for r, text in zip(rows, HOSTILE, strict=False):
        r["short_description"] = f"Project X {text}"
        r["description"] = f"{text}\n" * 3
    rows[4]["short_description"] = "S" * 300
    rows[4]["description"] = "D" * 1_000_000
    write_outbound(duckdb_warehouse, "servicenow", rows)
    first = run("servicenow")
    assert (first.created, first.dead_lettered) == (5, 0), first.failures
    servicenow.clear_request_log()
    again = run("servicenow")
    assert again.unchanged == 5 and writes(servicenow) == []


# --- record-level rejections, auth refused mid-batch, duplicate keys --------------------------------------------

def test_a_onetrust_validation_error_dead_letters_that_attestation_with_the_reason_and_the_rest_land(
        onetrust, duckdb_warehouse):
    rows = attestation_rows(6)
    rows[2]["onetrust_result"] = "MOSTLY_FINE"  # OneTrust refuses an unknown result (400)
    write_outbound(duckdb_warehouse, "onetrust", rows)
    report = run("onetrust", breaker_threshold=1, circuit_breakers=True)
    assert (report.created, report.dead_lettered, report.breaker_state) == (5, 1, "closed")
    dead = _dead(duckdb_warehouse, "onetrust")
    assert list(dead) == ["att-0002"] and "400" in dead["att-0002"] and "result" in dead["att-0002"].lower(), dead


def test_auth_refused_mid_batch_refreshes_once_then_dead_letters_naming_the_settings_without_secrets(
        servicenow, duckdb_warehouse):
    rows = remediation_rows(6)
    write_outbound(duckdb_warehouse, "servicenow", rows[:3])
    assert run("servicenow").created == 3
    write_outbound(duckdb_warehouse, "servicenow", rows)
    servicenow.faults.set(revoke_tokens=True)  # a revoked token is refreshed once and the batch goes on
    servicenow.clear_request_log()
    assert run("servicenow").created == 3
    tokens = [r for r in servicenow.request_log if "oauth" in r["path"]]
    assert len(tokens) == 1, "one refresh for the whole batch"
    for r in rows:
        r["description"] += " (changed)"
    write_outbound(duckdb_warehouse, "servicenow", rows)
    servicenow.faults.set(rate_401=1.0, methods=["PATCH"])  # the credentials themselves are refused now
    report = run("servicenow", breaker_threshold=50)
    # round 30: three refusals in a row with no success stop the push; the other three wait as deferred
    # (tests/test_round30_sn_account_refusal.py), their reason quoting the same 401
    assert report.dead_lettered == 3 and report.deferred_refused == 3 and report.updated == 0
    creds = servicenow.credentials
    secrets = [creds["client_secret"], creds["password"]]
    dead = _dead(duckdb_warehouse, "servicenow")
    for error in dead.values():
        assert "401" in error and "SERVICENOW" in error.upper() and "credentials" in error, error
    stored = [query(duckdb_warehouse, f"select * from {table}")
              for table in ("reverse_sync.dead_letters", "audit.events", "reverse_sync.plans")]
    assert not [s for s in secrets if s in repr(stored)], "no secret in dead letters, audit log or plans"
    servicenow.faults.clear()
    healed = run("servicenow")
    assert healed.updated == 6 and _dead(duckdb_warehouse, "servicenow") == {}


def test_a_key_twice_in_the_mart_is_dead_lettered_naming_the_mart_and_written_nowhere(servicenow, duckdb_warehouse):
    rows = remediation_rows(4)
    twin = {**rows[1], "description": "the same task, another text"}
    write_outbound(duckdb_warehouse, "servicenow", [*rows, twin, dict(rows[2])])  # rem-sn-00002: an exact repeat
    report = run("servicenow")
    assert report.created == 3 and report.dead_lettered == 1
    dead = _dead(duckdb_warehouse, "servicenow")
    assert list(dead) == ["rem-sn-00001"]
    assert "2 rows" in dead["rem-sn-00001"] and "servicenow_remediation_tasks" in dead["rem-sn-00001"]
    assert set(_sn_by_task(servicenow)) == {"rem-sn-00000", "rem-sn-00002", "rem-sn-00003"}
    servicenow.clear_request_log()
    again = run("servicenow")  # the same mart: the same dead letter, nothing written, no flip-flop
    assert again.created == 0 and writes(servicenow) == []
    write_outbound(duckdb_warehouse, "servicenow", rows)
    healed = run("servicenow")
    assert healed.created == 1 and _dead(duckdb_warehouse, "servicenow") == {}


# --- two pushes for one vendor at once --------------------------------------------------------------------------

def test_two_pushes_for_one_vendor_never_write_at_once(servicenow, duckdb_warehouse):
    import threading

    from assets.reverse_sync.state import PushAlreadyRunning

    rows = remediation_rows(8)
    write_outbound(duckdb_warehouse, "servicenow", rows)
    servicenow.faults.set(delay_seconds=0.3, methods=["POST"])  # the first push is still writing ...
    outcomes: dict[str, object] = {}

    def push(name: str) -> None:
        try:
            outcomes[name] = run("servicenow", run_id=name, concurrency=1)
        except PushAlreadyRunning as exc:
            outcomes[name] = exc

    first = threading.Thread(target=push, args=("first",))
    first.start()
    import time

    deadline = time.monotonic() + 10
    while not [w for w in writes(servicenow)] and time.monotonic() < deadline:
        time.sleep(0.02)
    push("second")  # ... when the second starts
    first.join(timeout=60)
    refused = outcomes["second"]
    assert isinstance(refused, PushAlreadyRunning), refused
    assert "run first" in str(refused) and "wrote nothing" in str(refused)
    assert outcomes["first"].created == 8
    assert _sn_by_task(servicenow) == {r["remediation_task_id"]: 1 for r in rows}
    servicenow.faults.clear()
    servicenow.clear_request_log()
    assert run("servicenow").unchanged == 8 and writes(servicenow) == [], "the lock was released"


def test_a_lock_left_by_a_killed_push_is_taken_over(servicenow, duckdb_warehouse):
    import subprocess
    import sys

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(dead.stdout)  # a process that has exited: its lock is abandoned
    from resources.warehouse import WarehouseResource

    write_outbound(duckdb_warehouse, "servicenow", remediation_rows(2))
    assert run("servicenow").created == 2
    import socket

    from assets.reverse_sync import state

    with WarehouseResource.from_env().connect() as conn:  # this host, this PID namespace, a gone process
        conn.execute("insert into reverse_sync.run_locks values ('servicenow', 'killed', %s, %s)",
                     (f"{socket.gethostname()}:{pid}:{state._pid_namespace()}:12345:x", state.now()))
        conn.raw.commit()
    write_outbound(duckdb_warehouse, "servicenow", remediation_rows(3))
    assert run("servicenow").created == 1
    assert query(duckdb_warehouse, "select count(*) from reverse_sync.run_locks") == [(0,)]


def test_a_lock_from_another_host_is_taken_over_only_once_its_heartbeat_stops(servicenow, duckdb_warehouse,
                                                                              monkeypatch, capsys):
    from assets.reverse_sync import state
    from assets.reverse_sync.state import PushAlreadyRunning
    from resources.warehouse import WarehouseResource

    write_outbound(duckdb_warehouse, "servicenow", remediation_rows(2))
    assert run("servicenow").created == 2  # the state tables exist

    def held_since(minutes: int) -> None:
        with WarehouseResource.from_env().connect() as conn:
            conn.execute("delete from reverse_sync.run_locks")
            conn.execute("insert into reverse_sync.run_locks values ('servicenow', 'elsewhere', "
                         "'worker-7.example:4242:x', %s)", (state.now() - timedelta(minutes=minutes),))
            conn.raw.commit()

    write_outbound(duckdb_warehouse, "servicenow", remediation_rows(3))
    held_since(5)  # a push on another host that refreshed its lock 5 minutes ago is alive
    with pytest.raises(PushAlreadyRunning, match="run elsewhere"):
        run("servicenow")
    from cli.reverse_sync import run_reverse_sync

    assert run_reverse_sync("servicenow") == 4  # the CLI says so, exit 4, no traceback
    assert "run elsewhere" in capsys.readouterr().err
    held_since(11)  # 11 minutes without a heartbeat (STALE_LOCK is 10): that push died
    assert run("servicenow").created == 1

    # a running push refreshes its own lock: slow writes and a 0.2-s heartbeat
    monkeypatch.setattr(state, "HEARTBEAT_SECONDS", 0.2)
    seen: list[object] = []
    real = state.refresh_run_lock

    def spy(conn, vendor, owner):
        held = real(conn, vendor, owner)
        seen.append(conn.query("select acquired_at from reverse_sync.run_locks where vendor = %s", (vendor,)))
        return held

    monkeypatch.setattr(state, "refresh_run_lock", spy)
    servicenow.faults.set(delay_seconds=0.3, methods=["POST"])
    write_outbound(duckdb_warehouse, "servicenow", remediation_rows(6))
    assert run("servicenow", concurrency=1).created == 3
    servicenow.faults.clear()
    assert len(seen) >= 2 and seen[0] != seen[-1], seen
    assert query(duckdb_warehouse, "select count(*) from reverse_sync.run_locks") == [(0,)]


def _hold_lock(owner: str, minutes_ago: float = 0) -> None:
    from assets.reverse_sync import state
    from resources.warehouse import WarehouseResource

    with WarehouseResource.from_env().connect() as conn:
        conn.execute("delete from reverse_sync.run_locks")
        conn.execute("insert into reverse_sync.run_locks values ('servicenow', 'holder', %s, %s)",
                     (owner, state.now() - timedelta(minutes=minutes_ago)))
        conn.raw.commit()


@pytest.mark.skipif(not __import__("os").path.exists("/proc/self/ns/pid"), reason="needs /proc PID namespaces")
def test_a_same_host_lock_is_judged_by_pid_namespace_and_start_time_not_the_pid_alone(servicenow, duckdb_warehouse):
    """A hostname shared by containers with their own PID namespaces: a holder in another namespace is alive
    whatever our PIDs say (taken over only once its heartbeat is stale); in ours, a live PID that now belongs
    to a process started at another time is a reused PID of a dead holder, taken over at once."""
    import os
    import socket

    from assets.reverse_sync import state
    from assets.reverse_sync.state import PushAlreadyRunning

    write_outbound(duckdb_warehouse, "servicenow", remediation_rows(2))
    assert run("servicenow").created == 2
    write_outbound(duckdb_warehouse, "servicenow", remediation_rows(3))
    host, ns, me = socket.gethostname(), state._pid_namespace(), os.getpid()
    unused = max(int(open("/proc/sys/kernel/pid_max").read()) - 1, 2)  # noqa: SIM115
    _hold_lock(f"{host}:{unused}:{int(ns) + 1}:999:x")  # another container's push, PID not ours to probe
    with pytest.raises(PushAlreadyRunning, match="run holder"):
        run("servicenow")
    _hold_lock(f"{host}:{me}:{ns}:{state._start_time(me)}:x")  # a live holder here (this very process)
    with pytest.raises(PushAlreadyRunning, match="run holder"):
        run("servicenow")
    _hold_lock(f"{host}:{me}:{ns}::x")  # start time unknown: judged by its heartbeat
    with pytest.raises(PushAlreadyRunning, match="run holder"):
        run("servicenow")
    _hold_lock(f"{host}:{me}:{int(ns) + 1}:999:x", minutes_ago=11)  # another container's push, heartbeat stale
    assert run("servicenow").created == 1
    write_outbound(duckdb_warehouse, "servicenow", remediation_rows(4))
    _hold_lock(f"{host}:{me}:{ns}:1:x")  # our namespace, a PID reused by a process started later: dead holder
    assert run("servicenow").created == 1
    assert query(duckdb_warehouse, "select count(*) from reverse_sync.run_locks") == [(0,)]


def test_a_push_that_loses_its_lock_starts_no_more_records_and_says_so(servicenow, duckdb_warehouse, monkeypatch):
    """The heartbeat finds the lock's row gone (or another push's): records in flight finish, no new one
    starts, and the run raises LockLost naming the fix; the next push writes the rest, once each."""
    from assets.reverse_sync import state
    from resources.warehouse import WarehouseResource

    monkeypatch.setattr(state, "HEARTBEAT_SECONDS", 0.05)
    rows = remediation_rows(8)
    write_outbound(duckdb_warehouse, "servicenow", rows)
    servicenow.faults.set(delay_seconds=0.3, methods=["POST"])
    real = state.refresh_run_lock
    beats: list[bool] = []

    def refresh(conn, vendor, owner):
        if len(beats) == 2:  # another push took the lock over
            with WarehouseResource.from_env().connect() as other:
                other.execute("update reverse_sync.run_locks set owner = 'elsewhere:1:2:3:x' where vendor = %s",
                              (vendor,))
        beats.append(real(conn, vendor, owner))
        return beats[-1]

    monkeypatch.setattr(state, "refresh_run_lock", refresh)
    with pytest.raises(state.LockLost, match="lost its run lock") as lost:
        run("servicenow", concurrency=1)
    assert "run the push again" in str(lost.value) and beats[-1] is False
    written = len(_sn_by_task(servicenow))
    assert 0 < written < 8, "stopped after the records in flight"
    assert query(duckdb_warehouse, "select owner from reverse_sync.run_locks") == [("elsewhere:1:2:3:x",)], \
        "the other push's lock is left alone"
    _hold_lock("elsewhere:1:2:3:x", minutes_ago=11)
    servicenow.faults.clear()
    monkeypatch.setattr(state, "refresh_run_lock", real)
    assert run("servicenow").created == 8 - written
    assert _sn_by_task(servicenow) == {r["remediation_task_id"]: 1 for r in rows}


@pytest.mark.postgres
def test_on_postgres_the_heartbeat_never_commits_or_rolls_back_the_runs_own_transaction(
        make_servicenow_sandbox, duckdb_warehouse, monkeypatch, tmp_path):
    """The heartbeat refreshes the lock on a connection of its own: on PostgreSQL a commit on the run's
    connection would have committed half of an end-of-run unit (here: the plan rows of a run that then
    fails), a rollback would have dropped the run's pending statements."""
    import threading

    import psycopg2

    from assets.reverse_sync import state
    from tests.conftest import fresh_postgres

    sb = make_servicenow_sandbox(size=10)
    sandbox_env(monkeypatch, sb)
    with fresh_postgres(tmp_path / "pgdata", prefix="rs_heartbeat") as settings:
        for key, value in settings.env().items():
            monkeypatch.setenv(key, value)
        c = settings.pg_credentials()
        pg = psycopg2.connect(host=c["host"], port=c["port"], user=c["username"], dbname=c["database"])
        rows = remediation_rows(3)
        with pg, pg.cursor() as cur:
            cur.execute("create schema outbound")
            cur.execute(f"create table outbound.{remediation_table_mart()} ({', '.join(f'{k} text' for k in rows[0])})")
            for r in rows:
                cur.execute(f"insert into outbound.{remediation_table_mart()} values ({', '.join(['%s'] * len(r))})",
                            [None if v is None else str(v) for v in r.values()])
        monkeypatch.setattr(state, "HEARTBEAT_SECONDS", 0.02)
        real_plan, real_refresh = state.record_plan, state.refresh_run_lock
        beat_threads: set[str] = set()

        def refresh(conn, vendor, owner):
            beat_threads.add(threading.current_thread().name)
            return real_refresh(conn, vendor, owner)

        def plan_then_fail(conn, *args, **kw):  # the end-of-run unit, left pending while the heartbeat beats
            real_plan(conn, *args, **kw)
            import time

            seen = len(beat_threads)
            deadline = time.monotonic() + 5
            while len(beat_threads) == seen and time.monotonic() < deadline:
                time.sleep(0.01)
            time.sleep(0.1)
            raise RuntimeError("the run stopped before its final commit")

        monkeypatch.setattr(state, "refresh_run_lock", refresh)
        monkeypatch.setattr(state, "record_plan", plan_then_fail)
        with pytest.raises(RuntimeError, match="final commit"):
            run("servicenow")
        assert beat_threads, "the heartbeat beat while the unit was pending"
        with pg, pg.cursor() as cur:
            cur.execute("select count(*) from reverse_sync.plans")
            assert cur.fetchone() == (0,), "the failed run's pending plan rows were not committed by the heartbeat"
            cur.execute("select count(*) from reverse_sync.run_locks")
            assert cur.fetchone() == (0,), "the lock was released"
        monkeypatch.setattr(state, "record_plan", real_plan)
        again = run("servicenow")  # each record's own unit (write, link) was committed as it finished
        assert (again.unchanged, again.created, again.writes) == (3, 0, 0)
        pg.close()


def remediation_table_mart() -> str:
    from assets.reverse_sync.vendors import TARGETS

    return TARGETS["servicenow"][0]
