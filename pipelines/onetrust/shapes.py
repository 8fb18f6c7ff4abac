"""The JSON shape of the OneTrust parts :mod:`pipelines.onetrust.rows` reads: objects where it reads keys,
arrays where it iterates.

A part of the wrong shape (``"createdBy": "bob"``, ``"sections": ["intro"]``, ``"categories": 5``) made
the row builders raise (``'str' object has no attribute 'get'``) on every run, a crash loop, or, where
they guarded with ``isinstance``, store ``[]`` or NULL in silence (``"categories": "Privacy"``, a level
sent as ``"High"`` instead of ``{"level": "High"}``). :func:`shape_problem` names the part and what came
instead, so the record is quarantined with that reason and read again until OneTrust sends it right.
``null`` or a missing part is not a problem: the row holds NULL or ``[]``, as OneTrust meant.

Shapes as :mod:`pipelines.common.shapes` reads them.
"""

from __future__ import annotations

from pipelines.common.shapes import ANY, shape_problem

__all__ = ["ANY", "ASSESSMENT_ITEM", "EXPORT", "RECORDS", "shape_problem"]

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
