"""Round 27: a comment or changelog id Jira serves under one issue, then under another in a later run, is two raw
rows (each issue's children are replaced only when that issue syncs). Staging keeps the latest load's, so the
``unique`` tests on ``stg_jira__comments`` / ``stg_jira__issue_changelog`` hold and the build goes on."""

from __future__ import annotations

import duckdb

from tests.dbt_helpers import dbt

COMMENTS = ["id", "issue_id", "issue_key", "author_account_id", "update_author_account_id", "body_text", "created",
            "updated", "_dlt_load_id"]
CHANGELOG = ["id", "history_id", "item_index", "issue_id", "issue_key", "author_account_id", "created", "field",
             "field_id", "field_type", "from_value", "from_string", "to_value", "to_string", "_dlt_load_id"]
STAMP = "2026-12-01T10:00:00.000+0000"


def _insert(con, table: str, cols: list[str], row: dict) -> None:
    full = {c: None for c in cols} | row
    con.execute(f"insert into jira.{table} ({', '.join(cols)}, _tombstone) values ({', '.join('?' * len(cols))}, "
                "false)", [full[c] for c in cols])


def test_an_id_served_under_two_issues_in_two_runs_is_staged_once(duckdb_warehouse, tmp_path):
    with duckdb.connect(duckdb_warehouse.duckdb_path) as con:
        con.execute("create schema jira")
        for table, cols in (("comments", COMMENTS), ("issue_changelog", CHANGELOG)):
            con.execute(f"create table jira.{table} ({', '.join(c + ' varchar' for c in cols)}, _tombstone boolean)")
        for issue, key, load, text in (("10001", "SEC-1", "1764583200.1", "first"),
                                       ("10002", "SEC-2", "1764586800.2", "moved")):
            _insert(con, "comments", COMMENTS, {"id": "500", "issue_id": issue, "issue_key": key, "body_text": text,
                                                "created": STAMP, "updated": STAMP, "_dlt_load_id": load})
            _insert(con, "issue_changelog", CHANGELOG, {
                "id": "700:0", "history_id": "700", "item_index": "0", "issue_id": issue, "issue_key": key,
                "created": STAMP, "field": "status", "to_string": text, "_dlt_load_id": load})
        _insert(con, "comments", COMMENTS, {"id": "501", "issue_id": "10001", "issue_key": "SEC-1", "body_text": "ok",
                                            "created": STAMP, "updated": STAMP, "_dlt_load_id": "1764583200.1"})
    built = dbt(duckdb_warehouse, tmp_path / "dbt", "build", "--select", "stg_jira__comments",
                "stg_jira__issue_changelog")
    assert built.returncode == 0, built.stdout[-3000:]
    with duckdb.connect(duckdb_warehouse.duckdb_path, read_only=True) as con:
        comments = con.execute("select comment_id, issue_key, body_text from staging.stg_jira__comments "
                               "order by comment_id").fetchall()
        changes = con.execute("select changelog_item_id, issue_key, to_string from staging.stg_jira__issue_changelog"
                              ).fetchall()
    assert comments == [("500", "SEC-2", "moved"), ("501", "SEC-1", "ok")]
    assert changes == [("700:0", "SEC-2", "moved")]
