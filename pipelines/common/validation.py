"""Validate a page of vendor records against a pandera (polars) schema; split it into good and rejected.

Each source declares one schema per staged entity (every field the vendor sends as a string; checks
on ids, timestamps and choice values). A page becomes a polars frame; records that cannot even be
framed (a value that is not a string, say) are rejected first with that reason; pandera then checks
the rest, and every failing record is rejected with all its reasons. Rejected records go to the
source's quarantine table (see :mod:`pipelines.common.quarantine`) — never dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandera.polars as pa
import polars as pl
from pandera.errors import SchemaErrors

from pipelines.common.pages import is_lenient, text_problem


@dataclass
class PageCheck:
    """The outcome for one page: a frame of valid records and (record, reason) pairs rejected."""

    valid: pl.DataFrame
    rejected: list[tuple[dict[str, Any], str]] = field(default_factory=list)


def json_type(value: Any) -> str:
    """The JSON type name of a parsed value, for quarantine reasons ("expected an array, got string")."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return {str: "string", list: "array", dict: "object"}.get(type(value), type(value).__name__)


def string_columns(names: Sequence[str]) -> dict[str, pl.DataType]:
    return {name: pl.String for name in names}


def validate_page(records: list[dict[str, Any]], schema: pa.DataFrameSchema,
                  columns: Sequence[str], raw: Sequence[Any] | None = None) -> PageCheck:
    """Frame ``records`` (only ``columns``, all strings) and validate them with ``schema``.

    ``raw`` (parallel to ``records``): what the vendor sent, when ``records`` are views of it. A record
    from a page the strict parser refused (:class:`pipelines.common.pages.Lenient`) is first checked
    whole for text no warehouse can store, and rejected with that reason (one record, not the page).
    """
    polars_schema = string_columns(columns)
    records, rejected = _storable(records, raw if raw is not None else records)
    records, wrong = _strings(records, columns)
    rejected += wrong
    try:
        frame = pl.from_dicts(records, schema=polars_schema)
    except (pl.exceptions.PolarsError, TypeError, ValueError):
        good = []
        for record in records:
            bad = [k for k in columns if record.get(k) is not None and not isinstance(record[k], str)]
            problem = None if bad else text_problem({k: record.get(k) for k in columns})
            if bad:
                rejected.append((record, "; ".join(
                    f"{k}: expected a string, got {type(record[k]).__name__}" for k in bad)))
            elif problem:  # a value derived from vendor text that polars cannot hold
                rejected.append((record, f"invalid text: {problem}"))
            else:
                good.append(record)
        frame = pl.from_dicts(good, schema=polars_schema) if good else pl.DataFrame(schema=polars_schema)
        records = good
    try:
        schema.validate(frame, lazy=True)
    except SchemaErrors as errors:
        return _split(frame, records, errors.failure_cases, rejected)
    return PageCheck(frame, rejected)


def _split(frame: pl.DataFrame, records: list[dict[str, Any]], failures: pl.DataFrame,
           rejected: list[tuple[dict[str, Any], str]]) -> PageCheck:
    failures = failures.with_columns(
        pl.format("{}: {} (got {})", pl.col("column"), pl.col("check"),
                  pl.col("failure_case").cast(pl.String).fill_null("null")).alias("reason")
    )
    whole_frame = failures.filter(pl.col("index").is_null())
    if whole_frame.height:  # e.g. a column missing from every record: nothing on this page is usable
        reason = "; ".join(whole_frame["reason"].to_list())
        return PageCheck(frame.clear(), rejected + [(r, reason) for r in records])
    by_row = failures.group_by("index").agg(pl.col("reason").str.join("; "))
    bad_rows = dict(zip(by_row["index"].to_list(), by_row["reason"].to_list(), strict=True))
    rejected = rejected + [(records[i], reason) for i, reason in sorted(bad_rows.items())]
    keep = pl.Series([i not in bad_rows for i in range(frame.height)])
    return PageCheck(frame.filter(keep), rejected)


_PLAIN = frozenset({str, type(None)})


def _strings(records: list[dict[str, Any]], columns: Sequence[str]) -> tuple[list[dict[str, Any]],
                                                                            list[tuple[dict[str, Any], str]]]:
    """Split off records with a checked value that is not a string. Checked always, before framing:
    polars casts a number or a boolean to its text silently (``2`` -> ``"2"``), and only a page that
    also holds an object or a list made framing fail, so the same record was loaded or quarantined
    depending on its neighbours."""
    if all({*map(type, r.values())} <= _PLAIN for r in records):  # the common case, at C speed
        return records, []
    good, bad = [], []
    for record in records:
        wrong = [k for k in columns if record.get(k) is not None and not isinstance(record[k], str)]
        if wrong:
            bad.append((record, "; ".join(f"{k}: expected a string, got {type(record[k]).__name__}" for k in wrong)))
        else:
            good.append(record)
    return good, bad


def _storable(records: list[dict[str, Any]], raw: Sequence[Any]) -> tuple[list[dict[str, Any]],
                                                                         list[tuple[dict[str, Any], str]]]:
    """Split off records whose vendor text cannot be stored (only leniently parsed ones can hold such)."""
    if not any(is_lenient(r) for r in raw):
        return records, []
    good, bad = [], []
    for record, sent in zip(records, raw, strict=True):
        problem = text_problem(sent) if is_lenient(sent) else None
        if problem is None and sent is not record:
            problem = text_problem(record)
        if problem:
            bad.append((record, f"invalid text: {problem}"))
        else:
            good.append(record)
    return good, bad
