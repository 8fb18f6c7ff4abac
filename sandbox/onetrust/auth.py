"""OneTrust OAuth 2.0 client credentials: `POST /api/access/v1/oauth/token` and bearer checks.

Token request: `grant_type=client_credentials`, `client_id`, `client_secret` as multipart/form-data
(what the OAS declares) or x-www-form-urlencoded (what many clients send); query-string fields and
HTTP Basic client authentication are also accepted. Response fields follow OneTrust's example:
`access_token` (a JWT, HS256, signed with a sandbox key), `token_type` "bearer", `expires_in`, `scope`
"read", `ot-scopes` (comma list; also as `ot_scopes`, the name OneTrust's schema gives it), `jti`,
`guid`, `sessionId`, `tenantId`, `tenantGuid`, `orgGroupId`, `orgGroupGuid`, `languageId`, `role`
"Api Key User", `email`, `user_name`. No refresh token. Answered with `Cache-Control: no-store` and
`Pragma: no-cache`, as RFC 6749 §5.1 requires of a token response [unc: OneTrust documents no headers].
A `scope` parameter is optional and changes nothing; naming a scope the client was not given ("read" or
one of its OneTrust scopes, space or comma separated) is 400 `invalid_scope` "Invalid scope: X" with
`"scope": "read"`, as the Spring Security OAuth2 token endpoint validates it [unc: OneTrust documents no
`scope` parameter]. A body that is not UTF-8 is a 400 `invalid_request`. A request carrying neither `grant_type` nor
`client_id` as form fields (typically a JSON body, which the endpoint does not read) is 401
`unauthorized` "Full authentication is required to access this resource" with
`WWW-Authenticate: Basic realm="oauth2/client", ...`, as the Spring Security OAuth2 token endpoint answers
an unauthenticated client [unc: OneTrust documents only multipart/form-data; the token's claims
(`user_name`, `jti`, `scope`, `ot-scopes`) are those of that framework, whose messages this module uses].

Resource 401s follow that framework's entry point: `WWW-Authenticate: Bearer realm="oauth", error=..,
error_description=..`, and an expired token's description is "Access token expired: <the token>".

Lifetime and revocation use `sandbox.core.tokens.TokenStore` (so the shared `expire_tokens`,
`revoke_tokens` and `token_ttl_seconds` fault actions work); the JWT is mapped to the store's opaque
token. Scopes are per client; a token without any scope an endpoint accepts gets 403. An account
holds at most 500 client credentials (`add_client` refuses the 501st).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

from sandbox.core.http import HTTPError, Request, Response, json_response
from sandbox.core.tokens import TokenStore
from sandbox.onetrust.draw import stable_uuid

MAX_TOKEN_TTL = 31_536_000  # one year: the longest lifetime a OneTrust credential can be configured with
MAX_CLIENTS = 500  # client credentials per OneTrust account


@dataclass(frozen=True)
class Client:
    client_id: str
    client_secret: str
    scopes: frozenset[str]


@dataclass(frozen=True)
class Principal:
    client_id: str
    scopes: frozenset[str]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def form_fields(req: Request) -> dict[str, str]:
    """Fields of a multipart/form-data or urlencoded body, plus query-string fields as fallback."""
    fields = dict(req.query)
    ctype = req.header("Content-Type")
    if ctype.lower().startswith("multipart/form-data"):
        msg = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + ctype.encode("latin-1") + b"\r\n\r\n" + req.body)
        for part in msg.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if name:
                fields[str(name)] = (part.get_payload(decode=True) or b"").decode("utf-8")
    elif req.body:
        fields.update(req.form())
    return fields


class OneTrustAuth:
    """Registered API clients, token issuing and bearer-token checks for one OneTrust sandbox."""

    def __init__(self, seed: int, hostname: str, ttl_seconds: int, org_group: dict[str, str]) -> None:
        self.seed, self.hostname, self.org_group = seed, hostname, org_group
        self.store = TokenStore(ttl_seconds=ttl_seconds)
        self.clients: dict[str, Client] = {}
        self.tenant_guid = stable_uuid(seed, "tenant", hostname)
        self._key = hashlib.sha256(f"onetrust-sandbox:{seed}:{hostname}".encode()).digest()
        self._jwts: dict[str, tuple[str, Principal]] = {}
        self._lock = threading.Lock()

    def add_client(self, client_id: str, client_secret: str, scopes: set[str] | frozenset[str]) -> None:
        if client_id not in self.clients and len(self.clients) >= MAX_CLIENTS:
            raise ValueError(f"OneTrust allows at most {MAX_CLIENTS} client credentials per account")
        self.clients[client_id] = Client(client_id, client_secret, frozenset(scopes))

    # --- token endpoint -------------------------------------------------------------------------
    def token_endpoint(self, req: Request) -> Response:
        try:
            f = form_fields(req)
        except UnicodeDecodeError:  # a body that is not UTF-8: a bad request, never a 500
            return self.oauth_error(400, "invalid_request", "The request body is not valid UTF-8 form data")
        basic = req.header("Authorization")
        if basic.lower().startswith("basic ") and "client_id" not in f:
            try:
                cid, _, secret = base64.b64decode(basic[6:]).decode("utf-8").partition(":")
                f.setdefault("client_id", cid)
                f.setdefault("client_secret", secret)
            except ValueError:
                pass
        grant = f.get("grant_type", "")
        if not grant and "client_id" not in f:  # e.g. a JSON body: no form field at all was read
            return self.oauth_error(401, "unauthorized", "Full authentication is required to access this resource",
                                    'Basic realm="oauth2/client"')
        if not grant:
            return self.oauth_error(400, "invalid_request", "Missing grant type")
        if grant != "client_credentials":
            return self.oauth_error(400, "unsupported_grant_type", f"Unsupported grant type: {grant}")
        client = self.clients.get(f.get("client_id", ""))
        if client is None or not hmac.compare_digest(client.client_secret, f.get("client_secret", "")):
            return self.oauth_error(401, "invalid_client", "Bad client credentials", 'Form realm="oauth"')
        unknown = [x for x in re.split(r"[\s,]+", f.get("scope", "")) if x and x != "read" and x not in client.scopes]
        if unknown:  # Spring's DefaultOAuth2RequestValidator: a scope the client was not given
            return json_response({"error": "invalid_scope", "error_description": f"Invalid scope: {' '.join(unknown)}",
                                  "scope": "read"}, 400)
        return json_response(self.issue(client), headers=[("Cache-Control", "no-store"), ("Pragma", "no-cache")])

    def issue(self, client: Client) -> dict[str, Any]:
        grant = self.store.issue(client.client_id, client.client_id, " ".join(sorted(client.scopes)))
        now, ttl = int(time.time()), int(grant["expires_in"])  # type: ignore[call-overload]
        jti, session = secrets.token_hex(16), secrets.token_hex(16)
        email = f"{self.tenant_guid}@api.onetrust.com"
        scopes = ",".join(sorted(client.scopes))
        claims = {"iss": f"https://{self.hostname}", "sub": email, "aud": ["onetrust"], "iat": now,
                  "exp": now + ttl, "jti": jti, "client_id": client.client_id, "tenantGuid": self.tenant_guid,
                  "scope": ["read"], "ot-scopes": scopes}
        head = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        body = _b64(json.dumps(claims, separators=(",", ":")).encode())
        sig = _b64(hmac.new(self._key, f"{head}.{body}".encode(), hashlib.sha256).digest())
        token = f"{head}.{body}.{sig}"
        with self._lock:
            self._jwts[token] = (str(grant["access_token"]), Principal(client.client_id, client.scopes))
        return {
            "access_token": token, "token_type": "bearer", "expires_in": ttl, "scope": "read",
            "ot-scopes": scopes, "ot_scopes": scopes, "jti": jti,
            "guid": stable_uuid(self.seed, "apiuser", client.client_id),
            "sessionId": session, "tenantId": 1000 + self.seed % 9000, "tenantGuid": self.tenant_guid,
            "orgGroupId": self.org_group["id"], "orgGroupGuid": self.org_group["id"], "languageId": 1,
            "role": "Api Key User", "email": email, "user_name": email,
        }

    # --- bearer checks ----------------------------------------------------------------------------
    def principal(self, req: Request, scopes: tuple[str, ...]) -> Principal:
        """The caller for a live bearer token holding one of `scopes`; raises 401/403 otherwise."""
        header = req.header("Authorization")
        if not header.lower().startswith("bearer ") or not header[7:].strip():
            raise HTTPError(401, "unauthorized", "Full authentication is required to access this resource")
        token = header[7:].strip()
        with self._lock:
            entry = self._jwts.get(token)
        if entry is None:
            raise HTTPError(401, "invalid_token", "Cannot convert access token to JSON")
        _, status = self.store.check(entry[0])
        if status == "expired":
            raise HTTPError(401, "invalid_token", f"Access token expired: {token}")
        if status != "ok":
            raise HTTPError(401, "invalid_token", "Token was not recognised")
        if scopes and not entry[1].scopes & set(scopes):
            raise HTTPError(403, "Forbidden", f"Access is denied: token lacks one of the scopes {sorted(scopes)}")
        return entry[1]

    @staticmethod
    def oauth_error(status: int, code: str, description: str, scheme: str = 'Bearer realm="oauth"') -> Response:
        headers = [("WWW-Authenticate", f'{scheme}, error="{code}", error_description="{description}"')] \
            if status == 401 else []
        return json_response({"error": code, "error_description": description}, status, headers)
