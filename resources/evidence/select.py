"""Which evidence store this environment uses: ``PROJECTX_EVIDENCE_STORE=local|s3|gdrive|sharepoint``
(default ``local``, the environment matrix's mock evidence storage). One function, read at run time."""

from __future__ import annotations

import os
from pathlib import Path

from resources.evidence.base import EvidenceStore, StoreError

STORES = ("local", "s3", "gdrive", "sharepoint")
REPO_ROOT = Path(__file__).resolve().parents[2]


def data_dir() -> Path:
    """``PROJECTX_DATA_DIR``, else the repository's ``data/`` (as the warehouse and the receiver have it),
    whatever the working directory: a daemon started elsewhere finds the same files."""
    return Path(os.environ.get("PROJECTX_DATA_DIR") or REPO_ROOT / "data")


def library_dir() -> Path:
    """The local store's root: ``PROJECTX_EVIDENCE_DIR`` (where attachments always went), else
    ``<PROJECTX_DATA_DIR>/evidence``."""
    explicit = os.environ.get("PROJECTX_EVIDENCE_DIR")
    if explicit:
        return Path(explicit)
    return data_dir() / "evidence"


def store_from_env(local_root: Path | None = None) -> EvidenceStore:
    kind = (os.environ.get("PROJECTX_EVIDENCE_STORE") or "local").strip().lower()
    if kind == "local":
        from resources.evidence.local import LocalStore

        return LocalStore(local_root or library_dir())
    if kind == "s3":
        from resources.evidence.s3 import S3Store

        return S3Store.from_env()
    if kind == "gdrive":
        from resources.evidence.gdrive import DriveStore

        return DriveStore.from_env()
    if kind == "sharepoint":
        from resources.evidence.sharepoint import SharePointStore

        return SharePointStore.from_env()
    raise StoreError(f"PROJECTX_EVIDENCE_STORE={kind!r} is not a store: use one of {', '.join(STORES)}")
