"""Vault clients that log in with AppRole and renew their short-lived tokens (spec §3.1).

Each connector logs in with its own AppRole (``VAULT_<CONNECTOR>_ROLE_ID`` / ``_SECRET_ID``, else the
worker's ``VAULT_ROLE_ID`` / ``VAULT_SECRET_ID``), so its token carries only that connector's policy
(``resources/vault_policies/<connector>.hcl``). ``VAULT_TOKEN`` still works (local use, operators).
Tokens are renewed once half their TTL has passed, and a fresh login replaces one that can no longer
be renewed. Nothing here logs or raises a token, a role id or a secret id.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

_SESSIONS: dict[tuple[str, str], VaultLogin] = {}
_LOCK = threading.Lock()


def approle_credentials(role: str | None) -> tuple[str, str] | None:
    """(role_id, secret_id) for a connector's AppRole from the environment, or None."""
    for prefix in ([f"VAULT_{role.upper()}_"] if role else []) + ["VAULT_"]:
        role_id, secret_id = os.environ.get(prefix + "ROLE_ID"), os.environ.get(prefix + "SECRET_ID")
        if role_id and secret_id:
            return role_id, secret_id
    return None


class VaultLogin:
    """One AppRole login: a client whose token is renewed (or re-issued) before it lapses."""

    def __init__(self, addr: str, role_id: str, secret_id: str, *, role: str = "",
                 clock: Callable[[], float] = time.monotonic):
        self.addr, self.role = addr, role
        self._creds = (role_id, secret_id)
        self._clock = clock
        self._client = None
        self._issued_at = self._ttl = 0.0
        self.renewals = self.logins = 0

    def _login(self):
        import hvac
        import hvac.exceptions

        client = hvac.Client(url=self.addr, timeout=vault_timeout())
        try:
            auth = retrying(lambda: client.auth.approle.login(role_id=self._creds[0],
                                                              secret_id=self._creds[1]))["auth"]
        except (hvac.exceptions.RateLimitExceeded, hvac.exceptions.VaultDown) as exc:
            limited = isinstance(exc, hvac.exceptions.RateLimitExceeded)
            raise ConnectionError(
                f"Vault at VAULT_ADDR answered the AppRole login "
                f"{'429 (rate-limited)' if limited else '503 (sealed, or a standby)'}, still after "
                f"{len(RETRY_WAITS) + 1} attempts: unseal it or raise its rate-limit quota; the credentials were "
                "not refused") from None
        except hvac.exceptions.VaultError as exc:
            who = f"VAULT_{self.role.upper()}_ROLE_ID/SECRET_ID or " if self.role else ""
            raise PermissionError(
                f"Vault refused the AppRole login ({type(exc).__name__}): check {who}VAULT_ROLE_ID / "
                "VAULT_SECRET_ID and that the role exists (python -m cli vault setup)") from None
        self._client, self._ttl, self._issued_at = client, float(auth["lease_duration"]), self._clock()
        self.logins += 1
        return client

    def client(self):
        """A client with a valid token: renewed past half its TTL, re-logged-in if renewal fails."""
        if self._client is None:
            return self._login()
        age = self._clock() - self._issued_at
        if self._ttl and age >= self._ttl * 0.5:
            try:
                auth = self._client.auth.token.renew_self()["auth"]
                self._ttl, self._issued_at = float(auth["lease_duration"]), self._clock()
                self.renewals += 1
                if self._ttl < 5:  # at its max TTL: renewal gives almost nothing, log in again
                    return self._login()
            except Exception:
                return self._login()
        return self._client


# Waits before asking Vault again after a 429 (a rate-limit quota) or a 503 (sealed, a standby, a leader
# election): five attempts within about 4 s, then the caller names the cause.
RETRY_WAITS = (0.25, 0.5, 1.0, 2.0)


def retrying(request: Callable[[], T], sleep: Callable[[float], None] = time.sleep) -> T:
    """``request()``, asked again after Vault answers 429 or 503 (Vault refuses such a request before
    acting on it, so a write is not applied twice)."""
    import hvac.exceptions

    for wait in (*RETRY_WAITS, None):
        try:
            return request()
        except (hvac.exceptions.RateLimitExceeded, hvac.exceptions.VaultDown):
            if wait is None:
                raise
            sleep(wait)
    raise AssertionError("unreachable")


def vault_timeout() -> float:
    """Seconds one Vault request may take (``VAULT_TIMEOUT_SECONDS``, default 5; hvac's own is 30), so a
    Vault that accepts connections and never answers stalls a flag read or the health page that long only."""
    raw = os.environ.get("VAULT_TIMEOUT_SECONDS", "").strip()
    try:
        value = float(raw) if raw else 5.0
    except ValueError:
        value = -1.0
    if not 0 < value <= 300:
        raise ValueError(f"VAULT_TIMEOUT_SECONDS={raw!r}: use a number of seconds above 0 (default 5)")
    return value


def forget_login(addr: str | None, role: str | None) -> bool:
    """Forget the cached login of ``role``'s AppRole so the next :func:`vault_client` logs in afresh (its
    token was revoked, or Vault restarted); False when that role does not log in by AppRole."""
    creds = approle_credentials(role)
    if creds is None or addr is None:
        return False
    with _LOCK:
        return _SESSIONS.pop((addr, creds[0]), None) is not None


def vault_client(addr: str, role: str | None = None, token: str | None = None, *, strict: bool = False):
    """A logged-in hvac client: AppRole for ``role`` when configured, else ``token`` / VAULT_TOKEN.

    ``strict`` (stg/prod): with neither, no token is sent and the error names the variables; hvac would
    otherwise take ``~/.vault-token``, whatever an operator last logged in with on that host (often a root
    or admin token), and read every connector's secrets with it."""
    creds = approle_credentials(role)
    if creds is None:
        import hvac

        token = token if token is not None else (os.environ.get("VAULT_TOKEN") or "").strip()
        if strict and not token:
            who = f"VAULT_{role.upper()}_ROLE_ID / VAULT_{role.upper()}_SECRET_ID (or " if role else "("
            raise PermissionError(
                f"no Vault credentials for {role or 'this worker'}: set {who}VAULT_ROLE_ID / VAULT_SECRET_ID), "
                "from python -m cli vault setup --out; stg/prod do not use a token left in ~/.vault-token")
        return hvac.Client(url=addr, token=token or None, timeout=vault_timeout())
    key = (addr, creds[0])
    with _LOCK:
        login = _SESSIONS.get(key)
        if login is None:
            login = _SESSIONS[key] = VaultLogin(addr, *creds, role=role or "")
        return login.client()
