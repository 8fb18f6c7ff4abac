"""Round 30b: a ServiceNow write a business rule set back, answered by a proxy (``{}``) instead of the record.

The push reads the record back when a PATCH's 2xx answer is not the record. A read-back showing the close (state
not closed) or the reopen set back was reported as "something other than ServiceNow answered" (status None):
counted by the breaker, not audited as a revert, not held, so the record was PATCHed on every push. Now it is the
same revert as when the answer is the record: audited close_reverted / update_reverted, dead-lettered (409) and
held. End to end against the ServiceNow sandbox: the PATCH reaches the instance (its rule runs), only the answer
is replaced.
"""

from __future__ import annotations

import requests

from assets.reverse_sync.servicenow import STATE_OPEN, VENDOR_CLOSED_STATES, remediation_table
from tests import test_reverse_sync_attacks as attacks
from tests.reverse_sync_helpers import query, run, write_outbound, writes
from tests.test_reverse_sync_servicenow import remediation_rows
from tests.test_round30_sn_close_reverted import RULE
from tests.test_round30_sn_update_reverted import NO_REOPEN

servicenow = attacks.servicenow  # the sandbox fixture
REAL_SEND = requests.adapters.HTTPAdapter.send


def _patch_answered_by_proxy(monkeypatch) -> None:
    """Each PATCH of the remediation table reaches the instance; a proxy answers 200 ``{}`` in its place."""

    def send(self, prepared, *args, **kw):
        answer = REAL_SEND(self, prepared, *args, **kw)
        if prepared.method == "PATCH" and f"/table/{remediation_table()}" in prepared.url:
            fake = requests.Response()
            fake.status_code, fake.url, fake.request = 200, prepared.url, prepared
            fake.headers = requests.structures.CaseInsensitiveDict({"Content-Type": "application/json"})
            fake._content = b"{}"
            return fake
        return answer

    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", send)


def _sys_id(settings, task: str) -> tuple[str, str]:
    [(vendor_id, status)] = query(settings, "select vendor_id, status from reverse_sync.external_links "
                                            f"where vendor = 'servicenow' and internal_id = '{task}'")
    return vendor_id, status


def _audited(settings, operation: str, sys_id: str) -> list[tuple]:
    return query(settings, "select status, detail from audit.events where action = 'push' and system = "
                           f"'servicenow' and operation = '{operation}' and object_id = '{sys_id}'")


def _patches(sb, sys_id: str) -> int:
    return sum(1 for w in writes(sb) if w["method"] == "PATCH" and w["path"].endswith(sys_id))


def test_a_close_set_back_behind_a_proxy_is_close_reverted_and_held(servicenow, duckdb_warehouse, monkeypatch):
    monkeypatch.delenv("PROJECTX_SERVICENOW_CLOSE_RETRY_SECONDS", raising=False)
    rows = remediation_rows(3)
    write_outbound(duckdb_warehouse, "servicenow", rows)
    assert run("servicenow").created == 3
    task = rows[0]["remediation_task_id"]
    sys_id = _sys_id(duckdb_warehouse, task)[0]
    servicenow.insert("sys_script", RULE)
    servicenow.insert(remediation_table(), {"short_description": "child", "parent": sys_id})
    write_outbound(duckdb_warehouse, "servicenow", rows[1:])
    _patch_answered_by_proxy(monkeypatch)
    servicenow.clear_request_log()
    push = run("servicenow", run_id="passes", circuit_breakers=True, breaker_threshold=1)
    assert push.closed == 0 and push.dead_lettered == 1, push.as_metadata()
    assert push.breaker_state == "closed", "a rule's revert says nothing of ServiceNow's health"
    assert servicenow.get(remediation_table(), sys_id)["state"] == STATE_OPEN
    assert _sys_id(duckdb_warehouse, task) == (sys_id, "open")
    assert attacks._dead(duckdb_warehouse, "servicenow")[task].startswith("close_reverted:")
    [(status, _detail)] = _audited(duckdb_warehouse, "close_reverted", sys_id)
    assert status == "200"
    servicenow.clear_request_log()
    again = run("servicenow", run_id="a-minute-later")
    assert again.dead_lettered == 1 and _patches(servicenow, sys_id) == 0, "held: not PATCHed on every push"
    assert attacks._dead(duckdb_warehouse, "servicenow")[task].startswith("deferred: close_reverted:")


def test_a_reopen_set_back_behind_a_proxy_is_update_reverted_and_held(servicenow, duckdb_warehouse, monkeypatch):
    monkeypatch.delenv("PROJECTX_SERVICENOW_CLOSE_RETRY_SECONDS", raising=False)
    rows = remediation_rows(3)
    write_outbound(duckdb_warehouse, "servicenow", rows)
    assert run("servicenow").created == 3
    task = rows[0]["remediation_task_id"]
    write_outbound(duckdb_warehouse, "servicenow", rows[1:])
    assert run("servicenow", run_id="passes").closed == 1
    sys_id = _sys_id(duckdb_warehouse, task)[0]
    servicenow.insert("sys_script", NO_REOPEN)
    write_outbound(duckdb_warehouse, "servicenow", rows)
    _patch_answered_by_proxy(monkeypatch)
    push = run("servicenow", run_id="fails-again", circuit_breakers=True, breaker_threshold=1)
    assert push.reopened == 0 and push.dead_lettered == 1, push.as_metadata()
    assert push.breaker_state == "closed"
    assert servicenow.get(remediation_table(), sys_id)["state"] in VENDOR_CLOSED_STATES
    assert _sys_id(duckdb_warehouse, task)[1] == "closed"
    assert attacks._dead(duckdb_warehouse, "servicenow")[task].startswith("update_reverted:")
    assert len(_audited(duckdb_warehouse, "update_reverted", sys_id)) == 1
    servicenow.clear_request_log()
    assert run("servicenow", run_id="a-minute-later").dead_lettered == 1 and _patches(servicenow, sys_id) == 0


def test_a_proxy_answer_for_a_write_that_landed_is_still_done(servicenow, duckdb_warehouse, monkeypatch):
    rows = remediation_rows(2)
    write_outbound(duckdb_warehouse, "servicenow", rows)
    run("servicenow")
    write_outbound(duckdb_warehouse, "servicenow", rows[1:])
    _patch_answered_by_proxy(monkeypatch)
    push = run("servicenow", run_id="passes")
    assert push.closed == 1 and push.dead_lettered == 0, push.failures
