"""Round 32: the real clamd dying in the middle of a scan, and a file it can only see as a whole.

A clamd of its own (the shipped signatures) is stopped (SIGSTOP) so that the library's INSTREAM fills the socket
and waits, then killed (SIGKILL) mid-stream: the file must wait as pending with a reason naming the fix, never be
stored unscanned, and come in (or be quarantined) once a clamd answers again. Nothing is lost in between."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from resources.evidence.scan import ClamdScanner
from tests.evidence.clamav import EICAR, SIGNATURES
from tests.evidence.library import make_library


def _start(work: Path) -> tuple[subprocess.Popen, ClamdScanner]:
    from tests.conftest import require_tool

    binary = require_tool("clamd", "clamav-daemon")
    db = work / "db"
    db.mkdir(exist_ok=True)
    for sig in SIGNATURES.glob("*.?db"):
        shutil.copy(sig, db / sig.name)
    sock = work / "clamd.sock"
    sock.unlink(missing_ok=True)
    conf = work / "clamd.conf"
    conf.write_text("\n".join([f"LocalSocket {sock}", "Foreground yes", f"DatabaseDirectory {db}",
                               f"LogFile {work / 'clamd.log'}", "StreamMaxLength 64M", "MaxThreads 1",
                               "SelfCheck 0", ""]))
    proc = subprocess.Popen([binary, "--config-file", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    scanner = ClamdScanner(str(sock), timeout=20)
    deadline = time.monotonic() + 60
    while True:
        try:
            if sock.exists() and scanner.ping():
                return proc, scanner
        except Exception:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail("clamd did not start")
        time.sleep(0.2)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=15)


@pytest.mark.parametrize("content", [b"access review, Q3\n" * 1_000_000, b"x" * 9_000_000 + EICAR],
                         ids=["clean", "infected"])
def test_clamd_killed_mid_stream_leaves_the_file_pending_then_it_is_finished(tmp_path, content):
    proc, scanner = _start(tmp_path)
    try:
        lib = make_library(tmp_path, scanner)
        os.kill(proc.pid, signal.SIGSTOP)  # it accepts nothing more: the stream fills the socket and waits
        outcome = {}
        worker = threading.Thread(target=lambda: outcome.update(out=lib.ingest(content, "q3.csv", "email")))
        worker.start()
        time.sleep(0.5)
        assert worker.is_alive() and "out" not in outcome  # still sending
        os.kill(proc.pid, signal.SIGKILL)
        worker.join(timeout=30)
        assert not worker.is_alive()
        out = outcome["out"]
        assert out.status == "pending", (out.status, out.reason)
        assert "clamd" in out.reason and ("check clamd" in out.reason or "start clamd" in out.reason), out.reason
        assert list(lib.store.list()) == []  # never stored unscanned
        assert (lib.pending_dir / lib._pending_key(out.sha256, "email", None, "q3.csv")).read_bytes() == content
        proc.wait(timeout=15)
        again = lib.retry_pending()  # still down: still pending, nothing lost
        assert [o.status for o in again] == ["pending"] and "not reachable" in again[0].reason
        proc, scanner = _start(tmp_path)
        lib.scanner = scanner
        done = lib.retry_pending()
        expected = "quarantined" if EICAR in content else "stored"
        assert [o.status for o in done] == [expected], [o.reason for o in done]
        assert not list(lib.pending_dir.glob("*.json"))
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGCONT)
        _stop(proc)
