"""Helpers of the ServiceNow probe tests: a caller's session and the sys_ids a query answers."""

from __future__ import annotations

from typing import Any

import requests


def as_user(sb: Any, user: str, password: str) -> requests.Session:
    """A Basic-auth session for one of the sandbox's users, trusting its CA."""
    s = requests.Session()
    s.auth, s.verify, s.headers["Accept"] = (user, password), sb.ca_bundle, "application/json"
    return s


def query_ids(session: requests.Session, url: str, query: str) -> list[str]:
    """The sys_ids a Table API query answers, in the order served."""
    got = session.get(url, params={"sysparm_query": query, "sysparm_fields": "sys_id"})
    assert got.status_code == 200, got.text
    return [r["sys_id"] for r in got.json()["result"]]


def sorted_ids(session: requests.Session, url: str, query: str) -> list[str]:
    return sorted(query_ids(session, url, query))


def noted_incidents(sb: Any, user: str, mark: str, work_notes: tuple[str, ...], comment: str,
                    password: str = "Secret-12") -> tuple[str, str, str, str]:
    """A self-service user and three of their incidents ("<mark> noted", "<mark> commented", "<mark> bare"):
    the first with `work_notes` (in order), the second with one comment. (user, noted, commented, bare)."""
    me = sb.add_user(user, password)["sys_id"]
    noted, commented, bare = (sb.insert("incident", {"short_description": f"{mark} {what}", "caller_id": me})["sys_id"]
                              for what in ("noted", "commented", "bare"))
    for note in work_notes:
        sb.update("incident", noted, {"work_notes": note})
    sb.update("incident", commented, {"comments": comment})
    return me, noted, commented, bare


AUTH = ("integration.user", "sandbox-password")


def client_fixtures(size: int = 20):
    """Module-scoped fixtures for a test file that drives one TLS ServiceNow sandbox (``seed=42``) as the
    integration user: ``sb`` (the sandbox), ``_trust_the_sandbox`` (autouse: ``REQUESTS_CA_BUNDLE`` set, as
    requests reads it before a session's ``verify``) and ``s`` (a session). Use as
    ``sb, _trust_the_sandbox, s = client_fixtures()`` at the top of the test module."""
    import pytest

    @pytest.fixture(scope="module")
    def sb():
        from sandbox.servicenow import ServiceNowSandbox

        with ServiceNowSandbox(port=0, size=size, seed=42, tls=True) as sandbox:
            yield sandbox

    @pytest.fixture(autouse=True)
    def _trust_the_sandbox(sb, monkeypatch):
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", sb.ca_bundle)
        monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)

    @pytest.fixture
    def s(sb):
        with as_user(sb, *AUTH) as session:
            yield session

    return sb, _trust_the_sandbox, s
