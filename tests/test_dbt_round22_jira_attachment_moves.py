"""Round 22: a Jira attachment that moved to another issue shows in the evidence mart and evidence_links under
that issue only, and `marts.jira_attachment_moves` shows where it was before; on DuckDB and PostgreSQL.

Small sandboxes are loaded by the dlt sources into a DuckDB warehouse and a fresh PostgreSQL database
(dropped afterwards) and `dbt build` runs once; then two attachments of control evidence issues are moved
in the raw tables as the sync writes a move (pipelines/jira/attachment_moves.py: the attachment row now
under its new issue, in a later load, and a row appended to `jira.attachment_moves`; the sync side is
tested by tests/test_ingestion_round22_jira_moved_attachment.py) and `dbt build` runs again, incrementally:

- one moves to an issue that is no control evidence: before, the incremental evidence mart kept its row
  under the issue it left (that issue's controls still linked); now no mart shows it as evidence;
- one moves to another control evidence issue: one evidence row, under the new issue, linked by its labels.
"""

from __future__ import annotations

import pytest

from tests.conftest import fresh_duckdb, fresh_postgres
from tests.dbt_helpers import dbt
from tests.test_dbt_marts import _load
from tests.test_dbt_round21_postgres_hostile import Warehouse  # one driver per warehouse, `%s` on both

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

LOAD = "1800000000.5"  # a later load than the sandboxes' (2027)
LINKED = ("control:CM-3", "control:IR-4")  # labels the evidence_rules seed links to controls
# the sync creates it (empty) since round 22; as written here when it did not
MOVES_DDL = ("create table if not exists jira.attachment_moves (attachment_id text, from_issue_id text, "
             "from_issue_key text, to_issue_id text, to_issue_key text, sha256 text, storage_uri text, "
             "content_status text, run_id text, moved_at text, _dlt_load_id text, _dlt_id text)")


def _pick(w: Warehouse) -> dict:
    """Two attachments of control evidence issues (on different issues), an issue that is no control
    evidence and a third control evidence issue to move them to."""
    linked = " or ".join(f"',' || labels || ',' like '%%,{label},%%'" for label in LINKED)
    control = f"select issue_id, issue_key from staging.stg_jira__issues where not is_deleted and ({linked})"
    with_files = w.rows(f"select a.attachment_id, a.issue_id, i.issue_key from staging.stg_jira__attachments a "
                        f"inner join ({control}) i on a.issue_id = i.issue_id "
                        f"where a.content_status is distinct from 'quarantined' order by a.issue_id, a.attachment_id")
    first = with_files[0]
    second = next(r for r in with_files if r[1] != first[1])
    to_control = next(r for r in w.rows(f"{control} order by issue_id") if r[0] not in (first[1], second[1]))
    plain = w.rows("select issue_id, issue_key from staging.stg_jira__issues where not is_deleted and "
                   "',' || coalesce(labels, '') || ',' not like '%%,control:%%' order by issue_id")[0]
    return {"leaves": first, "to_plain": plain, "changes": second, "to_control": to_control}


def _move(w: Warehouse, attachment: tuple, to: tuple, run_id: str) -> None:
    """What the sync writes for a move: the row under its new issue (a later load) and the move row."""
    aid, from_id, from_key = attachment
    sha256, uri, status = w.rows("select sha256, storage_uri, content_status from jira.attachments where id = %s",
                                 [aid])[0]
    w.rows("update jira.attachments set issue_id = %s, issue_key = %s, _dlt_load_id = %s where id = %s",
           [to[0], to[1], LOAD, aid])
    w.rows("insert into jira.attachment_moves values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
           [aid, from_id, from_key, to[0], to[1], sha256, uri, status, run_id, "2026-12-06T08:00:00.123456+00:00",
            LOAD, f"dlt-{aid}"])


@pytest.fixture(scope="module")
def built(_dbt_parse_home, tmp_path_factory):
    from sandbox.jira import JiraSandbox
    from sandbox.onetrust import OneTrustSandbox
    from sandbox.servicenow import ServiceNowSandbox

    root = tmp_path_factory.mktemp("dbt_round22_moves")
    made = [ServiceNowSandbox(port=0, size=20), JiraSandbox(port=0, size=20), OneTrustSandbox(size=20)]
    for sb in made:
        sb.start()
    jira = made[1]
    me = jira.store.me.account_id
    for n, issue in enumerate(sorted(jira.issues(fields=["labels"]), key=lambda i: int(i["id"]))[:3]):
        jira.store.update(int(issue["id"]), {"labels": (*issue["fields"].get("labels", ()), LINKED[n % 2])}, me)
        if n < 2:  # three linked control evidence issues, the first two with a file each
            jira.store.add_attachment(int(issue["id"]), f"evidence-{n}.txt", "text/plain", f"file {n}".encode(), me)
    with pytest.MonkeyPatch.context() as mp, fresh_postgres(root / "pgdata", "projectx_dbt22") as pg:
        duck = fresh_duckdb(mp, _dbt_parse_home, root / "data")
        try:
            for settings in (duck, pg):
                _load(settings, made)
        finally:
            for sb in made:
                sb.stop()
        out = {}
        for settings in (duck, pg):
            target = root / f"target_{settings.kind}"
            result = dbt(settings, target, "build")
            assert result.returncode == 0, result.stdout[-6000:]
            w = Warehouse(settings)
            ids = _pick(w)
            before = {aid: (w.rows("select record_id from marts.evidence where evidence_id = %s",
                                   [f"jira-attachment-{aid}"]),
                            bool(w.rows("select 1 from marts.evidence_links where evidence_id = %s",
                                        [f"jira-attachment-{aid}"])))
                      for aid in (ids["leaves"][0], ids["changes"][0])}
            w.rows(MOVES_DDL)
            _move(w, ids["leaves"], ids["to_plain"], "run-1")
            _move(w, ids["changes"], ids["to_control"], "run-1")
            if settings.kind == "duckdb":
                w.con.close()
            result = dbt(settings, target, "build")  # incremental: evidence is merged on evidence_id
            assert result.returncode == 0, result.stdout[-6000:]
            if settings.kind == "duckdb":
                w = Warehouse(settings)
            out[settings.kind] = (w, ids, before)
        yield out
        for w, _, _ in out.values():
            w.con.close()


@pytest.fixture(params=["duckdb", "postgres"])
def each(request, built):
    return built[request.param]


def test_a_moved_attachment_shows_under_its_new_issue_only(each):
    w, ids, before = each
    leaves, changes = ids["leaves"][0], ids["changes"][0]
    assert before == {leaves: ([(ids["leaves"][1],)], True), changes: ([(ids["changes"][1],)], True)}, \
        "linked evidence under its first issue before the move"
    evidence = "select record_id from marts.evidence where evidence_id = %s"
    assert w.rows(evidence, [f"jira-attachment-{leaves}"]) == [], \
        "moved to an issue that is no control evidence: no longer evidence under the issue it left"
    assert w.rows("select 1 from marts.evidence_links where evidence_id = %s", [f"jira-attachment-{leaves}"]) == []
    assert w.rows(evidence, [f"jira-attachment-{changes}"]) == [(ids["to_control"][0],)]
    labels = w.rows("select labels from staging.stg_jira__issues where issue_id = %s", [ids["to_control"][0]])[0][0]
    expected = {
        r[0] for r in w.rows("select control_id from catalog.evidence_rules where vendor = 'jira' and match_on = "
                             "'label' and ',' || %s || ',' like '%%,' || match_value || ',%%'", [labels])}
    linked = w.rows("select control_id, matched_by from marts.evidence_links where evidence_id = %s",
                    [f"jira-attachment-{changes}"])
    assert {r[0] for r in linked if "label:" in r[1]} == expected != set(), (linked, labels)
    assert w.rows("select count(*) - count(distinct evidence_id) from marts.evidence") == [(0,)]


def test_the_move_history_mart_shows_where_each_attachment_was(each):
    w, ids, _ = each
    rows = w.rows("select attachment_id, evidence_id, from_issue_id, to_issue_id, move_number, is_latest_move, "
                  "current_issue_id, cast(moved_at as varchar) from marts.jira_attachment_moves order by attachment_id")
    expected = sorted(
        (a[0], f"jira-attachment-{a[0]}", a[1], to[0], 1, True, to[0], "2026-12-06 08:00:00.123456")
        for a, to in ((ids["leaves"], ids["to_plain"]), (ids["changes"], ids["to_control"])))
    assert rows == expected
