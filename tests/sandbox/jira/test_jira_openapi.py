"""Every served endpoint that exists in Jira's official OpenAPI specs answers with a schema-valid body.

Validation uses openapi-core against ../shared/reference/openapi/{jira-platform-v3,jira-software-agile}.json
(found by helpers.SPEC_DIRS)
with two documented relaxations matching real Jira traffic: null is accepted where the spec forgot
`nullable`, and date-times may use Jira's "+0000" offset (the form used in the spec's own examples).
"""

from __future__ import annotations

import pytest
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse
from openapi_core.validation.response.exceptions import MissingData

from .helpers import openapi, session_for

ADF = {"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [{"type": "text", "text": "x"}]}]}


def _check(api, response, failures: list[str], seen: set[str]) -> None:
    request = RequestsOpenAPIRequest(response.request)
    try:
        api.validate_response(request, RequestsOpenAPIResponse(response))
    except MissingData:
        # The spec declares `application/json` with the any-schema `{}` for 204s and issueLink's 201; real
        # Jira sends an empty body there, and so does the sandbox.
        if response.content or response.status_code not in (201, 204):
            failures.append(f"{response.request.method} {response.request.path_url}: unexpected empty body")
    except Exception as exc:  # collect every failure, report them all at once
        causes = getattr(exc.__cause__, "schema_errors", None) or [exc.__cause__ or exc]
        failures.append(f"{response.request.method} {response.request.path_url} -> {response.status_code}: "
                        f"{type(exc).__name__}: {'; '.join(str(c).splitlines()[0] for c in causes)[:600]}")
    seen.add(f"{response.request.method} {response.request.path_url.split('?')[0]}")


def test_platform_read_endpoints_match_spec(jira_sandbox):
    sb = jira_sandbox
    api = openapi("jira-platform-v3.json", sb.url)
    me = sb.store.me.account_id
    key = next(i.key for i in sb.store.issues.values() if i.parent_id and i.sprints)
    att = next(a for i in sb.store.issues.values() for a in sb.store.attachments_of(i))
    calls = [
        ("GET", "/serverInfo", None), ("GET", "/myself", None), ("GET", "/field", None), ("GET", "/project", None),
        ("GET", "/project/search?maxResults=2", None), ("GET", "/project/SEC?expand=issueTypes", None),
        ("GET", "/project/SEC/statuses", None), ("GET", "/issuetype", None), ("GET", "/status", None),
        ("GET", "/statuscategory", None), ("GET", "/priority", None), ("GET", "/resolution", None),
        ("GET", "/users/search", None), ("GET", "/user/search?query=a", None), ("GET", f"/user?accountId={me}", None),
        ("GET", "/issueLinkType", None),
        ("GET", "/search/jql?jql=project%20in%20(SEC,GRC)%20order%20by%20updated&fields=*all&expand=changelog,names"
                "&maxResults=20", None),
        ("GET", "/search/jql?jql=project%3DENG&maxResults=5000", None),
        ("GET", "/search/jql?jql=project%3DGRC%20order%20by%20key&fields=status&expand=transitions&maxResults=3", None),
        ("POST", "/search/jql", {"jql": "labels = \"control:AC-2\"", "fields": ["*all"], "maxResults": 10}),
        ("POST", "/search/approximate-count", {"jql": "project = SEC"}),
        ("GET", f"/issue/{key}?expand=changelog,transitions", None), ("GET", f"/issue/{key}/transitions", None),
        ("GET", f"/issue/{key}/comment", None), ("GET", f"/issue/{key}/changelog", None),
        ("POST", "/issue/bulkfetch", {"issueIdsOrKeys": [key, "SEC-1"], "fields": ["*all"]}),
        ("GET", f"/attachment/{att.id}", None),
    ]
    failures: list[str] = []
    seen: set[str] = set()
    with session_for(sb) as s:
        for method, path, body in calls:
            r = s.request(method, f"{sb.url}/rest/api/3{path}", json=body)
            assert r.status_code == 200, (path, r.text[:300])
            _check(api, r, failures, seen)
    assert not failures, "\n".join(failures)
    assert len(seen) >= 24


def test_platform_write_endpoints_match_spec(make_jira_sandbox):
    sb = make_jira_sandbox(size=60)
    api = openapi("jira-platform-v3.json", sb.url)
    failures: list[str] = []
    seen: set[str] = set()
    base = f"{sb.url}/rest/api/3"
    with session_for(sb) as s:
        def call(method: str, path: str, expect: int, **kw):
            r = s.request(method, base + path, **kw)
            assert r.status_code == expect, (method, path, r.status_code, r.text[:300])
            _check(api, r, failures, seen)
            return r

        created = call("POST", "/issue", 201, json={"fields": {
            "project": {"key": "SEC"}, "issuetype": {"name": "Task"}, "summary": "spec check", "description": ADF,
            "labels": ["control:AC-2"], "customfield_10016": 3}}).json()
        key = created["key"]
        call("PUT", f"/issue/{key}", 204, json={"fields": {"summary": "spec check 2"},
                                                "update": {"labels": [{"add": "audit"}]}})
        call("PUT", f"/issue/{key}/assignee", 204, json={"accountId": sb.store.me.account_id})
        call("POST", f"/issue/{key}/transitions", 204, json={"transition": {"id": "21"}})
        comment = call("POST", f"/issue/{key}/comment", 201, json={"body": ADF}).json()
        call("GET", f"/issue/{key}/comment/{comment['id']}", 200)
        call("PUT", f"/issue/{key}/comment/{comment['id']}", 200, json={"body": ADF})
        call("DELETE", f"/issue/{key}/comment/{comment['id']}", 204)
        att = call("POST", f"/issue/{key}/attachments", 200, files={"file": ("e.csv", b"a,b\n1,2\n", "text/csv")},
                   headers={"X-Atlassian-Token": "no-check"}).json()[0]
        call("GET", f"/attachment/{att['id']}", 200)
        call("DELETE", f"/attachment/{att['id']}", 204)
        call("POST", "/issueLink", 201, json={"type": {"name": "Blocks"}, "inwardIssue": {"key": key},
                                              "outwardIssue": {"key": "SEC-1"}})
        link_id = s.get(f"{base}/issue/{key}").json()["fields"]["issuelinks"][0]["id"]
        call("GET", f"/issueLink/{link_id}", 200)
        call("DELETE", f"/issueLink/{link_id}", 204)
        call("POST", "/issue/bulk", 201, json={"issueUpdates": [{"fields": {
            "project": {"key": "GRC"}, "issuetype": {"name": "Story"}, "summary": "bulk"}}]})
        call("GET", f"/issue/{key}?returnIssue=true", 200)
        call("DELETE", f"/issue/{key}", 204)
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("kind", ["agile"])
def test_agile_endpoints_match_spec(jira_sandbox, kind):
    sb = jira_sandbox
    api = openapi("jira-software-agile.json", sb.url)
    epic = next(i for i in sb.store.issues.values() if i.type_id == "10000" and sb.store.children.get(i.id))
    sprint = next(s for s in sb.store.sprints.values() if s.state == "closed")
    calls = ["/board", "/board/1", "/board/1/sprint?state=active,closed", f"/sprint/{sprint.id}",
             f"/sprint/{sprint.id}/issue?maxResults=5", "/board/1/issue?maxResults=5", "/board/1/backlog?maxResults=5",
             "/board/1/epic", f"/epic/{epic.key}", f"/epic/{epic.key}/issue?maxResults=5"]
    failures: list[str] = []
    seen: set[str] = set()
    with session_for(sb) as s:
        for path in calls:
            r = s.get(f"{sb.url}/rest/agile/1.0{path}")
            assert r.status_code == 200, (path, r.text[:300])
            _check(api, r, failures, seen)
    assert not failures, "\n".join(failures)
