"""Round 32: OneTrust keeps no idempotency key on attachments, and the attestation push knew which evidence files an
attestation holds only from the sha256 OneTrust's attachment listing shows [unc: no attestation API is published,
so whether a tenant lists hashes is a guess; the sandbox does]. A tenant listing name and size only made every
planned push (any change of the attestation, every retry of a dead letter) upload every file again: duplicates at
OneTrust, run after run. So did an upload whose answer was lost (a gateway's 504 after OneTrust stored it), even
with hashes listed nowhere. Now the push keeps a persistent record of each upload (``reverse_sync.
onetrust_attachments``: attestation, sha256, file name and size, and OneTrust's attachment id once answered),
written before the upload is sent, and an entry listed without a hash is ours when its id, or its name and size
while the upload is unanswered, match the record. An attachment removed at OneTrust is still attached again.
Sandbox over HTTP -> DuckDB."""

from __future__ import annotations

import json

import duckdb
import pytest

from sandbox.core.http import Response
from tests.conftest import onetrust_env
from tests.reverse_sync_helpers import attestation_rows, run, write_outbound

FILES = {"cab-minutes.pdf": b"minutes of the change advisory board", "ticket.txt": b"CHG0001 approved"}


@pytest.fixture
def onetrust(make_onetrust_sandbox, duckdb_warehouse, monkeypatch, tmp_path):
    sb = make_onetrust_sandbox(size=20)
    onetrust_env(monkeypatch, sb)
    store = tmp_path / "store"
    store.mkdir()
    for name, data in FILES.items():
        (store / name).write_bytes(data)
    monkeypatch.setenv("PROJECTX_EVIDENCE_DIR", str(store))
    return sb


def _rows(store, summary: str = "") -> list[dict]:
    items = [{"evidence_id": f"ev-{n}", "title": name, "storage_uri": (store / name).as_uri(), "sha256": None}
             for n, name in enumerate(FILES)]
    return [{**r, "summary": r["summary"] + summary, "evidence_json": json.dumps(items)} for r in attestation_rows(1)]


def _no_hashes(sb) -> None:
    """OneTrust listing an attestation's attachments by name and size only."""
    def rewrite(req, resp):
        if req.method == "GET" and req.path.endswith("/attachments") and resp.status == 200:
            body = json.loads(resp.body)
            for entry in body.get("content") or []:
                entry.pop("sha256", None)
            resp.body = json.dumps(body).encode()
        return resp
    sb.rewrite_responses(rewrite)


def _uploads(sb) -> int:
    return sum(1 for r in sb.request_log if r["method"] == "POST" and r["path"].endswith("/attachments"))


def _attached(sb) -> list[str]:
    (att,) = [a for a in sb.attestations() if a.get("externalId") == "att-0000"]
    return sorted(a["fileName"] for a in sb.attachments.get(att["id"], []))


def test_a_tenant_listing_no_hashes_gets_each_file_once(onetrust, duckdb_warehouse, tmp_path):
    store = tmp_path / "store"
    _no_hashes(onetrust)
    write_outbound(duckdb_warehouse, "onetrust", _rows(store))
    assert run("onetrust").created == 1
    assert _attached(onetrust) == sorted(FILES)
    for n in range(2):  # the attestation changes: planned, read back, updated
        write_outbound(duckdb_warehouse, "onetrust", _rows(store, f" (edit {n})"))
        onetrust.clear_request_log()
        report = run("onetrust", run_id=f"edit-{n}")
        assert (report.updated, report.dead_lettered) == (1, 0), report.failures
        assert _uploads(onetrust) == 0, "every evidence file uploaded again (OneTrust lists no hashes)"
    assert _attached(onetrust) == sorted(FILES)


def test_an_attachment_removed_at_onetrust_is_attached_again(onetrust, duckdb_warehouse, tmp_path):
    store = tmp_path / "store"
    _no_hashes(onetrust)
    write_outbound(duckdb_warehouse, "onetrust", _rows(store))
    run("onetrust")
    (att,) = [a for a in onetrust.attestations() if a.get("externalId") == "att-0000"]
    onetrust.attachments[att["id"]] = [a for a in onetrust.attachments[att["id"]] if a["fileName"] != "ticket.txt"]
    write_outbound(duckdb_warehouse, "onetrust", _rows(store, " (edited)"))
    onetrust.clear_request_log()
    run("onetrust", run_id="edit")
    assert _uploads(onetrust) == 1 and _attached(onetrust) == sorted(FILES)


@pytest.mark.parametrize("hashes", [True, False])
def test_an_upload_whose_answer_was_lost_is_not_sent_twice(hashes, onetrust, duckdb_warehouse, tmp_path):
    store = tmp_path / "store"
    if not hashes:
        _no_hashes(onetrust)
    lost = {"left": 1}

    def gateway(req, resp):  # OneTrust stored the file; the gateway's 504 is all the push sees
        if req.method == "POST" and req.path.endswith("/attachments") and lost["left"]:
            lost["left"] -= 1
            return Response(504, b"<html>Gateway Timeout</html>", "text/html", [])
        return resp
    onetrust.rewrite_responses(gateway)
    write_outbound(duckdb_warehouse, "onetrust", _rows(store))
    run("onetrust")
    onetrust.clear_request_log()
    report = run("onetrust", run_id="again")  # a dead letter (no hashes: not found) or done already
    assert report.dead_lettered == 0, report.failures
    assert _uploads(onetrust) == 0 and _attached(onetrust) == sorted(FILES)
    assert run("onetrust", run_id="third").writes == 0


def test_the_record_holds_no_worker_path(onetrust, duckdb_warehouse, tmp_path):
    store = tmp_path / "store"
    _no_hashes(onetrust)
    write_outbound(duckdb_warehouse, "onetrust", _rows(store))
    run("onetrust")
    with duckdb.connect(duckdb_warehouse.duckdb_path, read_only=True) as con:
        rows = con.execute("select * from reverse_sync.onetrust_attachments").fetchall()
    assert len(rows) == 2 and str(store) not in json.dumps(rows, default=str)


def test_the_records_keep_across_connections_on_either_warehouse(any_warehouse):
    """Both records (uploads, evidence forms) written by one run are read by the next, on DuckDB and PostgreSQL."""
    from assets.reverse_sync.onetrust_attachments import AttachmentRecord, EchoRecord
    from assets.reverse_sync.writes import Writes
    from resources.warehouse import WarehouseResource

    for n in range(2):
        with WarehouseResource.from_env().connect() as conn:
            writes = Writes(conn, "onetrust", f"run-{n}")
            uploads, echoes = AttachmentRecord(), EchoRecord()
            uploads.bind(writes)
            forms, shown = echoes.bind(writes)
            if n == 0:
                assert (forms, shown) == ({}, set())
                uploads.sending("att-1", "h" * 64, "minutes.pdf", 12)
                uploads.sending("att-1", "h" * 64, "minutes.pdf", 12)  # sent again: one row
                uploads.answered("att-1", "h" * 64, "a-1")
                echoes.save_form("x", "s" * 64, "t" * 64)
                echoes.save_form("x", "s" * 64, "u" * 64)
                echoes.save_shown(["sha256"], "x")
                continue
            assert forms == {"x": ("s" * 64, "u" * 64)} and shown == {"sha256"}
            listed = [{"id": "a-1", "fileName": "renamed.pdf", "size": 12}, {"id": "a-2", "fileName": "minutes.pdf",
                                                                             "size": 12}]
            assert uploads.held("att-1", listed) == {"h" * 64}  # by its answered id
            assert uploads.held("att-1", listed[1:]) == set()  # answered: another entry of that name is not ours
            assert uploads.held("att-2", listed) == set()


def test_an_attachment_listing_paged_one_by_one_is_read_to_its_end(onetrust, duckdb_warehouse, tmp_path):
    """A tenant paging attachments like its other listings [unc]: files beyond the first page were taken for
    missing and uploaded again on every planned push."""
    from urllib.parse import parse_qs

    store = tmp_path / "store"

    def paged(req, resp):
        if req.method == "GET" and req.path.endswith("/attachments") and resp.status == 200:
            listed = json.loads(resp.body)["content"]
            number = int(parse_qs(req.raw_query).get("page", ["0"])[0])
            body = {"content": listed[number:number + 1], "number": number, "size": 1,
                    "totalElements": len(listed), "totalPages": len(listed), "last": number + 1 >= len(listed)}
            resp.body = json.dumps(body).encode()
        return resp
    onetrust.rewrite_responses(paged)
    write_outbound(duckdb_warehouse, "onetrust", _rows(store))
    run("onetrust")
    write_outbound(duckdb_warehouse, "onetrust", _rows(store, " (edited)"))
    onetrust.clear_request_log()
    report = run("onetrust", run_id="edit")
    assert (report.updated, report.dead_lettered) == (1, 0), report.failures
    assert _uploads(onetrust) == 0 and _attached(onetrust) == sorted(FILES)
