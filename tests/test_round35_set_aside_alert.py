"""Round 35: a record the vendor serves broken every time, set aside for days, is surfaced to on-call.

Behaviour confirmed against the OneTrust emulator: a vendor record that makes every listing page holding it answer
500 is quarantined as a *slot* (its listing position: OneTrust tells no id) and the rest loads; while it stays
broken every pass is unstable, so the entity's cursor stays where it was and a full pass reconciles no delete
(a vendor deleted meanwhile is not marked until the record reads). Nothing told on-call: the sync succeeds.

Now the health read (:mod:`assets.health.set_aside`) counts the records still set aside per connector (quarantine
rows the re-read ledger in the last committed dlt state still holds) with the oldest one's age: the
``set_aside`` check warns past ``PROJECTX_SET_ASIDE_WARN_HOURS`` (default 48) naming the record, since when and
the fix; ``/metrics`` has ``integration_set_aside_records`` and ``integration_set_aside_oldest_seconds``; the
health page a "set aside" column; Dagster an asset check ``<connector>_set_aside``.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import duckdb

from tests.ingestion_harness import sql
from tests.test_ingestion_hostile_more import _ot_sync
from tests.test_round34_sources_fallback import _fail_pages_holding


@contextmanager
def _conn(settings):
    from resources.warehouse import Connection

    raw = duckdb.connect(settings.duckdb_path, read_only=True)
    try:
        yield Connection(raw, "duckdb")
    finally:
        raw.close()


def _vendors_state(settings) -> dict:
    """The vendors resource's state as the last committed load left it."""
    from dlt.common.versioned_state import decompress_state

    rows = sql(settings, "select s.state from onetrust._dlt_pipeline_state s join onetrust._dlt_loads l "
                         "on l.load_id = s._dlt_load_id where l.status = 0 order by l.load_id desc limit 1")
    state = decompress_state(rows[0][0])
    return next(src["resources"]["vendors"] for src in state["sources"].values() if "vendors" in src["resources"])


def _broken_vendor_run(make_onetrust_sandbox, settings):
    sb = make_onetrust_sandbox(size=40)
    everyone = sorted(v["id"].lower() for v in sb.vendors())
    victim = everyone[9]
    _ot_sync(settings, sb, vendor_page_size=10, reconcile=True)  # a first clean load: the cursor moves
    sb.touch("vendors", 3)
    _fail_pages_holding(sb, victim)
    return sb, everyone, victim


def test_a_record_served_broken_holds_the_cursor_and_the_deletes_until_it_reads(make_onetrust_sandbox,
                                                                               duckdb_warehouse):
    sb, everyone, _victim = _broken_vendor_run(make_onetrust_sandbox, duckdb_warehouse)
    cursor_before = _vendors_state(duckdb_warehouse)["last_value"]
    gone = everyone[30]
    assert sb.delete("vendors", gone) == 1
    for _ in range(2):
        _ot_sync(duckdb_warehouse, sb, vendor_page_size=10, reconcile=True)
        stats = _vendors_state(duckdb_warehouse)["stats"]
        assert stats["stable"] is False, stats  # the pass is unstable: the cursor is not committed
        assert _vendors_state(duckdb_warehouse)["last_value"] == cursor_before  # 3 vendors changed meanwhile
        assert sql(duckdb_warehouse, "select record_id from onetrust.deletions where record_id = ?", gone) == []
    rows = sql(duckdb_warehouse, "select record_id, reason from onetrust.quarantine where entity = 'vendors'")
    assert len(rows) == 1 and not rows[0][0] and "fails to serve the record at position" in rows[0][1], rows
    assert _vendors_state(duckdb_warehouse)["quarantined_unkeyed"], "the slot is held in the re-read ledger"
    from assets.health import set_aside

    with _conn(duckdb_warehouse) as conn:  # and the health read counts it
        assert set_aside.figures(conn, "onetrust")["count"] == 1
    sb.rewrite_responses(None)  # OneTrust serves it again: the pass is stable, the delete is reconciled
    _ot_sync(duckdb_warehouse, sb, vendor_page_size=10, reconcile=True)
    assert _vendors_state(duckdb_warehouse)["stats"]["stable"] is True
    assert _vendors_state(duckdb_warehouse)["last_value"] > cursor_before
    assert sql(duckdb_warehouse, "select record_id from onetrust.deletions where record_id = ?", gone) == [(gone,)]
    assert not _vendors_state(duckdb_warehouse)["quarantined_unkeyed"]
    with _conn(duckdb_warehouse) as conn:
        assert set_aside.figures(conn, "onetrust") == {"count": 0, "oldest": None}


def test_the_oldest_set_aside_record_is_counted_aged_and_warned_about(make_onetrust_sandbox, duckdb_warehouse,
                                                                      monkeypatch):
    from assets.health import measure, set_aside
    from assets.health.inputs import collect, warehouse_figures

    sb, _, _ = _broken_vendor_run(make_onetrust_sandbox, duckdb_warehouse)
    with _conn(duckdb_warehouse) as conn:
        assert set_aside.figures(conn, "onetrust") == {"count": 0, "oldest": None}  # the clean load set none
    for _ in range(2):
        _ot_sync(duckdb_warehouse, sb, vendor_page_size=10)
    since = sql(duckdb_warehouse, "select quarantined_at from onetrust.quarantine")[0][0].astimezone(UTC)
    with _conn(duckdb_warehouse) as conn:
        figure = set_aside.figures(conn, "onetrust")
        wh = warehouse_figures(conn)
    assert figure["count"] == 1 and figure["oldest"]["entity"] == "vendors", figure
    assert wh["onetrust"]["set_aside"]["count"] == 1 and wh["jira"]["set_aside"] == {"count": 0, "oldest": None}

    monkeypatch.delenv(set_aside.ENV, raising=False)
    young = set_aside.finding("onetrust", figure, since + timedelta(hours=47))
    assert young.light == measure.GREEN and young.detail["count"] == 1
    old = set_aside.finding("onetrust", figure, since + timedelta(days=3))
    assert old.light == measure.YELLOW and old.threshold == 48 * 3600, old
    assert abs(old.value - 3 * 86400) < 1
    position = json.loads(figure["oldest"]["record"])["position"]
    for words in (f"position {position}", "vendors", since.strftime("%Y-%m-%d %H:%M"), "PROJECTX_SET_ASIDE_WARN_HOURS",
                  "cursor does not advance", "deletes are not reconciled", "fix:", "RB-004", "answered 500"):
        assert words in old.message, (words, old.message)

    monkeypatch.setenv(set_aside.ENV, "2")  # a tighter bound, as README's Configuration table says
    assert set_aside.finding("onetrust", figure, since + timedelta(hours=3)).light == measure.YELLOW
    monkeypatch.setenv(set_aside.ENV, "two days")
    bad = set_aside.finding("onetrust", figure, since + timedelta(hours=3))
    assert bad.light == measure.UNKNOWN and set_aside.ENV in bad.message and "48" in bad.message
    assert bad.detail["count"] == 1 and abs(bad.value - 3 * 3600) < 1  # the gauges still have their figures

    # the connector's entry: the finding, and its light turns yellow (the Dagster check warns)
    monkeypatch.delenv(set_aside.ENV)
    from resources.environment import ENVIRONMENTS

    health = collect(ENVIRONMENTS["local"], None, wh, since + timedelta(days=3), syncs={c: {} for c in wh},
                     vault_flags={}, inbox=(None, None))
    f = health["onetrust"].finding("set_aside")
    assert f is not None and f.light == measure.YELLOW and health["onetrust"].light == measure.YELLOW
    assert health["jira"].finding("set_aside").light == measure.GREEN

    from assets.health.checks import SPECS, check_result

    assert "onetrust_set_aside" in {s.name for s in SPECS}
    result = check_result(f)
    assert not result.passed and result.severity.value == "WARN"

    sb.rewrite_responses(None)  # read again: it leaves the ledger, and the count falls to 0
    _ot_sync(duckdb_warehouse, sb, vendor_page_size=10)
    with _conn(duckdb_warehouse) as conn:
        assert set_aside.figures(conn, "onetrust") == {"count": 0, "oldest": None}


def test_metrics_and_page_show_the_set_aside_records():
    from assets.health import measure, set_aside
    from assets.health.inputs import ConnectorHealth
    from resources.flags import Flag
    from webhooks.operations.metrics import HealthCollector
    from webhooks.operations.page import _row

    now = datetime(2026, 12, 8, tzinfo=UTC)
    oldest = {"entity": "vendors", "record_id": "", "reason": "OneTrust fails to serve the record at position 9",
              "record": json.dumps({"listing": "api/x", "position": 9, "unreadable": "answered 500"}),
              "since": now - timedelta(days=4)}
    aside = set_aside.finding("onetrust", {"count": 2, "oldest": oldest}, now, 48)
    clean = set_aside.finding("jira", {"count": 0, "oldest": None}, now, 48)
    lag = measure.lag("x", {}, now)
    connectors = {"onetrust": ConnectorHealth("onetrust", Flag("onetrust", True, "default"), [lag, aside]),
                  "jira": ConnectorHealth("jira", Flag("jira", True, "default"), [lag, clean])}
    snap = SimpleNamespace(problems={}, now=now, connectors=connectors, other_secrets={}, receiver_queues={},
                           notifications=measure.backlog("notifications", "notification_backlog", 0, "queued"),
                           lag_history={})
    events = SimpleNamespace(update=lambda *a, **k: True)
    families = {m.name: m for m in HealthCollector(None, events, lambda: snap).collect()}
    samples = {(s.name, s.labels.get("connector")): s.value
               for name in ("integration_set_aside_records", "integration_set_aside_oldest_seconds")
               for s in families[name].samples}
    assert samples[("integration_set_aside_records", "onetrust")] == 2
    assert samples[("integration_set_aside_oldest_seconds", "onetrust")] == 4 * 86400
    assert samples[("integration_set_aside_records", "jira")] == 0
    assert samples[("integration_set_aside_oldest_seconds", "jira")] == 0
    status = {(s.labels["connector"], s.labels["check"]): s.value for s in families["integration_check_status"].samples}
    assert status[("onetrust", "set_aside")] == 1 and status[("jira", "set_aside")] == 0
    row = _row(connectors["onetrust"], snap)
    assert 'data-check="set_aside" data-light="yellow"' in row and "2, oldest 4.0 days" in row
    assert "position 9" in row  # the message, as the cell's title



def test_keyed_records_of_any_connector_count_while_the_ledger_holds_them(tmp_path):
    """ServiceNow and Jira set aside by id (the same quarantine and re-read ledger): a row counts while the last
    committed state of the vendor's own pipeline holds its digest; a record loaded since, a row of another
    reason, a load that never completed and another pipeline's state do not count."""
    from dlt.common.versioned_state import compress_state

    from assets.health import set_aside
    from pipelines.common.requeue import digest
    from resources.warehouse import Connection

    broken = {"sys_id": "a1", "short_description": "x"}
    healed = {"sys_id": "b2"}
    invalid = {"sys_id": "c3", "name": "\\ud800"}
    path = str(tmp_path / "w.duckdb")
    con = duckdb.connect(path)
    con.execute("create schema servicenow")
    con.execute("create table servicenow.quarantine (entity varchar, record_id varchar, reason varchar, "
                "record varchar, quarantined_at timestamptz)")
    con.execute("create table servicenow._dlt_loads (load_id varchar, status bigint)")
    con.execute("create table servicenow._dlt_pipeline_state (pipeline_name varchar, state varchar, "
                "_dlt_load_id varchar)")
    rows = [(broken, "ServiceNow fails to serve this record: its page and its read by sys_id answered 500",
             "2026-12-01 03:00:00+00"),
            (healed, "ServiceNow: not read this run: its page failed on every attempt", "2026-11-01 00:00:00+00"),
            (invalid, "invalid text: name: a lone surrogate", "2026-10-01 00:00:00+00")]
    for record, reason, when in rows:
        con.execute("insert into servicenow.quarantine values ('incident', ?, ?, ?, ?)",
                    [record["sys_id"], reason, json.dumps(record, sort_keys=True, default=str), when])
    ledger = {"sources": {"servicenow": {"resources": {"incident": {"quarantined": {
        "a1": digest(broken), "c3": digest(invalid)}}}}}}  # b2 loaded since: it left the ledger
    stale = {"sources": {"servicenow": {"resources": {"incident": {"quarantined": {"b2": digest(healed)}}}}}}
    con.execute("insert into servicenow._dlt_loads values ('1.0', 0), ('2.0', 0), ('3.0', 1), ('4.0', 0)")
    con.execute("insert into servicenow._dlt_pipeline_state values "
                "('projectx_servicenow_duckdb', ?, '2.0'), ('projectx_servicenow_duckdb', ?, '3.0'), "
                "('another_pipeline', ?, '4.0')", [compress_state(s) for s in (ledger, stale, stale)])
    con.close()
    raw = duckdb.connect(path, read_only=True)
    try:
        figure = set_aside.figures(Connection(raw, "duckdb"), "servicenow")
        assert set_aside.figures(Connection(raw, "duckdb"), "jira") == {"count": 0, "oldest": None}
    finally:
        raw.close()
    assert figure["count"] == 1 and figure["oldest"]["record_id"] == "a1", figure
    f = set_aside.finding("servicenow", figure, datetime(2026, 12, 4, 3, tzinfo=UTC), 48)
    assert f.light == "yellow" and "incident record a1" in f.message and "2026-12-01 03:00" in f.message
    assert "cursor" not in f.message and "RB-002" in f.message  # a keyed record holds no cursor
