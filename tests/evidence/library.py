"""A library wired for tests: given store and scanner, ledger and folders in a temp dir."""

from __future__ import annotations

from pathlib import Path

from resources.evidence.ledger import Ledger
from resources.evidence.library import EvidenceLibrary
from resources.evidence.local import LocalStore


def make_library(tmp: Path, scanner, store=None, **kwargs) -> EvidenceLibrary:
    return EvidenceLibrary(store or LocalStore(tmp / "library"), scanner, Ledger(tmp / "ledger.sqlite"), tmp,
                           **kwargs)
