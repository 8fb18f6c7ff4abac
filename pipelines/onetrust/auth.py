"""OneTrust credentials as :class:`pipelines.common.http.TokenProvider` s.

- :class:`StaticToken`: ``ONETRUST_API_TOKEN``, an OAuth API key sent as ``Authorization: Bearer``
  (vendor-apis §3.2). It cannot be refreshed; a refusal becomes a :class:`VendorAuthError` naming it.
- :class:`ClientCredentials`: ``ONETRUST_CLIENT_ID`` / ``ONETRUST_CLIENT_SECRET`` exchanged at
  ``POST /api/access/v1/oauth/token`` (grant ``client_credentials``, form-encoded). OneTrust issues no
  refresh token, so a token is re-requested shortly before ``expires_in`` and whenever the API says
  401/403 (``invalidate``). The token call goes through its own :class:`VendorSession`, so 5xx, 429
  and timeouts on it are retried like any other call. One provider may serve several clients (the
  resources of one source run): they then share its token and its renewals.

Nothing here logs or raises with a secret in it.
"""

from __future__ import annotations

from pipelines.common.bearer import CachedBearerToken, token_lifetime
from pipelines.common.http import VendorAuthError, VendorError, VendorSession
from pipelines.onetrust.settings import TOKEN_EXPIRY_MARGIN_SECONDS, TOKEN_PATH, VAULT_HINT


class StaticToken:
    """A long-lived OneTrust API key (valid up to a year); ``invalidate`` has nothing to renew."""

    refreshable = False  # VendorSession says so on a 401 instead of "refreshing the token"

    def __init__(self, token: str):
        if not token:
            raise VendorAuthError("ONETRUST_API_TOKEN is empty: set it or use ONETRUST_CLIENT_ID/SECRET")
        self._header = {"Authorization": f"Bearer {token}"}

    def auth_header(self) -> dict[str, str]:
        return dict(self._header)

    def invalidate(self, refused: dict[str, str] | None = None) -> None:
        """Nothing to do: the next refusal makes VendorSession raise an error naming the token."""


class ClientCredentials(CachedBearerToken):
    """Bearer tokens from OneTrust's OAuth client-credentials endpoint, cached until near expiry."""

    def __init__(self, token_session: VendorSession, client_id: str, client_secret: str):
        super().__init__(TOKEN_EXPIRY_MARGIN_SECONDS)
        if not client_id or not client_secret:
            raise VendorAuthError(
                "OneTrust credentials are not configured: set ONETRUST_API_TOKEN, or ONETRUST_CLIENT_ID "
                f"and ONETRUST_CLIENT_SECRET (or {VAULT_HINT})"
            )
        self.session = token_session
        self._form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": client_secret}

    def _fetch(self) -> None:
        try:
            response = self.session.request("POST", TOKEN_PATH, data=self._form)
        except VendorError as exc:
            if exc.status in (400, 401, 403):
                raise VendorAuthError(
                    f"OneTrust refused the client credentials ({exc.status}) at {TOKEN_PATH}: check "
                    f"ONETRUST_CLIENT_ID / ONETRUST_CLIENT_SECRET, that they belong to the host chosen by "
                    f"ONETRUST_REGION / ONETRUST_BASE_URL, and {VAULT_HINT}", exc.status,
                ) from None
            raise VendorAuthError(f"OneTrust token request failed: {exc}", exc.status) from None
        finally:
            # A token lasts an hour and may serve many clients (a source's resources share one): keep
            # no connection open for the next one. The session reconnects when it is asked again.
            self.session.close()
        try:
            body = response.json()
            access = body["access_token"]
        except (ValueError, KeyError, TypeError):
            raise VendorAuthError(
                f"OneTrust answered {TOKEN_PATH} without an access_token: check ONETRUST_BASE_URL points "
                "at the OneTrust tenant, not a proxy or login page"
            ) from None
        self._keep(access, token_lifetime(body.get("expires_in"), 3600.0))
