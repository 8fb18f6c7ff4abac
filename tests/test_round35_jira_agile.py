"""Round 35: Jira Software (Agile 1.0) emulator fidelity, attacked with pycontribs `jira` and plain requests.

Gaps found and fixed:
- A deleted sprint's id was handed out again (ids were max+1): Jira never reuses one; its GET stays a 404.
- The velocity chart's commitment read only an issue's last move into / out of a sprint: an issue there at the
  start, taken out and put back (or put back and taken out again) dropped out of the commitment.
- POST /sprint/{id}/issue took unknown keys, an empty or missing `issues` list (204, nothing said) and ignored
  `rankBeforeIssue` / `rankAfterIssue`.
- Sprint dates: a bad `endDate` was reported under `startDate`; POST /sprint took an end before the start.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from jira import JIRA
from jira.exceptions import JIRAError

from sandbox.jira.routes_sprint_update import set_parallel_sprints
from tests.sandbox.jira.helpers import session_for

END = "2099-01-01T00:00:00.000+0000"


@pytest.fixture(scope="module")
def sb():
    from sandbox.jira import JiraSandbox

    with JiraSandbox(seed=42, size=40, tls=False) as box:
        set_parallel_sprints(box, True)  # new sprints start beside the seeded active ones (which never move)
        yield box


@pytest.fixture(scope="module")
def pyc(sb):
    client = JIRA(server=sb.url, basic_auth=(sb.credentials["email"], sb.credentials["api_token"]), max_retries=0)
    yield client
    client.close()


@pytest.fixture(scope="module")
def s(sb):
    with session_for(sb) as session:
        yield session


def _agile(sb) -> str:
    return f"{sb.url}/rest/agile/1.0"


def _board(pyc: JIRA, name: str = "GRC board") -> int:
    return next(b.id for b in pyc.boards() if b.name == name)


def _new_issues(pyc: JIRA, points: list[float], project: str = "GRC") -> list[str]:
    """Fresh tasks (nothing seeded moves), each with its story points."""
    keys = []
    for n, value in enumerate(points):
        issue = pyc.create_issue(project=project, issuetype={"name": "Task"}, summary=f"r35 agile {n}")
        pyc._session.put(f"{pyc._options['server']}/rest/agile/1.0/issue/{issue.key}/estimation",
                         data=f'{{"value": {value}}}').raise_for_status()
        keys.append(issue.key)
    return keys


def _ts(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


# --- (a) sprint ids are never reused -------------------------------------------------------------------------

def test_a_deleted_sprints_id_stays_retired(pyc, sb, s):
    board = _board(pyc)
    first = pyc.create_sprint("r35 doomed", board)
    pyc.sprint(first.id).delete()
    r = s.get(f"{_agile(sb)}/sprint/{first.id}")
    assert r.status_code == 404
    assert r.json() == {"errorMessages": [f"Sprint with id {first.id} does not exist or you do not have "
                                          "permission to see it."], "errors": {}}
    with pytest.raises(JIRAError) as err:
        pyc.sprint(first.id)
    assert err.value.status_code == 404
    second = pyc.create_sprint("r35 after", board)
    assert second.id > first.id  # max+1 handed the deleted id out again
    assert s.get(f"{_agile(sb)}/sprint/{first.id}").status_code == 404
    assert first.id not in [x.id for x in pyc.sprints(board)]
    r = s.post(f"{_agile(sb)}/sprint/{first.id}/issue", json={"issues": [_new_issues(pyc, [1])[0]]})
    assert r.status_code == 404 and r.json()["errorMessages"][0].startswith(f"Sprint with id {first.id} ")


# --- (b) the velocity chart's commitment ---------------------------------------------------------------------

def test_velocity_commitment_is_the_sprint_at_its_start_however_often_issues_moved(pyc, sb, s):
    board = _board(pyc)
    a, b, c, d, e = _new_issues(pyc, [3, 5, 8, 13, 21])
    sprint = pyc.create_sprint("r35 velocity", board)
    pyc.add_issues_to_sprint(sprint.id, [a, b, c, e])
    sb.advance_clock(5)
    pyc.move_to_backlog([e])  # out again before the start: not committed
    start = sb.store.now_ms() + 60_000
    pyc.update_sprint(sprint.id, name="r35 velocity", startDate=_ts(start), endDate=END, state="active")
    sb.advance_clock(120)  # now after the start
    for step in range(2):  # a: out and back twice; b: out, back, out
        pyc.move_to_backlog([a, b])
        sb.advance_clock(5)
        pyc.add_issues_to_sprint(sprint.id, [a] if step else [a, b])
        sb.advance_clock(5)
    pyc.add_issues_to_sprint(sprint.id, [d, e])  # added after the start: not committed
    sb.advance_clock(5)
    pyc.move_to_backlog([d])
    sb.advance_clock(5)
    pyc.add_issues_to_sprint(sprint.id, [d])
    pyc.transition_issue(c, "41", fields={"resolution": {"name": "Done"}})
    pyc.update_sprint(sprint.id, name="r35 velocity", startDate=_ts(start), endDate=END, state="closed")

    r = s.get(f"{sb.url}/rest/greenhopper/1.0/rapid/charts/velocity.json", params={"rapidViewId": board})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["sprints"][0]["id"] == sprint.id
    entry = body["velocityStatEntries"][str(sprint.id)]
    assert entry["estimated"] == {"value": 16.0, "text": "16"}  # a + b + c, in at the start
    assert entry["completed"] == {"value": 8.0, "text": "8"}  # c


def test_velocity_an_issue_created_into_a_started_sprint_is_not_committed(pyc, sb, s):
    board = _board(pyc)
    sprint = pyc.create_sprint("r35 created late", board)
    pyc.update_sprint(sprint.id, name="r35 created late", startDate=_ts(sb.store.now_ms() - 60_000), endDate=END,
                      state="active")
    sb.advance_clock(30)
    late = pyc.create_issue(project="GRC", issuetype={"name": "Task"}, summary="r35 born in sprint",
                            customfield_10020=sprint.id, customfield_10016=5)
    assert [x.id for x in pyc.issue(late.key, fields="customfield_10020").fields.customfield_10020] == [sprint.id]
    pyc.update_sprint(sprint.id, name="r35 created late", startDate=_ts(sb.store.now_ms() - 90_000), endDate=END,
                      state="closed")
    entry = s.get(f"{sb.url}/rest/greenhopper/1.0/rapid/charts/velocity.json",
                  params={"rapidViewId": board}).json()["velocityStatEntries"][str(sprint.id)]
    assert entry["estimated"]["value"] == 0.0
    report = s.get(f"{sb.url}/rest/greenhopper/1.0/rapid/charts/sprintreport",
                   params={"rapidViewId": board, "sprintId": sprint.id}).json()["contents"]
    assert report["issueKeysAddedDuringSprint"] == {late.key: True}  # the sprint report agrees


# --- POST /sprint/{id}/issue ---------------------------------------------------------------------------------

def test_moving_unknown_or_no_issues_into_a_sprint_is_refused_and_nothing_moves(pyc, sb, s):
    sprint = pyc.create_sprint("r35 moves", _board(pyc))
    (known,) = _new_issues(pyc, [2])
    with pytest.raises(JIRAError) as err:
        pyc.add_issues_to_sprint(sprint.id, [known, "GRC-99999"])
    assert err.value.status_code == 400
    assert "GRC-99999" in err.value.response.json()["errorMessages"][0]
    assert s.get(f"{_agile(sb)}/sprint/{sprint.id}/issue").json()["total"] == 0  # not even the known one
    for body in ({"issues": []}, {}):
        r = s.post(f"{_agile(sb)}/sprint/{sprint.id}/issue", json=body)
        assert r.status_code == 400, body
        assert set(r.json()) == {"errorMessages", "errors"} and r.json()["errors"]["issues"]
    assert pyc.add_issues_to_sprint(sprint.id, [known]).status_code == 204


def test_moving_into_a_sprint_honours_rank_before_and_after(pyc, sb, s):
    sprint = pyc.create_sprint("r35 ranked", _board(pyc))
    keys = _new_issues(pyc, [1, 1, 1, 1])
    pyc.add_issues_to_sprint(sprint.id, keys[:2])

    def order() -> list[str]:
        return [i["key"] for i in s.get(f"{_agile(sb)}/sprint/{sprint.id}/issue").json()["issues"]]

    assert order() == keys[:2]
    r = s.post(f"{_agile(sb)}/sprint/{sprint.id}/issue", json={"issues": [keys[2]], "rankBeforeIssue": keys[0]})
    assert r.status_code == 204, r.text
    assert order() == [keys[2], keys[0], keys[1]]
    r = s.post(f"{_agile(sb)}/sprint/{sprint.id}/issue",
               json={"issues": [keys[3]], "rankAfterIssue": keys[2], "rankCustomFieldId": 10019})
    assert r.status_code == 204, r.text
    assert order() == [keys[2], keys[3], keys[0], keys[1]]
    r = s.post(f"{_agile(sb)}/sprint/{sprint.id}/issue",
               json={"issues": [keys[0]], "rankBeforeIssue": keys[1], "rankAfterIssue": keys[2]})
    assert r.status_code == 400 and r.json()["errorMessages"]
    r = s.post(f"{_agile(sb)}/sprint/{sprint.id}/issue", json={"issues": [keys[0]], "rankBeforeIssue": "GRC-99999"})
    assert r.status_code == 400 and r.json()["errorMessages"]


# --- sprint dates ---------------------------------------------------------------------------------------------

def test_sprint_date_errors_name_the_field_and_an_end_before_the_start_is_refused(pyc, sb, s):
    board = _board(pyc)
    r = s.post(f"{_agile(sb)}/sprint", json={"name": "r35 bad end", "originBoardId": board, "endDate": "soon"})
    assert r.status_code == 400 and r.json() == {"errorMessages": [], "errors": {"endDate": "Invalid date format."}}
    with pytest.raises(JIRAError) as err:
        pyc.create_sprint("r35 backwards", board, startDate="2026-12-10T00:00:00.000Z",
                          endDate="2026-12-01T00:00:00.000Z")
    assert err.value.status_code == 400 and "endDate" in err.value.response.json()["errors"]
    assert "r35 backwards" not in [x.name for x in pyc.sprints(board)]
    sprint = pyc.create_sprint("r35 dates", board)
    for method in (s.post, s.put):
        r = method(f"{_agile(sb)}/sprint/{sprint.id}", json={"name": "r35 dates", "endDate": "later"})
        assert r.status_code == 400 and r.json()["errors"] == {"endDate": "Invalid date format."}


# --- shared sprints ------------------------------------------------------------------------------------------

def test_a_sprint_holding_another_boards_issue_is_listed_on_that_board_too(pyc, sb):
    grc, sec = _board(pyc), _board(pyc, "SEC board")
    sprint = pyc.create_sprint("r35 shared", grc)
    assert sprint.id not in [x.id for x in pyc.sprints(sec)]
    (sec_issue,) = _new_issues(pyc, [1], project="SEC")
    assert pyc.add_issues_to_sprint(sprint.id, [sec_issue]).status_code == 204  # Jira takes it
    listed = {x.id: x for x in pyc.sprints(sec, state="future")}
    assert sprint.id in listed and listed[sprint.id].originBoardId == grc
    assert sprint.id in [x.id for x in pyc.sprints(grc)]
    pyc.move_to_backlog([sec_issue])
    assert sprint.id not in [x.id for x in pyc.sprints(sec)]


# --- writes the reference lists that were 405 / 404 ----------------------------------------------------------

def _new_epic(pyc: JIRA, summary: str) -> str:
    return pyc.create_issue(project="GRC", issuetype={"name": "Epic"}, summary=summary).key


def test_partial_update_of_an_epic(pyc, sb, s):
    key = _new_epic(pyc, "r35 epic")
    r = s.post(f"{_agile(sb)}/epic/{key}", json={"name": "r35 short", "color": {"key": "color_11"}, "done": True})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["key"], body["name"], body["summary"], body["color"], body["done"]) == (
        key, "r35 short", "r35 epic", {"key": "color_11"}, True)
    r = s.post(f"{_agile(sb)}/epic/{key}", json={"summary": "r35 epic renamed"})  # partial: the rest stays
    assert r.status_code == 200 and r.json()["name"] == "r35 short" and r.json()["done"] is True
    assert pyc.issue(key).fields.summary == "r35 epic renamed"
    assert s.get(f"{_agile(sb)}/epic/{key}").json() == r.json()
    done = s.get(f"{_agile(sb)}/board/{_board(pyc)}/epic", params={"done": "true"}).json()["values"]
    assert key in [e["key"] for e in done]
    for bad in ({"color": {"key": "color_99"}}, {"done": "yes"}, {"summary": ""}):
        r = s.post(f"{_agile(sb)}/epic/{key}", json=bad)
        assert r.status_code == 400 and r.json()["errors"], bad
    assert s.post(f"{_agile(sb)}/epic/GRC-99999", json={"name": "x"}).status_code == 404


def test_rank_an_epic_before_or_after_another(pyc, sb, s):
    first, second = _new_epic(pyc, "r35 epic one"), _new_epic(pyc, "r35 epic two")

    def rank_of(key: str) -> str:
        return sb.store.resolve(key).rank

    assert rank_of(first) < rank_of(second)
    r = s.put(f"{_agile(sb)}/epic/{second}/rank", json={"rankBeforeEpic": first, "rankCustomFieldId": 10019})
    assert r.status_code == 204, r.text
    assert rank_of(second) < rank_of(first)
    assert s.put(f"{_agile(sb)}/epic/{second}/rank", json={"rankAfterEpic": first}).status_code == 204
    assert rank_of(first) < rank_of(second)
    assert s.put(f"{_agile(sb)}/epic/{second}/rank", json={}).status_code == 400
    assert s.put(f"{_agile(sb)}/epic/{second}/rank", json={"rankBeforeEpic": "GRC-99999"}).status_code == 404


def test_move_issues_onto_a_board(pyc, sb, s):
    board = _board(pyc)
    keys = _new_issues(pyc, [1, 1])
    (other,) = _new_issues(pyc, [1], project="SEC")
    ranked = lambda: [i.key for i in pyc.search_issues(f"key in ({', '.join(keys)}) ORDER BY Rank ASC")]  # noqa: E731
    assert ranked() == keys  # created in that order
    r = s.post(f"{_agile(sb)}/board/{board}/issue", json={"issues": keys, "rankBeforeIssue": keys[0]})
    assert r.status_code == 204, r.text
    assert ranked() == [keys[1], keys[0]]  # the second just before the first (the anchor itself stays)
    r = s.post(f"{_agile(sb)}/board/{board}/issue", json={"issues": [keys[1]], "rankAfterIssue": keys[0]})
    assert r.status_code == 204, r.text
    assert ranked() == keys
    r = s.post(f"{_agile(sb)}/board/{board}/issue", json={"issues": [keys[0], other]})
    assert r.status_code == 207
    assert [(e["issueKey"], e["status"]) for e in r.json()["entries"]] == [(keys[0], 200), (other, 400)]
    assert s.post(f"{_agile(sb)}/board/{board}/issue", json={"issues": ["GRC-99999"]}).status_code == 400
    assert s.post(f"{_agile(sb)}/board/{board}/issue", json={"issues": keys * 26}).status_code == 400
    assert s.post(f"{_agile(sb)}/board/9999/issue", json={"issues": keys}).status_code == 404
