"""JQL over /search/jql: time zones, epoch millis, ordering, nextPageToken paging, clause coverage, errors."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from sandbox.jira import catalog as C

from .helpers import session_for


def search_all(s, url: str, jql: str, page: int = 7, fields: str = "updated,labels,status", **extra) -> list[dict]:
    """Follow nextPageToken to the end; guards against loops."""
    out, token, seen_tokens = [], None, set()
    while True:
        params = {"jql": jql, "maxResults": page, "fields": fields, **extra}
        if token:
            params["nextPageToken"] = token
        r = s.get(f"{url}/rest/api/3/search/jql", params=params)
        assert r.status_code == 200, r.text
        body = r.json()
        assert "total" not in body and "startAt" not in body
        out += body["issues"]
        token = body.get("nextPageToken")
        assert body["isLast"] is (token is None)
        if token is None:
            return out
        assert token not in seen_tokens
        seen_tokens.add(token)


def keys(jql: str, s, url: str) -> set[str]:
    return {i["key"] for i in search_all(s, url, jql, page=100, fields="key,summary")}


def _local_minute(ms: int, tz: str) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")


def test_minute_literal_uses_user_time_zone_and_epoch_millis_does_not(jira_sandbox, jira_session):
    sb, s = jira_sandbox, jira_session
    assert s.get(f"{sb.url}/rest/api/3/myself").json()["timeZone"] == "America/New_York"
    live = sorted(sb.store.issues.values(), key=lambda i: i.updated)
    pivot = live[len(live) // 2].updated // 60_000 * 60_000  # minute-aligned instant
    expected = {i.key for i in live if i.updated >= pivot}
    local = _local_minute(pivot, "America/New_York")
    utc_wall = _local_minute(pivot, "UTC")
    assert keys(f'updated >= "{local}"', s, sb.url) == expected
    assert keys(f'updated >= "{local.replace("-", "/")}"', s, sb.url) == expected
    assert keys(f"updated >= {pivot}", s, sb.url) == expected
    # The classic connector bug: formatting the checkpoint in UTC shifts the window by the user's offset.
    shifted = keys(f'updated >= "{utc_wall}"', s, sb.url)
    assert shifted != expected and shifted < expected


def test_minute_literal_in_utc_user_zone(make_jira_sandbox):
    sb = make_jira_sandbox(size=80, user_time_zone="UTC")
    with session_for(sb) as s:
        pivot = sorted(i.updated for i in sb.store.issues.values())[40] // 60_000 * 60_000
        expected = {i.key for i in sb.store.issues.values() if i.updated >= pivot}
        assert keys(f'updated >= "{_local_minute(pivot, "UTC")}"', s, sb.url) == expected
        # minute precision: seconds inside the minute are invisible to the literal
        later = {i.key for i in sb.store.issues.values() if i.updated >= pivot + 60_000}
        assert keys(f'updated > "{_local_minute(pivot, "UTC")}"', s, sb.url) >= later


@pytest.mark.parametrize("direction", ["ASC", "DESC"])
def test_order_by_updated_then_key(jira_sandbox, jira_session, direction):
    rows = search_all(jira_session, jira_sandbox.url, f"project in (SEC, GRC, ENG) ORDER BY updated {direction}, key",
                      page=50)
    stamps = [r["fields"]["updated"] for r in rows]
    assert stamps == sorted(stamps, reverse=direction == "DESC")
    assert len(rows) == len(jira_sandbox.store.issues)
    # ties on the same millisecond exist in the dataset and are broken deterministically
    assert len(set(stamps)) < len(stamps)


def test_order_by_key_and_created(jira_sandbox, jira_session):
    rows = search_all(jira_session, jira_sandbox.url, "project = SEC ORDER BY key ASC", page=30, fields="created")
    nums = [int(r["key"].split("-")[1]) for r in rows]
    assert nums == sorted(nums)
    rows = search_all(jira_session, jira_sandbox.url, "project = GRC ORDER BY created DESC", page=30, fields="created")
    created = [r["fields"]["created"] for r in rows]
    assert created == sorted(created, reverse=True)


def test_next_page_token_returns_every_issue_exactly_once(jira_sandbox, jira_session):
    rows = search_all(jira_session, jira_sandbox.url, "project = ENG ORDER BY updated ASC", page=7)
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids))
    assert set(ids) == {str(i.id) for i in jira_sandbox.store.issues.values() if i.project == "ENG"}
    # POST pages the same way (ids only by default, so one page holds them all)
    post = jira_session.post(f"{jira_sandbox.url}/rest/api/3/search/jql",
                             json={"jql": "project = ENG ORDER BY updated ASC", "maxResults": 1000}).json()
    assert [i["id"] for i in post["issues"]] == ids and post["isLast"] is True


def test_default_fields_is_id_only_and_id_pages_go_to_5000(jira_sandbox, jira_session):
    r = jira_session.get(f"{jira_sandbox.url}/rest/api/3/search/jql", params={"jql": "project = SEC"}).json()
    assert r["issues"][0].keys() == {"id"} and len(r["issues"]) == 50
    r = jira_session.get(f"{jira_sandbox.url}/rest/api/3/search/jql",
                         params={"jql": "project in (SEC,GRC,ENG)", "maxResults": 9999}).json()
    assert len(r["issues"]) == len(jira_sandbox.store.issues) and r["isLast"] is True
    r = jira_session.get(f"{jira_sandbox.url}/rest/api/3/search/jql",
                         params={"jql": "project in (SEC,GRC,ENG)", "maxResults": 9999, "fields": "*all"}).json()
    assert len(r["issues"]) == 100 and r["nextPageToken"]


@pytest.mark.parametrize("version", ["2", "3"])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_legacy_search_is_gone(jira_sandbox, jira_session, version, method):
    r = jira_session.request(method, f"{jira_sandbox.url}/rest/api/{version}/search",
                             params={"jql": "project = SEC"}, json={"jql": "project = SEC"})
    assert r.status_code == 410
    assert r.json()["errorMessages"][0].startswith("The requested API has been removed.")
    assert r.json()["errors"] == {}


def test_clause_coverage(jira_sandbox, jira_session):
    sb, s, url = jira_sandbox, jira_session, jira_sandbox.url
    live = list(sb.store.issues.values())

    def expect(jql: str, pred) -> None:
        assert keys(jql, s, url) == {i.key for i in live if pred(i)}, jql

    expect('labels = "control:AC-2"', lambda i: "control:AC-2" in i.labels)
    expect('labels in ("control:CM-3", audit) AND project != ENG',
           lambda i: bool({"control:CM-3", "audit"} & set(i.labels)) and i.project != "ENG")
    expect("labels is EMPTY AND project = GRC", lambda i: not i.labels and i.project == "GRC")
    expect('status = "In Progress" OR status = Done',
           lambda i: i.status_id in ("3", C.DONE_STATUS))
    expect("statusCategory = Done AND issuetype = Bug",
           lambda i: i.status_id == C.DONE_STATUS and i.type_id == C.BUG)
    expect("statusCategory != Done AND type in (Story, Task)",
           lambda i: i.status_id != C.DONE_STATUS and i.type_id in (C.STORY, C.TASK))
    epic = next(i for i in live if i.type_id == C.EPIC and sb.store.children.get(i.id))
    expect(f"parent = {epic.key}", lambda i: i.parent_id == epic.id)
    sprint = next(x for x in sb.store.sprints.values() if x.state == "active")
    expect(f"sprint = {sprint.id}", lambda i: sprint.id in i.sprints)
    expect("sprint in openSprints()", lambda i: any(sb.store.sprints[x].state == "active" for x in i.sprints))
    expect("key in (SEC-1, SEC-2, GRC-3)", lambda i: i.key in ("SEC-1", "SEC-2", "GRC-3"))
    pivot = sorted(i.created for i in live)[len(live) // 3]
    expect(f"(project = SEC OR project = GRC) AND created < {pivot}",
           lambda i: i.project in ("SEC", "GRC") and i.created < pivot)
    expect('"Story point estimate" >= 5', lambda i: i.points is not None and i.points >= 5)
    expect("cf[10016] is EMPTY AND project = SEC", lambda i: i.points is None and i.project == "SEC")
    expect(f"assignee = {sb.store.me.account_id} OR assignee is EMPTY",
           lambda i: i.assignee in (sb.store.me.account_id, None))


@pytest.mark.parametrize(("jql", "fragment"), [
    ("foo = bar", "Field 'foo' does not exist"),
    ("project = NOPE", "The value 'NOPE' does not exist for the field 'project'."),
    ("order by key desc", "Unbounded JQL queries are not allowed here."),
    ("", "Unbounded JQL queries are not allowed here."),
    ("project = SEC AND", "Error in the JQL Query"),
    ('updated >= "yesterday-ish"', "Date value 'yesterday-ish' for field 'updated' is invalid."),
    ("project ~ SEC", "The operator '~' is not supported by the 'project' field."),
    ("project = SEC ORDER BY description", "Not able to sort using field 'description'."),
])
def test_bad_jql_is_400_with_jira_shape(jira_sandbox, jira_session, jql, fragment):
    r = jira_session.get(f"{jira_sandbox.url}/rest/api/3/search/jql", params={"jql": jql})
    assert r.status_code == 400
    body = r.json()
    assert body["errors"] == {} and fragment in body["errorMessages"][0]


def test_foreign_or_corrupt_page_token_is_400(jira_sandbox, jira_session):
    first = jira_session.get(f"{jira_sandbox.url}/rest/api/3/search/jql",
                             params={"jql": "project = SEC", "maxResults": 2}).json()
    r = jira_session.get(f"{jira_sandbox.url}/rest/api/3/search/jql",
                         params={"jql": "project = GRC", "nextPageToken": first["nextPageToken"]})
    assert r.status_code == 400
    r = jira_session.get(f"{jira_sandbox.url}/rest/api/3/search/jql",
                         params={"jql": "project = SEC", "nextPageToken": "garbage"})
    assert r.status_code == 400
