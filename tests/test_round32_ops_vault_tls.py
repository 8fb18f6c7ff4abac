"""Round 32: Vault over TLS with a private CA (VAULT_CACERT), against a real OpenBao in -dev-tls mode
(tests/test_round32_ops_vault_tls.py). The Vault clients now use a session of their own (no redirect off
VAULT_ADDR, a bounded answer): hvac prefers a given session's `verify=True` over VAULT_CACERT, which would have
refused every private-CA Vault. No test ran Vault over TLS before."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from resources import secrets as secrets_mod
from resources import vault_auth
from resources.secrets import SecretStore

PATH = "integrations/prod/onetrust"
VALUE = "r32-tls-value-83be"


@pytest.fixture(scope="module")
def tls_bao(tmp_path_factory):
    import hvac

    certs = tmp_path_factory.mktemp("bao-tls")
    bao = str(Path(sys.executable).parent / "bao")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    token = uuid.uuid4().hex
    proc = subprocess.Popen([bao, "server", "-dev", "-dev-tls", f"-dev-tls-cert-dir={certs}",
                             f"-dev-root-token-id={token}", f"-dev-listen-address=127.0.0.1:{port}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    addr, ca = f"https://127.0.0.1:{port}", certs / "vault-ca.pem"
    deadline = time.monotonic() + 60
    while True:
        try:
            client = hvac.Client(url=addr, token=token, verify=str(ca))
            if ca.exists() and client.sys.is_initialized():
                break
        except Exception:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            pytest.fail("OpenBao -dev-tls did not start")
        time.sleep(0.2)
    client.secrets.kv.v2.create_or_update_secret(path=PATH, secret={"api_token": VALUE})
    try:
        yield addr, token, ca
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(autouse=True)
def _clean(monkeypatch):
    for var in [v for v in os.environ if v.startswith("VAULT_") or v in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")]:
        monkeypatch.delenv(var)
    monkeypatch.setenv("PROJECTX_ENV", "prod")
    monkeypatch.setattr(vault_auth, "_SESSIONS", {})
    monkeypatch.setattr(secrets_mod, "_LAST_GOOD", {})


def test_vault_cacert_is_honoured(tls_bao, monkeypatch):
    addr, token, ca = tls_bao
    monkeypatch.setenv("VAULT_CACERT", str(ca))
    assert SecretStore("integrations/prod", vault_addr=addr, vault_token=token).vendor("onetrust")["api_token"] == VALUE


def test_without_the_ca_the_certificate_is_refused_without_address_or_token(tls_bao, caplog):
    addr, token, _ = tls_bao
    with pytest.raises(ConnectionError) as err:
        SecretStore("integrations/prod", vault_addr=addr, vault_token=token).vendor("onetrust")
    text = str(err.value) + caplog.text
    assert "VAULT_ADDR" in str(err.value) and token not in text and addr not in text


def test_a_vault_cacert_that_is_not_there_is_named(tls_bao, monkeypatch, tmp_path):
    addr, token, _ = tls_bao
    monkeypatch.setenv("VAULT_CACERT", str(tmp_path / "no-such-ca.pem"))
    with pytest.raises(ValueError) as err:
        SecretStore("integrations/prod", vault_addr=addr, vault_token=token).vendor("onetrust")
    assert "VAULT_CACERT" in str(err.value) and "no-such-ca.pem" in str(err.value) and token not in str(err.value)
