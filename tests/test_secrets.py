"""Secrets: a real Vault-compatible server (OpenBao dev mode), with env vars as the fallback."""

from __future__ import annotations

import os
import socket

import pytest

from resources.secrets import SecretStore


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]



def test_reads_vendor_secrets_from_vault_kv2(vault, monkeypatch):
    addr, token, client = vault
    client.secrets.kv.v2.create_or_update_secret(
        path="integrations/dev/servicenow", mount_point="secret",
        secret={"base_url": "https://example.service-now.com", "client_id": "from-vault",
                "client_secret": "vault-secret"},
    )
    monkeypatch.setenv("SERVICENOW_OAUTH_CLIENT_ID", "from-env")
    monkeypatch.setenv("SERVICENOW_USER", "env-user")
    values = SecretStore("integrations/dev", vault_addr=addr, vault_token=token).vendor("servicenow")
    assert values["client_id"] == "from-vault"  # Vault wins
    assert values["client_secret"] == "vault-secret"
    assert values["username"] == "env-user"  # missing in Vault: env var fallback


def test_missing_path_falls_back_to_env(vault, monkeypatch):
    addr, token, _ = vault
    monkeypatch.setenv("SERVICENOW_BASE_URL", "https://env.example")
    values = SecretStore("integrations/prod", vault_addr=addr, vault_token=token).vendor("servicenow")
    assert values["base_url"] == "https://env.example"


def test_bad_token_names_the_fix_without_leaking_it(vault):
    addr, _, _ = vault
    with pytest.raises(PermissionError) as excinfo:
        SecretStore("integrations/dev", vault_addr=addr, vault_token="not-a-real-token").vendor("servicenow")
    assert "VAULT_TOKEN" in str(excinfo.value)
    assert "not-a-real-token" not in str(excinfo.value)


def test_without_vault_env_vars_are_used(monkeypatch):
    monkeypatch.delenv("VAULT_ADDR", raising=False)
    monkeypatch.setenv("SERVICENOW_OAUTH_CLIENT_SECRET", "s3")
    assert SecretStore("integrations/dev").vendor("servicenow")["client_secret"] == "s3"
    assert os.environ.get("VAULT_ADDR") is None
