"""Round 22: a hostile twin of a valid Jira attachment (the same attachment id, listed beside it in one issue's
attachment list, with hostile metadata or a field the schema refuses) is quarantined once while it stays
the same, however often its issue changes and is read again; a changed twin is quarantined again, once.

Before, the valid attachment's loading took the id out of the re-read ledger (``pipelines.common.requeue``)
in the same run, so every later read of the issue found the twin unknown and wrote another quarantine row.
Now the Jira attachment ledger remembers (attachment id, reason, content digest) of what it quarantined,
at most ``TWINS_MAX`` ids, those met longest ago dropped first (:mod:`pipelines.jira.attachment_ledger`).

Each sync is a real subprocess over HTTP against the sandbox; the twins are made by rewriting the
sandbox's search responses (the sandbox itself serves one entry per attachment id).
"""

from __future__ import annotations

import json

from pipelines.jira import attachment_ledger
from pipelines.jira.attachment_ledger import STATE_KEY, TWINS_KEY, AttachmentLedger
from tests.conftest import jira_env
from tests.ingestion_harness import JIRA_ISSUES, assert_parity, sql, wait_a_second
from tests.test_ingestion_round20_poison_children import _ok, _run
from tests.test_ingestion_round22_jira_attachments import _attachments, _rewrite_attachments, _with_attachments


def _held(settings, aid: str) -> list[tuple[str, str]]:
    """(reason, record) of the quarantine rows of attachment ``aid``, oldest first."""
    return sql(settings, "select reason, record from jira.quarantine where entity = 'attachments' "
                         "and record_id = ? order by quarantined_at", aid)


def test_a_hostile_twin_is_quarantined_once_however_often_its_issue_is_read_again(
        make_jira_sandbox, monkeypatch, duckdb_warehouse):
    sb = make_jira_sandbox(size=150)
    jira_env(monkeypatch, sb)
    text_issue, schema_issue = _with_attachments(sb, 2)
    text_twin = text_issue["fields"]["attachment"][0]
    schema_twin = schema_issue["fields"]["attachment"][0]
    aids = {text_issue["id"]: str(text_twin["id"]), schema_issue["id"]: str(schema_twin["id"])}
    twins = {text_issue["id"]: ("filename", "evil\x00.txt"), schema_issue["id"]: ("created", "yesterday")}

    def change(issue_id, attachments):
        if issue_id not in twins or not attachments:
            return None
        field, value = twins[issue_id]
        return [*attachments, {**attachments[0], field: value}]  # the valid one, then its twin
    _rewrite_attachments(sb, change)

    for n in range(3):  # every run reads both issues again: they change before each later run
        if n:
            wait_a_second()
            for issue in (text_issue, schema_issue):
                sb.comment_as(issue["key"], f"the issue changes, its twin does not ({n})")
        _ok(_run("jira"))
    for issue_id, aid in aids.items():
        rows = _held(duckdb_warehouse, aid)
        assert len(rows) == 1, f"the same twin ({twins[issue_id]}) quarantined {len(rows)} times in 3 runs"
        field, value = twins[issue_id]
        assert json.loads(rows[0][1])[field] == value
    loaded = {r[0]: r for r in _attachments(duckdb_warehouse)}
    for issue_id, aid in aids.items():
        assert loaded[aid][1] == issue_id and loaded[aid][5] == "stored", "the valid attachment loads"
    assert loaded[aids[text_issue["id"]]][2] == text_twin["filename"]
    assert loaded[aids[schema_issue["id"]]][4] == schema_twin["created"]

    twins[text_issue["id"]] = ("filename", "other\x00.txt")  # the twin changes: quarantined again, once
    twins[schema_issue["id"]] = ("created", "the day before")
    for _ in range(2):
        wait_a_second()
        for issue in (text_issue, schema_issue):
            sb.comment_as(issue["key"], "and again")
        _ok(_run("jira"))
    for issue_id, aid in aids.items():
        rows = _held(duckdb_warehouse, aid)
        assert len(rows) == 2, f"a changed twin should be quarantined once more, not {len(rows) - 1} times"
        field, value = twins[issue_id]
        assert json.loads(rows[1][1])[field] == value
    assert not sql(duckdb_warehouse, "select 1 from jira.quarantine where entity = 'issues'")
    assert_parity(sb, duckdb_warehouse, JIRA_ISSUES)


def _twin(aid: str, name: str = "evil\x00.txt") -> dict:
    return {"id": aid, "filename": name, "mimeType": "text/plain", "size": 3, "created": "2026-10-01T12:00:00.000+0000"}


def test_the_memory_is_bounded_and_a_different_reason_or_content_is_quarantined_again(monkeypatch):
    monkeypatch.setattr("pipelines.common.requeue.orphaned", lambda entity: set())
    monkeypatch.setattr("pipelines.common.requeue.poison_held", lambda entity: set())
    monkeypatch.setattr(attachment_ledger, "TWINS_MAX", 3)
    state: dict = {}

    def run(run_id: str, *rejections) -> list:
        """One run: the rejections, then the valid attachments of the same ids load (they leave the re-read
        ledger), then the state is committed."""
        ledger = AttachmentLedger(state, run_id)
        out = [ledger.reject(record, reason, "10001") for record, reason in rejections]
        ledger.loaded([{"id": r["id"]} for r, _ in rejections])
        ledger.commit(state)
        return out

    nul = "invalid text: NUL in filename"
    assert run("run-1", (_twin("1"), nul)) != [None]
    assert "1" in state[STATE_KEY][TWINS_KEY] and not state[STATE_KEY]["quarantined"]
    assert run("run-2", (_twin("1"), nul)) == [None], "the same twin: no second row"
    assert run("run-3", (_twin("1"), "another reason")) != [None], "another reason: quarantined"
    assert run("run-4", (_twin("1", "x\x00"), nul)) != [None], "other content: quarantined"
    assert run("run-5", (_twin("1"), nul), (_twin("1", "x\x00"), nul)) == [None, None], "both still known"
    assert run("run-6", (_twin("2"), nul), (_twin("3"), nul), (_twin("4"), nul)) != [None, None, None]
    assert sorted(state[STATE_KEY][TWINS_KEY]) == ["2", "3", "4"], "at most TWINS_MAX ids, the oldest dropped"
    assert run("run-7", (_twin("1"), nul)) != [None], "forgotten: quarantined again"
    assert run("run-8", (_twin("3"), nul)) == [None]
    assert sorted(state[STATE_KEY][TWINS_KEY]) == ["1", "3", "4"]

    window = AttachmentLedger(None, "run-9")  # a window run: no memory, every rejection written
    assert window.reject(_twin("1"), nul, "10001") is not None and window.schema_requeue is None
