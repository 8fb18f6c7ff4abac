"""The warehouse as a Dagster resource: DuckDB file (embedded default) or PostgreSQL (scale-out)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any

from dagster import ConfigurableResource

from pipelines.common.warehouse import WarehouseSettings


class WarehouseResource(ConfigurableResource):
    """Where dlt loads, dbt builds and reverse sync keeps its link tables."""

    kind: str = "duckdb"
    duckdb_path: str = WarehouseSettings().duckdb_path
    data_dir: str = WarehouseSettings().data_dir

    @classmethod
    def from_env(cls) -> WarehouseResource:
        s = WarehouseSettings.from_env()
        return cls(kind=s.kind, duckdb_path=s.duckdb_path, data_dir=s.data_dir)

    @property
    def settings(self) -> WarehouseSettings:
        """PostgreSQL connection details come from libpq's PG* variables at run time, never config."""
        env = WarehouseSettings.from_env()
        return WarehouseSettings(
            kind=self.kind, duckdb_path=self.duckdb_path, data_dir=self.data_dir,
            pg_host=env.pg_host, pg_port=env.pg_port, pg_user=env.pg_user,
            pg_password=env.pg_password, pg_database=env.pg_database,
        )

    def export_env(self) -> None:
        """Make a dbt subprocess (which reads profiles.yml's env vars) target this warehouse."""
        os.environ.update(self.settings.env())

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        s = self.settings
        if s.kind == "duckdb":
            import duckdb

            raw = duckdb.connect(s.duckdb_path)
        else:
            import psycopg2

            c = s.pg_credentials()
            raw = psycopg2.connect(host=c["host"], port=c["port"], user=c["username"],
                                   password=c["password"], dbname=c["database"])
        conn = Connection(raw, s.kind)
        try:
            yield conn
            raw.commit()
        except BaseException:
            with suppress(Exception):  # DuckDB refuses a rollback with no transaction open: keep the real error
                raw.rollback()
            raise
        finally:
            raw.close()


_IDEMPOTENT_DDL = re.compile(r"\s*create\s+(unique\s+)?(schema|table|index|sequence|view)\s+if\s+not\s+exists\b",
                            re.IGNORECASE)


class Connection:
    """A DB-API connection with one parameter style (``%s``) for both engines."""

    def __init__(self, raw: Any, kind: str):
        self.raw = raw
        self.kind = kind

    def _sql(self, sql: str) -> str:
        return sql.replace("%s", "?") if self.kind == "duckdb" else sql

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; returns the rows it changed (the driver's rowcount, -1 when it has none)."""
        cur = self.raw.cursor()
        if self.kind == "postgres" and _IDEMPOTENT_DDL.match(sql):
            self._create_if_missing(cur, sql, params)
            return -1
        cur.execute(self._sql(sql), tuple(params))
        return cur.rowcount

    def another(self) -> Connection:
        """A second connection to the same warehouse with a transaction of its own (close it when done):
        what one thread commits or rolls back on it never touches this connection's open transaction.
        DuckDB: ``cursor()`` is a new connection to the same database instance (the one a second
        ``duckdb.connect`` of the same path in this process shares). PostgreSQL: a new session with this
        one's connection parameters."""
        if self.kind == "duckdb":
            return Connection(self.raw.cursor(), self.kind)
        import psycopg2

        params = {k: v for k, v in self.raw.info.dsn_parameters.items() if v not in (None, "")}
        if self.raw.info.password:
            params["password"] = self.raw.info.password
        return Connection(psycopg2.connect(**params), self.kind)

    @staticmethod
    def _create_if_missing(cur, sql: str, params: Sequence[Any]) -> None:
        """``create ... if not exists`` on PostgreSQL is not safe against a concurrent creator: the
        second transaction waits on the first and then fails with a duplicate key in the catalog
        (seen with two Celery workers creating ``audit`` at once). The statement runs in a savepoint,
        and "someone else created it meanwhile" counts as done."""
        from psycopg2 import errors

        cur.execute("savepoint projectx_create_if_missing")
        try:
            cur.execute(sql, tuple(params))
        except (errors.UniqueViolation, errors.DuplicateSchema, errors.DuplicateTable, errors.DuplicateObject):
            cur.execute("rollback to savepoint projectx_create_if_missing")
        else:
            cur.execute("release savepoint projectx_create_if_missing")

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        cur = self.raw.cursor()
        cur.execute(self._sql(sql), tuple(params))
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        rows = self.query(sql, params)
        return next(iter(rows[0].values())) if rows else None

    def table_exists(self, schema: str, table: str) -> bool:
        return bool(self.scalar(
            "select count(*) from information_schema.tables where table_schema = %s and table_name = %s",
            (schema, table),
        ))

    def columns(self, schema: str, table: str) -> set[str]:
        """The table's column names (none when it does not exist); dlt adds a column with its first value."""
        return {r["column_name"] for r in self.query(
            "select column_name from information_schema.columns where table_schema = %s and table_name = %s",
            (schema, table))}
