"""Record contracts for OneTrust list records (pandera, polars): what a record must satisfy to be loaded.

Grain: one check per record as the list endpoint serves it, before any detail call. Only the fields
that merging, the cursor and the marts rely on are checked — the OneTrust id (a UUID), a usable name,
ISO-8601 timestamps and documented choice values (assessment status, risk state). Risk *levels* are
not checked: each tenant configures its own risk matrix. A record failing any check goes to
``onetrust.quarantine`` with every reason (see :func:`check_records`), never dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandera.polars as pa
import polars as pl

from pipelines.common.validation import validate_page

UUID = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
# ASCII digits only (polars' ``\d`` also matches fullwidth and Arabic-Indic digits).
ISO_TS = (r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?"
          r"(Z|[+-][0-9]{2}:?[0-9]{2})?$")
ASSESSMENT_STATUSES = ("Not Started", "In Progress", "Under Review", "Completed")
RISK_STATES = ("IDENTIFIED", "RECOMMENDATION_ADDED", "RECOMMENDATION_SENT", "REMEDIATION_PROPOSED",
               "EXCEPTION_REQUESTED", "REDUCED", "RETAINED", "ARCHIVED_IN_VERSION")


def _id(nullable: bool = False) -> pa.Column:
    return pa.Column(pl.String, pa.Check.str_matches(UUID), nullable=nullable)


def _ts(nullable: bool = False) -> pa.Column:
    return pa.Column(pl.String, pa.Check.str_matches(ISO_TS), nullable=nullable)


def _text() -> pa.Column:
    return pa.Column(pl.String, pa.Check.str_length(min_value=1), nullable=False)


@dataclass(frozen=True)
class RecordContract:
    """A pandera schema over a flat string view of a record (dotted paths reach nested fields)."""

    schema: pa.DataFrameSchema

    @property
    def columns(self) -> list[str]:
        return list(self.schema.columns)

    def view(self, record: Any) -> dict[str, Any]:
        return {column: _dig(record, column) for column in self.columns}


def _dig(record: Any, path: str) -> Any:
    value = record
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


_ASSESSMENT = {
    "assessmentId": _id(),
    "name": _text(),
    "status": pa.Column(pl.String, pa.Check.isin(ASSESSMENT_STATUSES), nullable=False),
    "createDt": _ts(nullable=True),
    "lastUpdated": _ts(),
}

CONTRACTS: dict[str, RecordContract] = {
    "assessments": RecordContract(pa.DataFrameSchema(_ASSESSMENT, name="onetrust_assessment")),
    # A vendor assessment must also name the vendor it assesses (its primary inventory record).
    "vendor_assessments": RecordContract(pa.DataFrameSchema(
        {**_ASSESSMENT, "primaryInventoryDetails.primaryInventoryId": _id()},
        name="onetrust_vendor_assessment")),
    "risks": RecordContract(pa.DataFrameSchema({
        "id": _id(),
        "name": _text(),
        "state": pa.Column(pl.String, pa.Check.isin(RISK_STATES), nullable=True),
        "createdUTCDateTime": _ts(nullable=True),
        "lastModifiedUTCDateTime": _ts(),
    }, name="onetrust_risk")),
    "vendors": RecordContract(pa.DataFrameSchema({
        "id": _id(),
        "name": _text(),
        "createdDate": _ts(nullable=True),
        "lastUpdatedDate": _ts(),
    }, name="onetrust_vendor")),
}


def check_records(entity: str, records: list[Any]) -> tuple[list[dict[str, Any]], list[tuple[Any, str]]]:
    """Split raw records into (valid, [(record, reasons)]) with the entity's contract."""
    contract = CONTRACTS[entity]
    views = [contract.view(r) for r in records]
    outcome = validate_page(views, contract.schema, contract.columns, raw=records)
    reasons = {id(view): reason for view, reason in outcome.rejected}
    valid = [r for r, v in zip(records, views, strict=True) if id(v) not in reasons]
    rejected = [(r, reasons[id(v)]) for r, v in zip(records, views, strict=True) if id(v) in reasons]
    return valid, rejected
