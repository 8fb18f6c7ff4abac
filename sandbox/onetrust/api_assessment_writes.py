"""Assessment Automation endpoints beyond the list and export (vendor-apis.md §3.3).

- `GET /api/assessment/v2/assessment-tags` -> the tags assessments carry, as a JSON array of
  `{"id", "name"}` [unc: OneTrust's `TagEntityDetail` fields are not in the reference].
- `POST /api/assessment/v2/assessments` (launch; scope ASSESSMENT) body keys as documented: `name`,
  `templateRootVersionId`, `orgGroupId`, `respondents[{respondentId, respondentName}]`, `approvers`,
  `deadline` (ISO date-time, served back as UTC "...sssZ"), `creationSource`,
  `checkForInFlightAssessments`. `name` and a known
  `templateRootVersionId` are required, an unknown `orgGroupId` is refused (400) [unc: which keys
  OneTrust requires]. Answers 201 `{"assessmentId", "assessmentNumber", "name", "status"}` [unc]; the
  new assessment is Not Started and lists and exports like any other.
- `POST .../assessments/{id}/sections/{sectionId}/questions/responses` (scope ASSESSMENT) body
  `[{"questionId", "responses": [{"responseId"? , "response"}], "justification"?}]` (or an object with
  that list under `questions`) [unc: body and answer shapes are guessed]: stores the answers, which
  the export then shows; a Not Started assessment moves to In Progress. Answers 200 with the section
  as the export shows it. 404 for an unknown assessment, section or question.
"""

from __future__ import annotations

import copy
import uuid
from typing import TYPE_CHECKING, Any

from sandbox.core.http import HTTPError, Request, Response, Router, json_response
from sandbox.onetrust import vocab as V
from sandbox.onetrust.draw import fold_uuid, normalize_iso, stable_uuid
from sandbox.onetrust.media import require_json

if TYPE_CHECKING:
    from sandbox.onetrust.app import OneTrustSandbox

BASE = "/api/assessment/v2/assessments"


def _body(req: Request) -> Any:
    require_json(req)
    try:
        return req.json()
    except ValueError as exc:
        raise HTTPError(400, "Bad Request", f"Malformed JSON request body: {exc}") from exc


def register(sb: OneTrustSandbox, router: Router) -> None:
    def tags(req: Request) -> Response:
        sb.authorize(req, "ASSESSMENT", "ASSESSMENT_READ")
        return json_response([{"id": stable_uuid(sb.seed, "tag", t), "name": t} for t in V.TAGS])

    def launch(req: Request) -> Response:
        sb.authorize(req, "ASSESSMENT")
        body = _body(req)
        if not isinstance(body, dict):
            raise HTTPError(400, "Bad Request", "Request body must be a JSON object")
        with sb.store.lock:
            rec = _new_assessment(sb, body)
            sb.store.save("assessments", rec)
        return json_response({"assessmentId": rec["assessmentId"], "assessmentNumber": rec["number"],
                              "name": rec["name"], "status": "NOT_STARTED"}, 201)

    def respond(req: Request) -> Response:
        sb.authorize(req, "ASSESSMENT")
        body = _body(req)
        items = body.get("questions") if isinstance(body, dict) else body
        if isinstance(body, dict) and items is None:
            items = [body]
        if not isinstance(items, list) or not all(isinstance(q, dict) for q in items):
            raise HTTPError(400, "Bad Request", "Body must be a list of {questionId, responses}")
        from sandbox.onetrust.api_privacy import build_export

        with sb.store.lock:
            rec = sb.store.get("assessments", req.params["id"])
            if rec is None:
                raise HTTPError(404, "Not Found", f"Assessment {req.params['id']} not found")
            sections = build_export(sb, rec)["sections"]
            section = next((x for x in sections if x["header"]["sectionId"] == fold_uuid(req.params["section"])),
                           None)
            if section is None:
                raise HTTPError(404, "Not Found", f"Section {req.params['section']} not found")
            known = {q["question"]["id"] for q in section["questions"]}
            answers = dict(rec.get("_answers") or {})
            for item in items:
                qid = fold_uuid(str(item.get("questionId") or ""))
                if qid not in known:
                    raise HTTPError(404, "Not Found", f"Question {item.get('questionId')} not in this section")
                responses = item.get("responses")
                if not isinstance(responses, list) or not responses:
                    raise HTTPError(400, "Bad Request", f"Question {qid}: responses must be a non-empty list")
                answers[qid] = {"responses": [{"responseId": r.get("responseId") or str(uuid.uuid4()),
                                               "response": r.get("response"), "type": r.get("type", "OPTION")}
                                              for r in responses if isinstance(r, dict)],
                                "justification": item.get("justification")}
            rec = copy.deepcopy(rec)
            rec["_answers"] = answers
            if rec["status"] == "Not Started":
                rec["status"] = "In Progress"
            sb.store.save("assessments", rec)
            section = next(x for x in build_export(sb, rec)["sections"]
                           if x["header"]["sectionId"] == section["header"]["sectionId"])
        return json_response(section)

    router.add("GET", "/api/assessment/v2/assessment-tags", tags)
    router.add("POST", BASE, launch)
    router.add("POST", BASE + r"/(?P<id>[^/]+)/sections/(?P<section>[^/]+)/questions/responses", respond)


def _new_assessment(sb: OneTrustSandbox, body: dict[str, Any]) -> dict[str, Any]:
    seeder = sb.store.seeder
    name = str(body.get("name") or "").strip()
    if not name:
        raise HTTPError(400, "Bad Request", "name is required")
    root = fold_uuid(body.get("templateRootVersionId"))
    found = [(ttype, tpl) for ttype, tpls in seeder.templates.items() for tpl in tpls
             if root in (tpl["root"], tpl["id"])]
    if not found:
        raise HTTPError(400, "Bad Request", f"Unknown templateRootVersionId {body.get('templateRootVersionId')!r}")
    ttype, tpl = found[0]
    org = seeder.org_groups[0]
    if body.get("orgGroupId"):
        org = next((o for o in seeder.org_groups if o["id"] == fold_uuid(body["orgGroupId"])), None)
        if org is None:
            raise HTTPError(400, "Bad Request", f"Unknown orgGroupId {body['orgGroupId']}")
    deadline = body.get("deadline")
    if deadline is not None:  # served back in OneTrust's one timestamp format, so `sort=deadline` orders it
        try:
            deadline = normalize_iso(deadline)
        except ValueError as exc:
            raise HTTPError(400, "Bad Request", "deadline must be an ISO date-time") from exc
    people = {p["id"]: p for p in seeder.people}
    resp = (body.get("respondents") or [{}])[0] if isinstance(body.get("respondents"), list) else {}
    respondent = people.get(fold_uuid(str(resp.get("respondentId"))) if isinstance(resp, dict) else None) \
        or {"id": resp.get("respondentId") if isinstance(resp, dict) else None,
            "name": resp.get("respondentName") if isinstance(resp, dict) else None, "email": None}
    if respondent["id"] is None:
        respondent = seeder.people[0]
    now = sb.store.now()
    t = sb.store.tables["assessments"]
    return {
        "assessmentId": str(uuid.uuid4()), "number": len(t.rows) + 1, "name": name, "status": "Not Started",
        "state": "ACTIVE", "result": None, "resultId": None, "resultName": None, "orgGroupName": org["name"],
        "createDt": now, "tags": [], "templateName": tpl["name"], "templateId": tpl["id"],
        "templateRootVersionId": tpl["root"], "primaryInventoryDetails": None, "residualRiskScore": None,
        "inherentRiskScore": None, "targetRiskScore": None, "openRiskCount": 0, "lastUpdated": now,
        "deadline": deadline, "attestationRequired": False, "assessmentDeleteStatus": "ACTIVE",
        "_templateType": ttype, "_riskLevel": None, "_approvalState": "OPEN", "_orgGroupId": org["id"],
        "_respondent": respondent, "_approver": seeder.people[1], "_completedOn": None, "_archived": False,
        "_openInfoRequestCount": 0, "_creationSource": body.get("creationSource"), "_launched": True,
    }
