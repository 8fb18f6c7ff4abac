"""ServiceNow OAuth: client credentials first, the password grant as the bootstrap fallback.

Tokens are cached until shortly before ``expires_in``; a refresh token (password grant) is used
when we have one. Nothing here logs or raises with a secret in it.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import requests

from pipelines.common import pages
from pipelines.common.bearer import CachedBearerToken, token_answer_shape, token_lifetime
from pipelines.common.http import RETRYABLE_STATUSES, VendorAuthError, retry_after_seconds
from pipelines.servicenow.settings import CONFIG_HINT, TOKEN_EXPIRY_MARGIN_SECONDS, TOKEN_PATH

MAX_TOKEN_WAIT_SECONDS = 30.0  # the longest one wait between token requests (network error or Retry-After)

log = logging.getLogger(__name__)


class ServiceNowOAuth(CachedBearerToken):
    """Bearer tokens from ``/oauth_token.do``."""

    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: str,
        username: str | None = None,
        password: str | None = None,
        *,
        verify: bool | str = True,
        timeout: float = 30.0,
        attempts: int = 5,
        backoff_seconds: float = 0.5,
    ):
        super().__init__(TOKEN_EXPIRY_MARGIN_SECONDS)
        if not client_id or not client_secret:
            raise VendorAuthError(
                "ServiceNow OAuth client is not configured: set SERVICENOW_OAUTH_CLIENT_ID and "
                "SERVICENOW_OAUTH_CLIENT_SECRET (or the Vault path integrations/<env>/servicenow)"
            )
        self._token_url = base_url.rstrip("/") + "/" + TOKEN_PATH
        self._client = (client_id, client_secret)
        self._user = (username, password) if username and password else None
        self._verify = verify
        self._timeout = timeout
        self._attempts = attempts
        self._backoff = backoff_seconds
        self._refresh: str | None = None
        self.grant_used: str | None = None

    def _fetch(self) -> None:
        if self._refresh and self._try({"grant_type": "refresh_token", "refresh_token": self._refresh}):
            return
        if self._try({"grant_type": "client_credentials"}):
            return
        if self._user is not None:
            log.info("ServiceNow: client_credentials grant refused, falling back to the password grant")
            username, password = self._user
            if self._try({"grant_type": "password", "username": username, "password": password}):
                return
        raise VendorAuthError(f"ServiceNow refused every OAuth grant we tried: check {CONFIG_HINT}")

    def _post(self, data: dict[str, str]) -> requests.Response:
        """POST to the token endpoint; 5xx, 429 and network errors are retried like any call."""
        for attempt in range(1, self._attempts + 1):
            try:
                response = requests.post(self._token_url, data=data, headers={"Accept": "application/json"},
                                         verify=self._verify, timeout=self._timeout)
            except requests.RequestException as exc:
                if attempt == self._attempts:
                    raise VendorAuthError(
                        f"ServiceNow token endpoint unreachable ({type(exc).__name__}): check SERVICENOW_BASE_URL"
                    ) from None
                time.sleep(min(MAX_TOKEN_WAIT_SECONDS, self._backoff * 2 ** (attempt - 1)))
                continue
            retryable = response.status_code in RETRYABLE_STATUSES or response.status_code == 429
            # A 200 without a token (a proxy's login page, a body cut off) is retried like a 5xx: it raised a
            # bare "Expecting value: line 1 column 1" at once, naming nothing to check.
            retryable = retryable or (response.status_code == 200 and _token_body(response) is None)
            if retryable and attempt < self._attempts:
                # Retry-After as the vendor sends it (seconds or an HTTP-date; anything else, such as "²",
                # the backoff), capped like a network error's wait: a token is never worth an hour's sleep.
                backoff = self._backoff * 2 ** (attempt - 1)
                time.sleep(min(MAX_TOKEN_WAIT_SECONDS, retry_after_seconds(response, backoff)))
                continue
            return response
        raise AssertionError("unreachable")

    def _try(self, form: dict[str, str]) -> bool:
        client_id, client_secret = self._client
        response = self._post({**form, "client_id": client_id, "client_secret": client_secret})
        if response.status_code != 200:
            log.info("ServiceNow: %s grant answered %s", form["grant_type"], response.status_code)
            if form["grant_type"] == "refresh_token":
                self._refresh = None
            return False
        body = _token_body(response)
        if body is None:
            shape = token_answer_shape(response.content, response.headers.get("Content-Type"))
            raise VendorAuthError(
                f"ServiceNow answered {TOKEN_PATH} with 200 but no access_token ({shape}) on all {self._attempts} "
                "attempts: check SERVICENOW_BASE_URL points at "
                "the instance, not a proxy or login page")
        self._keep(body["access_token"], token_lifetime(body.get("expires_in"), 1800.0))
        self._refresh = body.get("refresh_token") or self._refresh
        self.grant_used = form["grant_type"]
        return True


def _token_body(response: requests.Response) -> dict[str, Any] | None:
    """The token answer as a JSON object holding a non-empty ``access_token`` text, else None."""
    try:
        body = pages.loads(response.content)
    except ValueError:
        return None
    token = body.get("access_token") if isinstance(body, dict) else None
    return body if isinstance(token, str) and token and pages.text_problem(token) is None else None

