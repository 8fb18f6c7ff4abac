"""Round 22: where the inbound e-mail bridge listens is configuration: ``EMAIL_BRIDGE_HOST`` (default
127.0.0.1) and ``EMAIL_BRIDGE_PORT`` (default 2525; a value that is not a port is refused naming it)."""

from __future__ import annotations

import socket

import pytest

from webhooks.email_bridge import start_email_bridge, stop_email_bridge

INGEST = "servicenow-ingest@projectx.io"


@pytest.fixture
def bridge_env(tmp_path, monkeypatch):
    monkeypatch.setenv("PROJECTX_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("PROJECTX_ENV", "local")
    monkeypatch.delenv("PROJECTX_CLAMD_ADDRESS", raising=False)
    monkeypatch.setenv("EMAIL_BRIDGE_ADDRESSES", f"{INGEST}=servicenow")
    monkeypatch.setenv("PROJECTX_EMAIL_BRIDGE_DB", str(tmp_path / "spool.sqlite"))
    monkeypatch.setenv("PROJECTX_EVIDENCE_DIR", str(tmp_path / "ev"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        monkeypatch.setenv("EMAIL_BRIDGE_PORT", str(s.getsockname()[1]))
    return monkeypatch


def _listening() -> tuple[str, int]:
    bridge = start_email_bridge()
    try:
        assert bridge is not None
        return bridge.host, bridge.port
    finally:
        stop_email_bridge(bridge)


def test_the_bridge_listens_on_loopback_by_default(bridge_env):
    bridge_env.delenv("EMAIL_BRIDGE_HOST", raising=False)
    assert _listening()[0] == "127.0.0.1"


def test_email_bridge_host_moves_it(bridge_env):
    bridge_env.setenv("EMAIL_BRIDGE_HOST", "127.0.0.2")  # another loopback address: still this machine only
    bridge = start_email_bridge()
    try:
        with socket.create_connection(("127.0.0.2", bridge.port), timeout=5) as conn:
            assert conn.recv(64).startswith(b"220")
    finally:
        stop_email_bridge(bridge)


@pytest.mark.parametrize("raw", ["smtp", "0", "70000", "-1"])
def test_a_port_that_is_not_one_is_refused_naming_the_variable(bridge_env, raw):
    bridge_env.setenv("EMAIL_BRIDGE_PORT", raw)
    with pytest.raises(ValueError, match=rf"EMAIL_BRIDGE_PORT='{raw}' is not a port: set a number from 1 to 65535"):
        start_email_bridge()
