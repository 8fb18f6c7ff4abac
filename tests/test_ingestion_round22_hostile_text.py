"""Round 22: hostile text inside a Jira issue's nested parts, end to end through dlt into DuckDB.

The vendor-level hostile-text tests (``test_ingestion_hostile``) put the bad text in a top-level field
(ServiceNow ``description``, Jira ``summary``, OneTrust ``name``), and megabytes of text were tried on
ServiceNow only. Here, on Jira, where the text sits deep in Atlassian Document Format:

- a comment body of more than 1 MB is stored whole in ``jira.comments.body_text``;
- a NUL in a comment body, and a lone surrogate in one of an issue's labels (a list, and a changelog
  item), quarantine their issue with a reason naming the path; nothing crashes, every other issue and
  comment loads, and once the vendor serves them cleanly they load (the re-read ledger).
"""

from __future__ import annotations

from pipelines.jira.flatten import adf_text
from sandbox.core.faults import hostile_marker
from tests.conftest import jira_env
from tests.ingestion_harness import JIRA_ISSUES, assert_parity, quarantine, sql, sync


def _adf(text: str) -> dict:
    return {"type": "doc", "version": 1,
            "content": [{"type": "paragraph", "content": [{"type": "text", "text": text}]}]}


def _comment_text(settings, comment_id: str) -> str | None:
    rows = sql(settings, "select body_text from jira.comments where id = ?", comment_id)
    return rows[0][0] if rows else None


def test_jira_megabyte_comments_load_whole_and_hostile_text_deep_in_an_issue_quarantines_it(
        make_jira_sandbox, monkeypatch, duckdb_warehouse):
    sb = make_jira_sandbox(size=40)
    jira_env(monkeypatch, sb)
    me = sb.store.me.account_id
    big, nul, surrogate = sorted(sb.store.issues)[3:6]
    big_body = _adf("start " + "\u00e9x" * 600_000 + " end \U0001f600")  # 1.2 M characters, 2 MB of UTF-8
    big_comment = sb.store.add_comment(big, big_body, me)
    bad_comment = sb.store.add_comment(nul, _adf(f"before {hostile_marker('nul')} after"), me)
    sb.store.update(surrogate, {"labels": ("kept", f"lost{hostile_marker('surrogate')}half")}, me)
    sb.sync_index()
    sb.faults.set(hostile_text=1)

    sync("jira", "cli")
    stored = _comment_text(duckdb_warehouse, str(big_comment.id))
    assert stored is not None and len(stored) > 1_000_000, "the 1 MB comment was not stored"
    assert stored == adf_text(big_body), "the 1 MB comment was not stored as sent"
    reasons = quarantine(duckdb_warehouse, JIRA_ISSUES)
    assert set(reasons) >= {str(nul), str(surrogate)}, reasons
    assert reasons[str(nul)].startswith("invalid text: ") and "comment" in reasons[str(nul)], reasons[str(nul)]
    assert "NUL" in reasons[str(nul)]
    assert reasons[str(surrogate)].startswith("invalid text: ") and "labels" in reasons[str(surrogate)]
    assert "surrogate" in reasons[str(surrogate)]
    assert_parity(sb, duckdb_warehouse, JIRA_ISSUES, except_ids={str(nul), str(surrogate)})
    assert _comment_text(duckdb_warehouse, str(bad_comment.id)) is None, "no half of a quarantined issue loads"

    sync("jira", "cli")  # not quarantined twice while it stays the same
    count = sql(duckdb_warehouse, "select record_id, count(*) from jira.quarantine where entity = 'issues' "
                                  "group by 1")
    assert {k: n for k, n in count if k in (str(nul), str(surrogate))} == {str(nul): 1, str(surrogate): 1}

    sb.faults.set(hostile_text=0)  # the vendor serves them cleanly; their update times have not moved
    sync("jira", "cli")
    assert_parity(sb, duckdb_warehouse, JIRA_ISSUES)
    assert _comment_text(duckdb_warehouse, str(bad_comment.id)) == adf_text(
        _adf(f"before {hostile_marker('nul')} after"))
    assert _comment_text(duckdb_warehouse, str(big_comment.id)) == adf_text(big_body)
