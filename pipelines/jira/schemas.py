"""pandera (polars) schemas for the flattened Jira rows, one per entity: every checked value a string.

What we reject (to ``jira.quarantine`` with the reason): an id that is not numeric, an issue key that
is not ``PROJ-123``, a timestamp that does not parse (``2026-10-01T12:34:56.789+0000``; sprints use
``...Z``), a story-point value that is not a number, a missing summary, status or issue type, a
sprint state or status category Jira does not have, a list column (``LISTS``: labels, components,
fix versions, the Sprint field's ids) that is not a JSON array (``"labels": "a,b"`` became ``[]`` in
silence, and so did a Sprint field sent as ``"7"``). Staging casts what passes, so a bad value never
breaks dbt.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

import pandera.polars as pa
import polars as pl
from pandera.api.polars.types import PolarsData

from pipelines.common.quarantine import quarantined
from pipelines.common.requeue import Requeue
from pipelines.common.validation import json_type, validate_page

# ASCII digits only: polars' ``\d`` is Unicode-aware, and an id or count written in other digits
# (fullwidth or Arabic-Indic digits, U+FF10..FF19, U+0660..0669) is no id Jira uses and no number staging can cast.
# Written as Jira writes it (a Java ``long`` as text): no leading zero and at most 18 digits. ``010003`` or a
# 21-digit id (a float ``1e20`` from a proxy) matched ``^[0-9]+$`` and was stored as a second row under the
# issue's key, beside ``10003``; staging keys on the id as text.
ID = r"^(0|[1-9][0-9]{0,17})$"
_ID = re.compile(ID)
ISSUE_KEY = r"^[A-Z][A-Z0-9_]*-[0-9]+$"
PROJECT_KEY = r"^[A-Z][A-Z0-9_]*$"
DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
# What staging's ``safe_numeric`` (numeric(10, 2)) casts: up to 8 whole digits, or 7 with a fraction it rounds.
# An exponent (``1e-05``, a float's text) or a longer number (``1e20`` sent as a float) passed and staging read a
# silent NULL: the estimate was lost without a quarantine row.
NUMBER = r"^-?([0-9]{1,8}(\.[0-9]{1,2})?|[0-9]{1,7}\.[0-9]+)$"
TS_FORMAT = "%Y-%m-%dT%H:%M:%S%.f%z"
# The shape too: polars' parse also takes a space before the offset, a leading space or a leading ``+`` on
# the year, which the cursor's parse (Python's ``fromisoformat``) refuses: every run died on such a stamp.
TS_SHAPE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:?[0-9]{2})$"


def _parses(data: PolarsData) -> pl.LazyFrame:
    """A time the cursor (Python's datetime) can hold too: polars also reads a leap second (``23:59:60``),
    year 0 and UTC times beyond years 1-9999 (``9999-12-31T23:59:59-0100``), on which the cursor's parse
    raised and every run died."""
    col = pl.col(data.key)
    parsed = col.str.replace(r"Z$", "+0000").str.to_datetime(format=TS_FORMAT, strict=False, time_zone="UTC")
    holdable = (parsed.dt.year().is_between(1, 9999) & (col.str.slice(0, 4) != "0000")
                & (col.str.slice(17, 2) != "60") & col.str.contains(TS_SHAPE))
    return data.lazyframe.select(col.is_null() | (parsed.is_not_null() & holdable))


TIMESTAMP = pa.Check(_parses, name="jira_timestamp", error="not a Jira timestamp like 2026-10-01T12:34:56.789+0000")


def _real_date(data: PolarsData) -> pl.LazyFrame:
    """A day the calendar has: ``2026-02-30`` or year 0000 matched ``DATE`` and staging read a silent NULL."""
    col = pl.col(data.key)
    real = col.str.to_date("%Y-%m-%d", strict=False).is_not_null() & (col.str.slice(0, 4) != "0000")
    return data.lazyframe.select(col.is_null() | (col.str.contains(DATE) & real))


REAL_DATE = pa.Check(_real_date, name="real_date", error="not a real date like 2026-10-01")


def _id(nullable: bool = False) -> pa.Column:
    return pa.Column(str, pa.Check.str_matches(ID), nullable=nullable)


def _ts(nullable: bool = True) -> pa.Column:
    return pa.Column(str, TIMESTAMP, nullable=nullable)


def _text(nullable: bool = True) -> pa.Column:
    return pa.Column(str, nullable=nullable)


SCHEMAS: dict[str, pa.DataFrameSchema] = {
    "issues": pa.DataFrameSchema({
        "id": _id(), "key": pa.Column(str, pa.Check.str_matches(ISSUE_KEY)),
        "project_key": pa.Column(str, pa.Check.str_matches(PROJECT_KEY)), "issue_type": _text(False),
        "summary": _text(False), "status": _text(False),
        "status_category": pa.Column(str, pa.Check.isin(["new", "indeterminate", "done", "undefined"]),
                                     nullable=True),
        "parent_id": _id(True), "story_points": pa.Column(str, pa.Check.str_matches(NUMBER), nullable=True),
        "created": _ts(False), "updated": _ts(False), "resolutiondate": _ts(),
        "statuscategorychangedate": _ts(),
        "duedate": pa.Column(str, [pa.Check.str_matches(DATE), REAL_DATE], nullable=True),
    }, name="jira.issues"),
    "issue_changelog": pa.DataFrameSchema({
        "history_id": _id(), "issue_id": _id(), "created": _ts(False), "field": _text(False),
    }, name="jira.issue_changelog"),
    "comments": pa.DataFrameSchema({
        "id": _id(), "issue_id": _id(), "created": _ts(False), "updated": _ts(),
    }, name="jira.comments"),
    "attachments": pa.DataFrameSchema({
        "id": _id(), "issue_id": _id(), "filename": _text(False),
        "size_bytes": pa.Column(str, pa.Check.str_matches(ID), nullable=True), "created": _ts(),
    }, name="jira.attachments"),
    "projects": pa.DataFrameSchema({
        "id": _id(), "key": pa.Column(str, pa.Check.str_matches(PROJECT_KEY)), "name": _text(False),
    }, name="jira.projects"),
    "boards": pa.DataFrameSchema({"id": _id(), "name": _text(False), "type": _text()}, name="jira.boards"),
    "sprints": pa.DataFrameSchema({
        "id": _id(), "board_id": _id(True), "name": _text(False),
        "state": pa.Column(str, pa.Check.isin(["future", "active", "closed"])),
        "start_date": _ts(), "end_date": _ts(), "complete_date": _ts(),
    }, name="jira.sprints"),
}


# Per entity: columns that must be JSON arrays (their items are not checked here).
LISTS: dict[str, tuple[str, ...]] = {"issues": ("labels", "components", "fix_versions", "sprint_ids")}


def list_problem(entity: str, row: dict[str, Any], sources: Mapping[str, str] | None = None) -> str | None:
    """Why a list column of ``row`` cannot be stored (a value that is not a JSON array), or None.

    ``sources``: per column, the vendor field it comes from when the column name does not say (the
    Sprint field's id differs per site: ``{"sprint_ids": "the Sprint field customfield_10020"}``)."""
    problems = []
    for column in LISTS.get(entity, ()):
        value = row.get(column)
        named = f"{column} ({sources[column]})" if sources and column in sources else column
        if value is not None and not isinstance(value, list):
            problems.append(f"{named}: expected an array, got {json_type(value)} {_shown(value)}")
        elif value and column in ID_LISTS:
            bad = next(((i, item) for i, item in enumerate(value)
                        if not (isinstance(item, str) and _ID.fullmatch(item))), None)
            if bad is not None:
                shown = "" if bad[1] is None else f" {_shown(bad[1])}"
                problems.append(f"{named}: item {bad[0]} is not a sprint with an id: got {json_type(bad[1])}{shown}")
    return "; ".join(problems) or None


# List columns whose items are ids (digits) once flattened: any other item is one the flattening could not
# read (a sprint object without an id, a boolean, a name), which would otherwise be a lost membership.
ID_LISTS = frozenset({"sprint_ids"})


def _shown(value: Any, limit: int = 60) -> str:
    shown = json.dumps(value, default=str, ensure_ascii=True)
    return shown[:limit] + "..." if len(shown) > limit else shown


def columns(entity: str) -> Sequence[str]:
    """The string columns validated for ``entity`` (the schema's columns)."""
    return list(SCHEMAS[entity].columns)


def checked(entity: str, rows: list[dict[str, Any]], run_id: str,
            raw: list[Any] | None = None, requeue: Requeue | None = None,
            sources: Mapping[str, str] | None = None) -> tuple[list[dict[str, Any]], list[Any]]:
    """Split ``rows`` into the valid ones (same dicts, same order) and quarantine items for the rest.

    ``raw`` (parallel to ``rows``) is what the vendor sent; it is what the quarantine keeps.
    ``requeue``: the re-read ledger of ``entity`` (rejected keys are read again next run; a record
    already quarantined as it is now is not written again). ``sources``: see :func:`list_problem`.
    """
    if not rows:
        return [], []
    check = validate_page(rows, SCHEMAS[entity], columns(entity), raw=raw)
    bad = {id(record): reason for record, reason in check.rejected}
    for row in rows:
        problem = list_problem(entity, row, sources)
        if problem:
            bad[id(row)] = f"{bad[id(row)]}; {problem}" if id(row) in bad else problem
    if not bad:
        return rows, []
    sent = raw if raw is not None else rows
    items = [quarantined(entity, sent[n], bad[id(r)], run_id, str(r.get("id") or r.get("key") or ""))
             if requeue is None else requeue.reject(sent[n], bad[id(r)], _key(r.get("id"), r.get("key")))
             for n, r in enumerate(rows) if id(r) in bad]
    items = [i for i in items if i is not None]
    return [r for r in rows if id(r) not in bad], items


def _key(issue_id: Any, issue_key: Any) -> str | None:
    """What reads the issue again: its id (as Jira writes it), else its key (``PROJ-12``), else None."""
    if isinstance(issue_id, str) and _ID.fullmatch(issue_id):
        return issue_id
    if isinstance(issue_key, str) and re.fullmatch(ISSUE_KEY.strip("^$"), issue_key):
        return issue_key
    return None
