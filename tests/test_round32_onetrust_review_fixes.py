"""Round 32 review of the OneTrust records (sandbox over HTTP -> DuckDB, and the records on either warehouse):

- a read-back judged to hold the evidence list only because it left out a part no read-back had shown yet was kept
  as a permanent record (``onetrust_evidence_forms``): ids added to every entry at once on a tenant that does echo
  them were never sent, even after other read-backs showed ids;
- the name-and-size match of an unanswered upload took an older attachment (uploaded before the record was kept)
  for the changed file whose upload failed, and two unanswered rows of one name and size for one entry; a size
  listed as "10" or 10.0 matched nothing; the record was read outside a committed unit (PostgreSQL: idle in
  transaction through the HTTP calls after it);
- the evidence an upsert's answer showed was kept before the answer was checked to be ours: a gateway replaying
  another attestation's answer kept that one's evidence for ours."""

from __future__ import annotations

import hashlib
import json

import duckdb
import pytest

from assets.reverse_sync.onetrust_evidence import form
from sandbox.onetrust.draw import iso
from tests.conftest import onetrust_env
from tests.reverse_sync_helpers import attestation_rows, run, write_outbound

PATH = "/api/controls/v1/attestations"
LINKS = [{"evidence_id": None, "title": "Ticket", "storage_uri": "https://x.example/CHG1", "sha256": None},
         {"evidence_id": None, "title": "Board", "storage_uri": "https://x.example/CAB", "sha256": None}]
IDS = [{**LINKS[0], "evidence_id": "ev-7"}, {**LINKS[1], "evidence_id": "ev-8"}]


@pytest.fixture
def onetrust(make_onetrust_sandbox, duckdb_warehouse, monkeypatch, tmp_path):
    sb = make_onetrust_sandbox(size=20)
    onetrust_env(monkeypatch, sb)
    (tmp_path / "store").mkdir()
    monkeypatch.setenv("PROJECTX_EVIDENCE_DIR", str(tmp_path / "store"))
    return sb


def _rows(*items: tuple[list[dict], str]) -> list[dict]:
    return [{**r, "summary": r["summary"] + summary, "evidence_json": json.dumps(evidence)}
            for r, (evidence, summary) in zip(attestation_rows(len(items)), items, strict=True)]


def _stored(sb, ext: str) -> dict:
    (att,) = [a for a in sb.attestations() if a.get("externalId") == ext]
    return att


def _fields(report, ext: str) -> set[str]:
    return {p["field"] for p in report.plan if p["internal_id"] == ext and p["field"]}


def test_ids_added_at_once_are_sent_once_a_read_back_shows_ids(onetrust, duckdb_warehouse):
    write_outbound(duckdb_warehouse, "onetrust", _rows((LINKS, "")))
    assert run("onetrust").created == 1  # never sent an id: no read-back has shown one
    write_outbound(duckdb_warehouse, "onetrust", _rows((IDS, "")))
    run("onetrust", run_id="ids")  # read back without ids: assumed kept [unc], not recorded as held
    write_outbound(duckdb_warehouse, "onetrust", _rows((IDS, ""), (IDS, "")))
    assert run("onetrust", run_id="second").created == 1  # att-0001 is sent its ids
    write_outbound(duckdb_warehouse, "onetrust", _rows((IDS, ""), (IDS, " (reviewed)")))
    run("onetrust", run_id="read att-0001")  # its read-back shows ids: OneTrust echoes them
    write_outbound(duckdb_warehouse, "onetrust", _rows((IDS, " (reviewed)"), (IDS, " (reviewed)")))
    report = run("onetrust", run_id="read att-0000")
    assert "evidence" in _fields(report, "att-0000"), report.plan  # was: held by the guess kept in run "ids"
    assert [e.get("evidenceId") for e in _stored(onetrust, "att-0000")["evidence"]] == ["ev-7", "ev-8"]
    assert run("onetrust", run_id="quiet").writes == 0


def test_a_replayed_answer_of_another_attestation_keeps_nothing_for_ours(onetrust, duckdb_warehouse):
    write_outbound(duckdb_warehouse, "onetrust", _rows((LINKS, ""), (IDS, "")))
    assert run("onetrust").created == 2
    # att-0000's answer without its externalId (a gateway's cache trimming it): only the holder check tells
    first = json.dumps({k: v for k, v in _stored(onetrust, "att-0000").items() if k != "externalId"})

    def replay(req, resp):  # a gateway answering att-0001's upsert with att-0000's answer
        if req.method == "POST" and req.path == PATH and json.loads(req.body).get("externalId") == "att-0001":
            resp.body = first.encode()
        return resp
    onetrust.rewrite_responses(replay)
    write_outbound(duckdb_warehouse, "onetrust", _rows((LINKS, " (reviewed)"), (IDS, " (reviewed)")))
    report = run("onetrust", run_id="replayed", concurrency=1)
    assert report.dead_lettered == 0, report.failures
    onetrust.rewrite_responses(None)
    with duckdb.connect(duckdb_warehouse.duckdb_path, read_only=True) as con:
        (shown,) = con.execute("select shown_form from reverse_sync.onetrust_evidence_forms "
                               "where attestation_id = 'att-0001'").fetchone()
    assert shown != form(_stored(onetrust, "att-0000")["evidence"]), "att-0000's evidence kept for att-0001"
    assert shown == form(_stored(onetrust, "att-0001")["evidence"])


def test_an_older_attachment_of_that_name_and_size_is_not_the_failed_upload(onetrust, duckdb_warehouse, tmp_path):
    store = tmp_path / "store"
    write_outbound(duckdb_warehouse, "onetrust", _rows((LINKS, "")))
    run("onetrust")
    att = _stored(onetrust, "att-0000")
    old = b"CHG0001 pending!"
    # attached before the upload record was kept (an hour ago), listed by name and size only
    onetrust.attachments[att["id"]] = [{"id": "old-1", "attestationId": att["id"], "fileName": "ticket.txt",
                                        "contentType": "text/plain", "size": len(old), "createdDate": iso(
                                            onetrust.clock.now().timestamp() - 3600)}]
    (store / "ticket.txt").write_bytes(b"CHG0001 approved")  # the changed file: same name, same size
    evidence = [{"evidence_id": "ev-1", "title": "ticket.txt", "storage_uri": (store / "ticket.txt").as_uri(),
                 "sha256": None}]
    onetrust.faults.set(rate_5xx=1.0, status_5xx=504, methods=["POST"], paths=[PATH + "/[^/]+/attachments$"])
    write_outbound(duckdb_warehouse, "onetrust", _rows((evidence, " (file)")))
    run("onetrust", run_id="upload fails")  # the upload never reached OneTrust
    onetrust.faults.clear()
    assert len(onetrust.attachments[att["id"]]) == 1
    report = run("onetrust", run_id="again")
    assert report.dead_lettered == 0, report.failures
    uploaded = [a for a in onetrust.attachments[att["id"]] if a["id"] != "old-1"]
    assert [a.get("sha256") for a in uploaded] == [hashlib.sha256(b"CHG0001 approved").hexdigest()]


def _record(conn):
    from assets.reverse_sync.onetrust_attachments import AttachmentRecord
    from assets.reverse_sync.writes import Writes

    uploads = AttachmentRecord()
    uploads.bind(Writes(conn, "onetrust", "run-1"))
    uploads.sending("att-1", "a" * 64, "minutes.pdf", 10)
    uploads.sending("att-1", "b" * 64, "minutes.pdf", 10)  # another file of that name and size, unanswered too
    uploads.sending("att-2", "c" * 64, "minutes.pdf", 10)
    uploads.answered("att-2", "c" * 64, "x-9")
    return uploads


def test_the_name_and_size_match_claims_each_entry_once(any_warehouse):
    from resources.warehouse import WarehouseResource

    with WarehouseResource.from_env().connect() as conn:
        uploads = _record(conn)
        assert uploads.held("att-1", [{"fileName": "minutes.pdf", "size": 10}]) == {"a" * 64}
        assert uploads.held("att-1", [{"fileName": "minutes.pdf", "size": 10},
                                      {"fileName": "minutes.pdf", "size": 10}]) == {"a" * 64, "b" * 64}
        assert uploads.held("att-1", [{"id": "x-9", "fileName": "minutes.pdf", "size": 10}]) == set()  # att-2's
        assert uploads.held("att-1", [{"fileName": "minutes.pdf", "size": 10,
                                       "createdDate": "2020-01-01T00:00:00.000Z"}]) == set()  # made before it was sent
        # an entry matched with its id keeps it: matched by id from now on, the other row alone left to name and size
        assert uploads.held("att-1", [{"id": "x-1", "fileName": "minutes.pdf", "size": 10}]) == {"a" * 64}
        assert uploads.held("att-1", [{"id": "x-1", "fileName": "other.pdf", "size": 3},
                                      {"fileName": "minutes.pdf", "size": 10}]) == {"a" * 64, "b" * 64}


def test_a_size_listed_as_text_or_a_whole_float_matches(duckdb_warehouse):
    from resources.warehouse import WarehouseResource

    with WarehouseResource.from_env().connect() as conn:
        uploads = _record(conn)
        for size in ("10", 10.0, " 10 "):
            assert uploads.held("att-1", [{"fileName": "minutes.pdf", "size": size}]) == {"a" * 64}, size
        for size in (10.5, "1e1", True, None, "ten"):
            assert uploads.held("att-1", [{"fileName": "minutes.pdf", "size": size}]) == set(), size


@pytest.mark.postgres
def test_reading_the_record_leaves_no_transaction_open_on_postgres(duckdb_warehouse, tmp_path, monkeypatch):
    import psycopg2.extensions

    from resources.warehouse import WarehouseResource
    from tests.conftest import fresh_postgres

    with fresh_postgres(tmp_path / "pgdata") as settings:
        for key, value in settings.env().items():
            monkeypatch.setenv(key, value)
        with WarehouseResource.from_env().connect() as conn:
            uploads = _record(conn)
            assert uploads.held("att-1", [{"fileName": "minutes.pdf", "size": 10}]) == {"a" * 64}
            assert conn.raw.info.transaction_status == psycopg2.extensions.TRANSACTION_STATUS_IDLE
