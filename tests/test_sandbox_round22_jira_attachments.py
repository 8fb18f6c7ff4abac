"""Round 22 audit of the Jira sandbox with the `jira` client unchanged: `/attachment/meta` advertised a 10 MiB
uploadLimit that adding an attachment never enforced. Now 413 (the platform spec's answer) for a file over the
limit and for more than 60 files in one request; a file at the limit is taken."""

from __future__ import annotations

import io

import pytest
import requests
from jira import JIRA, JIRAError

from sandbox.jira import JiraSandbox


@pytest.fixture(scope="module")
def jira_world():
    with JiraSandbox(port=0, size=20, seed=42) as sb:
        client = JIRA(server=sb.url, basic_auth=(sb.credentials["email"], sb.credentials["api_token"]), max_retries=0)
        yield sb, client
        client.close()


def test_upload_limit_is_enforced_as_advertised(jira_world):
    sb, client = jira_world
    issue = client.create_issue(project="SEC", summary="attachment limits", issuetype={"name": "Task"})
    auth = (sb.credentials["email"], sb.credentials["api_token"])
    limit = requests.get(f"{sb.url}/rest/api/3/attachment/meta", auth=auth, timeout=10).json()["uploadLimit"]
    with pytest.raises(JIRAError) as info:
        client.add_attachment(issue.key, io.BytesIO(b"x" * (limit + 1)), filename="too-big.bin")
    assert info.value.status_code == 413 and "too-big.bin" in info.value.text
    assert client.issue(issue.key).fields.attachment == []
    at_limit = client.add_attachment(issue.key, io.BytesIO(b"y" * limit), filename="just-fits.bin")
    assert at_limit.size == limit and [a.filename for a in client.issue(issue.key).fields.attachment] == [
        "just-fits.bin"
    ]


def test_more_than_sixty_files_in_one_request_is_413(jira_world):
    sb, client = jira_world
    issue = client.create_issue(project="SEC", summary="many files", issuetype={"name": "Task"})
    files = [("file", (f"f{n}.txt", b"n")) for n in range(61)]
    auth = (sb.credentials["email"], sb.credentials["api_token"])
    url = f"{sb.url}/rest/api/3/issue/{issue.key}/attachments"
    refused = requests.post(url, files=files, auth=auth, headers={"X-Atlassian-Token": "no-check"}, timeout=30)
    assert refused.status_code == 413 and refused.json()["errorMessages"]
    taken = requests.post(url, files=files[:60], auth=auth, headers={"X-Atlassian-Token": "no-check"}, timeout=30)
    assert taken.status_code == 200 and len(taken.json()) == 60
