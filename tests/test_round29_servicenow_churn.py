"""Round 29, ServiceNow sync: what a live instance does to a client between and during runs.

- A deleted record restored as it was (Import XML of its export, an undelete [unc]: same sys_id, same
  ``sys_updated_on`` and ``sys_mod_count``). Inside the cursor's overlap the re-read took it for a version
  already loaded and skipped it, so its recorded delete stayed for ever (the warehouse called a live record
  deleted). It is now re-read and its delete withdrawn; one restored older than the overlap is found by the
  reconcile sweep (``reconcile=True``), which had counted it as stored.
- A record deleted and a new one created with its number (a new sys_id): the old row is marked deleted,
  the new one loads; the number is in two rows, one live.
- Records updated, deleted and created while the sync pages, many of them stamped in one second across
  page boundaries; then the sync is SIGKILLed while a page is in transit, three runs in a row, with the
  vendor changing between the runs and a record holding a NUL: after one clean run the warehouse equals the
  vendor record for record, nothing twice, and the NUL record is quarantined once with its reason.

Syncs run as real processes (``run_source``, as ``python -m pipelines.servicenow`` does, with small pages)
against the sandbox over HTTP; churn and kills come from the sandbox's response rewriters.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading

from tests.conftest import sandbox_env
from tests.ingestion_harness import ROOT, SN_INCIDENTS, assert_parity, marked_deleted, quarantine, sql, wait_a_second
from tests.test_ingestion_hostile_more import LIST, _sync

SCRIPT = """
import os
from pipelines.common.http import RetryPolicy
from pipelines.common.runner import ca_verify, run_source
from pipelines.servicenow import servicenow_source
e = os.environ
run_source("servicenow", servicenow_source(
    base_url=e["SERVICENOW_BASE_URL"], client_id=e["SERVICENOW_OAUTH_CLIENT_ID"],
    client_secret=e["SERVICENOW_OAUTH_CLIENT_SECRET"], username=e["SERVICENOW_USER"],
    password=e["SERVICENOW_PASSWORD"], verify=ca_verify(), tables=["incident"], attachments=False,
    page_size=10, concurrency=2, policy=RetryPolicy(backoff_base_seconds=0.01, backoff_max_seconds=0.05)))
"""


def _run() -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, env=os.environ.copy(), capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, f"sync failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}"


def _killed_at_page(sb, page: int) -> None:
    """A sync SIGKILLed while the incident list's ``page``-th answer is held back (a page in transit)."""
    hit, release, served = threading.Event(), threading.Event(), {"n": 0}

    def hold(req, resp):
        if req.path == LIST and req.method == "GET":
            served["n"] += 1
            if served["n"] == page:
                hit.set()
                release.wait(60)
        return resp
    sb.rewrite_responses(hold)
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT], cwd=ROOT, env=os.environ.copy(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert hit.wait(60), f"the sync never asked for page {page}"
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    finally:
        release.set()
        if proc.poll() is None:
            proc.kill()
        sb.rewrite_responses(None)


def _restore(sb, records: list[dict]) -> None:
    """Import XML of exported records: back under their sys_ids with every field as it was."""
    with sb.store.lock:
        for rec in records:
            sb.store.tables["incident"].append(rec)


def test_a_record_restored_as_it_was_is_live_again_inside_the_overlap_and_beyond_it(
        make_servicenow_sandbox, duckdb_warehouse):
    sb = make_servicenow_sandbox(size=40)
    wait_a_second()
    recent = sb.touch("incident", 4)  # inside the overlap of the next runs
    old = sorted(set(r["sys_id"] for r in sb.records("incident")) - set(recent))[:3]  # seeded months ago
    _sync(duckdb_warehouse, sb)
    saved = [sb.get("incident", sid) for sid in recent + old]
    sb.delete("incident", recent + old)
    _sync(duckdb_warehouse, sb)
    assert marked_deleted(duckdb_warehouse, SN_INCIDENTS) >= set(recent + old)

    _restore(sb, saved)
    _sync(duckdb_warehouse, sb)
    assert not marked_deleted(duckdb_warehouse, SN_INCIDENTS) & set(recent), "restored inside the overlap"
    _sync(duckdb_warehouse, sb, reconcile=True)
    assert not marked_deleted(duckdb_warehouse, SN_INCIDENTS) & set(old), "restored beyond the overlap"
    assert_parity(sb, duckdb_warehouse, SN_INCIDENTS)
    _sync(duckdb_warehouse, sb)  # the delete audit read again in the overlap marks nothing
    assert_parity(sb, duckdb_warehouse, SN_INCIDENTS)


def test_churn_while_paging_and_a_crash_loop_mid_page_lose_and_repeat_nothing(make_servicenow_sandbox, monkeypatch,
                                                                             duckdb_warehouse):
    sb = make_servicenow_sandbox(size=120)
    sandbox_env(monkeypatch, sb)
    rng = random.Random(29)
    wait_a_second()
    touched = sb.touch("incident", 90)  # one second, across nine pages of ten
    _sync(duckdb_warehouse, sb, page_size=10, concurrency=2)

    # A number reused: the record deleted, a new one (new sys_id) created with its number.
    reused = sb.records("incident")[5]
    sb.delete("incident", reused["sys_id"])
    twin = sb.insert("incident", {"number": reused["number"], "short_description": "same number, new record"})
    # A record that holds a NUL (quarantined), and one deleted now, restored as it was before the last run.
    hostile = sb.records("incident")[17]["sys_id"]
    sb.update("incident", hostile, {"description": "before\x00after"})
    comeback = sb.get("incident", next(t for t in touched if t not in (hostile, reused["sys_id"])))
    sb.delete("incident", comeback["sys_id"])

    for n, page in enumerate((3, 7, 5)):  # killed while a page is in transit, three runs in a row
        ids = sorted(r["sys_id"] for r in sb.records("incident") if r["sys_id"] != hostile)  # it stays as it is
        for sid in rng.sample(ids, 4):
            sb.update("incident", sid, {"short_description": f"changed before kill {n}"})
        sb.delete("incident", rng.choice([i for i in ids if i != twin["sys_id"]]))
        _killed_at_page(sb, page)

    churned: list[str] = []

    def churn(req, resp):  # updates (read already or not yet, some in one second), deletes, creates
        if req.path == LIST and req.method == "GET" and len(churned) < 40:
            ids = sorted(r["sys_id"] for r in sb.records("incident") if r["sys_id"] != hostile)
            for sid in rng.sample(ids, 3):
                sb.update("incident", sid, {"short_description": f"changed mid-run {len(churned)}"})
                churned.append(sid)
            sb.delete("incident", rng.choice([i for i in ids if i != twin["sys_id"]]))
            sb.insert("incident", {"short_description": "created mid-run"})
        return resp
    sb.rewrite_responses(churn)
    _run()
    sb.rewrite_responses(None)
    assert comeback["sys_id"] in marked_deleted(duckdb_warehouse, SN_INCIDENTS)
    _restore(sb, [comeback])  # as it was: inside the overlap, with the version loaded before
    _run()

    stored = sql(duckdb_warehouse, "select sys_id, number from servicenow.incidents")
    assert len(stored) == len({r[0] for r in stored}), "a sys_id stored twice"
    gone = marked_deleted(duckdb_warehouse, SN_INCIDENTS)
    assert reused["sys_id"] in gone and twin["sys_id"] not in gone
    assert {sid for sid, number in stored if number == reused["number"]} == {reused["sys_id"], twin["sys_id"]}
    assert comeback["sys_id"] not in gone
    reasons = sql(duckdb_warehouse, "select reason from servicenow.quarantine where record_id = ?", hostile)
    assert len(reasons) == 1 and "description" in reasons[0][0] and "NUL" in reasons[0][0], reasons
    assert set(quarantine(duckdb_warehouse, SN_INCIDENTS)) == {hostile}
    assert_parity(sb, duckdb_warehouse, SN_INCIDENTS, except_ids={hostile})
