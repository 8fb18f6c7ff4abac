"""Round 20: hostile vendor rows in the raw tables dlt writes, through `dbt build`, and what the marts show.

Small sandboxes are loaded by their dlt sources once per module; hostile rows are then written into the
raw tables as a load would leave them (a new `_dlt_load_id`, every ServiceNow value a string) and the
whole project is built once. Each test asserts one thing analysts must see.
"""

from __future__ import annotations

import json
import shutil

import duckdb
import pytest

from tests.conftest import fresh_duckdb
from tests.dbt_helpers import dbt
from tests.test_dbt_marts import _load

pytestmark = pytest.mark.slow

LOAD = "1800000000.5"  # a dlt load id (unix time) after the sandboxes' loads
BAD_STAMPS = ["0000-00-00", "9999-12-31 23:59:59", "2026-02-30 10:00:00", "", "1767225600000",
              "2026-13-01 00:00:00", "2026-01-01 24:00:00", "yesterday"]
HOSTILE_TEXT = ("\x00nul \u202egnp.exe \U0001F525 emoji '; drop table marts.tasks; -- "
                "\" or 1=1 /* {{ var('x') }} */ ")
BIG = "x" * 100_000


def _hostile_sql(con: duckdb.DuckDBPyConnection) -> dict:
    """Write the hostile rows; returns the ids the tests look for."""
    inc = [r[0] for r in con.execute("select sys_id from servicenow.incidents order by sys_id limit 3").fetchall()]
    newer, older, tie = inc
    one = f"from servicenow.incidents where sys_id = '{newer}'"
    ins = "insert into servicenow.incidents select * replace ({}) " + one
    # the same record twice in one load: newer stamp wins; an older stamp in a later load loses
    con.execute(ins.format("'2027-01-01 00:00:00' as sys_updated_on, 'NEWER' as short_description, "
                           f"'{LOAD}' as _dlt_load_id"))
    con.execute(ins.format(f"'{older}' as sys_id, '2000-01-01 00:00:00' as sys_updated_on, "
                           f"'OLDER' as short_description, '{LOAD}' as _dlt_load_id"))
    # identical stamps (and load, and mod count), different content
    for text in ("TIE-A", "TIE-B"):
        con.execute(ins.format(f"'{tie}' as sys_id, '2027-01-02 00:00:00' as sys_updated_on, '7' as sys_mod_count, "
                               f"'{text}' as short_description, '{LOAD}' as _dlt_load_id"))
    # new incidents with bad timestamps, hostile text, unknown priorities
    for i, stamp in enumerate(BAD_STAMPS):
        con.execute(ins.format(f"md5('ts{i}') as sys_id, 'INCTS{i}' as number, '{stamp}' as opened_at, "
                               f"'{stamp}' as sys_updated_on, '{stamp}' as closed_at, '{stamp}' as due_date, "
                               f"'{LOAD}' as _dlt_load_id"))
    con.execute(ins.format("md5('text') as sys_id, 'INCTEXT' as number, ? as short_description, ? as description, "
                           f"'1' as priority, 'true' as active, '{LOAD}' as _dlt_load_id"), [HOSTILE_TEXT + BIG, BIG])
    for p in ("6", "P1", ""):
        con.execute(ins.format(f"md5('prio{p}') as sys_id, 'INCPRIO{p}' as number, '{p}' as priority, "
                               f"'{LOAD}' as _dlt_load_id"))

    # Jira: a renamed priority, bad stamps, and one issue twice in a load (the later `updated` wins)
    issue = con.execute("select id from jira.issues where labels::varchar like '%control:%' and labels::varchar "
                        "not like '%projectx%' and issue_type <> 'Epic' order by id limit 1").fetchone()[0]
    jins = f"insert into jira.issues select * replace ({{}}) from jira.issues where id = '{issue}'"
    con.execute(jins.format("'990001' as id, 'GRC-990001' as key, 'Blocker' as priority, "
                            "'1767225600000' as created, 'not a date' as updated, '2026-02-30' as duedate, "
                            f"'many' as story_points, '{LOAD}' as _dlt_load_id"))
    for stamp, summary in (("2027-01-01T00:00:00.000+0000", "JIRA-NEWER"),
                           ("2026-12-31T23:00:00.000-0500", "JIRA-OLDER")):
        # -0500: 2027-01-01T04:00Z, newer in UTC than the +0000 stamp despite the earlier wall time
        con.execute(jins.format(f"'{stamp}' as updated, '{summary}' as summary, '{LOAD}' as _dlt_load_id"))

    # OneTrust: lower-case status and risk level on a PIA
    pia = con.execute("select assessment_id from onetrust.assessments where template_type = 'PIA' "
                      "and status <> 'Completed' order by assessment_id limit 1").fetchone()[0]
    con.execute(f"update onetrust.assessments set status = 'completed', risk_level = 'high', "
                f"template_type = 'pia', updated_at = '0000-00-00' where assessment_id = '{pia}'")
    odd = con.execute("select assessment_id from onetrust.assessments where template_type = 'PIA' "
                      f"and assessment_id <> '{pia}' order by assessment_id limit 1").fetchone()[0]
    con.execute(f"update onetrust.assessments set status = 'Archived' where assessment_id = '{odd}'")
    return {"newer": newer, "older": older, "tie": tie, "issue": issue, "pia": pia, "odd": odd}


@pytest.fixture(scope="module")
def hostile(_dbt_parse_home, tmp_path_factory):
    from sandbox.jira import JiraSandbox
    from sandbox.onetrust import OneTrustSandbox
    from sandbox.servicenow import ServiceNowSandbox

    root = tmp_path_factory.mktemp("dbt_round20")
    made = [ServiceNowSandbox(port=0, size=20), JiraSandbox(port=0, size=20), OneTrustSandbox(size=20)]
    for sb in made:
        sb.start()
    with pytest.MonkeyPatch.context() as mp:
        settings = fresh_duckdb(mp, _dbt_parse_home, root / "data")
        try:
            _load(settings, made)
        finally:
            for sb in made:
                sb.stop()
        with duckdb.connect(settings.duckdb_path) as con:
            ids = _hostile_sql(con)
        result = dbt(settings, root / "target", "build")
        assert result.returncode == 0, result.stdout[-6000:]
        shutil.copyfile(settings.duckdb_path, root / "warehouse.duckdb")
        statuses = {r["unique_id"]: r["status"] for r in
                    json.loads((root / "target" / "run_results.json").read_text())["results"]}
    con = duckdb.connect(str(root / "warehouse.duckdb"), read_only=True)
    yield con, ids, statuses, root
    con.close()


def _one(con, sql, params=()):
    return con.execute(sql, params).fetchone()


def test_duplicate_records_keep_the_newest_one(hostile):
    con, ids, statuses, _ = hostile
    for table, key in (("staging.stg_servicenow__incidents", "incident_id"),
                       ("staging.stg_jira__issues", "issue_id"), ("marts.tasks", "task_id")):
        assert _one(con, f"select count(*) - count(distinct {key}) from {table}") == (0,), table
    desc = "select short_description from staging.stg_servicenow__incidents where incident_id = ?"
    assert _one(con, desc, [ids["newer"]]) == ("NEWER",)
    assert _one(con, desc, [ids["older"]]) != ("OLDER",), "a later load with an older stamp must not win"
    assert _one(con, desc, [ids["tie"]])[0] in ("TIE-A", "TIE-B")
    summary = "select summary from staging.stg_jira__issues where issue_id = ?"
    assert _one(con, summary, [ids["issue"]]) == ("JIRA-OLDER",), "compared in UTC"
    task = "select count(*) from marts.tasks where task_id = ?"
    assert _one(con, task, ["servicenow-incident-" + ids["newer"]]) == (1,)
    unique_tests = {k: v for k, v in statuses.items() if k.startswith("test.") and "unique" in k}
    assert unique_tests and {k: v for k, v in unique_tests.items() if v not in ("pass", "warn")} == {}
    source_unique = [v for k, v in statuses.items()
                     if k.startswith("test.projectx.source_unique_servicenow_incidents_sys_id")]
    assert source_unique == ["warn"], "the raw duplicate is reported, staging resolves it"


def test_tie_break_does_not_depend_on_row_order(hostile, duckdb_warehouse, tmp_path):
    con, ids, _, root = hostile
    winner = _one(con, "select short_description from staging.stg_servicenow__incidents where incident_id = ?",
                  [ids["tie"]])[0]
    shutil.copyfile(root / "warehouse.duckdb", duckdb_warehouse.duckdb_path)
    with duckdb.connect(duckdb_warehouse.duckdb_path) as w:  # the same rows, stored the other way round
        w.execute("create temp table t as select * from servicenow.incidents where sys_id = ? "
                  "order by short_description desc", [ids["tie"]])
        w.execute("delete from servicenow.incidents where sys_id = ?", [ids["tie"]])
        w.execute("insert into servicenow.incidents select * from t order by short_description desc")
    result = dbt(duckdb_warehouse, tmp_path / "target", "build", "--full-refresh", "-s", "stg_servicenow__incidents")
    assert result.returncode == 0, result.stdout[-4000:]
    with duckdb.connect(duckdb_warehouse.duckdb_path, read_only=True) as w:
        assert _one(w, "select short_description from staging.stg_servicenow__incidents where incident_id = ?",
                    [ids["tie"]]) == (winner,)


def test_bad_timestamps_are_null_and_the_row_is_kept(hostile):
    con, _, _, _ = hostile
    rows = con.execute("select incident_number, opened_at, closed_at, due_at, updated_at "
                       "from staging.stg_servicenow__incidents where incident_number like 'INCTS%'").fetchall()
    assert len(rows) == len(BAD_STAMPS)
    assert all(r[1:] == (None, None, None, None) for r in rows), rows
    assert _one(con, "select count(*), count(created_at) from marts.tasks where title like 'Review incident INCTS%'") \
        == (len(BAD_STAMPS), 0)
    issue = _one(con, "select created_at, updated_at, due_date, story_points from staging.stg_jira__issues "
                      "where issue_id = '990001'")
    assert issue == (None, None, None, None)
    assert _one(con, "select updated_at from staging.stg_onetrust__assessments where assessment_id = ?",
                [hostile[1]["pia"]]) == (None,)


def test_hostile_text_is_kept_and_titles_are_bounded(hostile):
    con, _, _, _ = hostile
    desc = _one(con, "select short_description, description from staging.stg_servicenow__incidents "
                     "where incident_number = 'INCTEXT'")
    assert desc == (HOSTILE_TEXT + BIG, BIG), "staging keeps the vendor's text as sent"
    title = _one(con, "select title from marts.tasks where title like 'Review incident INCTEXT%'")[0]
    assert len(title) == 250 and title.endswith("\u2026")
    assert "\x00" not in title and "\u202e" not in title
    assert "\U0001F525" in title and "drop table marts.tasks" in title
    sent = dict(con.execute("select event_type, title from marts.notification_outbox "
                            "where title like '%INCTEXT%'").fetchall())
    assert set(sent) == {"servicenow_p1_incident", "task_assigned"}, sent
    assert all(len(t) <= 250 and "\u202e" not in t and "\x00" not in t for t in sent.values())
    assert _one(con, "select count(*) from marts.tasks")[0] > 0


def test_unknown_priorities_and_states_are_bucketed_and_warned(hostile):
    con, ids, statuses, _ = hostile
    prio = dict(con.execute("select title, priority from marts.tasks "
                            "where title like 'Review incident INCPRIO%'").fetchall())
    assert sorted(prio.values()) == ["unknown"] * 3, prio
    assert _one(con, "select priority from marts.tasks where task_id = 'jira-issue-990001'") == ("unknown",)
    pia = _one(con, "select status, priority from marts.tasks where task_id = ?", ["onetrust-pia-" + ids["pia"]])
    high = _one(con, "select task_priority from catalog.risk_due_date_rules where risk_level = 'High'")[0]
    assert pia == ("closed", high), "lower-case 'completed' / 'high' read as OneTrust's Completed / High"
    assert _one(con, "select status from staging.stg_onetrust__assessments where assessment_id = ?",
                [ids["odd"]]) == ("Archived",)
    assert _one(con, "select status from marts.tasks where task_id = ?", ["onetrust-pia-" + ids["odd"]]) == ("open",)

    def status(prefix):
        return [v for k, v in statuses.items() if k.startswith("test.projectx." + prefix)]
    assert status("accepted_values_tasks_priority__high__medium__low__unknown") == ["pass"]
    assert status("tasks_priority_known") == ["warn"]
    assert status("source_accepted_values_servicenow_incidents_priority") == ["warn"]
    assert status("accepted_values_stg_onetrust__assessments_status") == ["warn"]


def test_deleted_then_recreated_with_the_same_id(hostile, duckdb_warehouse, tmp_path):
    _, ids, _, root = hostile
    rid = ids["newer"]
    shutil.copyfile(root / "warehouse.duckdb", duckdb_warehouse.duckdb_path)
    shutil.copytree(root / "target", tmp_path / "target")
    task = f"select status from marts.tasks where task_id = 'servicenow-incident-{rid}'"

    def build():  # from deletions: its view reads no rows until the table exists (source_or_empty)
        result = dbt(duckdb_warehouse, tmp_path / "target", "build", "-s", "stg_servicenow__deletions+")
        assert result.returncode == 0, result.stdout[-4000:]

    with duckdb.connect(duckdb_warehouse.duckdb_path) as w:  # the vendor's delete feed, as dlt writes it
        w.execute("update servicenow.incidents set active = 'true' where sys_id = ?", [rid])
        w.execute("""create table servicenow.deletions (entity varchar, record_id varchar, deleted_at timestamptz,
                     detected_at timestamptz, detected_by varchar, run_id varchar, _withdrawn boolean,
                     _dlt_load_id varchar, _dlt_id varchar)""")
        w.execute("insert into servicenow.deletions values ('incidents', ?, '2027-01-15 00:00:00+00', "
                  "'2027-01-15 00:00:00+00', 'feed', 'r1', false, '1800000100.1', 'd1')", [rid])
    build()
    with duckdb.connect(duckdb_warehouse.duckdb_path, read_only=True) as w:
        deleted = "select is_deleted from staging.stg_servicenow__incidents where incident_id = ?"
        assert _one(w, deleted, [rid]) == (True,)
        assert _one(w, task) == ("closed",)

    with duckdb.connect(duckdb_warehouse.duckdb_path) as w:  # re-created under the same sys_id; dlt merges it
        w.execute("create temp table t as select * replace ('2027-02-01 00:00:00' as sys_created_on, "
                  "'2027-02-01 00:00:00' as sys_updated_on, 'RECREATED' as short_description, "
                  "'1800000200.1' as _dlt_load_id) from servicenow.incidents where sys_id = ? limit 1", [rid])
        w.execute("delete from servicenow.incidents where sys_id = ?", [rid])
        w.execute("insert into servicenow.incidents select * from t")
    build()
    with duckdb.connect(duckdb_warehouse.duckdb_path, read_only=True) as w:
        assert w.execute("select short_description, is_deleted from staging.stg_servicenow__incidents "
                         "where incident_id = ?", [rid]).fetchall() == [("RECREATED", False)]
        assert w.execute(task).fetchall() == [("open",)]
