"""Close and reopen when the workflow's transitions have no screen: the Jira sandbox with `strict_screens`
refuses the comment on such a transition (400, as Jira does); the push then posts the comment on its own,
before the transition, and a push that dies in between or right after neither duplicates the comment nor
transitions twice. Over HTTP, like tests/test_reverse_sync_jira.py."""

from __future__ import annotations

import json
import logging
import os

import pytest

from sandbox.jira import routes_issues, screens
from tests.conftest import jira_env
from tests.reverse_sync_helpers import jira_rows, query, run, write_outbound, writes

CLOSED, REOPENED = "Closed by Project X", "Reopened by Project X"
SCREENS = dict(screens.SCREENS)  # the sandbox's own: only Done (41) has a screen


@pytest.fixture
def jira(make_jira_sandbox, duckdb_warehouse, monkeypatch):
    sb = make_jira_sandbox(size=30, strict_screens=True)
    jira_env(monkeypatch, sb)
    monkeypatch.setattr(screens, "SCREENS", {})  # a workflow none of whose transitions has a screen
    return sb


def _key(settings, internal_id: str) -> str:
    return query(settings, "select vendor_number from reverse_sync.external_links "
                           f"where internal_id = '{internal_id}'")[0][0]


def _issue(sb, key):
    return next(i for i in sb.issues() if i["key"] == key)


def _notes(sb, key, words: str) -> int:
    return sum(words in json.dumps(c["body"]) for c in _issue(sb, key)["fields"]["comment"]["comments"])


def _moves(sb, status: int | None = 204) -> list[dict]:
    return [w for w in writes(sb) if w["path"].endswith("/transitions") and status in (None, w["status"])]


def test_close_and_reopen_post_their_comment_separately_once_each(jira, duckdb_warehouse, caplog):
    rows = jira_rows(3)
    write_outbound(duckdb_warehouse, "jira", rows)
    assert run("jira").created == 3
    keys = [_key(duckdb_warehouse, r["remediation_task_id"]) for r in rows[:2]]
    write_outbound(duckdb_warehouse, "jira", rows[2:])
    jira.clear_request_log()
    with caplog.at_level(logging.INFO, logger="assets.reverse_sync.jira"):
        closed = run("jira", run_id="close", concurrency=1)
    assert closed.closed == 2 and closed.dead_lettered == 0
    said = [r.getMessage() for r in caplog.records if "has no screen" in r.getMessage()]
    assert len(said) == 1, "said once a run"
    # the first close learns the transition has no screen (one refused request); the second goes straight on
    assert [(w["path"].rsplit("/", 1)[-1], w["status"]) for w in writes(jira)] == [
        ("transitions", 400), ("comment", 201), ("transitions", 204), ("comment", 201), ("transitions", 204)]
    for key in keys:
        fields = _issue(jira, key)["fields"]
        assert fields["status"]["statusCategory"]["key"] == "done" and _notes(jira, key, CLOSED) == 1
    assert query(duckdb_warehouse, "select count(*) from reverse_sync.dead_letters") == [(0,)]

    write_outbound(duckdb_warehouse, "jira", rows)
    assert run("jira", run_id="reopen").reopened == 2
    for key in keys:
        assert _issue(jira, key)["fields"]["status"]["name"] == "To Do"
        assert (_notes(jira, key, CLOSED), _notes(jira, key, REOPENED)) == (1, 1)
    jira.clear_request_log()
    assert run("jira", run_id="again").writes == 0 and writes(jira) == []


def test_a_transition_with_a_screen_still_takes_its_comment_in_the_same_request(jira, duckdb_warehouse,
                                                                                 monkeypatch):
    monkeypatch.setattr(screens, "SCREENS", SCREENS)
    rows = jira_rows(2)
    write_outbound(duckdb_warehouse, "jira", rows)
    run("jira")
    key = _key(duckdb_warehouse, "rem-00000")
    write_outbound(duckdb_warehouse, "jira", rows[1:])
    jira.clear_request_log()
    assert run("jira", run_id="close").closed == 1
    assert [(w["path"].rsplit("/", 1)[-1], w["status"]) for w in writes(jira)] == [("transitions", 204)]
    write_outbound(duckdb_warehouse, "jira", rows)
    jira.clear_request_log()
    assert run("jira", run_id="reopen").reopened == 1  # To Do has no screen
    assert [(w["path"].rsplit("/", 1)[-1], w["status"]) for w in writes(jira)] == [
        ("transitions", 400), ("comment", 201), ("transitions", 204)]
    assert (_notes(jira, key, CLOSED), _notes(jira, key, REOPENED)) == (1, 1)
    assert _issue(jira, key)["fields"]["status"]["name"] == "To Do"


def test_a_separate_comment_whose_answer_is_lost_is_found_not_posted_twice(jira, duckdb_warehouse):
    rows = jira_rows(3)
    write_outbound(duckdb_warehouse, "jira", rows)
    run("jira")
    keys = [_key(duckdb_warehouse, r["remediation_task_id"]) for r in rows[:2]]
    write_outbound(duckdb_warehouse, "jira", rows[2:])
    jira.faults.set(rate_lost_reply=1.0, methods=["POST"], paths=[r"/comment$"])
    report = run("jira", run_id="close")
    assert (report.closed, report.dead_lettered) == (2, 0)
    adopted = query(duckdb_warehouse, "select count(*) from audit.events where operation = 'adopt' "
                                      "and run_id = 'close'")
    assert adopted == [(2,)], "each comment was looked up after its lost answer, and found"
    for key in keys:
        assert _notes(jira, key, CLOSED) == 1
        assert _issue(jira, key)["fields"]["status"]["statusCategory"]["key"] == "done"


def test_any_other_refusal_is_still_the_records_dead_letter(jira, duckdb_warehouse, monkeypatch):
    rows = jira_rows(1)
    write_outbound(duckdb_warehouse, "jira", rows)
    run("jira")
    key = _key(duckdb_warehouse, "rem-00000")
    # a screen without the comment's company: Jira names the comment and another field
    monkeypatch.setattr(routes_issues, "off_screen", lambda tid, fields, update: {"comment": "not here", "x": "no"})
    write_outbound(duckdb_warehouse, "jira", [], like=rows)
    report = run("jira", run_id="close")
    assert report.dead_lettered == 1 and report.closed == 0
    reason = query(duckdb_warehouse, "select error from reverse_sync.dead_letters")[0][0]
    assert "comment: not here" in reason and "x: no" in reason
    assert _issue(jira, key)["fields"]["status"]["name"] == "To Do" and _notes(jira, key, CLOSED) == 0


def test_the_same_note_from_an_earlier_close_is_not_taken_for_this_one(jira, duckdb_warehouse):
    rows = jira_rows(1)
    write_outbound(duckdb_warehouse, "jira", rows)
    run("jira")
    key = _key(duckdb_warehouse, "rem-00000")
    write_outbound(duckdb_warehouse, "jira", [], like=rows)
    assert run("jira", run_id="close-1").closed == 1
    jira.edit_as(key, {"status": "To Do"})  # a person reopens it in Jira: the vendor wins the status
    write_outbound(duckdb_warehouse, "jira", rows)
    run("jira", run_id="kept-open")
    write_outbound(duckdb_warehouse, "jira", [], like=rows)
    assert run("jira", run_id="close-2").closed == 1
    assert _issue(jira, key)["fields"]["status"]["statusCategory"]["key"] == "done"
    assert _notes(jira, key, CLOSED) == 2


def _push_dying(point: str) -> None:
    """In a forked child: the close push dies like a SIGKILL (no cleanup, no commit) at ``point``: "between"
    the comment and the transition, or "after" the transition (before the record's link is saved)."""
    from assets.reverse_sync import state
    from assets.reverse_sync.writes import Writes

    if point == "between":
        once = Writes.once

        def dying(self, session, method, path, **kw):
            if path.endswith("/transitions") and "update" not in kw["json"]:
                os._exit(137)
            return once(self, session, method, path, **kw)

        Writes.once = dying
    else:
        state.save_link = lambda *a, **k: os._exit(137)
    run("jira", run_id=f"dies-{point}", concurrency=1)
    os._exit(0)


@pytest.mark.parametrize("point", ["between", "after"])
def test_a_push_that_dies_mid_move_leaves_one_comment_and_one_transition(jira, duckdb_warehouse, point):
    import multiprocessing

    rows = jira_rows(1)
    write_outbound(duckdb_warehouse, "jira", rows)
    run("jira")
    key = _key(duckdb_warehouse, "rem-00000")
    write_outbound(duckdb_warehouse, "jira", [], like=rows)
    jira.clear_request_log()
    child = multiprocessing.get_context("fork").Process(target=_push_dying, args=(point,))
    child.start()
    child.join(timeout=120)
    assert child.exitcode == 137, "the push died mid-move"
    assert _notes(jira, key, CLOSED) == 1
    assert len(_moves(jira)) == (0 if point == "between" else 1)
    again = run("jira", run_id="rerun")
    assert again.dead_lettered == 0
    assert _issue(jira, key)["fields"]["status"]["statusCategory"]["key"] == "done"
    assert _notes(jira, key, CLOSED) == 1, "the comment is not posted twice"
    assert len(_moves(jira)) == 1, "one transition in all"
    assert [w for w in writes(jira) if w["path"].endswith("/comment")] == writes(jira)[1:2], "one comment POST"
