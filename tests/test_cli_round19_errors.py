"""Round 19: operator mistakes at the other entry points (``python -m pipelines.<vendor>``, ``webhooks``,
``sandbox``, ``resources.evidence.archive``), run as an operator runs them (a subprocess, loopback only):
a usage error or one sentence naming the fix, no traceback, no password of a URL in the output."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.common.entrypoint import redact

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "hunter2-r19-pw"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(tmp_path, module: str, *args: str, timeout: int = 60, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("SERVICENOW_", "JIRA_", "ONETRUST_", "VAULT_", "PROJECTX_", "WEBHOOK_", "DAGSTER_"))}
    base |= {"PROJECTX_WAREHOUSE": "duckdb", "PROJECTX_DUCKDB_PATH": str(tmp_path / "w.duckdb"),
             "PROJECTX_DATA_DIR": str(tmp_path / "data")}
    return subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, env=base | env, capture_output=True,
                          text=True, timeout=timeout, check=False)


def _clean(proc: subprocess.CompletedProcess, status: int, *must: str) -> str:
    out = proc.stdout + proc.stderr
    assert proc.returncode == status, out[-2000:]
    assert "Traceback" not in out, out[-2000:]
    assert PASSWORD not in out
    for word in must:
        assert word in out, out[-2000:]
    return out


def test_redact_masks_the_password_of_a_url_only():
    text = f"URL tried: https://bob:{PASSWORD}@acme.example/x, http://u:p%40ss@h:8 and https://h:443/a@b"
    assert redact(text, []) == ("URL tried: https://bob:***@acme.example/x, http://u:***@h:8 and "
                                "https://h:443/a@b")


def test_a_password_in_a_base_url_stays_out_of_the_failure_sentence(tmp_path):
    url = f"http://bob:{PASSWORD}@127.0.0.1:{_closed_port()}"
    proc = _run(tmp_path, "pipelines.onetrust", ONETRUST_BASE_URL=url, ONETRUST_API_TOKEN="t0ken-r19",
                ONETRUST_TIMEOUT_SECONDS="1")
    out = _clean(proc, 1, "The OneTrust sync failed", "http://bob:***@127.0.0.1")
    assert "t0ken-r19" not in out


@pytest.mark.parametrize("vendor", ["servicenow", "onetrust"])
def test_a_vendor_command_refuses_unknown_arguments_before_syncing(tmp_path, vendor):
    env = {"SERVICENOW_BASE_URL": f"http://127.0.0.1:{_closed_port()}", "SERVICENOW_OAUTH_CLIENT_ID": "x",
           "SERVICENOW_OAUTH_CLIENT_SECRET": PASSWORD, "ONETRUST_BASE_URL": f"http://127.0.0.1:{_closed_port()}",
           "ONETRUST_API_TOKEN": PASSWORD}
    err = _clean(_run(tmp_path, f"pipelines.{vendor}", "--full-refresh", "--debug", **env), 2,
                 "Unexpected argument(s): --full-refresh", "--debug", "README 'Configuration'")
    assert "sync failed" not in err
    _clean(_run(tmp_path, f"pipelines.{vendor}", "--help", **env), 0, f"python -m pipelines.{vendor} [--debug]")
    assert not (tmp_path / "w.duckdb").exists(), "neither may start a sync"


@pytest.mark.parametrize("args, words", [
    (("--port", "99999"), ("--port", "0-65535")), (("--port", "-1"), ("--port", "0-65535")),
    (("--port", "http"), ("--port", "not a port number")), (("--log-level", "loud"), ("--log-level", "invalid choice")),
    (("--bogus",), ("unrecognized arguments",)),
])
def test_receiver_arguments_are_usage_errors(tmp_path, args, words):
    _clean(_run(tmp_path, "webhooks", *args, timeout=30), 2, *words)


@pytest.mark.parametrize("args, words", [
    (("--port", "70000"), ("--port", "0 to 65535")), (("--size", "-5"), ("--size", "0 or more")),
    (("--size", "many"), ("--size", "not a whole number")), (("--token-ttl", "0"), ("--token-ttl",)),
    (("--latency-ms", "nan"), ("--latency-ms",)), (("--max-concurrent", "0"), ("--max-concurrent",)),
    (("--anchor", "yesterday"), ("--anchor", "2026-11-01 00:00:00")), (("--vendor", "acme"), ("invalid choice",)),
])
def test_sandbox_arguments_are_usage_errors(tmp_path, args, words):
    _clean(_run(tmp_path, "sandbox", *args, "--port", "0", timeout=30) if "--port" not in args
           else _run(tmp_path, "sandbox", *args, timeout=30), 2, *words)


def test_archive_names_a_missing_folder_and_takes_help(tmp_path):
    missing = tmp_path / "old-evidence"
    _clean(_run(tmp_path, "resources.evidence.archive", str(missing)), 1, f"{missing} is not a folder",
           "PROJECTX_EVIDENCE_DIR")
    _clean(_run(tmp_path, "resources.evidence.archive", "a", "b"), 1, "at most one folder")
    out = _clean(_run(tmp_path, "resources.evidence.archive", "--help"), 0, "[<old evidence folder>]")
    assert "archived" not in out, "help archives nothing"


def _servicenow_env(**extra: str) -> dict[str, str]:
    return {"SERVICENOW_BASE_URL": f"http://127.0.0.1:{_closed_port()}", "SERVICENOW_OAUTH_CLIENT_ID": "x",
            "SERVICENOW_OAUTH_CLIENT_SECRET": PASSWORD} | extra


@pytest.mark.parametrize("value", ["abc", "-3", "nan"])
def test_a_bad_lock_timeout_names_its_variable(tmp_path, value):
    proc = _run(tmp_path, "pipelines.servicenow", **_servicenow_env(PROJECTX_SYNC_LOCK_TIMEOUT_SECONDS=value))
    _clean(proc, 1, f"PROJECTX_SYNC_LOCK_TIMEOUT_SECONDS='{value}' is not a number of seconds", "1800")


def test_a_damaged_warehouse_file_names_its_setting_and_is_left_alone(tmp_path):
    bad = tmp_path / "damaged.duckdb"
    bad.write_bytes(b"not a database " * 600)
    sync = _run(tmp_path, "pipelines.servicenow", **_servicenow_env(PROJECTX_DUCKDB_PATH=str(bad)))
    _clean(sync, 1, "not a valid DuckDB database", "check PROJECTX_DUCKDB_PATH", "backup")
    push = _run(tmp_path, "cli", "reverse-sync", "--vendor", "jira", "--dry-run", JIRA_BASE_URL="http://127.0.0.1:1",
                JIRA_AUTH_MODE="pat", JIRA_PAT=PASSWORD, PROJECTX_DUCKDB_PATH=str(bad))
    _clean(push, 1, "check PROJECTX_DUCKDB_PATH", "PROJECTX_DEBUG=1")
    assert bad.read_bytes() == b"not a database " * 600


def test_a_data_dir_under_a_file_names_the_setting(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    proc = _run(tmp_path, "pipelines.servicenow", **_servicenow_env(PROJECTX_DATA_DIR=str(blocker / "data")))
    _clean(proc, 1, "Not a directory", "PROJECTX_DATA_DIR")


@pytest.mark.parametrize("url", ["acme.atlassian.net", "https://127.0.0.1:99999"])
def test_a_malformed_base_url_names_its_variable(tmp_path, url):
    proc = _run(tmp_path, "pipelines.jira", JIRA_BASE_URL=url, JIRA_AUTH_MODE="pat", JIRA_PAT=PASSWORD)
    _clean(proc, 1, "The Jira sync failed", "JIRA_BASE_URL must be a full URL")


def test_a_vault_addr_without_scheme_names_its_fix(tmp_path):
    out = tmp_path / "roles.env"
    proc = _run(tmp_path, "cli", "vault", "setup", "--env", "dev", "--out", str(out), VAULT_ADDR="127.0.0.1:8200",
                VAULT_TOKEN=PASSWORD, DAGSTER_HOME=str(tmp_path))
    _clean(proc, 1, "VAULT_ADDR must be a full URL")
    assert not out.exists()


def test_demo_with_a_data_dir_under_a_file_stops_before_any_sandbox(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    (tmp_path / "dagster").mkdir()
    proc = _run(tmp_path, "cli", "demo", "--size", "5", PROJECTX_DATA_DIR=str(blocker / "data"),
                DAGSTER_HOME=str(tmp_path / "dagster"))
    out = _clean(proc, 1, "python -m cli demo failed", "Not a directory", "PROJECTX_DATA_DIR")
    assert "starting the vendor sandboxes" not in out


def test_replaying_a_seq_that_is_no_dead_letter_says_so(tmp_path):
    inbox = str(tmp_path / "inbox.sqlite3")
    proc = _run(tmp_path, "cli", "webhooks", "replay", "--seq", "424242", PROJECTX_WEBHOOK_INBOX=inbox,
                DAGSTER_HOME=str(tmp_path))
    _clean(proc, 1, "replayed 0 dead letter(s)", "no dead letter with --seq 424242", "webhooks dead-letters")
    _clean(_run(tmp_path, "cli", "webhooks", "replay", PROJECTX_WEBHOOK_INBOX=inbox, DAGSTER_HOME=str(tmp_path)), 0,
           "replayed 0 dead letter(s)")
