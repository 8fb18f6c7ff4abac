"""IT Risk Management endpoints beside the grid (vendor-apis.md §3.4); scopes RISK / RISK_READ.

- `POST /api/risk/v2/risks/views/pages` - the grid endpoint connectors use [code]: the same request
  and flat Spring page as `/api/risk/v2/risks/pages`.
- `GET /api/risk/v2/risk-settings/matrix` and `.../standard` - the tenant's 4x4 risk matrix and its
  levels [unc: field names are the sandbox's; the reference only names the paths].
- `POST /api/risk/v2/risks/{riskEntityType}/{entityId}/risks` - flat Spring page of the risks linked to
  one record (`riskEntityType` one of the risk `type`s, e.g. VENDORS, ASSESSMENTS); 400 for another type.
- `POST /api/risk/v2/entities/risks/unlink` body `{"entityId", "riskIds": [..]}` [unc: body guessed]
  unlinks those risks from that record (their `source` falls back to the risk register) -> 204.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from sandbox.core.http import HTTPError, Request, Response, Router, json_response
from sandbox.onetrust import vocab as V
from sandbox.onetrust.api_risk import TYPES, _view, body_json
from sandbox.onetrust.draw import fold_uuid, stable_uuid
from sandbox.onetrust.pages import page_params, parse_sort, spring_page

if TYPE_CHECKING:
    from sandbox.onetrust.app import OneTrustSandbox

READ = ("RISK", "RISK_READ")


def level_object(seed: int, level: str) -> dict[str, Any]:
    return {"levelId": V.LEVEL_IDS[level], "level": level, "levelGuid": stable_uuid(seed, "level", level),
            "colorCode": V.LEVEL_COLORS[level]}


def register(sb: OneTrustSandbox, router: Router, grid: Any) -> None:
    def matrix(req: Request) -> Response:
        sb.authorize(req, *READ)
        axis = [{"id": n + 1, "name": name} for n, name in enumerate(V.AXIS)]
        cells = [{"probabilityLevelId": p, "impactLevelId": i, "riskScore": float(p * i),
                  **level_object(sb.seed, V.level_for_score(p * i))} for p in range(1, 5) for i in range(1, 5)]
        return json_response({"probabilityLevels": axis, "impactLevels": axis,
                              "riskLevels": [level_object(sb.seed, lv) for lv in V.LEVELS], "matrix": cells})

    def standard(req: Request) -> Response:
        sb.authorize(req, *READ)
        return json_response({"riskLevels": [level_object(sb.seed, lv) for lv in V.LEVELS],
                              "scoringMethod": "MATRIX", "matrixSize": "4x4"})

    def linked(req: Request) -> Response:
        sb.authorize(req, *READ)
        etype, entity = req.params["etype"].upper(), fold_uuid(req.params["entity"])
        if etype not in TYPES:
            raise HTTPError(400, "Bad Request", f"Unknown riskEntityType {req.params['etype']}; one of {sorted(TYPES)}")
        page, size = page_params(req, 20, 100)
        _, field, desc = parse_sort(req.query.get("sort"), {"createdDate": "createdUTCDateTime",
                                                            "name": "name", "number": "number"}, "createdDate,desc")
        body_json(req)

        def pred(t: Any, i: int) -> bool:
            r, source = t.row(i), t.row(i).get("source")
            return r.get("type") == etype and isinstance(source, dict) and fold_uuid(source.get("id")) == entity

        with sb.store.lock:
            t = sb.store.tables["risks"]
            rows = t.listing(field, desc, pred, ("linked", etype, entity))
            content = [_view(sb, t.row(i)) for i in rows[page * size:(page + 1) * size]]
        return json_response(spring_page(content, page, size, len(rows)))

    def unlink(req: Request) -> Response:
        sb.authorize(req, "RISK")
        body = body_json(req)
        entity, ids = fold_uuid(body.get("entityId")), body.get("riskIds")
        if not entity or not isinstance(ids, list) or not ids:
            raise HTTPError(400, "Bad Request", "entityId and a non-empty riskIds list are required")
        with sb.store.lock:
            for rid in ids:
                rec = sb.store.get("risks", str(rid))
                if rec is None:
                    raise HTTPError(404, "Not Found", f"Risk {rid} not found")
                if fold_uuid((rec.get("source") or {}).get("id")) == entity:
                    rec = copy.deepcopy(rec)
                    rec.update(source=dict(sb.store.seeder.register), sourceType="GENERIC", type="GENERAL")
                    sb.store.save("risks", rec)
        return Response(status=204)

    router.add("POST", "/api/risk/v2/risks/views/pages", grid)
    router.add("GET", "/api/risk/v2/risk-settings/matrix", matrix)
    router.add("GET", "/api/risk/v2/risk-settings/standard", standard)
    router.add("POST", r"/api/risk/v2/risks/(?P<etype>[A-Za-z_]+)/(?P<entity>[^/]+)/risks", linked)
    router.add("POST", "/api/risk/v2/entities/risks/unlink", unlink)
