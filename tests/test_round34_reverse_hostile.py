"""Round 34: hostile text a person typed in Jira, quoted back in Project X's change comment.

The comment after an edit quotes each field's value before and after (``jira_screens.edit_note``), and is kept in
``reverse_sync.jira_owed_notes`` before the edit is sent. A summary holding a lone UTF-16 surrogate (JSON's
``\\ud800``, which Jira keeps) crashed the whole push on that insert, every run while the summary stayed; a NUL
(refused by PostgreSQL) likewise; a right-to-left override turned the rest of the comment around for a reader."""

from __future__ import annotations

from assets.reverse_sync.jira_screens import edit_note
from assets.reverse_sync.policy import Change
from tests import test_reverse_sync_attacks as attacks
from tests.reverse_sync_helpers import jira_rows, query, run, write_outbound

jira = attacks.jira  # the sandbox fixture
HOSTILE = "bad \ud800 text \x00 nul \u202eevil"


def test_a_summary_a_person_gave_a_lone_surrogate_is_put_right_and_told_without_crashing_the_push(
        jira, duckdb_warehouse):
    rows = jira_rows(2)
    write_outbound(duckdb_warehouse, "jira", rows)
    assert run("jira").created == 2
    [hostile] = [i["key"] for i in jira.issues() if "projectx:rem-00000" in i["fields"]["labels"]]
    jira.edit_as(hostile, {"summary": HOSTILE})
    for r in rows:
        r["priority"] = "Low"
    write_outbound(duckdb_warehouse, "jira", rows)
    report = run("jira")
    assert (report.updated, report.dead_lettered) == (2, 0), report.failures
    [issue] = [i for i in jira.issues() if i["key"] == hostile]
    assert issue["fields"]["summary"] == rows[0]["summary"], "the summary is Project X's"
    notes = [str(getattr(c, "body", c)) for c in jira.store.comments_of(jira.store.resolve(hostile))]
    assert len(notes) == 1 and "Low" in notes[0], notes
    assert not any(ch in notes[0] for ch in "\ud800\x00\u202e"), notes
    assert query(duckdb_warehouse, "select count(*) from reverse_sync.jira_owed_notes") == [(0,)]
    assert run("jira").writes == 0


def test_the_change_note_quotes_control_characters_visibly_and_keeps_plain_text():
    note = edit_note([Change("summary", HOSTILE, "fixed"), Change("priority", "High", "Low")])
    note.encode("utf-8")  # no lone surrogate: any warehouse stores it
    assert "\x00" not in note and "\u202e" not in note
    assert "U+D800" in note and "U+202E" in note and "U+0000" in note, note
    assert note.endswith("priority High -> Low"), "the text after a right-to-left override reads as it was"
    plain = edit_note([Change("summary", "Ünïcode ✓ 漢字", "שלום")])
    assert plain == "Project X updated this issue: summary Ünïcode ✓ 漢字 -> שלום"
