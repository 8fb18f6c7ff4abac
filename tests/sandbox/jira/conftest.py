"""Jira sandbox fixtures plus small helpers shared by the Jira emulator tests."""

from __future__ import annotations

import pytest
import requests
from atlassian import Jira as AtlassianJira
from jira import JIRA

from sandbox.jira.fixtures import *  # noqa: F403
from tests.sandbox.jira.helpers import jira_cloud, session_for


@pytest.fixture
def jira_session(jira_sandbox) -> requests.Session:
    """A requests session with Basic (email:api_token) auth against the shared sandbox."""
    creds = jira_sandbox.credentials
    with requests.Session() as s:
        s.auth = (creds["email"], creds["api_token"])
        s.headers["Accept"] = "application/json"
        yield s



@pytest.fixture
def s(sb) -> requests.Session:
    """A requests session with Basic auth on a test module's own sandbox (its ``sb`` fixture)."""
    with session_for(sb) as session:
        yield session


@pytest.fixture
def admin(sb) -> requests.Session:
    """The admin's Basic-auth session on a test module's own sandbox, beside ``user``."""
    with session_for(sb) as session:
        yield session


@pytest.fixture
def user(sb) -> requests.Session:
    """The ordinary login's (Sandbox User, ``jira-software-users`` only) session on a module's own sandbox."""
    with session_for(sb, ordinary=True) as session:
        yield session


@pytest.fixture
def pyc(sb) -> JIRA:
    """The pycontribs client on a test module's own sandbox (its ``sb`` fixture), no retries."""
    client = JIRA(server=sb.url, basic_auth=(sb.credentials["email"], sb.credentials["api_token"]), max_retries=0)
    yield client
    client.close()


@pytest.fixture
def atl(sb) -> AtlassianJira:
    """atlassian-python-api's client on a test module's own sandbox (its ``sb`` fixture)."""
    return AtlassianJira(url=sb.url, username=sb.credentials["email"], password=sb.credentials["api_token"],
                         cloud=True)


@pytest.fixture
def jc(sb):
    """atlassian-python-api's JiraCloud on a test module's own sandbox (its ``sb`` fixture)."""
    return jira_cloud(sb)
