"""Probe round 24: gaps found driving pycontribs `jira` and atlassian-python-api against the emulator —
JQL's text search syntax (phrases, Boolean operators, ignored fuzzy/boost suffixes) and comment search."""

from __future__ import annotations

import pytest


@pytest.fixture
def sb(make_jira_sandbox):
    return make_jira_sandbox(size=30)


def _keys(pyc, jql: str, labels: str = "") -> list[str]:
    jql = f"labels = {labels} AND ({jql})" if labels else jql
    return sorted(i.key for i in pyc.enhanced_search_issues(jql, fields="summary", maxResults=0))


def test_text_search_syntax(sb, s, pyc):
    for summary in ("Rotate the VPN gateway keys", "Gateway keys for the VPN audit"):
        pyc.create_issue(project="SEC", summary=summary, issuetype={"name": "Task"}, labels=["r24"])
    both = _keys(pyc, 'summary ~ "vpn gateway"', "r24")
    assert len(both) == 2  # words without an operator: all of them, in any order
    phrase = _keys(pyc, 'summary ~ "\\"VPN gateway\\""', "r24")  # an escaped phrase: those words in that order
    assert [pyc.issue(k).fields.summary for k in phrase] == ["Rotate the VPN gateway keys"]
    assert _keys(pyc, 'summary ~ "\\"gateway VPN\\""', "r24") == []
    assert _keys(pyc, 'summary ~ "rotate OR audit"', "r24") == both
    assert _keys(pyc, 'summary ~ "gateway AND rotate"', "r24") == phrase
    assert _keys(pyc, 'summary ~ "gateway && rotate"', "r24") == phrase
    assert _keys(pyc, 'summary ~ "gateway -rotate"', "r24") == sorted(set(both) - set(phrase))
    assert _keys(pyc, 'summary ~ "gateway NOT audit"', "r24") == phrase
    assert _keys(pyc, 'summary ~ "(rotate || audit) +keys"', "r24") == both
    # fuzzy, proximity and boosting no longer change a Cloud search: the suffixes are ignored
    assert _keys(pyc, 'summary ~ "gateway~"', "r24") == _keys(pyc, 'summary ~ "gateway^4"', "r24") == both
    assert _keys(pyc, 'summary ~ "\\"vpn gateway\\"~2"', "r24") == phrase
    assert _keys(pyc, 'summary ~ "gat*y"', "r24") == both
    assert _keys(pyc, 'summary !~ "\\"VPN gateway\\"" AND summary ~ gateway', "r24") == sorted(set(both) - set(phrase))


def test_comment_and_text_search_read_comments(sb, s, pyc):
    pyc.add_comment("SEC-3", "The firewall rule was rolled back")
    adf = {"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [
        {"type": "text", "text": "Zebra crossing audit"}]}]}
    assert s.post(f"{sb.url}/rest/api/3/issue/SEC-4/comment", json={"body": adf}).status_code == 201
    assert _keys(pyc, 'comment ~ "firewall"') == ["SEC-3"]
    assert _keys(pyc, 'comment ~ "zebra"') == ["SEC-4"]
    assert _keys(pyc, 'text ~ "\\"zebra crossing\\""') == ["SEC-4"]
    assert "SEC-3" not in _keys(pyc, 'project = SEC AND comment !~ "firewall"')
    # the summary is not a comment
    summary = pyc.issue("SEC-5").fields.summary.split()[0]
    assert "SEC-5" not in _keys(pyc, f'comment ~ "{summary}zzz"')
    comment = pyc.comments("SEC-3")[-1]
    comment.update(body="nothing left here")
    assert _keys(pyc, 'comment ~ "firewall"') == []


def test_search_expands_editmeta_and_operations_per_issue(sb, s, pyc):
    found = pyc.enhanced_search_issues("key = SEC-1", fields="summary", expand="editmeta,operations",
                                       json_result=True)["issues"][0]
    single = s.get(f"{sb.url}/rest/api/2/issue/SEC-1", params={"fields": "summary",
                                                                "expand": "editmeta,operations"}).json()
    assert found["editmeta"] == single["editmeta"] and "summary" in found["editmeta"]["fields"]
    assert found["operations"] == single["operations"]
    posted = s.post(f"{sb.url}/rest/api/3/search/jql", json={"jql": "key = SEC-1", "fields": ["summary"],
                                                            "expand": "operations, editmeta"})
    assert {"operations", "editmeta"} <= set(posted.json()["issues"][0])
    # expand is a comma-separated string in the request bean, not an array
    listed = s.post(f"{sb.url}/rest/api/3/search/jql", json={"jql": "key = SEC-1", "expand": ["names"]})
    assert listed.status_code == 400 and listed.json()["errorMessages"]


@pytest.mark.parametrize("value", ["abc", True, 10 ** 400])
def test_story_points_not_a_number_is_a_field_error(sb, s, pyc, value):
    url = f"{sb.url}/rest/api/2/issue"
    made = s.post(url, json={"fields": {"project": {"key": "SEC"}, "summary": "x", "issuetype": {"name": "Story"},
                                        "customfield_10016": value}})
    assert made.status_code == 400, made.text  # was a 500 (float('abc'), float(10**400))
    assert made.json() == {"errorMessages": [], "errors": {"customfield_10016": "Operation value must be a number."}}
    assert s.put(f"{url}/SEC-1", json={"fields": {"customfield_10016": value}}).status_code == 400
    field = s.post(f"{sb.url}/rest/api/2/field", json={
        "name": "Num", "type": "com.atlassian.jira.plugin.system.customfieldtypes:float",
        "searcherKey": "com.atlassian.jira.plugin.system.customfieldtypes:exactnumber"}).json()
    edit = s.put(f"{url}/SEC-1", json={"fields": {field["id"]: value}})
    assert edit.status_code == 400 and field["id"] in edit.json()["errors"]
    assert s.put(f"{url}/SEC-1", json={"fields": {"customfield_10016": 3.5}}).status_code == 204
    assert pyc.issue("SEC-1").fields.customfield_10016 == 3.5


def test_project_search_filters_by_id(sb, s):
    url = f"{sb.url}/rest/api/3/project/search"
    ids = {p["key"]: p["id"] for p in s.get(url).json()["values"]}
    got = s.get(url, params=[("id", ids["GRC"]), ("id", ids["ENG"])]).json()
    assert [p["key"] for p in got["values"]] == ["ENG", "GRC"] and got["total"] == 2
    assert s.get(url, params={"id": "999999"}).json()["values"] == []
    both = s.get(url, params=[("id", ids["SEC"]), ("keys", "SEC"), ("keys", "ENG")]).json()["values"]
    assert [p["key"] for p in both] == ["SEC"]


def test_jql_workratio(sb, s, pyc):
    api = f"{sb.url}/rest/api/2/issue"
    for key, estimate, spent in (("SEC-2", "4h", "1h"), ("SEC-3", "2h", "3h")):
        assert s.put(f"{api}/{key}", json={"fields": {"timetracking": {"originalEstimate": estimate}}}).ok
        pyc.add_worklog(key, timeSpent=spent)
    assert (pyc.issue("SEC-2").fields.workratio, pyc.issue("SEC-3").fields.workratio) == (25, 150)
    assert _keys(pyc, "workratio > 0") == ["SEC-2", "SEC-3"]  # was "Field 'workratio' does not exist"
    assert _keys(pyc, "workRatio >= 100") == ["SEC-3"]
    assert _keys(pyc, "workratio = 25") == ["SEC-2"]
    assert "SEC-2" not in _keys(pyc, "project = SEC AND workratio is EMPTY")  # no estimate: no ratio
    assert len(_keys(pyc, "project = SEC AND workratio is EMPTY")) == len(_keys(pyc, "project = SEC")) - 2
    bad = s.get(f"{sb.url}/rest/api/3/search/jql", params={"jql": "workratio > lots"})
    assert bad.status_code == 400


def test_admin_webhook_update_keeps_its_id(sb, s):
    api = f"{sb.url}/rest/webhooks/1.0/webhook"
    made = s.post(api, json={"name": "w", "url": "http://127.0.0.1:9/hook", "events": ["jira:issue_updated"],
                             "filters": {"issue-related-events-section": "project = SEC"}})
    assert made.status_code == 201
    url = made.json()["self"]
    changed = s.put(url, json={"name": "renamed", "events": ["jira:issue_created", "comment_created"]})
    assert changed.status_code == 200
    assert changed.json()["self"] == url  # was re-registered under a new id: the old URL answered 404
    got = s.get(url).json()
    assert (got["name"], got["events"], got["filters"]) == (
        "renamed", ["jira:issue_created", "comment_created"], {"issue-related-events-section": "project = SEC"})
    assert [h["self"] for h in s.get(api).json()] == [url]
    assert s.put(url, json={"events": ["nope"]}).status_code == 400
    assert s.get(url).json()["name"] == "renamed"  # a refused update changes nothing
    assert s.delete(url).status_code == 204 and s.get(url).status_code == 404
