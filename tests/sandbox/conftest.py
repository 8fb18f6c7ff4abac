"""Fixtures for the sandbox tests.

pytest refuses `pytest_plugins` in a non-root conftest, so the plugin's fixtures are imported here
(the root conftest also registers the plugin; these definitions simply take precedence here).
"""

from __future__ import annotations

import pytest
import requests

from sandbox.pytest_plugin import make_servicenow_sandbox, servicenow_sandbox

__all__ = ["make_servicenow_sandbox", "servicenow_sandbox"]

AUTH = ("integration.user", "sandbox-password")


@pytest.fixture
def sn_session() -> requests.Session:
    """A keep-alive requests session with the sandbox's Basic credentials."""
    with requests.Session() as s:
        s.auth = AUTH
        s.headers["Accept"] = "application/json"
        yield s


@pytest.fixture
def pysnc_client(make_servicenow_sandbox, monkeypatch):
    """``make(size)`` -> (a TLS ServiceNow sandbox of that size, pysnc's client on it). requests prefers
    REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE over session.verify (pysnc merges the environment's settings),
    so they point at the sandbox's CA, as a user of the sandbox would set them."""
    import pysnc

    def make(size: int):
        sb = make_servicenow_sandbox(size=size, tls=True)
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", sb.ca_bundle)
        monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
        return sb, pysnc.ServiceNowClient(sb.url, AUTH, verify=sb.ca_bundle)

    return make
