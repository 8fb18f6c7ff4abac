"""dbt builds in the step's own process (assets/dbt_runner.py): the same events as dagster-dbt's
subprocess, failures reported the same way, the process's environment as it was, and no effect outside
the resource's opt-in. Runs a four-node dbt project of its own on a DuckDB file in the test's folder."""

import os
import subprocess
import textwrap

import pytest
from dagster import AssetExecutionContext, materialize
from dagster_dbt import dbt_assets
from dagster_dbt.errors import DagsterDbtCliRuntimeError

from assets import dbt_runner
from assets.dbt import ProjectDbtCliResource, dbt_executable

PROJECT = {
    "dbt_project.yml": """
        name: tiny
        version: "1.0"
        profile: tiny
        flags: {send_anonymous_usage_stats: false}
    """,
    "profiles.yml": """
        tiny:
          target: dev
          outputs:
            dev: {type: duckdb, path: "{{ env_var('TINY_DUCKDB') }}", threads: 2}
    """,
    "models/a.sql": "select 1 as id union all select 2",
    "models/b.sql": "select id from {{ ref('a') }}",
    "models/schema.yml": """
        version: 2
        models:
          - name: b
            columns:
              - name: id
                data_tests: [unique, not_null]
    """,
}


def _project(root, extra: dict[str, str] | None = None):
    for name, text in {**PROJECT, **(extra or {})}.items():
        path = root / "project" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
    return root / "project"


def _resource(project, in_process: bool) -> ProjectDbtCliResource:
    return ProjectDbtCliResource(project_dir=str(project), profiles_dir=str(project),
                                 dbt_executable=dbt_executable(), in_process=in_process)


def _events(resource, project, target) -> list[tuple[str, str, str]]:
    """(event name, node, status) of every node's start and result line (the events dbt prints at info)."""
    invocation = resource.cli(["build"], manifest=project / "target" / "manifest.json", target_path=target)
    seen = []
    for event in invocation.stream_raw_events():
        info, data = event.raw_event["info"], event.raw_event["data"]
        node = (data.get("node_info") or {})
        if info["name"] in ("LogStartLine", "LogModelResult", "LogTestResult"):
            seen.append((info["name"], node.get("unique_id", ""), node.get("node_status", "")))
    assert invocation.process.wait() == 0
    return sorted(seen)


@pytest.fixture
def tiny(tmp_path, monkeypatch):
    project = _project(tmp_path)
    monkeypatch.setenv("TINY_DUCKDB", str(tmp_path / "tiny.duckdb"))
    subprocess.run([dbt_executable(), "parse", "--quiet", "--project-dir", str(project), "--profiles-dir",
                    str(project)], check=True, cwd=project)
    return project


def test_in_process_build_gives_the_subprocess_events(tiny, tmp_path):
    before = dict(os.environ)
    outside = _events(_resource(tiny, False), tiny, tmp_path / "t1")
    inside = _events(_resource(tiny, True), tiny, tmp_path / "t2")
    assert inside == outside
    assert {node for _, node, _ in inside} >= {"model.tiny.a", "model.tiny.b"}
    assert sum(1 for name, node, _ in inside if name == "LogTestResult" and node.startswith("test.")) == 2
    assert dict(os.environ) == before  # DBT_TARGET_PATH & co. were the build's only


def test_in_process_build_materializes_through_dagster(tiny, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the build's folder belongs in the project's target/, not the cwd's

    @dbt_assets(manifest=tiny / "target" / "manifest.json")
    def tiny_models(context: AssetExecutionContext, dbt: ProjectDbtCliResource):
        yield from dbt.cli(["build"], context=context).stream()

    result = materialize([tiny_models], resources={"dbt": _resource(tiny, True)})
    assert result.success
    assert {e.asset_key.path[-1] for e in result.get_asset_materialization_events()} == {"a", "b"}
    checks = result.get_asset_check_evaluations()
    assert len(checks) == 2 and all(check.passed for check in checks)
    assert not (tmp_path / "target").exists()
    assert [p.name for p in (tiny / "target").glob("tiny_models-*/run_results.json")]


def test_a_failing_model_fails_the_build_with_dbts_error(tmp_path, monkeypatch):
    project = _project(tmp_path, {"models/c.sql": "select no_such_column from {{ ref('a') }}"})
    monkeypatch.setenv("TINY_DUCKDB", str(tmp_path / "tiny.duckdb"))
    subprocess.run([dbt_executable(), "parse", "--quiet", "--project-dir", str(project), "--profiles-dir",
                    str(project)], check=True, cwd=project)
    invocation = _resource(project, True).cli(["build"], manifest=project / "target" / "manifest.json",
                                               target_path=tmp_path / "t")
    with pytest.raises(DagsterDbtCliRuntimeError, match="no_such_column"):
        invocation.wait()
    assert invocation.process.returncode == 1


def test_a_build_dbt_cannot_start_is_an_error_naming_the_cause(tiny, tmp_path, monkeypatch):
    monkeypatch.delenv("TINY_DUCKDB")  # the profile's env_var() has no default: dbt stops before any node
    invocation = _resource(tiny, True).cli(["build"], manifest=tiny / "target" / "manifest.json",
                                           target_path=tmp_path / "t")
    with pytest.raises(DagsterDbtCliRuntimeError, match="TINY_DUCKDB"):
        invocation.wait()
    assert invocation.process.returncode == 2


def test_outside_the_opt_in_dagster_dbt_still_starts_a_subprocess(tiny, tmp_path):
    dbt_runner.install()
    invocation = _resource(tiny, False).cli(["ls"], manifest=tiny / "target" / "manifest.json",
                                            target_path=tmp_path / "t")
    assert isinstance(invocation.process, subprocess.Popen)
    invocation.wait()
    inside = _resource(tiny, True).cli(["ls"], manifest=tiny / "target" / "manifest.json",
                                       target_path=tmp_path / "t2")
    assert isinstance(inside.process, dbt_runner.InProcessDbt)
    inside.wait()


@pytest.mark.parametrize(("environ", "expected"), [
    ({}, False), ({"PROJECTX_EXECUTOR": "celery"}, True), ({"PROJECTX_EXECUTOR": "multiprocess"}, False),
    ({"PROJECTX_DBT_IN_PROCESS": "1"}, True), ({"PROJECTX_EXECUTOR": "celery", "PROJECTX_DBT_IN_PROCESS": "0"}, False),
    ({"PROJECTX_DBT_IN_PROCESS": "yes"}, True),
])
def test_the_default_follows_the_executor_unless_set(environ, expected):
    assert dbt_runner.in_process_default(environ) is expected


def test_a_bad_switch_names_the_fix():
    with pytest.raises(ValueError, match=r"PROJECTX_DBT_IN_PROCESS='maybe'.*use 1 or 0"):
        dbt_runner.in_process_default({"PROJECTX_DBT_IN_PROCESS": "maybe"})
