"""Round 22: a hostile twin of a valid ServiceNow attachment (the same sys_id and file name, listed beside
it, with hostile metadata) is quarantined once while it stays the same, however many runs re-read it in
the cursor's overlap window; a changed twin is quarantined again, once.

Before, the valid record's loading took the sys_id out of the re-read ledger (``pipelines.common.requeue``)
in the same run, so every later run found the twin unknown and wrote another quarantine row for it. Now
the ServiceNow attachment ledger remembers (sys_id, reason, content digest) of what it quarantined while
the record can still be listed (:mod:`pipelines.servicenow.attachment_ledger`).

Each sync is a real subprocess over HTTP against the sandbox; the twin is made by rewriting the sandbox's
listing responses (the sandbox itself refuses duplicate ids).
"""

from __future__ import annotations

import json

from pipelines.servicenow.attachment_ledger import TWINS_KEY, Ledger
from tests.conftest import sandbox_env
from tests.ingestion_harness import SN_INCIDENTS, assert_parity, wait_a_second
from tests.test_ingestion_round20_poison_children import _ok, _run
from tests.test_ingestion_round21_attachment_quarantine import LISTING, _loaded, _rows


def test_a_hostile_twin_in_the_overlap_is_quarantined_once_and_again_once_it_changes(
        make_servicenow_sandbox, monkeypatch, duckdb_warehouse):
    sb = make_servicenow_sandbox(size=60)
    sandbox_env(monkeypatch, sb)
    files = sorted(r["sys_id"] for r in sb.records("sys_attachment"))
    target = files[len(files) // 2]
    hostile = ["bad\x00type"]

    def twinned(req, resp):
        if req.path != LISTING or resp.status != 200:
            return resp
        body = json.loads(resp.body)
        out = []
        for record in body["result"]:
            out.append(record)
            if record.get("sys_id") == target:  # same sys_id and name, hostile content type
                out.append({**record, "content_type": hostile[0]})
        body["result"] = out
        resp.body = json.dumps(body).encode()  # ASCII: the NUL travels as \\u0000
        return resp

    wait_a_second()
    sb.update("sys_attachment", target, {"file_name": "current.txt"})  # inside the overlap on every run
    sb.rewrite_responses(twinned)
    for _ in range(3):
        _ok(_run("servicenow"))
    rows = _rows(duckdb_warehouse, target)
    assert len(rows) == 1, f"the same hostile twin quarantined {len(rows)} times in 3 runs"
    assert rows[0][0], "with a reason"
    assert json.loads(rows[0][1])["content_type"] == "bad\x00type"
    loaded = _loaded(duckdb_warehouse)
    assert loaded[target][0] == "current.txt" and loaded[target][3] == "stored", "the valid record loads"

    hostile[0] = "other\x00type"  # the twin changes: quarantined again, once
    for _ in range(2):
        _ok(_run("servicenow"))
    rows = _rows(duckdb_warehouse, target)
    assert len(rows) == 2, f"a changed twin should be quarantined once more, not {len(rows) - 1} times"
    assert json.loads(rows[1][1])["content_type"] == "other\x00type"
    assert set(_loaded(duckdb_warehouse)) == set(files)
    assert_parity(sb, duckdb_warehouse, SN_INCIDENTS)


def _record(sys_id: str, stamp: str, **extra) -> dict:
    return {"sys_id": sys_id, "file_name": "a.txt", "sys_updated_on": stamp, **extra}


def test_the_memory_keeps_what_can_still_be_listed_and_a_different_reason_is_quarantined_again(monkeypatch):
    monkeypatch.setattr("pipelines.common.requeue.orphaned", lambda entity: set())
    monkeypatch.setattr("pipelines.common.requeue.poison_held", lambda entity: set())
    state: dict = {}
    key = "a" * 32
    twin = _record(key, "2026-10-01 12:00:00", content_type="x\x00")
    nul = "invalid text: NUL in content_type"

    def run(run_id: str, *rejections, since: str = "2026-10-01 11:55:00") -> list:
        """One run: the rejections, then the valid record of the same sys_id loads (it leaves the re-read
        ledger), then the state is committed."""
        ledger = Ledger(state, run_id)
        out = [ledger.reject(record, reason) for record, reason in rejections]
        ledger.loaded([{"sys_id": key}])
        ledger.commit(state, listed_by_id=True, since=since)
        return out

    assert run("run-1", (twin, nul)) != [None]
    assert key in state[TWINS_KEY]
    assert run("run-2", (twin, nul)) == [None], "the same rejection: no second row"
    assert run("run-3", (twin, "another reason")) != [None], "another reason: quarantined"
    assert run("run-4", ({**twin, "content_type": "y\x00"}, nul)) != [None], "other content: quarantined"
    assert run("run-5", (twin, nul)) == [None], "still known"

    run("run-6", since="2026-10-01 12:30:00")  # not listed, but the listing still reaches it: kept
    assert key in state[TWINS_KEY]
    assert run("run-7", (twin, nul)) == [None]
    run("run-8", since="2026-10-03 00:00:00")  # the cursor is past it by more than a day: forgotten
    assert key not in state[TWINS_KEY]
