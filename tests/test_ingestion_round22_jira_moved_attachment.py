"""Round 22: a Jira attachment id seen on issue A, then on issue B (Jira moved it, or the vendor reuses the
id), follows its latest owner: the later sighting wins, the earlier row leaves A's set, A's other
attachments stay, and ``jira.attachment_moves`` keeps each move (from, to, the content's sha256), so the
evidence link's history is not lost. Before, the id stayed under both issues (two evidence rows with one
``evidence_id``) until A was read again.

Each sync is a real subprocess over HTTP against the sandbox; the second listing of the id is made by
rewriting the sandbox's search responses, and only the issue that now lists it is updated (touched), so
the issue it left is not read again.
"""

from __future__ import annotations

from sandbox.jira import ops
from tests.conftest import jira_env
from tests.ingestion_harness import sql, wait_a_second
from tests.test_ingestion_round20_poison_children import _ok, _run
from tests.test_ingestion_round22_jira_attachments import _quarantine, _rewrite_attachments


def _owners(settings, aid: str) -> list[str]:
    return [r[0] for r in sql(settings, "select issue_id from jira.attachments where id = ? "
                                        "and not coalesce(_tombstone, false)", aid)]


def _ids_of(settings, issue_id: str) -> set[str]:
    return {r[0] for r in sql(settings, "select id from jira.attachments where issue_id = ? "
                                        "and not coalesce(_tombstone, false)", issue_id)}


def _moves(settings) -> list[tuple]:
    return sql(settings, "select attachment_id, from_issue_id, to_issue_id, sha256, storage_uri "
                         "from jira.attachment_moves order by moved_at, run_id")


def test_an_attachment_id_seen_on_another_issue_follows_its_latest_owner_and_the_move_is_kept(
        make_jira_sandbox, monkeypatch, duckdb_warehouse):
    sb = make_jira_sandbox(size=150)
    jira_env(monkeypatch, sb)
    beans = sb.issues(fields=["attachment", "updated"])
    oldest = sorted(beans, key=lambda i: i["fields"]["updated"])
    first = next(i for i in oldest if i["fields"].get("attachment"))
    second = next(i for i in oldest if i["id"] != first["id"] and i["fields"].get("attachment"))
    moving = first["fields"]["attachment"][0]
    aid, a, b = str(moving["id"]), first["id"], second["id"]
    sb.store.add_attachment(int(a), "second.txt", "text/plain", b"issue A's own second file", sb.store.me.account_id)
    _ok(_run("jira"))
    assert _owners(duckdb_warehouse, aid) == [a]
    others_of_a = _ids_of(duckdb_warehouse, a) - {aid}
    others_of_b = _ids_of(duckdb_warehouse, b)
    assert others_of_a and others_of_b
    [(sha256, uri)] = sql(duckdb_warehouse, "select sha256, storage_uri from jira.attachments where id = ?", aid)

    # B lists the id too (A still does: a reused id; A is not read again)
    def change(issue_id, attachments):
        if issue_id == b and attachments is not None and all(str(x.get("id")) != aid for x in attachments):
            return [*attachments, moving]
        return None
    _rewrite_attachments(sb, change)
    wait_a_second()
    ops.touch_ids(sb.store, [int(b)])
    _ok(_run("jira"))
    assert _owners(duckdb_warehouse, aid) == [b], "the later sighting (issue B) should own the attachment alone"
    assert _ids_of(duckdb_warehouse, a) == others_of_a, "issue A's other attachments must stay"
    assert _ids_of(duckdb_warehouse, b) == others_of_b | {aid}
    assert _moves(duckdb_warehouse) == [(aid, a, b, sha256, uri)]

    # an unchanged run moves nothing and writes no second history row
    _ok(_run("jira"))
    assert _owners(duckdb_warehouse, aid) == [b]
    assert len(_moves(duckdb_warehouse)) == 1

    # A is updated and read again, still listing the id: now A is the later sighting
    wait_a_second()
    ops.touch_ids(sb.store, [int(a)])
    _ok(_run("jira"))
    assert _owners(duckdb_warehouse, aid) == [a]
    assert _ids_of(duckdb_warehouse, b) == others_of_b, "issue B's own attachments must stay"
    assert _ids_of(duckdb_warehouse, a) == others_of_a | {aid}
    assert _moves(duckdb_warehouse) == [(aid, a, b, sha256, uri), (aid, b, a, sha256, uri)]
    assert not [r for r in _quarantine(duckdb_warehouse) if r[0] in ("attachments", "issues")]


def test_an_issue_left_without_attachments_by_a_move_keeps_none(make_jira_sandbox, monkeypatch, duckdb_warehouse):
    sb = make_jira_sandbox(size=150)
    jira_env(monkeypatch, sb)
    oldest = sorted(sb.issues(fields=["attachment", "updated"]), key=lambda i: i["fields"]["updated"])
    first = next(i for i in oldest if len(i["fields"].get("attachment") or []) == 1)
    second = next(i for i in oldest if i["id"] != first["id"] and i["fields"].get("attachment"))
    moving = first["fields"]["attachment"][0]
    aid, a, b = str(moving["id"]), first["id"], second["id"]
    _ok(_run("jira"))
    assert _ids_of(duckdb_warehouse, a) == {aid}

    def change(issue_id, attachments):
        if issue_id == a:  # really moved: A no longer lists it
            return []
        if issue_id == b and attachments is not None and all(str(x.get("id")) != aid for x in attachments):
            return [*attachments, moving]
        return None
    _rewrite_attachments(sb, change)
    wait_a_second()
    ops.touch_ids(sb.store, [int(b)])
    _ok(_run("jira"))
    assert _owners(duckdb_warehouse, aid) == [b]
    assert _ids_of(duckdb_warehouse, a) == set()
    assert [m[:3] for m in _moves(duckdb_warehouse)] == [(aid, a, b)]
    stored = sql(duckdb_warehouse, "select count(*) from jira.issues where id = ?", a)
    assert stored == [(1,)], "the issue itself stays"
