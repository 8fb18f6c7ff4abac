"""Review of round 34's Jira emulator additions, through pycontribs `jira` unchanged where it reaches.

- Search results are cached by (index version, JQL text, scope): remote-link writes, a component's new lead
  and worklog edits moved no version, so the identical JQL re-run kept its stale answer.
- `worklogDate = 999999999999999`, `worklogDate in ("9999999w")` and a worklog started 0001-01-01 searched
  from America/New_York were 500s; a remote link's `globalId` that is not a string (or over 255) was stored.
- `worklogDate >= -1w` dropped a worklog started on the day a week ago, later in the day than now.
- The velocity chart counted an issue added after the sprint's start and taken out again as committed.
- Bulk move put a sub-task in another project than its parent (create refuses it).
- Two concurrent DELETEs of one sprint both answered 204 (and both fired sprint_deleted).
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest
from jira import JIRA
from jira.exceptions import JIRAError

from sandbox.jira import catalog as C
from tests.sandbox.jira.helpers import client_fixtures, session_for

sb, _session, pyc, _atl = client_fixtures(size=40)



def _keys(client: JIRA, jql: str) -> list[str]:
    return sorted(i.key for i in client.enhanced_search_issues(jql, maxResults=0, fields="summary"))


def _ts(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}+0000"


def test_remote_link_writes_refresh_the_identical_jql(pyc, sb):
    jql = 'issue in issuesWithRemoteLinksByGlobalId("r34rev:g1")'
    assert _keys(pyc, jql) == []
    pyc.add_remote_link("SEC-7", {"url": "https://example.com/1", "title": "one"}, globalId="r34rev:g1")
    assert _keys(pyc, jql) == ["SEC-7"]
    api = f"{sb.url}/rest/api/2/issue/SEC-7/remotelink"
    assert pyc._session.delete(api, params={"globalId": "r34rev:g1"}).status_code == 204
    assert _keys(pyc, jql) == []
    link = pyc.add_remote_link("SEC-7", {"url": "https://example.com/1", "title": "one"}, globalId="r34rev:g1")
    assert _keys(pyc, jql) == ["SEC-7"]
    r = pyc._session.put(f"{api}/{link.id}", json={"globalId": "r34rev:g2",
                                                      "object": {"url": "https://example.com/2", "title": "two"}})
    assert r.status_code == 204
    assert _keys(pyc, jql) == []
    assert _keys(pyc, 'issue in issuesWithRemoteLinksByGlobalId("r34rev:g2")') == ["SEC-7"]
    assert pyc._session.delete(f"{api}/{link.id}").status_code == 204
    assert _keys(pyc, 'issue in issuesWithRemoteLinksByGlobalId("r34rev:g2")') == []


def test_a_components_new_lead_refreshes_the_identical_jql(pyc, sb):
    me = pyc.myself()["accountId"]
    other = next(u.accountId for u in pyc.search_users(query="sandbox.user") if u.accountId != me)
    r = pyc._session.post(f"{sb.url}/rest/api/2/component",
                          json={"name": "r34rev led", "project": "SEC", "leadAccountId": other})
    assert r.status_code == 201, r.text
    pyc.issue("SEC-8").update(fields={"components": [{"name": "r34rev led"}]})
    jql = "component in componentsLeadByUser()"
    assert "SEC-8" not in _keys(pyc, jql)
    r = pyc._session.put(f"{sb.url}/rest/api/2/component/{r.json()['id']}", json={"leadAccountId": me})
    assert r.status_code == 200, r.text
    assert "SEC-8" in _keys(pyc, jql)


def test_a_worklog_edit_refreshes_the_identical_jql(pyc, sb):
    w = pyc.add_worklog("SEC-9", timeSpent="1h", started=datetime(2026, 10, 5, 14, 0, tzinfo=UTC),
                        comment="r34rev before")
    day, text = "worklogDate = '2026-10-05'", "worklogComment ~ zebra"
    assert _keys(pyc, day) == ["SEC-9"] and _keys(pyc, text) == []
    r = pyc._session.put(f"{sb.url}/rest/api/2/issue/SEC-9/worklog/{w.id}",
                         json={"started": "2026-10-12T14:00:00.000+0000", "comment": "zebra crossing"})
    assert r.status_code == 200, r.text
    assert _keys(pyc, day) == []
    assert _keys(pyc, text) == ["SEC-9"]


def test_out_of_range_dates_are_jqls_error_or_clamped(pyc, sb):
    for jql in ("worklogDate = 999999999999999", 'worklogDate in ("9999999w")', "worklogDate > -9999999w"):
        with pytest.raises(JIRAError) as e:
            pyc.enhanced_search_issues(jql)
        assert e.value.status_code == 400 and "for field 'worklogDate' is invalid" in e.value.text, jql
    r = pyc._session.post(f"{sb.url}/rest/api/2/issue/SEC-10/worklog",
                          json={"timeSpent": "1m", "started": "0001-01-01T00:00:00.000+0000"})
    assert r.status_code == 201, r.text
    assert _keys(pyc, "worklogDate < '1900-01-01'") == ["SEC-10"]  # searched from America/New_York


def test_a_remote_links_global_id_must_be_a_short_string(pyc, sb):
    api = f"{sb.url}/rest/api/2/issue/SEC-11/remotelink"
    with session_for(sb) as s:
        for gid in (["a", "b"], {"a": 1}, 7, "x" * 256):
            r = s.post(api, json={"globalId": gid, "object": {"url": "https://e.com", "title": "t"}})
            assert r.status_code == 400 and "globalId" in r.json()["errors"], gid
        assert s.get(api).json() == []
    assert _keys(pyc, 'issue in issuesWithRemoteLinksByGlobalId("a")') == []


def test_worklog_date_compares_days_for_every_operator(pyc, sb):
    week_ago = sb.store.now_ms() - 7 * 86_400_000  # later today than the search's `-1w`, the same day
    r = pyc._session.post(f"{sb.url}/rest/api/2/issue/SEC-12/worklog",
                          json={"timeSpent": "1h", "started": _ts(week_ago)})
    assert r.status_code == 201, r.text
    time.sleep(0.01)
    assert "SEC-12" in _keys(pyc, "worklogDate >= -1w")
    assert "SEC-12" not in _keys(pyc, "worklogDate < -1w")


def test_an_issue_added_after_the_start_and_taken_out_is_no_commitment(pyc, sb):
    board = next(b.id for b in pyc.boards() if b.name == "ENG board")
    for s in pyc.sprints(board, state="active"):
        pyc.update_sprint(s.id, name=s.name, startDate=s.startDate, endDate=s.endDate, state="closed")
    sprint = pyc.create_sprint("r34rev sprint", board)
    start = _ts(sb.store.now_ms() - 3_600_000)
    end = _ts(sb.store.now_ms() + 86_400_000)
    pyc.update_sprint(sprint.id, name=sprint.name, startDate=start, endDate=end, state="active")
    late = pyc.create_issue(project="ENG", summary="r34rev late", issuetype={"name": "Story"})
    late.update(fields={"customfield_10016": 5})
    sb.advance_clock(60)
    pyc.add_issues_to_sprint(sprint.id, [late.key])
    sb.advance_clock(60)
    pyc.move_to_backlog([late.key])
    pyc.update_sprint(sprint.id, name=sprint.name, startDate=start, endDate=end, state="closed")
    body = pyc._session.get(f"{sb.url}/rest/greenhopper/1.0/rapid/charts/velocity.json",
                            params={"rapidViewId": board}).json()
    assert body["sprints"][0]["id"] == sprint.id
    assert body["velocityStatEntries"][str(sprint.id)]["estimated"]["value"] == 0


def test_bulk_move_keeps_a_sub_task_in_its_parents_project(pyc, sb):
    story = pyc.create_issue(project="SEC", summary="r34rev story", issuetype={"name": "Story"})
    task = pyc.create_issue(project="SEC", summary="r34rev task", issuetype={"name": "Task"})
    with session_for(sb) as s:
        r = s.post(f"{sb.url}/rest/api/3/bulk/issues/move", json={"targetToSourcesMapping": {
            f"GRC,{C.SUBTASK},{story.key}": {"issueIdsOrKeys": [task.key], "inferFieldDefaults": True,
                                              "inferStatusDefaults": True, "inferSubtaskTypeDefault": True}}})
    assert r.status_code == 400, r.text
    assert "same project as their parent" in r.text
    assert pyc.issue(task.id).key == task.key


def test_two_concurrent_deletes_of_one_sprint(pyc, sb, monkeypatch):
    sprint = pyc.create_sprint("r34rev doomed", next(b.id for b in pyc.boards() if b.name == "GRC board"))
    pyc.add_issues_to_sprint(sprint.id, ["GRC-2", "GRC-3"])
    slow = sb.store.update

    def update(*args, **kwargs):  # widen the window between the existence check and the pop
        time.sleep(0.05)
        return slow(*args, **kwargs)

    monkeypatch.setattr(sb.store, "update", update)
    gate, codes = threading.Barrier(2), []

    def delete() -> None:
        with session_for(sb) as s:
            gate.wait()
            codes.append(s.delete(f"{sb.url}/rest/agile/1.0/sprint/{sprint.id}").status_code)

    threads = [threading.Thread(target=delete) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes) == [204, 404]


def test_a_version_released_refreshes_the_identical_jql(pyc, sb):
    """Second review: releasedVersions() results were cached on the index version, which a version's release does
    not move: the identical JQL kept its old answer."""
    version = pyc.create_version("r34rev release", "SEC")
    pyc.issue("SEC-9").update(fields={"fixVersions": [{"id": version.id}]})
    jql = "fixVersion in releasedVersions(SEC)"
    assert "SEC-9" not in _keys(pyc, jql)
    version.update(released=True)
    assert "SEC-9" in _keys(pyc, jql)


def test_a_sprint_started_refreshes_the_identical_jql(pyc, sb):
    """openSprints() results were cached likewise: a sprint started (no issue touched) kept the old answer."""
    board = next(b for b in pyc.boards() if b.type == "scrum")
    sprint = pyc.create_sprint("r34rev sprint", board.id)
    pyc.add_issues_to_sprint(sprint.id, ["SEC-10"])
    jql = "sprint in openSprints() AND key = SEC-10"
    assert _keys(pyc, jql) == []
    for other in pyc.sprints(board.id, state="active"):  # one active sprint a board, unless parallel sprints
        pyc.update_sprint(other.id, name=other.name, state="closed", startDate=other.startDate,
                          endDate=other.endDate)
    pyc.update_sprint(sprint.id, name="r34rev sprint", state="active", startDate="2026-12-01T00:00:00.000Z",
                      endDate="2026-12-15T00:00:00.000Z")
    assert _keys(pyc, jql) == ["SEC-10"]
