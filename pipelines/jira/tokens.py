"""Where the rotating Jira OAuth refresh token lives between runs: a small pluggable store.

Atlassian rotates refresh tokens: every refresh returns a new one and spends the old, and reusing a
spent token revokes the whole grant (a person must consent again). So the newest token must be
written *before* it is used, and two refreshers must never race. A store offers ``get()``/``put()``
and optionally ``lock()`` (a context manager held around read-refresh-write).

- :class:`FileRefreshTokenStore` (the default): one file per environment,
  ``$PROJECTX_DATA_DIR/secrets/jira-<PROJECTX_ENV>.refresh_token``, mode 0600 in a 0700 folder,
  replaced atomically, guarded by an ``flock`` so concurrent processes take turns.
- :class:`~pipelines.jira.vault_tokens.VaultRefreshTokenStore`: chosen by :func:`default_token_store`
  when ``VAULT_ADDR`` is set (key ``refresh_token`` of ``integrations/<env>/jira``, check-and-set writes).
- :class:`MemoryRefreshTokenStore`: for tests and callers that persist elsewhere.

Tokens never go to dlt state, logs or exception messages; ``repr`` shows the location only.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol, runtime_checkable


@runtime_checkable
class RefreshTokenStore(Protocol):
    def get(self) -> str | None: ...

    def put(self, token: str) -> None: ...


class MemoryRefreshTokenStore:
    """Keeps the token in memory (lost at exit)."""

    def __init__(self, token: str | None = None):
        self._token = token
        self._lock = threading.Lock()

    def get(self) -> str | None:
        return self._token

    def put(self, token: str) -> None:
        self._token = token

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        with self._lock:
            yield

    def __repr__(self) -> str:
        return "MemoryRefreshTokenStore()"


class FileRefreshTokenStore:
    """One token in one file, readable by the owner only."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def get(self) -> str | None:
        try:
            token = self.path.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        return token or None

    def put(self, token: str) -> None:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.fchmod(fd, 0o600)  # O_CREAT's mode does not apply to an existing leftover file
            os.write(fd, token.encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self.path)

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self.path.with_name(self.path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def __repr__(self) -> str:
        return f"FileRefreshTokenStore({str(self.path)!r})"


def default_token_store(environment: str | None = None, data_dir: str | None = None) -> RefreshTokenStore:
    """Vault when ``VAULT_ADDR`` is set, else the file of this environment (``PROJECTX_ENV``, default
    ``local``) under ``PROJECTX_DATA_DIR``."""
    from pipelines.common.warehouse import WarehouseSettings
    from pipelines.jira.vault_tokens import vault_token_store

    vault = vault_token_store(environment=environment)
    if vault is not None:
        return vault

    env = (environment or os.environ.get("PROJECTX_ENV") or "").strip().lower() or "local"  # as env_name()
    root = Path(data_dir or WarehouseSettings.from_env().data_dir)
    return FileRefreshTokenStore(root / "secrets" / f"jira-{env}.refresh_token")
