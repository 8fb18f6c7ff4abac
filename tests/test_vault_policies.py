"""Secrets only from Vault, least privilege: each connector's AppRole token reads its own path and is
denied every other (real OpenBao), tokens renew, rotation is dated and audited, stg/prod refuse env vars."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime, timedelta

import hvac
import hvac.exceptions
import pytest

from resources import vault_setup
from resources.secret_rotation import rotate, secret_dates
from resources.secrets import SecretStore
from resources.vault_auth import VaultLogin

GENERIC_0 = "whsec_" + base64.b64encode(bytes(range(32))).decode()  # a Standard Webhooks key


@pytest.fixture(scope="module")
def roles(vault):
    _, _, client = vault
    env = f"t{uuid.uuid4().hex[:6]}"
    for connector in vault_setup.connectors():
        client.secrets.kv.v2.create_or_update_secret(
            path=f"integrations/{env}/{connector}", mount_point="secret",
            secret={"client_secret": f"{connector}-secret-{uuid.uuid4().hex}", "base_url": "https://x.invalid"})
    client.secrets.kv.v2.create_or_update_secret(path=f"integrations/{env}/flags", mount_point="secret",
                                                 secret={"integration.jira.enabled": "true"})
    return env, vault_setup.install(client, env)


def _login(addr, creds) -> hvac.Client:
    c = hvac.Client(url=addr)
    c.auth.approle.login(role_id=creds["role_id"], secret_id=creds["secret_id"])
    return c


def test_every_connector_has_a_policy_file():
    assert {"servicenow", "jira", "onetrust", "slack", "smtp", "evidence", "webhooks"} <= set(vault_setup.connectors())
    text = vault_setup.render_policy("servicenow", "prod")
    assert 'path "secret/data/integrations/prod/servicenow"' in text and "${" not in text


def test_each_connector_reads_its_own_path_and_is_denied_every_other(vault, roles):
    addr, _, _ = vault
    env, creds = roles
    names = vault_setup.connectors()
    for connector in names:
        c = _login(addr, creds[connector])
        own = c.secrets.kv.v2.read_secret_version(path=f"integrations/{env}/{connector}", mount_point="secret",
                                                  raise_on_deleted_version=True)
        assert own["data"]["data"]["client_secret"].startswith(f"{connector}-secret-")
        c.secrets.kv.v2.read_secret_metadata(path=f"integrations/{env}/{connector}", mount_point="secret")
        c.secrets.kv.v2.read_secret_version(path=f"integrations/{env}/flags", mount_point="secret",
                                            raise_on_deleted_version=True)
        for other in [n for n in names if n != connector]:
            with pytest.raises(hvac.exceptions.Forbidden):
                c.secrets.kv.v2.read_secret_version(path=f"integrations/{env}/{other}", mount_point="secret",
                                                    raise_on_deleted_version=True)
            with pytest.raises(hvac.exceptions.Forbidden):
                c.secrets.kv.v2.read_secret_metadata(path=f"integrations/{env}/{other}", mount_point="secret")
        with pytest.raises(hvac.exceptions.Forbidden):  # another environment's copy of its own path
            c.secrets.kv.v2.read_secret_version(path=f"integrations/other/{connector}", mount_point="secret",
                                                raise_on_deleted_version=True)
        with pytest.raises(hvac.exceptions.Forbidden):  # flags are read-only for workers
            c.secrets.kv.v2.create_or_update_secret(path=f"integrations/{env}/flags", mount_point="secret",
                                                    secret={"integration.jira.enabled": "false"})


def test_secret_store_logs_in_by_approle_per_connector(vault, roles, monkeypatch):
    addr, _, _ = vault
    env, creds = roles
    monkeypatch.setenv("VAULT_ADDR", addr)
    monkeypatch.delenv("VAULT_TOKEN", raising=False)
    monkeypatch.setenv("PROJECTX_ENV", "prod")
    for connector in ("servicenow", "onetrust"):
        monkeypatch.setenv(f"VAULT_{connector.upper()}_ROLE_ID", creds[connector]["role_id"])
        monkeypatch.setenv(f"VAULT_{connector.upper()}_SECRET_ID", creds[connector]["secret_id"])
    monkeypatch.setenv("SERVICENOW_OAUTH_CLIENT_SECRET", "from-the-environment")
    values = SecretStore(f"integrations/{env}").vendor("servicenow")
    assert values["client_secret"].startswith("servicenow-secret-")  # Vault, never the env var in prod
    assert values["password"] is None


def test_stg_and_prod_refuse_to_run_without_vault(monkeypatch):
    monkeypatch.delenv("VAULT_ADDR", raising=False)
    monkeypatch.setenv("PROJECTX_ENV", "stg")
    monkeypatch.setenv("SERVICENOW_OAUTH_CLIENT_SECRET", "env-secret-value")
    with pytest.raises(PermissionError) as info:
        SecretStore("integrations/stg").vendor("servicenow")
    assert "VAULT_ADDR" in str(info.value) and "env-secret-value" not in str(info.value)


def test_token_is_renewed_past_half_its_ttl_and_replaced_at_max(vault, roles):
    addr, _, _ = vault
    _, creds = roles
    now = [0.0]
    login = VaultLogin(addr, creds["jira"]["role_id"], creds["jira"]["secret_id"], role="jira", clock=lambda: now[0])
    first = login.client()
    token = first.token
    assert login.logins == 1 and first.lookup_token()["data"]["ttl"] <= 15 * 60
    now[0] += 8 * 60  # past half of the 15-minute TTL
    assert login.client().token == token and login.renewals == 1
    first.auth.token.revoke_self()  # a token that can no longer be renewed: a fresh login replaces it
    now[0] += 8 * 60
    assert login.client().token != token and login.logins == 2


def test_rotation_dates_the_key_and_writes_the_audit_log_without_the_value(vault, roles):
    addr, root, _ = vault
    env, _ = roles
    store = SecretStore(f"integrations/{env}", vault_addr=addr, vault_token=root, strict=False)
    events = []
    set_at = datetime.now(UTC) - timedelta(days=20)
    new_value = f"rotated-{uuid.uuid4().hex}"
    rotate(store, "servicenow", "client_secret", new_value, correlation_id="c-1",
           record=lambda **kw: events.append(kw), now=set_at)
    dates = secret_dates(store, "servicenow")
    assert abs((dates["client_secret"][0] - set_at).total_seconds()) < 1 and dates["client_secret"][1] == 30
    assert store.vendor("servicenow")["client_secret"] == new_value
    assert events and events[0]["action"] == "secret" and events[0]["operation"] == "rotate"
    assert new_value not in repr(events)


def test_a_rotation_whose_date_stamp_is_refused_writes_once_and_says_the_value_is_live(vault, roles):
    """The jira AppRole may patch its secret but only read its metadata: the value is written once (one
    new version, not one more per re-login), the audit row says the date was not recorded, and the
    error says the new value is live and what the policy lacks."""
    addr, _, client = vault
    env, creds = roles
    jira = _login(addr, creds["jira"])
    store = SecretStore(f"integrations/{env}", vault_addr=addr, vault_token=jira.token, strict=False)
    path = f"integrations/{env}/jira"
    before = client.secrets.kv.v2.read_secret_metadata(path=path, mount_point="secret")["data"]["current_version"]
    new_value, events = f"rotated-{uuid.uuid4().hex}", []
    with pytest.raises(PermissionError, match="the new value is live") as info:
        rotate(store, "jira", "client_secret", new_value, correlation_id="c-stamp",
               record=lambda **kw: events.append(kw))
    after = client.secrets.kv.v2.read_secret_metadata(path=path, mount_point="secret")["data"]["current_version"]
    assert after == before + 1
    assert client.secrets.kv.v2.read_secret_version(path=path, mount_point="secret")["data"]["data"][
        "client_secret"] == new_value
    assert [e["status"] for e in events] == ["rotated_date_not_recorded"]
    assert new_value not in str(info.value) + repr(events) and "jira.hcl" in str(info.value)


@pytest.mark.parametrize("how", ["never written", "latest version deleted", "no such mount"])
def test_rotating_a_missing_secret_names_the_path_and_the_command_that_creates_it(vault, how):
    """hvac's own InvalidPath ("patch only works on existing data") names no fix: the error says which path
    is missing and how to create it, and holds neither the new value nor an older one."""
    import traceback

    addr, root, client = vault
    env, mount = f"m{uuid.uuid4().hex[:6]}", "secret"
    path = f"integrations/{env}/servicenow"
    if how == "latest version deleted":
        client.secrets.kv.v2.create_or_update_secret(path=path, mount_point=mount, secret={"client_secret": "OLDVALUE"})
        client.secrets.kv.v2.delete_latest_version_of_secret(path=path, mount_point=mount)
    if how == "no such mount":
        mount = f"nomount{uuid.uuid4().hex[:6]}"
    store = SecretStore(f"integrations/{env}", vault_addr=addr, vault_token=root, kv_mount=mount, strict=False)
    new_value = f"NEWVALUE-{uuid.uuid4().hex}"
    events = []
    with pytest.raises(LookupError) as info:
        rotate(store, "servicenow", "client_secret", new_value, correlation_id="c-missing",
               record=lambda **kw: events.append(kw))
    text = str(info.value)
    assert f"{mount}/{path}" in text and f"vault kv put -mount={mount} {path} client_secret=-" in text, text
    assert f"python -m cli vault setup --env {env}" in text and "VAULT_KV_MOUNT" in text
    everything = "".join(traceback.format_exception(info.value))
    assert new_value not in everything and "OLDVALUE" not in everything and root not in everything
    assert events == []  # nothing rotated, nothing audited as rotated


def test_a_vendor_expiry_check_counts_its_webhook_signing_secret(vault, roles, monkeypatch):
    """The jira connector's dates include jira_webhook_secret from the receiver's path (read with the
    webhooks AppRole), not the other endpoints' secrets; without that role only its own secrets count."""
    from resources.secret_rotation import connector_secret_dates

    addr, root, client = vault
    env, creds = roles
    operator = SecretStore(f"integrations/{env}", vault_addr=addr, vault_token=root, strict=False)
    client.secrets.kv.v2.create_or_update_secret(
        path=f"integrations/{env}/webhooks", mount_point="secret",
        secret={"jira_webhook_secret": "j-1", "servicenow_webhook_secret": "s-1", "slack_signing_secret": "x"})
    old = datetime.now(UTC) - timedelta(days=85)
    rotate(operator, "webhooks", "jira_webhook_secret", f"j-{uuid.uuid4().hex}", correlation_id="c-2", now=old)
    for name in ("VAULT_TOKEN", "VAULT_ROLE_ID", "VAULT_SECRET_ID"):
        monkeypatch.delenv(name, raising=False)
    for connector in ("jira", "webhooks"):
        monkeypatch.setenv(f"VAULT_{connector.upper()}_ROLE_ID", creds[connector]["role_id"])
        monkeypatch.setenv(f"VAULT_{connector.upper()}_SECRET_ID", creds[connector]["secret_id"])
    store = SecretStore(f"integrations/{env}", vault_addr=addr, strict=False)
    dates = connector_secret_dates(store, "jira")
    assert set(dates) == {"client_secret", "jira_webhook_secret"}
    assert abs((dates["jira_webhook_secret"][0] - old).total_seconds()) < 1 and dates["jira_webhook_secret"][1] == 90
    from assets.health import measure

    assert measure.secret_expiry("jira", dates, datetime.now(UTC)).light == measure.RED  # 5 days left of 90
    monkeypatch.delenv("VAULT_WEBHOOKS_ROLE_ID")
    monkeypatch.delenv("VAULT_WEBHOOKS_SECRET_ID")
    monkeypatch.setenv("VAULT_TOKEN", "not-a-token")  # the fallback login Vault refuses (not ~/.vault-token)
    assert set(connector_secret_dates(store, "jira")) == {"client_secret"}


def test_the_receivers_own_signing_secrets_are_graded_alerted_shown_and_exported(vault, duckdb_warehouse,
                                                                                    monkeypatch):
    """Slack's signing secret and the partners' generic webhook secret belong to no vendor connector; the
    health run still grades them (their own checks, rows, alerts), and the page and /metrics show them."""
    from dagster import instance_for_test, materialize
    from starlette.testclient import TestClient

    from assets.health.checks import integration_health
    from resources.environment import ENVIRONMENTS
    from resources.warehouse import WarehouseResource
    from webhooks.app import create_app
    from webhooks.operations.state import HealthReader

    addr, root, client = vault
    creds = vault_setup.install(client, "dev")
    operator = SecretStore("integrations/dev", vault_addr=addr, vault_token=root, strict=False)
    client.secrets.kv.v2.create_or_update_secret(path="integrations/dev/webhooks", mount_point="secret", secret={
        "generic_webhook_secret": GENERIC_0, "slack_signing_secret": "s-0", "jira_webhook_secret": "j-0"})
    rotated = "whsec_" + base64.b64encode(uuid.uuid4().bytes * 2).decode()  # the form the receiver starts with
    rotate(operator, "webhooks", "generic_webhook_secret", rotated, correlation_id="c-3",
           now=datetime.now(UTC) - timedelta(days=86))  # 4 days left of 90: red
    for name in ("VAULT_TOKEN", "VAULT_ROLE_ID", "VAULT_SECRET_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PROJECTX_ENV", "local")  # Vault path integrations/dev
    monkeypatch.setenv("VAULT_ADDR", addr)
    monkeypatch.setenv("VAULT_WEBHOOKS_ROLE_ID", creds["webhooks"]["role_id"])
    monkeypatch.setenv("VAULT_WEBHOOKS_SECRET_ID", creds["webhooks"]["secret_id"])
    with instance_for_test() as instance:
        result = materialize([integration_health], instance=instance,
                             resources={"warehouse": WarehouseResource.from_env()})
        assert result.success
        checks = {e.event_specific_data.asset_check_key.name: e.event_specific_data for e in result.all_events
                  if e.event_type_value == "ASSET_CHECK_EVALUATION"}
        assert not checks["partners_secret_expiry"].passed
        assert checks["partners_secret_expiry"].metadata["light"].value == "red"
        assert checks["slack_secret_expiry"].passed  # set just now: 90 days left
        page = TestClient(create_app(operations=HealthReader(instance=instance, warehouse_settings=duckdb_warehouse,
                                                             env=ENVIRONMENTS["local"])))
        html, metrics = page.get("/integration-health").text, page.get("/metrics").text
    from assets.notifications.alerts import queue_alerts

    with WarehouseResource.from_env().connect() as conn:  # the ops outbox routes it (dbt seed notification_routing)
        queued = [r for r in queue_alerts(conn, "local") if r["event_type"] == "partners_sync_anomaly"]
    assert len(queued) == 1 and queued[0]["target"] == "developer" and queued[0]["channel_type"] == "slack_dm"
    import duckdb

    with duckdb.connect(duckdb_warehouse.duckdb_path, read_only=True) as con:
        rows = dict(con.execute("select connector, light from ops.health_checks where check_name = 'secret_expiry' "
                                "and connector in ('slack', 'partners')").fetchall())
        alerts = con.execute("select connector, check_name, message, status from ops.health_alerts "
                             "where check_name = 'secret_expiry'").fetchall()  # (never-synced vendors: sync_lag)
    assert rows == {"slack": "green", "partners": "red"}
    assert [(c, n, status) for c, n, _, status in alerts] == [("partners", "secret_expiry", "queued")]
    assert "generic_webhook_secret" in alerts[0][2] and "Runbook None" not in alerts[0][2]
    assert 'data-owner="partners" data-light="red"' in html and 'data-owner="slack" data-light="green"' in html
    expiry = {line.split('"')[1]: float(line.rsplit(" ", 1)[1]) / 86400 for line in metrics.splitlines()
              if line.startswith("secret_expiry_seconds{")}
    assert 3 < expiry["partners"] < 5 and 89 < expiry["slack"] <= 90
    assert GENERIC_0 not in html + metrics and rotated not in html + metrics and "s-0" not in html + metrics
