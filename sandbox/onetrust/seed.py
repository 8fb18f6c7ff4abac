"""Deterministic, lazily generated OneTrust seed records: vendors, assessments, risks, controls.

Grain: `size` records of each of vendors, assessments and risks; record i of a kind is a pure function
of (seed, kind, i), built only when first read, so any size from 10 to 100,000 starts instantly.
Creation time grows with i (numbers are sequences, as in OneTrust); `created_*`, `*_id` and
`vendor_name` are cheap so listings sorted by them need not build every record.

Planted truths (for marts and tests): about a quarter of Critical/High vendors were never assessed
or only more than 12 months ago (`_staleness` = never/stale); some high-risk assessments are not
approved (under review, in progress or rejected); many assessments are older than 12 months. Keys
starting with "_" are sandbox-only facts, never served over HTTP.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sandbox.onetrust import vocab as V
from sandbox.onetrust.draw import DAY, Draw, cumulative, iso, spread, stable_uuid

CRIT_W = cumulative((10, 20, 40, 30))
STALE = ("never", "stale", "recent")
STALE_HIGH_W, STALE_LOW_W = cumulative((8, 17, 75)), cumulative((20, 30, 50))
TTYPES, TTYPE_W = ("PIA", "VENDOR", "ITRM", "CONTROL"), cumulative((40, 45, 8, 7))
STATUS_OLD_W, STATUS_NEW_W = cumulative((4, 8, 8, 80)), cumulative((20, 35, 25, 20))
RESULT_HIGH_W, RESULT_LOW_W = cumulative((40, 25, 35)), cumulative((85, 3, 12))
RTYPE_W, RSTATE_W = cumulative((40, 35, 10, 10, 5)), cumulative((30, 15, 10, 15, 5, 15, 10))
SPAN = {"vendors": 1500.0, "assessments": 1100.0, "risks": 1000.0}  # days of history per kind
_PER_PREFIX = len(V.VENDOR_DOMAINS) * len(V.VENDOR_SUFFIXES)
_COMBOS = len(V.VENDOR_PREFIXES) * _PER_PREFIX


class Seeder:
    """Builds seed record i of each kind on demand (never cached here; the store keeps built rows)."""

    def __init__(self, seed: int, size: int, anchor: datetime) -> None:
        self.seed, self.size, self.now = seed, size, anchor.timestamp()
        s = seed
        self.org_groups = [{"id": stable_uuid(s, "org", n), "name": n} for n in V.ORG_GROUPS]
        self.people = [{"id": stable_uuid(s, "user", u), "name": n, "email": f"{u}@{V.EMAIL_DOMAIN}"}
                       for n, u in V.PEOPLE]
        self.vendor_types = [{"id": stable_uuid(s, "vtype", t), "value": t,
                              "valueKey": "VendorType." + t.replace(" ", "")} for t in V.VENDOR_TYPES]
        self.templates: dict[str, list[dict[str, str]]] = {}
        for t, n in V.TEMPLATES:
            self.templates.setdefault(t, []).append({"name": n, "id": stable_uuid(s, "tpl", n),
                                                     "root": stable_uuid(s, "tplr", n)})
        self.results = {r: stable_uuid(s, "result", r) for r in V.RESULTS}
        self.activities = [(a, stable_uuid(s, "pa", a), n + 1) for n, a in enumerate(V.PROCESSING)]
        self.categories = [{"id": stable_uuid(s, "rcat", c), "name": c} for c in V.RISK_CATEGORIES]
        self.register = {"id": stable_uuid(s, "rsrc", "register"), "name": "Risk register", "type": "GENERIC"}

    # --- cheap per-index facts ------------------------------------------------------------------
    def record_id(self, kind: str, i: int) -> str:
        return stable_uuid(self.seed, kind, i)

    def created(self, kind: str, i: int) -> float:
        return self.now - (1.0 + (SPAN[kind] - 1.0) * (1.0 - spread(i, self.size))) * DAY

    def created_iso(self, kind: str, i: int) -> str:
        return iso(self.created(kind, i))

    def updated(self, kind: str, i: int) -> float:
        """Last change of seed record i: somewhere between its creation and the anchor."""
        created = self.created(kind, i)
        return created + (self.now - created) * (((i * 2246822519 + self.seed) >> 5) % 65521) / 65521.0

    def updated_iso(self, kind: str, i: int) -> str:
        return iso(self.updated(kind, i))

    @staticmethod
    def vendor_name(i: int) -> str:
        p, rest = divmod(i % _COMBOS, _PER_PREFIX)
        d, s = divmod(rest, len(V.VENDOR_SUFFIXES))
        name = f"{V.VENDOR_PREFIXES[p]} {V.VENDOR_DOMAINS[d]} {V.VENDOR_SUFFIXES[s]}"
        return name if i < _COMBOS else f"{name} {i // _COMBOS + 1}"

    def vendor_profile(self, i: int) -> tuple[str, str]:
        """(criticality, staleness) of vendor i."""
        d = Draw(self.seed, 9, i)
        crit = d.weighted(V.CRITICALITY, CRIT_W)
        return crit, d.weighted(STALE, STALE_HIGH_W if crit in ("Critical", "High") else STALE_LOW_W)

    # --- records ------------------------------------------------------------------------------------
    def vendor(self, i: int) -> dict[str, Any]:
        d = Draw(self.seed, 1, i)
        crit, staleness = self.vendor_profile(i)
        name, created = self.vendor_name(i), self.created("vendors", i)
        org, owner = d.pick(self.org_groups), d.pick(self.people)
        return {
            "id": self.record_id("vendor", i), "name": name, "number": i + 1,
            "organization": {"id": org["id"], "value": org["name"]}, "type": d.pick(self.vendor_types),
            "status": {"key": "active", "value": "Active"}, "criticality": {"value": crit},
            "tier": {"value": V.TIERS[crit]}, "country": d.pick(V.COUNTRIES),
            "owner": {"id": owner["id"], "value": owner["name"]},
            "contactEmail": f"privacy@{name.split()[0].lower()}-{i + 1}.example",
            "isParent": False, "isEditable": True, "isDeletable": True, "canViewDetails": True,
            "createdDate": iso(created), "lastUpdatedDate": self.updated_iso("vendors", i),
            "_staleness": staleness,
        }

    def _pick_vendor(self, d: Draw, age_days: float) -> int | None:
        """A vendor that may have an assessment of this age (never: none; stale: none in 12 months)."""
        for _ in range(12):
            v = int(d.random() * self.size)
            staleness = self.vendor_profile(v)[1]
            if staleness == "recent" or (staleness == "stale" and age_days >= 380):
                return v
        return None

    def archived(self, j: int) -> bool:
        """Assessment j is archived (cheap): some completed assessments older than 900 days."""
        return self.now - self.created("assessments", j) > 900 * DAY and (j * 2654435761 >> 7) % 5 == 0

    def _assessment_head(self, j: int) -> tuple[Draw, str, dict[str, str], dict[str, str], dict[str, Any]]:
        """The first draws of assessment j: (draw, template type, template, org group, inventory)."""
        d = Draw(self.seed, 2, j)
        age = (self.now - self.created("assessments", j)) / DAY
        ttype = d.weighted(TTYPES, TTYPE_W)
        v = self._pick_vendor(d, age) if ttype == "VENDOR" else None
        if ttype == "VENDOR" and v is None:
            ttype = "PIA"
        tpl, org = d.pick(self.templates[ttype]), d.pick(self.org_groups)
        if v is not None:
            inv = {"primaryInventoryName": self.vendor_name(v), "primaryInventoryId": self.record_id("vendor", v),
                   "primaryInventoryNumber": v + 1}
        else:
            act, act_id, act_no = d.pick(self.activities)
            inv = {"primaryInventoryName": act, "primaryInventoryId": act_id, "primaryInventoryNumber": act_no}
        return d, ttype, tpl, org, inv

    def template_type(self, j: int) -> str:
        return self._assessment_head(j)[1]

    def assessment_name(self, j: int) -> str:
        _, _, tpl, _, inv = self._assessment_head(j)
        return f"{inv['primaryInventoryName']} - {tpl['name']}"

    def assessment(self, j: int) -> dict[str, Any]:
        d, ttype, tpl, org, inv = self._assessment_head(j)
        created = self.created("assessments", j)
        age = (self.now - created) / DAY
        archived = self.archived(j)
        status = d.weighted(V.STATUSES, STATUS_OLD_W if age > 120 else STATUS_NEW_W)
        status = "Completed" if archived else status
        prob, imp = d.randint(1, 4), d.randint(1, 4)
        inherent = float(prob * imp)
        residual = max(1.0, inherent - d.randint(0, 6)) if status == "Completed" else inherent
        level = V.level_for_score(residual)
        high = level in ("High", "Very High")
        result = d.weighted(V.RESULTS, RESULT_HIGH_W if high else RESULT_LOW_W) if status == "Completed" else None
        return {
            "assessmentId": self.record_id("assessment", j), "number": j + 1,
            "name": f"{inv['primaryInventoryName']} - {tpl['name']}", "status": status, "state": "ACTIVE",
            "result": result, "resultId": self.results.get(result), "resultName": result,
            "orgGroupName": org["name"], "createDt": iso(created), "tags": d.sample(V.TAGS, d.randint(0, 2)),
            "templateName": tpl["name"], "templateId": tpl["id"], "templateRootVersionId": tpl["root"],
            "primaryInventoryDetails": inv, "residualRiskScore": residual, "inherentRiskScore": inherent,
            "targetRiskScore": float(max(1, prob * imp // 2)),
            "openRiskCount": d.randint(0, 3) if high else d.randint(0, 1),
            "lastUpdated": self.updated_iso("assessments", j), "deadline": iso(created + d.uniform(30, 90) * DAY),
            "attestationRequired": ttype == "VENDOR" and d.random() < 0.3, "assessmentDeleteStatus": "ACTIVE",
            "_templateType": ttype, "_riskLevel": level,
            "_approvalState": "OPEN" if result is None else ("REJECTED" if result == "Rejected" else "APPROVED"),
            "_orgGroupId": org["id"], "_respondent": d.pick(self.people), "_approver": d.pick(self.people),
            "_completedOn": iso(min(self.now, created + d.uniform(10, 100) * DAY)) if result else None,
            "_archived": archived,
            "_openInfoRequestCount": 0 if status == "Completed" else (j * 40503 >> 4) % 3,
        }

    def risk(self, k: int) -> dict[str, Any]:
        d = Draw(self.seed, 3, k)
        rtype = d.weighted(V.RISK_TYPES, RTYPE_W)
        if rtype == "VENDORS":
            v = int(d.random() * self.size)
            source = {"id": self.record_id("vendor", v), "name": self.vendor_name(v), "type": "INVENTORY"}
        elif rtype == "ASSESSMENTS":
            a = int(d.random() * self.size)
            source = {"id": self.record_id("assessment", a), "name": self.assessment_name(a), "type": "PIA"}
        else:
            source = dict(self.register)
        prob, imp = d.randint(1, 4), d.randint(1, 4)
        level = V.level_for_score(prob * imp)
        lvl = {"levelId": V.LEVEL_IDS[level], "level": level, "impactLevel": V.AXIS[imp - 1],
               "probabilityLevel": V.AXIS[prob - 1], "riskScore": float(prob * imp),
               "colorCode": V.LEVEL_COLORS[level], "levelGuid": stable_uuid(self.seed, "level", level)}
        state = d.weighted(V.RISK_STATES, RSTATE_W)
        created = self.created("risks", k)
        modified = self.updated("risks", k)
        owner, approver, org = d.pick(self.people), d.pick(self.people), d.pick(self.org_groups)
        return {
            "id": self.record_id("risk", k), "number": k + 1, "name": f"{d.pick(V.RISK_NAMES)} - {source['name']}",
            "description": f"Identified during review of {source['name']}.",
            "level": level, "probabilityLevel": V.AXIS[prob - 1], "impactLevel": V.AXIS[imp - 1],
            "levelId": V.LEVEL_IDS[level], "probabilityLevelId": prob, "impactLevelId": imp,
            "riskScore": float(prob * imp), "state": state,
            "previousState": "IDENTIFIED" if state != "IDENTIFIED" else None,
            "type": rtype, "sourceType": source["type"], "source": source,
            # entity-type objects [unc: the reference names them, not their fields]
            "riskType": {"id": stable_uuid(self.seed, "etype", rtype), "name": rtype.replace("_", " ").title(),
                         "type": rtype},
            "riskSourceType": {"id": stable_uuid(self.seed, "stype", source["type"]), "name": source["type"].title(),
                               "type": source["type"]},
            "remediationProposal": None, "requestedException": None,
            "recommendation": d.pick(V.RECOMMENDATIONS), "mitigation": None, "justification": None,
            "deadline": iso(created + d.uniform(30, 180) * DAY),
            "mitigatedDate": iso(modified) if state == "REDUCED" else None,
            "orgGroup": dict(org), "riskOwnersId": [owner["id"]], "riskOwnersName": owner["name"],
            "riskOwnerId": owner["id"], "riskOwner": owner["name"], "riskApproversId": [approver["id"]],
            "references": [], "createdUTCDateTime": iso(created), "lastModifiedUTCDateTime": iso(modified),
            "createdBy": owner["id"], "updatedBy": {"id": owner["id"], "name": owner["name"]},
            "inherentRiskLevel": lvl, "residualRiskLevel": dict(lvl), "targetRiskLevel": None,
            "categories": [dict(c) for c in d.sample(self.categories, d.randint(1, 2))], "_orgGroupId": org["id"],
        }

    def controls(self) -> list[dict[str, Any]]:
        out = []
        for n, (ident, name, framework, category) in enumerate(V.CONTROLS):
            created = self.now - (800 - n) * DAY
            out.append({
                "id": stable_uuid(self.seed, "control", ident), "identifier": ident, "name": name,
                "description": f"{name} ({framework}).", "status": "Active",
                "frameworkId": stable_uuid(self.seed, "framework", framework), "frameworkName": framework,
                "categoryId": stable_uuid(self.seed, "ccat", category), "categoryName": category,
                "implementationGuidance": f"Document how {name.lower()} is operated and evidenced.",
                "attributes": {}, "createdDate": iso(created), "lastModifiedDate": iso(created + 30 * DAY),
            })
        return out

    def attestations(self, controls: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for n, control in enumerate(controls[::2]):
            person = self.people[n % len(self.people)]
            attested = iso(self.now - (20 + 17 * n) * DAY)
            out.append({
                "id": stable_uuid(self.seed, "attestation", n), "controlId": control["id"],
                "controlIdentifier": control["identifier"], "controlName": control["name"],
                "externalId": f"seed-attestation-{n + 1}", "result": V.ATTESTATION_RESULTS[n % 3],
                "attestedBy": {"name": person["name"], "email": person["email"]}, "attestedOn": attested,
                "periodStart": None, "periodEnd": None, "comment": "Quarterly control owner attestation.",
                "evidence": [], "source": "OneTrust", "version": 1, "createdDate": attested,
                "lastModifiedDate": attested,
            })
        return out
