"""`OneTrustSandbox`: the OneTrust emulator (auth, errors, rate limits, Python API) on `sandbox.core`.

Region: `region` picks the host OneTrust would serve the tenant from (`hostname`, `advertised_url`,
the JWT `iss`); the server itself always listens on `host:port`. Tokens are per sandbox, so a token
from one region's sandbox is useless on another, as in OneTrust.

Admin HTTP (besides core's /_sandbox/*): `POST /_sandbox/touch {"kind", "n"}` and
`POST /_sandbox/delete {"kind", "ids"}` do what `touch()` / `delete()` do, for CLI-run sandboxes.

Errors (undocumented by OneTrust, so configurable with `error_style`): "spring" (default) answers
`{"timestamp","status","error","message","path"}`; "text" answers the message as plain text. 401s are
always OAuth resource-server bodies `{"error":"invalid_token","error_description":..}`.
429s carry `Retry-After`, `ot-period`, `ot-ratelimit-event-id`, `ot-request-made`, `ot-requests-allowed`,
from the shared `rate_429` fault or the fixed windows `rate_limit_per_minute` / `rate_limit_per_hour`
(default OneTrust's production limits, 20,000 and 200,000; None turns one off; see `ratelimit`).

Sort: the Spring Data lists (assessments, the risk grid, the controls library) apply every `sort`
parameter in order, each "p1[,p2..][,asc|desc]" (`pages.parse_sorts`); the others take the first.
`ignore_sort=True` (a constructor option, also an attribute that can be flipped while serving) makes
the assessment, risk and inventory lists serve their default order whatever `sort` asks, and the
inventory list echo that default in `meta.page.sort`: a tenant or gateway that ignores a sort, so
clients can prove they do not rely on an undocumented one (e.g. `lastUpdatedDate,desc`).

HTTP edges the reference leaves open (vendor-apis.md §3 is silent; all [unc], kept as the sandbox has
them, probed with raw `requests` in tests/sandbox/onetrust/test_client_probe_round3.py):
- a trailing slash (`/api/assessment/v2/assessments/`) is a different path: 404 (Spring 6 no longer
  matches it); a method a path does not serve: 405 with `Allow`; `OPTIONS` on a served path: 200, no body,
  `Allow` (Spring MVC's default, see `_call`); `HEAD` answers as `GET`
  without a body; `TRACE` is refused by the shared server core (501, not OneTrust's doing).
- `Accept: application/xml` (or any other type) still gets JSON with 200, never 406.
- unknown query parameters are ignored; `page` < 0, `size` < 1 or a value that is not a Java `int` is 400
  with Spring's words (`pages.page_params`, shared by every list); a page past the
  end is 200 with no records, the totals unchanged (and `last: true` where the envelope has it).
- a path id that is not a UUID is 404 like an unknown one (Spring would probably say 400).
- the risk grids read a missing body as `{}`; a body of the wrong JSON type is 400; a body declared as
  anything but JSON (`text/plain`, a form) is 415 on every JSON endpoint (`media.py`).

Tokens: `token_ttl_seconds` defaults to OneTrust's documented example lifetime, 31535999 s (about a
year, the maximum a credential may be configured with; more is refused).
"""

from __future__ import annotations

import threading
import uuid
from datetime import datetime
from http import HTTPStatus
from typing import Any

from sandbox.core.base import Sandbox
from sandbox.core.clock import SandboxClock, parse_anchor
from sandbox.core.faults import Decision
from sandbox.core.http import HTTPError, Request, Response, Router, json_response
from sandbox.core.numbers import control_number
from sandbox.onetrust import (
    api_assessment_writes,
    api_controls,
    api_engagements,
    api_inventory,
    api_inventory_criteria,
    api_inventory_status,
    api_library,
    api_privacy,
    api_risk,
)
from sandbox.onetrust.auth import MAX_TOKEN_TTL, OneTrustAuth, Principal
from sandbox.onetrust.ratelimit import RateLimiter
from sandbox.onetrust.store import Store
from sandbox.onetrust.vocab import ALL_SCOPES, REGION_HOSTS

DEFAULT_CLIENT_ID = "projectx-onetrust-client"
DEFAULT_CLIENT_SECRET = "sandbox-onetrust-secret"
TOKEN_PATH = "/api/access/v1/oauth/token"


class OneTrustSandbox(Sandbox):
    """OneTrust assessments, risks, inventory (vendors), controls and attestations with OAuth."""

    vendor = "onetrust"
    server_header = "OneTrust-Sandbox"

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, seed: int = 42, size: int = 200,
                 tls: bool = False, latency_ms: float = 0, region: str = "us", token_ttl_seconds: int = 31_535_999,
                 client_id: str = DEFAULT_CLIENT_ID, client_secret: str = DEFAULT_CLIENT_SECRET,
                 scopes: tuple[str, ...] = ALL_SCOPES, attestation_path: str = "/api/controls/v1/attestations",
                 error_style: str = "spring", rate_limit_per_minute: int | None = 20_000,
                 rate_limit_per_hour: int | None = 200_000,
                 anchor: str | datetime | None = None, ignore_sort: bool = False, **kwargs: Any) -> None:
        if region not in REGION_HOSTS and not region.endswith(".onetrust.com"):
            raise ValueError(f"unknown region {region!r}; known: {sorted(REGION_HOSTS)} or a *.onetrust.com host")
        if not 0 < token_ttl_seconds <= MAX_TOKEN_TTL:
            raise ValueError(f"token_ttl_seconds must be 1..{MAX_TOKEN_TTL} (OneTrust allows at most one year)")
        if error_style not in ("spring", "text"):
            raise ValueError("error_style must be 'spring' or 'text'")
        self.region = region
        self.hostname = REGION_HOSTS.get(region, region)
        self.size = size
        self.error_style = error_style
        self.ignore_sort = ignore_sort
        self.rate_limit_per_minute = rate_limit_per_minute
        self.rate_limit_per_hour = rate_limit_per_hour
        self.limiter = RateLimiter()
        self.attestation_path = "/" + attestation_path.strip("/")
        self.clock = SandboxClock(parse_anchor(anchor))
        self._store: Store | None = None
        self._store_lock = threading.Lock()
        self._local = threading.local()
        self.implementations: dict[str, dict[str, Any]] = {}  # control implementations by id (api_controls)
        self.attachments: dict[str, list[dict[str, Any]]] = {}  # attestation/inventory id -> attachments
        self.contracts: dict[str, list[dict[str, Any]]] = {}  # vendor id -> TPRM contracts (api_library)
        self.engagements: dict[str, dict[str, Any]] = {}  # engagement id -> TPRM engagement (api_engagements)
        self.webhook_calls: list[dict[str, Any]] = []  # payloads posted to Integration Manager webhooks
        super().__init__(host, port, seed=seed, tls=tls, latency_ms=latency_ms, **kwargs)
        root = {"id": self.store.seeder.org_groups[0]["id"], "name": self.store.seeder.org_groups[0]["name"]}
        self.auth = OneTrustAuth(seed, self.hostname, token_ttl_seconds, root)
        self.auth.add_client(client_id, client_secret, set(scopes))
        self.client_id, self.client_secret = client_id, client_secret
        self.faults.tokens = self.auth.store
        self.admin.add("POST", r"/_sandbox/touch", self._admin_touch)
        self.admin.add("POST", r"/_sandbox/delete", self._admin_delete)

    # --- state ------------------------------------------------------------------------------------
    @property
    def store(self) -> Store:
        with self._store_lock:
            if self._store is None:
                self._store = Store(self.seed, self.size, self.clock)
            return self._store

    @property
    def advertised_url(self) -> str:
        """Where this tenant would live in OneTrust, e.g. https://app-eu.onetrust.com."""
        return f"https://{self.hostname}"

    @property
    def credentials(self) -> dict[str, Any]:
        return {"client_id": self.client_id, "client_secret": self.client_secret, "base_url": self.url,
                "token_url": self.url + TOKEN_PATH, "hostname": self.hostname, "region": self.region}

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "credentials": self.credentials, "advertised_url": self.advertised_url,
                "size": self.size, "attestation_path": self.attestation_path, "ignore_sort": self.ignore_sort}

    def reset(self) -> None:
        super().reset()
        with self._store_lock:
            self._store = None
        self.implementations.clear()
        self.attachments.clear()
        self.contracts.clear()
        self.engagements.clear()
        self.webhook_calls.clear()
        self.limiter.reset()

    def add_client(self, client_id: str, client_secret: str, scopes: set[str] | tuple[str, ...]) -> None:
        """Register another API client (e.g. one without the RISK scope, to see 403s)."""
        self.auth.add_client(client_id, client_secret, set(scopes))

    # --- Python API for tests ------------------------------------------------------------------------
    def _records(self, kind: str) -> list[dict[str, Any]]:
        with self.store.lock:
            return self.store.records(kind)

    def assessments(self) -> list[dict[str, Any]]:
        """Every live assessment (list-view fields plus sandbox-only "_" facts such as `_riskLevel`)."""
        return self._records("assessments")

    def risks(self) -> list[dict[str, Any]]:
        return self._records("risks")

    def vendors(self) -> list[dict[str, Any]]:
        """Every vendor not marked for deletion."""
        return self._records("vendors")

    def controls(self) -> list[dict[str, Any]]:
        return self._records("controls")

    def attestations(self) -> list[dict[str, Any]]:
        return self._records("attestations")

    def control_implementations(self) -> list[dict[str, Any]]:
        with self.store.lock:
            return [dict(r) for r in self.implementations.values()]

    def touch(self, kind: str, n: int = 1) -> list[str]:
        """Change n random records of `kind` now (bumps lastUpdated/lastModified...); returns their ids."""
        with self.store.lock:
            return self.store.touch(Store.kind(kind), n)

    def delete(self, kind: str, ids: str | list[str]) -> int:
        """Delete records by id (vendors are marked for deletion); returns how many were deleted."""
        with self.store.lock:
            return self.store.delete(Store.kind(kind), [ids] if isinstance(ids, str) else list(ids))

    def _admin_touch(self, req: Request) -> Response:
        try:
            body = req.json() or {}
            n = control_number("n", body.get("n", 1), int, 0, 2**31 - 1)  # not int(): '٣' read as 3 [round 27]
            return json_response({"ids": self.touch(str(body.get("kind", "")), n)})
        except (ValueError, TypeError, AttributeError) as exc:
            raise HTTPError(400, "Bad Request", str(exc)) from exc

    def _admin_delete(self, req: Request) -> Response:
        try:
            body = req.json() or {}
            return json_response({"deleted": self.delete(str(body.get("kind", "")), body.get("ids") or [])})
        except (ValueError, TypeError, AttributeError) as exc:
            raise HTTPError(400, "Bad Request", str(exc)) from exc

    # --- pipeline hooks ----------------------------------------------------------------------------
    def build_routes(self, router: Router) -> None:
        router.add("POST", TOKEN_PATH, lambda r: self.auth.token_endpoint(r), auth_faults=False)
        api_assessment_writes.register(self, router)
        api_privacy.register(self, router)
        api_risk.register(self, router)
        api_inventory.register(self, router)
        api_inventory_criteria.register(self, router)
        api_inventory_status.register(self, router)
        api_controls.register(self, router)
        api_library.register(self, router)
        api_engagements.register(self, router)

    def authorize(self, req: Request, *scopes: str) -> Principal:
        return self.auth.principal(req, scopes)

    def sort_param(self, req: Request) -> str | None:
        """The `sort` a list endpoint applies: the client's, or None (the endpoint's default) while
        `ignore_sort` is on."""
        return None if self.ignore_sort else req.query.get("sort")

    def sort_params(self, req: Request) -> list[str] | None:
        """Every `sort` parameter in order (Spring Data applies them all), or None while `ignore_sort` is on."""
        return None if self.ignore_sort else [v for k, v in req.query_pairs if k == "sort"]

    def page_faults(self, kind: str) -> None:
        """Shared faults on list pages: records changing (`touch_per_page`) or vanishing (`delete_per_page`)."""
        s = self.faults.settings
        if s.touch_per_page:
            self.store.touch(kind, s.touch_per_page)
        if s.delete_per_page:
            self.store.delete(kind, self.store.random_ids(kind, s.delete_per_page))

    def dispatch(self, req: Request) -> Response:
        self._local.path = req.path
        if req.path.startswith("/api/"):
            over = self.limiter.hit({"MINUTE": self.rate_limit_per_minute, "HOUR": self.rate_limit_per_hour})
            if over is not None:
                period = over[1][1].lower()
                return self.error(429, "Too Many Requests", f"API rate limit exceeded for this {period}", over)
        return super().dispatch(req)

    def _call(self, router: Router, req: Request, faults: bool) -> Response:
        """``OPTIONS`` on an API path a route serves: Spring MVC's default answer (``HttpOptionsHandler``), 200
        with no body and ``Allow`` naming the path's methods, ``HEAD`` beside ``GET`` and ``OPTIONS`` last, for a
        caller with a live token (Spring Security authenticates it like any request) [unc: OneTrust's gateway
        and CORS setup, the order of ``Allow``]. A path no route serves stays a 404."""
        if req.method == "OPTIONS" and req.path.startswith("/api/") and not req.internal:
            _, _, allowed = router.match("OPTIONS", req.path)
            if allowed:
                try:
                    self.auth.principal(req, ())
                except HTTPError as exc:
                    return self.error(exc.status, exc.message, exc.detail, exc.headers)
                return Response(200, b"", "text/plain", [("Allow", allow_header(allowed))])
        return super()._call(router, req, faults)

    def error(self, status: int, message: str, detail: str | None = None,
              headers: list[tuple[str, str]] | None = None) -> Response:
        headers = list(headers or [])
        if status == 400 and message == "Requested URI does not represent any resource":
            status, detail = 404, "No message available"  # Spring's answer for a path no handler maps
        names = {k.lower() for k, _ in headers}
        if status == 429:  # every 429 carries OneTrust's five rate-limit headers
            limit = self.rate_limit_per_minute or 20_000
            if "ot-period" not in names:
                headers.append(("ot-period", "MINUTE"))
            if "ot-ratelimit-event-id" not in names:
                headers.append(("ot-ratelimit-event-id", str(uuid.uuid4())))
            if "ot-request-made" not in names:
                headers += [("ot-request-made", str(limit + 1)), ("ot-requests-allowed", str(limit))]
            if "retry-after" not in names:
                headers.append(("Retry-After", "60"))
        if status == 401 and message in ("invalid_token", "unauthorized"):
            resp = self.auth.oauth_error(401, message, detail or message)
            resp.headers.extend(headers)
            return resp
        text = detail or message
        if self.error_style == "text":
            return Response(status, text.encode("utf-8"), "text/plain;charset=UTF-8", headers)
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "Error"
        body = {"timestamp": self.store.now(), "status": status, "error": phrase, "message": text,
                "path": getattr(self._local, "path", "")}
        return json_response(body, status, headers)

    def fault_response(self, decision: Decision) -> Response:
        if decision.status == 429:
            return self.error(429, "Too Many Requests", "Rate limit exceeded (sandbox fault)",
                              [("Retry-After", str(decision.retry_after))])
        if decision.status == 401:
            return self.error(401, "invalid_token", "Access token expired (sandbox fault)")
        if decision.status == 403:
            return self.error(403, "Forbidden", "Access is denied (sandbox fault)")
        return self.error(int(decision.status or 500), "Internal Server Error", "Injected sandbox fault")


def allow_header(methods: list[str]) -> str:
    """Spring's ``Allow`` for a mapped path: its methods, ``HEAD`` after ``GET``, ``OPTIONS`` last, comma-joined."""
    out: list[str] = []
    for method in sorted(set(methods) - {"HEAD", "OPTIONS"}):
        out += [method, "HEAD"] if method == "GET" else [method]
    return ",".join([*out, "OPTIONS"])
