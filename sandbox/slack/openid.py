"""Sign in with Slack (OpenID Connect), as slack_sdk's `OpenIDConnectAuthorizeUrlGenerator` and
`WebClient.openid_connect_token` / `openid_connect_userInfo` use it.

- `GET /openid/connect/authorize?response_type=code&scope=openid,email,profile&client_id&state&nonce&team
  &redirect_uri`: the consent page (`authorization_url=sb.url + "/openid/connect/authorize"`), then a 302 to
  `redirect_uri?code=…&state=…` (`error=access_denied` on Cancel). As the install flow (`sandbox.slack.oauth`):
  `&_sandbox_user=<handle, e-mail or id>` approves at once, `&_sandbox_deny=1` cancels; a wrong client_id, an
  unregistered redirect_uri, a response_type other than `code` or scopes without `openid` / beyond
  openid, email, profile is Slack's HTML error page (HTTP 400 [unc: status and wording]).
- `openid.connect.token` (client credentials, as oauth.v2.access): the code (once, 10 minutes [unc]) for
  `{access_token: xoxp-…, token_type: "Bearer", id_token}` (with token rotation on: `refresh_token`,
  `expires_in`; a refresh_token grant answers a new pair without id_token [unc]); invalid_code,
  bad_redirect_uri, invalid_client_id, bad_client_secret. The `id_token` is a JWT signed RS256 with the key
  published at `GET /openid/connect/keys` (Slack's https://slack.com/openid/connect/keys), `iss`
  https://slack.com, `aud` the client id, `nonce` as asked, Slack's `https://slack.com/…` claims.
- `openid.connect.userInfo` with that token: the same claims (`ok`, `sub`, `https://slack.com/user_id`,
  `https://slack.com/team_id`, email ones with the `email` scope, name / picture / locale with `profile`);
  another token type answers not_allowed_token_type, a user token without `openid` missing_scope [unc].
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from typing import TYPE_CHECKING, Any

from sandbox.core.http import Request, Response, json_response
from sandbox.slack.interactivity import person
from sandbox.slack.oauth import CODE_TTL
from sandbox.slack.oauth_pages import consent_page, error_page, redirect, scopes_of
from sandbox.slack.webapi import SlackError

if TYPE_CHECKING:
    from sandbox.slack.app import SlackSandbox

OIDC_SCOPES = ("openid", "email", "profile")
ISSUER = "https://slack.com"


class OpenIdConnect:
    def __init__(self, sb: SlackSandbox) -> None:
        self.sb = sb
        self._lock = threading.Lock()
        self._codes: dict[str, dict[str, Any]] = {}
        self._key: Any = None
        self.kid = hashlib.sha256(f"oidc:{sb.workspace.team_id}".encode()).hexdigest()[:16]
        self.methods = {"openid.connect.token": self.token, "openid.connect.userInfo": self.user_info}

    def _private_key(self) -> Any:
        from cryptography.hazmat.primitives.asymmetric import rsa

        with self._lock:
            if self._key is None:
                self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            return self._key

    def keys(self, req: Request) -> Response:
        """The JWKS the id_token's signature checks against."""
        numbers = self._private_key().public_key().public_numbers()

        def b64(n: int) -> str:
            return base64.urlsafe_b64encode(n.to_bytes((n.bit_length() + 7) // 8, "big")).rstrip(b"=").decode()

        return json_response({"keys": [{"e": b64(numbers.e), "n": b64(numbers.n), "kty": "RSA", "kid": self.kid,
                                        "alg": "RS256", "use": "sig"}]})

    def authorize(self, req: Request) -> Response:
        oauth = self.sb.oauth
        q = req.form() if req.method == "POST" else req.query
        if (refused := oauth.client_refusal(q)) is not None:
            return refused
        redirect_uri = q.get("redirect_uri") or ""
        if q.get("response_type") != "code":
            return error_page("Invalid response_type parameter: only code is supported", 400)  # [unc] wording
        scopes = scopes_of(q.get("scope"))
        if "openid" not in scopes or set(scopes) - set(OIDC_SCOPES):
            return error_page("Invalid permissions requested: Sign in with Slack takes openid, email, profile", 400)
        target, state = redirect_uri or oauth.redirect_urls[0], q.get("state", "")
        if q.get("_sandbox_deny") or q.get("decision") == "deny":
            return redirect(target, {"error": "access_denied", "state": state})
        who_ref = q.get("_sandbox_user") or q.get("user")
        if not who_ref:
            page = consent_page(q, (), scopes, self.sb)
            return Response(status=200, body=page.body.replace(b'action="/oauth/v2/authorize"',
                                                               b'action="/openid/connect/authorize"'),
                            content_type="text/html; charset=utf-8")
        try:
            who = person(self.sb, who_ref, LookupError, "sign in")
        except LookupError as exc:
            return error_page(str(exc), 400)
        code = f"{secrets.randbelow(10**12)}.{secrets.randbelow(10**13)}.{secrets.token_hex(32)}"
        with self._lock:
            self._codes[code] = {"user": who["id"], "scopes": scopes, "redirect_uri": redirect_uri,
                                 "nonce": q.get("nonce"), "at": oauth.now(), "used": False}
        return redirect(target, {"code": code, "state": state})

    def _claims(self, uid: str, scopes: tuple[str, ...]) -> dict[str, Any]:
        ws, user = self.sb.workspace, self.sb.workspace.users[uid]
        profile = user["profile"]
        claims: dict[str, Any] = {"sub": uid, "https://slack.com/user_id": uid, "https://slack.com/team_id": ws.team_id}
        if "email" in scopes and profile.get("email"):
            claims.update(email=profile["email"], email_verified=True, date_email_verified=1_700_000_000)
        if "profile" in scopes:
            claims.update({"name": user["real_name"], "picture": profile.get("image_512", ""),
                           "given_name": profile.get("first_name", ""), "family_name": profile.get("last_name", ""),
                           "locale": "en-US", "https://slack.com/team_name": ws.team,
                           "https://slack.com/team_domain": ws.domain})
            claims.update({f"https://slack.com/user_image_{n}": profile[f"image_{n}"]
                           for n in (24, 32, 48, 72, 192, 512) if profile.get(f"image_{n}")})
        return claims

    def token(self, args: dict[str, Any]) -> dict[str, Any]:
        oauth = self.sb.oauth
        oauth._client(args)
        if args.get("grant_type") == "refresh_token":
            return {k: v for k, v in oauth._refreshed(args).items() if k in ("access_token", "refresh_token",
                                                                              "expires_in")} | {"token_type": "Bearer"}
        code = str(args.get("code") or "")
        with self._lock:
            grant = self._codes.get(code)
            if grant is None or grant["used"] or oauth.now() - grant["at"] > CODE_TTL:
                raise SlackError("invalid_code")
            if grant["redirect_uri"] and args.get("redirect_uri") != grant["redirect_uri"]:
                raise SlackError("bad_redirect_uri")
            grant["used"] = True
        issued = oauth._new_token("user", grant["scopes"], grant["user"], oauth.token_rotation)
        import jwt

        now = int(time.time())
        digest = hashlib.sha256(issued.token.encode()).digest()
        claims = {"iss": ISSUER, "aud": oauth.client_id, "exp": now + 300, "iat": now, "auth_time": now,
                  "at_hash": base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode(),
                  **({"nonce": grant["nonce"]} if grant["nonce"] else {}), **self._claims(grant["user"],
                                                                                          grant["scopes"])}
        id_token = jwt.encode(claims, self._private_key(), algorithm="RS256", headers={"kid": self.kid})
        return {"access_token": issued.token, "token_type": "Bearer", "id_token": id_token,
                **oauth._rotation(issued)}

    def user_info(self, args: dict[str, Any]) -> dict[str, Any]:
        caller = self.sb.caller()
        if caller is None or caller.kind != "user":
            raise SlackError("not_allowed_token_type")
        if "openid" not in caller.scopes:
            raise SlackError("missing_scope", needed="openid", provided=",".join(caller.scopes))
        return self._claims(caller.user_id, caller.scopes)
