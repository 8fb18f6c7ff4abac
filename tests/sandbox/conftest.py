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
