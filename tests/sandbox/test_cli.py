"""One command starts every emulator on its own port and prints where to reach it."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LAST_KEY = "trust_ca_env"  # the last line the seeded vendors (gdrive, sharepoint) print


@contextlib.contextmanager
def sandbox_cli(*args: str, vendors: int = 1, timeout: float = 60) -> Iterator[dict[str, dict[str, str]]]:
    """``python -m sandbox *args`` as a subprocess: what it printed for each vendor ({name: {key: value}})
    once ``vendors`` are ready (and the last one's description is complete), terminated on exit."""
    proc = subprocess.Popen([sys.executable, "-m", "sandbox", *args], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    printed: dict[str, dict[str, str]] = {}
    seeded_last = "--vendor" in args and args[args.index("--vendor") + 1] in ("gdrive", "sharepoint", "all")
    try:
        deadline, section = time.monotonic() + timeout, None
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            if " ready in " in line:
                section = printed.setdefault(line.split("]")[0].lstrip("["), {})
            elif line.startswith("  ") and section is not None:
                key, _, value = line.strip().partition(" ")
                section[key] = value.strip()
            if len(printed) == vendors and (not seeded_last or LAST_KEY in section):
                break
        yield printed
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_vendor_all_starts_every_emulator():
    with sandbox_cli("--vendor", "all", "--port", "0", "--size", "50", vendors=7) as printed:
        pass
    assert list(printed) == ["servicenow", "jira", "onetrust", "slack", "smtp", "gdrive", "sharepoint"]
    assert printed["gdrive"]["url"].startswith("https://") and printed["sharepoint"]["url"].startswith("https://")
    assert printed["gdrive"]["key_file"] and printed["sharepoint"]["client_secret"]
    state = Path(printed["gdrive"]["state_dir"]).parent  # one default temp dir for both, removed at SIGTERM
    assert Path(printed["sharepoint"]["state_dir"]).parent == state and not state.exists()
