"""A Data Center PAT (JIRA_PAT, Bearer) pointed at a Jira Cloud site is a configuration error raised before
any request, naming the fix and never the token; other hosts (Data Center, proxies, the sandbox) keep it."""

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
    assert "does not accept a personal access token" in text and "unset JIRA_PAT" in text
    assert "JIRA_USER_EMAIL + JIRA_API_TOKEN" in text and "JIRA_AUTH_MODE=oauth" in text
    assert SECRET not in text and cloud_host(url) in text


def test_a_pat_is_refused_on_cloud_even_beside_an_api_token(no_requests):
    with pytest.raises(VendorAuthError, match="unset JIRA_PAT"):
        pat_auth(SECRET, "a@example.com", "api-token", base_url="https://acme.atlassian.net")


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
    monkeypatch.setenv("JIRA_BASE_URL", "https://acme.atlassian.net")
    monkeypatch.setenv("JIRA_AUTH_MODE", "pat")
    monkeypatch.setenv("JIRA_PAT", SECRET)
    with pytest.raises(VendorAuthError) as refused:
        JiraResource().client()
    assert "unset JIRA_PAT" in str(refused.value) and SECRET not in str(refused.value)


def test_the_sandbox_still_takes_a_pat(make_jira_sandbox):
    sb = make_jira_sandbox(size=5)
    client = JiraAuthSettings(base_url=sb.url, mode="pat", pat=sb.credentials["pat"]).connect()
    try:
        assert client.get("rest/api/3/myself")["accountId"]
    finally:
        client.close()
