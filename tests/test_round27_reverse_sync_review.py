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


@pytest.mark.parametrize("value", ["abc", "nan", "0"])
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
    assert sb.request_log == [], "stopped before any vendor call"
