"""pandera (polars) schemas for ServiceNow records as they arrive: every value a string.

What we reject (to the quarantine table, with the reason): a missing or malformed ``sys_id``; a
cursor timestamp that is not ``YYYY-MM-DD HH:MM:SS``; other datetimes, integers or booleans that are
neither empty nor of their type. Staging casts what passes, so a bad value never breaks dbt.
"""

from __future__ import annotations

from functools import cache

import pandera.polars as pa
import polars as pl
from pandera.api.polars.types import PolarsData

from pipelines.servicenow.settings import (
    ATTACHMENT_FIELDS,
    DEFAULT_REMEDIATION_TABLE,
    TABLES,
    TableSpec,
    remediation_table,
)

SYS_ID = r"^[0-9a-f]{32}$"
# ASCII digits only (polars' ``\d`` also matches fullwidth and Arabic-Indic digits, which staging cannot cast).
DATETIME = r"^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}$"
OPTIONAL_DATETIME = r"^([0-9]{4}-[0-9]{2}-[0-9]{2}( [0-9]{2}:[0-9]{2}:[0-9]{2})?)?$"
# At most 9 digits: staging casts to INTEGER (``sn_int``) and reads a longer number, or a lone ``-``, as NULL:
# a ``reassignment_count`` of 25 digits loaded and became a silent null.
OPTIONAL_INTEGER = r"^(-?[0-9]{1,9})?$"
# Columns staging casts to BIGINT (``safe_bigint``, 18 digits): an attachment's size (1 GiB, ServiceNow's default
# largest attachment, is 10 digits; a 9-digit limit quarantined every attachment over 954 MiB).
BIGINTS = ("size_bytes",)
OPTIONAL_BIGINT = r"^(-?[0-9]{1,18})?$"
OPTIONAL_BOOLEAN = r"^(true|false)?$"


def _real_datetime(data: PolarsData) -> pl.LazyFrame:
    """Shape is not enough: 2026-02-30 25:61:00 matches the pattern but is no time at all. A leap second
    (``23:59:60``) polars reads, but the cursor (Python's datetime) cannot: every run died on it."""
    col = pl.col(data.key)
    parsed = pl.coalesce(col.str.to_datetime("%Y-%m-%d %H:%M:%S", strict=False),
                         col.str.to_date("%Y-%m-%d", strict=False).cast(pl.Datetime))
    holdable = parsed.is_not_null() & (col.str.slice(17, 2) != "60") & (col.str.slice(0, 4) != "0000")
    return data.lazyframe.select((col.is_null() | (col == "") | holdable).alias(data.key))


REAL_DATETIME = pa.Check(_real_datetime, name="real_datetime", error="not a real date/time")


def _column(name: str, spec: TableSpec) -> pa.Column:
    if name == "sys_id":
        return pa.Column(str, pa.Check.str_matches(SYS_ID), nullable=False)
    if name == spec.cursor_field:
        return pa.Column(str, [pa.Check.str_matches(DATETIME), REAL_DATETIME], nullable=False)
    if name in spec.datetimes:
        return pa.Column(str, [pa.Check.str_matches(OPTIONAL_DATETIME), REAL_DATETIME], nullable=True)
    if name in spec.integers:
        pattern = OPTIONAL_BIGINT if name in BIGINTS else OPTIONAL_INTEGER
        return pa.Column(str, pa.Check.str_matches(pattern), nullable=True)
    if name in spec.booleans:
        return pa.Column(str, pa.Check.str_matches(OPTIONAL_BOOLEAN), nullable=True)
    return pa.Column(str, nullable=True)


@cache
def table_schema(table: str) -> pa.DataFrameSchema:
    if table == remediation_table():  # a configured name for the remediation table
        table = DEFAULT_REMEDIATION_TABLE
    spec = TABLES.get(table, ATTACHMENT_SPEC)
    return pa.DataFrameSchema({f: _column(f, spec) for f in spec.fields}, name=f"servicenow.{spec.resource}")


ATTACHMENT_SPEC = TableSpec(
    "sys_attachment", "attachments", ATTACHMENT_FIELDS,
    datetimes=("sys_created_on", "sys_updated_on"), integers=("size_bytes", "sys_mod_count"),
)
