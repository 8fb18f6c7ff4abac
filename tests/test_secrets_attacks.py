"""Attacks on the secrets and feature-flag layer against a real OpenBao (loopback): wrong-shaped KV values,
a KV v1 mount, one denied path, a revoked token, a sealed or unreachable Vault, secrets in the
environment of stg/prod, values that would break headers, and flag values an operator may type. Every
error must name the fix, and no secret, token or AppRole id may appear in an error or a log line."""

from __future__ import annotations

import logging
import socket
import uuid

import hvac
import pytest

from resources import flags, secrets, vault_auth, vault_setup
from resources.secret_rotation import secret_dates
from resources.secrets import SecretStore
from tests.conftest import openbao_dev_server


def _path(client, env: str, vendor: str, secret: dict) -> None:
    client.secrets.kv.v2.create_or_update_secret(path=f"integrations/{env}/{vendor}", mount_point="secret",
                                                 secret=secret)


def _env() -> str:
    return f"a{uuid.uuid4().hex[:8]}"


@pytest.fixture
def clean_env(monkeypatch):
    for name in ("VAULT_ADDR", "VAULT_TOKEN", "VAULT_ROLE_ID", "VAULT_SECRET_ID", "VAULT_SERVICENOW_ROLE_ID",
                 "VAULT_SERVICENOW_SECRET_ID", "VAULT_JIRA_ROLE_ID", "VAULT_JIRA_SECRET_ID", "VAULT_FLAGS_ROLE_ID",
                 "VAULT_FLAGS_SECRET_ID", "VAULT_KV_MOUNT",
                 "SERVICENOW_BASE_URL", "SERVICENOW_OAUTH_CLIENT_ID", "SERVICENOW_OAUTH_CLIENT_SECRET",
                 "SERVICENOW_USER", "SERVICENOW_PASSWORD", "ONETRUST_API_TOKEN", "INTEGRATION_JIRA_ENABLED",
                 "INTEGRATION_SERVICENOW_ENABLED", "INTEGRATION_ONETRUST_ENABLED"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PROJECTX_ENV", "local")
    vault_auth._SESSIONS.clear()
    flags._VAULT_CACHE.clear()
    yield monkeypatch
    vault_auth._SESSIONS.clear()
    flags._VAULT_CACHE.clear()


@pytest.fixture
def own_vault():
    """A private OpenBao dev server this test may seal or stop: (address, root token, client, process)."""
    with openbao_dev_server(client_timeout=5) as server:
        yield server


# --- the shape of what Vault holds -------------------------------------------------------------------------

def test_null_number_empty_and_padded_values(vault, clean_env, caplog):
    """JSON null is no value (not the string "None"), a number is its text, an empty string is unset, and
    a secret pasted with a trailing newline or spaces is used without them (else it breaks headers)."""
    addr, root, client = vault
    env = _env()
    _path(client, env, "servicenow", {"base_url": "https://sn.example\n", "client_id": 12345,
                                      "client_secret": "  padded-secret-value\r\n", "username": None,
                                      "password": ""})
    clean_env.setenv("SERVICENOW_USER", "env-user")
    clean_env.setenv("SERVICENOW_PASSWORD", "env-password")
    caplog.set_level(logging.DEBUG)
    local = SecretStore(f"integrations/{env}", vault_addr=addr, vault_token=root, strict=False).vendor("servicenow")
    assert local["base_url"] == "https://sn.example"
    assert local["client_id"] == "12345"
    assert local["client_secret"] == "padded-secret-value"
    assert local["username"] == "env-user"  # null in Vault: missing, the local fallback applies
    assert local["password"] == "env-password"  # empty in Vault: missing too
    strict = SecretStore(f"integrations/{env}", vault_addr=addr, vault_token=root, strict=True).vendor("servicenow")
    assert strict["password"] is None and strict["username"] == "env-user"  # username is not a secret key
    assert "padded-secret-value" not in caplog.text


@pytest.mark.parametrize("value", [{"nested": "object-secret-value"}, ["list-secret-value"]])
def test_a_nested_value_is_an_error_naming_the_key_and_path_not_the_value(vault, clean_env, value):
    addr, root, client = vault
    env = _env()
    _path(client, env, "servicenow", {"base_url": "https://sn.example", "client_secret": value})
    with pytest.raises(ValueError) as info:
        SecretStore(f"integrations/{env}", vault_addr=addr, vault_token=root).vendor("servicenow")
    text = str(info.value)
    assert "client_secret" in text and f"integrations/{env}/servicenow" in text, text
    assert "secret-value" not in text


@pytest.mark.parametrize("bad", ["tok\r\nX-Injected: 1", "tok\nen", "to\x00ken", "tok\ten"])
def test_control_characters_inside_a_secret_are_refused_before_any_header_is_built(vault, clean_env, bad):
    """A CR/LF inside a bearer token would make requests raise InvalidHeader with the token in its text
    (or, with a laxer client, inject a header): the store refuses it, naming the key and path only."""
    from resources.onetrust import OneTrustResource

    addr, root, client = vault
    env = _env()
    _path(client, env, "onetrust", {"base_url": "https://ot.example", "api_token": f"SECRETVAL-{bad}"})
    clean_env.setenv("VAULT_ADDR", addr)
    clean_env.setenv("VAULT_TOKEN", root)
    with pytest.raises(ValueError) as info:
        OneTrustResource(vault_prefix=f"integrations/{env}").client()
    text = "".join(__import__("traceback").format_exception(info.value))
    assert "api_token" in str(info.value) and f"integrations/{env}/onetrust" in str(info.value)
    assert "SECRETVAL" not in text and "X-Injected" not in text


def test_urlish_and_non_ascii_characters_pass_through_unchanged(vault, clean_env):
    addr, root, client = vault
    env = _env()
    value = "p@ss:w/rd?#%&=+ é密 '\"`;"
    _path(client, env, "servicenow", {"password": value, "client_secret": value})
    got = SecretStore(f"integrations/{env}", vault_addr=addr, vault_token=root).vendor("servicenow")
    assert got["password"] == value and got["client_secret"] == value


def test_a_kv_version_1_mount_is_named_not_read_as_empty(vault, clean_env, caplog):
    """Reading KV v2 paths on a KV v1 mount finds nothing: in prod that looked like 'no secrets' and the
    vendor answered 401. The error names the mount and the fix."""
    addr, root, client = vault
    mount = f"kv1{uuid.uuid4().hex[:6]}"
    client.sys.enable_secrets_engine("kv", path=mount, options={"version": "1"})
    client.secrets.kv.v1.create_or_update_secret(path="integrations/prod/servicenow", mount_point=mount,
                                                 secret={"client_secret": "kv1-secret-value"})
    with pytest.raises(ValueError) as info:
        SecretStore("integrations/prod", vault_addr=addr, vault_token=root, kv_mount=mount,
                    strict=True).vendor("servicenow")
    text = str(info.value)
    assert mount in text and "version 1" in text and "VAULT_KV_MOUNT" in text, text
    assert "kv1-secret-value" not in text + caplog.text


# --- permissions and tokens ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def roles(vault):
    _, _, client = vault
    env = _env()
    for connector in ("servicenow", "jira"):
        _path(client, env, connector, {"base_url": "https://x.invalid",
                                       "client_secret": f"{connector}-SECRETVAL-{uuid.uuid4().hex}"})
    _path(client, env, "flags", {"integration.jira.enabled": "false"})
    return env, vault_setup.install(client, env)


def test_denied_on_one_path_names_the_path_and_policy_not_the_value(vault, roles, clean_env):
    addr, _, _ = vault
    env, creds = roles
    clean_env.setenv("VAULT_ADDR", addr)
    clean_env.setenv("VAULT_ROLE_ID", creds["servicenow"]["role_id"])  # the worker's role: servicenow only
    clean_env.setenv("VAULT_SECRET_ID", creds["servicenow"]["secret_id"])
    store = SecretStore(f"integrations/{env}", strict=True)
    assert store.vendor("servicenow")["client_secret"].startswith("servicenow-SECRETVAL")
    with pytest.raises(PermissionError) as info:
        store.vendor("jira")
    text = str(info.value)
    assert f"secret/integrations/{env}/jira" in text and "vault_policies/jira.hcl" in text, text
    assert "SECRETVAL" not in text and creds["servicenow"]["secret_id"] not in text
    assert creds["servicenow"]["role_id"] not in text


def test_a_token_revoked_mid_run_is_replaced_by_a_fresh_login(vault, roles, clean_env):
    """An operator revokes the worker's token (or Vault restarts and forgets it) long before half its TTL:
    the next read logs in again with the AppRole instead of failing until the renewal window."""
    addr, root, _ = vault
    env, creds = roles
    clean_env.setenv("VAULT_ADDR", addr)
    clean_env.setenv("VAULT_SERVICENOW_ROLE_ID", creds["servicenow"]["role_id"])
    clean_env.setenv("VAULT_SERVICENOW_SECRET_ID", creds["servicenow"]["secret_id"])
    store = SecretStore(f"integrations/{env}", strict=True)
    assert store.vendor("servicenow")["client_secret"]
    token = store.client("servicenow").token
    hvac.Client(url=addr, token=root).auth.token.revoke(token)
    assert store.vendor("servicenow")["client_secret"].startswith("servicenow-SECRETVAL")
    assert store.client("servicenow").token != token
    hvac.Client(url=addr, token=root).auth.token.revoke(store.client("servicenow").token)
    assert "client_secret" in secret_dates(store, "servicenow")  # the expiry check's read, too


def test_the_jira_refresh_token_store_logs_in_again_after_a_revocation(vault, roles, clean_env):
    """The rotating Jira refresh token is read and written with the jira AppRole: a revoked token is
    replaced by one new login for the read and for the check-and-set write alike, not a 403 forever."""
    from pipelines.jira.vault_tokens import vault_token_store

    addr, root, client = vault
    env, creds = roles
    clean_env.setenv("VAULT_ADDR", addr)
    clean_env.setenv("VAULT_JIRA_ROLE_ID", creds["jira"]["role_id"])
    clean_env.setenv("VAULT_JIRA_SECRET_ID", creds["jira"]["secret_id"])
    store = vault_token_store(environment=env)
    session = SecretStore(f"integrations/{env}")  # the same cached AppRole login the store uses

    def revoke() -> str:
        token = session.client("jira").token
        hvac.Client(url=addr, token=root).auth.token.revoke(token)
        return token

    assert store.get() is None  # the path holds the app's secrets, no refresh token yet
    revoked = revoke()
    store.put("rt-1-TOKENVALUE")  # a write after the revocation
    assert session.client("jira").token != revoked
    revoke()
    assert store.get() == "rt-1-TOKENVALUE"  # a read after the revocation
    revoke()
    store.put("rt-2-TOKENVALUE")
    stored = client.secrets.kv.v2.read_secret_version(path=f"integrations/{env}/jira", mount_point="secret",
                                                      raise_on_deleted_version=True)["data"]["data"]
    assert stored["refresh_token"] == "rt-2-TOKENVALUE" and stored["client_secret"].startswith("jira-SECRETVAL")
    assert store.conflicts == 0


def test_the_jira_refresh_token_store_names_the_policy_when_vault_still_refuses(vault, roles, clean_env):
    """A refusal that a new login does not cure is the policy's: the error names it, never the token."""
    from pipelines.jira.vault_tokens import VaultRefreshTokenStore

    addr, _, _ = vault
    env, creds = roles
    clean_env.setenv("VAULT_ADDR", addr)
    clean_env.setenv("VAULT_JIRA_ROLE_ID", creds["servicenow"]["role_id"])  # a role without the jira path
    clean_env.setenv("VAULT_JIRA_SECRET_ID", creds["servicenow"]["secret_id"])
    store = VaultRefreshTokenStore(addr, None, f"integrations/{env}/jira")
    for attempt in (store.get, lambda: store.put("rt-DENIED-TOKENVALUE")):
        with pytest.raises(PermissionError) as info:
            attempt()
        text = str(info.value)
        assert f"secret/integrations/{env}/jira" in text and "vault_policies/jira.hcl" in text, text
        assert "TOKENVALUE" not in text and creds["servicenow"]["secret_id"] not in text


def test_a_refused_approle_login_names_the_variables_without_their_values(vault, roles, clean_env):
    addr, _, _ = vault
    env, creds = roles
    clean_env.setenv("VAULT_ADDR", addr)
    clean_env.setenv("VAULT_SERVICENOW_ROLE_ID", creds["servicenow"]["role_id"])
    clean_env.setenv("VAULT_SERVICENOW_SECRET_ID", "wrong-secret-id-VALUE")
    with pytest.raises(PermissionError) as info:
        SecretStore(f"integrations/{env}", strict=True).vendor("servicenow")
    text = str(info.value)
    assert "VAULT_SERVICENOW_ROLE_ID" in text and "wrong-secret-id-VALUE" not in text
    assert creds["servicenow"]["role_id"] not in text


def test_unreachable_vault_during_login_is_a_clear_error_without_credentials(clean_env, caplog):
    """Vault down when the AppRole logs in: a ConnectionError naming VAULT_ADDR, not requests' raw error
    carrying the address (here with credentials in it); flags fall back to the file with a warning."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once the block ends: nothing listens
    clean_env.setenv("VAULT_ADDR", f"http://ops:ADDRPASSWORD@127.0.0.1:{port}")
    clean_env.setenv("VAULT_ROLE_ID", "ROLEIDVALUE")
    clean_env.setenv("VAULT_SECRET_ID", "SECRETIDVALUE")
    clean_env.setenv("VAULT_TIMEOUT_SECONDS", "2")
    caplog.set_level(logging.DEBUG)
    with pytest.raises(ConnectionError) as info:
        SecretStore("integrations/prod", strict=True).vendor("servicenow")
    text = "".join(__import__("traceback").format_exception(info.value))
    assert "VAULT_ADDR" in str(info.value)
    f = flags.flag("jira", "prod")
    assert f.enabled and f.source == "feature_flags.yml"
    assert "unreadable" in caplog.text
    for needle in ("ADDRPASSWORD", "ROLEIDVALUE", "SECRETIDVALUE"):
        assert needle not in text and needle not in caplog.text


def test_vault_sealed_mid_run_names_the_fix(own_vault, clean_env, caplog):
    addr, root, client, _ = own_vault
    _path(client, "prod", "servicenow", {"client_secret": "sealed-SECRETVAL"})
    store = SecretStore("integrations/prod", vault_addr=addr, vault_token=root, strict=True)
    assert store.vendor("servicenow")["client_secret"] == "sealed-SECRETVAL"
    client.sys.seal()
    secrets._LAST_GOOD.clear()  # no copy of it read within the token's TTL (test_round28_secrets: with one)
    with pytest.raises(ConnectionError) as info:
        store.vendor("servicenow")
    text = str(info.value)
    assert "sealed" in text and "unseal" in text, text
    assert root not in text and "SECRETVAL" not in text


def test_vault_stopped_mid_run_names_the_fix(own_vault, clean_env):
    addr, root, client, proc = own_vault
    _path(client, "prod", "servicenow", {"client_secret": "stopped-SECRETVAL"})
    store = SecretStore("integrations/prod", vault_addr=addr, vault_token=root, strict=True)
    assert store.vendor("servicenow")["client_secret"]
    proc.terminate()
    proc.wait(timeout=10)
    secrets._LAST_GOOD.clear()  # no copy of it read within the token's TTL (test_round28_secrets: with one)
    with pytest.raises(ConnectionError) as info:
        store.vendor("servicenow")
    assert "VAULT_ADDR" in str(info.value) and root not in str(info.value)


# --- the environment in stg/prod ----------------------------------------------------------------------------

def test_stg_ignores_a_secret_in_the_environment_and_says_so_without_the_value(vault, clean_env, caplog):
    addr, root, client = vault
    env = _env()
    _path(client, env, "servicenow", {"base_url": "https://sn.example", "client_secret": "from-vault"})
    clean_env.setenv("PROJECTX_ENV", "stg")
    clean_env.setenv("SERVICENOW_OAUTH_CLIENT_SECRET", "ENVSECRETVALUE")
    clean_env.setenv("SERVICENOW_PASSWORD", "ENVPASSWORDVALUE")
    caplog.set_level(logging.DEBUG)
    values = SecretStore(f"integrations/{env}", vault_addr=addr, vault_token=root).vendor("servicenow")
    assert values["client_secret"] == "from-vault" and values["password"] is None
    assert "SERVICENOW_PASSWORD" in caplog.text and "only from Vault" in caplog.text, caplog.text
    assert "ENVSECRETVALUE" not in caplog.text and "ENVPASSWORDVALUE" not in caplog.text


# --- feature flags ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "expected"), [("TRUE ", True), ("1", True), (" off\n", False), ("No", False),
                                                ("", True)])
def test_flag_values_from_the_environment(clean_env, raw, expected):
    clean_env.setenv("INTEGRATION_JIRA_ENABLED", raw)
    f = flags.flag("jira", "prod")
    assert f.enabled is expected
    assert f.source == ("feature_flags.yml" if raw == "" else "INTEGRATION_JIRA_ENABLED")


@pytest.mark.parametrize("raw", ["maybe", "2", "enabled", "ture"])
def test_an_unparseable_flag_names_the_variable(clean_env, raw):
    clean_env.setenv("INTEGRATION_JIRA_ENABLED", raw)
    with pytest.raises(ValueError, match=r"INTEGRATION_JIRA_ENABLED.*true or false"):
        flags.flag("jira", "prod")


def test_flags_from_vault_shapes_precedence_and_a_toggle_mid_run(vault, clean_env):
    addr, root, client = vault
    env = _env()
    clean_env.setenv("VAULT_ADDR", addr)
    clean_env.setenv("VAULT_TOKEN", root)
    clean_env.setattr(flags, "VAULT_CACHE_SECONDS", 0.0)
    _path(client, env, "flags", {"integration.jira.enabled": False, "integration.servicenow.enabled": None,
                                 "integration.onetrust.enabled": " TRUE\n"})
    assert flags.flag("jira", env).source == "Vault" and not flags.enabled("jira", env)  # JSON false
    assert flags.flag("servicenow", env).source == "feature_flags.yml"  # null: not set
    assert flags.enabled("onetrust", env)
    clean_env.setenv("INTEGRATION_JIRA_ENABLED", "true")  # the env var beats Vault
    assert flags.flag("jira", env).source == "INTEGRATION_JIRA_ENABLED" and flags.enabled("jira", env)
    clean_env.delenv("INTEGRATION_JIRA_ENABLED")
    _path(client, env, "flags", {"integration.jira.enabled": "true"})  # toggled by an operator mid-run
    assert flags.enabled("jira", env)
    _path(client, env, "flags", {"integration.jira.enabled": "maybe"})
    with pytest.raises(ValueError) as info:
        flags.flag("jira", env)
    assert "integration.jira.enabled" in str(info.value) and f"integrations/{env}/flags" in str(info.value)


def test_flag_cache_serves_a_toggle_only_after_it_expires(vault, clean_env):
    addr, root, client = vault
    env = _env()
    clean_env.setenv("VAULT_ADDR", addr)
    clean_env.setenv("VAULT_TOKEN", root)
    _path(client, env, "flags", {"integration.jira.enabled": "true"})
    assert flags.enabled("jira", env)
    _path(client, env, "flags", {"integration.jira.enabled": "false"})
    assert flags.enabled("jira", env)  # cached for VAULT_CACHE_SECONDS
    clean_env.setattr(flags, "VAULT_CACHE_SECONDS", 0.0)
    assert not flags.enabled("jira", env)


def test_a_misspelt_flag_in_vault_or_the_environment_is_warned_about(vault, clean_env, caplog):
    """integration.servicenw.enabled=false silences nothing: the operator believes ServiceNow is paused.
    The unknown name is logged as a warning naming the known integrations."""
    addr, root, client = vault
    env = _env()
    clean_env.setenv("VAULT_ADDR", addr)
    clean_env.setenv("VAULT_TOKEN", root)
    _path(client, env, "flags", {"integration.servicenw.enabled": "false"})
    clean_env.setenv("INTEGRATION_JIRRA_ENABLED", "false")
    caplog.set_level(logging.WARNING)
    assert flags.enabled("servicenow", env)
    assert "integration.servicenw.enabled" in caplog.text and "INTEGRATION_JIRRA_ENABLED" in caplog.text
    assert "servicenow" in caplog.text



def test_secrets_with_url_and_header_characters_authenticate_and_never_reach_a_log(
        vault, make_servicenow_sandbox, clean_env, caplog):
    """A client secret and password holding ``@ : / % & = + #`` and non-Latin-1 text, read in prod through
    the servicenow AppRole, reach the (real HTTP) ServiceNow sandbox intact through the OAuth form body,
    and no log line carries them, the root token or the AppRole ids."""
    from resources.servicenow import ServiceNowResource

    addr, root, client = vault
    env = _env()
    tag = uuid.uuid4().hex[:10]
    secret, password = f"cs@{tag}:/%2F&x=1+y#é", f"pw@{tag}:/?a=b&c%20d 密"
    sandbox = make_servicenow_sandbox(size=5, client_secret=secret, password=password)
    _path(client, env, "servicenow", {"base_url": sandbox.url, "client_id": sandbox.credentials.client_id,
                                      "client_secret": secret, "username": sandbox.credentials.username,
                                      "password": password})
    creds = vault_setup.install(client, env)["servicenow"]
    clean_env.setenv("PROJECTX_ENV", "prod")
    clean_env.setenv("VAULT_ADDR", addr)
    clean_env.setenv("VAULT_SERVICENOW_ROLE_ID", creds["role_id"])
    clean_env.setenv("VAULT_SERVICENOW_SECRET_ID", creds["secret_id"])
    if sandbox.ca_bundle:
        clean_env.setenv("REQUESTS_CA_BUNDLE", str(sandbox.ca_bundle))
    caplog.set_level(logging.DEBUG)
    sn = ServiceNowResource(vault_prefix=f"integrations/{env}", backoff_base_seconds=0.0).client()
    try:
        assert len(sn.find("incident", "", limit=2)) == 2  # authenticated with the exact values
    finally:
        sn.close()
    for needle in (secret, password, tag, root, creds["role_id"], creds["secret_id"]):
        assert needle not in caplog.text


def test_vault_setup_never_leaves_the_role_ids_in_a_readable_file(vault, clean_env, tmp_path, capsys):
    """--out pointing at an existing world-readable file (an old copy, a touch'ed placeholder): the ids
    are written with mode 0600 all the same, and nothing secret is printed."""
    import os
    import stat

    from cli.vault import setup

    addr, root, _ = vault
    out = tmp_path / "approles.env"
    out.write_text("old\n")
    out.chmod(0o644)
    clean_env.setenv("VAULT_ADDR", addr)
    clean_env.setenv("VAULT_TOKEN", root)
    assert setup(_env(), str(out)) == 0
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    ids = [line.split("=", 1)[1] for line in out.read_text().splitlines()]
    printed = capsys.readouterr()
    assert ids and not any(i in printed.out + printed.err for i in ids) and root not in printed.out + printed.err
