"""Jira sandbox fixtures plus small helpers shared by the Jira emulator tests."""

from __future__ import annotations

import pytest
import requests

from sandbox.jira.fixtures import *  # noqa: F403


@pytest.fixture
def jira_session(jira_sandbox) -> requests.Session:
    """A requests session with Basic (email:api_token) auth against the shared sandbox."""
    creds = jira_sandbox.credentials
    with requests.Session() as s:
        s.auth = (creds["email"], creds["api_token"])
        s.headers["Accept"] = "application/json"
        yield s

