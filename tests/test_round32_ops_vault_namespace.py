"""Round 32: VAULT_NAMESPACE, against a real OpenBao with a namespace (tests/test_round32_ops_vault_namespace.py).

hvac does not read the Vault CLI's VAULT_NAMESPACE: with the secrets and the AppRoles in a namespace, every
read looked in the root namespace and found nothing (local then used the environment; stg/prod blamed a
missing key), and the login was refused as if its secret id were wrong.
"""

from __future__ import annotations

import hvac
import pytest

from resources import secrets as secrets_mod
from resources import vault_auth
from resources.secrets import SecretStore
from tests.conftest import openbao_dev_server

PATH = "integrations/stg/onetrust"
VALUE = "r32-namespace-value-4f1a"


@pytest.fixture(scope="module")
def bao():
    with openbao_dev_server() as (addr, root, client, _):
        client.adapter.post("/v1/sys/namespaces/grc")
        ns = hvac.Client(url=addr, token=root, namespace="grc")
        ns.sys.enable_secrets_engine("kv", path="secret", options={"version": "2"})
        ns.secrets.kv.v2.create_or_update_secret(path=PATH, secret={"api_token": VALUE})
        ns.sys.enable_auth_method("approle")
        ns.sys.create_or_update_policy("r32", f'path "secret/data/{PATH}" {{ capabilities = ["read"] }}')
        ns.auth.approle.create_or_update_approle("r32", token_policies=["r32"], token_ttl="15m")
        yield addr, root, ns


@pytest.fixture(autouse=True)
def _clean(monkeypatch):
    for name in ("VAULT_TOKEN", "VAULT_ROLE_ID", "VAULT_SECRET_ID", "VAULT_K8S_ROLE", "VAULT_ONETRUST_ROLE_ID",
                 "VAULT_ONETRUST_SECRET_ID", "VAULT_ONETRUST_K8S_ROLE", "VAULT_NAMESPACE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(vault_auth, "_SESSIONS", {})
    monkeypatch.setattr(secrets_mod, "_LAST_GOOD", {})


@pytest.mark.parametrize("namespace", ["grc", "/grc/", " grc\n"])
def test_a_token_reads_in_vault_namespace(bao, monkeypatch, namespace):
    addr, root, _ = bao
    monkeypatch.setenv("VAULT_NAMESPACE", namespace)
    store = SecretStore("integrations/stg", vault_addr=addr, vault_token=root, strict=False)
    assert store.vendor("onetrust")["api_token"] == VALUE


def test_an_approle_of_the_namespace_logs_in_there(bao, monkeypatch):
    addr, _, ns = bao
    monkeypatch.setenv("VAULT_NAMESPACE", "grc")
    monkeypatch.setenv("VAULT_ONETRUST_ROLE_ID", ns.auth.approle.read_role_id("r32")["data"]["role_id"])
    monkeypatch.setenv("VAULT_ONETRUST_SECRET_ID", ns.auth.approle.generate_secret_id("r32")["data"]["secret_id"])
    assert SecretStore("integrations/stg", vault_addr=addr, strict=True).vendor("onetrust")["api_token"] == VALUE


def test_a_namespace_with_a_pasted_value_is_named_not_quoted(bao, monkeypatch):
    addr, root, _ = bao
    pasted = "grc hvs.r32-pasted-token-value"
    monkeypatch.setenv("VAULT_NAMESPACE", pasted)
    with pytest.raises(ValueError) as err:
        SecretStore("integrations/stg", vault_addr=addr, vault_token=root, strict=False).vendor("onetrust")
    assert "VAULT_NAMESPACE" in str(err.value) and "hvs." not in str(err.value)
