"""Jira authentication: OAuth 2.0 (3LO) with rotating refresh tokens, or a PAT / API token fallback.

OAuth (``JIRA_AUTH_MODE=oauth``, the default): an access token comes from the refresh-token grant at
``{JIRA_AUTH_URL}/oauth/token``; Atlassian answers with a new refresh token each time and spends the
old one, so the new one is written to the :mod:`~pipelines.jira.tokens` store before anything else
happens, under the store's lock. The store's token wins over the bootstrap token
(``JIRA_OAUTH_REFRESH_TOKEN``); the bootstrap one is tried only when the store is empty or its token
is refused (someone re-ran the OAuth flow). The site is then found through
``/oauth/token/accessible-resources`` and the API is called as ``{gateway}/ex/jira/{cloudId}``.

PAT (``JIRA_AUTH_MODE=pat``): ``JIRA_PAT`` as a Bearer token (Data Center PATs), else
``JIRA_USER_EMAIL`` + ``JIRA_API_TOKEN`` as Basic (Jira Cloud API tokens), against ``JIRA_BASE_URL``.
Jira Cloud takes no token as Bearer: a token there goes with the account's e-mail as Basic. So with
``JIRA_BASE_URL`` on a Cloud host (``*.atlassian.net``, ``*.jira.com``, the ``api.atlassian.com`` gateway)
``JIRA_PAT`` with ``JIRA_USER_EMAIL`` (the spec's PAT mode: "provide JIRA_PAT and JIRA_USER_EMAIL") is sent
as Basic, the token being the Atlassian API token a Cloud user creates (``JIRA_API_TOKEN`` wins when both
are set); without an e-mail the client is not built and the error names the fix, before any request (Jira
would answer every call 401 and the run would only say the credentials were refused). Other hosts (Data
Center, a proxy, the sandbox) keep ``JIRA_PAT`` as Bearer.

No secret appears in logs or exception messages.
"""

from __future__ import annotations

import base64
import contextlib
import logging
from urllib.parse import urlsplit

from pipelines.common.bearer import CachedBearerToken, token_answer_shape, token_lifetime
from pipelines.common.entrypoint import remember_secret
from pipelines.common.http import RetryPolicy, VendorAuthError, VendorError, VendorSession
from pipelines.jira.settings import (
    GATEWAY_API_BASE,
    OAUTH_HINT,
    PAT_HINT,
    RESOURCES_PATH,
    TOKEN_EXPIRY_MARGIN_SECONDS,
    TOKEN_PATH,
)
from pipelines.jira.tokens import RefreshTokenStore

log = logging.getLogger(__name__)

REFRESH_REFUSED = (
    "Jira refused the refresh token ({why}): re-run the OAuth flow (Project X admin UI, Integrations, "
    "Jira, Authorize) or set JIRA_OAUTH_REFRESH_TOKEN to a fresh token; the rotated token is kept in {store}"
)


class StaticAuth:
    """A fixed Authorization header (PAT or API token); nothing to refresh."""

    refreshable = False  # VendorSession says so on a 401 instead of "refreshing the token"

    def __init__(self, header: str):
        self._header = header

    def auth_header(self) -> dict[str, str]:
        return {"Authorization": self._header}

    def invalidate(self, refused: dict[str, str] | None = None) -> None:
        """A fixed credential cannot be renewed; VendorSession raises after the second refusal."""

    def __repr__(self) -> str:
        return "StaticAuth(***)"


CLOUD_PAT_REFUSED = (
    "JIRA_BASE_URL is a Jira Cloud site ({host}), and Jira Cloud takes a token only with the account's e-mail "
    "(Basic; a Bearer personal access token is for Jira Data Center/Server): set JIRA_USER_EMAIL to the "
    "e-mail of the account whose API token JIRA_PAT (or JIRA_API_TOKEN) holds, with JIRA_AUTH_MODE=pat, or use "
    "JIRA_AUTH_MODE=oauth with JIRA_OAUTH_CLIENT_ID and JIRA_OAUTH_CLIENT_SECRET"
)


def cloud_host(base_url: str | None) -> str | None:
    """The host of ``base_url`` when it is clearly Jira Cloud (``*.atlassian.net``, ``*.jira.com``, the
    ``api.atlassian.com`` gateway), else None."""
    host = (urlsplit(base_url or "").hostname or "").rstrip(".").lower()
    return host if host.endswith((".atlassian.net", ".jira.com")) or host == "api.atlassian.com" else None


def pat_auth(pat: str | None = None, user_email: str | None = None, api_token: str | None = None, *,
             base_url: str | None = None) -> StaticAuth:
    """Bearer for a PAT, Basic for email + API token. On a Jira Cloud ``base_url`` a PAT goes with the e-mail
    as Basic (an API token by another name); without one it is a configuration error
    (:data:`CLOUD_PAT_REFUSED`), raised before any request."""
    if pat:
        host = cloud_host(base_url)
        if host and not user_email:
            raise VendorAuthError(CLOUD_PAT_REFUSED.format(host=host))
        if not host:
            return StaticAuth(f"Bearer {pat}")
        api_token = api_token or pat
    if user_email and api_token:
        pair = base64.b64encode(f"{user_email}:{api_token}".encode()).decode("ascii")
        return StaticAuth(f"Basic {pair}")
    raise VendorAuthError(f"JIRA_AUTH_MODE=pat needs credentials: set {PAT_HINT}")


class JiraOAuth(CachedBearerToken):
    """Bearer access tokens from the refresh-token grant, rotating the stored refresh token."""

    def __init__(self, client_id: str | None, client_secret: str | None, store: RefreshTokenStore, *,
                 bootstrap_token: str | None = None, auth_url: str, verify: bool | str = True,
                 policy: RetryPolicy | None = None):
        super().__init__(TOKEN_EXPIRY_MARGIN_SECONDS)
        if not client_id or not client_secret:
            raise VendorAuthError(
                "Jira OAuth client is not configured: set JIRA_OAUTH_CLIENT_ID and JIRA_OAUTH_CLIENT_SECRET "
                "(or the Vault path integrations/<env>/jira), or use JIRA_AUTH_MODE=pat"
            )
        self._client = (client_id, client_secret)
        self._store = store
        self._bootstrap = bootstrap_token
        # Retries 5xx/429 on the token call: Atlassian accepts a just-spent token for 10 minutes,
        # so repeating a refresh whose answer was lost does not revoke the grant.
        self._http = VendorSession("Jira OAuth", auth_url, None, policy=policy, verify=verify)
        self.refreshes = 0

    def _fetch(self) -> None:
        lock = getattr(self._store, "lock", None)
        with lock() if lock else contextlib.nullcontext():
            stored = self._store.get()  # read under the lock: another process may have rotated it
            candidates = [t for t in dict.fromkeys([stored, self._bootstrap]) if t]
            if not candidates:
                raise VendorAuthError(
                    "No Jira refresh token: run the OAuth flow and set JIRA_OAUTH_REFRESH_TOKEN (it is then "
                    f"rotated and kept in {self._store!r})"
                )
            why = ""
            for token in candidates:
                body = self._grant(token)
                if isinstance(body, str):
                    why = body
                    continue
                self._accept(body, token)
                return
        raise VendorAuthError(REFRESH_REFUSED.format(why=why, store=repr(self._store)))

    def _grant(self, refresh_token: str) -> dict | str:
        """The token response, or why the grant was refused (never the token itself)."""
        client_id, client_secret = self._client
        remember_secret(refresh_token)  # from the token store, not the environment: masked all the same
        try:
            response = self._http.request("POST", TOKEN_PATH, json={
                "grant_type": "refresh_token", "client_id": client_id, "client_secret": client_secret,
                "refresh_token": refresh_token,
            }, headers={"Content-Type": "application/json"})
        except VendorError as exc:
            # Atlassian answers a bad refresh token with 403 (sometimes 401) "invalid_grant"; a bad
            # client with 401 "access_denied"/"invalid_client".
            invalid_grant = "invalid_grant" in str(exc)
            if invalid_grant or exc.status in (400, 403):
                return f"HTTP {exc.status}" + (" invalid_grant" if invalid_grant else "")
            if exc.status == 401:
                raise VendorAuthError(
                    f"Jira refused the OAuth client (401): check {OAUTH_HINT}", exc.status) from None
            raise VendorAuthError(f"Jira token endpoint failed ({exc}): check JIRA_AUTH_URL", exc.status) from None
        try:
            body = response.json()
        except ValueError:  # a proxy's login page with 200: a bare "Expecting value" named nothing to check
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("access_token"), str) or not body["access_token"]:
            # Not a refusal of the token (which is not spent): "re-run the OAuth flow" would send the admin the
            # wrong way. Name what came back and the setting instead.
            shape = token_answer_shape(response.content, response.headers.get("Content-Type"))
            raise VendorAuthError(
                f"Jira's token endpoint answered {response.status_code} without an access_token ({shape}): check "
                "JIRA_AUTH_URL points at Atlassian's "
                "token endpoint (https://auth.atlassian.com), not a proxy or login page", response.status_code)
        return body

    def _accept(self, body: dict, used: str) -> None:
        new_refresh = body.get("refresh_token")
        remember_secret(new_refresh)
        if new_refresh:
            self._store.put(new_refresh)  # persist before use: the old token is spent now
        else:
            log.warning("Jira returned no refresh token (the app lacks the offline_access scope); "
                        "the next run will need a new JIRA_OAUTH_REFRESH_TOKEN")
        if used == self._bootstrap and used != new_refresh:
            self._bootstrap = None  # spent; never offer it again in this process
        self._keep(body["access_token"], token_lifetime(body.get("expires_in"), 3600.0))
        self.refreshes += 1
        log.info("Jira: OAuth access token refreshed (refresh token rotated)")

    def __repr__(self) -> str:
        return f"JiraOAuth(store={self._store!r})"


def gateway_base(gateway_url: str, oauth: JiraOAuth, site_url: str | None, *, verify: bool | str = True,
                 policy: RetryPolicy | None = None) -> str:
    """``{gateway}/ex/jira/{cloudId}`` for the site this token can reach (matched on ``site_url``)."""
    session = VendorSession("Jira", gateway_url, oauth, policy=policy, verify=verify, config_hint=OAUTH_HINT)
    try:
        sites = session.get_json(RESOURCES_PATH)
    finally:
        session.close()
    if not isinstance(sites, list) or not sites:
        raise VendorAuthError(f"The Jira OAuth grant reaches no Jira site: check {OAUTH_HINT}")
    wanted = (site_url or "").rstrip("/").lower()
    match = [s for s in sites if str(s.get("url", "")).rstrip("/").lower() == wanted]
    if not match and len(sites) > 1:
        names = ", ".join(str(s.get("url")) for s in sites)
        raise VendorAuthError(f"The OAuth grant reaches several Jira sites ({names}): set JIRA_BASE_URL to one")
    site = (match or sites)[0]
    return GATEWAY_API_BASE.format(gateway=gateway_url.rstrip("/"), cloud_id=site["id"])
