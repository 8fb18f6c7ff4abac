"""Scale-out path: the same dlt source and dbt models on PostgreSQL give the same marts as DuckDB."""

from __future__ import annotations

import dataclasses
import uuid

import duckdb
import psycopg2
import pytest

from pipelines.common.warehouse import WarehouseSettings
from tests.dbt_helpers import dbt
from tests.test_servicenow_source import _source

pytestmark = pytest.mark.postgres


@pytest.fixture
def postgres_warehouse(tmp_path):
    name = f"projectx_test_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname="postgres")
    admin.autocommit = True
    admin.cursor().execute(f'create database "{name}"')
    settings = dataclasses.replace(WarehouseSettings(), kind="postgres", pg_database=name,
                                   data_dir=str(tmp_path / "pgdata"))
    yield settings
    admin.cursor().execute(f'drop database if exists "{name}" with (force)')
    admin.close()


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
