"""One connection to the inbox, SQLite or PostgreSQL, with one SQL dialect for the statements.

Statements are written with ``?`` placeholders and run unchanged on SQLite; on PostgreSQL the
placeholders become ``%s`` and tables live in schema ``webhooks`` (the connection's search_path).
Only the DDL differs (the auto-increment key).

Tables (grain):
- ``webhook_events``: one row per distinct accepted delivery (``source``, ``delivery_id`` unique);
  its processing state: pending → launched (a sync run asked for) → done, or retry → dead.
- ``webhook_dead_letters``: one row per event that failed 10 processing attempts (until replayed).
- ``webhook_quarantine``: one row per signed delivery whose payload broke its contract (kept as evidence).
- ``webhook_rejections``: one row per rejected request (no valid signature, too big, wrong type...);
  only a bounded prefix of the body is kept.
- ``webhook_digests``: one row per signed message (sha256 of what the signature covers) accepted on an
  endpoint whose delivery id is not signed (ServiceNow, Jira), with the id it came under: the same
  message under another id within the replay window is a replay. Pruned past the window.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from pipelines.common.envvars import shown
from webhooks.settings import WebhookSettings

TABLES = """
create table if not exists webhook_events (
    seq {serial} primary key, source varchar not null, delivery_id varchar not null,
    event_type varchar not null, received_at double precision not null, body text not null,
    status varchar not null default 'pending', attempts integer not null default 0,
    next_attempt_at double precision not null default 0, last_error text, run_key varchar,
    launched_at double precision, done_at double precision, correlation_id varchar, audited_at double precision,
    unique (source, delivery_id));
create index if not exists webhook_events_status on webhook_events (status, next_attempt_at);
create index if not exists webhook_events_unaudited on webhook_events (audited_at, status);
create table if not exists webhook_dead_letters (
    seq bigint primary key, source varchar not null, delivery_id varchar not null,
    event_type varchar not null, attempts integer not null, last_error text,
    dead_at double precision not null);
create table if not exists webhook_quarantine (
    id {serial} primary key, source varchar not null, delivery_id varchar not null,
    event_type varchar, reason text not null, body_b64 text not null, received_at double precision not null,
    unique (source, delivery_id));
create table if not exists webhook_rejections (
    id {serial} primary key, received_at double precision not null, endpoint varchar not null,
    remote_addr varchar, reason varchar not null, content_length bigint, body_prefix_b64 text);
create index if not exists webhook_rejections_time on webhook_rejections (received_at);
create table if not exists webhook_digests (
    source varchar not null, digest varchar not null, delivery_id varchar not null,
    received_at double precision not null, primary key (source, digest));
create index if not exists webhook_digests_time on webhook_digests (received_at);
"""


class Database:
    """A DB-API connection plus the dialect's placeholder; ``execute`` takes ``?`` SQL."""

    def __init__(self, conn: Any, kind: str) -> None:
        self.conn, self.kind = conn, kind

    def sql(self, statement: str) -> str:
        return statement.replace("?", "%s") if self.kind == "postgres" else statement

    def execute(self, statement: str, params: tuple | list = ()) -> Any:
        cur = self.conn.cursor()
        cur.execute(self.sql(statement), tuple(params))
        return cur

    def query(self, statement: str, params: tuple | list = ()) -> list[tuple]:
        cur = self.execute(statement, params)
        rows = cur.fetchall()
        cur.close()
        return rows

    def begin(self) -> None:
        if self.kind == "sqlite":
            self.conn.execute("begin immediate")  # take the write lock now: no upgrade deadlock later

    def commit(self) -> None:
        self.conn.commit()

    def rollback(self) -> None:
        self.conn.rollback()

    def close(self) -> None:
        self.conn.close()


def open_database(settings: WebhookSettings) -> Database:
    """Connect (creating the tables) as the settings say; errors name the setting to check."""
    if settings.inbox_kind == "postgres":
        import psycopg2

        pg = settings.pg
        try:
            conn = psycopg2.connect(host=pg.pg_host, port=pg.pg_port, user=pg.pg_user,
                                    password=pg.pg_password or None, dbname=pg.pg_database,
                                    connect_timeout=5)
        except psycopg2.OperationalError as exc:
            raise RuntimeError(f"The webhook inbox cannot reach PostgreSQL {pg.pg_host}:{pg.pg_port}/"
                               f"{pg.pg_database}: check PGHOST/PGPORT/PGUSER/PGDATABASE "
                               f"({type(exc).__name__})") from None
        with conn.cursor() as cur:
            # Receivers starting together would race on "if not exists" (the second fails on the
            # catalog's unique index): one creates the schema and tables at a time, in one transaction.
            cur.execute("select pg_advisory_xact_lock(hashtext('projectx.webhooks.ddl'))")
            cur.execute("create schema if not exists webhooks")
            cur.execute("set search_path to webhooks")
        db = Database(conn, "postgres")
        for statement in filter(str.strip, TABLES.format(serial="bigserial").split(";")):
            db.execute(statement)
        db.commit()
        return db
    path = Path(settings.sqlite_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if settings.synchronous not in ("FULL", "EXTRA", "NORMAL", "OFF"):
        raise ValueError(f"PROJECTX_WEBHOOK_SYNCHRONOUS={shown(settings.synchronous)}: use FULL (default), EXTRA, "
                         "NORMAL or OFF")
    conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    conn.execute("pragma journal_mode=wal")
    conn.execute(f"pragma synchronous={settings.synchronous}")
    conn.execute("pragma busy_timeout=30000")
    conn.executescript(TABLES.format(serial="integer"))
    conn.isolation_level = ""  # back to implicit transactions: commit() ends what begin()/a write opened
    return Database(conn, "sqlite")
