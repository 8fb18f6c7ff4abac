"""The rotating Jira refresh token in Vault KV v2, next to the other Jira secrets (spec §2.2).

Path ``<mount>/<prefix>/jira`` (``secret/integrations/dev/jira`` locally), key ``refresh_token``:
the same key :mod:`resources.secrets` reads as ``JIRA_OAUTH_REFRESH_TOKEN``, so what the OAuth flow
stored bootstraps the first run and every rotation replaces it. Each ``put`` writes a new version of
the whole secret (the other keys as read) with check-and-set on the version ``get`` saw: if another
worker rotated the token in between, the write is refused instead of clobbering theirs, and this
run keeps its fresh access token while the stored token stays theirs; if only other keys changed
(an admin edited the client secret, say), the token is written again on top of their version.
Within one process a lock serialises refreshes; across processes check-and-set does.

Reads and writes go through :class:`resources.secrets.SecretStore` with the ``jira`` AppRole (else
``VAULT_TOKEN``): a token revoked by an operator or forgotten by a restarted Vault is answered with 403
long before its renewal is due, and the store logs in again once instead of failing every refresh after.

The token never reaches logs, exception messages or ``repr``; Vault errors are re-raised with a
message naming the path and the setting to fix.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Iterator, Mapping
from typing import Any

from resources.secrets import SecretStore

log = logging.getLogger(__name__)

TOKEN_KEY = "refresh_token"
# PROJECTX_ENV -> Vault prefix, as in resources/environment.py (local shares the dev path).
VAULT_PREFIXES = {"local": "integrations/dev"}


class VaultRefreshTokenStore:
    """One refresh token in one Vault KV v2 secret, written back with check-and-set.

    ``token``: a fixed Vault token (an operator's); None logs in with ``role``'s AppRole, else uses
    ``VAULT_TOKEN`` (:func:`resources.vault_auth.vault_client`), so a revoked token is replaced."""

    def __init__(self, addr: str, token: str | None, path: str, *, mount: str = "secret",
                 key: str = TOKEN_KEY, role: str = "jira"):
        self.addr, self.path, self.mount, self.key, self.role = addr, path, mount, key, role
        self._vault = SecretStore(path.rpartition("/")[0], vault_addr=addr, vault_token=token, kv_mount=mount,
                                  strict=False)
        self._version = 0  # 0: the secret does not exist yet (cas=0 creates it only if still absent)
        self._data: dict[str, Any] = {}
        self._lock = threading.RLock()
        self.conflicts = 0

    def _where(self) -> str:
        return f"{self.mount}/{self.path}"

    def _fail(self, action: str, exc: Exception) -> Exception:
        import hvac.exceptions

        if isinstance(exc, PermissionError | ValueError):
            return exc  # ours, already naming the fix (AppRole login refused, VAULT_TIMEOUT_SECONDS)
        if isinstance(exc, hvac.exceptions.Forbidden):
            return PermissionError(f"Vault denied {action} {self._where()} (after logging in again): the policy of "
                                   f"the {self.role} AppRole (resources/vault_policies/{self.role}.hcl) or of "
                                   "VAULT_TOKEN needs read and write (create/update) on that path")
        return ConnectionError(f"Vault failed {action} {self._where()} ({type(exc).__name__}): check VAULT_ADDR "
                               "and that the KV v2 mount exists (VAULT_KV_MOUNT)")

    def get(self) -> str | None:
        import hvac.exceptions

        with self._lock:
            try:
                secret = self._vault.read(self.role, lambda client: client.secrets.kv.v2.read_secret_version(
                    path=self.path, mount_point=self.mount, raise_on_deleted_version=False))
            except hvac.exceptions.InvalidPath:
                self._version, self._data = 0, {}
                return None
            except Exception as exc:
                raise self._fail("reading", exc) from None
            body = secret.get("data") or {}
            self._data = dict(body.get("data") or {})
            self._version = int((body.get("metadata") or {}).get("version") or 0)
            value = self._data.get(self.key)
            return str(value) if value else None

    def put(self, token: str) -> None:
        """Write ``token`` as a new version if the secret is still the version ``get`` read."""
        import hvac.exceptions

        with self._lock:
            for _ in range(5):
                data = {**self._data, self.key: token}
                try:
                    written = self._write(data)
                except hvac.exceptions.InvalidRequest as exc:
                    if "check-and-set" not in str(exc):
                        raise self._fail("writing", exc) from None
                    read_before = self._data.get(self.key)
                    if self.get() != read_before:
                        self.conflicts += 1
                        log.warning("Jira: another worker rotated the refresh token at Vault %s while we "
                                    "refreshed; keeping theirs (this run goes on with its access token)",
                                    self._where())
                        return
                    continue  # only other keys changed: write the token on top of their version
                except Exception as exc:
                    raise self._fail("writing", exc) from None
                self._data = data
                self._version = int(((written or {}).get("data") or {}).get("version") or self._version + 1)
                return
            raise ConnectionError(f"Vault {self._where()} kept changing while we wrote the rotated Jira refresh "
                                  "token; retry the sync")

    def _write(self, data: dict[str, Any]) -> Any:
        """One check-and-set write of ``data`` on the version last read."""
        cas = self._version
        return self._vault.write(self.role, lambda client: client.secrets.kv.v2.create_or_update_secret(
            path=self.path, secret=data, cas=cas, mount_point=self.mount))

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        with self._lock:
            yield

    def __repr__(self) -> str:
        return f"VaultRefreshTokenStore({self._where()!r}, key={self.key!r})"


def vault_token_store(environ: Mapping[str, str] | None = None,
                      environment: str | None = None) -> VaultRefreshTokenStore | None:
    """The Vault store of this environment when ``VAULT_ADDR`` is set, else None. From the process
    environment it logs in with the jira AppRole when one is configured (else ``VAULT_TOKEN``); from
    a given ``environ`` it uses that mapping's ``VAULT_TOKEN``."""
    env = os.environ if environ is None else environ
    addr = (env.get("VAULT_ADDR") or "").strip()
    if not addr:
        return None
    name = (environment or env.get("PROJECTX_ENV") or "").strip().lower() or "local"  # as environment.env_name
    prefix = VAULT_PREFIXES.get(name, f"integrations/{name}")
    return VaultRefreshTokenStore(addr, None if environ is None else env.get("VAULT_TOKEN"), f"{prefix}/jira",
                                  mount=env.get("VAULT_KV_MOUNT") or "secret")
