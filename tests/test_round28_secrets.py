"""Round 28: secrets. A token endpoint that echoes our request in its error (the JSON of Jira's refresh
grant, the form of OneTrust's client-credentials grant) with credentials that came from Vault in prod,
so no environment variable names them: they must not reach the exception text, the Dagster event log
or a log line, raw, JSON-escaped or percent-encoded. A secret of 1-3 characters is masked where it is a
word of its own and does not blank every message it shares letters with."""

from __future__ import annotations

import json
import logging
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote, quote_plus

import pytest

from pipelines.common.entrypoint import failure_message, redact, secret_values
from resources import vault_auth, vault_setup


@pytest.fixture
def echo_server():
    """A token endpoint that answers every POST 404 with a JSON error quoting the request body and its
    Authorization header, as a misconfigured gateway or a chatty vendor does."""
    seen: list[str] = []

    class Echo(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode("utf-8", "replace")
            seen.append(body)
            out = json.dumps({"message": f"no route for {body} (Authorization: {self.headers.get('Authorization')})",
                              "errorCode": "not_found"}).encode()
            self.send_response(404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        do_GET = do_POST

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", seen
    server.shutdown()
    server.server_close()


@pytest.fixture
def prod(monkeypatch):
    for name in [n for n in __import__("os").environ if n.startswith(("VAULT_", "JIRA_", "ONETRUST_"))]:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PROJECTX_ENV", "prod")
    vault_auth._SESSIONS.clear()
    yield monkeypatch
    vault_auth._SESSIONS.clear()


def _hostile(tag: str) -> str:
    """A secret whose JSON and form encodings differ from its text (quote, backslash, slash, space, é)."""
    return f'{tag}-{uuid.uuid4().hex[:10]}/é"\\ +&='


def _leaks(needles: list[str], places: dict[str, str]) -> list[tuple[str, str]]:
    forms = {f for n in needles for f in (n, json.dumps(n)[1:-1], json.dumps(n, ensure_ascii=False)[1:-1],
                                          quote(n, safe=""), quote_plus(n, safe=""))}
    return [(where, f[:8]) for where, text in places.items() for f in forms if f in text]


def test_a_jira_token_endpoint_echoing_vault_credentials_leaks_none_into_the_run(
        vault, echo_server, prod, duckdb_warehouse, tmp_path, caplog):
    """Prod, Jira OAuth client secret and refresh token in Vault (jira AppRole): the token endpoint's 404
    quotes the JSON grant. The failed run's step error, its whole event log and the log lines hold
    neither value in any encoding."""
    from dagster import AssetKey, instance_for_test, materialize
    from dagster._serdes import serialize_value
    from dagster_dlt import DagsterDltResource

    from assets.ingestion import current_partition_key
    from assets.jira import build_jira_assets
    from resources.jira import JiraResource
    from resources.warehouse import WarehouseResource

    addr, _, client = vault
    url, seen = echo_server
    env = f"r{uuid.uuid4().hex[:8]}"
    secret, refresh = _hostile("cs"), _hostile("rt")
    client.secrets.kv.v2.create_or_update_secret(path=f"integrations/{env}/jira", mount_point="secret", secret={
        "base_url": url, "auth_mode": "oauth", "client_id": "cid-1", "client_secret": secret,
        "refresh_token": refresh})
    roles = vault_setup.install(client, env)
    prod.setenv("VAULT_ADDR", addr)
    prod.setenv("VAULT_JIRA_ROLE_ID", roles["jira"]["role_id"])
    prod.setenv("VAULT_JIRA_SECRET_ID", roles["jira"]["secret_id"])
    prod.setenv("JIRA_AUTH_URL", url)
    prod.setenv("RUNTIME__DLTHUB_TELEMETRY", "false")
    caplog.set_level(logging.DEBUG)
    resources = {"dlt": DagsterDltResource(), "warehouse": WarehouseResource.from_env(),
                 "jira": JiraResource(vault_prefix=f"integrations/{env}", backoff_base_seconds=0.0)}
    (tmp_path / "dagster").mkdir()
    with instance_for_test(temp_dir=str(tmp_path / "dagster")) as instance:
        result = materialize(build_jira_assets(), selection=[AssetKey(["jira", "issues"])], instance=instance,
                             resources=resources, partition_key=current_partition_key(), raise_on_error=False)
        assert not result.success
        failure = next(e for e in result.all_events if e.is_step_failure)
        error_text = failure.step_failure_data.error.to_string()
        records = [serialize_value(e) for run in instance.get_runs() for e in instance.all_logs(run.run_id)]
    assert seen and json.dumps(secret)[1:-1] in seen[0]  # the endpoint really got (and echoed) them
    assert "404" in error_text and "JIRA_AUTH_URL" in error_text, error_text  # still says what failed
    leaks = _leaks([secret, refresh], {"step error": error_text, "event log": "\n".join(records),
                                       "log lines": caplog.text})
    assert not leaks, leaks


def test_a_onetrust_token_endpoint_echoing_the_form_leaks_no_percent_encoded_secret(vault, echo_server, prod):
    """The client-credentials form goes percent-encoded; echoed back, the encoded secret is masked too."""
    from pipelines.common.http import VendorSession
    from pipelines.onetrust.auth import ClientCredentials
    from resources.secrets import SecretStore

    addr, _, client = vault
    url, _ = echo_server
    env = f"r{uuid.uuid4().hex[:8]}"
    secret = _hostile("ot")
    client.secrets.kv.v2.create_or_update_secret(path=f"integrations/{env}/onetrust", mount_point="secret", secret={
        "base_url": url, "client_id": "cid-2", "client_secret": secret})
    roles = vault_setup.install(client, env)
    prod.setenv("VAULT_ADDR", addr)
    prod.setenv("VAULT_ONETRUST_ROLE_ID", roles["onetrust"]["role_id"])
    prod.setenv("VAULT_ONETRUST_SECRET_ID", roles["onetrust"]["secret_id"])
    values = SecretStore(f"integrations/{env}").vendor("onetrust")
    assert values["client_secret"] == secret
    auth = ClientCredentials(VendorSession("OneTrust", url, None), values["client_id"], values["client_secret"])
    with pytest.raises(Exception) as caught:
        auth.auth_header()
    text = str(caught.value)
    assert "404" in text and "cid-2" in text, text  # the echo is kept, minus the secret
    assert quote_plus(secret, safe="") not in text and quote(secret, safe="") not in text, text
    assert not _leaks([secret], {"error": text}), text


def test_a_vault_secret_is_masked_in_a_cli_failure_sentence(vault, prod):
    """python -m <vendor>'s one sentence masks the secret variables' values: in prod the credentials come
    from Vault, and are masked all the same."""
    from resources.secrets import SecretStore

    addr, root, client = vault
    env = f"r{uuid.uuid4().hex[:8]}"
    secret = f"sn-{uuid.uuid4().hex}"
    client.secrets.kv.v2.create_or_update_secret(path=f"integrations/{env}/servicenow", mount_point="secret",
                                                 secret={"base_url": "https://sn.example", "client_secret": secret})
    prod.setenv("VAULT_ADDR", addr)
    prod.setenv("VAULT_TOKEN", root)
    assert SecretStore(f"integrations/{env}").vendor("servicenow")["client_secret"] == secret
    text = failure_message("servicenow", "https://sn.example", RuntimeError(f"proxy said: bad secret {secret}"),
                           secret_values())
    assert secret not in text and "proxy said: bad secret ***" in text, text


@pytest.mark.parametrize("short", ["x", "q7", "k9z"])
def test_a_very_short_secret_is_masked_as_a_word_and_leaves_the_rest_readable(short):
    message = f"refused: the token {short} is wrong; expected a hex value like 0xq7k9zz, got {short}."
    out = redact(message, [short])
    assert out == "refused: the token *** is wrong; expected a hex value like 0xq7k9zz, got ***.", out


# --- Vault itself: a deleted latest version, 429 and 503, plain http in prod --------------------------------

@pytest.mark.parametrize("how", ["deleted", "destroyed"])
def test_a_deleted_latest_version_is_named_not_read_as_no_secret(vault, prod, how):
    """Vault answers 404 for a deleted (or destroyed) latest version as for a missing path: prod blamed a
    missing base_url, local silently used the environment. The error names the path, the version and the
    fix, and no value of any version."""
    from resources.secrets import SecretStore

    addr, root, client = vault
    env = f"r{uuid.uuid4().hex[:8]}"
    path = f"integrations/{env}/servicenow"
    old, new = f"old-{uuid.uuid4().hex}", f"new-{uuid.uuid4().hex}"
    for value in (old, new):
        client.secrets.kv.v2.create_or_update_secret(path=path, mount_point="secret",
                                                     secret={"base_url": "https://sn.example", "client_secret": value})
    if how == "deleted":
        client.secrets.kv.v2.delete_latest_version_of_secret(path=path, mount_point="secret")
    else:
        client.secrets.kv.v2.destroy_secret_versions(path=path, versions=[2], mount_point="secret")
    prod.setenv("VAULT_ADDR", addr)
    prod.setenv("VAULT_TOKEN", root)
    prod.setenv("SERVICENOW_OAUTH_CLIENT_SECRET", "env-fallback-value")
    for env_name in ("prod", "local"):
        prod.setenv("PROJECTX_ENV", env_name)
        with pytest.raises(ValueError) as caught:
            SecretStore(f"integrations/{env}").vendor("servicenow")
        text = str(caught.value)
        assert f"secret/{path}" in text and "version 2" in text and how in text, text
        assert ("undelete" in text) == (how == "deleted"), text
        assert old not in text and new not in text and "env-fallback" not in text


def _rate_limited(client, path: str, rate: int, interval: str) -> None:
    client.adapter.post("/v1/sys/quotas/rate-limit/r28", json={"rate": rate, "interval": interval, "path": path})


def test_a_rate_limited_vault_is_asked_again_then_named(prod, caplog):
    """A rate-limit quota (429) on the KV mount: reads in a row succeed by waiting; a quota too strict to
    wait out is a ConnectionError naming the 429 and the quota, not "unreachable: start it"."""
    from resources import secrets
    from resources.secrets import SecretStore
    from tests.conftest import openbao_dev_server

    with openbao_dev_server() as (addr, root, client, _):
        client.secrets.kv.v2.create_or_update_secret(path="integrations/prod/onetrust", mount_point="secret",
                                                     secret={"api_token": "ot-token-RATEVAL"})
        prod.setenv("VAULT_ADDR", addr)
        prod.setenv("VAULT_TOKEN", root)
        store = SecretStore("integrations/prod")
        _rate_limited(client, "secret/", 1, "1s")
        caplog.set_level(logging.WARNING)
        assert [store.vendor("onetrust")["api_token"] for _ in range(3)] == ["ot-token-RATEVAL"] * 3
        assert "going on with" not in caplog.text  # read again from Vault, not the copy of the first read
        _rate_limited(client, "secret/", 1, "60s")
        client.secrets.kv.v2.read_secret_version(path="integrations/prod/onetrust", mount_point="secret",
                                                 raise_on_deleted_version=True)  # spends the one of the minute
        secrets._LAST_GOOD.clear()  # no copy read before to go on with (see the outage test below)
        with pytest.raises(ConnectionError) as caught:
            store.vendor("onetrust")
        text = str(caught.value)
        assert "429" in text and "rate-limit quota" in text and "secret/integrations/prod/onetrust" in text, text
        assert "start it" not in text and "RATEVAL" not in text and root not in text


def test_a_rate_limited_approle_login_is_not_called_refused_credentials(prod):
    from resources.secrets import SecretStore
    from tests.conftest import openbao_dev_server

    with openbao_dev_server() as (addr, _token, client, _):
        roles = vault_setup.install(client, "prod")
        prod.setenv("VAULT_ADDR", addr)
        prod.setenv("VAULT_SLACK_ROLE_ID", roles["slack"]["role_id"])
        prod.setenv("VAULT_SLACK_SECRET_ID", roles["slack"]["secret_id"])
        _rate_limited(client, "auth/approle/", 1, "60s")
        client.auth.approle.login(role_id=roles["slack"]["role_id"], secret_id=roles["slack"]["secret_id"])
        with pytest.raises(ConnectionError) as caught:
            SecretStore("integrations/prod").vendor("slack")
        text = str(caught.value)
        assert "429" in text and "not refused" in text, text
        assert roles["slack"]["secret_id"] not in text and roles["slack"]["role_id"] not in text


@pytest.mark.parametrize("addr", ["http://vault.r28.invalid:8200", "HTTP://10.1.2.3:8200", "vault.r28.invalid:8200"])
def test_prod_refuses_a_plain_http_vault_before_sending_the_token(prod, addr):
    """The token (and then every secret) would cross the network in clear: refused before any request;
    a loopback Vault Agent (the tests' own dev server) stays allowed, and local may use anything."""
    from resources.secrets import SecretStore

    prod.setenv("VAULT_ADDR", addr)
    prod.setenv("VAULT_TOKEN", "root-token-PLAINVAL")
    prod.setenv("VAULT_TIMEOUT_SECONDS", "1")
    with pytest.raises(PermissionError) as caught:
        SecretStore("integrations/prod").vendor("servicenow")
    text = str(caught.value)
    assert "https://" in text and "VAULT_ADDR" in text and "PLAINVAL" not in text, text
    prod.setenv("PROJECTX_ENV", "local")
    try:  # local: Vault is asked (whatever answers, or nothing), not refused
        SecretStore("integrations/prod").vendor("servicenow")
    except Exception as exc:
        assert not isinstance(exc, PermissionError), exc


def test_a_vault_outage_mid_run_goes_on_with_the_copy_read_within_the_token_ttl(prod, caplog):
    """Vault sealed after a run read its credentials: the next read (the run's next step) goes on with them,
    warning that Vault is sealed and naming the fix, never from the environment. Past the token's TTL, or
    with no copy, it is the named error."""
    from resources import secrets
    from resources.secrets import SecretStore
    from tests.conftest import openbao_dev_server

    with openbao_dev_server(client_timeout=5) as (addr, root, client, _):
        client.secrets.kv.v2.create_or_update_secret(path="integrations/prod/servicenow", mount_point="secret",
                                                     secret={"base_url": "https://sn.example",
                                                             "client_secret": "lease-SECRETVAL"})
        prod.setenv("VAULT_ADDR", addr)
        prod.setenv("VAULT_TOKEN", root)
        prod.setenv("SERVICENOW_OAUTH_CLIENT_SECRET", "env-SECRETVAL")
        store = SecretStore("integrations/prod")
        assert store.vendor("servicenow")["client_secret"] == "lease-SECRETVAL"
        client.sys.seal()
        caplog.set_level(logging.WARNING)
        assert store.vendor("servicenow")["client_secret"] == "lease-SECRETVAL"
        assert "sealed" in caplog.text and "unseal" in caplog.text and "SECRETVAL" not in caplog.text
        with pytest.raises(ConnectionError) as caught:  # another path: no copy to go on with
            store.vendor("onetrust")
        assert "sealed" in str(caught.value) and "no copy" in str(caught.value)
        key = (addr, "secret", "integrations/prod/servicenow")
        read_at, values = secrets._LAST_GOOD[key]
        secrets._LAST_GOOD[key] = (read_at - secrets.LAST_GOOD_SECONDS - 1, values)  # the TTL has passed
        with pytest.raises(ConnectionError) as caught:
            store.vendor("servicenow")
        assert "sealed" in str(caught.value) and "SECRETVAL" not in str(caught.value)
    secrets._LAST_GOOD.clear()
