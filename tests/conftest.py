"""Shared fixtures: the vendor sandbox (from sandbox.pytest_plugin) and an isolated warehouse."""

from __future__ import annotations

import pytest

from pipelines.common.warehouse import WarehouseSettings

pytest_plugins = [
    "sandbox.pytest_plugin",
    "sandbox.jira.fixtures",
    "sandbox.onetrust.fixtures",
    "sandbox.slack.fixtures",
    "sandbox.smtp.fixtures",
]


@pytest.fixture
def duckdb_warehouse(tmp_path, monkeypatch) -> WarehouseSettings:
    """A fresh DuckDB warehouse and dlt state folder, exported to env for dbt and Dagster."""
    monkeypatch.setenv("PROJECTX_WAREHOUSE", "duckdb")
    monkeypatch.setenv("PROJECTX_DUCKDB_PATH", str(tmp_path / "warehouse.duckdb"))
    monkeypatch.setenv("PROJECTX_DATA_DIR", str(tmp_path / "data"))
    return WarehouseSettings.from_env()


def sandbox_env(monkeypatch, sandbox) -> None:
    """Point the spec's ServiceNow variables at a sandbox instance."""
    creds = sandbox.credentials
    monkeypatch.setenv("SERVICENOW_BASE_URL", sandbox.url)
    monkeypatch.setenv("SERVICENOW_OAUTH_CLIENT_ID", creds["client_id"])
    monkeypatch.setenv("SERVICENOW_OAUTH_CLIENT_SECRET", creds["client_secret"])
    monkeypatch.setenv("SERVICENOW_USER", creds["username"])
    monkeypatch.setenv("SERVICENOW_PASSWORD", creds["password"])
    monkeypatch.delenv("VAULT_ADDR", raising=False)
    if sandbox.ca_bundle:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(sandbox.ca_bundle))
    else:
        monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
