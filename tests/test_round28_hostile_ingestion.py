"""Round 28: hostile vendor answers the earlier rounds did not reach (end to end: sandbox over HTTP ->
dlt source -> warehouse).

- Jira search that ignores ``nextPageToken`` but hands out a fresh token with every answer: the same page
  (or the same few pages in turn) came back for ever; the token checks (a token handed back again) never
  fired, and the sync spun until killed.
- ServiceNow's token endpoint answering 200 with a proxy's HTML login page (or JSON without a token): the
  sync died at once on a bare ``Expecting value: line 1 column 1 (char 0)``, not retried, naming nothing.
  Jira's OAuth token endpoint likewise (and JSON without a token read as a refused refresh token).
- Jira comment pages (fetched when search cuts an issue's list short) that are JSON but no page (``[]``, a
  string): ``'list' object has no attribute 'get'`` failed the whole sync on every run.
- Jira ``GET /field`` answering ``[]`` or an object: read as a site without custom fields, every issue of that
  run loaded without story points and sprints (memberships removed), and no later run read them again.
- Jira search answers that leave out a part asked for (``comment``, ``attachment``, ``changelog``, the Sprint
  field): read as "none", the issue's stored comments, attachments or history were deleted, for good.
"""

from __future__ import annotations

import json
import time
import uuid

import pytest

from sandbox.core.http import Response
from tests.ingestion_harness import cut_one_issues_comments_short
from tests.test_ingestion_hostile_more import SEARCH, _jira_sync, _ot_stored, _ot_sync, _rows, _stored, _sync, _vendor


def _token_ignored(sb, cycle: int) -> dict[str, int]:
    """From the second request of each search on, answer one of the search's first ``cycle`` pages again
    (in turn), each time with a new ``nextPageToken``, as a site or proxy that ignores the token would.
    Returns the count of search requests made."""
    pages: dict[str, list[dict]] = {}
    calls = {"search": 0}

    def rewrite(req, resp):
        if req.path != SEARCH:
            return resp
        calls["search"] += 1
        asked = json.loads(req.body)
        served = pages.setdefault(asked["jql"], [])
        if resp.status == 200 and len(served) < cycle and asked.get("maxResults", 0) > 1:
            body = json.loads(resp.body)
            if body.get("issues"):
                served.append(body)
                return resp
        if not served or asked.get("maxResults", 0) <= 1 or calls["search"] > 200:
            return resp  # past 200 requests: the sandbox refuses the made-up token (a test, not a hang)
        again = dict(served[(calls["search"]) % len(served)])
        again.update(nextPageToken=uuid.uuid4().hex, isLast=False)
        return Response(200, json.dumps(again).encode())
    sb.rewrite_responses(rewrite)
    return calls


@pytest.mark.parametrize("cycle", [1, 2])
def test_jira_search_that_ignores_next_page_token_stops_with_a_clear_error(cycle, make_jira_sandbox,
                                                                           duckdb_warehouse):
    """A page served again under a new token each time, or two pages in turn: the search spun for ever
    (the read never ended, nothing loaded). It stops with an error naming the fault, in a few requests,
    and the next sync against a sound site loads every issue once."""
    sb = make_jira_sandbox(size=30)
    calls = _token_ignored(sb, cycle)
    started = time.monotonic()
    with pytest.raises(Exception, match="ignores the token, so paging would never end") as failed:
        _jira_sync(duckdb_warehouse, sb, concurrency=1)
    assert "nextPageToken" in str(failed.value)
    assert time.monotonic() - started < 30
    assert calls["search"] < 20, calls
    sb.rewrite_responses(None)
    _jira_sync(duckdb_warehouse, sb, concurrency=1)
    ids = [r[0] for r in _rows(duckdb_warehouse, "select id from jira.issues")]
    assert sorted(ids) == sorted(str(i) for i in sb.store.issues)


def test_jira_search_whose_issues_move_while_paging_is_not_taken_for_a_repeat(make_jira_sandbox,
                                                                              duckdb_warehouse):
    """The repeat check must not stop a sound read: issues edited while the search pages come back on a
    later page with a new ``updated`` (same ids, new stamps), and every issue loads in its latest version."""
    sb = make_jira_sandbox(size=40)
    touched = {"n": 0}

    def touch(req, resp):
        if req.path == SEARCH and json.loads(req.body).get("nextPageToken") and touched["n"] < 3:
            touched["n"] += 1
            sb.touch(n=10)
        return resp
    sb.rewrite_responses(touch)
    _jira_sync(duckdb_warehouse, sb, concurrency=1)
    assert touched["n"] == 3
    sb.rewrite_responses(None)
    _jira_sync(duckdb_warehouse, sb, concurrency=1)  # what moved past the first read's clock
    assert _jira_stored(duckdb_warehouse) == {str(i["id"]): i["fields"]["updated"]
                                              for i in sb.issues(fields=["updated"])}


def _jira_stored(settings) -> dict[str, str]:
    rows = _rows(settings, "select id, updated from jira.issues")
    assert len(rows) == len({r[0] for r in rows}), "jira.issues holds an id twice"
    return dict(rows)


# --- ServiceNow: a token endpoint behind a proxy ----------------------------------------------------------------

LOGIN_PAGE = b"<html><body><form action=/login>Sign in to the corporate proxy</form></body></html>"


def _token_answers(sb, bodies: list[bytes | None]) -> list[int]:
    """Answer the n-th token request with ``bodies[n]`` (status 200; None or past the list: the real answer).
    Returns a one-item list counting the token requests."""
    count = [0]

    def rewrite(req, resp):
        if not req.path.endswith("/oauth_token.do"):
            return resp
        count[0] += 1
        body = bodies[count[0] - 1] if count[0] <= len(bodies) else None
        if body is None:
            return resp
        return Response(200, body, content_type="text/html" if body.startswith(b"<") else "application/json")
    sb.rewrite_responses(rewrite)
    return count


@pytest.mark.parametrize("body", [LOGIN_PAGE, b'{"error": "proxy says no"}', b'{"access_token": ""}',
                                  b'{"access_tok'])
def test_servicenow_token_answer_without_a_token_is_retried_then_named(body, make_servicenow_sandbox,
                                                                       duckdb_warehouse):
    """Once (a proxy's hiccup): asked again, and the sync loads everything. Every time: the sync stops with an
    error naming the endpoint, what came back and the setting to check, never a bare JSON decoding error."""
    sb = make_servicenow_sandbox(size=25)
    _token_answers(sb, [body])
    _sync(duckdb_warehouse, sb)
    assert _stored(duckdb_warehouse) == _vendor(sb)

    sb.rewrite_responses(None)
    count = _token_answers(sb, [body] * 1000)
    started = time.monotonic()
    with pytest.raises(Exception, match=r"answered oauth_token\.do with 200 but no access_token .* check "
                                        "SERVICENOW_BASE_URL points at the instance") as failed:
        _sync(duckdb_warehouse, sb)
    assert "Expecting value" not in str(failed.value)
    assert time.monotonic() - started < 60
    assert count[0] <= 20, count


@pytest.mark.parametrize("vendor", ["servicenow", "onetrust"])
def test_token_lifetime_that_is_no_number_is_the_default_not_a_failed_sync(vendor, make_servicenow_sandbox,
                                                                           make_onetrust_sandbox, duckdb_warehouse):
    """``"expires_in": "soon"`` beside a good token: ``float()`` raised and the sync died holding it."""
    sb = make_servicenow_sandbox(size=10) if vendor == "servicenow" else make_onetrust_sandbox(size=10)
    token_path = "/oauth_token.do" if vendor == "servicenow" else "/oauth/token"

    def odd(req, resp):
        if req.path.endswith(token_path) and resp.status == 200:
            body = json.loads(resp.body)
            body["expires_in"] = "soon"
            resp.body = json.dumps(body).encode()
        return resp
    sb.rewrite_responses(odd)
    if vendor == "servicenow":
        _sync(duckdb_warehouse, sb)
        assert _stored(duckdb_warehouse) == _vendor(sb)
    else:
        _ot_sync(duckdb_warehouse, sb)
        assert _ot_stored(duckdb_warehouse, "vendors", "vendor_id") == {
            v["id"]: v["lastUpdatedDate"] for v in sb.vendors() if not v.get("markForDelete")}


def test_token_lifetime_rule():
    from pipelines.common.bearer import token_lifetime as _lifetime

    assert [_lifetime(v, 1800.0) for v in (None, "", "soon", "nan", "inf", -5, 0, "3600", 120)] == \
        [1800.0] * 7 + [3600.0, 120.0]


@pytest.mark.parametrize("body", [LOGIN_PAGE, b'{"token_type": "Bearer"}'])
def test_jira_token_endpoint_answer_without_a_token_names_the_auth_url_not_a_refused_grant(body,
                                                                                          make_jira_sandbox):
    """Jira OAuth behind a proxy: a login page with 200 died on a bare JSON decoding error, and JSON without a
    token said the refresh token was refused ("re-run the OAuth flow"), sending the admin the wrong way."""
    from pipelines.common.http import VendorAuthError
    from pipelines.jira.auth import JiraOAuth
    from pipelines.jira.tokens import MemoryRefreshTokenStore

    sb = make_jira_sandbox(size=5)
    sb.rewrite_responses(lambda req, resp: Response(200, body, content_type="text/html" if body.startswith(b"<")
                                                    else "application/json") if req.path == "/oauth/token" else resp)
    auth = JiraOAuth(sb.credentials["client_id"], sb.credentials["client_secret"],
                     MemoryRefreshTokenStore("stored-refresh-token"), auth_url=sb.url)
    with pytest.raises(VendorAuthError, match=r"token endpoint answered 200 without an access_token .* check "
                                              "JIRA_AUTH_URL") as failed:
        auth.auth_header()
    assert "re-run the OAuth flow" not in str(failed.value)
    assert "stored-refresh-token" not in str(failed.value)


# --- Jira: comment pages that are no page -----------------------------------------------------------------------

@pytest.mark.parametrize(("answer", "shape"), [(b"[]", "a JSON array"), (b'"busy"', "a JSON string"),
                                               (b'{"comments": "none", "total": 5}', "'comments' as a JSON string")])
def test_jira_comment_page_that_is_no_page_quarantines_its_issue_not_the_sync(answer, shape, make_jira_sandbox,
                                                                              duckdb_warehouse):
    sb = make_jira_sandbox(size=20)

    def no_page(resp):
        resp.body = answer
    victim, broken = cut_one_issues_comments_short(sb, no_page)
    _jira_sync(duckdb_warehouse, sb, concurrency=1)
    ids = {str(i) for i in sb.store.issues}
    assert {r[0] for r in _rows(duckdb_warehouse, "select id from jira.issues")} == ids - {victim["id"]}
    held = dict(_rows(duckdb_warehouse, "select record_id, reason from jira.quarantine where entity = 'issues'"))
    assert set(held) == {victim["id"]}, held
    assert f"/comment answered startAt=0 with {shape}, not a page of comments" in held[victim["id"]]
    broken["on"] = False
    _jira_sync(duckdb_warehouse, sb, concurrency=1)
    assert {r[0] for r in _rows(duckdb_warehouse, "select id from jira.issues")} == ids


# --- Jira: a field list that is no field list -------------------------------------------------------------------

def _points_and_sprints(settings) -> tuple[dict, list]:
    points = dict(_rows(settings, "select id, story_points from jira.issues"))
    sprints = _rows(settings, "select sprint_id, issue_id from jira.sprint_issues "
                              "where not coalesce(_tombstone, false)")
    return points, sorted(sprints)


@pytest.mark.parametrize("answer", [b"[]", b'{"values": []}', b'[{"id": "customfield_10016", "name": "Story Points"}]'])
def test_jira_field_list_that_is_no_field_list_stops_the_run_instead_of_wiping_points_and_sprints(
        answer, make_jira_sandbox, duckdb_warehouse):
    sb = make_jira_sandbox(size=40)
    _jira_sync(duckdb_warehouse, sb, concurrency=1)
    before = _points_and_sprints(duckdb_warehouse)
    assert any(before[0].values()) and before[1]  # the seed has story points and sprint members
    time.sleep(1.05)
    sb.touch(n=40)
    sb.sync_index()
    sb.rewrite_responses(lambda req, resp: Response(200, answer) if req.path == "/rest/api/3/field" else resp)
    with pytest.raises(Exception, match=r"answered rest/api/3/field with .* lacks the system fields summary, "
                                        "updated: not the site's field list"):
        _jira_sync(duckdb_warehouse, sb, concurrency=1)
    assert _points_and_sprints(duckdb_warehouse) == before
    sb.rewrite_responses(None)
    _jira_sync(duckdb_warehouse, sb, concurrency=1)
    assert _points_and_sprints(duckdb_warehouse) == before
    assert _jira_stored(duckdb_warehouse) == {str(i["id"]): i["fields"]["updated"]
                                              for i in sb.issues(fields=["updated"])}


# --- Jira: search answers that leave out a part asked for --------------------------------------------------------

def _children(settings) -> dict[str, list]:
    return {t: sorted(r[0] for r in _rows(settings, f"select {k} from jira.{t} where not coalesce(_tombstone, false)"))
            for t, k in (("comments", "id"), ("issue_changelog", "id"), ("attachments", "id"),
                         ("sprint_issues", "sprint_id || ':' || issue_id"))}


def _refetch(settings) -> list:
    state = settings.pipeline("jira").state
    return state["sources"]["jira"]["resources"]["issues"].get("refetch", [])


@pytest.mark.parametrize("part", ["comment", "attachment", "changelog", "sprint"])
def test_jira_issue_sent_without_a_part_keeps_or_reads_its_children(part, make_jira_sandbox,
                                                                                   duckdb_warehouse):
    sb = make_jira_sandbox(size=40)
    _jira_sync(duckdb_warehouse, sb, concurrency=1)
    assert _refetch(duckdb_warehouse) == []  # a sound answer (null custom fields included) asks for no re-read
    before = _children(duckdb_warehouse)
    assert all(before.values()), {k: len(v) for k, v in before.items()}
    time.sleep(1.05)
    sb.touch(n=40)  # a new version of every issue (the touch adds a history item too)
    sb.sync_index()

    dropped: set[str] = set()

    def drop(req, resp):
        body = json.loads(resp.body)
        for issue in body.get("issues") or []:
            fields = issue.get("fields") or {}
            dropped.add(str(issue["id"]))
            if part == "changelog":
                issue.pop("changelog", None)
            elif part == "sprint":  # the Sprint field, where the issue is in a sprint
                keys = [k for k, v in fields.items() if k.startswith("customfield_") and isinstance(v, list)
                        and any(isinstance(x, dict) and "boardId" in x for x in v)]
                for key in keys:
                    fields.pop(key)
                if not keys:
                    dropped.discard(str(issue["id"]))
            else:
                fields[part] = None
        resp.body = json.dumps(body).encode()
    sb.rewrite_responses(lambda req, resp: drop(req, resp) or resp if req.path == SEARCH else resp)
    _jira_sync(duckdb_warehouse, sb, concurrency=1)
    table = {"comment": "comments", "attachment": "attachments", "changelog": "issue_changelog",
             "sprint": "sprint_issues"}[part]
    if part in ("comment", "changelog"):  # read whole from the issue's own endpoint at once, not re-read later
        assert set(before[table]) <= set(_children(duckdb_warehouse)[table])
        asked = [r for r in sb.request_log if r["path"].endswith("/comment" if part == "comment" else "/changelog")]
        assert len({r["path"] for r in asked}) >= len(dropped)
    else:  # attachments (off on a site) and Sprint (outside a project's field context) may be left out for good:
        assert _children(duckdb_warehouse)[table] == before[table]  # kept, not wiped, and not re-read every run
    assert _refetch(duckdb_warehouse) == [] and dropped
    sb.rewrite_responses(None)
    _jira_sync(duckdb_warehouse, sb, concurrency=1)
    after = _children(duckdb_warehouse)
    assert _refetch(duckdb_warehouse) == []
    for name, rows in after.items():  # the touch's history items loaded, nothing else changed
        assert set(before[name]) < set(rows) if name == "issue_changelog" else rows == before[name], name
