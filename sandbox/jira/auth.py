"""Authentication for the Jira emulator: API token (Basic), PAT (Bearer) and OAuth 2.0 (3LO).

- Site URL (`/rest/...`): `Basic base64(email:api_token)` or `Bearer <pat>`; OAuth access tokens are
  refused here (as on Jira Cloud, they only work through the gateway).
- Gateway (`/ex/jira/{cloudId}/rest/...`): `Bearer <OAuth access token>` (Basic also accepted, as for
  scoped API tokens). Wrong cloudId -> 404; scope mismatch -> 401 "Unauthorized; scope does not match".
- OAuth: `GET /authorize` (auto-consents, 302 to redirect_uri with `code` and `state`),
  `POST /oauth/token` (authorization_code / refresh_token grants, JSON or form body),
  `GET /oauth/token/accessible-resources`. Refresh tokens ROTATE: each use invalidates the old one; reusing
  a rotated token revokes the whole token family (the user must consent again).
"""

from __future__ import annotations

import base64
import secrets
import threading
import time
from typing import Any
from urllib.parse import urlencode

from sandbox.core.http import HTTPError, Request, Response, json_response
from sandbox.core.tokens import TokenStore

READ_SCOPES = ("read:jira-work", "read:jira-user")
CODE_TTL = 600


class RotatingTokenStore(TokenStore):
    """Core TokenStore + Atlassian refresh-token rotation and family revocation."""

    def __init__(self, ttl_seconds: int = 3600, refresh_ttl_seconds: int = 90 * 86400) -> None:
        super().__init__(ttl_seconds, refresh_ttl_seconds)
        self._family: dict[str, str] = {}
        self._family_lock = threading.Lock()

    def issue(self, principal: str, client_id: str, scope: str = "read:jira-work",
              family: str | None = None) -> dict[str, object]:
        out = super().issue(principal, client_id, scope)
        fam = family or str(out["refresh_token"])
        with self._family_lock:
            self._family[str(out["access_token"])] = fam
            self._family[str(out["refresh_token"])] = fam
        if "offline_access" not in scope.split():
            out.pop("refresh_token")
        return out

    def scope_of(self, access_token: str) -> str:
        grant = self._access.get(access_token)
        return grant.scope if grant else ""

    def refresh(self, refresh_token: str, client_id: str) -> dict[str, object] | None:
        with self._lock:
            grant = self._refresh.get(refresh_token)
            if grant is None or grant.client_id != client_id:
                return None
            if grant.revoked:
                reused = True
            else:
                reused = False
                if time.time() >= grant.expires_at:
                    return None
                grant.revoked = True  # rotation: the old refresh token is spent
        if reused:
            self.revoke_family(self._family.get(refresh_token, ""))
            return None
        return self.issue(grant.principal, client_id, grant.scope, family=self._family.get(refresh_token))

    def revoke_family(self, family: str) -> None:
        with self._family_lock:
            tokens = [t for t, f in self._family.items() if f == family]
        with self._lock:
            for t in tokens:
                for table in (self._access, self._refresh):
                    if t in table:
                        table[t].revoked = True


def _oauth_error(status: int, error: str, description: str) -> Response:
    return json_response({"error": error, "error_description": description}, status)


class OAuthServer:
    """The auth.atlassian.com / api.atlassian.com endpoints for one emulated site."""

    def __init__(self, tokens: RotatingTokenStore, creds: dict[str, str], principal: str, site_url: Any) -> None:
        self.tokens, self.creds, self.principal, self.site_url = tokens, creds, principal, site_url
        self._codes: dict[str, tuple[str, str, str, float]] = {}
        self._lock = threading.Lock()

    def authorize(self, req: Request) -> Response:
        q = req.query
        if q.get("client_id") != self.creds["client_id"]:
            return _oauth_error(400, "invalid_request", "Unknown client_id")
        if q.get("response_type", "code") != "code" or not q.get("redirect_uri"):
            return _oauth_error(400, "invalid_request", "response_type=code and redirect_uri are required")
        code = secrets.token_urlsafe(24)
        scope = q.get("scope", "read:jira-work")
        with self._lock:
            self._codes[code] = (q["client_id"], q["redirect_uri"], scope, time.time() + CODE_TTL)
        sep = "&" if "?" in q["redirect_uri"] else "?"
        location = q["redirect_uri"] + sep + urlencode({"code": code, "state": q.get("state", "")})
        return Response(status=302, body=b"", content_type="text/plain", headers=[("Location", location)])

    def token(self, req: Request) -> Response:
        ctype = req.header("Content-Type").lower()
        try:
            body = req.json() if "json" in ctype or req.body.strip().startswith(b"{") else req.form()
        except ValueError:
            return _oauth_error(400, "invalid_request", "Malformed request body")
        body = body or {}
        if body.get("client_id") != self.creds["client_id"] or body.get("client_secret") != self.creds["client_secret"]:
            return _oauth_error(401, "access_denied", "Unauthorized")
        grant = body.get("grant_type")
        if grant == "authorization_code":
            with self._lock:
                entry = self._codes.pop(str(body.get("code")), None)
            if entry is None or entry[3] < time.time() or entry[1] != body.get("redirect_uri"):
                return _oauth_error(403, "invalid_grant", "Invalid authorization code")
            return json_response(self.tokens.issue(self.principal, entry[0], entry[2]))
        if grant == "refresh_token":
            issued = self.tokens.refresh(str(body.get("refresh_token")), self.creds["client_id"])
            if issued is None:
                return _oauth_error(403, "invalid_grant", "Unknown or invalid refresh token.")
            return json_response(issued)
        return _oauth_error(400, "unsupported_grant_type", f"Unsupported grant type: {grant}")

    def accessible_resources(self, req: Request) -> Response:
        token = bearer(req)
        principal, _ = self.tokens.check(token) if token else (None, "missing")
        if principal is None:
            return json_response({"code": 401, "message": "Unauthorized"}, 401)
        return json_response([{"id": self.creds["cloud_id"], "url": self.site_url(), "name": "sandbox",
                               "scopes": self.tokens.scope_of(token).split(),
                               "avatarUrl": "https://site-admin-avatar-cdn.prod.public.atl-paas.net/avatars/240/"
                                            "site.png"}])


def bearer(req: Request) -> str | None:
    value = req.header("Authorization")
    return value[7:].strip() if value[:7].lower() == "bearer " else None


def basic(req: Request) -> tuple[str, str] | None:
    value = req.header("Authorization")
    if value[:6].lower() != "basic ":
        return None
    try:
        user, _, password = base64.b64decode(value[6:].strip()).decode("utf-8").partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return user, password


def authenticate(req: Request, creds: dict[str, str], tokens: RotatingTokenStore, me: str, need: str,
                 second: str | None = None) -> str:
    """Account id of the caller, or HTTPError (401/404). `need`: "read", "write" or "webhook". `second`: the
    account id of the second Basic login (`creds["user_email"]`/`creds["user_api_token"]`)."""
    cloud = req.params.get("cloud")
    if cloud is not None and cloud != creds["cloud_id"]:
        raise HTTPError(404, "Site temporarily unavailable")
    pair = basic(req)
    if pair is not None:
        if pair == (creds["email"], creds["api_token"]):
            return me
        if second is not None and pair == (creds.get("user_email"), creds.get("user_api_token")):
            return second
        # Jira Cloud goes on anonymously and says why (`identity`): a route needing a user answers 401
        raise HTTPError(401, "Client must be authenticated to access this resource.", None,
                        [("X-Seraph-LoginReason", "AUTHENTICATED_FAILED")])
    token = bearer(req)
    if token is None:
        raise HTTPError(401, "Client must be authenticated to access this resource.")
    if cloud is None:
        if token == creds["pat"]:
            return me
        raise HTTPError(401, "Client must be authenticated to access this resource.")
    principal, reason = tokens.check(token)
    if principal is None:
        raise HTTPError(401, "Unauthorized", {"gateway": True, "reason": reason})
    scopes = set(tokens.scope_of(token).split())
    if need == "read":
        ok = bool(scopes & set(READ_SCOPES)) or any(s.startswith("read:") for s in scopes)
    elif need == "webhook":
        ok = "manage:jira-webhook" in scopes or "write:jira-work" in scopes
    else:
        ok = "write:jira-work" in scopes or any(s.startswith("write:") for s in scopes)
    if not ok:
        raise HTTPError(401, "Unauthorized; scope does not match", {"gateway": True})
    return principal
