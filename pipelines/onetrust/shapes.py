"""The JSON shape of the OneTrust parts :mod:`pipelines.onetrust.rows` reads: objects where it reads keys,
arrays where it iterates.

A part of the wrong shape (``"createdBy": "bob"``, ``"sections": ["intro"]``, ``"categories": 5``) made
the row builders raise (``'str' object has no attribute 'get'``) on every run, a crash loop, or, where
they guarded with ``isinstance``, store ``[]`` or NULL in silence (``"categories": "Privacy"``, a level
sent as ``"High"`` instead of ``{"level": "High"}``). :func:`shape_problem` names the part and what came
instead, so the record is quarantined with that reason and read again until OneTrust sends it right.
``null`` or a missing part is not a problem: the row holds NULL or ``[]``, as OneTrust meant.

A shape is a dict (an object; its keys' shapes, unlisted keys are not checked), a one-item list (an array
of that shape) or ``ANY``.
"""

from __future__ import annotations

import json
from typing import Any

from pipelines.common.validation import json_type

ANY = None

# What rows.assessment_row / vendor_assessment_row read of an assessment's list entry and its /export.
ASSESSMENT_ITEM = {"primaryInventoryDetails": {}}
EXPORT = {
    "createdBy": {}, "orgGroup": {}, "respondents": [{}],
    "approvers": [{"approver": {}}],
    "sections": [{"header": {}, "questions": [{"question": {}, "questionResponses": [{"responses": [{}]}]}]}],
}
# What rows.risk_row / vendor_row read of a listed record.
RECORDS = {
    "risks": {"categories": [{}], "riskOwnersId": [ANY], "inherentRiskLevel": {}, "residualRiskLevel": {},
              "targetRiskLevel": {}, "source": {}, "orgGroup": {}, "updatedBy": {}},
    "vendors": {"organization": {}, "type": {}, "status": {}, "criticality": {}, "tier": {}, "owner": {}},
}


def shape_problem(value: Any, shape: Any, path: str = "") -> str | None:
    """Why ``value`` does not have ``shape`` (the first part that does not, by its path), or None."""
    if value is None or shape is ANY:
        return None
    if isinstance(shape, dict):
        if not isinstance(value, dict):
            return _wrong(path, "an object", value)
        for key, inner in shape.items():
            problem = shape_problem(value.get(key), inner, f"{path}.{key}" if path else key)
            if problem:
                return problem
        return None
    if not isinstance(value, list):
        return _wrong(path, "an array", value)
    for n, item in enumerate(value):
        problem = shape_problem(item, shape[0], f"{path}[{n}]")
        if problem:
            return problem
    return None


def _wrong(path: str, wanted: str, value: Any) -> str:
    shown = "" if isinstance(value, dict | list) else " " + json.dumps(value, default=str, ensure_ascii=True)
    shown = shown[:60] + "..." if len(shown) > 60 else shown
    return f"{path or 'record'}: expected {wanted}, got {json_type(value)}{shown}"
