"""Which evidence store this environment uses: ``PROJECTX_EVIDENCE_STORE=local|s3|gdrive|sharepoint``
(default ``local``, the environment matrix's mock evidence storage). One function, read at run time."""

from __future__ import annotations

import os
from pathlib import Path

from resources.evidence.base import EvidenceStore, StoreError

STORES = ("local", "s3", "gdrive", "sharepoint")


def library_dir() -> Path:
    """The local store's root: ``PROJECTX_EVIDENCE_LIBRARY_DIR``, else ``<PROJECTX_DATA_DIR>/evidence-library``."""
    explicit = os.environ.get("PROJECTX_EVIDENCE_LIBRARY_DIR")
    if explicit:
        return Path(explicit)
    return Path(os.environ.get("PROJECTX_DATA_DIR") or "data") / "evidence-library"


def store_from_env() -> EvidenceStore:
    kind = (os.environ.get("PROJECTX_EVIDENCE_STORE") or "local").strip().lower()
    if kind == "local":
        from resources.evidence.local import LocalStore

        return LocalStore(library_dir())
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
