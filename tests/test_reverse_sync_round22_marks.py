"""Round 22 (review): ``reverse_sync.pending_creates`` marks. A mark is taken before the send, whose 429 waits
(bounded by ``PROJECTX_PUSH_RATE_LIMIT_SECONDS``) come first, so a create killed mid-send may have left up to
that much later than marked: the hold counts from the mark plus that budget. Marks nothing clears (a record
resolved before its next push) are pruned after a day, when the next mark is taken."""

from __future__ import annotations

from datetime import timedelta

import duckdb

from assets.reverse_sync import unsettled
from assets.reverse_sync.state import SCHEMA
from resources.warehouse import Connection


def _conn(settings) -> Connection:
    conn = Connection(duckdb.connect(settings.duckdb_path), "duckdb")
    conn.execute(f"create schema if not exists {SCHEMA}")
    for ddl in unsettled.DDL_ALL:
        conn.execute(ddl)
    return conn


def _age(conn: Connection, internal_id: str, seconds: float) -> None:
    conn.execute(f"update {SCHEMA}.pending_creates set sent_at = %s where internal_id = %s",
                 (unsettled._now() - timedelta(seconds=seconds), internal_id))


def test_a_mark_holds_for_the_window_plus_the_rate_limit_budget(duckdb_warehouse, monkeypatch):
    monkeypatch.setenv("PROJECTX_PUSH_RATE_LIMIT_SECONDS", "300")
    conn = _conn(duckdb_warehouse)
    unsettled.mark_sent(conn, "servicenow", "rem-1", "run-1", "corr-1")
    _age(conn, "rem-1", 500)  # marked 500 s ago: past a 300-s window, but it may have waited 300 s on 429s
    assert unsettled.unsettled_create(conn, "servicenow", "rem-1", 300) is not None
    _age(conn, "rem-1", 700)
    assert unsettled.unsettled_create(conn, "servicenow", "rem-1", 300) is None
    monkeypatch.setenv("PROJECTX_PUSH_RATE_LIMIT_SECONDS", "60")
    _age(conn, "rem-1", 500)
    assert unsettled.unsettled_create(conn, "servicenow", "rem-1", 300) is None


def test_marks_older_than_a_day_are_pruned_when_the_next_is_taken(duckdb_warehouse):
    conn = _conn(duckdb_warehouse)
    unsettled.mark_sent(conn, "jira", "rem-old", "run-1", "corr-1")
    unsettled.mark_sent(conn, "jira", "rem-recent", "run-1", "corr-2")
    _age(conn, "rem-old", 2 * 86400)
    _age(conn, "rem-recent", 3600)
    unsettled.mark_sent(conn, "servicenow", "rem-new", "run-2", "corr-3")
    left = {r[0] for r in conn.raw.execute(f"select internal_id from {SCHEMA}.pending_creates").fetchall()}
    assert left == {"rem-recent", "rem-new"}
