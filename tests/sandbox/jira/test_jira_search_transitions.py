"""search/jql honours expand=transitions as Jira Cloud does (a popular Singer tap reads the key)."""

from __future__ import annotations

from .helpers import session_for


def test_search_lists_each_issues_transitions_only_when_expanded(jira_sandbox):
    sb = jira_sandbox
    with session_for(sb) as s:
        url = f"{sb.url}/rest/api/3/search/jql"
        body = {"jql": "project = SEC ORDER BY key", "fields": ["status"], "maxResults": 5,
                "expand": "transitions,changelog"}
        expanded = s.post(url, json=body).json()["issues"]
        plain = s.get(url, params={"jql": "project = SEC ORDER BY key", "fields": "status", "maxResults": 5}).json()
    assert len(expanded) == 5
    for issue in expanded:
        targets = {t["to"]["statusCategory"]["key"] for t in issue["transitions"]}
        assert targets == {"new", "indeterminate", "done"}
        looped = [t for t in issue["transitions"] if t["isLooped"]]
        assert [t["to"]["name"] for t in looped] == [issue["fields"]["status"]["name"]]
        assert "histories" in issue["changelog"]
    assert all("transitions" not in i for i in plain["issues"])
