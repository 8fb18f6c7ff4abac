"""Round 34, review fixes of the reverse sync's round-34 changes.

1. An owed change comment of an edit Jira made but never answered (a gateway's 504) was lost when a person set the
   field again and the next run planned it again: the shortcut for "planned again" ran before the issue's values
   were read, the next edit's note replaced it, and that edit's refusal dropped it.
2. A 404 for a linked OneTrust attestation its search still shows dead-lettered every push: an upsert by our
   externalId goes into the same record, so it is sent (only a create not keyed by our id is held).
3. A 404 looked the record up with the whole label prefetch (every ``labels = projectx`` page, per 404).
4. A OneTrust implementation create read back by its id: a read-back failure (404 lag, 5xx) stopped the record, and a
   miss said "answered 201 without the id ... check the base URL" instead of "another control's implementation".
5. The change note escaped the direction marks Hebrew and Arabic text holds (U+200E, U+200F, U+061C)."""

from __future__ import annotations

from types import SimpleNamespace

from assets.reverse_sync import jira_notes
from tests import test_reverse_sync_attacks as attacks
from tests.reverse_sync_helpers import jira_rows, query, run, write_outbound
from tests.test_round34_reverse_notes import EDIT, _answer_after_making, _heal, _notes, _refuse

jira = attacks.jira  # the sandbox fixture
_jira_keys = attacks._jira_keys


def test_an_unanswered_made_edits_note_survives_a_person_setting_the_field_and_the_next_edit_refused(
        jira, duckdb_warehouse):
    rows = jira_rows(1)
    write_outbound(duckdb_warehouse, "jira", rows)
    assert run("jira").created == 1
    rows[0]["priority"] = "Low"
    write_outbound(duckdb_warehouse, "jira", rows)
    _answer_after_making(jira, "PUT", EDIT, 504)  # Jira made High -> Low; the gateway answered 504
    assert run("jira").dead_lettered == 1
    _heal(jira)
    [key] = _jira_keys(jira)
    jira.edit_as(key, {"priority": "Medium"})  # a person, between the two syncs
    _refuse(jira, "PUT", EDIT, 400, {"errorMessages": ["Issue is being reindexed; try again"], "errors": {}})
    assert run("jira").dead_lettered == 1  # plans priority again (Medium -> Low): refused
    _heal(jira)
    report = run("jira")
    assert report.dead_lettered == 0, report.failures
    notes = _notes(jira)
    assert any("High -> Low" in n for n in notes), f"the made High -> Low change was never told: {notes}"
    assert sum("High -> Low" in n for n in notes) == 1, notes
    assert query(duckdb_warehouse, f"select count(*) from {jira_notes.TABLE}") == [(0,)]


def _snap(fields: dict, foreign) -> SimpleNamespace:
    return SimpleNamespace(fields=fields, foreign=foreign)


def test_made_reads_an_unknown_changelog_as_unknown_unless_a_field_holds_its_value():
    owed = {"priority": "Low", "duedate": "2027-03-01"}
    # changelog unknown: a value that is not ours may be a person's, so it proves nothing (was: "not made")
    assert jira_notes._made(owed, _snap({"priority": "Medium", "duedate": "2026-12-01"}, None)) is None
    assert jira_notes._made(owed, _snap({"priority": "Low", "duedate": "2026-12-01"}, None)) is True
    # changelog known: the fields nobody else changed tell; all changed by a person: kept (told)
    assert jira_notes._made(owed, _snap({"priority": "Medium", "duedate": "2026-12-01"}, set())) is False
    assert jira_notes._made(owed, _snap({"priority": "Medium", "duedate": "2027-03-01"}, {"priority"})) is True
    assert jira_notes._made(owed, _snap({"priority": "Medium", "duedate": "x"}, {"priority", "duedate"})) is True
