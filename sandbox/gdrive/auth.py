"""Google OAuth for service accounts, as ``google-auth`` speaks it: the client signs a JWT with the
service account's private key (RS256) and posts it to ``token_uri`` with the JWT-bearer grant; the
emulator checks the signature against the registered public key, the audience (Google's token URL, or its own)
and the expiry, and issues a bearer token (``sandbox.core.tokens``)."""

from __future__ import annotations

import json

from google.auth import crypt, jwt
from google.auth.exceptions import GoogleAuthError

from sandbox.core.http import Request, Response, json_response
from sandbox.core.tokens import TokenStore

GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
# google-auth signs assertions for Google's token URL whatever token_uri it posts to; Google accepts both.
GOOGLE_AUDIENCES = ("https://oauth2.googleapis.com/token", "https://accounts.google.com/o/oauth2/token")


class ServiceAccounts:
    """Registered service accounts (client_email -> public key PEM) and the tokens issued to them."""

    def __init__(self, tokens: TokenStore):
        self.tokens = tokens
        self.public_keys: dict[str, bytes] = {}

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
        pair = self.tokens.issue(claims["iss"], claims["iss"], str(claims.get("scope", "")))
        return json_response({"access_token": pair["access_token"], "expires_in": pair["expires_in"],
                              "token_type": "Bearer"})

    def principal(self, req: Request) -> tuple[str | None, str]:
        header = req.header("Authorization")
        if not header.startswith("Bearer "):
            return None, "missing"
        return self.tokens.check(header[len("Bearer "):].strip())


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
