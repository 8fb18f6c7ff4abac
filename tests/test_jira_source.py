"""The Jira dlt source against the Jira sandbox (user time zone America/New_York), into DuckDB."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import duckdb
import pytest
import requests
from dlt.pipeline.exceptions import PipelineStepFailed

from pipelines.common.http import RetryPolicy, VendorAuthError
from pipelines.jira import jira_source
from pipelines.jira.helpers import JiraClient
from pipelines.jira.tokens import FileRefreshTokenStore, default_token_store
from pipelines.jira.vault_tokens import VaultRefreshTokenStore

FAST = RetryPolicy(backoff_base_seconds=0.01, backoff_max_seconds=0.05)


def _pat_source(sb, **kwargs):
    return jira_source(base_url=sb.url, auth_mode="pat", pat=sb.credentials["pat"], policy=FAST, **kwargs)


def _run(pipeline, source) -> dict[str, int]:
    pipeline.run(source, loader_file_format="parquet")
    return dict(pipeline.last_trace.last_normalize_info.row_counts)


def _rows(settings, sql):
    with duckdb.connect(settings.duckdb_path, read_only=True) as con:
        return con.execute(sql).fetchall()


def _deleted(settings) -> set[str]:
    try:
        return {r[0] for r in _rows(settings, "select record_id from jira.deletions where entity = 'issues'")}
    except duckdb.CatalogException:
        return set()


def _stored(settings) -> dict[str, str]:
    """Live issues in the warehouse: id -> updated (issues marked deleted left out)."""
    gone = _deleted(settings)
    return {i: u for i, u in _rows(settings, "select id, updated from jira.issues") if i not in gone}


def _vendor(sb) -> dict[str, str]:
    return {i["id"]: i["fields"]["updated"] for i in sb.issues(fields=["updated"])}


def _error_chain(exc: BaseException) -> list[BaseException]:
    chain = []
    while exc is not None:
        chain.append(exc)
        exc = exc.__cause__ or exc.__context__
    return chain


def test_full_load_then_nothing_then_only_touched_rows(make_jira_sandbox, duckdb_warehouse):
    sb = make_jira_sandbox(size=200)
    pipeline = duckdb_warehouse.pipeline("jira")

    assert _run(pipeline, _pat_source(sb, page_size=17))["issues"] == 200
    assert _stored(duckdb_warehouse) == _vendor(sb)

    assert _run(pipeline, _pat_source(sb, page_size=17)).get("issues", 0) == 0, "unchanged Jira moves no rows"

    # Twice: the second delta starts minutes before "now", where a JQL date read in the user's time
    # zone (New York) instead of UTC would open the window hours too late and miss every change.
    for n in (7, 4):
        touched = sb.touch(n)
        assert _run(pipeline, _pat_source(sb, page_size=17)).get("issues", 0) == n
        assert _stored(duckdb_warehouse) == _vendor(sb)
        last_load = "(select max(_dlt_load_id) from jira.issues)"
        moved = _rows(duckdb_warehouse, f"select key from jira.issues where _dlt_load_id = {last_load}")
        assert {r[0] for r in moved} == set(touched)
    paths = [r["path"] for r in sb.request_log]
    assert "/rest/api/3/search/jql" in paths
    legacy = [p for p in paths if re.search(r"/rest/api/\w+/search$", p)]
    assert not legacy, "the removed legacy search must never be called"


def test_story_points_come_from_the_discovered_field():
    from pipelines.jira.flatten import issue_row
    from pipelines.jira.helpers import discover_fields

    # Sites keep story points in different custom fields: found by name (or type), never assumed.
    fm = discover_fields([{"id": "customfield_10099", "name": "Story Points", "custom": True, "schema": {}},
                          {"id": "customfield_10020", "name": "Sprint", "custom": True,
                           "schema": {"custom": "com.pyxis.greenhopper.jira:gh-sprint"}}])
    bean = {"id": "1", "key": "A-1", "fields": {"customfield_10099": 8.0, "customfield_10016": 3,
                                                "customfield_10020": [{"id": 7}]}}
    row = issue_row(bean, fm)
    assert (row["story_points"], row["sprint_ids"]) == ("8", ["7"])


def test_deleted_issues_are_marked_by_the_switchable_reconciliation(make_jira_sandbox, duckdb_warehouse):
    sb = make_jira_sandbox(size=120)
    pipeline = duckdb_warehouse.pipeline("jira")
    _run(pipeline, _pat_source(sb, reconcile_deletes=True))
    assert _deleted(duckdb_warehouse) == set()

    keys = [i["key"] for i in sb.issues(fields=["summary"])][5:8]
    ids = {i["id"] for i in sb.issues(fields=["summary"]) if i["key"] in keys}
    assert sb.delete(keys) == keys
    _run(pipeline, _pat_source(sb))
    assert _deleted(duckdb_warehouse) == set(), "reconciliation is off unless asked for"

    _run(pipeline, _pat_source(sb, reconcile_deletes=True, run_id="recon-1"))
    rows = _rows(duckdb_warehouse, "select record_id, detected_by, run_id from jira.deletions where entity='issues'")
    assert sorted(rows) == sorted((i, "reconciliation", "recon-1") for i in ids)
    assert _stored(duckdb_warehouse) == _vendor(sb)

    # A census that would erase most of the warehouse is refused, loudly.
    sb.delete([i["key"] for i in sb.issues(fields=["summary"])][:100])
    with pytest.raises(PipelineStepFailed, match="refusing"):
        _run(pipeline, _pat_source(sb, reconcile_deletes=True))


def test_malformed_issues_are_quarantined_with_reasons(make_jira_sandbox, duckdb_warehouse):
    sb = make_jira_sandbox(size=160)
    sb.faults.set(rate_malformed=0.15)
    pipeline = duckdb_warehouse.pipeline("jira")
    _run(pipeline, _pat_source(sb, run_id="run-q"))
    quarantined = _rows(duckdb_warehouse,
                        "select record_id, reason, run_id, record from jira.quarantine where entity = 'issues'")
    corrupt = {i.key for i in sb.store.issues.values() if sb.faults.malformed_variant(str(i.id), 4) is not None}
    assert len(corrupt) >= 10
    assert {json.loads(r[3])["key"] for r in quarantined} == corrupt
    assert all(r[1] and r[2] == "run-q" for r in quarantined)
    reasons = " ".join(r[1] for r in quarantined)
    for column in ("updated", "summary", "story_points", "id"):
        assert f"{column}:" in reasons, f"no quarantine reason names {column}: {reasons[:300]}"
    stored = {r[0] for r in _rows(duckdb_warehouse, "select key from jira.issues")}
    assert len(stored) + len(corrupt) == 160 and not stored & corrupt


def test_faults_and_search_lag_end_in_exact_parity(make_jira_sandbox, duckdb_warehouse):
    sb = make_jira_sandbox(size=150)
    pipeline = duckdb_warehouse.pipeline("jira")
    sb.faults.set(rate_5xx=0.1, rate_429=0.05, retry_after=0, empty_page_rate=0.1, touch_per_page=1)
    _run(pipeline, _pat_source(sb, page_size=20, reconcile_deletes=True))
    sb.faults.set(touch_per_page=0)

    # An update the search index shows late, behind a newer one it shows at once.
    sb.faults.set(search_lag_seconds=1.5)
    late = sb.touch(3)
    sb.faults.set(search_lag_seconds=0)
    sb.advance_clock(30)  # the visible update is well after the late one: only the overlap finds it
    sb.touch(2)
    sb.delete([k for k in (i["key"] for i in sb.issues(fields=["summary"])) if k not in late][:2])
    _run(pipeline, _pat_source(sb, page_size=20, reconcile_deletes=True))
    time.sleep(1.6)
    _run(pipeline, _pat_source(sb, page_size=20, reconcile_deletes=True))
    assert _stored(duckdb_warehouse) == _vendor(sb)
    assert len(_deleted(duckdb_warehouse)) == 2


def _authorize(sb) -> str:
    """Walk the sandbox's OAuth consent and code exchange; returns the first refresh token."""
    creds, redirect = sb.credentials, "http://localhost/oauth/callback/jira"
    consent = requests.get(sb.url + "/authorize", allow_redirects=False, timeout=10, params={
        "client_id": creds["client_id"], "redirect_uri": redirect, "response_type": "code", "state": "s",
        "scope": "read:jira-work read:jira-user offline_access", "audience": "api.atlassian.com"})
    code = parse_qs(urlsplit(consent.headers["Location"]).query)["code"][0]
    tokens = requests.post(sb.url + "/oauth/token", timeout=10, json={
        "grant_type": "authorization_code", "client_id": creds["client_id"],
        "client_secret": creds["client_secret"], "code": code, "redirect_uri": redirect}).json()
    return tokens["refresh_token"]


def _oauth_source(sb, bootstrap, store, **kwargs):
    creds = sb.credentials
    return jira_source(base_url=sb.url, client_id=creds["client_id"], client_secret=creds["client_secret"],
                       refresh_token=bootstrap, token_store=store, auth_url=sb.url, policy=FAST, **kwargs)


def test_oauth_rotated_refresh_token_is_persisted_and_reused(make_jira_sandbox, duckdb_warehouse, tmp_path, caplog):
    sb = make_jira_sandbox(size=40)
    bootstrap = _authorize(sb)
    store = FileRefreshTokenStore(tmp_path / "secrets" / "jira-test.refresh_token")
    pipeline = duckdb_warehouse.pipeline("jira")

    assert _run(pipeline, _oauth_source(sb, bootstrap, store))["issues"] == 40
    rotated = store.get()
    assert rotated and rotated != bootstrap
    assert store.path.stat().st_mode & 0o777 == 0o600
    assert any(r["path"] == f"/ex/jira/{sb.credentials['cloud_id']}/rest/api/3/search/jql" for r in sb.request_log)

    # A new source instance (a new process, say) still holds the spent bootstrap token; reusing it
    # would revoke the grant, so it must take the rotated one from the store.
    sb.touch(4)
    assert _run(pipeline, _oauth_source(sb, bootstrap, store))["issues"] == 4
    assert store.get() not in (None, rotated, bootstrap)
    assert _stored(duckdb_warehouse) == _vendor(sb)
    secrets = (bootstrap, rotated, store.get())
    state = json.dumps(pipeline.state, default=str)
    assert not any(s in state or s in caplog.text for s in secrets), "tokens leaked into dlt state or logs"


def test_refused_refresh_token_names_the_fix_and_hides_the_token(make_jira_sandbox, duckdb_warehouse, tmp_path):
    sb = make_jira_sandbox(size=10)
    store = FileRefreshTokenStore(tmp_path / "jira.refresh_token")
    with pytest.raises(PipelineStepFailed) as excinfo:
        _run(duckdb_warehouse.pipeline("jira"), _oauth_source(sb, "not-a-real-refresh-token-123", store))
    chain = _error_chain(excinfo.value)
    auth = [e for e in chain if isinstance(e, VendorAuthError)]
    assert auth and "JIRA_OAUTH_REFRESH_TOKEN" in str(auth[0]) and "re-run the OAuth flow" in str(auth[0])
    assert "not-a-real-refresh-token-123" not in " ".join(str(e) for e in chain)


def test_pat_and_api_token_modes(make_jira_sandbox, duckdb_warehouse):
    sb = make_jira_sandbox(size=30)
    creds = sb.credentials
    pipeline = duckdb_warehouse.pipeline("jira")
    _run(pipeline, jira_source(base_url=sb.url, auth_mode="pat", pat=creds["pat"], policy=FAST))
    assert _stored(duckdb_warehouse) == _vendor(sb)
    sb.touch(3)
    basic = jira_source(base_url=sb.url, auth_mode="pat", user_email=creds["email"], api_token=creds["api_token"])
    assert _run(pipeline, basic)["issues"] == 3
    assert _stored(duckdb_warehouse) == _vendor(sb)
    assert any(r["path"] == "/rest/api/3/search/jql" for r in sb.request_log), "PAT mode calls the site URL"

    with pytest.raises(PipelineStepFailed) as excinfo:
        _run(pipeline, jira_source(base_url=sb.url, auth_mode="pat", pat="wrong-pat"))
    assert any(isinstance(e, VendorAuthError) and "JIRA_PAT" in str(e) for e in _error_chain(excinfo.value))


def test_killed_mid_load_then_rerun_ends_in_exact_parity(make_jira_sandbox, duckdb_warehouse, monkeypatch):
    sb = make_jira_sandbox(size=150)
    pipeline = duckdb_warehouse.pipeline("jira")
    search = JiraClient.search

    def dies_after_three_pages(self, *args, **kwargs):
        for n, page in enumerate(search(self, *args, **kwargs)):
            if n == 3:
                raise RuntimeError("killed mid-load")
            yield page

    monkeypatch.setattr(JiraClient, "search", dies_after_three_pages)
    with pytest.raises(PipelineStepFailed):
        _run(pipeline, _pat_source(sb, page_size=20))
    monkeypatch.setattr(JiraClient, "search", search)
    issue_state = pipeline.state.get("sources", {}).get("jira", {}).get("resources", {}).get("issues", {})
    assert "last_value" not in issue_state, "the cursor must not advance past a load that never committed"

    sb.touch(5)
    _run(pipeline, _pat_source(sb, page_size=20))
    assert _stored(duckdb_warehouse) == _vendor(sb)

    # Killed after extract + normalize, before load: a new process loads the pending package first.
    sb.touch(3)
    pipeline.extract(_pat_source(sb, page_size=20))
    pipeline.normalize()
    fresh = duckdb_warehouse.pipeline("jira")
    fresh.run(_pat_source(sb, page_size=20))  # dlt loads the pending package (and extracts nothing new)
    assert _stored(duckdb_warehouse) == _vendor(sb)
    assert _run(fresh, _pat_source(sb, page_size=20)).get("issues", 0) == 0


def test_children_and_story_points_match_jira_and_deleted_comments_disappear(make_jira_sandbox, duckdb_warehouse):
    import hashlib

    sb = make_jira_sandbox(size=120)
    pipeline = duckdb_warehouse.pipeline("jira")
    _run(pipeline, _pat_source(sb))
    issues = sb.issues(fields=["comment", "attachment", "customfield_10020", "customfield_10016"])

    # Story points come from the field GET /field names "Story point estimate" (customfield_10016 here).
    points = {i["id"]: i["fields"]["customfield_10016"] for i in issues}
    stored_points = _rows(duckdb_warehouse, "select id, story_points from jira.issues")
    assert sum(v is not None for v in points.values()) > 20
    assert {k: (float(v) if v is not None else None) for k, v in stored_points} == points

    def comments() -> set[tuple[str, str]]:
        return set(_rows(duckdb_warehouse, "select issue_id, id from jira.comments"))

    assert comments() == {(i["id"], c["id"]) for i in issues for c in i["fields"]["comment"]["comments"]}
    vendor_sprints = {(str(s["id"]), i["id"]) for i in issues for s in i["fields"]["customfield_10020"] or []}
    assert set(_rows(duckdb_warehouse, "select sprint_id, issue_id from jira.sprint_issues")) == vendor_sprints
    attachments = {a["id"]: a for i in issues for a in i["fields"]["attachment"]}
    stored = _rows(duckdb_warehouse, "select id, sha256, content_status from jira.attachments")
    assert {r[0] for r in stored} == set(attachments) and attachments
    for att_id, sha, status in stored:
        body = requests.get(f"{sb.url}/rest/api/3/attachment/content/{att_id}", timeout=10,
                            headers={"Authorization": f"Bearer {sb.credentials['pat']}"}).content
        assert (status, sha) == ("stored", hashlib.sha256(body).hexdigest())
    assert _rows(duckdb_warehouse, "select count(*) from jira.issue_changelog")[0][0] > 100
    assert {r[0] for r in _rows(duckdb_warehouse, "select key from jira.projects")} == {"SEC", "GRC", "ENG"}
    assert _rows(duckdb_warehouse, "select count(*) from jira.sprints")[0][0] > 0

    singles = [i for i in issues if len(i["fields"]["comment"]["comments"]) == 1][:3]
    many = next(i for i in issues if len(i["fields"]["comment"]["comments"]) >= 2)
    auth = (sb.credentials["email"], sb.credentials["api_token"])
    for issue in (*singles, many):
        cid = issue["fields"]["comment"]["comments"][0]["id"]
        response = requests.delete(f"{sb.url}/rest/api/3/issue/{issue['key']}/comment/{cid}", auth=auth, timeout=10)
        assert response.status_code == 204
    _run(pipeline, _pat_source(sb))
    left = comments()
    assert len(singles) == 3 and not [c for c in left if c[0] in {i["id"] for i in singles}], \
        "issues whose only comment was deleted in Jira keep none"
    assert {c[1] for c in left if c[0] == many["id"]} == {c["id"] for c in many["fields"]["comment"]["comments"][1:]}
    vendor_now = {(i["id"], c["id"]) for i in sb.issues(fields=["comment"]) for c in i["fields"]["comment"]["comments"]}
    assert left == vendor_now


def test_environment_variables_map_to_source_arguments():
    from pipelines.jira.config import source_kwargs_from_env

    with pytest.raises(ValueError, match="JIRA_BASE_URL"):
        source_kwargs_from_env({})
    with pytest.raises(ValueError, match="JIRA_OAUTH_CLIENT_ID"):
        source_kwargs_from_env({"JIRA_BASE_URL": "https://acme.atlassian.net"})
    with pytest.raises(ValueError, match="JIRA_PAT"):
        source_kwargs_from_env({"JIRA_BASE_URL": "https://acme.atlassian.net", "JIRA_AUTH_MODE": "pat"})
    kwargs = source_kwargs_from_env({
        "JIRA_BASE_URL": "https://acme.atlassian.net", "JIRA_AUTH_MODE": "pat", "JIRA_USER_EMAIL": "a@b.c",
        "JIRA_API_TOKEN": "t", "ENABLE_JIRA_DELTA_RECON": "true", "JIRA_PROJECT_KEYS": "sec, grc"})
    assert (kwargs["reconcile_deletes"], kwargs["project_keys"], kwargs["user_email"]) == (True, ["SEC", "GRC"],
                                                                                         "a@b.c")


def test_failed_attachment_downloads_are_retried_on_the_next_run(make_jira_sandbox, duckdb_warehouse):
    sb = make_jira_sandbox(size=80)
    pipeline = duckdb_warehouse.pipeline("jira")
    sb.faults.set(rate_5xx=1.0, paths=[r"/attachment/content/"])
    _run(pipeline, _pat_source(sb))
    statuses = dict(_rows(duckdb_warehouse, "select content_status, count(*) from jira.attachments group by 1"))
    assert set(statuses) == {"failed"} and statuses["failed"] >= 2

    sb.faults.clear()
    counts = _run(pipeline, _pat_source(sb))  # nothing changed in Jira, yet the failed ones are read again
    assert counts["issues"] == statuses["failed"]
    rows = _rows(duckdb_warehouse, "select content_status, sha256 from jira.attachments")
    assert len(rows) == statuses["failed"] and all(s == "stored" and sha for s, sha in rows)
    assert _run(pipeline, _pat_source(sb)).get("issues", 0) == 0


def test_truncated_comment_lists_and_changelogs_are_completed(jira_sandbox):
    from pipelines.jira.auth import pat_auth

    client = JiraClient(jira_sandbox.url, pat_auth(jira_sandbox.credentials["pat"]), policy=FAST)
    issue = next(i for i in jira_sandbox.issues(fields=["comment"]) if len(i["fields"]["comment"]["comments"]) >= 3)
    comments = issue["fields"]["comment"]["comments"]
    history = client.get(f"rest/api/3/issue/{issue['id']}/changelog")["values"]
    assert history
    bean = {"id": issue["id"], "key": issue["key"],
            "fields": {"comment": {"comments": comments[:1], "total": len(comments)}},
            "changelog": {"histories": [], "total": len(history)}}
    client.complete(bean)
    assert [c["id"] for c in bean["fields"]["comment"]["comments"]] == [c["id"] for c in comments]
    assert [h["id"] for h in bean["changelog"]["histories"]] == [h["id"] for h in history]


def test_split_reads_under_faults_end_in_exact_parity(make_jira_sandbox, duckdb_warehouse, monkeypatch):
    import pipelines.jira.issues as issues
    import pipelines.jira.search as search

    # Force the split that big reads get: four `updated` ranges read at once, appended on the first sync.
    monkeypatch.setattr(search, "SPLIT_MIN_ISSUES", 0)
    monkeypatch.setattr(search, "SPLIT_MIN_SPAN_MS", 0)
    planned: list[list[str]] = []
    monkeypatch.setattr(issues, "plan", lambda *a: planned.append(search.plan(*a)) or planned[-1])
    sb = make_jira_sandbox(size=300)
    pipeline = duckdb_warehouse.pipeline("jira")
    sb.faults.set(rate_5xx=0.1, rate_429=0.05, retry_after=0, empty_page_rate=0.1, touch_per_page=1)
    _run(pipeline, _pat_source(sb, page_size=20, concurrency=4))
    sb.faults.clear()
    assert len(planned[0]) == 4 and "updated <" in planned[0][0] and "updated >=" in planned[0][-1]
    assert _rows(duckdb_warehouse, "select count(*) - count(distinct id) from jira.issues")[0][0] == 0
    assert _rows(duckdb_warehouse, "select count(*) - count(distinct id) from jira.comments")[0][0] == 0
    _run(pipeline, _pat_source(sb, page_size=20, concurrency=4))  # issues touched while paging load now
    assert _stored(duckdb_warehouse) == _vendor(sb)
    sb.touch(9)
    assert _run(pipeline, _pat_source(sb, page_size=20, concurrency=4))["issues"] == 9
    assert _stored(duckdb_warehouse) == _vendor(sb)


def test_split_covers_every_issue_once():
    from pipelines.jira.search import issue_jql, plan, ranged_jqls, split_bounds

    inner = split_bounds(1_000, 1_000 + 4 * 3_600_000, 4)
    assert len(inner) == 3
    jqls = ranged_jqls(["SEC"], None, None, inner)
    assert jqls[0] == issue_jql(["SEC"], None, inner[0]) and jqls[-1] == issue_jql(["SEC"], inner[-1], None)
    assert split_bounds(0, 60_000, 4) == [], "short spans stay one search"

    class Site:  # a big site whose issues were all updated in the last four days before 'now'
        now = 1_800_000_000_000

        def approximate_count(self, jql):
            return 200_000

        def oldest_updated_ms(self, jql):
            return self.now - 4 * 86_400_000

    # A window from 1970 (a backfill from the first partition) is cut where the issues are, not in 1970-2026.
    jqls = plan(Site(), ["SEC"], 0, Site.now, None, 4)
    assert jqls[0] == issue_jql(["SEC"], 0, Site.now - 3 * 86_400_000)
    assert jqls[-1] == issue_jql(["SEC"], Site.now - 86_400_000, Site.now) and len(jqls) == 4


def _issue_state(pipeline) -> dict:
    return json.loads(json.dumps(pipeline.state["sources"]["jira"]["resources"]["issues"], default=str))


def test_window_rerun_restores_rows_and_leaves_the_cursor_alone(make_jira_sandbox, duckdb_warehouse):
    from datetime import UTC, datetime

    from pipelines.common.cursor import parse_vendor_ts

    sb = make_jira_sandbox(size=150)
    pipeline = duckdb_warehouse.pipeline("jira")
    _run(pipeline, _pat_source(sb))
    sb.touch(3)
    _run(pipeline, _pat_source(sb))
    cursor = _issue_state(pipeline)
    assert cursor["last_value"] > "1970"

    # One window of `updated`, end exclusive: the 50th..99th oldest issues.
    stamps = sorted((parse_vendor_ts(u).replace(tzinfo=UTC), i) for i, u in _stored(duckdb_warehouse).items())
    start, end = stamps[50][0], stamps[100][0]
    inside = {i for ts, i in stamps if start <= ts < end}
    assert 40 <= len(inside) <= 60
    ids = ", ".join(f"'{i}'" for i in sorted(inside))
    comments_before = set(_rows(duckdb_warehouse, f"select id, body_text from jira.comments where issue_id in ({ids})"))
    assert comments_before
    with duckdb.connect(duckdb_warehouse.duckdb_path) as con:
        half = sorted(inside)[: len(inside) // 2]
        con.execute(f"delete from jira.issues where id in ({', '.join(repr(i) for i in half)})")
        con.execute(f"update jira.issues set summary = 'corrupted', updated = '2000-01-01T00:00:00.000+0000' "
                    f"where id in ({ids})")
        con.execute(f"delete from jira.comments where issue_id in ({ids})")
        con.execute(f"insert into jira.comments (id, issue_id, body_text, _dlt_load_id, _dlt_id) "
                    f"values ('999999', '{half[0]}', 'stale', 'x', 'x')")

    counts = _run(pipeline, _pat_source(sb, window=(start, end)))
    assert counts["issues"] == len(inside)
    assert _stored(duckdb_warehouse) == _vendor(sb)
    assert not _rows(duckdb_warehouse, "select id from jira.issues where summary = 'corrupted'")
    assert _rows(duckdb_warehouse, "select count(*) - count(distinct id) from jira.issues")[0][0] == 0
    after = set(_rows(duckdb_warehouse, f"select id, body_text from jira.comments where issue_id in ({ids})"))
    assert after == comments_before, "children of the window are replaced as a set (the stale one is gone)"
    assert _rows(duckdb_warehouse, "select count(*) - count(distinct id) from jira.comments")[0][0] == 0
    assert _issue_state(pipeline) == cursor, "a window rerun neither reads nor moves the cursor"
    searched = [r for r in sb.request_log if r["path"].endswith("/search/jql")]
    assert searched

    # The next incremental run carries on from the untouched cursor.
    sb.touch(2)
    assert _run(pipeline, _pat_source(sb)).get("issues", 0) == 2
    assert _stored(duckdb_warehouse) == _vendor(sb)

    with pytest.raises(ValueError, match="timezone-aware"):
        _pat_source(sb, window=(datetime(2026, 1, 1), datetime(2026, 1, 2)))



def _vault_secret(client, path: str) -> tuple[dict, int]:
    got = client.secrets.kv.v2.read_secret_version(path=path, mount_point="secret", raise_on_deleted_version=True)
    return got["data"]["data"], got["data"]["metadata"]["version"]


def test_rotated_refresh_token_is_written_back_to_vault(make_jira_sandbox, duckdb_warehouse, vault, monkeypatch,
                                                        caplog):
    addr, root, client = vault
    sb = make_jira_sandbox(size=30)
    bootstrap = _authorize(sb)
    # What the OAuth flow stored (spec §2.2: Vault integrations/<env>/jira), next to the app's credentials.
    client.secrets.kv.v2.create_or_update_secret(path="integrations/stg/jira", mount_point="secret", secret={
        "client_id": sb.credentials["client_id"], "refresh_token": bootstrap})
    monkeypatch.setenv("VAULT_ADDR", addr)
    monkeypatch.setenv("VAULT_TOKEN", root)
    monkeypatch.setenv("PROJECTX_ENV", "stg")
    # Staging holds unscanned attachments as pending (read again next run); this test is about tokens.
    monkeypatch.setenv("PROJECTX_EVIDENCE_REQUIRE_SCAN", "false")
    store = default_token_store()
    assert isinstance(store, VaultRefreshTokenStore) and "integrations/stg/jira" in repr(store)
    pipeline = duckdb_warehouse.pipeline("jira")

    # No bootstrap argument and no store passed: the source finds the token in Vault and writes back there.
    assert _run(pipeline, _oauth_source(sb, None, None))["issues"] == 30
    data, version = _vault_secret(client, "integrations/stg/jira")
    first = data["refresh_token"]
    assert first != bootstrap and version == 2 and data["client_id"] == sb.credentials["client_id"]
    assert not list(Path(duckdb_warehouse.data_dir).glob("secrets/*")), "with Vault configured no token file"

    sb.touch(2)
    assert _run(pipeline, _oauth_source(sb, None, None))["issues"] == 2
    data, version = _vault_secret(client, "integrations/stg/jira")
    assert data["refresh_token"] not in (first, bootstrap) and version == 3
    secrets = (bootstrap, first, data["refresh_token"])
    state = json.dumps(pipeline.state, default=str)
    assert not any(t in state or t in caplog.text for t in secrets), "tokens leaked into dlt state or logs"
    assert not any(t in repr(store) for t in secrets)


def test_vault_check_and_set_never_clobbers_another_workers_rotation(vault):
    addr, root, client = vault
    path = "integrations/prod/jira"
    client.secrets.kv.v2.create_or_update_secret(path=path, mount_point="secret",
                                                 secret={"refresh_token": "t0", "client_id": "c"})
    a = VaultRefreshTokenStore(addr, root, path)
    b = VaultRefreshTokenStore(addr, root, path)
    assert a.get() == b.get() == "t0"  # both workers read t0 and refresh with it
    a.put("t1-from-a")
    b.put("t1-from-b")  # b read version 1; a already wrote version 2: b must not overwrite it
    data, version = _vault_secret(client, path)
    assert (data["refresh_token"], data["client_id"], version) == ("t1-from-a", "c", 2)
    assert (a.conflicts, b.conflicts) == (0, 1)

    # Only another key changed since the read (an admin rotated the client secret): the token still lands.
    assert a.get() == "t1-from-a"
    client.secrets.kv.v2.create_or_update_secret(path=path, mount_point="secret", secret={
        "refresh_token": "t1-from-a", "client_id": "c", "client_secret": "new"})
    a.put("t2")
    data, version = _vault_secret(client, path)
    assert (data["refresh_token"], data["client_secret"], version) == ("t2", "new", 4)

    # A path that does not exist yet is created (check-and-set 0), and a refused token names the fix.
    fresh = VaultRefreshTokenStore(addr, root, "integrations/new/jira")
    assert fresh.get() is None
    fresh.put("t-new")
    assert _vault_secret(client, "integrations/new/jira")[0] == {"refresh_token": "t-new"}
    with pytest.raises(PermissionError, match="VAULT_TOKEN") as excinfo:
        VaultRefreshTokenStore(addr, "not-a-real-vault-token", path).get()
    assert "not-a-real-vault-token" not in str(excinfo.value)


def test_a_window_from_the_epoch_has_no_lower_bound_in_jql():
    """A backfill from the first partition starts in 1970: Jira refuses ``updated >= 0``."""
    from pipelines.jira.search import issue_jql

    assert issue_jql(["OPS"], 0, 1_700_000_000_000) == \
        'project in ("OPS") AND updated < 1700000000000 ORDER BY updated ASC, key ASC'
    assert "updated >= 1600000000000" in issue_jql(["OPS"], 1_600_000_000_000)
