"""OAuth-style bearer tokens issued by an emulator: lifetime, refresh, revocation.

Vendor-neutral: ServiceNow's `/oauth_token.do` uses it now; Jira/OneTrust/Slack emulators can reuse it.
Expiry uses the real wall clock (`time.time()`), because clients compute expiry from `expires_in`.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass


@dataclass
class Grant:
    """One issued access token and what it stands for."""

    principal: str
    client_id: str
    scope: str
    expires_at: float
    revoked: bool = False


class TokenStore:
    """Issues opaque access/refresh tokens and checks them.

    `check()` answers "ok", "expired", "revoked" or "unknown" so handlers can log why a call was refused.
    """

    def __init__(self, ttl_seconds: int = 1800, refresh_ttl_seconds: int = 8_640_000) -> None:
        self.ttl_seconds = ttl_seconds
        self.refresh_ttl_seconds = refresh_ttl_seconds
        self._lock = threading.Lock()
        self._access: dict[str, Grant] = {}
        self._refresh: dict[str, Grant] = {}

    def issue(self, principal: str, client_id: str, scope: str = "useraccount") -> dict[str, object]:
        """New token pair; returns the OAuth token response fields."""
        now = time.time()
        access = secrets.token_urlsafe(48)
        refresh = secrets.token_urlsafe(48)
        with self._lock:
            self._access[access] = Grant(principal, client_id, scope, now + self.ttl_seconds)
            self._refresh[refresh] = Grant(principal, client_id, scope, now + self.refresh_ttl_seconds)
        return {
            "access_token": access,
            "refresh_token": refresh,
            "scope": scope,
            "token_type": "Bearer",
            "expires_in": int(self.ttl_seconds),
        }

    def check(self, access_token: str) -> tuple[str | None, str]:
        """(principal, "ok") for a live token, else (None, reason)."""
        with self._lock:
            grant = self._access.get(access_token)
        if grant is None:
            return None, "unknown"
        if grant.revoked:
            return None, "revoked"
        if time.time() >= grant.expires_at:
            return None, "expired"
        return grant.principal, "ok"

    def refresh(self, refresh_token: str, client_id: str) -> dict[str, object] | None:
        """Exchange a live refresh token (of the same client) for a new pair; None if refused."""
        with self._lock:
            grant = self._refresh.get(refresh_token)
        if grant is None or grant.revoked or grant.client_id != client_id or time.time() >= grant.expires_at:
            return None
        return self.issue(grant.principal, client_id, grant.scope)

    def revoke_all(self) -> None:
        """Revoke every access and refresh token issued so far."""
        with self._lock:
            for grant in (*self._access.values(), *self._refresh.values()):
                grant.revoked = True

    def expire_all(self) -> None:
        """Make every access token issued so far expire now (refresh tokens stay usable)."""
        now = time.time()
        with self._lock:
            for grant in self._access.values():
                grant.expires_at = min(grant.expires_at, now)

    def clear(self) -> None:
        with self._lock:
            self._access.clear()
            self._refresh.clear()
