"""Round 21: `python -m cli reverse-sync` reports records deferred by the vendor's 429s and counts them in
its exit status (they were not written: exit 1, like dead-lettered or paused ones); --help lists the exit
codes. The run summary's open-task table shows dbt's 'unknown' task priority."""

from __future__ import annotations

import duckdb
import pytest

from cli.__main__ import main
from tests import test_reverse_sync_attacks as attacks
from tests.reverse_sync_helpers import attestation_rows, write_outbound

onetrust = attacks.onetrust  # the OneTrust sandbox fixture, its variables set
_dead = attacks._dead


def test_help_lists_the_exit_codes(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["reverse-sync", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "exit status:" in out
    codes = {line.split()[0] for line in out.splitlines() if line.startswith("  ") and line.split()[0].isdigit()}
    assert codes == {"0", "1", "2", "3", "4"}
    one = out[out.index("\n  1  "):out.index("\n  2  ")]
    assert "deferred" in one and "429" in one and "dead-lettered" in one and "paused" in one


def test_deferred_records_alone_make_the_exit_status_1(monkeypatch, capsys):
    """A run whose only unwritten records were deferred (none dead-lettered or paused) is not a success."""
    import cli.reverse_sync as cli_push
    from assets.reverse_sync.engine import SyncReport

    report = SyncReport(created=2, deferred_rate_limited=3, writes=2)
    monkeypatch.setattr(cli_push, "sync_vendor_env", lambda *a, **k: report)
    assert cli_push.run_reverse_sync("onetrust", run_id="r21") == 1
    out = capsys.readouterr().out
    summary = next(line for line in out.splitlines() if line.startswith("summary:"))
    assert "deferred_rate_limited 3" in summary and "created 2" in summary
    assert "deferred: 3 records not sent in this run" in out
    assert "PROJECTX_PUSH_RATE_LIMIT_SECONDS" in out and "PROJECTX_PUSH_RATE_LIMITED_RECORDS" in out
    report.deferred_rate_limited = 0
    assert cli_push.run_reverse_sync("onetrust", run_id="r21b") == 0
    assert "deferred:" not in capsys.readouterr().out


def test_cli_push_against_a_vendor_that_keeps_answering_429(onetrust, duckdb_warehouse, monkeypatch, capsys):
    """Over real HTTP (the OneTrust sandbox answering 429 to every attestation POST): the CLI says how many
    records were deferred, exits 1, and the next push (the vendor healed) sends them and exits 0."""
    from pipelines.common import http

    monkeypatch.setattr(http.AdaptiveThrottle, "on_throttled", lambda self: None)  # fast: the count is the bound
    monkeypatch.setenv("PROJECTX_PUSH_RATE_LIMITED_RECORDS", "2")
    monkeypatch.setenv("PROJECTX_PUSH_CONCURRENCY", "1")
    write_outbound(duckdb_warehouse, "onetrust", attestation_rows(6))
    onetrust.faults.set(rate_429=1.0, retry_after=0, methods=["POST"], paths=[r"/attestations$"])
    assert main(["reverse-sync", "--vendor", "onetrust"]) == 1
    printed = capsys.readouterr()
    deferred = [e for e in _dead(duckdb_warehouse, "onetrust").values() if e.startswith("deferred")]
    assert deferred, "the sandbox's 429s deferred records"
    assert f"deferred: {len(deferred)} records not sent in this run" in printed.out, printed.out
    assert f"deferred_rate_limited {len(deferred)}" in printed.out
    onetrust.faults.clear()
    assert main(["reverse-sync", "--vendor", "onetrust"]) == 0
    healed = capsys.readouterr().out
    assert "deferred:" not in healed and "created 6" in healed, healed
    assert _dead(duckdb_warehouse, "onetrust") == {}


def test_open_tasks_table_shows_unknown_priority_after_the_known_ones():
    from cli.summary import open_tasks_table

    rows = [("risk-analyst", "unknown", 4), ("risk-analyst", "high", 2), ("jira-sec", "low", 1),
            ("jira-sec", "unknown", 3), ("jira-sec", "medium", 5)]
    lines = open_tasks_table(rows)
    assert lines[0].split() == ["queue", "high", "medium", "low", "unknown", "total"]
    assert lines[1].split() == ["jira-sec", "0", "5", "1", "3", "9"]
    assert lines[2].split() == ["risk-analyst", "2", "0", "0", "4", "6"]


def test_the_summary_reads_unknown_priorities_from_the_tasks_mart(tmp_path):
    """The query the run summary prints from, on a real DuckDB file: open tasks of priority 'unknown' (and a
    null priority, which must not crash the sort) are counted; closed ones are not."""
    from cli.summary import open_tasks, open_tasks_table
    from pipelines.common.warehouse import WarehouseSettings

    path = tmp_path / "wh.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        con.execute("create table marts.tasks (task_id varchar, queue varchar, priority varchar, status varchar)")
        con.execute("insert into marts.tasks values ('t1', 'risk-analyst', 'high', 'open'), "
                    "('t2', 'risk-analyst', 'unknown', 'open'), ('t3', 'risk-analyst', 'unknown', 'open'), "
                    "('t4', 'risk-analyst', 'unknown', 'closed'), ('t5', 'jira-sec', null, 'open')")
    settings = WarehouseSettings(duckdb_path=str(path))
    lines = open_tasks_table(open_tasks(settings))
    assert lines[0].split() == ["queue", "high", "unknown", "total"]
    assert lines[1].split() == ["jira-sec", "0", "1", "1"], "a null priority is counted as unknown"
    assert lines[2].split() == ["risk-analyst", "1", "2", "3"]
