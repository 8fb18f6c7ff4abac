"""Round 31: ``stg_onetrust__assessment_responses`` exposes ``updated_at_utc`` like the other OneTrust staging
models (round 30b): the instant its assessment was last modified, a timestamp, the same as the assessment's
staged value, on DuckDB and PostgreSQL, and still built on a table loaded before the raw column existed.
Sandbox over HTTP -> dlt -> warehouse -> dbt."""

from __future__ import annotations

import duckdb
import psycopg2
import pytest

from tests.conftest import fresh_postgres
from tests.test_dbt_marts import _onetrust
from tests.test_dbt_round30b_onetrust_updated_at import SELECT, _build

pytestmark = [pytest.mark.postgres]

# answers, answers with the column, answers whose value is their assessment's staged one
SQL = ("select count(*), count(r.updated_at_utc), "
       "sum(case when r.updated_at_utc = a.updated_at_utc then 1 else 0 end) "
       "from staging.stg_onetrust__assessment_responses r "
       "join staging.stg_onetrust__assessments a on a.assessment_id = r.assessment_id")
TYPE = ("select data_type from information_schema.columns where table_schema = 'staging' "
        "and table_name = 'stg_onetrust__assessment_responses' and column_name = 'updated_at_utc'")


def _check(row, data_type) -> None:
    assert data_type in ("TIMESTAMP", "timestamp without time zone"), data_type
    total, filled, same = row
    assert total > 0 and filled == total and same == total, row


def test_answers_carry_their_assessments_updated_at_utc_on_duckdb_also_before_the_column(make_onetrust_sandbox,
                                                                                       duckdb_warehouse, tmp_path):
    sb = make_onetrust_sandbox(size=20)
    duckdb_warehouse.pipeline("onetrust").run(_onetrust(sb), loader_file_format="parquet")
    _build(duckdb_warehouse, tmp_path / "t1")
    with duckdb.connect(duckdb_warehouse.duckdb_path) as con:
        row = con.execute(SQL).fetchone()
        _check(row, con.execute(TYPE).fetchone()[0])
        # a value that is not updated_at parsed would show: the raw column is the one read when present
        con.execute("update onetrust.assessments set updated_at_utc = '2001-02-03T04:05:06.000000Z'")
    _build(duckdb_warehouse, tmp_path / "t2")
    with duckdb.connect(duckdb_warehouse.duckdb_path) as con:
        stamps = con.execute("select distinct cast(updated_at_utc as varchar) "
                             "from staging.stg_onetrust__assessment_responses").fetchall()
        assert stamps == [("2001-02-03 04:05:06",)], stamps
        con.execute("alter table onetrust.assessments drop column updated_at_utc")  # as loaded before round 30
    _build(duckdb_warehouse, tmp_path / "t3")
    with duckdb.connect(duckdb_warehouse.duckdb_path) as con:
        assert con.execute(SQL).fetchone() == row  # updated_at parsed: the same instants as the first build


def test_answers_carry_their_assessments_updated_at_utc_on_postgres(make_onetrust_sandbox, tmp_path):
    sb = make_onetrust_sandbox(size=20)
    with fresh_postgres(tmp_path / "data") as settings:
        settings.pipeline("onetrust").run(_onetrust(sb))
        _build(settings, tmp_path / "t1")
        c = settings.pg_credentials()
        con = psycopg2.connect(host=c["host"], port=c["port"], user=c["username"], dbname=c["database"])
        try:
            with con.cursor() as cur:
                cur.execute(SQL)
                row = tuple(cur.fetchone())
                cur.execute(TYPE)
                data_type = cur.fetchone()[0]
        finally:
            con.close()
    _check(row, data_type)


def test_the_new_column_is_documented_and_tested_like_the_others():
    import yaml

    from tests.test_dbt_round30b_onetrust_updated_at import MODELS

    with open("dbt_project/models/staging/onetrust/_onetrust__models.yml") as f:
        models = {m["name"]: m for m in yaml.safe_load(f)["models"]}
    for name in [*MODELS, "assessment_responses"]:
        column, = [c for c in models[f"stg_onetrust__{name}"]["columns"] if c["name"] == "updated_at_utc"]
        assert "UTC timestamp" in column["description"], name
        (test,) = column["data_tests"]
        assert test["not_null"]["config"] == {"severity": "warn"} and test["not_null"]["description"], name
    assert SELECT == ["path:models/staging/onetrust"]
