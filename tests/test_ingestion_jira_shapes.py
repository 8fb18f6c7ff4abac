"""Jira issues whose child lists come in the wrong shape: a changelog's ``histories`` sent as a number,
a comment list as a string, an attachment entry that is not an object. Each crashed the sync on every run
(``len(5)`` in the comment/changelog completion) or dropped the children in silence; now the issue is
quarantined with the part named, the rest of the page loads, and the issue loads once Jira sends it right.
"""

from __future__ import annotations

import json

from tests.test_ingestion_hostile_more import _jira_rewrite, _jira_sync, _rows


def test_child_lists_of_the_wrong_shape_quarantine_their_issue_then_it_loads(make_jira_sandbox, duckdb_warehouse):
    sb = make_jira_sandbox(size=12)
    bad: dict[str, str] = {}

    def garble(req, resp):
        body = json.loads(resp.body)
        issues = body.get("issues") or []
        for issue, (part, value) in zip(issues, [("histories", 5), ("comments", "see the wiki"),
                                                  ("attachment", ["a.pdf"])], strict=False):
            rid = str(issue["id"])
            bad[rid] = part
            if part == "histories":
                issue.setdefault("changelog", {})["histories"] = value
            elif part == "comments":
                issue["fields"]["comment"] = {"comments": value, "total": 1, "maxResults": 1, "startAt": 0}
            else:
                issue["fields"]["attachment"] = value
        resp.body = json.dumps(body).encode()

    _jira_rewrite(sb, garble)
    _jira_sync(duckdb_warehouse, sb, concurrency=1)
    reasons = dict(_rows(duckdb_warehouse, "select record_id, reason from jira.quarantine"))
    assert len(bad) >= 3 and set(bad) <= set(reasons)
    expected = {"histories": "changelog.histories: expected an array, got number 5",
                "comments": 'fields.comment.comments: expected an array, got string "see the wiki"',
                "attachment": 'fields.attachment[0]: expected an object, got string "a.pdf"'}
    for rid, part in bad.items():
        assert reasons[rid] == expected[part]
    loaded = {r[0] for r in _rows(duckdb_warehouse, "select id from jira.issues")}
    assert not set(bad) & loaded and len(loaded) == len(sb.store.issues) - len(set(bad))

    sb.rewrite_responses(None)  # Jira sends them right again: they load once, children and all
    _jira_sync(duckdb_warehouse, sb, concurrency=1)
    ids = [r[0] for r in _rows(duckdb_warehouse, "select id from jira.issues")]
    assert len(ids) == len(set(ids)) == len(sb.store.issues)
