"""Microsoft Entra ID (Azure AD) for daemon apps, as MSAL speaks it: the tenant's OpenID discovery
document and its v2.0 token endpoint for the client-credentials grant with a certificate, or with a
client secret (``client_secret`` in the form, or HTTP Basic ``client_id:client_secret``) for apps given
one with ``add_secret`` (``ClientSecretCredential``; a wrong secret is 401 ``invalid_client``
AADSTS7000215, as Entra ID answers).

The client signs a JWT (RS256 or PS256; header ``x5t`` or ``x5t#S256`` = the certificate's
thumbprint) whose audience is the token endpoint and whose ``iss``/``sub`` are the client id, and
posts it as ``client_assertion``. The emulator finds the app by tenant and client id, the
certificate by thumbprint, verifies the signature with that certificate's public key, the audience,
issuer and expiry, and answers with the AADSTS errors Entra ID uses:

- unknown tenant: 400 ``invalid_request`` AADSTS90002;
- unknown client in that tenant: 400 ``unauthorized_client`` AADSTS700016;
- certificate not registered on the app: 401 ``invalid_client`` AADSTS700027;
- bad signature, audience or expiry: 401 ``invalid_client`` AADSTS700027 / AADSTS700024.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from urllib.parse import unquote_plus

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from sandbox.core.http import Request, Response, json_response
from sandbox.core.tokens import TokenStore

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def thumbprints(cert_pem: bytes) -> tuple[str, str]:
    """(x5t, x5t#S256) of a PEM certificate, as they appear in a JWT header."""
    der = x509.load_pem_x509_certificate(cert_pem).public_bytes(serialization.Encoding.DER)
    return _b64(hashlib.sha1(der).digest()), _b64(hashlib.sha256(der).digest())


def _aad_error(status: int, error: str, code: str, text: str) -> Response:
    return json_response({"error": error, "error_description": f"{code}: {text}",
                          "error_codes": [int(code[len("AADSTS"):])], "timestamp": "", "trace_id": "",
                          "correlation_id": ""}, status)


class Directory:
    """Tenants, app registrations (tenant, client id) -> their certificates, and issued tokens."""

    def __init__(self, tokens: TokenStore):
        self.tokens = tokens
        self.tenants: set[str] = set()
        self.apps: dict[tuple[str, str], dict[str, bytes]] = {}  # (tenant, client) -> thumbprint -> cert PEM
        self.secrets: dict[tuple[str, str], set[str]] = {}  # (tenant, client) -> its client secrets
        self.scopes: dict[str, str] = {}  # access token -> the scope it was issued for (its audience)

    def _issue(self, tenant: str, client: str, scope: str) -> dict[str, object]:
        pair = self.tokens.issue(f"{tenant}/{client}", client, scope)
        self.scopes[str(pair["access_token"])] = scope
        return pair

    def scope_of(self, access_token: str) -> str:
        """The scope an access token was issued for (``https://graph.microsoft.com/.default``, …); "" if unknown."""
        return self.scopes.get(access_token, "")

    def register(self, tenant_id: str, client_id: str, cert_pem: bytes) -> None:
        """Register an app in a tenant and upload a certificate (its public part) to it."""
        self.tenants.add(tenant_id)
        certs = self.apps.setdefault((tenant_id, client_id), {})
        for thumb in thumbprints(cert_pem):
            certs[thumb] = cert_pem

    def add_secret(self, tenant_id: str, client_id: str, secret: str) -> None:
        """Register the app (if new) and give it a client secret."""
        self.tenants.add(tenant_id)
        self.apps.setdefault((tenant_id, client_id), {})
        self.secrets.setdefault((tenant_id, client_id), set()).add(secret)

    @staticmethod
    def _basic(req: Request) -> tuple[str, str] | None:
        header = req.header("Authorization")
        if not header.lower().startswith("basic "):
            return None
        try:
            user, _, password = base64.b64decode(header[6:].strip()).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return unquote_plus(user), unquote_plus(password)

    def openid_configuration(self, req: Request) -> Response:
        tenant = req.params["tenant"]
        if tenant not in self.tenants:
            return _aad_error(400, "invalid_tenant", "AADSTS90002", f"Tenant '{tenant}' not found.")
        base = f"{req.base_url}/{tenant}"
        return json_response({
            "token_endpoint": f"{base}/oauth2/v2.0/token", "issuer": f"{base}/v2.0",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize", "jwks_uri": f"{base}/discovery/v2.0/keys",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt",
                                                      "client_secret_basic"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "subject_types_supported": ["pairwise"], "id_token_signing_alg_values_supported": ["RS256"],
            "tenant_region_scope": "EU", "cloud_instance_name": "microsoftonline.com"})

    def token(self, req: Request) -> Response:
        tenant = req.params["tenant"]
        form = req.form()
        if tenant not in self.tenants:
            return _aad_error(400, "invalid_request", "AADSTS90002", f"Tenant '{tenant}' not found.")
        if form.get("grant_type") != "client_credentials":
            return _aad_error(400, "unsupported_grant_type", "AADSTS70003",
                              f"The app requested an unsupported grant type '{form.get('grant_type')}'.")
        basic = self._basic(req)
        client = form.get("client_id") or (basic[0] if basic else "")
        certs = self.apps.get((tenant, client))
        if certs is None:
            return _aad_error(400, "unauthorized_client", "AADSTS700016", f"Application with identifier "
                              f"'{client}' was not found in the directory '{tenant}'.")
        secret = form.get("client_secret") or (basic[1] if basic and basic[0] == client else None)
        if secret is not None and not form.get("client_assertion"):
            if not any(hmac.compare_digest(secret.encode(), s.encode()) for s in self.secrets.get((tenant, client),
                                                                                                  ())):
                return _aad_error(401, "invalid_client", "AADSTS7000215", "Invalid client secret provided. Ensure "
                                  f"the secret being sent in the request is the client secret value, not the client "
                                  f"secret ID, for a secret added to app '{client}'.")
            scope = form.get("scope", "")
            if not scope.endswith("/.default"):
                return _aad_error(400, "invalid_scope", "AADSTS1002012", f"The provided value for scope {scope} "
                                  "is not valid. Client credential flows must have a scope value with /.default.")
            pair = self._issue(tenant, client, scope)
            return json_response({"token_type": "Bearer", "expires_in": pair["expires_in"],
                                  "ext_expires_in": pair["expires_in"], "access_token": pair["access_token"]})
        if form.get("client_assertion_type") != ASSERTION_TYPE or not form.get("client_assertion"):
            return _aad_error(401, "invalid_client", "AADSTS7000215", "Invalid client secret provided; "
                              "this app authenticates with a certificate (client_assertion).")
        scope = form.get("scope", "")
        if not scope.endswith("/.default"):
            return _aad_error(400, "invalid_scope", "AADSTS1002012", f"The provided value for scope {scope} "
                              "is not valid. Client credential flows must have a scope value with /.default.")
        assertion = form["client_assertion"]
        try:
            header = jwt.get_unverified_header(assertion)
        except jwt.PyJWTError:
            return _aad_error(401, "invalid_client", "AADSTS50027", "JWT token is invalid or malformed.")
        cert = certs.get(str(header.get("x5t#S256") or header.get("x5t") or "").rstrip("="))
        if cert is None:
            return _aad_error(401, "invalid_client", "AADSTS700027", "The certificate with identifier used to "
                              f"sign the client assertion is not registered on application {client}.")
        endpoint = f"{req.base_url}/{tenant}/oauth2/v2.0/token"
        public_key = x509.load_pem_x509_certificate(cert).public_key()
        try:
            claims = jwt.decode(assertion, public_key, algorithms=["RS256", "PS256"], audience=endpoint,
                                issuer=client, options={"require": ["exp", "aud", "iss", "sub"]})
        except jwt.ExpiredSignatureError:
            return _aad_error(401, "invalid_client", "AADSTS700024", "Client assertion is not within its valid "
                              "time range.")
        except jwt.PyJWTError as exc:
            return _aad_error(401, "invalid_client", "AADSTS700027", f"Client assertion failed signature "
                              f"validation ({type(exc).__name__}).")
        if claims.get("sub") != client:
            return _aad_error(401, "invalid_client", "AADSTS700021", "Client assertion subject is not the app.")
        pair = self._issue(tenant, client, scope)
        return json_response({"token_type": "Bearer", "expires_in": pair["expires_in"],
                              "ext_expires_in": pair["expires_in"], "access_token": pair["access_token"]})

    def principal(self, req: Request) -> tuple[str | None, str]:
        header = req.header("Authorization")
        if not header.startswith("Bearer "):
            return None, "missing"
        return self.tokens.check(header[len("Bearer "):].strip())
