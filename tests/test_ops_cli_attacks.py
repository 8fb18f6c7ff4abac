"""``python -m cli`` with bad arguments and bad environment values, run as an operator runs it (a
subprocess): one sentence naming the fix, a non-zero exit status, no traceback, no secret; usage errors
before anything is changed; ``PROJECTX_DEBUG=1`` brings the traceback back."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "hvs.op3rator-t0ken-5b9e"


def _cli(tmp_path, *args: str, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "PROJECTX_", "WEBHOOK_", "DAGSTER_"))}
    base |= {"PROJECTX_WAREHOUSE": "duckdb", "PROJECTX_DUCKDB_PATH": str(tmp_path / "w.duckdb"),
             "PROJECTX_DATA_DIR": str(tmp_path / "data"), "DAGSTER_HOME": str(tmp_path / "dagster")}
    (tmp_path / "dagster").mkdir(exist_ok=True)
    return subprocess.run([sys.executable, "-m", "cli", *args], cwd=ROOT, env=base | env, capture_output=True,
                          text=True, timeout=120, check=False)


def _one_sentence(proc: subprocess.CompletedProcess, status: int, *must: str) -> str:
    out = proc.stdout + proc.stderr
    assert proc.returncode == status, out[-2000:]
    assert "Traceback" not in out, out[-2000:]
    assert TOKEN not in out
    for word in must:
        assert word in proc.stderr, proc.stderr[-2000:]
    return proc.stderr


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("args, word", [
    (("demo", "--size", "-5"), "--size"), (("demo", "--size", "lots"), "not a whole number"),
    (("demo", "--changes", "-1"), "--changes"), (("scale-demo", "--workers", "0"), "--workers"),
    (("scale-demo", "--size", "0"), "--size"), (("webhooks", "replay", "--seq", "x"), "--seq"),
    (("webhooks", "replay", "--seq", "-3"), "--seq"), (("reverse-sync", "--vendor", "<script>"), "invalid choice"),
    (("vault", "setup", "--env", "qa", "--out", "x"), "invalid choice"), (("no-such-command",), "invalid choice"),
])
def test_bad_arguments_are_usage_errors_before_anything_runs(tmp_path, args, word):
    proc = _cli(tmp_path, *args)
    _one_sentence(proc, 2, word)
    assert not (tmp_path / "data").exists() or not any((tmp_path / "data").iterdir()), "nothing may start"


def test_a_damaged_inbox_names_its_setting(tmp_path):
    bad = tmp_path / "inbox.sqlite3"
    bad.write_bytes(b"garbage " * 4096)
    for command in ("status", "dead-letters", "replay"):
        err = _one_sentence(_cli(tmp_path, "webhooks", command, PROJECTX_WEBHOOK_INBOX=str(bad)), 1,
                            "PROJECTX_WEBHOOK_INBOX", "PROJECTX_DEBUG=1")
        assert len(err.strip().splitlines()) == 1, err
    assert bad.read_bytes() == b"garbage " * 4096, "the damaged file is left as it was, for recovery"


def test_an_inbox_path_that_cannot_exist(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    _one_sentence(_cli(tmp_path, "webhooks", "status", PROJECTX_WEBHOOK_INBOX=str(blocker / "inbox.sqlite3")), 1,
                  "PROJECTX_WEBHOOK_INBOX")


@pytest.mark.parametrize("name, value", [("WEBHOOK_MAX_BODY_BYTES", "abc"), ("WEBHOOK_SECRET_GRACE_SECONDS", "-1"),
                                         ("PROJECTX_WEBHOOK_SYNCHRONOUS", "maybe"),
                                         ("PROJECTX_WEBHOOK_RATE_PER_SECOND", "nan")])
def test_bad_receiver_settings_name_the_variable(tmp_path, name, value):
    _one_sentence(_cli(tmp_path, "webhooks", "status", **{name: value}), 1, name)


def test_dagster_home_missing(tmp_path):
    _one_sentence(_cli(tmp_path, "schedules", "list", DAGSTER_HOME=str(tmp_path / "nowhere")), 1, "DAGSTER_HOME")


def test_vault_unreachable_and_unwritable_out(tmp_path):
    addr = f"http://127.0.0.1:{_closed_port()}"
    out = tmp_path / "roles.env"
    _one_sentence(_cli(tmp_path, "vault", "setup", "--env", "dev", "--out", str(out), VAULT_ADDR=addr,
                       VAULT_TOKEN=TOKEN), 1, "VAULT_ADDR")
    assert not out.exists()
    err = _one_sentence(_cli(tmp_path, "vault", "setup", "--env", "dev", "--out", str(tmp_path / "no" / "roles.env"),
                             VAULT_ADDR=addr, VAULT_TOKEN=TOKEN), 2, "--out")
    assert "nothing was installed" in err
    _one_sentence(_cli(tmp_path, "vault", "setup", "--env", "dev", "--out", str(out)), 2, "VAULT_ADDR", "VAULT_TOKEN")


def test_vault_refusing_the_token(vault, tmp_path):
    addr, _root, _client = vault
    _one_sentence(_cli(tmp_path, "vault", "setup", "--env", "dev", "--out", str(tmp_path / "roles.env"),
                       VAULT_ADDR=addr, VAULT_TOKEN=TOKEN), 1, "VAULT_TOKEN")


def test_debug_brings_the_traceback_back(tmp_path):
    bad = tmp_path / "inbox.sqlite3"
    bad.write_bytes(b"garbage " * 4096)
    proc = _cli(tmp_path, "webhooks", "status", PROJECTX_WEBHOOK_INBOX=str(bad), PROJECTX_DEBUG="1")
    assert proc.returncode != 0 and "Traceback" in proc.stderr and "DatabaseError" in proc.stderr
