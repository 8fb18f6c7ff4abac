"""Scale-out path: the same dlt source and dbt models on PostgreSQL give the same marts as DuckDB."""

from __future__ import annotations

import duckdb
import psycopg2
import pytest

from tests.conftest import fresh_postgres
from tests.dbt_helpers import dbt
from tests.test_servicenow_source import _source

pytestmark = pytest.mark.postgres


@pytest.fixture
def postgres_warehouse(tmp_path):
    with fresh_postgres(tmp_path / "pgdata") as settings:
        yield settings


CONTROL_SUMMARY = "select control_id, status, count(*) from marts.control_results group by 1, 2 order by 1, 2"
TASK_SUMMARY = "select task_type, priority, queue, count(*) from marts.tasks group by 1, 2, 3 order by 1, 2, 3"


def test_dbt_builds_on_postgres_like_on_duckdb(make_servicenow_sandbox, duckdb_warehouse,
                                                postgres_warehouse, tmp_path):
    sandbox = make_servicenow_sandbox(size=300)
    for settings in (duckdb_warehouse, postgres_warehouse):
        settings.pipeline("servicenow").run(_source(sandbox), loader_file_format="parquet"
                                            if settings.kind == "duckdb" else None)
        result = dbt(settings, tmp_path / f"target_{settings.kind}", "build")
        assert result.returncode == 0, result.stdout[-3000:]

    with duckdb.connect(duckdb_warehouse.duckdb_path, read_only=True) as con:
        duck = [con.execute(CONTROL_SUMMARY).fetchall(), con.execute(TASK_SUMMARY).fetchall()]
    c = postgres_warehouse.pg_credentials()
    with psycopg2.connect(host=c["host"], port=c["port"], user=c["username"], dbname=c["database"]) as pg:
        cur = pg.cursor()
        pg_rows = []
        for sql in (CONTROL_SUMMARY, TASK_SUMMARY):
            cur.execute(sql)
            pg_rows.append([tuple(r) for r in cur.fetchall()])
    assert duck == pg_rows
    assert any(status == "fail" for _, status, _ in duck[0])


def test_two_writers_creating_the_audit_schema_at_once_both_succeed(postgres_warehouse):
    """Two Celery workers' first audit events at the same moment: the second ``create schema if not
    exists`` waits for the first transaction and would fail on PostgreSQL's catalog index; both commit."""
    import threading

    from resources.audit import record_event
    from resources.warehouse import Connection

    c = postgres_warehouse.pg_credentials()

    def raw():
        return psycopg2.connect(host=c["host"], port=c["port"], user=c["username"], dbname=c["database"])

    first, second = Connection(raw(), "postgres"), Connection(raw(), "postgres")
    record_event(first, action="pull", system="servicenow", correlation_id="c-1")  # schema created, not committed
    errors: list[BaseException] = []

    def late_writer():
        try:
            record_event(second, action="pull", system="jira", correlation_id="c-2")  # waits on the first
            second.raw.commit()
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=late_writer)
    thread.start()
    thread.join(timeout=1.0)
    assert thread.is_alive(), "the second creator should wait for the first transaction"
    first.raw.commit()
    thread.join(timeout=30)
    assert not errors, errors
    for conn in (first, second):
        conn.raw.close()
    with raw() as check, check.cursor() as cur:
        cur.execute("select system from audit.events order by system")
        assert [r[0] for r in cur.fetchall()] == ["jira", "servicenow"]
