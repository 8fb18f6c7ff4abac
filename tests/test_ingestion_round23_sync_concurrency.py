"""Requests in flight per vendor sync are a setting (``PROJECTX_<VENDOR>_SYNC_CONCURRENCY``): an operator
whose instance allows more sessions raises it, one asked to send less lowers it; a bad value fails the
run before any vendor call and names the variable and the range."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.common.concurrency import MAX_SYNC_CONCURRENCY, sync_concurrency
from pipelines.jira.config import source_kwargs_from_env
from resources.servicenow import ServiceNowResource
from tests.conftest import sandbox_env

ROOT = Path(__file__).resolve().parent.parent
VAR = "PROJECTX_SERVICENOW_SYNC_CONCURRENCY"


@pytest.mark.parametrize("raw, expected", [(None, 4), ("", 4), ("  ", 4), ("1", 1), (" 8 ", 8),
                                           (str(MAX_SYNC_CONCURRENCY), MAX_SYNC_CONCURRENCY)])
def test_a_whole_number_in_range_or_the_default(raw, expected):
    environ = {} if raw is None else {VAR: raw}
    assert sync_concurrency("servicenow", 4, environ) == expected


@pytest.mark.parametrize("raw", ["0", "-1", str(MAX_SYNC_CONCURRENCY + 1), "1.5", "2e1", "four", "1_0",
                                 "\uff18", "99999999999999999999999"])
def test_anything_else_is_refused_naming_the_variable_and_the_range(raw):
    with pytest.raises(ValueError) as caught:
        sync_concurrency("servicenow", 4, {VAR: raw})
    message = str(caught.value)
    assert VAR in message and f"1 to {MAX_SYNC_CONCURRENCY}" in message and "default (4)" in message


def test_a_long_value_is_cut_short_in_the_message():
    with pytest.raises(ValueError) as caught:
        sync_concurrency("servicenow", 4, {VAR: "x" * 500})
    assert len(str(caught.value)) < 250


def test_the_dagster_resource_holds_the_servicenow_sync_to_the_setting(make_servicenow_sandbox, duckdb_warehouse,
                                                                        monkeypatch):
    sandbox = make_servicenow_sandbox(size=300, latency_ms=60)
    sandbox_env(monkeypatch, sandbox)
    resource = ServiceNowResource(page_size=50)
    for setting, peak in (("2", lambda p: p == 2), ("6", lambda p: 4 < p <= 6)):
        monkeypatch.setenv(VAR, setting)
        sandbox.reset_concurrency_peak()
        duckdb_warehouse.pipeline(f"servicenow_{setting}").run(resource.source(run_id=f"run-{setting}"),
                                                                loader_file_format="parquet")
        assert peak(sandbox.concurrency_peak), (setting, sandbox.concurrency_peak)


def test_a_bad_setting_fails_before_any_vendor_call(make_servicenow_sandbox, monkeypatch):
    sandbox = make_servicenow_sandbox(size=5)
    sandbox_env(monkeypatch, sandbox)
    monkeypatch.setenv(VAR, "0")
    sandbox.clear_request_log()
    with pytest.raises(ValueError, match=VAR):
        ServiceNowResource().source(run_id="bad")
    assert sandbox.request_log == []


def test_jira_and_onetrust_read_their_own_variables():
    base = {"JIRA_BASE_URL": "https://acme.atlassian.net", "JIRA_AUTH_MODE": "pat", "JIRA_PAT": "-"}
    assert source_kwargs_from_env(base)["concurrency"] == 4
    assert source_kwargs_from_env({**base, "PROJECTX_JIRA_SYNC_CONCURRENCY": "12"})["concurrency"] == 12
    with pytest.raises(ValueError, match="PROJECTX_JIRA_SYNC_CONCURRENCY"):
        source_kwargs_from_env({**base, "PROJECTX_JIRA_SYNC_CONCURRENCY": "lots"})
    assert sync_concurrency("onetrust", 8, {"PROJECTX_ONETRUST_SYNC_CONCURRENCY": "3"}) == 3


@pytest.mark.parametrize("module, env", [
    ("pipelines.servicenow", {"SERVICENOW_BASE_URL": "http://127.0.0.1:9", "SERVICENOW_OAUTH_CLIENT_ID": "-",
                              "SERVICENOW_OAUTH_CLIENT_SECRET": "-", VAR: "0"}),
    ("pipelines.onetrust", {"ONETRUST_API_TOKEN": "-", "ONETRUST_BASE_URL": "http://127.0.0.1:9",
                            "PROJECTX_ONETRUST_SYNC_CONCURRENCY": "nine"}),
])
def test_the_command_line_says_what_to_fix_in_one_line(module, env, tmp_path):
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("SERVICENOW_", "ONETRUST_", "PROJECTX_"))}
    environ.update(env, PROJECTX_DATA_DIR=str(tmp_path))
    done = subprocess.run([sys.executable, "-m", module], cwd=ROOT, env=environ, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode != 0
    assert "SYNC_CONCURRENCY" in done.stderr and "Traceback" not in done.stderr, done.stderr[-2000:]
