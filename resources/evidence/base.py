"""The evidence store contract: put, get, exists and list by content address, with metadata.

Grain: one stored object per sha256 of its bytes. The address *is* the hash, so the same bytes are
never stored twice and every read is verified against it (a store that returns other bytes raises
``ContentMismatch``). Metadata is a flat ``str -> str`` map kept beside the object (S3 user metadata,
Drive ``appProperties``, Graph list-item fields, a JSON sidecar on disk); keep values short.

Backends raise the typed errors below so the library can act on them the same way for every
provider (spec §2.6): ``StorePermissionError`` becomes a task, ``StoreQuotaError`` pauses ingestion,
``StoreUnavailable`` (5xx, 429, network) is retried and then reported.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol, runtime_checkable

SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
MAX_NAME_CHARS = 4096
UNSAFE_NAME = re.compile("[\x00\ud800-\udfff]")  # what no writer stores: NUL, lone surrogates


class StoreError(Exception):
    """A store operation failed; the message names the fix."""


class StorePermissionError(StoreError):
    """The store refused us (403): someone must grant access. ``resource`` names what to grant."""

    def __init__(self, message: str, resource: str = ""):
        super().__init__(message)
        self.resource = resource


class StoreQuotaError(StoreError):
    """The store is full or over its quota: ingestion for this provider pauses."""


class StoreUnavailable(StoreError):
    """A transient failure (5xx, 429, timeout) that survived the retries."""


class ContentMismatch(StoreError):
    """The bytes read back do not hash to the address asked for."""


@dataclass(frozen=True)
class StoredObject:
    """One object in a store: its address, size, where it lives (``uri``) and its metadata."""

    sha256: str
    size: int
    uri: str
    metadata: Mapping[str, str] = field(default_factory=dict)
    modified_at: datetime | None = None


@runtime_checkable
class EvidenceStore(Protocol):
    """What every backend provides. ``name`` is ``local``, ``s3``, ``gdrive`` or ``sharepoint``."""

    name: str

    def put(self, content: bytes, metadata: Mapping[str, str] | None = None) -> StoredObject:
        """Store ``content`` under its sha256 (once: an existing object is kept) and return it."""
        ...

    def get(self, sha256: str) -> bytes:
        """The bytes stored at ``sha256``, verified; ``KeyError`` when absent."""
        ...

    def head(self, sha256: str) -> StoredObject | None:
        """The object's size, URI and metadata without its bytes; None when absent."""
        ...

    def exists(self, sha256: str) -> bool:
        ...

    def list(self, since: datetime | None = None) -> Iterator[StoredObject]:
        """Every object (modified after ``since`` when given), with metadata."""
        ...


def atomic_write(path: Path, data: bytes) -> None:
    """``data`` at ``path`` whole or not at all: a temporary file beside it, flushed to disk, renamed into
    place, so a crash never leaves half a file under a name (or its sidecar) that looks complete."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".part-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def content_address(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def check_address(sha256: str) -> str:
    """Reject anything but a lowercase hex sha256 (it becomes a path, key or query term)."""
    if not isinstance(sha256, str) or not SHA256_RE.match(sha256):
        raise ValueError(f"not a content address (64 lowercase hex characters): {sha256!r}")
    return sha256


def verified(sha256: str, content: bytes, where: str) -> bytes:
    actual = content_address(content)
    if actual != sha256:
        raise ContentMismatch(f"{where} returned bytes hashing to {actual}, not {sha256}: the stored object is "
                              "corrupt or was replaced; restore it from the source system")
    return content


def occupied(sha256: str, found: bytes | None, size: int | None, where: str) -> ContentMismatch:
    """The error for an address that already holds other bytes (``found``, or just another ``size``): a put
    never overwrites it (it may be evidence of tampering, or the only copy of what was there) and never
    passes it for the content; the library flags it (``security_alert``) and the file waits as pending."""
    what = f"bytes hashing to {content_address(found)}" if found is not None else f"{size} bytes"
    return ContentMismatch(f"{where} already holds {what} under the content address {sha256}: not overwritten, and "
                           "the file is not stored as it; review that object (replaced or corrupt), delete it, and "
                           "the file waiting as pending is stored on the next retry")


def clean_metadata(metadata: Mapping[str, str] | None) -> dict[str, str]:
    """Metadata keys are lowercase ``[a-z0-9_]``; values are strings (None dropped)."""
    out: dict[str, str] = {}
    for key, value in (metadata or {}).items():
        if value is None:
            continue
        k = re.sub(r"[^a-z0-9_]", "_", str(key).lower())
        out[k] = str(value)
    return out


def safe_name(value: object) -> str:
    """A file name, source or reference as the library keeps it (``library`` module doc): a NUL and lone
    surrogates escaped as ``pipelines.common.evidence.storable_text`` does (``\\x00``, ``\\udcff``, so a name
    the store ingestion escaped already is kept as it came), at most ``MAX_NAME_CHARS`` long."""
    text = value if isinstance(value, str) else str(value)
    text = UNSAFE_NAME.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100
                           else f"\\u{ord(m.group()):04x}", text)
    return text if len(text) <= MAX_NAME_CHARS else text[:MAX_NAME_CHARS - 1] + "\u2026"
