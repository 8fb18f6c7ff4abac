"""JIRA_PAT on a Jira Cloud site goes with JIRA_USER_EMAIL as Basic (the spec's PAT mode; Cloud takes no
Bearer token); without the e-mail it is a configuration error raised before any request, naming the fix and
never the token. Other hosts (Data Center, proxies, the sandbox) keep the PAT as Bearer."""

from __future__ import annotations

import pytest
import requests

from pipelines.common.http import VendorAuthError
from pipelines.jira.auth import StaticAuth, cloud_host, pat_auth
from pipelines.jira.context import JiraAuthSettings

SECRET = "pat-secret-0123456789abcdef"


@pytest.fixture
def no_requests(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a request was sent")

    monkeypatch.setattr(requests.Session, "request", refuse)


@pytest.mark.parametrize("url", ["https://acme.atlassian.net", "https://ACME.Atlassian.NET/", "https://acme.jira.com",
                                 "https://acme.atlassian.net:443/jira", "https://api.atlassian.com/ex/jira/abc"])
def test_a_pat_for_a_cloud_site_is_refused_before_any_request_naming_the_fix(url, no_requests):
    with pytest.raises(VendorAuthError) as refused:
        JiraAuthSettings(base_url=url, mode="pat", pat=SECRET).connect()
    text = str(refused.value)
    assert "takes a token only with the account's e-mail" in text and "set JIRA_USER_EMAIL" in text
    assert "JIRA_AUTH_MODE=oauth" in text
    assert SECRET not in text and cloud_host(url) in text


def _basic(auth) -> str:
    import base64

    return base64.b64decode(auth.auth_header()["Authorization"].removeprefix("Basic ")).decode()


def test_a_pat_with_the_email_is_sent_as_basic_on_cloud(no_requests):
    """The spec's PAT mode (JIRA_PAT and JIRA_USER_EMAIL): on Cloud the token is an API token, sent as Basic."""
    assert _basic(pat_auth(SECRET, "a@example.com", base_url="https://acme.atlassian.net")) == f"a@example.com:{SECRET}"
    assert _basic(pat_auth(SECRET, "a@example.com", "api-token", base_url="https://acme.atlassian.net")) == \
        "a@example.com:api-token"


@pytest.mark.parametrize("url", ["https://jira.example.com", "http://127.0.0.1:8080", "https://notatlassian.net",
                                 "https://acme.atlassian.net.example.com", "https://jira.atlassian.com", None])
def test_other_hosts_keep_the_pat_as_bearer(url):
    assert cloud_host(url) is None
    assert pat_auth(SECRET, base_url=url).auth_header() == {"Authorization": f"Bearer {SECRET}"}


def test_cloud_takes_an_email_and_api_token_as_basic(no_requests):
    auth = pat_auth(None, "a@example.com", "api-token", base_url="https://acme.atlassian.net")
    assert isinstance(auth, StaticAuth) and auth.auth_header()["Authorization"].startswith("Basic ")


def test_the_reverse_sync_client_from_the_environment_is_refused_too(monkeypatch, no_requests):
    from resources.jira import JiraResource

    monkeypatch.delenv("VAULT_ADDR", raising=False)
    monkeypatch.delenv("JIRA_USER_EMAIL", raising=False)
    monkeypatch.setenv("JIRA_BASE_URL", "https://acme.atlassian.net")
    monkeypatch.setenv("JIRA_AUTH_MODE", "pat")
    monkeypatch.setenv("JIRA_PAT", SECRET)
    with pytest.raises(VendorAuthError) as refused:
        JiraResource().client()
    assert "set JIRA_USER_EMAIL" in str(refused.value) and SECRET not in str(refused.value)


def test_the_sandbox_still_takes_a_pat(make_jira_sandbox):
    sb = make_jira_sandbox(size=5)
    client = JiraAuthSettings(base_url=sb.url, mode="pat", pat=sb.credentials["pat"]).connect()
    try:
        assert client.get("rest/api/3/myself")["accountId"]
    finally:
        client.close()
