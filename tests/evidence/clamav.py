"""A real clamd for the tests: its own config, Unix socket and the signature database the project
ships (``tests/fixtures/clamav``), started once per session and stopped at the end."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest

from resources.evidence.scan import ClamdScanner

SIGNATURES = Path(__file__).resolve().parents[1] / "fixtures" / "clamav"
EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
MARKER = b"PROJECTX-TEST-MALWARE-MARKER-7f3a9c"
# The test clamd's limits. MaxScanSize counts the file itself and everything extracted from it, all levels
# (measured with clamd 1.4: an EICAR is found while file + expanded <= MaxScanSize, missed one byte past);
# the tests' library is told the same (``PROJECTX_EVIDENCE_MAX_SCAN_BYTES``: tests/evidence/library.py).
# 140M, above 120M: a 17 MB xlsx expanding to 108 MiB (126 MB in all) is read whole and stored.
MAX_FILE_BYTES = 120 * 1024 * 1024  # StreamMaxLength and MaxFileSize
MAX_SCAN_BYTES = 140 * 1024 * 1024  # MaxScanSize


@pytest.fixture(scope="session")
def clamd(tmp_path_factory):
    from tests.conftest import require_tool

    binary = require_tool("clamd", "clamav-daemon")
    work = tmp_path_factory.mktemp("clamd")
    db = work / "db"
    db.mkdir()
    for sig in SIGNATURES.glob("*.?db"):
        shutil.copy(sig, db / sig.name)
    sock = work / "clamd.sock"
    conf = work / "clamd.conf"
    conf.write_text("\n".join([
        f"LocalSocket {sock}", "Foreground yes", f"DatabaseDirectory {db}", f"LogFile {work / 'clamd.log'}",
        f"PidFile {work / 'clamd.pid'}", f"StreamMaxLength {MAX_FILE_BYTES}", f"MaxFileSize {MAX_FILE_BYTES}",
        f"MaxScanSize {MAX_SCAN_BYTES}",
        "MaxThreads 2", "ReadTimeout 60", "CommandReadTimeout 30", "SelfCheck 0", ""]))
    proc = subprocess.Popen([binary, "--config-file", str(conf)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    scanner = ClamdScanner(str(sock), timeout=60)
    deadline = time.monotonic() + 60
    while True:
        try:
            if sock.exists() and scanner.ping():
                break
        except Exception:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            log = (work / "clamd.log").read_text() if (work / "clamd.log").exists() else ""
            pytest.fail(f"clamd did not start: {proc.stderr.read().decode()[-2000:]} {log[-2000:]}")
        time.sleep(0.2)
    yield scanner
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
