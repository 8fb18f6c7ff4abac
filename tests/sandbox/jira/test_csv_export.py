"""The issue navigator's CSV export through atlassian-python-api `Jira.csv` (all and current fields)."""

from __future__ import annotations

import csv
import io

import pytest
from requests import HTTPError


@pytest.fixture
def sb(make_jira_sandbox):
    return make_jira_sandbox(size=40)


def rows(data: bytes, delimiter: str = ",") -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8")), delimiter=delimiter))


def test_csv_export(atl, pyc, sb):
    pyc.create_version("1.0", "SEC")
    made = pyc.create_issue(project="SEC", summary="export me", issuetype={"name": "Bug"},
                            labels=["a", "b", "c", "d"], fixVersions=[{"name": "1.0"}], duedate="2026-12-24")
    header, *body = rows(atl.csv("project = SEC ORDER BY key DESC", limit=5))
    assert len(body) == 5
    assert header.count("Labels") == 4 and header[:5] == ["Summary", "Issue key", "Issue id", "Issue Type", "Status"]
    first = dict(zip(header, body[0], strict=True))  # a repeated column keeps its first value here
    assert (first["Issue key"], first["Issue id"], first["Issue Type"], first["Fix Version/s"]) == \
        (made.key, made.id, "Bug", "1.0")
    labels = [v for h, v in zip(header, body[0], strict=True) if h == "Labels"]
    assert labels == ["a", "b", "c", "d"] and first["Due Date"] == "24/Dec/26 12:00 AM"
    expected = [i.key for i in pyc.enhanced_search_issues("project = SEC ORDER BY key DESC", maxResults=5)]
    assert [r[1] for r in body] == expected

    current = rows(atl.csv("project = SEC ORDER BY key DESC", limit=2, all_fields=False, start=1,
                           delimiter=";"), ";")
    assert current[0][:3] == ["Issue Type", "Issue key", "Issue id"] and [r[1] for r in current[1:]] == expected[1:3]
    with pytest.raises(HTTPError) as bad:
        atl.csv("foo = bar")
    assert bad.value.response.status_code == 400
