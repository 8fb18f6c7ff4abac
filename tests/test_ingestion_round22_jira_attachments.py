"""Round 22: Jira attachments quarantined once per content (the round-21 ServiceNow rules, for Jira).

Jira attachments come inside their issue (``fields.attachment``); the issue is read again in the cursor's
overlap window and by id while anything of it is pending, so every rule is checked over 3+ runs:

- hostile metadata (NUL in ``filename``, lone surrogate in ``mimeType``, a ``created`` that is no time):
  one quarantine row per unchanged content, also when the issue itself changes meanwhile; the issue row
  and its other children load;
- one attachment id twice in one issue's list, or on two issues (a move seen half-way [unc]), with
  different size/created: one row kept (newest ``created``, then larger size, then digest), the other
  quarantined once; the issues load;
- a download answering 404/403: the issue loads, the attachment row says why (``missing`` / ``failed``)
  and a failure is tried again on the next run.

Each sync is a real subprocess over HTTP against the sandbox; hostile and duplicate attachments are made
by rewriting the sandbox's search responses (the sandbox itself serves clean ones).
"""

from __future__ import annotations

import json

from tests.conftest import jira_env
from tests.ingestion_harness import JIRA_ISSUES, assert_parity, sql, wait_a_second
from tests.test_ingestion_round20_poison_children import _ok, _run

SEARCH = "/rest/api/3/search/jql"


def _with_attachments(sb, n: int) -> list[dict]:
    """``n`` issues (raw beans) that have at least one attachment, by id."""
    found = [i for i in sb.issues(fields=["attachment", "updated"]) if i["fields"].get("attachment")]
    assert len(found) >= n, f"the sandbox has {len(found)} issues with attachments"
    return sorted(found, key=lambda i: int(i["id"]))[:n]


def _rewrite_attachments(sb, change) -> None:
    """Every search answer goes through ``change(issue id, attachment list) -> new list or None``."""
    def rewrite(req, resp):
        if not req.path.endswith(SEARCH) or resp.status != 200:
            return resp
        body = json.loads(resp.body)
        for issue in body.get("issues") or []:
            fields = issue.get("fields") or {}
            new = change(issue["id"], fields.get("attachment"))
            if new is not None:
                fields["attachment"] = new
        resp.body = json.dumps(body).encode()  # ASCII: NUL and lone surrogates as \\u escapes
        return resp
    sb.rewrite_responses(rewrite)


def _quarantine(settings) -> list[tuple[str, str, str]]:
    """(entity, record_id, reason) of every Jira quarantine row."""
    if not sql(settings, "select 1 from information_schema.tables where table_schema = 'jira' "
               "and table_name = 'quarantine'"):
        return []
    return sql(settings, "select entity, record_id, reason from jira.quarantine order by quarantined_at")


def _attachments(settings) -> list[tuple]:
    return sql(settings, "select id, issue_id, filename, size_bytes, created, content_status, content_error "
               "from jira.attachments where not coalesce(_tombstone, false) order by id, issue_id")


def test_hostile_attachment_metadata_is_quarantined_once_per_content_and_the_issue_loads(
        make_jira_sandbox, monkeypatch, duckdb_warehouse):
    sb = make_jira_sandbox(size=150)
    jira_env(monkeypatch, sb)
    nul, surrogate, bad_time = _with_attachments(sb, 3)
    hostile = {nul["id"]: ("filename", "evil\x00.txt"), surrogate["id"]: ("mimeType", "text/\udfff"),
               bad_time["id"]: ("created", "yesterday")}
    victims = {i["id"]: str(i["fields"]["attachment"][0]["id"]) for i in (nul, surrogate, bad_time)}

    def change(issue_id, attachments):
        if issue_id not in hostile or not attachments:
            return None
        field, value = hostile[issue_id]
        return [{**attachments[0], field: value}, *attachments[1:]]
    _rewrite_attachments(sb, change)

    for n in range(3):  # all inside the overlap window, every run; the third after the issue itself changed
        if n == 2:
            wait_a_second()
            for issue in (nul, surrogate, bad_time):
                sb.comment_as(issue["key"], "the issue changes, its hostile attachment does not")
        _ok(_run("jira"))
    rows = _quarantine(duckdb_warehouse)
    per_attachment = {a: [r for r in rows if r[1] == a] for a in victims.values()}
    for issue_id, attachment_id in victims.items():
        assert len(per_attachment[attachment_id]) == 1, (issue_id, hostile[issue_id], rows)
        entity, _, reason = per_attachment[attachment_id][0]
        assert entity == "attachments" and hostile[issue_id][0].lower() in reason.lower().replace("_", ""), reason
    assert not [r for r in rows if r[0] == "issues"], "an attachment's metadata must not hold back its issue"
    assert_parity(sb, duckdb_warehouse, JIRA_ISSUES)  # every issue loaded, at its latest version
    loaded = {r[0] for r in _attachments(duckdb_warehouse)}
    assert not loaded & set(victims.values())
    assert {i["id"] for i in (nul, surrogate, bad_time)} <= {
        r[0] for r in sql(duckdb_warehouse, "select distinct issue_id from jira.issue_changelog")}

    wait_a_second()
    hostile[nul["id"]] = ("filename", "other\x00.txt")  # changed content, still hostile: one more row
    _ok(_run("jira"))
    _ok(_run("jira"))
    assert len([r for r in _quarantine(duckdb_warehouse) if r[1] == victims[nul["id"]]]) == 2

    sb.rewrite_responses(None)  # fixed at the vendor: they load (the issue is read again while pending)
    _ok(_run("jira"))
    loaded = {r[0] for r in _attachments(duckdb_warehouse)}
    assert set(victims.values()) <= loaded
    assert len(_quarantine(duckdb_warehouse)) == 4


def test_an_attachment_id_sent_twice_keeps_one_row_and_quarantines_the_other_once(
        make_jira_sandbox, monkeypatch, duckdb_warehouse):
    sb = make_jira_sandbox(size=150)
    jira_env(monkeypatch, sb)
    same_issue, first, second = _with_attachments(sb, 3)
    twice = same_issue["fields"]["attachment"][0]
    moved = first["fields"]["attachment"][0]
    older = {**twice, "size": int(twice["size"]) + 7, "created": "2020-01-01T00:00:00.000+0000"}

    def change(issue_id, attachments):
        if issue_id == same_issue["id"] and attachments:  # newest first in the list, then reversed below
            return [older, *attachments] if flip[0] else [*attachments, older]
        if issue_id == second["id"] and attachments is not None:  # the other issue lists it too
            return [*attachments, {**moved, "size": int(moved["size"]) + 1}]
        return None
    flip = [False]
    _rewrite_attachments(sb, change)
    for n in range(3):
        flip[0] = n % 2 == 1  # the vendor's order must not matter
        _ok(_run("jira"))
    rows = _attachments(duckdb_warehouse)
    ids = [r[0] for r in rows]
    assert len(ids) == len(set(ids)), f"an attachment id stored twice: {rows}"
    by_id = {r[0]: r for r in rows}
    kept = by_id[str(twice["id"])]
    assert kept[4] == twice["created"] and kept[3] == str(twice["size"]), kept  # the newest created
    assert by_id[str(moved["id"])][1] in (first["id"], second["id"])
    held = [r for r in _quarantine(duckdb_warehouse) if r[0] == "attachments"]
    assert sorted(r[1] for r in held) == sorted([str(twice["id"]), str(moved["id"])]), held
    assert all("reused" in r[2] for r in held), held
    assert not [r for r in _quarantine(duckdb_warehouse) if r[0] == "issues"]
    assert_parity(sb, duckdb_warehouse, JIRA_ISSUES)  # the issues all loaded


def test_an_attachment_whose_download_answers_404_or_403_leaves_the_issue_loaded_and_says_why(
        make_jira_sandbox, monkeypatch, duckdb_warehouse):
    sb = make_jira_sandbox(size=150)
    jira_env(monkeypatch, sb)
    gone_issue, denied_issue = _with_attachments(sb, 2)
    gone, denied = (str(i["fields"]["attachment"][0]["id"]) for i in (gone_issue, denied_issue))
    answers = {gone: 404, denied: 403}
    calls: dict[str, int] = {}

    def refuse(req, resp):
        for aid, status in answers.items():
            if req.path.endswith(f"/attachment/content/{aid}"):
                calls[aid] = calls.get(aid, 0) + 1
                resp.status, resp.body = status, json.dumps({"errorMessages": ["no"]}).encode()
        return resp
    sb.rewrite_responses(refuse)
    _ok(_run("jira"))
    by_id = {r[0]: r for r in _attachments(duckdb_warehouse)}
    assert by_id[gone][5] == "missing", by_id[gone]
    assert by_id[denied][5] == "failed" and "403" in (by_id[denied][6] or ""), by_id[denied]
    assert_parity(sb, duckdb_warehouse, JIRA_ISSUES)
    assert not _quarantine(duckdb_warehouse)
    before = dict(calls)
    _ok(_run("jira"))  # the failure is tried again (the issue read again by id), the 404 is not
    assert calls[denied] > before[denied] and calls[gone] == before[gone], (before, calls)
    sb.rewrite_responses(None)  # permission given back: stored on the next run
    _ok(_run("jira"))
    by_id = {r[0]: r for r in _attachments(duckdb_warehouse)}
    assert by_id[denied][5] == "stored" and by_id[gone][5] == "missing"
