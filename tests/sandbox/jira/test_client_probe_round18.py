"""Probe round 18: the Agile issue lists' field selection (shared with GET /rest/agile/1.0/issue/{key}) and
the mismatches found calling commonly used pycontribs `jira` / atlassian-python-api methods."""

from __future__ import annotations

import pytest

from sandbox.jira import catalog as C
from tests.sandbox.jira.helpers import checked

AGILE = {"sprint", "closedSprints", "flagged", "epic"}


@pytest.fixture
def sb(make_jira_sandbox):
    return make_jira_sandbox(size=30)


def _lists(sb, s) -> list[str]:
    agile = f"{sb.url}/rest/agile/1.0"
    board = next(iter(sb.store.boards.values()))
    sprint = next(iter(sb.store.sprints))
    epic = next(i.key for i in sb.store.issues.values() if i.type_id == C.EPIC and i.project == board.project
                and sb.store.children.get(i.id))
    return [f"{agile}/board/{board.id}/issue", f"{agile}/board/{board.id}/backlog", f"{agile}/sprint/{sprint}/issue",
            f"{agile}/board/{board.id}/sprint/{sprint}/issue", f"{agile}/epic/none/issue",
            f"{agile}/epic/{epic}/issue", f"{agile}/board/{board.id}/epic/{epic}/issue"]


def test_agile_issue_lists_honour_a_fields_list(sb, s):
    for url in _lists(sb, s):
        page = s.get(url).json()
        assert page["issues"], url
        default = page["issues"][0]["fields"]
        assert set(default) >= AGILE | {"summary"} and "comment" not in default, url
        named = s.get(url, params={"fields": "summary"}).json()["issues"][0]["fields"]
        assert set(named) == {"summary"}, url
        some = s.get(url, params={"fields": "summary,epic"}).json()["issues"][0]["fields"]
        assert set(some) == {"summary", "epic"}, url
        wide = s.get(url, params={"fields": "*all"}).json()["issues"][0]["fields"]
        assert set(wide) >= AGILE | {"comment", "worklog"}, url
        minus = s.get(url, params={"fields": "-flagged"}).json()["issues"][0]["fields"]
        assert "flagged" not in minus and AGILE - {"flagged"} <= set(minus), url
        names = s.get(url, params={"fields": "summary", "expand": "names"}).json()["issues"][0]["names"]
        assert set(names) == {"summary"}, url


def test_filter_columns_get_set_reset(sb, s, jc):
    api = f"{sb.url}/rest/api/3"
    fid = s.post(f"{api}/filter", json={"name": "Columns", "jql": "project = SEC"}).json()["id"]
    unset = s.get(f"{api}/filter/{fid}/columns")
    assert unset.status_code == 404  # spec: no column configuration set
    jc.set_columns(fid, {"columns": ["summary", "status"]})  # atlassian JiraCloud: the spec's ColumnRequestBody
    assert jc.get_columns(fid) == [{"label": "Summary", "value": "summary"}, {"label": "Status", "value": "status"}]
    form = s.put(f"{api}/filter/{fid}/columns", data=[("columns", "issuekey"), ("columns", "assignee")],
                 headers={"X-Atlassian-Token": "no-check"})  # the spec's curl form
    assert form.status_code == 200
    assert [c["value"] for c in checked(sb, s.get(f"{api}/filter/{fid}/columns")).json()] == ["issuekey", "assignee"]
    assert s.put(f"{api}/filter/{fid}/columns", json={"columns": ["comment"]}).status_code == 400  # not navigable
    assert s.put(f"{api}/filter/{fid}/columns", json={"columns": ["nope"]}).status_code == 400
    jc.reset_columns(fid)
    assert s.get(f"{api}/filter/{fid}/columns").status_code == 404
    assert s.get(f"{api}/filter/999/columns").status_code == 400
    assert s.delete(f"{api}/filter/999/columns").status_code == 400
