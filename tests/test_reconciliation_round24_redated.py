"""Round 24: the version census. A record the vendor re-dates to before the cursor's overlap (a restore
from backup with other content, a change the cursor passed) is never read by an incremental sync; the
nightly census now lists each id with its vendor stamp, finds every such record whatever the sample
(``PROJECTX_RECON_SAMPLE=0`` here), and heals it by the vendor's window mode.

The parts on both warehouses; end to end against the three sandboxes on DuckDB."""

from __future__ import annotations

import dataclasses
import logging
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from assets.reconciliation import census
from tests.test_reconciliation_parts import warehouse  # noqa: F401  (the both-warehouses fixture)

NOW = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
OLD = "2020-01-05 10:00:00"


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _table(conn, rows: dict[str, str | None], deleted: tuple[str, ...] = (), synced: datetime | None = NOW,
           quarantined: dict[str, str] | None = None) -> None:
    """Rows loaded by load 1.5; deletes by load 2.5; ``quarantined``: id -> the load that quarantined it."""
    conn.execute("create schema if not exists servicenow")
    conn.execute("create table servicenow.incidents (sys_id varchar, sys_updated_on varchar, _dlt_load_id varchar)")
    for rid, stamp in rows.items():
        conn.execute("insert into servicenow.incidents values (%s, %s, '1.5')", (rid, stamp))
    conn.execute("create table servicenow.deletions (entity varchar, record_id varchar, _dlt_load_id varchar)")
    for rid in deleted:
        conn.execute("insert into servicenow.deletions values ('incidents', %s, '2.5')", (rid,))
    conn.execute("create table servicenow.quarantine (entity varchar, record_id varchar, reason varchar, "
                 "_dlt_load_id varchar)")
    for rid, load in (quarantined or {}).items():
        conn.execute("insert into servicenow.quarantine values ('incidents', %s, 'x', %s)", (rid, load))
    conn.execute("create table servicenow._dlt_loads (inserted_at timestamp, status integer)")
    if synced is not None:
        conn.execute("insert into servicenow._dlt_loads values (%s, 0)", (synced,))
    conn.raw.commit()


def _redated(conn, limit: int = 100) -> list[str]:
    return census.redated(conn, "servicenow", "incidents", "sys_id", "sys_updated_on", limit=limit)


def test_version_census_finds_only_records_out_of_the_cursors_reach(warehouse):  # noqa: F811
    # The table's newest stamp is 2026-01-01: its cursor's reach (the last sync was later, NOW).
    stored = {
        "a" * 32: "2026-01-01 00:00:00",  # same stamp at the vendor: in parity
        "b" * 32: "2026-01-01 00:00:00",  # re-dated back to 2020 (a restore): found
        "c" * 32: "2021-01-01 00:00:00",  # changed in 2025, the cursor long past it: found
        "d" * 32: "2026-01-01 00:00:00",  # changed just now: the next sync reads it
        "k" * 32: "2025-01-01 00:00:00",  # changed after the table's newest stamp: the next sync reads it
        "e" * 32: "2026-01-01 00:00:00",  # re-dated, but deleted here: not live (the id census's)
        "f" * 32: "2026-01-01 00:00:00",  # the vendor's stamp is not a timestamp: the sync quarantines it
        "g" * 32: None,  # stored without a stamp
        "h" * 32: "2026-01-01 00:00:00",  # the census gave no stamp
        "j" * 32: "2021-01-01T10:00:00.000+0000",  # the same instant in another time zone: no change
        "q" * 32: "2021-01-01 00:00:00",  # its newer version was quarantined after this row loaded: held
        "r" * 32: "2021-01-01 00:00:00",  # quarantined once, before this row loaded: found
    }
    vendor = [("a" * 32, "2026-01-01 00:00:00"), ("b" * 32, OLD), ("c" * 32, "2025-06-01 00:00:00"),
              ("d" * 32, _stamp(NOW - timedelta(minutes=2))), ("k" * 32, "2026-06-01 00:00:00"),
              ("e" * 32, OLD), ("f" * 32, "yesterday"), ("g" * 32, OLD), "h" * 32,
              ("i" * 32, OLD),  # i: missing here, the id census's part
              ("j" * 32, "2021-01-01T11:00:00.000+0100"), ("q" * 32, OLD), ("r" * 32, OLD), ("r" * 32, OLD)]
    with warehouse.connect() as conn:
        _table(conn, stored, deleted=("e" * 32,), quarantined={"q" * 32: "2.0", "r" * 32: "1.0"})
        assert census.load_ids(conn, "servicenow", "incidents", [vendor[:4], vendor[4:]]) == 14
        assert _redated(conn) == ["b" * 32, "c" * 32, "r" * 32], "each once, though r was listed twice"
        assert _redated(conn, limit=1) == ["b" * 32], "the oldest stamps are looked at first"
        assert _redated(conn, limit=0) == []
        # e (deleted here, listed there) and i are the id census's: missing, re-read by their own rule
        assert census.compare(conn, "servicenow", "incidents", "sys_id").missing == ["e" * 32, "i" * 32]


def test_stamps_that_only_change_form_do_not_hide_a_re_dated_record(warehouse):  # noqa: F811
    """15 rows whose stamps the vendor now writes with an offset (a time-zone change) sort before the one
    re-dated record: they are looked past, not counted against the limit."""
    same = {f"{n:032x}": f"2019-01-{n + 1:02d}T10:00:00.000+0000" for n in range(15)}
    with warehouse.connect() as conn:
        _table(conn, {**same, "b" * 32: "2026-01-01 00:00:00"})
        census.load_ids(conn, "servicenow", "incidents", [
            [(rid, stamp.replace("T10", "T11").replace("+0000", "+0100")) for rid, stamp in same.items()],
            [("b" * 32, OLD)]])
        assert _redated(conn, limit=1) == ["b" * 32]


def test_a_table_whose_sync_lags_reaches_only_its_own_newest_stamp(warehouse):  # noqa: F811
    """change_requests stopped syncing in March while incidents go on: a change made there in June is the
    next sync's, not a re-dated record, whatever the vendor's other loads; a stamp from 2099 stored
    by a vendor clock gone wrong moves the reach no further than the last load."""
    with warehouse.connect() as conn:
        _table(conn, {"a" * 32: "2026-03-01 00:00:00", "b" * 32: "2026-02-01 00:00:00"})
        census.load_ids(conn, "servicenow", "incidents", [[("a" * 32, "2026-03-01 00:00:00"),
                                                          ("b" * 32, "2026-06-01 00:00:00")]])
        assert _redated(conn) == []
        conn.execute("update servicenow.incidents set sys_updated_on = '2099-01-01 00:00:00' "
                     f"where sys_id = '{'a' * 32}'")
        conn.raw.commit()
        census.load_ids(conn, "servicenow", "incidents", [[("a" * 32, "2099-01-01 00:00:00"),
                                                          ("b" * 32, "2026-06-01 00:00:00")]])
        assert _redated(conn) == ["b" * 32]  # June is before the last load (NOW): the cursor passed it


@pytest.mark.parametrize("synced", [None, NOW - timedelta(days=3000)])
def test_no_completed_sync_or_an_old_one_finds_nothing_it_cannot_date(warehouse, synced):  # noqa: F811
    with warehouse.connect() as conn:
        _table(conn, {"b" * 32: "2026-01-01 00:00:00"}, synced=synced)
        census.load_ids(conn, "servicenow", "incidents", [[("b" * 32, OLD)]])
        found = census.redated(conn, "servicenow", "incidents", "sys_id", "sys_updated_on", limit=10)
        # No sync yet: nothing is out of a cursor's reach. A sync in 2018: 2020 is after it.
        assert found == []


def test_a_census_table_from_before_the_version_column_is_upgraded_in_place(warehouse):  # noqa: F811
    with warehouse.connect() as conn:
        _table(conn, {"b" * 32: "2026-01-01 00:00:00"})
        conn.execute("create schema if not exists reconciliation")
        conn.execute("create table reconciliation.census_ids (vendor varchar not null, entity varchar not null, "
                     "record_id varchar not null)")
        conn.execute("insert into reconciliation.census_ids values ('jira', 'issues', '10001')")
        conn.raw.commit()
        census.load_ids(conn, "servicenow", "incidents", [[("b" * 32, OLD)], ["z" * 32]])
        rows = conn.query("select vendor, record_id, version from reconciliation.census_ids order by record_id")
        assert [(r["vendor"], r["record_id"], r["version"]) for r in rows] == [
            ("jira", "10001", None), ("servicenow", "b" * 32, OLD), ("servicenow", "z" * 32, None)]
        assert census.redated(conn, "servicenow", "incidents", "sys_id", "sys_updated_on", limit=10) == ["b" * 32]


def test_a_stamp_the_census_keeps_is_a_short_string():
    from assets.reconciliation.vendors import _stamp

    assert _stamp("2026-01-01 00:00:00") == "2026-01-01 00:00:00"
    assert [_stamp(v) for v in ("", None, 1767225600, ["2026"], "9" * 65)] == [None] * 5


def _sync(resource, wh, vendor: str) -> None:
    from pipelines.common.recovery import recovered_pipeline

    with recovered_pipeline(wh.settings, vendor) as run:
        run.pipeline.run(resource.source(run_id=f"sync-{vendor}"), loader_file_format="parquet")


def _stored(settings, sql: str) -> list[tuple]:
    import duckdb

    with duckdb.connect(settings.duckdb_path, read_only=True) as con:
        return con.execute(sql).fetchall()


@pytest.mark.slow
def test_records_re_dated_at_the_vendor_are_found_and_healed_whatever_the_sample(vendors, duckdb_warehouse,
                                                                                  monkeypatch):
    from assets.reconciliation import nightly
    from assets.reconciliation.compare import parity
    from resources.jira import JiraResource
    from resources.onetrust import OneTrustResource
    from resources.servicenow import ServiceNowResource
    from resources.warehouse import WarehouseResource

    monkeypatch.setenv(nightly.SAMPLE_ENV, "0")  # no row is sampled: only the version census can tell
    sn, jira, onetrust = vendors(size=60)
    wh = WarehouseResource.from_env()
    resources = {"servicenow": ServiceNowResource(backoff_base_seconds=0.01),
                 "jira": JiraResource(backoff_base_seconds=0.01),
                 "onetrust": OneTrustResource(backoff_base_seconds=0.01)}
    for vendor, resource in resources.items():
        _sync(resource, wh, vendor)

    # Restores from backup: other content, a stamp from 2020 (long before every cursor).
    incident = sorted(r["sys_id"] for r in sn.records("incident"))[7]
    with sn.store.lock:  # a restore writes the row as it was, stamp and all (no API does that)
        table, row = sn.store.locate("incident", incident)
        table.replace(row, {"short_description": "restored from backup", "sys_updated_on": OLD})
    issue_id = sorted(jira.store.issues)[3]
    with jira.store.lock:
        issue = jira.store._freeze(jira.store.issues[issue_id])
        jira.store._put(dataclasses.replace(issue, summary="restored from backup",
                                            updated=int(datetime(2020, 1, 5, 10, tzinfo=UTC).timestamp() * 1000)))
    jira.sync_index()
    risk = onetrust.risks()[2]["id"]
    with onetrust.store.lock:
        risks = onetrust.store.tables["risks"]
        i = risks.find(risk)
        risks.replace(i, {**risks.row(i), "name": "restored from backup",
                          "lastModifiedUTCDateTime": "2020-01-05T10:00:00.000Z"})

    for vendor, resource in resources.items():  # the incremental syncs cannot see them
        _sync(resource, wh, vendor)
    assert _stored(duckdb_warehouse, "select short_description from servicenow.incidents "
                                     f"where sys_id = '{incident}'") != [("restored from backup",)]
    assert _stored(duckdb_warehouse, f"select summary from jira.issues where id = '{issue_id}'") \
        != [("restored from backup",)]

    found = {}
    for vendor, resource in resources.items():
        for table in nightly.vendor_tables(vendor, resource):
            p = parity(wh, table, sample=0)
            with wh.connect() as conn:  # the census alone, before parity's full comparison narrows it
                direct = census.redated(conn, vendor, table.entity, table.key, table.version, limit=10_000)
            if p.stale or direct:
                found[(vendor, table.entity)] = (p.stale, p.redated, direct)
    assert found == {("servicenow", "incidents"): ([incident], [incident], [incident]),
                     ("jira", "issues"): ([str(issue_id)], [str(issue_id)], [str(issue_id)]),
                     ("onetrust", "risks"): ([risk], [risk], [risk])}, found

    context = SimpleNamespace(run_id="nightly-redated", log=logging.getLogger("test"))
    findings = []
    for vendor, resource in resources.items():
        findings += nightly.reconcile_vendor(context, vendor, resource, wh, mark_gone=False)
    stale = [f for f in findings if f.kind == "stale_version"]
    assert sorted((f.vendor, f.entity, f.found, f.unhealed) for f in stale) == [
        ("jira", "issues", 1, 0), ("onetrust", "risks", 1, 0), ("servicenow", "incidents", 1, 0)], findings
    assert all("re-dated" in f.detail for f in stale)
    assert _stored(duckdb_warehouse, f"select short_description, sys_updated_on from servicenow.incidents "
                                     f"where sys_id = '{incident}'") == [("restored from backup", OLD)]
    assert _stored(duckdb_warehouse, f"select summary from jira.issues where id = '{issue_id}'") \
        == [("restored from backup",)]
    assert _stored(duckdb_warehouse, f"select name from onetrust.risks where risk_id = '{risk}'") \
        == [("restored from backup",)]
    # In parity now: a second census finds nothing.
    again = [f for vendor, resource in resources.items()
             for f in nightly.reconcile_vendor(context, vendor, resource, wh, mark_gone=False)
             if f.kind == "stale_version"]
    assert again == []
