"""The dbt marts against seeded sandbox data: row counts, key invariants, history, incremental runs.

ServiceNow, Jira and OneTrust sandboxes are loaded by their dlt sources into a fresh warehouse, then
`dbt build` runs with a temporary --target-path (the project's target/ is never touched).
"""

from __future__ import annotations

import csv
import json
import shutil

import duckdb
import psycopg2
import pytest

from assets.dbt import DBT_PROJECT_DIR
from pipelines.common.warehouse import WarehouseSettings
from pipelines.jira import jira_source
from pipelines.onetrust import onetrust_source
from tests.conftest import fresh_duckdb, fresh_postgres
from tests.dbt_helpers import dbt
from tests.test_servicenow_source import _source as servicenow_source_for

pytestmark = pytest.mark.slow


def _jira(sandbox, **kwargs):
    return jira_source(base_url=sandbox.url, auth_mode="pat", pat=sandbox.credentials["pat"], **kwargs)


def _onetrust(sandbox):
    creds = sandbox.credentials
    return onetrust_source(base_url=sandbox.url, client_id=creds["client_id"],
                           client_secret=creds["client_secret"], verify=sandbox.ca_bundle or True)


def _load(settings: WarehouseSettings, sandboxes, **jira_kwargs) -> None:
    sn, jira, ot = sandboxes
    parquet = "parquet" if settings.kind == "duckdb" else None
    settings.pipeline("servicenow").run(servicenow_source_for(sn), loader_file_format=parquet)
    settings.pipeline("jira").run(_jira(jira, **jira_kwargs), loader_file_format=parquet)
    settings.pipeline("onetrust").run(_onetrust(ot), loader_file_format=parquet)


def _build(settings: WarehouseSettings, target, *args: str) -> None:
    result = dbt(settings, target, *(args or ("build",)))
    assert result.returncode == 0, result.stdout[-4000:]


def _q(settings: WarehouseSettings, sql: str) -> list[tuple]:
    if settings.kind == "duckdb":
        with duckdb.connect(settings.duckdb_path, read_only=True) as con:
            return con.execute(sql).fetchall()
    c = settings.pg_credentials()
    with psycopg2.connect(host=c["host"], port=c["port"], user=c["username"], dbname=c["database"]) as pg:
        cur = pg.cursor()
        cur.execute(sql)
        return [tuple(r) for r in cur.fetchall()]


def _one(settings, sql):
    return _q(settings, sql)[0][0]


SIZES = {"servicenow": 300, "jira": 200, "onetrust": 200}


@pytest.fixture(scope="module")
def _golden(_dbt_parse_home, tmp_path_factory):
    """The three vendors (seeded, so a new sandbox of the same size holds the same records) loaded and
    built once per module; ``loaded`` gives each test a copy of the warehouse file, the dlt working
    folders and dbt's target (a load and a build cost ~45 s of CPU, five tests used to repeat them)."""
    from sandbox.jira import JiraSandbox
    from sandbox.onetrust import OneTrustSandbox
    from sandbox.servicenow import ServiceNowSandbox

    root = tmp_path_factory.mktemp("dbt_marts_golden")
    made = [ServiceNowSandbox(port=0, size=SIZES["servicenow"]), JiraSandbox(port=0, size=SIZES["jira"]),
            OneTrustSandbox(size=SIZES["onetrust"])]
    for sb in made:
        sb.start()
    try:
        with pytest.MonkeyPatch.context() as mp:  # at the process's path: dbt's partial parse holds for it
            settings = fresh_duckdb(mp, _dbt_parse_home, root / "data")
            _load(settings, made)
            _build(settings, root / "target")
    finally:
        for sb in made:
            sb.stop()
    shutil.copyfile(settings.duckdb_path, root / "warehouse.duckdb")  # closed by dbt and dlt: no WAL to copy
    return root


@pytest.fixture
def sandboxes(make_servicenow_sandbox, make_jira_sandbox, make_onetrust_sandbox):
    return (make_servicenow_sandbox(size=SIZES["servicenow"]), make_jira_sandbox(size=SIZES["jira"]),
            make_onetrust_sandbox(size=SIZES["onetrust"]))


@pytest.fixture
def loaded(_golden, sandboxes, duckdb_warehouse, tmp_path):
    """All vendors loaded into DuckDB and the project built once (a copy of the module's build, with
    new sandboxes of the same seed and size); yields (settings, sandboxes, target)."""
    shutil.copyfile(_golden / "warehouse.duckdb", duckdb_warehouse.duckdb_path)
    shutil.copytree(_golden / "data", duckdb_warehouse.data_dir)
    target = tmp_path / "target"
    shutil.copytree(_golden / "target", target)
    return duckdb_warehouse, sandboxes, target


def test_marts_match_the_vendor_data(loaded):
    wh, (sn, _, _), _ = loaded
    incidents = sn.records("incident")
    assert _one(wh, "select count(*) from marts.tasks where task_type = 'incident_review'") == len(incidents)
    assert _one(wh, "select count(*) from marts.asset_catalog") == len(sn.records("cmdb_ci"))
    assert _one(wh, "select count(*) from marts.sprint_velocity") == _one(wh, "select count(*) from jira.sprints")

    # Every control of the catalog is evaluated, and each failure is one open remediation task.
    assert {r[0] for r in _q(wh, "select distinct control_id from marts.control_results")} == {
        "SN-INC-01", "SN-INC-02", "SN-CHG-01", "SN-CMDB-01", "OT-VEN-01", "OT-PIA-01"}
    fails = _one(wh, "select count(*) from marts.control_results where status = 'fail'")
    assert fails > 0
    assert _one(wh, "select count(*) from marts.tasks where task_type = 'control_remediation' and status = 'open'") \
        == fails
    routed = dict(_q(wh, """select c.remediation_vendor, count(*) from marts.control_results r
        join catalog.control_catalog c using (control_id) where r.status = 'fail' group by 1"""))
    assert _one(wh, "select count(*) from outbound.servicenow_remediation_tasks") == routed.get("servicenow", 0)
    assert _one(wh, "select count(*) from outbound.jira_remediation_issues") == routed.get("jira", 0)
    assert _q(wh, "select count(*) from outbound.jira_remediation_issues where jira_project_key is null") == [(0,)]

    # SN-CMDB-01 agrees with the vendor: non-retired CIs without owned_by fail.
    ownerless = sum(1 for c in sn.records("cmdb_ci") if not c["owned_by"] and c["install_status"] != "7")
    assert _one(wh, "select count(*) from marts.control_results where control_id = 'SN-CMDB-01' "
                    "and status = 'fail'") == ownerless

    # Evidence: every ServiceNow attachment, tagged and hashed; links only to catalog controls.
    attachments = _one(wh, "select count(*) from servicenow.attachments")
    assert _one(wh, "select count(*) from marts.evidence where source_system = 'servicenow' "
                    "and evidence_type = 'attachment'") == attachments
    assert _q(wh, "select distinct tags from marts.evidence where source_system = 'servicenow'") == [
        ("source:servicenow",)]
    assert _one(wh, "select count(*) from marts.evidence where content_status = 'stored' and sha256 is null") == 0
    assert _one(wh, "select count(*) from marts.evidence_links") > 0
    assert _one(wh, "select count(*) from marts.tasks where task_type = 'jira_remediation'") > 0

    # OneTrust: every PIA is a review task, every vendor issue a follow-up; completed assessments are evidence.
    pias = _one(wh, "select count(*) from onetrust.assessments where template_type = 'PIA'")
    assert _one(wh, "select count(*) from marts.tasks where task_type = 'pia_review'") == pias
    vendor_risks = _one(wh, "select count(*) from onetrust.risks where type = 'VENDORS'")
    assert _one(wh, "select count(*) from marts.tasks where task_type = 'vendor_follow_up'") == vendor_risks
    assert _one(wh, "select count(*) from marts.tasks where task_type = 'pia_review' and due_at is null") == 0
    assert _one(wh, "select count(*) from marts.evidence where source_system = 'onetrust'") == _one(
        wh, "select count(*) from onetrust.assessments where status = 'Completed'")

    health = dict(_q(wh, "select connector, status_light from marts.integration_health"))
    assert set(health) == {"servicenow", "jira", "onetrust"}
    assert all(light in ("green", "amber") for light in health.values()), health


def test_the_suite_runs_the_unit_tests_dagster_runs_skip(loaded):
    """Dagster's scheduled builds exclude unit tests (assets.dbt.PRODUCTION_BUILD_ARGS), so this build
    is where they run: every unit test of the project ran and passed."""
    _, _, target = loaded
    results = json.loads((target / "run_results.json").read_text())["results"]
    unit = {r["unique_id"]: r["status"] for r in results if r["unique_id"].startswith("unit_test.")}
    manifest = json.loads((target / "manifest.json").read_text())
    assert set(unit) == set(manifest["unit_tests"]) and unit
    assert set(unit.values()) == {"pass"}


def test_servicenow_tables_never_synced_stage_empty(sandboxes, duckdb_warehouse, tmp_path):
    """dlt creates a table with its first row, so an instance with no change requests has no such
    table: staging reads no rows and the source tests pass; a missing incidents table fails them."""
    sn, _, _ = sandboxes
    duckdb_warehouse.pipeline("servicenow").run(
        servicenow_source_for(sn).with_resources("incidents", "cmdb_cis"), loader_file_format="parquet")
    assert not _q(duckdb_warehouse, "select 1 from information_schema.tables "
                                    "where table_schema = 'servicenow' and table_name = 'change_requests'")
    target = tmp_path / "target"
    _build(duckdb_warehouse, target)
    assert _one(duckdb_warehouse, "select count(*) from staging.stg_servicenow__incidents") == 300
    for table in ("change_requests", "requests", "catalog_tasks"):
        assert _one(duckdb_warehouse, f"select count(*) from staging.stg_servicenow__{table}") == 0, table
    results = json.loads((target / "run_results.json").read_text())["results"]
    source_tests = [r for r in results if "when_synced_servicenow_change_requests" in r["unique_id"]]
    assert len(source_tests) == 2 and {r["status"] for r in source_tests} == {"pass"}
    core = [r for r in results if r["unique_id"].startswith("test.projectx.source_unique_servicenow_incidents")]
    assert [r["status"] for r in core] == ["pass"]

    # The table's first rows arrive later: staged on the next incremental build, keys tested.
    duckdb_warehouse.pipeline("servicenow").run(servicenow_source_for(sn), loader_file_format="parquet")
    _build(duckdb_warehouse, target)
    assert _one(duckdb_warehouse, "select count(*) from staging.stg_servicenow__change_requests") == \
        _one(duckdb_warehouse, "select count(*) from servicenow.change_requests") > 0

    # A core table gone (a dropped dataset) fails the build and leaves the marts as they were, so
    # reverse sync cannot read an emptied mart as "every task is done".
    results_before = _q(duckdb_warehouse, "select count(*), count(distinct status) from marts.control_results")
    with duckdb.connect(duckdb_warehouse.duckdb_path) as con:
        con.execute("drop table servicenow.incidents")
    failed = dbt(duckdb_warehouse, target, "build")
    assert failed.returncode != 0 and "source_unique_servicenow_incidents" in failed.stdout
    assert _q(duckdb_warehouse, "select count(*), count(distinct status) from marts.control_results") == \
        results_before


def test_ids_are_stable_and_history_records_changes(loaded):
    wh, sandboxes, target = loaded
    sn = sandboxes[0]
    ids = set(_q(wh, "select remediation_task_id from outbound.servicenow_remediation_tasks"))
    history = _one(wh, "select count(*) from marts.control_result_history")
    assert history == _one(wh, "select count(*) from marts.control_results")

    _build(wh, target)  # nothing changed at the vendors
    assert set(_q(wh, "select remediation_task_id from outbound.servicenow_remediation_tasks")) == ids
    assert _one(wh, "select count(*) from marts.control_result_history") == history, "no change, no new rows"

    # Fix one SN-INC-02 failure (assign the incident) and delete a CI: pass and out_of_scope rows.
    unassigned = _one(wh, "select object_id from marts.control_results where control_id = 'SN-INC-02' "
                          "and status = 'fail' order by object_id limit 1")
    someone = next(r["assigned_to"] for r in sn.records("incident") if r["assigned_to"])
    sn.update("incident", unassigned, {"assigned_to": someone})
    ci = _one(wh, "select object_id from marts.control_results where control_id = 'SN-CMDB-01' "
                  "and status = 'pass' order by object_id limit 1")
    sn.delete("cmdb_ci", ci)
    _load(wh, sandboxes)
    _build(wh, target)

    changes = _q(wh, f"""select object_id, status from marts.control_result_history
        where object_id in ('{unassigned}', '{ci}') order by object_id, evaluated_at""")
    assert (unassigned, "pass") in changes and (ci, "out_of_scope") in changes
    assert _one(wh, "select count(*) from marts.control_result_history") == history + 2
    assert _q(wh, f"select count(*) from marts.tasks where source_record_id = '{unassigned}' "
                  "and control_id = 'SN-INC-02'") == [(0,)]
    remediated = _one(wh, "select remediations_closed from marts.control_attestations "
                          "where control_id = 'SN-INC-02' order by period_start desc limit 1")
    assert remediated == 1
    assert _one(wh, f"select is_deleted from staging.stg_servicenow__cmdb_cis where cmdb_ci_id = '{ci}'")


# Incremental models: (schema, table, columns that record when dbt wrote a row, so differ after a rebuild).
INCREMENTAL = (
    ("staging", "stg_servicenow__incidents", ("staged_at",)),
    ("staging", "stg_servicenow__change_requests", ("staged_at",)),
    ("staging", "stg_servicenow__requests", ("staged_at",)),
    ("staging", "stg_servicenow__catalog_tasks", ("staged_at",)),
    ("staging", "stg_servicenow__cmdb_cis", ("staged_at",)),
    ("staging", "stg_servicenow__attachments", ("staged_at",)),
    ("marts", "tasks", ("source_staged_at",)),
    ("marts", "evidence", ("source_staged_at",)),
)


def _rows(wh, schema: str, table: str, skip: tuple[str, ...]) -> set[tuple]:
    columns = [c for (c,) in _q(wh, f"""select column_name from information_schema.columns
        where table_schema = '{schema}' and table_name = '{table}' order by ordinal_position""")]
    return set(_q(wh, f"select {', '.join(c for c in columns if c not in skip)} from {schema}.{table}"))


def test_incremental_runs_equal_a_full_refresh(loaded):
    wh, sandboxes, target = loaded
    sn, jira, ot = sandboxes
    changed = sn.records("incident")[5]["sys_id"]
    sn.update("incident", changed, {"short_description": "changed at the vendor"})
    sn.touch("incident", n=12)
    deleted = [r["sys_id"] for r in sn.records("incident")[:3]]
    sn.delete("incident", deleted)
    sn.touch("change_request", n=4)
    deleted_ci = sn.records("cmdb_ci")[0]["sys_id"]
    sn.delete("cmdb_ci", deleted_ci)
    jira.touch(8)
    jira.delete([i["key"] for i in jira.issues(fields=["key"])[:2]])
    ot.touch("assessments", n=5)
    ot.touch("risks", n=5)
    _load(wh, sandboxes, reconcile_deletes=True)
    _build(wh, target)  # incremental: only rows loaded (or deleted) since the last run are re-read

    incremental = {table: _rows(wh, schema, table, skip) for schema, table, skip in INCREMENTAL}
    assert _one(wh, "select count(*) from marts.tasks where task_type = 'incident_review' and status = 'closed' "
                    "and source_record_id in (select incident_id from staging.stg_servicenow__incidents "
                    "where is_deleted)") == 3
    ids = ", ".join(f"'{sys_id}'" for sys_id in deleted)
    assert _q(wh, f"select is_deleted from staging.stg_servicenow__incidents where incident_id in ({ids})") \
        == [(True,)] * 3
    assert _one(wh, f"select is_deleted from staging.stg_servicenow__cmdb_cis where cmdb_ci_id = '{deleted_ci}'")
    assert _one(wh, f"select title from marts.tasks where source_record_id = '{changed}'").endswith(
        "changed at the vendor")
    # A run with nothing new stages nothing: the rows keep the staged_at of the run that wrote them.
    staged = _one(wh, "select max(staged_at) from staging.stg_servicenow__incidents")
    _build(wh, target)
    assert _one(wh, "select max(staged_at) from staging.stg_servicenow__incidents") == staged

    _build(wh, target, "run", "--full-refresh", "--select", *(table for _, table, _ in INCREMENTAL))
    for schema, table, skip in INCREMENTAL:
        assert _rows(wh, schema, table, skip) == incremental[table], f"{table}: incremental != full refresh"


def test_rows_a_failed_build_staged_stay_tested_until_a_build_passes(loaded):
    """Tests on incremental models check the rows written since the last clean build: a rerun that
    stages nothing new must still fail on the bad rows the failed build staged."""
    wh, _, target = loaded
    clean = _one(wh, "select count(*) from dbt_meta.clean_builds")
    assert clean >= 1, "the fixture's passing build is recorded as clean"
    with duckdb.connect(wh.duckdb_path) as con:  # a load brings an incident without its number
        con.execute("""
            insert into servicenow.incidents
            select * replace (md5('bad') as sys_id, null as number, '9999999999.1' as _dlt_load_id)
            from servicenow.incidents limit 1""")
    for attempt in ("the build that stages it", "a rerun with nothing new"):
        result = dbt(wh, target, "build")
        assert result.returncode != 0, f"{attempt} must fail"
        assert "not_null_stg_servicenow__incidents_incident_number" in result.stdout
    assert _one(wh, "select count(*) from dbt_meta.clean_builds") == clean, "failed builds move no watermark"

    with duckdb.connect(wh.duckdb_path) as con:  # the operator repairs the data and rebuilds the model
        con.execute("delete from servicenow.incidents where sys_id = md5('bad')")
    _build(wh, target, "build", "--full-refresh", "--select", "stg_servicenow__incidents+")
    assert _one(wh, "select count(*) from dbt_meta.clean_builds") == clean + 1


def test_connector_intervals_seed_matches_the_environment_matrix():
    from resources.environment import ENVIRONMENTS

    with open(DBT_PROJECT_DIR / "seeds" / "connector_sync_intervals.csv") as f:
        seed = {(r["environment"], r["connector"]): int(r["interval_minutes"]) for r in csv.DictReader(f)}
    for name, env in ENVIRONMENTS.items():
        assert seed[(name, "servicenow")] == env.servicenow_incident_minutes
        assert seed[(name, "jira")] == env.jira_minutes
        assert seed[(name, "onetrust")] == env.onetrust_hours * 60


SUMMARIES = (
    "select control_id, status, count(*) from marts.control_results group by 1, 2 order by 1, 2",
    "select task_type, priority, queue, status, count(*) from marts.tasks group by 1, 2, 3, 4 order by 1, 2, 3, 4",
    "select source_system, evidence_type, count(*), count(sha256) from marts.evidence group by 1, 2 order by 1, 2",
    "select control_id, count(*) from marts.evidence_links group by 1 order by 1",
    "select ownership_status, count(*), sum(open_incident_count) from marts.asset_catalog group by 1 order by 1",
    "select remediation_task_id, priority from outbound.servicenow_remediation_tasks order by 1",
    "select remediation_task_id, jira_project_key, priority from outbound.jira_remediation_issues order by 1",
    "select sprint_id, issues_committed, issues_completed, points_completed from marts.sprint_velocity order by 1",
    "select control_id, objects_in_scope, objects_failing, attestation_status from marts.control_attestations "
    "order by 1",
)


@pytest.fixture
def postgres_warehouse(tmp_path):
    with fresh_postgres(tmp_path / "pgdata", prefix="projectx_dbt") as settings:
        yield settings


@pytest.mark.postgres
def test_postgres_builds_the_same_marts(loaded, postgres_warehouse, tmp_path):
    duckdb_warehouse, sandboxes, target = loaded  # loaded and built once (the module's build)
    _build(duckdb_warehouse, target)  # the incremental path too
    _load(postgres_warehouse, sandboxes)
    for _ in range(2):
        _build(postgres_warehouse, tmp_path / "target_postgres")
    for sql in SUMMARIES:
        assert _q(duckdb_warehouse, sql) == _q(postgres_warehouse, sql), sql
    # Due dates count from when each warehouse first evaluated the failure (its own builds, minutes apart).
    sql = "select remediation_task_id, due_at from outbound.servicenow_remediation_tasks order by 1"
    duck, pg = dict(_q(duckdb_warehouse, sql)), dict(_q(postgres_warehouse, sql))
    assert duck.keys() == pg.keys() and duck
    assert all(abs((duck[k] - pg[k]).total_seconds()) <= 1800 for k in duck), (duck, pg)
