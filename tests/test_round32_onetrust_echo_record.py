"""Round 32: whether OneTrust shows again the evidence ids and hashes the push sends [unc] was decided by the read-backs
of the current run alone (``EvidenceEcho.echoed``, run-wide): a run that read only attestations without ids took a
tenant that does echo them (earlier runs' read-backs showed them) for one that does not, and never sent an id added
to an entry (the link then recorded it as sent); a tenant that keeps no hashes, reading first one attestation
someone had given a hash, rewrote every attestation it read after it. Now, per attestation, what OneTrust showed
for the list we last sent it is kept (``reverse_sync.onetrust_evidence_forms``: digests), and so are the parts any
read-back has shown (``reverse_sync.onetrust_echo``). Sandbox over HTTP -> DuckDB."""

from __future__ import annotations

import json

import pytest

from assets.reverse_sync.onetrust_evidence import EvidenceEcho, form
from tests.conftest import onetrust_env
from tests.reverse_sync_helpers import attestation_rows, query, run, write_outbound

LINKS = [{"evidence_id": None, "title": "Ticket", "storage_uri": "https://x.example/CHG1", "sha256": None},
         {"evidence_id": None, "title": "Board", "storage_uri": "https://x.example/CAB", "sha256": None}]
FULL = [{"evidence_id": "ev-1", "title": "Minutes", "storage_uri": "objects/gone.bin", "sha256": "a" * 64},
        {"evidence_id": "ev-2", "title": "Ticket", "storage_uri": "https://x.example/CHG1", "sha256": None}]


@pytest.fixture
def onetrust(make_onetrust_sandbox, duckdb_warehouse, monkeypatch, tmp_path):
    sb = make_onetrust_sandbox(size=20)
    onetrust_env(monkeypatch, sb)
    (tmp_path / "store").mkdir()
    monkeypatch.setenv("PROJECTX_EVIDENCE_DIR", str(tmp_path / "store"))
    return sb


def _rows(evidence: list[list[dict]], summary: str = "") -> list[dict]:
    return [{**r, "summary": r["summary"] + summary, "evidence_json": json.dumps(items)}
            for r, items in zip(attestation_rows(len(evidence)), evidence, strict=True)]


def _stored(sb, ext: str) -> dict:
    (att,) = [a for a in sb.attestations() if a.get("externalId") == ext]
    return att


def test_an_id_added_is_pushed_on_a_run_that_reads_no_attestation_showing_ids(onetrust, duckdb_warehouse):
    write_outbound(duckdb_warehouse, "onetrust", _rows([LINKS, FULL]))
    assert run("onetrust").created == 2
    assert "evidenceId" not in json.dumps(_stored(onetrust, "att-0000")["evidence"])
    write_outbound(duckdb_warehouse, "onetrust", _rows([LINKS, FULL], " (reviewed)"))
    run("onetrust", run_id="reviewed")  # reads both: att-0001 shows the ids and hashes it was sent
    with_ids = [{**LINKS[0], "evidence_id": "ev-7"}, {**LINKS[1], "evidence_id": "ev-8"}]
    write_outbound(duckdb_warehouse, "onetrust", _rows([with_ids, FULL], " (reviewed)"))
    report = run("onetrust", run_id="ids added")  # reads att-0000 only: none of its entries shows an id
    fields = {p["field"] for p in report.plan if p["internal_id"] == "att-0000" and p["field"]}
    assert "evidence" in fields, report.plan
    assert [e.get("evidenceId") for e in _stored(onetrust, "att-0000")["evidence"]] == ["ev-7", "ev-8"]
    assert query(duckdb_warehouse, "select part from reverse_sync.onetrust_echo order by part") == [
        ("evidenceId",), ("sha256",)]
    assert run("onetrust", run_id="quiet").writes == 0


def _names_only(sb, stray: dict) -> None:
    """A tenant that keeps neither ids nor hashes (answers and reads alike), but shows ``stray["hash"]`` on the
    entries of ``stray["ext"]`` (given by someone at OneTrust) once ``stray["on"]``: in reads, as our write replaces
    the list (its answer shows none)."""
    def rewrite(req, resp):
        if "/attestations" not in req.path or "/attachments" in req.path or resp.status >= 300:
            return resp
        body = json.loads(resp.body)
        for rec in body.get("content") or [body]:
            for entry in rec.get("evidence") or []:
                entry.pop("evidenceId", None)
                if not (stray["on"] and req.method == "GET" and rec.get("externalId") == stray["ext"]):
                    entry.pop("sha256", None)
        resp.body = json.dumps(body).encode()
        return resp
    sb.rewrite_responses(rewrite)


def test_a_tenant_keeping_no_hashes_is_not_rewritten_after_reading_one_with_a_hash(onetrust, duckdb_warehouse):
    stray = {"on": False, "ext": "att-0000"}
    _names_only(onetrust, stray)
    write_outbound(duckdb_warehouse, "onetrust", _rows([FULL, FULL, FULL]))
    assert run("onetrust").created == 3
    stray["on"] = True  # att-0000 (read first) shows the hash it was sent; the others show none
    write_outbound(duckdb_warehouse, "onetrust", _rows([FULL, FULL, FULL], " (reviewed)"))
    report = run("onetrust", run_id="edit", concurrency=1)
    assert (report.updated, report.conflicts, report.dead_lettered) == (3, 0, 0), report
    for ext in ("att-0001", "att-0002"):
        fields = {p["field"] for p in report.plan if p["internal_id"] == ext and p["field"]}
        assert fields == {"comment"}, (ext, report.plan)  # was: the evidence too, on every read after att-0000


def test_a_read_back_matching_what_onetrust_showed_for_the_same_list_holds_it():
    sent = [{"name": "a", "evidenceId": "E1", "sha256": "h"}, {"name": "b", "url": "https://x"}]
    kept = [{"name": "a"}, {"name": "b", "url": "https://x"}]  # what this tenant keeps of it
    echo = EvidenceEcho()
    echo.sent("x", sent)
    echo.sent("y", sent)
    echo.stored("x", kept)  # OneTrust's answer to our write of x
    echo.echoed = {"sha256", "evidenceId"}  # some other read-back showed both
    assert echo.shown("x", kept) == sent  # what it showed after our write of this very list: held
    assert echo.shown("y", kept) == kept  # no such record for y: a difference, as before
    echo.sent("x", [{**sent[0], "name": "a2"}, sent[1]])
    assert echo.shown("x", kept) == kept  # another list sent since: compared again
    assert form(kept) != form(sent) and len(form(kept)) == 64
    echo.stored("x", None)  # an answer without the list says nothing


def test_a_read_back_with_a_lone_surrogate_is_put_right_not_a_crash(onetrust, duckdb_warehouse):
    write_outbound(duckdb_warehouse, "onetrust", _rows([FULL]))
    run("onetrust")

    def hostile(req, resp):  # OneTrust shows an evidence name holding a lone UTF-16 surrogate
        if req.method == "GET" and "/attestations" in req.path and "/attachments" not in req.path \
                and resp.status == 200:
            body = json.loads(resp.body)
            for rec in body.get("content") or [body]:
                for entry in rec.get("evidence") or []:
                    entry["name"] = "\ud800 " + entry["name"]
            resp.body = json.dumps(body).encode()
        return resp
    onetrust.rewrite_responses(hostile)
    write_outbound(duckdb_warehouse, "onetrust", _rows([FULL], " (reviewed)"))
    report = run("onetrust", run_id="hostile")
    assert (report.updated, report.dead_lettered) == (1, 0), report.failures
    fields = {p["field"] for p in report.plan if p["field"]}
    assert {"comment", "evidence"} <= fields, report.plan
    onetrust.rewrite_responses(None)
    assert _stored(onetrust, "att-0000")["evidence"][0]["name"] == "Minutes"
