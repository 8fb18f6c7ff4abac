"""What a newcomer does first, checked as written: the README's dbt commands run from the repo root and
from dbt_project/ on both targets, and every table an asset description names exists after a full sync."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import duckdb
import pytest

from pipelines.common.warehouse import WarehouseSettings
from tests.test_servicenow_source import _source

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
DIR_FLAGS = " --project-dir dbt_project --profiles-dir dbt_project"
# Schemas a description may name as `schema.table` (the warehouse's, plus the raw vendor datasets).
SCHEMAS = ("servicenow", "jira", "onetrust", "staging", "intermediate", "marts", "outbound", "catalog",
           "reverse_sync", "dbt_meta", "audit")


def readme_dbt_commands() -> list[str]:
    """Every `uv run dbt ...` the README shows (inline or in a block), full builds first: the others
    build on one (``-s tasks evidence+`` reads the intermediate models)."""
    text = (ROOT / "README.md").read_text()
    found = re.findall(r"`(uv run dbt [^`\n]+)`", text) + re.findall(r"^\s*(uv run dbt [^\n]+)$", text, re.M)
    commands = list(dict.fromkeys(c.strip() for c in found))
    assert any(c.startswith("uv run dbt build") for c in commands) and any(" docs " in c for c in commands)
    assert all(DIR_FLAGS in c for c in commands), "README dbt commands are written for the repo root"
    return sorted(commands, key=lambda c: (" -s " in c or "--select" in c, " docs " in c))


def _copy_repo(tmp_path: Path) -> Path:
    """The dbt project in a scratch checkout, so the profile's *default* DuckDB path (data/ beside
    dbt_project/) is exercised without touching this checkout's data/ or target/."""
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "dbt_project", repo / "dbt_project",
                    ignore=shutil.ignore_patterns("target", "logs", "dbt_packages", ".user.yml"))
    (repo / "data").mkdir()
    return repo


def _run(command: str, cwd: Path, env: dict[str, str]) -> None:
    # `uv run` would look for a project in the scratch copy: run the same dbt from this venv instead.
    argv = command.replace("uv run ", str(Path(sys.executable).parent) + "/", 1)
    result = subprocess.run(argv, shell=True, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"`{command}` failed in {cwd}:\n{result.stdout[-3000:]}{result.stderr[-2000:]}"


def _run_everywhere(repo: Path, env: dict[str, str]) -> None:
    """Every command as written, from the repo root; from dbt_project/ (without the folder flags) every one
    but the full build, whose paths (profile, warehouse, target) the selective build there resolves the same
    way: a third of the test's time."""
    commands = readme_dbt_commands()
    for command in commands:
        _run(command, repo, env)
    assert commands[0].startswith("uv run dbt build") and " -s " not in commands[0]  # the full build is first
    for command in commands[1:]:
        _run(command.replace(DIR_FLAGS, ""), repo / "dbt_project", env)


def _base_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("PROJECTX_", "PG", "DBT_"))}


@pytest.mark.timeout(1500)  # five dbt runs; minutes on a shared two-core machine
def test_readme_dbt_commands_run_on_duckdb_from_root_and_dbt_project(make_servicenow_sandbox, tmp_path):
    repo = _copy_repo(tmp_path)
    settings = dataclasses.replace(WarehouseSettings(), kind="duckdb",
                                   duckdb_path=str(repo / "data" / "warehouse.duckdb"),
                                   data_dir=str(tmp_path / "dlt"))
    settings.pipeline("servicenow").run(_source(make_servicenow_sandbox(size=150)), loader_file_format="parquet")
    _run_everywhere(repo, _base_env())  # PROJECTX_DUCKDB_PATH unset: the profile's default path
    with duckdb.connect(settings.duckdb_path, read_only=True) as con:
        assert con.execute("select count(*) from marts.tasks").fetchone()[0] > 0
    assert (repo / "dbt_project" / "target" / "catalog.json").exists()


@pytest.mark.postgres
@pytest.mark.timeout(1500)
def test_readme_dbt_commands_run_on_postgres_from_root_and_dbt_project(make_servicenow_sandbox, tmp_path):
    import psycopg2

    repo = _copy_repo(tmp_path)
    name = f"projectx_readme_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname="postgres")
    admin.autocommit = True
    admin.cursor().execute(f'create database "{name}"')
    try:
        settings = dataclasses.replace(WarehouseSettings(), kind="postgres", pg_database=name,
                                       data_dir=str(tmp_path / "dlt"))
        settings.pipeline("servicenow").run(_source(make_servicenow_sandbox(size=150)))
        _run_everywhere(repo, _base_env() | {"PROJECTX_WAREHOUSE": "postgres", "PGDATABASE": name})
        with psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname=name) as pg:
            cur = pg.cursor()
            cur.execute("select count(*) from marts.tasks")
            assert cur.fetchone()[0] > 0
    finally:
        admin.cursor().execute(f'drop database if exists "{name}" with (force)')
        admin.close()


def named_tables(description: str) -> set[str]:
    """`schema.table` names in a description (dbt's appended raw SQL left out)."""
    text = description.split("#### Raw SQL")[0]
    pattern = r"\b(?:" + "|".join(SCHEMAS) + r")\.[a-z_][a-z0-9_]*\b"
    return set(re.findall(pattern, text))


def test_asset_descriptions_name_tables_that_exist_and_the_summary_adds_up(vendors, duckdb_warehouse, capsys):
    import definitions
    from assets.dbt import MANIFEST
    from assets.reconciliation.nightly import ISSUE_DELETIONS
    from cli.summary import print_summary
    from tests.test_end_to_end import _run_full_sync

    sandbox, _, _ = vendors(size=200)
    seen: list[str] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = lambda record: seen.append(record.getMessage())
    logging.getLogger("dlt").addHandler(handler)  # dlt's logger does not propagate to caplog
    try:
        result = _run_full_sync()
    finally:
        logging.getLogger("dlt").removeHandler(handler)

    # The first load's expected dlt hint warning is silenced by name on the Dagster path too (item 8).
    assert not [m for m in seen if "dedup_sort" in m or "collides" in m], seen

    # Source tests are checks on the staging models that read the sources: evaluated, and no dbt test is
    # left as an observation (dagster-dbt warns about each one it has to log that way).
    evaluations = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert evaluations.get("source_unique_servicenow_incidents_sys_id") is True, sorted(evaluations)
    assert evaluations.get("source_not_null_when_synced_servicenow_change_requests_sys_id") is True
    observed = [e for e in result.all_events if e.event_type_value == "ASSET_OBSERVATION"
                and e.step_key == "projectx_dbt_models"]
    assert not observed, [e.asset_key for e in observed]

    # The summary counts every dbt data test the build ran, source tests included, and tables open tasks.
    capsys.readouterr()
    print_summary(result, duckdb_warehouse, sandbox, 1.0)
    out = capsys.readouterr().out
    data_tests = sum(1 for n in json.loads(MANIFEST.read_text())["nodes"].values() if n["resource_type"] == "test")
    assert f"{data_tests} dbt data tests: {data_tests} passed, 0 failed" in out, out
    assert "unchanged: records read again in the overlap window" in out
    header = next(line for line in out.splitlines() if line.split()[:1] == ["queue"])
    assert header.split() == ["queue", "high", "medium", "low", "total"]
    assert max(len(line) for line in out.splitlines() if not line.startswith("  uv run")) <= 120
    graph = definitions.build_definitions().resolve_asset_graph()
    # Only what this run materialized: nightly-only assets (Jira's deletion census) create their tables then.
    materialized = {e.asset_key for e in result.get_asset_materialization_events()}
    assert ISSUE_DELETIONS not in materialized
    named = {}
    for key in graph.get_all_asset_keys() & materialized:
        for table in named_tables(graph.get(key).description or ""):
            named.setdefault(table, []).append(key.to_user_string())
    assert len(named) >= 10, named
    with duckdb.connect(duckdb_warehouse.duckdb_path, read_only=True) as con:
        existing = {f"{s}.{t}" for s, t in con.execute(
            "select table_schema, table_name from information_schema.tables").fetchall()}
    missing = {t: keys for t, keys in named.items() if t not in existing}
    assert not missing, f"asset descriptions name tables a full sync does not create: {missing}"

    # Task due dates are whole seconds (vendor timestamps carry milliseconds; a due date does not).
    with duckdb.connect(duckdb_warehouse.duckdb_path, read_only=True) as con:
        fractional = con.execute("select task_type, count(*) from marts.tasks "
                                 "where due_at <> date_trunc('second', due_at) group by 1").fetchall()
    assert not fractional, fractional
