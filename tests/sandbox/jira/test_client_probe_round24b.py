"""Probe round 24b: gaps left by round 24, driven through pycontribs `jira` and atlassian-python-api —
restricted comments and worklogs (JQL `comment ~`, comment and worklog reads), the wiki-to-ADF conversion of v2
comments read through v3, the JQL functions updatedBy() / projectsWhereUserHasRole(), the `level` field, ORDER
BY workratio / timespent / votes, and users ordered by display name."""

from __future__ import annotations

import pytest
from jira.exceptions import JIRAError


@pytest.fixture
def sb(make_jira_sandbox):
    return make_jira_sandbox(size=30)


def _keys(pyc, jql: str) -> list[str]:
    return sorted(i.key for i in pyc.enhanced_search_issues(jql, fields="summary", maxResults=0))


def test_restricted_comments_only_match_their_audience(sb, pyc, atl):
    me = pyc.myself()["accountId"]
    pyc.add_group("auditors")
    pyc.add_user_to_group(me, "auditors")
    hidden = pyc.add_comment("SEC-2", "zebracorn in the vault", visibility={"type": "group", "value": "auditors"})
    pyc.add_comment("SEC-3", "zebracorn in the open")
    viewer = pyc.project_role("SEC", 10004)
    viewer.add_user(users=me)
    pyc.add_comment("SEC-4", "quokka for viewers", visibility={"type": "role", "value": "Viewer"})
    assert _keys(pyc, "comment ~ zebracorn") == ["SEC-2", "SEC-3"]
    assert _keys(pyc, "comment ~ quokka") == ["SEC-4"]
    log = atl.post("rest/api/2/issue/SEC-2/worklog", data={"timeSpent": "1h",
                                                            "visibility": {"type": "group", "value": "auditors"}})
    pyc.remove_user_from_group(me, "auditors")  # no longer in the audience: neither searched nor read
    atl.delete("rest/api/2/project/SEC/role/10004", params={"user": me})
    assert _keys(pyc, "comment ~ zebracorn") == _keys(pyc, "text ~ zebracorn") == ["SEC-3"]
    assert _keys(pyc, "comment ~ quokka") == []
    assert hidden.id not in [c.id for c in pyc.comments("SEC-2")]
    assert hidden.id not in [c.id for c in pyc.issue("SEC-2", fields="comment").fields.comment.comments]
    with pytest.raises(JIRAError) as gone:
        pyc.comment("SEC-2", hidden.id)
    assert gone.value.status_code == 404
    with pytest.raises(JIRAError) as edit:
        hidden.update(body="changed")
    assert edit.value.status_code == 404
    assert atl.post("rest/api/3/comment/list", data={"ids": [int(hidden.id)]})["values"] == []
    assert log["id"] not in [w.id for w in pyc.worklogs("SEC-2")]
    with pytest.raises(JIRAError):
        pyc.worklog("SEC-2", log["id"])
