"""ServiceNow authentication: `/oauth_token.do` grants and the check every API call runs.

Token endpoint (form-encoded POST): grant_type password | client_credentials | refresh_token |
urn:ietf:params:oauth:grant-type:jwt-bearer. client_credentials can be switched off, as the
instance property glide.oauth.inbound.client.credential.grant_type.enabled does. As the instance's
"OAuth API request parameters" page says: a password grant made while the user's access token (for
that client) is still live answers that same access token (its expiry renewed, as KB0791140 reports;
a new refresh token beside it [unc]), and a refresh_token grant answers a new access token with the
current refresh token, not a rotated one. `/oauth_revoke_token.do?token=<access or refresh token>`
(GET or POST, no authentication) marks that token expired; it answers 200 with no body [unc]. Client
credentials come from the form or from an HTTP Basic header (requests-oauthlib sends them that way). Failures answer 401
`{"error_description":"access_denied","error":"server_error"}` like a real instance.
API calls accept `Authorization: Bearer <token>` or Basic user:password (the integration user's, or
those of the users `acl.Logins` knows); anything else gets 401 with
the Table API error envelope (PySNC reads its "error" key).
"""

from __future__ import annotations

import base64
import binascii
import secrets
import time
from dataclasses import dataclass

from sandbox.core.http import HTTPError, Request, Response, json_response
from sandbox.core.tokens import Grant, TokenStore
from sandbox.servicenow.acl import Logins

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


@dataclass(frozen=True)
class Credentials:
    """The sandbox's OAuth client and integration user (attribute or item access: c.username, c["username"])."""

    client_id: str = "sandbox-client"
    client_secret: str = "sandbox-secret"
    username: str = "integration.user"
    password: str = "sandbox-password"

    def __getitem__(self, key: str) -> str:
        if key not in self.keys():
            raise KeyError(key)
        return str(getattr(self, key))

    def keys(self) -> tuple[str, ...]:
        return ("client_id", "client_secret", "username", "password")


def basic_pair(header: str) -> tuple[str, str] | None:
    if not header.lower().startswith("basic "):
        return None
    try:
        user, _, password = base64.b64decode(header[6:].strip()).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return user, password


class InstanceTokens(TokenStore):
    """The core token store with the instance's reuse rules (see the module docstring) and revocation."""

    def issue_current(self, principal: str, client_id: str) -> dict[str, object]:
        """Password grant: the live access token of this user and client (expiry renewed), else a new one."""
        now = time.time()
        with self._lock:
            live = next((t for t, g in self._access.items() if g.principal == principal and
                         g.client_id == client_id and not g.revoked and g.expires_at > now), None)
        out = self.issue(principal, client_id)
        if live is not None:
            with self._lock:
                self._access.pop(str(out["access_token"]), None)
                self._access[live].expires_at = now + self.ttl_seconds
            out["access_token"] = live
        return out

    def refresh(self, refresh_token: str, client_id: str) -> dict[str, object] | None:
        """A new access token for a live refresh token (of the same client); the refresh token stays."""
        now = time.time()
        with self._lock:
            grant = self._refresh.get(refresh_token)
            if grant is None or grant.revoked or grant.client_id != client_id or now >= grant.expires_at:
                return None
            access = secrets.token_urlsafe(48)
            self._access[access] = Grant(grant.principal, client_id, grant.scope, now + self.ttl_seconds)
        return {"access_token": access, "refresh_token": refresh_token, "scope": grant.scope,
                "token_type": "Bearer", "expires_in": int(self.ttl_seconds)}

    def principal_of(self, refresh_token: str) -> str:
        """The user a refresh token was issued to ("" if unknown)."""
        with self._lock:
            grant = self._refresh.get(refresh_token)
        return grant.principal if grant is not None else ""

    def revoke(self, token: str) -> bool:
        """Mark one access or refresh token expired; False if it was never issued."""
        with self._lock:
            grant = self._access.get(token) or self._refresh.get(token)
            if grant is not None:
                grant.revoked = True
        return grant is not None


def _denied(status: int = 401) -> Response:
    return json_response({"error_description": "access_denied", "error": "server_error"}, status)


class Authenticator:
    """Issues tokens and authenticates API requests for one sandbox."""

    def __init__(self, tokens: InstanceTokens, credentials: Credentials, client_credentials_enabled: bool = True,
                 logins: Logins | None = None) -> None:
        self.tokens = tokens
        self.credentials = credentials
        self.logins = logins or Logins()  # users other than the integration user (`acl`)
        # glide.oauth.inbound.client.credential.grant_type.enabled (false by default on a real instance)
        self.client_credentials_enabled = client_credentials_enabled

    def token_endpoint(self, req: Request) -> Response:
        form = req.form()
        c = self.credentials
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        basic = basic_pair(req.header("Authorization"))
        if client_id is None and basic is not None:
            client_id, client_secret = basic
        if (client_id, client_secret) != (c.client_id, c.client_secret):
            return _denied()
        grant = form.get("grant_type", "")
        if grant == "password":
            if not self.known(form.get("username", ""), form.get("password", "")):
                return _denied()
            issued = self.tokens.issue_current(form.get("username", ""), client_id)
        elif grant == "client_credentials":
            if not self.client_credentials_enabled:
                return _denied()
            issued = self.tokens.issue(c.username, client_id)
        elif grant == "refresh_token":
            owner = self.tokens.principal_of(form.get("refresh_token", ""))
            if owner and self._barred(owner):
                return _denied()  # the account was locked out or deactivated since
            refreshed = self.tokens.refresh(form.get("refresh_token", ""), client_id)
            if refreshed is None:
                return _denied()
            issued = refreshed
        elif grant == JWT_GRANT:
            if not req.header("Authentication").lower().startswith("bearer "):
                return _denied()
            issued = self.tokens.issue(c.username, client_id)
        else:
            return json_response({"error_description": f"unsupported grant_type {grant!r}",
                                  "error": "unsupported_grant_type"}, 400)
        return json_response(issued, 200, [("Cache-Control", "no-store"), ("Pragma", "no-cache")])

    def revoke_endpoint(self, req: Request) -> Response:
        """`/oauth_revoke_token.do?token=...` (the token may also come in a form body)."""
        token = req.query.get("token") or (req.form().get("token") if req.method == "POST" else None)
        if token:
            self.tokens.revoke(token)
        return Response(status=200, body=b"", content_type="text/plain;charset=UTF-8")

    def _barred(self, user: str) -> bool:
        """The integration user always signs in (its seeded sys_user row may be inactive)."""
        return user != self.credentials.username and self.logins.barred(user)

    def known(self, user: str, password: str) -> bool:
        """Whether the user_name and password sign in (the integration user or a login, `acl`)."""
        return (user, password) == (self.credentials.username, self.credentials.password) or \
            self.logins.check(user, password)

    def authenticate(self, req: Request) -> str:
        """The calling user's user_name, or HTTPError 401 (also for a login whose account is locked out
        or inactive, whatever token or session it holds: `acl.login_barred`)."""
        header = req.header("Authorization")
        if req.principal:  # a batch's sub-request, or a session's request without credentials
            if req.internal or not self._barred(str(req.principal)):
                return str(req.principal)
        elif header.lower().startswith("bearer "):
            principal, _reason = self.tokens.check(header[7:].strip())
            if principal is not None and not self._barred(principal):
                req.principal = principal
                return principal
        else:
            pair = basic_pair(header)
            if pair is not None and self.known(*pair):
                req.principal = pair[0]
                return pair[0]
        req.principal = None
        raise HTTPError(401, "User Not Authenticated", "Required to provide Auth information",
                        [("WWW-Authenticate", 'BASIC realm="Service-now"')])
