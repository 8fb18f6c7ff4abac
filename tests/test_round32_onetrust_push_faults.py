"""Round 32: the OneTrust attestation push against a hostile tenant (sandbox over HTTP -> DuckDB): its token
expiring mid-run, 429 with Retry-After, a storm of 5xx, and a push killed between a write and its record. Every
attestation ends at OneTrust exactly once (one record per ``externalId``, written once), nothing is dropped: what
could not be written waits in ``reverse_sync.dead_letters`` and the next run writes it."""

from __future__ import annotations

import json
import time

import duckdb
import pytest

from tests.conftest import onetrust_env
from tests.reverse_sync_helpers import attestation_rows, query, run, write_outbound

PATH = "/api/controls/v1/attestations"


@pytest.fixture
def onetrust(make_onetrust_sandbox, duckdb_warehouse, monkeypatch, tmp_path):
    sb = make_onetrust_sandbox(size=20)
    onetrust_env(monkeypatch, sb)
    (tmp_path / "store").mkdir()
    (tmp_path / "store" / "minutes.pdf").write_bytes(b"%PDF-1.4 minutes")
    monkeypatch.setenv("PROJECTX_EVIDENCE_DIR", str(tmp_path / "store"))
    return sb


def _rows(n: int, store=None) -> list[dict]:
    rows = attestation_rows(n)
    if store is None:
        return rows
    items = [{"evidence_id": "ev-1", "title": "minutes", "storage_uri": (store / "minutes.pdf").as_uri(),
              "sha256": None}]
    return [{**r, "evidence_json": json.dumps(items)} for r in rows]


def _posts(sb, suffix: str = PATH) -> int:
    return sum(1 for r in sb.request_log if r["method"] == "POST" and r["path"] == suffix and r["status"] < 300)


def _exactly_once(sb, n: int) -> None:
    ours = [a for a in sb.attestations() if a.get("source") == "Project X"]
    assert sorted(a["externalId"] for a in ours) == [f"att-{i:04d}" for i in range(n)], "one record per externalId"
    assert all(a["version"] == 1 for a in ours), [a["version"] for a in ours]  # written once, not re-posted


def test_the_token_expiring_mid_push_is_renewed_and_nothing_is_written_twice(onetrust, duckdb_warehouse):
    seen = {"posts": 0}

    def expire(req, resp):
        if req.method == "POST" and req.path == PATH and resp.status < 300:
            seen["posts"] += 1
            if seen["posts"] == 3:  # every token issued so far dies now: the next call answers 401
                onetrust.faults.set(expire_tokens=True)
        return resp
    onetrust.rewrite_responses(expire)
    write_outbound(duckdb_warehouse, "onetrust", _rows(6))
    report = run("onetrust", concurrency=1)
    assert (report.created, report.dead_lettered) == (6, 0), report.failures
    assert any(r["status"] == 401 for r in onetrust.request_log), "the token did expire mid-run"
    _exactly_once(onetrust, 6)


def test_429_with_retry_after_is_waited_out(onetrust, duckdb_warehouse):
    onetrust.faults.set(rate_429=0.5, retry_after=1, methods=["POST"], paths=[PATH + "$"])  # refused, not written
    write_outbound(duckdb_warehouse, "onetrust", _rows(3))
    started = time.monotonic()
    report = run("onetrust", concurrency=1)
    took = time.monotonic() - started
    assert (report.created, report.dead_lettered) == (3, 0), report.failures
    limited = sum(1 for r in onetrust.request_log if r["status"] == 429)
    assert limited >= 1 and took >= 0.9 * limited, (limited, took)  # Retry-After: 1 waited each time
    _exactly_once(onetrust, 3)


def test_a_5xx_storm_dead_letters_every_record_then_the_next_run_writes_each_once(onetrust, duckdb_warehouse):
    onetrust.faults.set(rate_5xx=1.0, status_5xx=503, methods=["POST"], paths=[PATH + "$"])
    write_outbound(duckdb_warehouse, "onetrust", _rows(5))
    report = run("onetrust", circuit_breakers=False)
    assert report.created == 0 and report.dead_lettered == 5, report
    waiting = query(duckdb_warehouse, "select internal_id from reverse_sync.dead_letters where vendor = 'onetrust' "
                                      "order by internal_id")
    assert [w[0] for w in waiting] == [f"att-{i:04d}" for i in range(5)], "never dropped"
    assert not [a for a in onetrust.attestations() if a.get("source") == "Project X"]
    onetrust.faults.clear()
    report = run("onetrust", run_id="after", circuit_breakers=False)
    assert (report.created, report.dead_lettered) == (5, 0), report.failures
    assert query(duckdb_warehouse, "select count(*) from reverse_sync.dead_letters where vendor = 'onetrust'") == [(0,)]
    _exactly_once(onetrust, 5)


def test_a_push_killed_after_its_writes_and_before_their_record_writes_nothing_twice(onetrust, duckdb_warehouse,
                                                                                    monkeypatch, tmp_path):
    from assets.reverse_sync import state

    def no_hashes(req, resp):  # a tenant listing attachments without hashes [unc]
        if req.method == "GET" and req.path.endswith("/attachments") and resp.status == 200:
            body = json.loads(resp.body)
            for entry in body.get("content") or []:
                entry.pop("sha256", None)
            resp.body = json.dumps(body).encode()
        return resp
    onetrust.rewrite_responses(no_hashes)
    write_outbound(duckdb_warehouse, "onetrust", _rows(2, tmp_path / "store"))
    real = state.save_link

    def killed(*args, **kwargs):
        raise RuntimeError("worker killed between the vendor's answer and the link")
    monkeypatch.setattr(state, "save_link", killed)
    with pytest.raises(RuntimeError, match="killed"):
        run("onetrust", concurrency=1)
    assert _posts(onetrust) == 1, "the first record's writes reached OneTrust"
    monkeypatch.setattr(state, "save_link", real)
    with duckdb.connect(duckdb_warehouse.duckdb_path) as con:
        con.execute("delete from reverse_sync.run_locks")  # the killed worker's lock (its process is gone)
    onetrust.clear_request_log()
    report = run("onetrust", run_id="after the kill")
    assert (report.adopted, report.created, report.dead_lettered) == (1, 1, 0), report.failures
    assert _posts(onetrust) == 1, "only the second attestation is posted"
    uploads = [r for r in onetrust.request_log if r["method"] == "POST" and r["path"].endswith("/attachments")]
    assert len(uploads) == 1, "the first attestation's file was not uploaded again"
    _exactly_once(onetrust, 2)
    assert all(len(v) == 1 for v in onetrust.attachments.values()), onetrust.attachments
    assert run("onetrust", run_id="quiet").writes == 0
