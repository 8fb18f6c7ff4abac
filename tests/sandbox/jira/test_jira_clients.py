"""The popular Python clients work unchanged: pycontribs `jira` 3.10 and atlassian-python-api 5.x."""

from __future__ import annotations

import io

import pytest
from atlassian import Jira as AtlassianJira
from atlassian.jira import JiraCloud
from jira import JIRA

ADF = {"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [{"type": "text", "text": "hi"}]}]}


@pytest.fixture
def tls_sandbox(make_jira_sandbox):
    return make_jira_sandbox(size=120, tls=True)


@pytest.fixture
def pycontribs(tls_sandbox) -> JIRA:
    c = tls_sandbox.credentials
    client = JIRA(server=tls_sandbox.url, basic_auth=(c["email"], c["api_token"]),
                  options={"verify": tls_sandbox.ca_bundle}, max_retries=0)
    yield client
    client.close()


def test_pycontribs_detects_cloud_and_fields(pycontribs):
    assert pycontribs.server_info()["deploymentType"] == "Cloud"
    assert pycontribs._is_cloud
    by_name = {f["name"]: f["id"] for f in pycontribs.fields()}
    assert by_name["Story point estimate"] == "customfield_10016"
    assert by_name["Sprint"] == "customfield_10020"


def test_pycontribs_search_pages_through_everything(pycontribs, tls_sandbox):
    expected = sorted(i.key for i in tls_sandbox.store.issues.values() if i.project == "SEC")
    everything = pycontribs.search_issues("project = SEC ORDER BY key", maxResults=False)
    assert sorted(i.key for i in everything) == expected
    # page by page with a small maxResults via enhanced_search_issues + nextPageToken
    got, token = [], None
    while True:
        page = pycontribs.enhanced_search_issues("project = SEC ORDER BY updated ASC", maxResults=4,
                                                 nextPageToken=token, fields="summary,updated")
        got += [i.key for i in page]
        token = page.nextPageToken
        if not token:
            break
    assert sorted(got) == expected and len(got) == len(set(got))
    posted = pycontribs.search_issues("project = SEC", maxResults=False, use_post=True)
    assert sorted(i.key for i in posted) == expected
    assert pycontribs.approximate_issue_count("project = SEC") == len(expected)
    one = pycontribs.search_issues('labels = "control:AC-2"', maxResults=3, fields="labels,customfield_10016")
    assert all("control:AC-2" in i.fields.labels for i in one)


def test_pycontribs_create_transition_comment_attach_link(pycontribs, tls_sandbox):
    issue = pycontribs.create_issue(project="GRC", summary="Collect CM-3 evidence", issuetype={"name": "Task"},
                                    description="Plain v2 text", labels=["control:CM-3"],
                                    customfield_10016=5)
    assert issue.key.startswith("GRC-") and issue.fields.status.name == "To Do"
    assert issue.fields.description == "Plain v2 text" and issue.fields.customfield_10016 == 5
    pycontribs.transition_issue(issue, "Done")
    comment = pycontribs.add_comment(issue, "Evidence reviewed")
    attachment = pycontribs.add_attachment(issue, io.BytesIO(b"control,result\nCM-3,pass\n"), filename="cm3.csv")
    pycontribs.create_issue_link("Blocks", issue.key, "GRC-1")
    fresh = pycontribs.issue(issue.key, expand="changelog")
    assert fresh.fields.status.name == "Done" and fresh.fields.resolution.name == "Done"
    assert [c.body for c in fresh.fields.comment.comments] == ["Evidence reviewed"] and comment.id
    assert pycontribs.attachment(attachment.id).get() == b"control,result\nCM-3,pass\n"
    assert len(fresh.fields.issuelinks) == 1
    items = [it.field for h in fresh.changelog.histories for it in h.items]
    assert "status" in items and "Attachment" in items
    assert tls_sandbox.store.resolve(issue.key).status_id == "10002"


def test_atlassian_cloud_client_v3(tls_sandbox):
    c = tls_sandbox.credentials
    jc = JiraCloud(url=tls_sandbox.url, username=c["email"], password=c["api_token"], verify_ssl=tls_sandbox.ca_bundle)
    expected = {i.key for i in tls_sandbox.store.issues.values() if i.project == "GRC"}
    rows = jc.enhanced_jql_get_list_of_tickets("project = GRC ORDER BY key", fields="summary,status")
    assert {r["key"] for r in rows} == expected
    created = jc.create_issue(data={"fields": {"project": {"key": "SEC"}, "issuetype": {"name": "Bug"},
                                               "summary": "Patch CVE in Vault", "description": ADF}})
    jc.edit_issue(created["key"], data={"fields": {"summary": "Patch CVE-2026-1 in Vault", "labels": ["security"]}})
    got = jc.get_issue(created["key"])
    assert got["fields"]["summary"] == "Patch CVE-2026-1 in Vault" and got["fields"]["labels"] == ["security"]
    assert got["fields"]["description"] == ADF
    found = jc.enhanced_jql(f"key = {created['key']}", fields="summary")
    assert [i["key"] for i in found["issues"]] == [created["key"]]


def test_atlassian_legacy_client_cloud_mode(tls_sandbox):
    c = tls_sandbox.credentials
    jira = AtlassianJira(url=tls_sandbox.url, username=c["email"], password=c["api_token"], cloud=True,
                         verify_ssl=tls_sandbox.ca_bundle)
    page = jira.enhanced_jql("project = ENG ORDER BY updated DESC", fields="summary,updated", limit=10)
    assert len(page["issues"]) == 10 and page["nextPageToken"]
    new = jira.issue_create(fields={"project": {"key": "ENG"}, "issuetype": {"name": "Task"}, "summary": "v2 create",
                                    "description": "v2 is plain text"})
    jira.issue_update(new["key"], fields={"summary": "v2 updated"})
    assert jira.issue(new["key"])["fields"]["summary"] == "v2 updated"
