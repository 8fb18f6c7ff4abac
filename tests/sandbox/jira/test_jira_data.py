"""Seeded dataset shape, determinism, scale, and the Python API (issues/touch/delete/create_issue)."""

from __future__ import annotations

import re
from collections import Counter

from sandbox.jira import JiraSandbox
from sandbox.jira import catalog as C

from .helpers import session_for

TS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+0000$")


def test_dataset_looks_like_a_real_site(jira_sandbox):
    store = jira_sandbox.store
    issues = list(store.issues.values())
    assert len(issues) == 200
    assert {i.project for i in issues} == {"SEC", "GRC", "ENG"}
    epics = [i for i in issues if i.type_id == C.EPIC]
    assert epics and any(store.children.get(e.id) for e in epics)
    assert all(store.issues[i.parent_id].type_id == C.EPIC for i in issues if i.parent_id)
    assert {s.state for s in store.sprints.values()} == {"closed", "active", "future"}
    assert any(i.sprints for i in issues) and any(not i.sprints for i in issues)
    points = [i.points for i in issues if i.type_id != C.EPIC]
    assert any(p is None for p in points) and any(p is not None for p in points)
    assert {C.STATUSES[i.status_id][1] for i in issues} == {"new", "indeterminate", "done"}
    labels = Counter(label for i in issues for label in i.labels)
    assert any(label.startswith("control:") for label in labels) and labels["control:AC-2"] > 0
    minutes = Counter(i.updated // 60_000 for i in issues)
    assert minutes.most_common(1)[0][1] >= 3
    assert len({u.account_id for u in store.users.values()}) == len(store.users) >= 20
    rendered = jira_sandbox.issues()
    assert all(TS.match(r["fields"]["updated"]) and TS.match(r["fields"]["created"]) for r in rendered)
    assert any(r["fields"]["comment"]["total"] for r in rendered)
    assert any(r["fields"]["attachment"] for r in rendered)
    assert any(r["fields"]["customfield_10020"] for r in rendered)


def test_every_seeded_account_has_its_own_email(jira_sandbox, jira_session):
    """Namesakes exist (two Ana Kims), but an Atlassian account's email is its own: a lookup by email
    (user search, the product mapping assignees) finds one person."""
    users = jira_session.get(f"{jira_sandbox.url}/rest/api/3/users/search", params={"maxResults": 100}).json()
    emails = [u["emailAddress"] for u in users if u.get("accountType") == "atlassian"]
    assert len(emails) >= 25 and len(set(emails)) == len(emails), Counter(emails).most_common(3)
    names = Counter(u["displayName"] for u in users)
    assert names.most_common(1)[0][1] > 1, "the namesakes the seed has are kept"


def test_seed_determinism():
    a, b, c = (JiraSandbox(size=50, seed=s) for s in (7, 7, 8))
    assert a.issues() == b.issues()
    assert [i["fields"]["summary"] for i in a.issues()] != [i["fields"]["summary"] for i in c.issues()]


def test_attachment_content_and_changelog_endpoints(jira_sandbox, jira_session):
    sb, s = jira_sandbox, jira_session
    issue = next(i for i in sb.store.issues.values() if sb.store.attachments_of(i))
    meta = s.get(f"{sb.url}/rest/api/3/issue/{issue.key}", params={"fields": "attachment"}).json()
    att = meta["fields"]["attachment"][0]
    content = s.get(att["content"])
    assert content.status_code == 200 and content.content.startswith(b"issue,control,result")
    assert len(content.content) == att["size"] and content.headers["Content-Type"] == "text/csv"
    done = next(i for i in sb.store.issues.values() if i.status_id == C.DONE_STATUS)
    page = s.get(f"{sb.url}/rest/api/3/issue/{done.key}/changelog", params={"maxResults": 1}).json()
    assert page["total"] >= 3 and page["isLast"] is False and len(page["values"]) == 1
    full = s.get(f"{sb.url}/rest/api/3/issue/{done.key}", params={"expand": "changelog"}).json()
    assert full["changelog"]["histories"][-1]["created"] == full["fields"]["updated"]


def test_python_api_touch_delete_create(make_jira_sandbox):
    sb = make_jira_sandbox(size=40)
    before = {i["key"]: i for i in sb.issues()}
    keys = sb.touch(3)
    assert len(keys) == 3
    after = {i["key"]: i for i in sb.issues()}
    for key in keys:
        assert after[key]["fields"]["updated"] > before[key]["fields"]["updated"]
        assert "touched" in after[key]["fields"]["labels"]
    assert sb.delete([keys[0], "NOPE-1"]) == [keys[0]]
    assert keys[0] not in {i["key"] for i in sb.issues()}
    new = sb.create_issue({"project": "SEC", "issuetype": "Story", "summary": "From Python",
                           "customfield_10016": 8, "labels": ["control:IA-5"]})
    assert new["key"] == f"SEC-{sb.store.next_num['SEC']}" and new["fields"]["customfield_10016"] == 8.0
    with session_for(sb) as s:
        found = s.get(f"{sb.url}/rest/api/3/search/jql", params={"jql": 'labels = "control:IA-5"', "fields": "key"})
        assert new["key"] in {i["key"] for i in found.json()["issues"]}
        assert s.post(f"{sb.url}/_sandbox/jira/touch", json={"n": 2}).json()["keys"]
        assert s.post(f"{sb.url}/_sandbox/reset").status_code == 200
    assert len(sb.issues()) == 40


def test_validation_errors_on_writes(make_jira_sandbox):
    sb = make_jira_sandbox(size=20)
    with session_for(sb) as s:
        r = s.post(f"{sb.url}/rest/api/3/issue", json={"fields": {"project": {"key": "SEC"},
                                                                  "issuetype": {"name": "Task"},
                                                                  "summary": "x", "description": "not ADF"}})
        assert r.status_code == 400 and "description" in r.json()["errors"]
        r = s.post(f"{sb.url}/rest/api/2/issue", json={"fields": {"project": {"key": "SEC"},
                                                                  "issuetype": {"name": "Task"}}})
        assert r.json() == {"errorMessages": [], "errors": {"summary": "You must specify a summary of the issue."}}
        r = s.post(f"{sb.url}/rest/api/2/issue", json={"fields": {"project": {"key": "SEC"}, "summary": "x",
                                                                  "issuetype": {"name": "Task"}, "bogus": 1}})
        assert "bogus" in r.json()["errors"]
        assert s.get(f"{sb.url}/rest/api/2/issue/SEC-999").json()["errorMessages"] == [
            "Issue does not exist or you do not have permission to see it."]
        assert s.post(f"{sb.url}/rest/api/2/issue/SEC-1/transitions", json={"transition": {"id": "99"}}
                      ).status_code == 400
        xsrf = s.post(f"{sb.url}/rest/api/2/issue/SEC-1/attachments", files={"file": ("a.txt", b"a")})
        assert xsrf.status_code == 403 and xsrf.text == "XSRF check failed"


def test_epics_sprints_subtasks_and_agile_views(make_jira_sandbox):
    sb = make_jira_sandbox(size=60)
    epic = next(i for i in sb.store.issues.values() if i.type_id == C.EPIC and i.project == "ENG")
    future = next(x for x in sb.store.sprints.values() if x.state == "future" and x.board_id == 3)
    with session_for(sb) as s:
        story = s.post(f"{sb.url}/rest/api/2/issue", json={"fields": {
            "project": {"key": "ENG"}, "issuetype": {"name": "Story"}, "summary": "child", "parent": {"key": epic.key},
            "customfield_10020": future.id}}).json()["key"]
        sub = s.post(f"{sb.url}/rest/api/2/issue", json={"fields": {
            "project": {"key": "ENG"}, "issuetype": {"name": "Subtask"}, "summary": "sub", "parent": {"key": story}}})
        assert sub.status_code == 201
        epic_issues = s.get(f"{sb.url}/rest/agile/1.0/epic/{epic.key}/issue", params={"maxResults": 100}).json()
        assert story in {i["key"] for i in epic_issues["issues"]}
        in_sprint = s.get(f"{sb.url}/rest/agile/1.0/sprint/{future.id}/issue").json()
        row = next(i for i in in_sprint["issues"] if i["key"] == story)
        assert row["fields"]["sprint"]["id"] == future.id and row["fields"]["epic"]["key"] == epic.key
        sprints = s.get(f"{sb.url}/rest/agile/1.0/board/3/sprint", params={"maxResults": 2}).json()
        assert sprints["isLast"] is False and len(sprints["values"]) == 2
        assert s.delete(f"{sb.url}/rest/api/2/issue/{story}").status_code == 400
        assert s.delete(f"{sb.url}/rest/api/2/issue/{story}", params={"deleteSubtasks": "true"}).status_code == 204
        assert s.get(f"{sb.url}/rest/api/2/issue/{sub.json()['key']}").status_code == 404


def test_a_large_instance_pages_by_token_to_full_pages():
    """20,000 issues: token paging keeps full pages and a 5,000-row id search answers whole. How fast a
    200,000-issue instance builds and serves is measured in `benchmarks/bench_jira_sandbox.py`, not here."""
    sb = JiraSandbox(size=20_000, seed=1).start()
    try:
        with session_for(sb) as s:
            params = {"jql": 'project = ENG AND updated >= "2026-09-01 00:00" ORDER BY updated ASC, key',
                      "fields": "*all", "maxResults": 100}
            first = s.get(f"{sb.url}/rest/api/3/search/jql", params=params).json()
            token, keys = first["nextPageToken"], [i["key"] for i in first["issues"]]
            for _ in range(5):
                page = s.get(f"{sb.url}/rest/api/3/search/jql", params={**params, "nextPageToken": token}).json()
                token = page["nextPageToken"]
                assert len(page["issues"]) == 100
                keys += [i["key"] for i in page["issues"]]
            assert len(set(keys)) == len(keys) == 600, "no issue twice across pages"
            ids = s.get(f"{sb.url}/rest/api/3/search/jql",
                        params={"jql": "project in (SEC, GRC, ENG)", "maxResults": 5000}).json()
            assert len(ids["issues"]) == 5000
    finally:
        sb.stop()
