"""Where evidence files go: a content-addressed local store (``PROJECTX_EVIDENCE_DIR``, default
``data/evidence``). Files are written once under ``<vendor>/<sha256[:2]>/<sha256>`` and referenced
by a ``file://`` URI; the same bytes are never stored twice."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from pipelines.common.warehouse import WarehouseSettings


def evidence_root(explicit: str | None = None) -> Path:
    root = explicit or os.environ.get("PROJECTX_EVIDENCE_DIR") or str(Path(WarehouseSettings.from_env().data_dir)
                                                                     / "evidence")
    return Path(root)


def store_evidence(vendor: str, content: bytes, root: Path) -> tuple[str, str]:
    """Write ``content`` (if new) and return its (sha256, storage URI)."""
    digest = hashlib.sha256(content).hexdigest()
    path = root / vendor / digest[:2] / digest
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".part")
        tmp.write_bytes(content)
        tmp.replace(path)
    return digest, path.resolve().as_uri()


def admit_evidence(vendor: str, content: bytes, root: Path, filename: str | None = None,
                   source_ref: str | None = None, tags: tuple[str, ...] = ()) -> dict[str, str | None]:
    """Pass a vendor file through the Evidence Library (limits, ClamAV scan, metadata, classification,
    then the configured store; ``root`` is the local store's folder) and return the attachment row's
    content columns: ``stored`` (sha256 + URI), ``quarantined`` (infected or over the limits: no URI,
    the reason in ``content_error``) or ``failed`` (scanner or store unavailable: the reason, and the
    vendor pipeline fetches it again on its next run, as for a failed download)."""
    from resources.evidence.base import StoreError
    from resources.evidence.library import EvidenceLibrary

    try:
        library = EvidenceLibrary.cached(local_root=root)
    except StoreError as exc:  # the store cannot even be reached (e.g. the role cannot be assumed)
        return {"sha256": hashlib.sha256(content).hexdigest(), "storage_uri": None, "content_status": "failed",
                "content_error": str(exc)[:500]}
    outcome = library.ingest(content, filename or source_ref or "attachment", vendor, tags, source_ref)
    status = {"stored": "stored", "quarantined": "quarantined"}.get(outcome.status, "failed")
    return {"sha256": outcome.sha256, "storage_uri": outcome.storage_uri, "content_status": status,
            "content_error": None if status == "stored" else (outcome.reason or "")[:500]}
