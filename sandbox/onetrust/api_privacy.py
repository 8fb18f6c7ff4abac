"""Assessment Automation endpoints (scopes ASSESSMENT / ASSESSMENT_READ).

- `GET /api/assessment/v2/assessments` - list in OneTrust's nested page shape; `page` (0-based), `size`
  (default 20, max 2000, clamped), `sort` (`createdDate,desc` default; also number, name, status,
  result, orgGroupName, deadline, openRiskCount, openInfoRequestCount, lastUpdated), `templateTypes` (PIA, VENDOR, ITRM,
  CONTROL; repeated or comma list), `assessmentStatuses` (NOT_STARTED..COMPLETED),
  `assessmentArchivalState` (ALL, ARCHIVED, NON_ARCHIVED default); the three bind as Spring Boot binds
  enums (case and punctuation ignored: `in-progress`, `vendor`), else 400.
- `GET .../assessments/{id}/export[?ExcludeSkippedQuestions=true]` and `GET .../assessments/{id}` -
  detail with sections, questions, responses, approvers, risk counts and `riskLevel` (the export
  shape), plus the richer-view fields `attestationCompleted`, `assessmentDeleteStatus`, `deletedDT`,
  `updatedDT`, `workflowName`, `approvalStageName`. `ExcludeSkippedQuestions=true` leaves out
  questions without a response [unc: what OneTrust counts as skipped].
- Launch, tags and question responses: :mod:`sandbox.onetrust.api_assessment_writes`.
- `GET .../assessments/assessment-results` - result options; `GET .../assessments/activities/types/
  assessmentdelete` - deleted-assessment audit log (delete detection); `DELETE .../assessments/{id}`.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from sandbox.core.http import HTTPError, Request, Response, Router, json_response
from sandbox.onetrust import vocab as V
from sandbox.onetrust.draw import Draw, stable_uuid
from sandbox.onetrust.pages import (
    MALFORMED_VARIANTS,
    assessment_page,
    java_bool,
    lenient_enum,
    listing_sort,
    page_params,
    parse_sorts,
    public,
)
from sandbox.onetrust.store import Table

if TYPE_CHECKING:
    from sandbox.onetrust.app import OneTrustSandbox

BASE = "/api/assessment/v2/assessments"
READ = ("ASSESSMENT", "ASSESSMENT_READ")
SORTS = {"createdDate": "createDt", "number": "number", "name": "name", "status": "status",
         "result": "resultName", "orgGroupName": "orgGroupName", "deadline": "deadline",
         "openRiskCount": "openRiskCount", "openInfoRequestCount": "_openInfoRequestCount",
         "lastUpdated": "lastUpdated"}
TEMPLATE_TYPES = {"PIA", "VENDOR", "ITRM", "CONTROL", "INCIDENT", "EXCHANGE", "ESG", "DISCLOSURE", "DISCLOSURE_YOY",
                  "ERM", "TPDD", "AIGOVERNANCE"}


def _multi(req: Request, name: str) -> set[str]:
    return {v.strip() for k, raw in req.query_pairs if k == name for v in raw.split(",") if v.strip()}


def register(sb: OneTrustSandbox, router: Router) -> None:
    def list_assessments(req: Request) -> Response:
        sb.authorize(req, *READ)
        page, size = page_params(req, 20, 2000)
        field, desc = listing_sort(parse_sorts(sb.sort_params(req), SORTS, "createdDate,desc"))
        types = {lenient_enum(v, TEMPLATE_TYPES) for v in _multi(req, "templateTypes")}
        statuses = {lenient_enum(v, tuple(V.STATUS_ENUM.values())) for v in _multi(req, "assessmentStatuses")}
        if None in types or None in statuses:
            raise HTTPError(400, "Bad Request", "Unknown templateTypes or assessmentStatuses value")
        archival = lenient_enum(req.query.get("assessmentArchivalState") or "NON_ARCHIVED",
                                ("ALL", "ARCHIVED", "NON_ARCHIVED"))
        if archival is None:
            raise HTTPError(400, "Bad Request", "assessmentArchivalState must be ALL, ARCHIVED or NON_ARCHIVED")
        labels = {k for k, v in V.STATUS_ENUM.items() if v in statuses}

        def pred(t: Table, i: int) -> bool:
            if archival != "ALL" and bool(t.value(i, "_archived")) != (archival == "ARCHIVED"):
                return False
            if types and t.value(i, "_templateType") not in types:
                return False
            return not labels or t.value(i, "status") in labels

        with sb.store.lock:
            sb.page_faults("assessments")
            t = sb.store.tables["assessments"]
            key = (tuple(sorted(types)), tuple(sorted(statuses)), archival)
            rows = t.listing(field, desc, pred, key)
            content = [_view(sb, t.row(i)) for i in rows[page * size:(page + 1) * size]]
        return json_response(assessment_page(content, page, size, len(rows)))

    def export(req: Request) -> Response:
        sb.authorize(req, *READ)
        with sb.store.lock:
            rec = sb.store.get("assessments", req.params["id"])
            if rec is None:
                raise HTTPError(404, "Not Found", f"Assessment {req.params['id']} not found")
            skip = java_bool(req, "ExcludeSkippedQuestions")
            return json_response(build_export(sb, rec, skip))

    def delete(req: Request) -> Response:
        sb.authorize(req, "ASSESSMENT")
        with sb.store.lock:
            if not sb.store.delete("assessments", [req.params["id"]]):
                raise HTTPError(404, "Not Found", f"Assessment {req.params['id']} not found")
        return Response(status=204)

    def results(req: Request) -> Response:
        sb.authorize(req, *READ)
        seeder = sb.store.seeder
        return json_response([{"resultId": seeder.results[r], "resultName": r, "isDefault": True}
                              for r in V.RESULTS])

    def deleted(req: Request) -> Response:
        sb.authorize(req, *READ)
        page, size = page_params(req, 20, 2000)
        with sb.store.lock:
            log = list(reversed(sb.store.deleted_assessments))
        return json_response(assessment_page(log[page * size:(page + 1) * size], page, size, len(log)))

    router.add("GET", BASE, list_assessments)
    router.add("GET", BASE + "/assessment-results", results)
    router.add("GET", BASE + "/activities/types/assessmentdelete", deleted)
    router.add("GET", BASE + r"/(?P<id>[^/]+)/export", export)
    router.add("GET", BASE + r"/(?P<id>[^/]+)", export)
    router.add("DELETE", BASE + r"/(?P<id>[^/]+)", delete)


def _view(sb: OneTrustSandbox, rec: dict[str, Any]) -> dict[str, Any]:
    variant = sb.faults.malformed_variant("assessment:" + rec["assessmentId"], MALFORMED_VARIANTS)
    return public(rec, "assessmentId", "lastUpdated", variant)


def build_export(sb: OneTrustSandbox, rec: dict[str, Any], exclude_skipped: bool = False) -> dict[str, Any]:
    """The `/export` detail of one assessment: sections -> questions -> responses (seeded per number,
    then any answers given over the API)."""
    seed = sb.seed
    d = Draw(seed, 4, rec["number"])
    answered = rec["status"] != "Not Started" and not rec.get("_launched")
    given = rec.get("_answers") or {}
    sections: dict[str, dict[str, Any]] = {}
    for q_no, (section, text, options) in enumerate(V.QUESTIONS, start=1):
        sec = sections.setdefault(section, {"header": {
            "sectionId": stable_uuid(seed, "section", section), "name": section, "description": None,
            "sequence": len(sections) + 1}, "questions": []})
        answer, qid = d.pick(options), stable_uuid(seed, "question", text)
        responses = [{"responses": [{"responseId": stable_uuid(seed, "option", answer), "response": answer,
                                     "type": "OPTION"}], "justification": None}] if answered else []
        if qid in given:
            responses = [copy.deepcopy(given[qid])]
        if exclude_skipped and not responses:
            continue
        sec["questions"].append({
            "question": {"id": qid, "content": text, "sequence": q_no, "questionType": "MULTICHOICE",
                         "options": list(options)},
            "questionResponses": responses, "risks": [],
        })
    approver, respondent = rec["_approver"], rec["_respondent"]
    level = rec["_riskLevel"]
    counts = {lv: (rec["openRiskCount"] if lv == level else 0) for lv in V.LEVELS}
    inv = rec["primaryInventoryDetails"] or {}
    completed = rec["_completedOn"]
    return {
        "assessmentId": rec["assessmentId"], "assessmentNumber": rec["number"], "name": rec["name"],
        "description": f"{rec['templateName']} for {inv.get('primaryInventoryName', 'the organisation')}.",
        "welcomeText": "Please answer every question; attach evidence where asked.",
        "orgGroup": {"id": rec["_orgGroupId"], "name": rec["orgGroupName"]},
        "template": {"id": rec["templateId"], "name": rec["templateName"]},
        "status": V.STATUS_ENUM.get(rec["status"], rec["status"]),
        "createdBy": {"id": respondent["id"], "name": respondent["name"]}, "createdDT": rec["createDt"],
        "sections": list(sections.values()),
        "approvers": [{"approver": {"id": approver["id"], "fullName": approver["name"], "email": approver["email"]},
                       "approvedOn": completed, "approvalState": rec["_approvalState"],
                       "resultName": rec["resultName"]}],
        "respondents": [{"id": respondent["id"], "name": respondent["name"], "email": respondent["email"]}],
        "respondent": {"id": respondent["id"], "name": respondent["name"], "email": respondent["email"]},
        "deadline": rec["deadline"], "submittedOn": completed, "completedOn": completed,
        "resultId": rec["resultId"], "resultName": rec["resultName"],
        "lowRisk": counts["Low"], "mediumRisk": counts["Medium"], "highRisk": counts["High"],
        "veryHighRisk": counts["Very High"], "totalRiskCount": rec["openRiskCount"], "riskLevel": level,
        "residualRiskScore": rec["residualRiskScore"], "inherentRiskScore": rec["inherentRiskScore"],
        "targetRiskScore": rec["targetRiskScore"], "lastUpdated": rec["lastUpdated"],
        "primaryEntityDetails": [{"id": inv.get("primaryInventoryId"), "name": inv.get("primaryInventoryName"),
                                  "number": inv.get("primaryInventoryNumber")}] if inv else [],
        "primaryRecordType": "VENDORS" if rec["_templateType"] == "VENDOR" else "PROCESSING_ACTIVITIES",
        "tags": list(rec["tags"]), "templateType": rec["_templateType"],
        "attestationRequired": rec["attestationRequired"],
        "attestationCompleted": completed if rec["attestationRequired"] else None,
        "assessmentDeleteStatus": rec.get("assessmentDeleteStatus", "ACTIVE"), "deletedDT": None,
        "updatedDT": rec["lastUpdated"], "workflowName": "Default Workflow",  # [unc] a name OneTrust would show
        "approvalStageName": None if completed else "Approval", "profileScoreInformationList": [],
    }
