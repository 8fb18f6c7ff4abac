"""Round 30b: the OneTrust staging models expose ``updated_at_utc`` (the parsed instant round 30 added to every
OneTrust raw table) as a timestamp, on DuckDB and on PostgreSQL, and still build on a table loaded before it
(no such column: the instant parsed from ``updated_at``). Sandbox over HTTP -> dlt -> warehouse -> dbt."""

from __future__ import annotations

import duckdb
import psycopg2
import pytest

from tests.conftest import fresh_postgres
from tests.dbt_helpers import dbt
from tests.test_dbt_marts import _onetrust

pytestmark = [pytest.mark.postgres]

MODELS = ["assessments", "risks", "vendor_assessments", "vendors"]
SELECT = ["path:models/staging/onetrust"]


def _build(settings, target) -> None:
    result = dbt(settings, target, "build", "-s", *SELECT)
    assert result.returncode == 0, result.stdout[-4000:]


def _check(rows, types) -> None:
    for model in MODELS:
        assert types[model] in ("TIMESTAMP", "timestamp without time zone"), (model, types[model])
        total, filled, same = rows[model]
        assert total > 0 and filled == total and same == total, (model, rows[model])


SQL = ("select count(*), count(updated_at_utc), sum(case when updated_at_utc = updated_at then 1 else 0 end) "
       "from staging.stg_onetrust__{}")
TYPES = ("select table_name, data_type from information_schema.columns where table_schema = 'staging' "
         "and column_name = 'updated_at_utc'")


def test_updated_at_utc_is_a_timestamp_on_duckdb_also_for_a_table_loaded_before_it(make_onetrust_sandbox,
                                                                                    duckdb_warehouse, tmp_path):
    sb = make_onetrust_sandbox(size=20)
    duckdb_warehouse.pipeline("onetrust").run(_onetrust(sb), loader_file_format="parquet")
    with duckdb.connect(duckdb_warehouse.duckdb_path) as con:
        assert con.execute("select count(updated_at_utc) from onetrust.vendors").fetchone()[0] > 0
    _build(duckdb_warehouse, tmp_path / "t1")
    with duckdb.connect(duckdb_warehouse.duckdb_path) as con:
        rows = {m: con.execute(SQL.format(m)).fetchone() for m in MODELS}
        types = {t.removeprefix("stg_onetrust__"): d for t, d in con.execute(TYPES).fetchall()}
    _check(rows, types)
    with duckdb.connect(duckdb_warehouse.duckdb_path) as con:  # as loaded before round 30
        con.execute("alter table onetrust.vendors drop column updated_at_utc")
    _build(duckdb_warehouse, tmp_path / "t2")
    with duckdb.connect(duckdb_warehouse.duckdb_path) as con:
        assert con.execute(SQL.format("vendors")).fetchone() == rows["vendors"]


def test_updated_at_utc_is_a_timestamp_on_postgres(make_onetrust_sandbox, tmp_path):
    sb = make_onetrust_sandbox(size=20)
    with fresh_postgres(tmp_path / "data") as settings:
        settings.pipeline("onetrust").run(_onetrust(sb))
        _build(settings, tmp_path / "t1")
        c = settings.pg_credentials()
        con = psycopg2.connect(host=c["host"], port=c["port"], user=c["username"], dbname=c["database"])
        try:
            with con.cursor() as cur:
                rows = {}
                for m in MODELS:
                    cur.execute(SQL.format(m))
                    rows[m] = tuple(cur.fetchone())
                cur.execute(TYPES)
                types = {t.removeprefix("stg_onetrust__"): d for t, d in cur.fetchall()}
        finally:
            con.close()
    _check(rows, types)
