"""The overlap cursor: equal timestamps at a boundary are never lost, unchanged rows never reloaded."""

from pipelines.common.cursor import OverlapCursor


def test_first_run_starts_at_initial_value_minus_overlap():
    cursor = OverlapCursor({}, initial_value="2026-01-01 00:10:00", overlap_seconds=300)
    assert cursor.start_value == "2026-01-01 00:05:00"


def test_rows_in_overlap_are_skipped_only_when_unchanged():
    state: dict = {}
    first = OverlapCursor(state, initial_value="1970-01-01 00:00:00", overlap_seconds=60)
    assert first.admit("a", "2026-01-01 00:00:00", "2026-01-01 00:00:00|0")
    assert first.admit("b", "2026-01-01 00:00:30", "2026-01-01 00:00:30|0")
    first.commit()
    assert state["last_value"] == "2026-01-01 00:00:30"

    second = OverlapCursor(state, initial_value="1970-01-01 00:00:00", overlap_seconds=60)
    assert second.start_value == "2025-12-31 23:59:30"
    # b re-read unchanged: skipped; a written again in the same second: a new version, admitted
    assert not second.admit("b", "2026-01-01 00:00:30", "2026-01-01 00:00:30|0")
    assert second.admit("c", "2026-01-01 00:00:30", "2026-01-01 00:00:30|0")
    assert second.admit("a", "2026-01-01 00:00:00", "2026-01-01 00:00:00|1")
    assert second.skipped_unchanged == 1


def test_commit_forgets_versions_older_than_the_window():
    state: dict = {}
    cursor = OverlapCursor(state, initial_value="1970-01-01 00:00:00", overlap_seconds=60)
    cursor.admit("old", "2026-01-01 00:00:00", "2026-01-01 00:00:00|0")
    cursor.admit("new", "2026-01-01 01:00:00", "2026-01-01 01:00:00|0")
    cursor.commit()
    assert set(state["boundary_versions"]) == {"new"}


def test_cursor_does_not_move_without_commit():
    state = {"last_value": "2026-01-01 00:00:00", "boundary_versions": {}}
    cursor = OverlapCursor(state, initial_value="1970-01-01 00:00:00", overlap_seconds=0)
    cursor.admit("x", "2026-02-01 00:00:00", "v")
    assert state["last_value"] == "2026-01-01 00:00:00"


def test_unchanged_rows_are_recognised_before_validation():
    state = {"last_value": "2026-01-01 00:00:30", "boundary_versions": {"b": "2026-01-01 00:00:30|0"}}
    cursor = OverlapCursor(state, initial_value="1970-01-01 00:00:00", overlap_seconds=60)
    assert cursor.unchanged("b", "2026-01-01 00:00:30", "2026-01-01 00:00:30|0")
    assert not cursor.unchanged("b", "2026-01-01 00:00:30", "2026-01-01 00:00:30|1")  # written again
    assert not cursor.unchanged("b", 42, "2026-01-01 00:00:30|0")  # malformed: left to validation
    assert not cursor.unchanged(None, "2026-01-01 00:00:30", "2026-01-01 00:00:30|0")
    assert cursor.skipped_unchanged == 1
