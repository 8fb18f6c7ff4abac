"""A library wired for tests: given store and scanner, ledger and folders in a temp dir."""

from __future__ import annotations

from pathlib import Path

from resources.evidence.ledger import Ledger
from resources.evidence.library import EvidenceLibrary
from resources.evidence.local import LocalStore
from tests.evidence.clamav import MAX_SCAN_BYTES


def make_library(tmp: Path, scanner, store=None, **kwargs) -> EvidenceLibrary:
    """``max_scan_bytes`` defaults to the test clamd's MaxScanSize (the library must never assume more)."""
    kwargs.setdefault("max_scan_bytes", MAX_SCAN_BYTES)
    return EvidenceLibrary(store or LocalStore(tmp / "library"), scanner, Ledger(tmp / "ledger.sqlite"), tmp,
                           **kwargs)
