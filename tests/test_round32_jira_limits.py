"""Round 32: Jira's length limits in the emulator (`sandbox/jira/text_limits.py`).

Before, a description, environment or comment of any length was stored, a 300-character label was taken, and a
single issue property (`PUT /issue/{key}/properties/{k}`) took any size and an empty body, although the
two-way sync clips its text to Jira's 32,767 characters and refuses labels over 255 because Jira does.
Now: 400 `{"errors": {"description"|"environment"|"comment": "The entered text is too long. It exceeds the
allowed limit of 32,767 characters."}}` (UTF-16 units; a v3 document counts its text [unc]), the label
error Jira gives, and the 32 KB / non-empty checks other properties already had."""

from __future__ import annotations

import pytest
from jira.exceptions import JIRAError

from tests.sandbox.jira.helpers import client_fixtures

TOO_LONG = "The entered text is too long. It exceeds the allowed limit of 32,767 characters."


sb, s, pyc, atl = client_fixtures(size=20)


def _doc(text: str) -> dict:
    paragraph = {"type": "paragraph", "content": [{"type": "text", "text": text}]}
    return {"type": "doc", "version": 1, "content": [paragraph]}


def _create(sb, s, version: str, **fields):
    body = {"fields": {"project": {"key": "SEC"}, "issuetype": {"name": "Task"}, "summary": "limits", **fields}}
    return s.post(f"{sb.url}/rest/api/{version}/issue", json=body)


def _count(sb) -> int:
    return len(sb.store.issues)


@pytest.mark.parametrize(("version", "wrap"), [("2", str), ("3", _doc)])
@pytest.mark.parametrize("field", ["description", "environment"])
def test_multi_line_text_over_32767_units_is_refused_and_nothing_is_made(sb, s, version, wrap, field):
    before = _count(sb)
    for over in ("x" * 32768, "𝄞" * 16384):  # a character outside the BMP counts two, as in Java
        r = _create(sb, s, version, **{field: wrap(over)})
        assert r.status_code == 400, r.text[:200]
        assert r.json() == {"errorMessages": [], "errors": {field: TOO_LONG}}
    assert _count(sb) == before
    assert _create(sb, s, version, **{field: wrap("x" * 32767)}).status_code == 201
    assert _create(sb, s, version, **{field: wrap("é" * 32767)}).status_code == 201  # characters, not bytes


def test_an_edit_over_the_limit_is_refused_and_changes_nothing(sb, pyc):
    issue = pyc.create_issue(project="SEC", summary="edit limits", issuetype={"name": "Task"}, description="kept")
    with pytest.raises(JIRAError) as refused:
        issue.update(fields={"description": "y" * 40000, "summary": "not applied"})
    assert refused.value.status_code == 400
    assert refused.value.response.json()["errors"] == {"description": TOO_LONG}
    again = pyc.issue(issue.key)
    assert (again.fields.description, again.fields.summary) == ("kept", "edit limits")


def test_comments_over_the_limit_are_refused_on_every_path(sb, s, pyc):
    issue = pyc.create_issue(project="SEC", summary="comment limits", issuetype={"name": "Task"})
    with pytest.raises(JIRAError) as refused:
        pyc.add_comment(issue.key, "c" * 32768)
    assert refused.value.status_code == 400 and refused.value.response.json()["errors"] == {"comment": TOO_LONG}
    v3 = s.post(f"{sb.url}/rest/api/3/issue/{issue.key}/comment", json={"body": _doc("c" * 32768)})
    assert v3.status_code == 400 and v3.json()["errors"] == {"comment": TOO_LONG}
    kept = pyc.add_comment(issue.key, "c" * 32767)
    edit = s.put(f"{sb.url}/rest/api/2/issue/{issue.key}/comment/{kept.id}", json={"body": "d" * 32768})
    assert edit.status_code == 400 and edit.json()["errors"] == {"comment": TOO_LONG}
    put = s.put(f"{sb.url}/rest/api/2/issue/{issue.key}",
                json={"update": {"comment": [{"add": {"body": "e" * 32768}}]}, "fields": {"summary": "no"}})
    assert put.status_code == 400 and put.json()["errors"] == {"comment": TOO_LONG}
    assert [len(c.body) for c in pyc.comments(issue.key)] == [32767]
    assert pyc.issue(issue.key).fields.summary == "comment limits"


def test_labels_over_255_characters_are_refused(sb, s, pyc):
    long_label = "l" * 256
    message = f"The label '{long_label}' exceeds the maximum length for a single label of 255 characters."
    r = _create(sb, s, "3", labels=["ok", long_label])
    assert r.status_code == 400 and r.json()["errors"] == {"labels": message}
    issue = pyc.create_issue(project="SEC", summary="labels", issuetype={"name": "Task"}, labels=["l" * 255])
    add = s.put(f"{sb.url}/rest/api/3/issue/{issue.key}", json={"update": {"labels": [{"add": long_label}]}})
    assert add.status_code == 400 and add.json()["errors"] == {"labels": message}
    assert pyc.issue(issue.key).fields.labels == ["l" * 255]


def test_a_single_issue_property_is_limited_like_the_others(sb, s, pyc):
    issue = pyc.create_issue(project="SEC", summary="props", issuetype={"name": "Task"})
    api = f"{sb.url}/rest/api/3/issue/{issue.key}/properties"
    big = s.put(f"{api}/big", json={"v": "x" * 32768})
    assert big.status_code == 400 and big.json()["errorMessages"]
    empty = s.put(f"{api}/empty", data=b"", headers={"Content-Type": "application/json"})
    assert empty.status_code == 400
    assert s.get(api).json()["keys"] == []
    assert s.put(f"{api}/fits", json={"v": "x" * 32000}).status_code == 201


def test_the_two_way_syncs_clipped_description_is_taken(sb, s):
    """The product clips text to Jira's limit (assets/reverse_sync/jira_text.clip) before wrapping it in ADF:
    what it sends for an over-long task description must be what the emulator takes."""
    from assets.reverse_sync.jira_text import TEXT_LIMIT, adf, clip

    for text in ("z" * 50000, "𝄞" * 20000, "line\n" * 9000):
        r = _create(sb, s, "3", description=adf(clip(text, TEXT_LIMIT)))
        assert r.status_code == 201, r.text[:200]
