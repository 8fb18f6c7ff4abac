"""One command starts every emulator on its own port and prints where to reach it."""

import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_vendor_all_starts_every_emulator():
    proc = subprocess.Popen([sys.executable, "-m", "sandbox", "--vendor", "all", "--port", "0", "--size", "50"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    ready, deadline = [], time.monotonic() + 60
    try:
        while len(ready) < 5 and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            if " ready in " in line:
                ready.append(line.split("]")[0].lstrip("["))
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    assert ready == ["servicenow", "jira", "onetrust", "slack", "smtp"]
