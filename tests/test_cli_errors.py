"""``python -m pipelines.<vendor>`` with a wrong URL or refused credentials: one sentence naming the URL
tried, exit status 1, no traceback, no secret; ``--debug`` / ``PROJECTX_DEBUG=1`` bring the traceback back."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from pipelines.common.entrypoint import failure_message, root_cause, secret_values
from pipelines.common.http import VendorAuthError
from tests.reverse_sync_helpers import writes

ROOT = Path(__file__).resolve().parents[1]
SECRET = "wr0ng-s3cret-value-9f2c"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(module: str, env: dict[str, str], tmp_path, *args: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("SERVICENOW_", "JIRA_", "ONETRUST_", "VAULT_", "PROJECTX_DEBUG"))}
    base |= {"PROJECTX_WAREHOUSE": "duckdb", "PROJECTX_DUCKDB_PATH": str(tmp_path / "w.duckdb"),
             "PROJECTX_DATA_DIR": str(tmp_path / "data")}
    return subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, env=base | env, capture_output=True,
                          text=True, timeout=180, check=False)


def _assert_one_sentence(proc: subprocess.CompletedProcess, url: str, *must: str) -> str:
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out[-2000:]
    assert "Traceback" not in out, out[-2000:]
    assert SECRET not in out
    lines = [line for line in proc.stderr.splitlines() if " sync failed " in line]
    assert len(lines) == 1, proc.stderr[-2000:]
    line = lines[0]
    assert url in line and "--debug" in line, line
    for word in must:
        assert word in line, line
    return line


def test_servicenow_refused_credentials(make_servicenow_sandbox, tmp_path):
    sb = make_servicenow_sandbox(size=20)
    proc = _run("pipelines.servicenow", {
        "SERVICENOW_BASE_URL": sb.url, "SERVICENOW_OAUTH_CLIENT_ID": sb.credentials["client_id"],
        "SERVICENOW_OAUTH_CLIENT_SECRET": SECRET, "SERVICENOW_USER": "integration.user",
        "SERVICENOW_PASSWORD": SECRET + "-pw"}, tmp_path)
    _assert_one_sentence(proc, sb.url, "SERVICENOW_")
    assert SECRET + "-pw" not in proc.stdout + proc.stderr


def test_servicenow_unreachable_url(tmp_path):
    url = f"http://127.0.0.1:{_closed_port()}"
    proc = _run("pipelines.servicenow", {"SERVICENOW_BASE_URL": url, "SERVICENOW_OAUTH_CLIENT_ID": "x",
                                         "SERVICENOW_OAUTH_CLIENT_SECRET": SECRET}, tmp_path)
    _assert_one_sentence(proc, url, "SERVICENOW_BASE_URL")


def test_jira_static_token_refused_says_what_happens(make_jira_sandbox, tmp_path):
    sb = make_jira_sandbox(size=20)
    proc = _run("pipelines.jira", {"JIRA_BASE_URL": sb.url, "JIRA_AUTH_MODE": "pat",
                                   "JIRA_USER_EMAIL": sb.credentials["email"], "JIRA_API_TOKEN": SECRET}, tmp_path)
    _assert_one_sentence(proc, sb.url, "refused")
    out = proc.stdout + proc.stderr
    assert "refreshing the token" not in out, "a static token has no refresh"
    assert "cannot be refreshed" in out


def test_onetrust_refused_client_secret(make_onetrust_sandbox, tmp_path):
    sb = make_onetrust_sandbox(size=20)
    proc = _run("pipelines.onetrust", {"ONETRUST_BASE_URL": sb.url, "ONETRUST_CLIENT_ID": sb.client_id,
                                       "ONETRUST_CLIENT_SECRET": SECRET}, tmp_path)
    _assert_one_sentence(proc, sb.url.rstrip("/"), "ONETRUST_CLIENT")


def test_onetrust_unreachable_url(tmp_path):
    url = f"http://127.0.0.1:{_closed_port()}"
    proc = _run("pipelines.onetrust", {"ONETRUST_BASE_URL": url, "ONETRUST_API_TOKEN": SECRET,
                                       "ONETRUST_TIMEOUT_SECONDS": "2"}, tmp_path)
    _assert_one_sentence(proc, url)


@pytest.mark.parametrize("how", [("--debug",), ()])
def test_debug_shows_the_traceback(make_servicenow_sandbox, tmp_path, how):
    sb = make_servicenow_sandbox(size=20)  # credentials refused at once (an unreachable URL retries for 16 s)
    env = {"SERVICENOW_BASE_URL": sb.url, "SERVICENOW_OAUTH_CLIENT_ID": sb.credentials["client_id"],
           "SERVICENOW_OAUTH_CLIENT_SECRET": SECRET, "SERVICENOW_USER": "integration.user",
           "SERVICENOW_PASSWORD": SECRET + "-pw"}
    if not how:
        env["PROJECTX_DEBUG"] = "1"
    proc = _run("pipelines.servicenow", env, tmp_path, *how)
    assert proc.returncode != 0
    assert "Traceback" in proc.stderr and "VendorAuthError" in proc.stderr


def test_message_takes_the_vendor_cause_and_masks_secrets():
    try:
        try:
            raise VendorAuthError(f"Jira returned 401 for /rest/api/3/search twice: token {SECRET} refused")
        except VendorAuthError as inner:
            raise RuntimeError("In processing pipe `issues`: extraction failed") from inner
    except RuntimeError as outer:
        exc = outer
    assert isinstance(root_cause(exc), VendorAuthError)
    line = failure_message("Jira", "https://acme.atlassian.net", exc,
                           secret_values({"JIRA_API_TOKEN": SECRET, "JIRA_BASE_URL": "https://acme.atlassian.net"}))
    assert SECRET not in line and "***" in line and "\n" not in line
    assert line.startswith("The Jira sync failed (URL tried: https://acme.atlassian.net): Jira returned 401")


def test_reverse_sync_names_a_missing_or_bad_setting_in_one_sentence(make_servicenow_sandbox, tmp_path):
    missing = _run("cli", {}, tmp_path, "reverse-sync", "--vendor", "servicenow")
    assert missing.returncode == 2 and "Traceback" not in missing.stderr, missing.stderr[-2000:]
    assert "SERVICENOW_BASE_URL is not set" in missing.stderr and "PROJECTX_DEBUG=1" in missing.stderr
    sb = make_servicenow_sandbox(size=20)
    env = {"SERVICENOW_BASE_URL": sb.url, "SERVICENOW_OAUTH_CLIENT_ID": sb.credentials["client_id"],
           "SERVICENOW_OAUTH_CLIENT_SECRET": SECRET, "SERVICENOW_USER": "integration.user",
           "SERVICENOW_PASSWORD": sb.credentials["password"], "PROJECTX_PUSH_CONCURRENCY": "many"}
    unbuilt = _run("cli", env, tmp_path, "reverse-sync", "--vendor", "servicenow")  # no mart on a new warehouse
    assert unbuilt.returncode == 2 and "Traceback" not in unbuilt.stderr, unbuilt.stderr[-2000:]
    assert "outbound.servicenow_remediation_tasks does not exist" in unbuilt.stderr and "make demo" in unbuilt.stderr
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        con.execute("create schema outbound")
        con.execute("create table outbound.servicenow_remediation_tasks (remediation_task_id varchar)")
    bad = _run("cli", env, tmp_path, "reverse-sync", "--vendor", "servicenow")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr, bad.stderr[-2000:]
    assert "PROJECTX_PUSH_CONCURRENCY='many' is not a number" in bad.stderr
    assert SECRET not in bad.stdout + bad.stderr
    assert writes(sb) == []
