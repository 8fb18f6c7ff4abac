"""Round 17: hostile vendor answers not covered by tests/test_ingestion_hostile*.py and round 16.

- Jira: an ``updated`` stamp polars reads but Python's ``fromisoformat`` (the cursor) does not — a space
  before the offset, a leading space, a leading ``+`` on the year — passed the timestamp check, then
  ``to_cursor`` raised on it: every run died at that issue (a crash loop);

Rule: the record is loaded exactly once or quarantined with a reason naming the field, and loads once
the vendor serves it right; the run never crashes on it.
"""

from __future__ import annotations

import json

import pytest

from tests.test_ingestion_hostile_more import _jira_rewrite, _jira_sync, _rows


@pytest.mark.parametrize("stamp", ["2026-01-01T10:00:00.000 +0000", " 2026-01-01T10:00:00.000+0000",
                                   "+2026-01-01T10:00:00.000+0000"])
def test_jira_update_stamp_polars_reads_but_the_cursor_cannot_is_quarantined_not_a_crash_loop(
        stamp, make_jira_sandbox, duckdb_warehouse):
    sb = make_jira_sandbox(size=20)
    victim = str(sorted(sb.store.issues)[5])

    def odd(req, resp):
        body = json.loads(resp.body)
        for issue in body.get("issues") or []:
            if str(issue.get("id")) == victim:
                issue["fields"]["updated"] = stamp
        resp.body = json.dumps(body).encode()
    _jira_rewrite(sb, odd)
    _jira_sync(duckdb_warehouse, sb, concurrency=1)
    reasons = dict(_rows(duckdb_warehouse, "select record_id, reason from jira.quarantine"))
    assert reasons.get(victim, "").startswith("updated: not a Jira timestamp"), reasons
    ids = {str(i) for i in sb.store.issues}
    assert {r[0] for r in _rows(duckdb_warehouse, "select id from jira.issues")} == ids - {victim}
    sb.rewrite_responses(None)
    _jira_sync(duckdb_warehouse, sb, concurrency=1)
    assert {r[0] for r in _rows(duckdb_warehouse, "select id from jira.issues")} == ids
