"""Round 32: AppRole secret ids as operators hand them over, against a real OpenBao
(tests/test_round32_ops_vault_approle.py).

A secret id delivered response-wrapped (``-wrap-ttl``, the usual hand-over by an orchestrator) was sent as the
secret id itself and refused as a wrong credential; a wrapping token already used (by someone else: the reason
wrapping exists) said nothing of it; an expired secret id was blamed on the role only.
"""

from __future__ import annotations

import time

import pytest

from resources import secrets as secrets_mod
from resources import vault_auth
from resources.secrets import SecretStore
from tests.conftest import openbao_dev_server

PATH = "integrations/local/onetrust"
VALUE = "r32-approle-kv-value-0c9d"


@pytest.fixture(scope="module")
def bao():
    with openbao_dev_server() as (addr, _root, client, _):
        client.sys.enable_auth_method("approle")
        client.sys.create_or_update_policy("r32", f'path "secret/data/{PATH}" {{ capabilities = ["read"] }}')
        client.auth.approle.create_or_update_approle("r32", token_policies=["r32"], token_ttl="15m")
        client.auth.approle.create_or_update_approle("r32short", token_policies=["r32"], token_ttl="15m",
                                                     secret_id_ttl="1s")
        client.secrets.kv.v2.create_or_update_secret(path=PATH, secret={"api_token": VALUE})
        yield addr, client


@pytest.fixture(autouse=True)
def _clean(monkeypatch):
    for name in ("VAULT_TOKEN", "VAULT_ROLE_ID", "VAULT_SECRET_ID", "VAULT_K8S_ROLE", "VAULT_ONETRUST_K8S_ROLE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(vault_auth, "_SESSIONS", {})
    monkeypatch.setattr(vault_auth, "_UNWRAPPED", {})
    monkeypatch.setattr(secrets_mod, "_LAST_GOOD", {})


def _wrapped_secret_id(client, role: str) -> str:
    answer = client.adapter.post(f"/v1/auth/approle/role/{role}/secret-id", wrap_ttl="120s")
    return answer["wrap_info"]["token"]


def _use(monkeypatch, client, role: str, secret_id: str) -> None:
    monkeypatch.setenv("VAULT_ONETRUST_ROLE_ID", client.auth.approle.read_role_id(role)["data"]["role_id"])
    monkeypatch.setenv("VAULT_ONETRUST_SECRET_ID", secret_id)


def test_a_response_wrapped_secret_id_is_unwrapped_once_and_logs_in_again(bao, monkeypatch):
    addr, client = bao
    wrapped = _wrapped_secret_id(client, "r32")
    _use(monkeypatch, client, "r32", wrapped)
    store = SecretStore("integrations/local", vault_addr=addr, strict=True)
    assert store.vendor("onetrust")["api_token"] == VALUE
    # the token Vault issued is revoked (an operator, a restarted Vault): the store logs in again, and the
    # single-use wrapping token is not unwrapped a second time for it
    assert vault_auth.forget_login(addr, "onetrust")
    assert store.vendor("onetrust")["api_token"] == VALUE
    assert len(vault_auth._UNWRAPPED) == 1


def test_a_wrapping_token_used_elsewhere_is_named_without_the_token(bao, monkeypatch, caplog):
    addr, client = bao
    wrapped = _wrapped_secret_id(client, "r32")
    client.adapter.post("/v1/sys/wrapping/unwrap", json={"token": wrapped})  # someone else unwrapped it
    _use(monkeypatch, client, "r32", wrapped)
    with pytest.raises(PermissionError) as err:
        SecretStore("integrations/local", vault_addr=addr, strict=True).vendor("onetrust")
    text = str(err.value)
    assert "VAULT_ONETRUST_SECRET_ID" in text and "wrapping" in text and "already unwrapped" in text, text
    assert wrapped not in text + caplog.text and addr not in text


def test_an_expired_secret_id_is_named_as_a_possible_cause(bao, monkeypatch, caplog):
    addr, client = bao
    secret_id = client.auth.approle.generate_secret_id("r32short")["data"]["secret_id"]
    _use(monkeypatch, client, "r32short", secret_id)
    time.sleep(1.5)  # the role's secret_id_ttl is 1 s
    with pytest.raises(PermissionError) as err:
        SecretStore("integrations/local", vault_addr=addr, strict=True).vendor("onetrust")
    text = str(err.value)
    assert "expired" in text and "secret_id_ttl" in text and "VAULT_ONETRUST_ROLE_ID" in text, text
    assert secret_id not in text + caplog.text
