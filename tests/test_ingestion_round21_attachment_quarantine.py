"""Round 21: ServiceNow attachments are quarantined once per content.

- A record rejected for hostile text (NUL in file_name, lone surrogate in content_type) was quarantined again
  by every run that re-read it in the cursor's overlap window: now the tables' re-read ledger
  (``pipelines.common.requeue``) holds it, so one row while it stays the same, another once it changes,
  and it loads once the vendor fixes it.
- One sys_id sent twice with different metadata in one listing (a vendor bug, a restore): the newest
  ``sys_updated_on`` is kept, the other quarantined once with a reason naming the one kept, whatever the
  order; across runs, new content under the same sys_id replaces the row and the old file stays stored.

Each sync is a real subprocess over HTTP against the sandbox; the duplicate ids are made by rewriting the
sandbox's listing responses (the sandbox itself refuses duplicate ids).
"""

from __future__ import annotations

import hashlib
import json

import pytest

from tests.conftest import sandbox_env
from tests.ingestion_harness import SN_INCIDENTS, assert_parity, sql, wait_a_second
from tests.test_ingestion_round20_poison_children import _ok, _run, _sn_quarantine

LISTING = "/api/now/attachment"


def _rows(settings, sys_id: str) -> list[tuple[str, str]]:
    """(reason, record) of ``sys_id``'s attachment quarantine rows, oldest first."""
    return sql(settings, "select reason, record from servicenow.quarantine where entity = 'attachments' "
               "and record_id = ? order by quarantined_at", sys_id)


def _loaded(settings) -> dict[str, tuple]:
    return {r[0]: r[1:] for r in sql(settings, "select sys_id, file_name, sys_updated_on, sha256, content_status "
                                     "from servicenow.attachments")}


def test_a_hostile_attachment_is_quarantined_once_until_it_changes_and_loads_once_fixed(
        make_servicenow_sandbox, monkeypatch, duckdb_warehouse):
    sb = make_servicenow_sandbox(size=60)
    sandbox_env(monkeypatch, sb)
    files = sorted(r["sys_id"] for r in sb.records("sys_attachment"))
    name, ctype, changed = files[1], files[2], files[3]
    sb.update("sys_attachment", name, {"file_name": "nul\x00name.txt"})
    sb.update("sys_attachment", ctype, {"content_type": "\udfff"})
    sb.update("sys_attachment", changed, {"file_name": "first\x00.txt"})
    for _ in range(3):  # all three inside the cursor's overlap window on every run
        _ok(_run("servicenow"))
    held = {k: _rows(duckdb_warehouse, k) for k in (name, ctype, changed)}
    quarantined = [k for k, rows in held.items() if rows]
    assert name in quarantined and changed in quarantined, held  # NUL: no warehouse stores it
    for k in quarantined:
        assert len(held[k]) == 1, f"{k} quarantined {len(held[k])} times in 3 runs"
        assert held[k][0][0], "with a reason"
    assert set(_loaded(duckdb_warehouse)) == set(files) - set(quarantined)

    wait_a_second()
    sb.update("sys_attachment", changed, {"file_name": "second\x00.txt"})  # changed, still hostile
    _ok(_run("servicenow"))
    _ok(_run("servicenow"))
    rows = _rows(duckdb_warehouse, changed)
    assert len(rows) == 2, "a changed record is quarantined again, once"
    assert "second" in json.loads(rows[1][1])["file_name"]
    assert len(_rows(duckdb_warehouse, name)) == 1

    wait_a_second()
    sb.update("sys_attachment", name, {"file_name": "fixed.txt"})
    _ok(_run("servicenow"))
    loaded = _loaded(duckdb_warehouse)
    assert loaded[name][0] == "fixed.txt" and loaded[name][3] == "stored"
    assert len(_rows(duckdb_warehouse, name)) == 1
    assert_parity(sb, duckdb_warehouse, SN_INCIDENTS)


def _twin(record: dict) -> dict:
    """Another metadata record with ``record``'s sys_id: other name, size and hash, updated a second earlier."""
    from datetime import datetime, timedelta

    earlier = datetime.strptime(record["sys_updated_on"], "%Y-%m-%d %H:%M:%S") - timedelta(seconds=1)
    body = b"restored copy"
    return {**record, "file_name": "restored_" + record["file_name"],
            "sys_updated_on": earlier.strftime("%Y-%m-%d %H:%M:%S"), "size_bytes": str(len(body)),
            "hash": hashlib.sha256(body).hexdigest()}


@pytest.mark.parametrize("twin_first", [True, False])
def test_one_sys_id_twice_in_a_listing_keeps_the_newest_and_quarantines_the_other_once(
        twin_first, make_servicenow_sandbox, monkeypatch, duckdb_warehouse):
    sb = make_servicenow_sandbox(size=60)
    sandbox_env(monkeypatch, sb)
    files = sorted(r["sys_id"] for r in sb.records("sys_attachment"))
    target = files[len(files) // 2]

    def doubled(req, resp):
        if req.path != LISTING or resp.status != 200:
            return resp
        body = json.loads(resp.body)
        out = []
        for record in body["result"]:
            if record.get("sys_id") == target:
                twin = _twin(record)
                out += [twin, record] if twin_first else [record, twin]
            else:
                out.append(record)
        body["result"] = out
        resp.body = json.dumps(body).encode()
        return resp

    wait_a_second()
    sb.update("sys_attachment", target, {"file_name": "current.txt"})  # inside the overlap on every run
    sb.rewrite_responses(doubled)
    for _ in range(3):
        _ok(_run("servicenow"))
    kept = sb.records("sys_attachment")
    kept = next(r for r in kept if r["sys_id"] == target)
    loaded = _loaded(duckdb_warehouse)
    assert loaded[target][:2] == ("current.txt", kept["sys_updated_on"]), "the newest one is kept"
    assert loaded[target][2] == hashlib.sha256(sb.attachment_content(target)).hexdigest()
    rows = _rows(duckdb_warehouse, target)
    assert len(rows) == 1, f"quarantined {len(rows)} times in 3 runs"
    reason, record = rows[0]
    assert reason.startswith("sys_id reused: ") and f"sys_updated_on {kept['sys_updated_on']}" in reason
    assert json.loads(record)["file_name"] == "restored_current.txt"
    assert set(loaded) == set(files)


def test_new_content_under_the_same_sys_id_replaces_the_row_and_the_old_file_stays(
        make_servicenow_sandbox, monkeypatch, duckdb_warehouse):
    sb = make_servicenow_sandbox(size=60)
    sandbox_env(monkeypatch, sb)
    target = sorted(r["sys_id"] for r in sb.records("sys_attachment"))[0]
    _ok(_run("servicenow"))
    old = _loaded(duckdb_warehouse)[target]
    old_sha = hashlib.sha256(sb.attachment_content(target)).hexdigest()
    assert old[2] == old_sha and old[3] == "stored"
    [(old_uri,)] = sql(duckdb_warehouse, "select storage_uri from servicenow.attachments where sys_id = ?", target)

    wait_a_second()
    new = b"restored from a backup: other bytes under the same sys_id\n"
    sb.store.files[target] = new  # the vendor's bytes (test tampering; no sandbox API changes content)
    sb.update("sys_attachment", target, {"size_bytes": str(len(new)), "hash": hashlib.sha256(new).hexdigest()})
    _ok(_run("servicenow"))
    now = _loaded(duckdb_warehouse)[target]
    assert now[2] == hashlib.sha256(new).hexdigest() and now[3] == "stored", "the new content replaces the row"
    assert len(sql(duckdb_warehouse, "select 1 from servicenow.attachments where sys_id = ?", target)) == 1
    from pathlib import Path
    from urllib.parse import urlparse

    old_file = Path(urlparse(old_uri).path)
    assert hashlib.sha256(old_file.read_bytes()).hexdigest() == old_sha, "the old file stays in the store"
    assert target not in _sn_quarantine(duckdb_warehouse, "attachments")
    from resources.evidence.ledger import Ledger

    recorded = {r["sha256"] for r in Ledger().rows("files") if r["source_ref"] == target and r["status"] == "stored"}
    assert {old_sha, now[2]} <= recorded, "the Evidence Library keeps the old file's record beside the new one's"


def test_records_of_one_sys_id_split_across_listing_pages_are_handled_together():
    from pipelines.servicenow.attachment_ledger import whole_ids

    class _Fetch:
        settled: list[str] = []

        def pages(self):
            yield 0, [{"sys_id": "a"}, {"sys_id": "b"}]
            yield 0, [{"sys_id": "b", "n": 2}, {"sys_id": "c"}]
            yield 0, [{"sys_id": "c", "n": 2}]
            yield 1, [{"sys_id": "b"}]

        def settle(self, page):
            self.settled += [r["sys_id"] for r in page]

    fetch = _Fetch()
    got = [(i, [r["sys_id"] for r in p]) for i, p in whole_ids(fetch)]
    assert got == [(0, ["a"]), (0, ["b", "b"]), (0, ["c", "c"]), (1, ["b"])]
    assert fetch.settled == ["a", "b", "b", "c", "c", "b"], "each record settled once, after it was handled"
