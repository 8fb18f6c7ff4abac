"""Round 30: an account-wide write refusal dead-lettered every record on every push.

The integration user lost its write role: every insert and update answers 403 "Operation Failed" / ACL
exception (or 401 on writes only). Each refusal reads as "this record" (no breaker count), and with the breaker
off (every environment but prod) a push sent one failing write per record, run after run. Now three refusals in
a row with the same account-level answer and no success stop the push: the rest wait as ``deferred:`` naming
the role to grant, the CLI exits 2 with one line, and nothing secret is said. A refusal of one record (an ACL
on that record, a business rule aborting it) among successes still dead-letters only that record.
End to end against the ServiceNow sandbox over HTTP.
"""

from __future__ import annotations

import logging

import pytest

from assets.reverse_sync.servicenow import remediation_table
from cli.reverse_sync import run_reverse_sync
from tests import test_reverse_sync_attacks as attacks
from tests.reverse_sync_helpers import run, write_outbound, writes
from tests.test_reverse_sync_servicenow import remediation_rows

servicenow = attacks.servicenow  # the sandbox fixture
WRITES = ["POST", "PATCH", "PUT", "DELETE"]


def _edited(rows: list[dict]) -> list[dict]:
    return [{**r, "description": r["description"] + " Still failing."} for r in rows]


@pytest.fixture
def pushed(servicenow, duckdb_warehouse):
    """Five records pushed; the mart then changes all five and adds five (ten writes to make)."""
    rows = remediation_rows(5)
    write_outbound(duckdb_warehouse, "servicenow", rows)
    assert run("servicenow").created == 5
    write_outbound(duckdb_warehouse, "servicenow", _edited(rows) + remediation_rows(5, start=5))
    servicenow.clear_request_log()
    return servicenow, duckdb_warehouse


def _secrets(sb) -> list[str]:
    creds = sb.credentials
    return [creds[k] for k in ("password", "client_secret")]


@pytest.mark.parametrize("status", [403, 401])
def test_a_refused_account_stops_after_three_writes_and_defers_the_rest(pushed, status, caplog):
    sb, settings = pushed
    sb.faults.replace(**{f"rate_{status}": 1.0}, methods=WRITES)  # reads work, every write is refused
    with caplog.at_level(logging.ERROR):
        push = run("servicenow", run_id="role-lost", circuit_breakers=False)
    assert push.dead_lettered == 3 and push.deferred_refused == 7, push.as_metadata()
    attempted = {w["path"].rsplit("/", 1)[-1] for w in writes(sb)}
    assert len(attempted) <= 3, f"writes for {len(attempted)} records: {sorted(attempted)}"
    dead = attacks._dead(settings, "servicenow")
    deferred = [e for e in dead.values() if e.startswith("deferred:")]
    assert len(dead) == 10 and len(deferred) == 7
    assert all("itil" in e and "refused 3 writes in a row" in e for e in deferred)
    lines = [r.getMessage() for r in caplog.records if "refused for the whole account" in r.getMessage()]
    assert len(lines) == 1 and "7 records deferred" in lines[0] and "itil" in lines[0]
    said = " ".join([*dead.values(), *lines, *push.failures, push.stopped])
    assert not any(s and s in said for s in _secrets(sb))

    sb.faults.clear()  # the role is given back: the next push writes everything
    again = run("servicenow", run_id="role-back", circuit_breakers=False)
    assert again.deferred_refused == 0 and again.dead_lettered == 0, again.failures
    assert again.created == 5 and again.updated == 5 and attacks._dead(settings, "servicenow") == {}


def test_the_cli_exits_2_with_one_line_naming_the_role(pushed, capsys):
    sb, _settings = pushed
    sb.faults.replace(rate_403=1.0, methods=WRITES)
    assert run_reverse_sync("servicenow", run_id="cli-refused") == 2
    err = capsys.readouterr().err
    [line] = [x for x in err.splitlines() if x.startswith("refused:")]
    assert "itil" in line and "7 records deferred" in line
    assert not any(s in err for s in _secrets(sb))


def test_one_record_refused_by_an_acl_among_successes_dead_letters_only_it(pushed):
    sb, settings = pushed
    [first] = [r["sys_id"] for r in sb.records(remediation_table()) if r["correlation_id"] == "rem-sn-00000"]
    sb.faults.replace(rate_403=1.0, methods=["PATCH"], paths=[first])  # an ACL on that one record
    push = run("servicenow", run_id="one-acl", circuit_breakers=False, concurrency=1)
    assert push.dead_lettered == 1 and push.deferred_refused == 0, push.as_metadata()
    assert push.created == 5 and push.updated == 4
    [(task, error)] = attacks._dead(settings, "servicenow").items()
    assert task == "rem-sn-00000" and "ACL" in error and not error.startswith("deferred:")


def test_three_records_aborted_by_a_business_rule_in_a_row_do_not_stop_the_push(pushed):
    sb, settings = pushed
    sb.insert("sys_script", {"name": "no edits of the first three", "collection": "task", "when": "before",
                             "action_update": "true", "abort_action": "true",
                             "filter_condition": "correlation_idINrem-sn-00000,rem-sn-00001,rem-sn-00002"})
    push = run("servicenow", run_id="rule", circuit_breakers=False, concurrency=1)
    assert push.dead_lettered == 3 and push.deferred_refused == 0, push.as_metadata()
    assert push.created == 5 and push.updated == 2
    dead = attacks._dead(settings, "servicenow")
    assert sorted(dead) == ["rem-sn-00000", "rem-sn-00001", "rem-sn-00002"]
    assert all("Business Rule" in e for e in dead.values())
