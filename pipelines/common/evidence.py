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
