"""Round 35 review of the set-aside health read (:mod:`assets.health.set_aside`).

- On PostgreSQL one connector's failed read (a quarantine table missing a column) no longer aborts the health
  run's transaction: each connector's read runs in a savepoint, and the rest of the health read still works.
- "Since" is per record (entity and id; a OneTrust slot: entity, listing and position), not per stored copy: a
  record edited at the vendor while set aside keeps its first date; a record that loaded and failed again later
  counts from its new failure, not from the identical old row.
- Only the vendor's own live pipeline (``projectx_<vendor>_<kind>``) counts, and its latest committed state.
- Hostile vendor text in the reason stays text on the health page.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import duckdb
import pytest

REASON = "ServiceNow fails to serve this record: its page and its read by sys_id answered 500"


def _ledger(keyed: dict | None = None, unkeyed: dict | None = None, resource: str = "incident",
            source: str = "servicenow") -> str:
    from dlt.common.versioned_state import compress_state

    res: dict = {}
    if keyed is not None:
        res["quarantined"] = keyed
    if unkeyed is not None:
        res["quarantined_unkeyed"] = unkeyed
    return compress_state({"sources": {source: {"resources": {resource: res}}}})


def _warehouse(path: str, schema: str = "servicenow"):
    con = duckdb.connect(path)
    con.execute(f"create schema {schema}")
    con.execute(f"create table {schema}.quarantine (entity varchar, record_id varchar, reason varchar, "
                "record varchar, quarantined_at timestamptz, _dlt_load_id varchar)")
    con.execute(f"create table {schema}._dlt_loads (load_id varchar, status bigint)")
    con.execute(f"create table {schema}._dlt_pipeline_state (pipeline_name varchar, state varchar, "
                "_dlt_load_id varchar)")
    return con


def _text(record: dict) -> str:
    return json.dumps(record, sort_keys=True, default=str)


def _figures(path: str, schema: str = "servicenow"):
    from assets.health import set_aside
    from resources.warehouse import Connection

    raw = duckdb.connect(path, read_only=True)
    try:
        return set_aside.figures(Connection(raw, "duckdb"), schema)
    finally:
        raw.close()


def _load(con, schema: str, load_id: str, state: str | None, rows=(), pipeline: str | None = None):
    """One committed load: its quarantine rows ``(entity, id, record, when)`` and its state row."""
    con.execute(f"insert into {schema}._dlt_loads values (?, 0)", [load_id])
    for entity, rid, record, when in rows:
        con.execute(f"insert into {schema}.quarantine values (?, ?, ?, ?, ?, ?)",
                    [entity, rid, REASON, _text(record), when, load_id])
    if state is not None:
        con.execute(f"insert into {schema}._dlt_pipeline_state values (?, ?, ?)",
                    [pipeline or f"projectx_{schema}_duckdb", state, load_id])


@pytest.mark.postgres
def test_a_failed_set_aside_read_does_not_abort_the_postgres_health_run(tmp_path, monkeypatch):
    from assets.health import history, measure
    from assets.health.inputs import CONNECTORS, warehouse_figures
    from resources.warehouse import WarehouseResource
    from tests.conftest import fresh_postgres

    with fresh_postgres(tmp_path / "pg") as settings:
        for key, value in settings.env().items():
            monkeypatch.setenv(key, value)
        warehouse = WarehouseResource(kind="postgres", duckdb_path=settings.duckdb_path, data_dir=settings.data_dir)
        broken, fine = CONNECTORS[0], CONNECTORS[-1]
        with warehouse.connect() as conn:
            for schema in (broken, fine):
                conn.execute(f"create schema {schema}")
                conn.execute(f"create table {schema}._dlt_loads (load_id varchar, status bigint)")
                conn.execute(f"create table {schema}._dlt_pipeline_state (pipeline_name varchar, state varchar, "
                             "_dlt_load_id varchar)")
                conn.execute(f"insert into {schema}._dlt_loads values ('1.0', 0)")
                conn.execute(f"insert into {schema}._dlt_pipeline_state values (%s, %s, '1.0')",
                             (f"projectx_{schema}_postgres", _ledger({"a1": "x"})))
            # a quarantine table missing a column: its read fails
            conn.execute(f"create table {broken}.quarantine (entity varchar, record_id varchar, record varchar)")
            conn.execute(f"create table {fine}.quarantine (entity varchar, record_id varchar, reason varchar, "
                         "record varchar, quarantined_at timestamptz)")
        with warehouse.connect() as conn:  # as run_health: one transaction for the whole health read
            figures = warehouse_figures(conn)
            assert figures[broken]["set_aside"] == {"error": "UndefinedColumn"}, figures[broken]
            assert figures[fine]["set_aside"] == {"count": 0, "oldest": None}
            now = datetime(2026, 12, 8, tzinfo=UTC)
            findings = [measure.unknown(broken, "set_aside", "unknown")]
            history.record(conn, "local", findings, now, "test")
            history.raise_alerts(conn, "local", "#ops", findings, now)
            assert conn.scalar("select count(*) from ops.health_checks") == 1
        with warehouse.connect() as conn:  # and it was committed
            assert conn.scalar("select count(*) from ops.health_checks") == 1


def test_the_latest_committed_state_of_the_vendors_own_pipeline_counts(tmp_path):
    """An older committed state with another ledger, and a newer one of a pipeline merely named alike."""
    from pipelines.common.requeue import digest

    a1, b2 = {"sys_id": "a1"}, {"sys_id": "b2"}
    path = str(tmp_path / "w.duckdb")
    con = _warehouse(path)
    _load(con, "servicenow", "1.0", _ledger({"b2": digest(b2)}),
          [("incident", "a1", a1, "2026-11-01 00:00:00+00"), ("incident", "b2", b2, "2026-11-01 00:00:00+00")])
    _load(con, "servicenow", "2.0", _ledger({"a1": digest(a1)}))
    # a newer committed state of another pipeline whose name starts like the vendor's (a copy, a test run)
    _load(con, "servicenow", "3.0", _ledger({"b2": digest(b2)}), pipeline="projectx_servicenow_duckdb_copy")
    con.close()
    figure = _figures(path)
    assert figure["count"] == 1 and figure["oldest"]["record_id"] == "a1", figure


def test_hostile_vendor_reason_is_escaped_in_the_page_cell_and_its_title():
    from assets.health import measure, set_aside
    from assets.health.inputs import ConnectorHealth
    from resources.flags import Flag
    from webhooks.operations.page import _row

    now = datetime(2026, 12, 8, tzinfo=UTC)
    hostile = 'Jira said: <script>alert("x")</script> \' onmouseover="alert(1)" & <img src=x onerror=alert(2)>'
    oldest = {"entity": "issues", "record_id": "PX-1", "reason": hostile, "record": "{}",
              "since": now - timedelta(days=3)}
    aside = set_aside.finding("jira", {"count": 1, "oldest": oldest}, now, 48)
    assert "<script>" in aside.message  # the finding keeps the vendor's words
    lag = measure.lag("x", {}, now)
    h = ConnectorHealth("jira", Flag("jira", True, "default"), [lag, aside])
    snap = SimpleNamespace(problems={}, now=now, connectors={"jira": h}, other_secrets={}, receiver_queues={},
                           notifications=None, lag_history={})
    row = _row(h, snap)
    cell = row[row.index('data-check="set_aside"'):]
    cell = cell[:cell.index("</td>")]
    title = cell[cell.index('title="') + len('title="'):]
    title = title[:title.index('"')]  # the attribute ends at the first double quote: none of the vendor's
    assert "&lt;script&gt;" in title and "&quot;x&quot;" in title and "&#x27;" in title, title
    assert "&lt;img src=x onerror=alert(2)&gt;" in title
    assert "<script" not in row and "<img" not in row and 'onmouseover="' not in row
    assert "1, oldest 3.0 days" in cell



def _at(day: int, month: int = 12) -> tuple[str, str]:
    """A dlt load id (epoch seconds as text) and a quarantine time in that load, on ``day`` of ``month`` 2026."""
    when = datetime(2026, month, day, 3, tzinfo=UTC)
    return f"{when.timestamp():.6f}", (when + timedelta(seconds=5)).isoformat()


def test_a_record_edited_while_set_aside_keeps_its_first_date(tmp_path):
    """A vendor edit (ServiceNow sys_updated_on / sys_mod_count) writes a new quarantine row each day: the record
    counts once and since its first row; a OneTrust slot failing with another status keeps its first date too."""
    from pipelines.common.requeue import digest

    path = str(tmp_path / "w.duckdb")
    con = _warehouse(path)
    _load(con, "servicenow", _at(1, 11)[0], _ledger({}))  # a clean load before
    for day in (1, 2, 3):
        load_id, when = _at(day)
        record = {"sys_id": "a1", "sys_mod_count": day, "sys_updated_on": f"2026-12-0{day} 02:00:00"}
        _load(con, "servicenow", load_id, _ledger({"a1": digest(record)}), [("incident", "a1", record, when)])
    con.close()
    figure = _figures(path)
    assert figure["count"] == 1, figure
    assert figure["oldest"]["since"] == datetime(2026, 12, 1, 3, 0, 5, tzinfo=UTC), figure
    assert '"sys_mod_count": 3' in figure["oldest"]["record"]  # named by its latest copy

    path = str(tmp_path / "ot.duckdb")
    con = _warehouse(path, "onetrust")
    for day, status in ((1, 500), (2, 502), (4, 502)):
        load_id, when = _at(day)
        slot = {"listing": "api/vendors", "position": 9, "unreadable": f"answered {status}"}
        rows = [("vendors", "", slot, when)] if day < 4 else []  # the same 502 again: no new row
        _load(con, "onetrust", load_id, _ledger(unkeyed={digest(slot): "2026-11-30T00:00:00Z"}, resource="vendors",
                                                source="onetrust"), rows)
    con.close()
    figure = _figures(path, "onetrust")
    assert figure["count"] == 1 and figure["oldest"]["since"] == datetime(2026, 12, 1, 3, 0, 5, tzinfo=UTC), figure
    assert "answered 502" in figure["oldest"]["record"]


def test_a_record_that_loaded_and_fails_again_counts_from_its_new_failure(tmp_path):
    """Set aside in November, loaded on December 2 (it left the ledger), served broken again on December 5 with
    the very same content: since December 5, not the identical November row's date."""
    from assets.health import set_aside
    from pipelines.common.requeue import digest

    record = {"sys_id": "a1", "short_description": "x"}
    other = {"sys_id": "b2"}
    path = str(tmp_path / "w.duckdb")
    con = _warehouse(path)
    load_id, when = _at(1, 11)
    _load(con, "servicenow", load_id, _ledger({"a1": digest(record)}), [("incident", "a1", record, when)])
    load_id, when = _at(1)
    _load(con, "servicenow", load_id, _ledger({"a1": digest(record), "b2": digest(other)}),
          [("incident", "b2", other, when)])
    _load(con, "servicenow", _at(2)[0], _ledger({"b2": digest(other)}))  # a1 loaded: it left the ledger
    load_id, when = _at(5)
    _load(con, "servicenow", load_id, _ledger({"a1": digest(record), "b2": digest(other)}),
          [("incident", "a1", record, when)])
    _load(con, "servicenow", _at(6)[0], _ledger({"a1": digest(record), "b2": digest(other), "c3": "elsewhere"}))
    con.close()
    figure = _figures(path)
    assert figure["count"] == 2, figure
    assert figure["oldest"]["record_id"] == "b2" and figure["oldest"]["since"].day == 1, figure
    # without b2, a1's since is December 5
    con = duckdb.connect(path)
    con.execute("delete from servicenow.quarantine where record_id = 'b2'")
    con.close()
    figure = _figures(path)
    assert figure["count"] == 1 and figure["oldest"]["since"] == datetime(2026, 12, 5, 3, 0, 5, tzinfo=UTC), figure
    f = set_aside.finding("servicenow", figure, datetime(2026, 12, 6, 3, tzinfo=UTC), 48)
    assert f.light == "green" and "2026-12-05 03:00" in f.message, f.message


def test_a_record_held_for_many_loads_costs_a_few_state_reads_not_one_per_load(tmp_path, monkeypatch):
    """Second review: "since" was found by walking every committed state back to the record's first row (one
    decompression each, on every page load and scrape: seconds after weeks of 5-minute syncs). Now only the state
    before each of the record's own rows is read, in one query, whatever the number of loads in between."""
    from assets.health import set_aside
    from pipelines.common.requeue import digest
    from resources.warehouse import Connection

    a1 = {"sys_id": "a1"}
    held = _ledger({"a1": digest(a1)})
    path = str(tmp_path / "w.duckdb")
    con = _warehouse(path)
    _load(con, "servicenow", "1000000000.0", _ledger({}))  # before it was set aside
    _load(con, "servicenow", "1000000001.0", held, [("incident", "a1", a1, "2026-11-01 00:00:00+00")])
    for i in range(2, 400):  # 400 loads that kept it set aside (other resources changed the state), a nightly
        # re-read writing another copy of it every 40
        again = [("incident", "a1", a1, f"2026-11-{1 + i // 40:02d} 00:00:00+00")] if i % 40 == 0 else []
        _load(con, "servicenow", f"{1000000000 + i}.0", held, again)
    con.close()
    raw = duckdb.connect(path, read_only=True)
    reads, queries = [], []
    monkeypatch.setattr(set_aside, "_held", lambda state, real=set_aside._held: reads.append(1) or real(state))
    conn = Connection(raw, "duckdb")
    monkeypatch.setattr(conn, "query", lambda *a, real=conn.query, **k: queries.append(a[0]) or real(*a, **k))
    try:
        figure = set_aside.figures(conn, "servicenow")
    finally:
        raw.close()
    assert figure["count"] == 1 and figure["oldest"]["since"] == datetime(2026, 11, 1, tzinfo=UTC)
    assert len(reads) <= 12, len(reads)  # the newest state and the one before each of its 10 rows at most
    # a few queries, not one per state (dlt's tables have no index: each query scans them)
    assert len([q for q in queries if "_dlt_pipeline_state" in q]) <= 3, queries


def test_past_the_state_budget_a_record_counts_from_its_earliest_row_and_rows_of_one_load_count_together(
        tmp_path, monkeypatch):
    """A state that cannot be read within the budget ends the search: every row counts (the age shown is at
    least the real one, so it warns no later than it should); two rows written in one load both count."""
    from assets.health import set_aside
    from pipelines.common.requeue import digest

    record = {"sys_id": "a1", "short_description": "x"}
    edited = {"sys_id": "a1", "short_description": "y"}
    path = str(tmp_path / "w.duckdb")
    con = _warehouse(path)
    _load(con, "servicenow", "1000000000.0", _ledger({"a1": digest(record)}),
          [("incident", "a1", record, "2026-11-01 00:00:00+00")])
    _load(con, "servicenow", "1000000001.0", _ledger({}))  # it loaded
    _load(con, "servicenow", "1000000002.0", _ledger({"a1": digest(edited)}),  # failed again, twice in one load
          [("incident", "a1", record, "2026-12-05 00:00:00+00"), ("incident", "a1", edited, "2026-12-05 00:00:01+00")])
    con.close()
    figure = _figures(path)
    assert figure["oldest"]["since"] == datetime(2026, 12, 5, tzinfo=UTC), figure  # both rows of the load
    monkeypatch.setattr(set_aside, "MAX_STATES", 1)  # only the newest state may be read
    figure = _figures(path)
    assert figure["oldest"]["since"] == datetime(2026, 11, 1, tzinfo=UTC), figure
