"""Round 30c: a record that needed no write does not end the account-refusal watch.

``sync.refusal.success()`` ran for every record done, also one adopted with nothing to send (its link lost,
the record at ServiceNow already showing our values). Coming first, it ended the watch, and with the write
role gone every later record was sent and dead-lettered. Only a write sent and accepted ends it now.
End to end against the ServiceNow sandbox over HTTP.
"""

from __future__ import annotations

import duckdb

from tests import test_reverse_sync_attacks as attacks
from tests.reverse_sync_helpers import run, write_outbound, writes
from tests.test_reverse_sync_servicenow import remediation_rows

servicenow = attacks.servicenow  # the sandbox fixture
WRITES = ["POST", "PATCH", "PUT", "DELETE"]


def test_an_adoption_with_nothing_to_send_does_not_stop_the_refusal_watch(servicenow, duckdb_warehouse):
    sb, settings = servicenow, duckdb_warehouse
    rows = remediation_rows(5)
    write_outbound(settings, "servicenow", rows)
    assert run("servicenow").created == 5
    with duckdb.connect(settings.duckdb_path) as con:  # the first record's link is lost: adopted, nothing to send
        con.execute("delete from reverse_sync.external_links where internal_id = 'rem-sn-00000'")
    write_outbound(settings, "servicenow", [rows[0]] + [{**r, "description": r["description"] + " Again."}
                                                        for r in rows[1:]] + remediation_rows(5, start=5))
    sb.clear_request_log()
    sb.faults.replace(rate_403=1.0, methods=WRITES)  # the write role is gone
    push = run("servicenow", run_id="role-lost", circuit_breakers=False, concurrency=1)
    assert push.adopted == 1, push.as_metadata()
    assert push.dead_lettered == 3 and push.deferred_refused == 6, push.as_metadata()
    assert len(writes(sb)) <= 6, writes(sb)  # 3 records, each sent again once after a token refresh
    dead = attacks._dead(settings, "servicenow")
    assert "rem-sn-00000" not in dead and len([e for e in dead.values() if e.startswith("deferred:")]) == 6
