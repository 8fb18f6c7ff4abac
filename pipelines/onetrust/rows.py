"""OneTrust records flattened into the rows of the ``onetrust`` dataset (one function per table).

Values keep the vendor's types (numbers, booleans) and timestamps stay the vendor's ISO-8601 strings:
dbt staging casts. Lists that are facts of the record (tags, respondents, categories) are JSON
columns; an assessment's answers are the child table ``assessments__responses``.

OneTrust ids are UUIDs, and UUIDs are case-insensitive: a vendor that serves a record's id upper-cased on
a later run still means the same record. Every UUID key and UUID foreign key is therefore stored in one
canonical form (:func:`uuid_key`), lower case: the form OneTrust normally sends, so warehouses loaded
before hold it already and the same record keeps merging into its one row. Only values shaped like a
UUID are canonicalised; any other value is kept as sent (and judged by validation).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import dlt

from pipelines.common.validation import json_type
from pipelines.onetrust.copies import instant_text

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def uuid_key(value: Any) -> Any:
    """A OneTrust UUID in its canonical (lower-case) form; a value that is not a UUID is returned as is.

    Lower case, not upper: existing warehouses hold the lower-case form OneTrust normally sends, so
    canonicalising to it keeps their keys, merges and joins unchanged."""
    return value.lower() if isinstance(value, str) and _UUID.fullmatch(value) else value


def _get(record: dict[str, Any] | None, *path: str) -> Any:
    value: Any = record
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _first(items: Any) -> dict[str, Any]:
    return items[0] if isinstance(items, list) and items and isinstance(items[0], dict) else {}


def assessment_row(item: dict[str, Any], export: dict[str, Any]) -> dict[str, Any]:
    """Grain: one assessment (PIA, DPIA, vendor, IT-risk or control assessment), list view + export."""
    owner = export.get("createdBy") or {}
    approval = _first(export.get("approvers"))
    approver = approval.get("approver") or {}
    respondents = [r for r in export.get("respondents") or [] if isinstance(r, dict)]
    return {
        "assessment_id": uuid_key(item["assessmentId"]),
        "number": item.get("number"),
        "name": item.get("name"),
        "status": item.get("status"),
        "status_code": export.get("status"),
        "state": item.get("state"),
        "template_id": uuid_key(item.get("templateId")),
        "template_name": item.get("templateName"),
        "template_type": export.get("templateType"),
        "template_root_version_id": uuid_key(item.get("templateRootVersionId")),
        "org_group_id": uuid_key(_get(export, "orgGroup", "id")),
        "org_group_name": item.get("orgGroupName"),
        "risk_level": export.get("riskLevel"),
        "inherent_risk_score": item.get("inherentRiskScore"),
        "residual_risk_score": item.get("residualRiskScore"),
        "target_risk_score": item.get("targetRiskScore"),
        "open_risk_count": item.get("openRiskCount"),
        "low_risk_count": export.get("lowRisk"),
        "medium_risk_count": export.get("mediumRisk"),
        "high_risk_count": export.get("highRisk"),
        "very_high_risk_count": export.get("veryHighRisk"),
        "result_id": uuid_key(item.get("resultId")),
        "result_name": item.get("resultName"),
        "approval_state": approval.get("approvalState"),
        "approver_id": uuid_key(approver.get("id")),
        "approver_name": approver.get("fullName"),
        "approver_email": approver.get("email"),
        "owner_id": uuid_key(owner.get("id")),
        "owner_name": owner.get("name"),
        "respondent_names": "; ".join(str(r.get("name")) for r in respondents) or None,
        "respondents": respondents,
        "primary_inventory_id": uuid_key(_get(item, "primaryInventoryDetails", "primaryInventoryId")),
        "primary_inventory_name": _get(item, "primaryInventoryDetails", "primaryInventoryName"),
        "primary_inventory_number": _get(item, "primaryInventoryDetails", "primaryInventoryNumber"),
        "primary_record_type": export.get("primaryRecordType"),
        "tags": item.get("tags") if item.get("tags") is not None else [],
        "attestation_required": item.get("attestationRequired"),
        "deadline": item.get("deadline") or export.get("deadline"),
        "created_at": item.get("createDt"),
        "updated_at": item.get("lastUpdated"),
        "submitted_on": export.get("submittedOn"),
        "completed_on": export.get("completedOn"),
        "responses": responses(export),
    }


def responses(export: dict[str, Any]) -> list[dict[str, Any]]:
    """Grain: one answer (chosen option or text) to one question of the assessment."""
    out = []
    for section in export.get("sections") or []:
        header = section.get("header") or {}
        for entry in section.get("questions") or []:
            question = entry.get("question") or {}
            for given in entry.get("questionResponses") or []:
                for answer in given.get("responses") or []:
                    out.append({
                        "section_id": uuid_key(header.get("sectionId")), "section_name": header.get("name"),
                        "question_id": uuid_key(question.get("id")), "question_sequence": question.get("sequence"),
                        "question": question.get("content"), "response_id": uuid_key(answer.get("responseId")),
                        "response": _answer_text(answer.get("response")), "response_type": answer.get("type"),
                        "justification": given.get("justification"),
                    })
    return out


def _answer_text(value: Any) -> Any:
    """An answer as text: one sent as a number, a boolean, an object or a list (a numeric or a structured
    question, [unc] whether OneTrust sends any) is kept whole as its JSON text, so the ``response`` column
    stays text whichever assessment loads first (dlt types a column by the first value it meets)."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def vendor_assessment_row(item: dict[str, Any], export: dict[str, Any]) -> dict[str, Any]:
    """Grain: one assessment whose primary inventory record is a vendor (template type VENDOR)."""
    approval = _first(export.get("approvers"))
    return {
        "assessment_id": uuid_key(item["assessmentId"]),
        "vendor_id": uuid_key(_get(item, "primaryInventoryDetails", "primaryInventoryId")),
        "vendor_name": _get(item, "primaryInventoryDetails", "primaryInventoryName"),
        "vendor_number": _get(item, "primaryInventoryDetails", "primaryInventoryNumber"),
        "assessment_number": item.get("number"),
        "assessment_name": item.get("name"),
        "template_id": uuid_key(item.get("templateId")),
        "template_name": item.get("templateName"),
        "status": item.get("status"),
        "result_name": item.get("resultName"),
        "approval_state": approval.get("approvalState"),
        "risk_level": export.get("riskLevel"),
        "residual_risk_score": item.get("residualRiskScore"),
        "open_risk_count": item.get("openRiskCount"),
        "attestation_required": item.get("attestationRequired"),
        "deadline": item.get("deadline") or export.get("deadline"),
        "created_at": item.get("createDt"),
        "updated_at": item.get("lastUpdated"),
        "completed_on": export.get("completedOn"),
    }


def risk_row(item: dict[str, Any]) -> dict[str, Any]:
    """Grain: one risk in the IT risk register."""
    categories = [c for c in item.get("categories") or [] if isinstance(c, dict)]
    owner_ids = item.get("riskOwnersId") or []
    return {
        "risk_id": uuid_key(item["id"]),
        "number": item.get("number"),
        "name": item.get("name"),
        "description": item.get("description"),
        "level": item.get("level"),
        "probability_level": item.get("probabilityLevel"),
        "impact_level": item.get("impactLevel"),
        "risk_score": item.get("riskScore"),
        "inherent_level": _get(item, "inherentRiskLevel", "level"),
        "residual_level": _get(item, "residualRiskLevel", "level"),
        "target_level": _get(item, "targetRiskLevel", "level"),
        "state": item.get("state"),
        "previous_state": item.get("previousState"),
        "type": item.get("type"),
        "source_type": item.get("sourceType"),
        "source_id": uuid_key(_get(item, "source", "id")),
        "source_name": _get(item, "source", "name"),
        "category": categories[0].get("name") if categories else None,
        "categories": [c.get("name") for c in categories],
        "owner_id": uuid_key(owner_ids[0]) if isinstance(owner_ids, list) and owner_ids else None,
        "owner_name": item.get("riskOwnersName"),
        "org_group_id": uuid_key(_get(item, "orgGroup", "id")),
        "org_group_name": _get(item, "orgGroup", "name"),
        "recommendation": item.get("recommendation"),
        "mitigation": item.get("mitigation"),
        "deadline": item.get("deadline"),
        "mitigated_date": item.get("mitigatedDate"),
        "created_at": item.get("createdUTCDateTime"),
        "updated_at": item.get("lastModifiedUTCDateTime"),
        "updated_by": _get(item, "updatedBy", "name"),
    }


def vendor_row(item: dict[str, Any]) -> dict[str, Any]:
    """Grain: one vendor (third party) in the inventory."""
    return {
        "vendor_id": uuid_key(item["id"]),
        "number": item.get("number"),
        "name": item.get("name"),
        "organization_id": uuid_key(_get(item, "organization", "id")),
        "organization_name": _get(item, "organization", "value"),
        "type": _get(item, "type", "value"),
        "status": _get(item, "status", "key"),
        "criticality": _get(item, "criticality", "value"),
        "tier": _get(item, "tier", "value"),
        "country": item.get("country"),
        "owner_id": uuid_key(_get(item, "owner", "id")),
        "owner_name": _get(item, "owner", "value"),
        "contact_email": item.get("contactEmail"),
        "is_parent": item.get("isParent"),
        "created_at": item.get("createdDate"),
        "updated_at": item.get("lastUpdatedDate"),
    }


# Every key of a record risk_row / vendor_row read (a test proves it): a record answered by id must hold them all to
# be merged, or its other view of the record would null what it leaves out (pipelines.onetrust.reread).
ROW_KEYS = {
    "risks": ("id", "number", "name", "description", "level", "probabilityLevel", "impactLevel", "riskScore",
              "inherentRiskLevel", "residualRiskLevel", "targetRiskLevel", "state", "previousState", "type",
              "sourceType", "source", "categories", "riskOwnersId", "riskOwnersName", "orgGroup", "recommendation",
              "mitigation", "deadline", "mitigatedDate", "createdUTCDateTime", "lastModifiedUTCDateTime", "updatedBy"),
    "vendors": ("id", "number", "name", "organization", "type", "status", "criticality", "tier", "country", "owner",
                "contactEmail", "isParent", "createdDate", "lastUpdatedDate"),
}

# The keys of ROW_KEYS a whole record always has a value for: a record answered by id without one is another view
# of it (a summary) and is not merged. Every other key may be left out: a real tenant omits null fields from its
# JSON (Jackson's NON_NULL) [unc: which fields OneTrust never leaves empty; the risk's ``number`` is "?" in the
# reference], so an answer without ``mitigatedDate`` or ``contactEmail`` is the record with that field empty. The
# inventory listing shows organization, type, status and number on every vendor; a risk is created with its type,
# source and org group (vendor-apis.md §3.4, §3.5).
REQUIRED_KEYS = {
    "risks": ("id", "name", "state", "type", "source", "orgGroup", "createdUTCDateTime", "lastModifiedUTCDateTime"),
    "vendors": ("id", "number", "name", "organization", "type", "status", "createdDate", "lastUpdatedDate"),
}

_STAMPS = ("created_at", "updated_at", "deadline")

# The JSON type of every column that is not text (text: every other one). A value of another type
# (a score sent as "high", a name sent as an object) would make dlt split the column into variants
# (``risk_score__v_text``) that staging never reads: the record is quarantined instead, with the reason.
INTEGERS = frozenset({"number", "question_sequence", "primary_inventory_number", "vendor_number",
                      "assessment_number", "open_risk_count", "low_risk_count", "medium_risk_count",
                      "high_risk_count", "very_high_risk_count"})
NUMBERS = frozenset({"risk_score", "inherent_risk_score", "residual_risk_score", "target_risk_score"})
BOOLEANS = frozenset({"is_parent", "attestation_required"})
INT64 = (-(2**63), 2**63 - 1)
# Integer columns staging casts to INTEGER (``cast(number as integer)``): a value beyond 32 bits loaded, then
# failed every model reading the staged table ("out of range for the destination type INT32").
INT32_COLUMNS, INT32 = frozenset({"number", "question_sequence"}), (-(2**31), 2**31 - 1)
LISTS = frozenset({"categories", "respondents", "tags", "responses"})


def type_problem(row: dict[str, Any], path: str = "") -> str | None:
    """Why a row cannot be stored column for column (a value of the wrong JSON type), or None. The
    answers (``responses``, the child table ``assessments__responses``) are checked row by row too:
    dlt types a child column by the first value it meets, so one answer sent as a number or an object
    would type the column or split it into variants, depending on which assessment loaded first."""
    problems = []
    for column, value in row.items():
        if value is None:
            continue
        if column == "responses" and isinstance(value, list):
            problems += [p for n, answer in enumerate(value) if isinstance(answer, dict)
                         and (p := type_problem(answer, f"responses[{n}]."))][:1]
            continue
        if column in INTEGERS:  # a BIGINT column: an integer beyond 64 bits fails the whole load
            ok, wanted = isinstance(value, int) and not isinstance(value, bool), "an integer"
            if ok and not INT64[0] <= value <= INT64[1]:
                ok, wanted = False, "an integer within 64 bits (the warehouse's BIGINT)"
            elif ok and column in INT32_COLUMNS and not INT32[0] <= value <= INT32[1]:
                ok, wanted = False, "an integer within 32 bits (staging casts it to INTEGER)"
        elif column in NUMBERS:
            ok, wanted = isinstance(value, int | float) and not isinstance(value, bool), "a number"
            if ok and isinstance(value, int) and not INT64[0] <= value <= INT64[1]:
                ok, wanted = False, "a number within 64 bits (an integer beyond them fails the load)"
            elif ok and isinstance(value, float) and not math.isfinite(value):
                # NaN / Infinity (or 1e999, valid JSON a double cannot hold) were stored as NULL in silence
                ok, wanted = False, "a finite number"
        elif column in BOOLEANS:
            ok, wanted = isinstance(value, bool), "a boolean"
        elif column in LISTS:
            ok, wanted = isinstance(value, list), "an array"
        else:
            ok, wanted = isinstance(value, str), "a string"
        if not ok:
            shown = json.dumps(value, default=str, ensure_ascii=True)
            problems.append(f"{path}{column}: expected {wanted}, got {json_type(value)} "
                            f"{shown[:60] + '...' if len(shown) > 60 else shown}")
    return "; ".join(problems) or None


def _hints(text: tuple[str, ...], json: tuple[str, ...] = (), nullable_text: tuple[str, ...] = ()):
    # a fresh dict per column: dlt writes the column name into the hint it is given
    return {**{c: {"data_type": "text"} for c in (*text, *nullable_text)}, **{c: {"data_type": "json"} for c in json}}


# Per table: timestamps stay text (staging casts them), lists stay JSON columns, and text columns that
# are often all-null still get created.
COLUMN_HINTS = {
    "assessments": _hints((*_STAMPS, "submitted_on", "completed_on"), ("respondents", "tags")),
    "vendor_assessments": _hints((*_STAMPS, "completed_on"), nullable_text=("result_name", "approval_state")),
    "risks": _hints((*_STAMPS, "mitigated_date"), ("categories",), ("mitigation", "target_level")),
    "vendors": _hints(("created_at", "updated_at")),
}


def newest_wins(table: str, rows: list[dict[str, Any]]) -> Any:
    """``rows`` for ``table``, each with ``updated_at_utc`` (its ``updated_at`` as the canonical UTC text of
    :func:`pipelines.onetrust.copies.instant_text`) and ``dedup_sort`` on that column: a record listed on two
    pages of one read, the newer copy on the later page (a listing that moved, its id in another case), is
    loaded twice in one package, and the merge kept the first, the stale one. The sort was on the text of
    ``updated_at``, which OneTrust does not always write in one form (``07Z`` sorted before ``07.123+00:00``
    and after ``2026-03-04 05:06:08``): the pass yields a later copy only when its instant is newer, so the
    instant orders the copies with no tie. ``updated_at`` keeps the vendor's text (and, on tables loaded
    before, loses its old ``dedup_sort``: dlt allows one such column a table). A variant of the table's own
    hints: set on the resource, the hint reached its quarantine and deletions tables too (dlt copies a
    resource's columns into every variant)."""
    for row in rows:
        row["updated_at_utc"] = instant_text(row.get("updated_at"))
    columns = {**COLUMN_HINTS[table], "updated_at": {"data_type": "text", "dedup_sort": None},
               "updated_at_utc": {"data_type": "text", "nullable": True, "dedup_sort": "desc"}}
    return dlt.mark.with_hints(rows, dlt.mark.make_hints(table_name=table, columns=columns),
                               create_table_variant=True)
