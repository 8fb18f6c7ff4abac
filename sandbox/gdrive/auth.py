"""Google OAuth for service accounts, as ``google-auth`` speaks it: the client signs a JWT with the
service account's private key (RS256) and posts it to ``token_uri`` with the JWT-bearer grant; the
emulator checks the signature against the registered public key, the audience (Google's token URL, or its own)
and the expiry, and issues a bearer token (``sandbox.core.tokens``).

Scopes (the JWT's ``scope``) bound what the token may do, as Drive checks them (``allows``): ``drive`` and
``drive.file`` everything (``drive.file`` is not narrowed to the app's own files here), ``drive.readonly``
reads, ``drive.metadata`` metadata reads and writes, ``drive.metadata.readonly`` metadata reads; any other
scope nothing. Anything else is 403 insufficientPermissions "Request had insufficient authentication
scopes.". A token asked for without scopes, or issued straight from the store (tests), may do everything.

Domain-wide delegation (the JWT's ``sub``, ``Credentials.with_subject``): refused with Google's 401
``unauthorized_client`` unless ``delegate(client_email)`` allowed it, then the token acts as the subject."""

from __future__ import annotations

import json

from google.auth import crypt, jwt
from google.auth.exceptions import GoogleAuthError

from sandbox.core.http import Request, Response, json_response
from sandbox.core.tokens import TokenStore

GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
# google-auth signs assertions for Google's token URL whatever token_uri it posts to; Google accepts both.
GOOGLE_AUDIENCES = ("https://oauth2.googleapis.com/token", "https://accounts.google.com/o/oauth2/token")
SCOPE = "https://www.googleapis.com/auth/"
WRITE = {SCOPE + "drive", SCOPE + "drive.file"}
CONTENT = WRITE | {SCOPE + "drive.readonly"}  # may read file bytes (alt=media, export)
METADATA = CONTENT | {SCOPE + "drive.metadata", SCOPE + "drive.metadata.readonly"}  # may read metadata
METADATA_WRITE = WRITE | {SCOPE + "drive.metadata"}


class ServiceAccounts:
    """Registered service accounts (client_email -> public key PEM) and the tokens issued to them."""

    def __init__(self, tokens: TokenStore):
        self.tokens = tokens
        self.public_keys: dict[str, bytes] = {}
        self.scopes: dict[str, set[str]] = {}  # access token -> the scopes it was issued for
        self.delegated: set[str] = set()  # service accounts allowed domain-wide delegation

    def delegate(self, client_email: str) -> None:
        """Allow ``client_email`` domain-wide delegation (tokens for a ``sub`` act as that user)."""
        self.delegated.add(client_email)

    def register(self, client_email: str, public_key_pem: bytes) -> None:
        self.public_keys[client_email] = public_key_pem

    def token(self, req: Request, token_url: str) -> Response:
        form = req.form()
        if form.get("grant_type") != GRANT:
            return json_response({"error": "unsupported_grant_type",
                                  "error_description": f"Invalid grant_type: {form.get('grant_type')}"}, 400)
        assertion = form.get("assertion", "")
        try:
            unverified = jwt.decode(assertion, verify=False)
        except (ValueError, GoogleAuthError):
            return json_response({"error": "invalid_grant", "error_description": "Invalid JWT Signature."}, 400)
        key = self.public_keys.get(str(unverified.get("iss")))
        if key is None:
            return json_response({"error": "invalid_client", "error_description": "The OAuth client was not "
                                  "found."}, 401)
        try:
            claims = jwt.decode(assertion, certs=key.decode(), audience=[token_url, *GOOGLE_AUDIENCES])
        except (ValueError, GoogleAuthError) as exc:
            return json_response({"error": "invalid_grant", "error_description": f"Invalid JWT: {exc}"}, 400)
        who = str(claims.get("sub") or claims["iss"])
        if who != claims["iss"] and claims["iss"] not in self.delegated:
            return json_response({"error": "unauthorized_client", "error_description": "Client is unauthorized to "
                                  "retrieve access tokens using this method, or client not authorized for any of "
                                  "the scopes requested."}, 401)
        pair = self.tokens.issue(who, claims["iss"], str(claims.get("scope", "")))
        if str(claims.get("scope", "")).split():
            self.scopes[str(pair["access_token"])] = set(str(claims["scope"]).split())
        return json_response({"access_token": pair["access_token"], "expires_in": pair["expires_in"],
                              "token_type": "Bearer"})

    def principal(self, req: Request) -> tuple[str | None, str]:
        header = req.header("Authorization")
        if not header.startswith("Bearer "):
            return None, "missing"
        return self.tokens.check(header[len("Bearer "):].strip())


def allows(scopes: set[str] | None, req: Request) -> bool:
    """Whether a token of ``scopes`` (None: issued without any) may make this Drive call."""
    if scopes is None:
        return True
    content = req.query.get("alt") == "media" or req.path.endswith(("/export", "/download")) or \
        req.path.startswith("/upload/")
    # watching is reading, and so is files.download (a POST that starts a download)
    if req.method in ("GET", "HEAD") or req.path.endswith(("/watch", "/channels/stop", "/download")):
        return bool(scopes & (CONTENT if content else METADATA))
    return bool(scopes & (WRITE if content else METADATA_WRITE))


def verify_key_pair(private_pem: str, public_pem: bytes) -> bool:
    """True when the key pair matches (used by the fixture's self-check)."""
    signer = crypt.RSASigner.from_string(private_pem)
    verifier = crypt.RSAVerifier.from_string(public_pem)
    return verifier.verify(b"x", signer.sign(b"x"))


def service_account_info(client_email: str, private_pem: str, token_uri: str) -> dict:
    """A service-account key file, as the Google Cloud console downloads it (token_uri -> the emulator)."""
    return {"type": "service_account", "project_id": "projectx-sandbox", "private_key_id": "sandbox-key-1",
            "private_key": private_pem, "client_email": client_email, "client_id": "100000000000000000001",
            "auth_uri": "https://accounts.google.com/o/oauth2/auth", "token_uri": token_uri,
            "universe_domain": "googleapis.com"}


def dumps(info: dict) -> str:
    return json.dumps(info, indent=2)
