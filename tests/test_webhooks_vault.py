"""The webhook receiver's secrets come only from Vault in stg/prod (real OpenBao): a delivery signed with
the Vault secret is accepted, one signed with the environment variable's value is refused; a key
missing from Vault stops the start-up naming the path and key; the receiver's AppRole reads its own
path (integrations/<env>/webhooks) and is denied every connector's."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import hvac
import hvac.exceptions
import pytest

from resources import vault_setup
from tests.webhook_helpers import GENERIC, JIRA, LiveReceiver, generic_body, jira_body
from webhooks.receiver.verify import jira_signature

ROOT = Path(__file__).resolve().parents[1]
VAULT_SECRETS = {"servicenow_webhook_secret": f"sn-vault-{uuid.uuid4().hex}",
                 "jira_webhook_secret": f"jira-vault-{uuid.uuid4().hex}",
                 "generic_webhook_secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                 "slack_signing_secret": f"slack-vault-{uuid.uuid4().hex}"}
ENV_SECRETS = {"SERVICENOW_WEBHOOK_SECRET": f"sn-env-{uuid.uuid4().hex}",
               "JIRA_WEBHOOK_SECRET": f"jira-env-{uuid.uuid4().hex}",
               "GENERIC_WEBHOOK_SECRET": "whsec_ZW52LXNlY3JldC12YWx1ZS1ub3QtdmF1bHQ=",
               "SLACK_SIGNING_SECRET": f"slack-env-{uuid.uuid4().hex}"}


@pytest.fixture(scope="module")
def stg_roles(vault):
    _, _, client = vault
    client.secrets.kv.v2.create_or_update_secret(path="integrations/stg/webhooks", mount_point="secret",
                                                 secret=VAULT_SECRETS)
    for connector in ("jira", "slack", "servicenow"):  # vendor credentials the receiver must never read
        client.secrets.kv.v2.create_or_update_secret(path=f"integrations/stg/{connector}", mount_point="secret",
                                                     secret={"client_secret": f"{connector}-vendor-credential"})
    return vault_setup.install(client, "stg")


@pytest.fixture
def stg_receiver_env(vault, stg_roles, monkeypatch, tmp_path):
    addr, _, _ = vault
    for name in ("VAULT_TOKEN", "VAULT_ROLE_ID", "VAULT_SECRET_ID", "EMAIL_BRIDGE_ADDRESSES"):
        monkeypatch.delenv(name, raising=False)
    env = {"PROJECTX_ENV": "stg", "VAULT_ADDR": addr, "PROJECTX_DATA_DIR": str(tmp_path),
           "PROJECTX_WEBHOOK_INBOX": str(tmp_path / "inbox.sqlite3"),
           "VAULT_WEBHOOKS_ROLE_ID": stg_roles["webhooks"]["role_id"],
           "VAULT_WEBHOOKS_SECRET_ID": stg_roles["webhooks"]["secret_id"], **ENV_SECRETS}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


def _jira(body: bytes, secret: str, ident: str) -> dict:
    return {"content": body, "headers": {"content-type": "application/json", "X-Atlassian-Webhook-Identifier": ident,
                                         "X-Hub-Signature": jira_signature(secret, body)}}


def test_stg_receiver_verifies_with_the_vault_secret_not_the_env_var(stg_receiver_env):
    from sandbox.partner import standard_headers
    from webhooks.app import create_app

    with LiveReceiver(create_app()) as served, httpx.Client(base_url=served.url, timeout=10) as http:
        body = jira_body(20001)
        assert http.post(JIRA, **_jira(body, VAULT_SECRETS["jira_webhook_secret"], "vault-1")).text == "accepted"
        refused = http.post(JIRA, **_jira(body, ENV_SECRETS["JIRA_WEBHOOK_SECRET"], "env-1"))
        assert refused.status_code == 401 and refused.json() == {"error": "unauthorized"}
        generic = generic_body(id="g-1")
        for secret, status in ((VAULT_SECRETS["generic_webhook_secret"], 200),
                               (ENV_SECRETS["GENERIC_WEBHOOK_SECRET"], 401)):
            answer = http.post(GENERIC, content=generic, headers={
                "content-type": "application/json", **standard_headers(secret, f"msg-{status}", generic)})
            assert answer.status_code == status


def test_a_secret_missing_from_vault_stops_the_start_up_naming_path_and_key(vault, stg_receiver_env):
    _, _, client = vault
    client.secrets.kv.v2.create_or_update_secret(path="integrations/stg/webhooks", mount_point="secret", secret={
        k: v for k, v in VAULT_SECRETS.items() if k != "slack_signing_secret"})
    try:
        started = subprocess.run([sys.executable, "-m", "webhooks", "--port", "0"], cwd=ROOT, capture_output=True,
                                 text=True, timeout=60, env={**os.environ, **stg_receiver_env})
    finally:
        client.secrets.kv.v2.create_or_update_secret(path="integrations/stg/webhooks", mount_point="secret",
                                                     secret=VAULT_SECRETS)
    assert started.returncode == 2, started.stderr[-2000:]
    assert "secret/integrations/stg/webhooks" in started.stderr and "slack_signing_secret" in started.stderr
    output = started.stdout + started.stderr
    assert not any(v in output for v in [*VAULT_SECRETS.values(), *ENV_SECRETS.values()])


def test_without_vault_stg_refuses_and_local_falls_back_to_env_vars(monkeypatch):
    from webhooks.settings import load_secrets

    monkeypatch.delenv("VAULT_ADDR", raising=False)
    for name, value in ENV_SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("PROJECTX_ENV", "stg")
    with pytest.raises(PermissionError) as info:
        load_secrets()
    assert "VAULT_ADDR" in str(info.value) and ENV_SECRETS["JIRA_WEBHOOK_SECRET"] not in str(info.value)
    monkeypatch.setenv("PROJECTX_ENV", "local")
    assert load_secrets()["jira"] == ENV_SECRETS["JIRA_WEBHOOK_SECRET"]


def test_the_receivers_token_reads_only_its_own_path(vault, stg_roles):
    addr, _, _ = vault
    c = hvac.Client(url=addr)
    c.auth.approle.login(role_id=stg_roles["webhooks"]["role_id"], secret_id=stg_roles["webhooks"]["secret_id"])
    own = c.secrets.kv.v2.read_secret_version(path="integrations/stg/webhooks", mount_point="secret",
                                              raise_on_deleted_version=True)["data"]["data"]
    assert set(own) == set(VAULT_SECRETS)
    for other in [n for n in vault_setup.connectors() if n != "webhooks"]:
        with pytest.raises(hvac.exceptions.Forbidden):
            c.secrets.kv.v2.read_secret_version(path=f"integrations/stg/{other}", mount_point="secret",
                                                raise_on_deleted_version=True)
    with pytest.raises(hvac.exceptions.Forbidden):  # read-only, even on its own path
        c.secrets.kv.v2.create_or_update_secret(path="integrations/stg/webhooks", mount_point="secret",
                                                secret={"jira_webhook_secret": "x"})


def test_a_secret_rotated_in_vault_is_taken_by_the_running_receiver(stg_receiver_env, vault, monkeypatch):
    """An operator rotates jira_webhook_secret in Vault; the running stg receiver verifies with the new one
    within its refresh interval, and with the old one during the grace period only."""
    from resources.secret_rotation import rotate
    from resources.secrets import SecretStore
    from webhooks.app import create_app

    addr, root, _ = vault
    monkeypatch.setenv("WEBHOOK_SECRET_REFRESH_SECONDS", "0.2")
    monkeypatch.setenv("WEBHOOK_SECRET_GRACE_SECONDS", "3600")
    old, new = VAULT_SECRETS["jira_webhook_secret"], f"jira-rotated-{uuid.uuid4().hex}"
    operator = SecretStore("integrations/stg", vault_addr=addr, vault_token=root)
    try:
        with LiveReceiver(create_app()) as served, httpx.Client(base_url=served.url, timeout=10) as http:
            assert http.post(JIRA, **_jira(jira_body(20101), new, "rot-0")).status_code == 401
            rotate(operator, "webhooks", "jira_webhook_secret", new, correlation_id="rotation-test")
            deadline, status = time.monotonic() + 15, None
            while status != 200 and time.monotonic() < deadline:
                time.sleep(0.1)
                status = http.post(JIRA, **_jira(jira_body(20102), new, "rot-1")).status_code
            assert status == 200
            assert http.post(JIRA, **_jira(jira_body(20103), old, "rot-2")).status_code == 200  # grace period
    finally:
        rotate(operator, "webhooks", "jira_webhook_secret", old, correlation_id="rotation-test-undo")
