"""Round 29: which vendor record decides a remediation task, and which Jira resolutions count as work done.

The real loop, lean: the reverse-sync engine pushes hand-made outbound marts to the Jira and ServiceNow
sandboxes (issues labelled ``projectx:<task id>``, records with the task id in correlation_id, links in
``reverse_sync.external_links``); people then act through the real ``jira`` client (pycontribs): Clone copies
the labels, and the clone is moved to Done. At ServiceNow a person copies a record (Insert and Stay keeps
correlation_id) and the nightly reconciliation closes the copy as a duplicate, Closed Complete. The dlt
sources load both, and dbt builds only the models between the raw tables and
``int_tasks__control_remediations`` (``int_remediation_tasks`` is written by hand with the pushed tasks).
Before the fix a task followed the newest-updated record carrying its id: the clone, the closed copy.
"""

from __future__ import annotations

import json
import time

import duckdb
import pytest
from jira import JIRA

from assets.reverse_sync.servicenow import remediation_table
from tests.conftest import jira_env, sandbox_env
from tests.dbt_helpers import dbt
from tests.reverse_sync_helpers import jira_rows, query, run, write_outbound
from tests.test_dbt_marts import _jira
from tests.test_reverse_sync_round22_reconcile import _reconcile
from tests.test_reverse_sync_servicenow import _ingest, remediation_rows

pytestmark = pytest.mark.slow

MODELS = ("stg_jira__deletions stg_jira__issues stg_jira__comments stg_servicenow__deletions "
          "stg_servicenow__remediation_tasks stg_reverse_sync__external_links int_tasks__control_remediations")
FRENCH = {"Won't Do": "Ne pas faire", "Done": "Terminé"}  # a site whose resolutions are in French


def _translate(req, resp):
    """Every resolution name Jira answers with, as a French site names it (ids unchanged)."""
    if resp.status != 200 or resp.body[:1] not in (b"{", b"["):
        return resp

    def walk(node):
        if isinstance(node, dict):
            res = node.get("resolution")
            if isinstance(res, dict) and res.get("name") in FRENCH:
                res["name"] = FRENCH[res["name"]]
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
    try:
        body = json.loads(resp.body)
    except ValueError:
        return resp
    walk(body)
    resp.body = json.dumps(body).encode()
    return resp


def _clone(pyc: JIRA, key: str) -> str:
    """What Jira's Clone makes: a new issue with the original's fields and labels, linked as its clone."""
    original = pyc.issue(key)
    f = original.fields
    clone = pyc.create_issue(fields={"project": {"key": f.project.key}, "issuetype": {"name": f.issuetype.name},
                                     "summary": f"CLONE - {f.summary}", "labels": list(f.labels),
                                     "priority": {"name": f.priority.name}})
    pyc.create_issue_link("Cloners", clone.key, key)
    return clone.key


def _remediation_table(settings, tasks: dict[str, str]) -> None:
    """intermediate.int_remediation_tasks as the control evaluations would make it, for the pushed tasks."""
    with duckdb.connect(settings.duckdb_path) as con:
        con.execute("create schema if not exists intermediate")
        con.execute("""create or replace table intermediate.int_remediation_tasks (remediation_task_id varchar,
            remediation_vendor varchar, control_id varchar, control_name varchar, object_id varchar,
            object_label varchar, severity varchar, owner_queue varchar, failed_since timestamp, due_at timestamp)""")
        for i, (task, vendor) in enumerate(tasks.items()):
            con.execute("insert into intermediate.int_remediation_tasks values (?, ?, 'SN-CHG-01', "
                        "'Changes approved', ?, ?, 'high', 'cab', timestamp '2026-05-01', timestamp '2026-05-08')",
                        [task, vendor, f"OBJ{i:05d}", f"OBJ{i:05d}"])


def _copy(sn, sys_id: str, **changes: str) -> str:
    """A person's copy of a remediation record (Insert and Stay): its fields, correlation id included."""
    original = sn.get(remediation_table(), sys_id)
    fields = ("short_description", "description", "priority", "correlation_id", "correlation_display", "state")
    return sn.insert(remediation_table(), {**{f: original[f] for f in fields}, **changes})["sys_id"]


def _statuses(settings) -> dict[str, tuple]:
    return {r[0]: r[1:] for r in query(settings, "select task_id, status, vendor_resolution, vendor_comment_count "
                                                 "from intermediate.int_tasks__control_remediations")}


def _build(settings, target, *extra: str) -> None:
    result = dbt(settings, target, "run", "--select", *MODELS.split(), *extra)
    assert result.returncode == 0, result.stdout[-4000:]


@pytest.fixture
def pushed(make_jira_sandbox, make_servicenow_sandbox, duckdb_warehouse, monkeypatch):
    """Five remediation tasks pushed to Jira and three to ServiceNow by the engine: (jira sandbox, pycontribs
    client, Jira links, ServiceNow sandbox, ServiceNow rows, ServiceNow links)."""
    sb, sn = make_jira_sandbox(size=20), make_servicenow_sandbox(size=10)
    jira_env(monkeypatch, sb)
    sandbox_env(monkeypatch, sn)
    rows, sn_rows = jira_rows(5), remediation_rows(3)
    write_outbound(duckdb_warehouse, "jira", rows)
    write_outbound(duckdb_warehouse, "servicenow", sn_rows)
    report, sn_report = run("jira"), run("servicenow")
    assert (report.created, report.dead_lettered, sn_report.created, sn_report.dead_lettered) == (5, 0, 3, 0)
    links = dict(query(duckdb_warehouse, "select internal_id, vendor_number from reverse_sync.external_links "
                                         "where vendor = 'jira'"))
    sn_links = dict(query(duckdb_warehouse, "select internal_id, vendor_id from reverse_sync.external_links "
                                            "where vendor = 'servicenow'"))
    _remediation_table(duckdb_warehouse, {**{r["remediation_task_id"]: "jira" for r in rows},
                                          **{r["remediation_task_id"]: "servicenow" for r in sn_rows}})
    creds = sb.credentials
    pyc = JIRA(server=sb.url, basic_auth=(creds["email"], creds["api_token"]), max_retries=0)
    return sb, pyc, links, sn, sn_rows, sn_links


def test_a_clone_moved_to_done_never_closes_the_task_and_translated_wont_do_is_configurable(
        pushed, duckdb_warehouse, tmp_path):
    sb, pyc, links, sn, sn_rows, sn_links = pushed
    cloned, done, wont_do, unlinked, untouched = sorted(links)
    copied, sn_unlinked, sn_untouched = sorted(sn_links)

    # 1. a person clones the pushed issue and finishes the clone; the real issue stays open
    clone = _clone(pyc, links[cloned])
    pyc.transition_issue(clone, "Done", fields={"resolution": {"name": "Done"}})
    sb.comment_as(clone, "Fixed it here, on the clone")  # a person's comment: not the task's
    # 2. the real issue done: the task closes
    pyc.transition_issue(links[done], "Done", fields={"resolution": {"name": "Done"}})
    # 3. resolved Won't Do on a French site ("Ne pas faire"): nothing was remediated
    pyc.transition_issue(links[wont_do], "Done", fields={"resolution": {"name": "Won't Do"}})
    # 4. a task with no link row (the push has not linked it: links lost, a warehouse restored): the label
    #    decides, the oldest issue carrying it, so the newer clone moved to Done does not close it
    late_clone = _clone(pyc, links[unlinked])
    pyc.transition_issue(late_clone, "Done", fields={"resolution": {"name": "Done"}})
    with duckdb.connect(duckdb_warehouse.duckdb_path) as con:
        con.execute("delete from reverse_sync.external_links where vendor = 'jira' and internal_id = ?", [unlinked])

    # ServiceNow: a person copies the linked record; the nightly reconciliation closes the copy, an unlinked
    # duplicate of ours, as Closed Complete (a second later: the newest-updated record carrying the id)
    copy = _copy(sn, sn_links[copied])
    time.sleep(1.1)
    assert _reconcile(sn_rows).closed_orphans == [copy]
    assert sn.get(remediation_table(), copy)["state"] == "3"
    # with no link row, an open record carrying the id comes first (as the push adopts): not a closed copy
    _copy(sn, sn_links[sn_unlinked], state="3")
    with duckdb.connect(duckdb_warehouse.duckdb_path) as con:
        con.execute("delete from reverse_sync.external_links where vendor = 'servicenow' and internal_id = ?",
                    [sn_unlinked])
    assert _ingest(duckdb_warehouse, sn) == 5

    sb.rewrite_responses(_translate)
    duckdb_warehouse.pipeline("jira").run(_jira(sb), loader_file_format="parquet")
    sb.rewrite_responses(None)
    labelled = query(duckdb_warehouse, f"select count(*) from jira.issues where labels::varchar like '%{cloned}%'")
    assert labelled == [(2,)], "the clone carries the task's label, as Jira's Clone copies labels"

    # the site names its resolutions in French: it lists the ones that say nothing was done
    names = json.dumps({"jira_not_done_resolutions": ["Won't Do", "Ne pas faire"]})
    _build(duckdb_warehouse, tmp_path / "target", "--vars", names)
    got = _statuses(duckdb_warehouse)
    assert got[cloned] == ("open", None, 0), "the clone moved to Done closed a task whose issue is open"
    assert got[done] == ("closed", "Terminé", 0)
    assert got[wont_do] == ("open", "Ne pas faire", 0), "Ne pas faire (Won't Do), listed, closed the task"
    assert got[unlinked] == ("open", None, 0), "an unlinked task followed a newer clone, not the oldest issue"
    assert got[untouched] == ("open", None, 0)
    assert got[copied] == ("open", None, None), "the copy the reconciliation closed closed the task"
    assert got[sn_unlinked] == ("open", None, None), "an unlinked task followed a closed copy, not its open record"
    assert got[sn_untouched] == ("open", None, None)

    # the engine links a task again on its next push, and the link wins over the label from then on
    assert run("jira", run_id="relink").dead_lettered == 0
    relinked = query(duckdb_warehouse, "select vendor_number from reverse_sync.external_links "
                                       f"where vendor = 'jira' and internal_id = '{unlinked}'")
    assert relinked == [(links[unlinked],)], "the push adopted the oldest issue, the one the fallback follows"
