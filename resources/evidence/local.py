"""Local disk evidence store (the default, and the environment matrix's "mock evidence storage").

Layout under the root (``PROJECTX_EVIDENCE_DIR``, default ``<data>/evidence``):
``objects/<sha[:2]>/<sha>`` holds the bytes, ``<same>.json`` the metadata. Writes go to a temporary
file first and are renamed into place, so a crash never leaves a half-written object at an address;
the metadata is written before the bytes, so no object is there without it. A disk error is a
``StoreError`` (full: quota; not writable: permission; else unavailable), so the file waits as pending.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path

from resources.evidence.base import (
    StoredObject,
    StorePermissionError,
    StoreQuotaError,
    StoreUnavailable,
    atomic_write,
    check_address,
    clean_metadata,
    content_address,
    occupied,
    verified,
)


class LocalStore:
    """Content-addressed files on local disk."""

    name = "local"

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def _path(self, sha256: str) -> Path:
        check_address(sha256)
        return self.root / "objects" / sha256[:2] / sha256

    def put(self, content: bytes, metadata: Mapping[str, str] | None = None) -> StoredObject:
        sha = content_address(content)
        path = self._path(sha)
        meta = clean_metadata(metadata)
        side = path.with_suffix(".json")
        if path.exists():  # stored once: but only ever these bytes (never other ones passed for them)
            try:
                found = path.read_bytes()
            except FileNotFoundError:
                found = None
            if found is not None and content_address(found) != sha:
                raise occupied(sha, found, None, f"the local evidence store ({path})")
        if not path.exists() or not side.exists():
            # the metadata first, the bytes last: an object is there once its bytes are, so a write that
            # fails between the two leaves no object without its metadata (a retry writes both)
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                atomic_write(side, json.dumps(meta, sort_keys=True).encode())
                if not path.exists():
                    atomic_write(path, content)
            except OSError as exc:
                if exc.errno == 28:  # ENOSPC
                    raise StoreQuotaError(f"the evidence disk {self.root} is full: free space or set "
                                          "PROJECTX_EVIDENCE_DIR to a larger volume") from exc
                if isinstance(exc, PermissionError):
                    raise StorePermissionError(f"the evidence folder {self.root} is not writable ({exc.strerror}): "
                                               "let the service's user write to it", str(self.root)) from exc
                raise StoreUnavailable(f"writing to the evidence folder {self.root} failed ({type(exc).__name__}: "
                                       f"{exc.strerror or exc}): check the disk; the file waits as pending") from exc
        return self.head(sha)  # type: ignore[return-value]

    def get(self, sha256: str) -> bytes:
        path = self._path(sha256)
        if not path.exists():
            raise KeyError(sha256)
        return verified(sha256, path.read_bytes(), f"the local evidence store ({path})")

    def head(self, sha256: str) -> StoredObject | None:
        path = self._path(sha256)
        if not path.exists():
            return None
        side = path.with_suffix(".json")
        meta = json.loads(side.read_text()) if side.exists() else {}
        stat = path.stat()
        return StoredObject(sha256, stat.st_size, path.resolve().as_uri(), meta,
                            datetime.fromtimestamp(stat.st_mtime, UTC))

    def exists(self, sha256: str) -> bool:
        return self._path(sha256).exists()

    def list(self, since: datetime | None = None) -> Iterator[StoredObject]:
        objects = self.root / "objects"
        if not objects.exists():
            return
        for path in sorted(objects.glob("*/*")):
            if path.suffix or path.name.startswith("."):
                continue
            obj = self.head(path.name)
            if obj is not None and (since is None or (obj.modified_at and obj.modified_at > since)):
                yield obj
