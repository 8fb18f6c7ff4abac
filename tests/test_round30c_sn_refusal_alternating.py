"""Round 30c: an account-wide refusal of a push alternating updates and creates stops after three writes.

A real instance words the ACL refusal per operation: "ACL Exception Update Failed due to security constraints"
for a PATCH, "ACL Exception Insert Failed ..." for a POST. The refusal signature kept that word, so an update
and a create refused alike were two different refusals: a push alternating update / create never reached three
in a row and sent (and dead-lettered) every record. The sandbox now words an injected 403 on a write the same
way, and the signature drops the operation. End to end against the ServiceNow sandbox over HTTP.
"""

from __future__ import annotations

from assets.reverse_sync.refusal import signature
from pipelines.common.http import VendorError
from tests import test_reverse_sync_attacks as attacks
from tests.reverse_sync_helpers import run, write_outbound, writes
from tests.test_reverse_sync_servicenow import remediation_rows

servicenow = attacks.servicenow  # the sandbox fixture
WRITES = ["POST", "PATCH", "PUT", "DELETE"]


def test_update_and_insert_acl_refusals_sign_alike():
    update = VendorError("PATCH /api/now/table/x_task/0123456789abcdef0123456789abcdef: Operation Failed: "
                         "ACL Exception Update Failed due to security constraints", 403)
    insert = VendorError("POST /api/now/table/x_task: Operation Failed: ACL Exception Insert Failed due to "
                         "security constraints", 403)
    assert signature(update) is not None and signature(update) == signature(insert)


def test_a_refused_account_alternating_updates_and_creates_stops_after_three(servicenow, duckdb_warehouse):
    sb, settings = servicenow, duckdb_warehouse
    rows = remediation_rows(10)
    even, odd = rows[0::2], rows[1::2]
    write_outbound(settings, "servicenow", even)
    assert run("servicenow").created == 5
    # in key order: rem-sn-00000 update, 00001 create, 00002 update, 00003 create, ...
    write_outbound(settings, "servicenow", [{**r, "description": r["description"] + " Still failing."}
                                            for r in even] + odd)
    sb.clear_request_log()
    sb.faults.replace(rate_403=1.0, methods=WRITES)  # the write role is gone; reads work
    push = run("servicenow", run_id="role-lost-mixed", circuit_breakers=False, concurrency=1)
    sent = writes(sb)
    assert {w["method"] for w in sent} >= {"POST", "PATCH"}, sent
    # each refused write is sent again once after a token refresh (a 403 may be a stale token): 3 records, 6 calls
    assert len(sent) <= 6, f"{len(sent)} writes sent: {[(w['method'], w['path']) for w in sent]}"
    assert [w["method"] for w in sent][::2] == ["PATCH", "POST", "PATCH"]
    assert push.dead_lettered == 3 and push.deferred_refused == 7, push.as_metadata()
    dead = attacks._dead(settings, "servicenow")
    assert any("Insert Failed" in e for e in dead.values()) and any("Update Failed" in e for e in dead.values())
    assert len([e for e in dead.values() if e.startswith("deferred:")]) == 7
