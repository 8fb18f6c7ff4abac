"""`strict_screens`: a transition holds `fields`/`update` to its screen as Jira does (the pycontribs client's
`transition_issue(..., comment=...)` and raw requests); off, the lenient default applies everything."""

from __future__ import annotations

import pytest
from jira import JIRAError

from .helpers import session_for

NOT_ON_SCREEN = "Field '{}' cannot be set. It is not on the appropriate screen, or unknown."


@pytest.fixture
def sb(make_jira_sandbox):
    return make_jira_sandbox(size=10, strict_screens=True)


def _key(sb, status: str = "To Do") -> str:
    return next(i["key"] for i in sb.issues() if i["fields"]["status"]["name"] == status)


def _comments(sb, key: str) -> int:
    return sb.issues()[[i["key"] for i in sb.issues()].index(key)]["fields"]["comment"]["total"]


def test_a_comment_on_a_screenless_transition_is_refused_and_nothing_changes(sb, pyc):
    key = _key(sb)
    before = _comments(sb, key)
    with pytest.raises(JIRAError) as refused:
        pyc.transition_issue(key, "21", comment="moving on")  # In Progress: no screen
    assert refused.value.status_code == 400
    assert refused.value.response.json() == {"errorMessages": [],
                                             "errors": {"comment": NOT_ON_SCREEN.format("comment")}}
    assert pyc.issue(key).fields.status.name == "To Do" and _comments(sb, key) == before
    pyc.transition_issue(key, "21")  # without the comment it goes through
    assert pyc.issue(key).fields.status.name == "In Progress"


def test_a_screen_takes_a_comment_and_its_own_fields_only(sb, pyc):
    key = _key(sb)
    before = _comments(sb, key)
    with pytest.raises(JIRAError) as refused:  # Done's screen: resolution, fix versions, assignee; no labels
        pyc.transition_issue(key, "41", fields={"resolution": {"name": "Done"}, "labels": ["x"]}, comment="done")
    assert refused.value.status_code == 400
    assert refused.value.response.json()["errors"] == {"labels": NOT_ON_SCREEN.format("labels")}
    pyc.transition_issue(key, "41", fields={"resolution": {"name": "Done"}}, comment="closing")
    issue = pyc.issue(key)
    assert issue.fields.status.name == "Done" and issue.fields.resolution.name == "Done"
    assert _comments(sb, key) == before + 1


def test_raw_requests_name_every_field_off_the_screen(sb):
    key = _key(sb)
    url = f"{sb.url}/rest/api/3/issue/{key}/transitions"
    doc = {"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [{"type": "text", "text": "x"}]}]}
    with session_for(sb) as s:
        answer = s.post(url, json={"transition": {"id": "11"}, "fields": {"summary": "new"},
                                   "update": {"comment": [{"add": {"body": doc}}], "labels": [{"add": "y"}]}})
        assert answer.status_code == 400
        assert answer.json() == {"errorMessages": [], "errors": {
            name: NOT_ON_SCREEN.format(name) for name in ("summary", "comment", "labels")}}
        assert s.post(url, json={"transition": {"id": "31"}, "fields": {}, "update": {}}).status_code == 204
        sb.strict_screens = False  # flipped while serving: the lenient default applies the comment
        assert s.post(url, json={"transition": {"id": "11"},
                                 "update": {"comment": [{"add": {"body": doc}}]}}).status_code == 204
    assert next(i for i in sb.issues() if i["key"] == key)["fields"]["status"]["name"] == "To Do"
    assert sb.describe()["strict_screens"] is False


def test_lenient_by_default(make_jira_sandbox):
    sb = make_jira_sandbox(size=10)
    key = _key(sb)
    before = _comments(sb, key)
    with session_for(sb) as s:
        answer = s.post(f"{sb.url}/rest/api/2/issue/{key}/transitions",
                        json={"transition": {"id": "21"}, "update": {"comment": [{"add": {"body": "hi"}}]}})
    assert answer.status_code == 204 and _comments(sb, key) == before + 1
