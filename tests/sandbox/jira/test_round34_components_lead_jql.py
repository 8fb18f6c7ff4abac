"""Round 34: `component in componentsLeadByUser([user])` (Atlassian's JQL functions page: issues in components
led by the user, the searcher when none is named) through pycontribs `jira` unchanged. It was "Function
'componentsleadbyuser' is not supported for field 'component'."."""

from __future__ import annotations

import pytest
from jira import JIRA
from jira.exceptions import JIRAError

from tests.sandbox.jira.helpers import client_fixtures

sb, _session, _pyc, _atl = client_fixtures(size=40)


@pytest.fixture(scope="module")
def led(sb):
    """SEC-2 in "r34 mine" (led by the admin), SEC-3 in "r34 theirs" (led by the ordinary login)."""
    client = JIRA(server=sb.url, basic_auth=(sb.credentials["email"], sb.credentials["api_token"]), max_retries=0)
    me = client.myself()["accountId"]
    other = next(u.accountId for u in client.search_users(query="sandbox.user") if u.accountId != me)
    for name, lead, key in (("r34 mine", me, "SEC-2"), ("r34 theirs", other, "SEC-3")):
        r = client._session.post(f"{sb.url}/rest/api/2/component",
                                 json={"name": name, "project": "SEC", "leadAccountId": lead})
        assert r.status_code == 201, r.text
        client.issue(key).update(fields={"components": [{"name": name}]})
    client.other = other
    yield client
    client.close()


def _keys(client: JIRA, jql: str) -> list[str]:
    return sorted(i.key for i in client.enhanced_search_issues(jql, maxResults=0, fields="summary"))


def test_components_led_by_the_searcher_or_a_named_user(led):
    assert _keys(led, "component in componentsLeadByUser()") == ["SEC-2"]
    assert _keys(led, f"component in componentsLeadByUser({led.other})") == ["SEC-3"]
    mine_out = _keys(led, "project = SEC and component not in componentsLeadByUser()")
    assert "SEC-2" not in mine_out and "SEC-3" in mine_out


def test_an_unknown_user_is_an_error(led):
    with pytest.raises(JIRAError) as e:
        led.enhanced_search_issues("component in componentsLeadByUser('nobody-at-all')")
    assert e.value.status_code == 400 and "nobody-at-all" in e.value.text
