"""Round 21: the round-20 hostile raw rows on PostgreSQL too, and the same marts on both warehouses.

One set of small sandboxes is loaded by the dlt sources into a DuckDB warehouse and into a fresh
PostgreSQL database of its own (dropped afterwards); the same hostile rows are then written into both
raw schemas (PostgreSQL text holds no NUL, so the text here has none: round 20 covers NUL on DuckDB)
and `dbt build` runs on each. The tests assert the behaviour on each warehouse and that both show the
same rows, down to which duplicate of a record wins.
"""

from __future__ import annotations

import json

import duckdb
import psycopg2
import pytest

from tests.conftest import fresh_duckdb, fresh_postgres
from tests.dbt_helpers import dbt
from tests.test_dbt_marts import _load

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

LOAD = "1800000000.5"
BAD_STAMPS = ["0000-00-00", "9999-12-31 23:59:59", "2026-02-30 10:00:00", "", "1767225600000",
              "2026-13-01 00:00:00", "2026-01-01 24:00:00", "yesterday"]
HOSTILE_TEXT = "\u202egnp.exe \U0001F525 '; drop table marts.tasks; -- \" or 1=1 /* {{ var('x') }} */ "
BIG = "x" * 100_000
ISO = {"991001": "2026-10-01T08:34:56.9999999-0400", "991002": "2026-10-01T08:34:56+14",
       "991003": "2026-10-01T08:34:56+1500", "991004": "2026-10-01T08:34:56.5Z", "991005": "2026-10-01"}
PRICES = {"RPRICE1": "129.5", "RPRICE2": "P1", "RPRICE3": "1e3", "RPRICE4": "", "RPRICE5": "12.345",
          "RPRICE6": "10000000000000000000"}


class Warehouse:
    """The raw and built tables of one warehouse, through its own driver (`%s` parameters on both)."""

    def __init__(self, settings):
        self.kind = settings.kind
        if self.kind == "duckdb":
            self.con = duckdb.connect(settings.duckdb_path)
        else:
            c = settings.pg_credentials()
            self.con = psycopg2.connect(host=c["host"], port=c["port"], user=c["username"], dbname=c["database"])
            self.con.autocommit = True

    def rows(self, sql: str, params=()) -> list[tuple]:
        if self.kind == "duckdb":
            return self.con.execute(sql.replace("%s", "?"), list(params)).fetchall()
        with self.con.cursor() as cur:
            cur.execute(sql, params)
            return [tuple(r) for r in cur.fetchall()] if cur.description else []

    def record(self, table: str, where: str, params=()) -> dict:
        """The first matching raw row as {column: value} (JSON as text)."""
        if self.kind == "duckdb":
            cur = self.con.execute(f"select * from {table} where {where} limit 1".replace("%s", "?"), list(params))
            names, row = [d[0] for d in cur.description], cur.fetchone()
        else:
            with self.con.cursor() as cur:
                cur.execute(f"select * from {table} where {where} limit 1", params)
                names, row = [d[0] for d in cur.description], cur.fetchone()
        return {n: (json.dumps(v) if isinstance(v, list | dict) else v) for n, v in zip(names, row, strict=True)}

    def copy(self, table: str, where: str, params=(), template: dict | None = None, **changes) -> None:
        """Insert a copy of the matching raw row (or of `template`) with `changes`, as a load writes it."""
        record = dict(template or self.record(table, where, params))
        record.update(_dlt_load_id=LOAD, **changes)
        cols = ", ".join(f'"{n}"' for n in record)
        self.rows(f"insert into {table} ({cols}) values ({', '.join(['%s'] * len(record))})", list(record.values()))


def _pick(w: Warehouse) -> dict:
    """The existing records the hostile rows copy, chosen once (on DuckDB: collations differ) for both."""
    inc = [r[0] for r in w.rows("select sys_id from servicenow.incidents order by sys_id limit 4")]
    ids = dict(zip(("newer", "older", "tie", "plain"), inc, strict=True))
    for table in ("change_requests", "catalog_tasks", "cmdb_cis", "requests"):
        ids[table] = w.rows(f"select sys_id from servicenow.{table} order by sys_id limit 1")[0][0]
        ids[table + "_row"] = w.record(f"servicenow.{table}", "sys_id = %s", [ids[table]])
    ids["issue"] = w.rows("select id from jira.issues where cast(labels as text) like '%%control:%%' and "
                          "cast(labels as text) not like '%%projectx%%' and issue_type <> 'Epic' "
                          "order by id limit 1")[0][0]
    # the tied versions are copied from one warehouse's row into both: two loads of a live sandbox may
    # differ in a field, and the fingerprint is of the whole text
    ids["tie_row"] = w.record("servicenow.incidents", "sys_id = %s", [ids["tie"]])
    ids["issue_row"] = w.record("jira.issues", "id = %s", [ids["issue"]])
    ids["pia"] = w.rows("select assessment_id from onetrust.assessments where template_type = 'PIA' "
                        "and status <> 'Completed' order by assessment_id limit 1")[0][0]
    return ids


def _hostile(w: Warehouse, ids: dict) -> None:
    newer, older, tie, plain = ids["newer"], ids["older"], ids["tie"], ids["plain"]
    one = "sys_id = %s"
    w.copy("servicenow.incidents", one, [newer], sys_updated_on="2027-01-01 00:00:00", short_description="NEWER")
    w.copy("servicenow.incidents", one, [older], sys_updated_on="2000-01-01 00:00:00", short_description="OLDER")
    for text in ("TIE-B", "TIE-A", "TIE-C"):  # same stamp, load and mod count; only the text differs
        w.copy("servicenow.incidents", one, [tie], template=ids["tie_row"],
               sys_updated_on="2027-01-02 00:00:00", sys_mod_count="7", short_description=text)
    for i, stamp in enumerate(BAD_STAMPS):
        w.copy("servicenow.incidents", one, [plain], sys_id=f"ts{i:030d}", number=f"INCTS{i}", opened_at=stamp,
               sys_updated_on=stamp, closed_at=stamp, due_date=stamp)
    w.copy("servicenow.incidents", one, [plain], sys_id="text" + "0" * 28, number="INCTEXT",
           short_description=HOSTILE_TEXT + BIG, description=BIG, priority="1", active="true")
    for p in ("6", "P1", "", "+2", "0012"):
        w.copy("servicenow.incidents", one, [plain], sys_id=f"prio{p:>28}", number=f"INCPRIO{p}", priority=p)

    for table in ("change_requests", "catalog_tasks", "cmdb_cis", "requests"):  # the other ServiceNow tables
        first = ids[table]
        w.copy(f"servicenow.{table}", one, [first], sys_updated_on="2027-01-03 00:00:00", short_description="DUP-NEW")
        for text in ("DUP-TIE-B", "DUP-TIE-A"):
            w.copy(f"servicenow.{table}", one, [first], template=ids[table + "_row"],
                   sys_updated_on="2026-01-01 00:00:00", short_description=text)
    for number, price in PRICES.items():
        w.copy("servicenow.requests", one, [ids["requests"]], sys_id=f"{number:>32}", number=number, price=price)

    issue = ids["issue"]
    jone = "id = %s"
    w.copy("jira.issues", jone, [issue], id="990001", key="GRC-990001", priority="Blocker", created="1767225600000",
           updated="not a date", duedate="2026-02-30", story_points="many")
    for stamp, summary in (("2027-01-01T00:00:00.000+0000", "JIRA-NEWER"),
                           ("2026-12-31T23:00:00.000-0500", "JIRA-OLDER")):
        w.copy("jira.issues", jone, [issue], updated=stamp, summary=summary)
    for summary in ("JIRA-TIE-B", "JIRA-TIE-A"):
        w.copy("jira.issues", jone, [issue], template=ids["issue_row"], id="990002", key="GRC-990002",
               updated="2027-02-01T00:00:00.000+0000",
               summary=summary)
    for key, stamp in ISO.items():
        w.copy("jira.issues", jone, [issue], id=key, key=f"GRC-{key}", created=stamp, updated=stamp)

    w.rows("update onetrust.assessments set status = 'completed', risk_level = 'high', template_type = 'pia', "
           "updated_at = '0000-00-00' where assessment_id = %s", [ids["pia"]])


@pytest.fixture(scope="module")
def built(_dbt_parse_home, tmp_path_factory):
    from sandbox.jira import JiraSandbox
    from sandbox.onetrust import OneTrustSandbox
    from sandbox.servicenow import ServiceNowSandbox

    root = tmp_path_factory.mktemp("dbt_round21")
    made = [ServiceNowSandbox(port=0, size=20), JiraSandbox(port=0, size=20), OneTrustSandbox(size=20)]
    for sb in made:
        sb.start()
    with pytest.MonkeyPatch.context() as mp, fresh_postgres(root / "pgdata", "projectx_dbt21") as pg:
        duck = fresh_duckdb(mp, _dbt_parse_home, root / "data")
        try:
            for settings in (duck, pg):
                _load(settings, made)
        finally:
            for sb in made:
                sb.stop()
        out, ids = {}, None
        for settings in (duck, pg):
            w = Warehouse(settings)
            ids = ids or _pick(w)
            _hostile(w, ids)
            if settings.kind == "duckdb":
                w.con.close()
            result = dbt(settings, root / f"target_{settings.kind}", "build")
            assert result.returncode == 0, result.stdout[-6000:]
            results = json.loads((root / f"target_{settings.kind}" / "run_results.json").read_text())["results"]
            if settings.kind == "duckdb":
                w = Warehouse(settings)
            out[settings.kind] = (w, ids, {r["unique_id"]: r["status"] for r in results})
        yield out
        for w, _, _ in out.values():
            w.con.close()


@pytest.fixture(params=["duckdb", "postgres"])
def each(request, built):
    return built[request.param]


def _one(w, sql, params=()):
    rows = w.rows(sql, params)
    assert len(rows) == 1, rows
    return rows[0]


def test_duplicates_keep_the_newest_and_ties_resolve_alike(each, built):
    w, ids, statuses = each
    desc = "select short_description from staging.stg_servicenow__incidents where incident_id = %s"
    assert _one(w, desc, [ids["newer"]]) == ("NEWER",)
    assert _one(w, desc, [ids["older"]]) != ("OLDER",)
    assert _one(w, desc, [ids["tie"]])[0] in ("TIE-A", "TIE-B", "TIE-C")
    for model, key in (("change_requests", "change_request_id"), ("catalog_tasks", "catalog_task_id"),
                       ("cmdb_cis", "cmdb_ci_id"), ("requests", "request_id")):
        table = f"staging.stg_servicenow__{model}"
        assert _one(w, f"select count(*) - count(distinct {key}) from {table}") == (0,), model
        assert _one(w, f"select short_description from {table} where {key} = %s", [ids[model]]) == ("DUP-NEW",)
    assert _one(w, "select summary from staging.stg_jira__issues where issue_id = %s", [ids["issue"]]) \
        == ("JIRA-OLDER",), "compared in UTC"
    assert _one(w, "select summary from staging.stg_jira__issues where issue_id = '990002'")[0] \
        in ("JIRA-TIE-A", "JIRA-TIE-B")
    assert _one(w, "select count(*) - count(distinct task_id) from marts.tasks") == (0,)
    assert [v for k, v in statuses.items() if k.startswith("test.projectx.source_unique_servicenow_incidents")] \
        == ["warn"]


def test_bad_values_are_null_and_rows_kept(each):
    w, _, _ = each
    rows = w.rows("select opened_at, closed_at, due_at, updated_at from staging.stg_servicenow__incidents "
                  "where incident_number like 'INCTS%%'")
    assert rows == [(None, None, None, None)] * len(BAD_STAMPS)
    assert _one(w, "select created_at, updated_at, due_date, story_points from staging.stg_jira__issues "
                   "where issue_id = '990001'") == (None, None, None, None)
    prio = dict(w.rows("select incident_number, priority from staging.stg_servicenow__incidents "
                       "where incident_number like 'INCPRIO%%'"))
    assert prio == {"INCPRIO6": 6, "INCPRIOP1": None, "INCPRIO": None, "INCPRIO+2": 2, "INCPRIO0012": 12}
    prices = dict(w.rows("select request_number, price from staging.stg_servicenow__requests "
                         "where request_number like 'RPRICE%%'"))
    assert {k: (None if v is None else str(v)) for k, v in prices.items()} == {
        "RPRICE1": "129.50", "RPRICE2": None, "RPRICE3": None, "RPRICE4": None, "RPRICE5": "12.35",
        "RPRICE6": None}
    stamps = dict(w.rows("select issue_id, created_at from staging.stg_jira__issues where issue_id like '99100%%'"))
    assert {k: (v.isoformat() if v else None) for k, v in stamps.items()} == {
        "991001": "2026-10-01T12:34:56.999999", "991002": "2026-09-30T18:34:56", "991003": None,
        "991004": "2026-10-01T08:34:56.500000", "991005": "2026-10-01T00:00:00"}


def test_hostile_text_is_kept_and_titles_bounded(each):
    w, _, _ = each
    assert _one(w, "select short_description, description from staging.stg_servicenow__incidents "
                   "where incident_number = 'INCTEXT'") == (HOSTILE_TEXT + BIG, BIG)
    title = _one(w, "select title from marts.tasks where title like 'Review incident INCTEXT%%'")[0]
    assert len(title) == 250 and title.endswith("\u2026") and "\u202e" not in title
    assert "\U0001F525" in title and "drop table marts.tasks" in title


def test_warn_tests_alike(built):
    def warned(statuses):
        return sorted(k for k, v in statuses.items() if v == "warn")
    assert warned(built["duckdb"][2]) == warned(built["postgres"][2])
    assert {v for s in (built["duckdb"][2], built["postgres"][2]) for v in s.values()} <= {"pass", "warn", "success"}


MARTS = {
    "marts.tasks": "select task_id, task_type, source_record_id, title, priority, queue, assignee_id, labels, "
                   "control_id, status, created_at, case when task_type <> 'control_remediation' then due_at end, "
                   "vendor_resolution, vendor_comment_count from marts.tasks order by task_id",
    "incidents": "select incident_id, incident_number, short_description, state, priority, opened_at, closed_at, "
                 "updated_at, mod_count, is_deleted from staging.stg_servicenow__incidents order by incident_id",
    "issues": "select issue_id, summary, priority, created_at, updated_at, due_date, story_points "
              "from staging.stg_jira__issues order by issue_id",
    "requests": "select request_id, short_description, price, updated_at from staging.stg_servicenow__requests "
                "order by request_id",
    "others": "select 'cr', change_request_id, short_description from staging.stg_servicenow__change_requests "
              "union all select 'sc', catalog_task_id, short_description from staging.stg_servicenow__catalog_tasks "
              "union all select 'ci', cmdb_ci_id, short_description from staging.stg_servicenow__cmdb_cis "
              "order by 1, 2",
    "control_results": "select control_id, status, count(*) from marts.control_results group by 1, 2 order by 1, 2",
    "outbox": "select event_type, title from marts.notification_outbox order by 1, 2",
}


@pytest.mark.parametrize("name", sorted(MARTS))
def test_both_warehouses_give_the_same_rows(built, name):
    duck, pg = (built[k][0].rows(MARTS[name]) for k in ("duckdb", "postgres"))
    assert duck, name
    assert sorted(duck, key=repr) == sorted(pg, key=repr)
