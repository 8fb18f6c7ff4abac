"""Round 33 (review of the Drive emulator's trash fix): an evidence folder someone moved to the trash stops the
Drive store with the fix named. Before, a file put there was trashed with it (as Drive does), so every look-up
(``trashed = false``) missed it: each put of the same bytes uploaded another copy, a read raised KeyError, and
Drive empties the trash after 30 days."""

from __future__ import annotations

import pytest

from resources.evidence.base import StoreError
from resources.evidence.gdrive import DriveStore
from tests.test_evidence_gdrive import _shared_drive_folder


def test_a_trashed_evidence_folder_stops_the_store_with_the_fix_named(gdrive):
    folder = _shared_drive_folder(gdrive, "Evidence Library (trashed)")
    sb = gdrive.sandbox.store
    sb.files[folder].trashed = True  # someone trashed it in the Drive UI
    store = DriveStore(folder, str(gdrive.key_file), gdrive.api_endpoint)
    with pytest.raises(StoreError) as stopped:
        store.put(b"evidence that would land in the trash", {"filename": "lost.pdf"})
    assert "in the trash" in str(stopped.value) and "EVIDENCE_GOOGLE_DRIVE_FOLDER_ID" in str(stopped.value)
    assert not [f for f in sb.files.values() if folder in f.parents]  # nothing uploaded
    sb.files[folder].trashed = False
    fresh = DriveStore(folder, str(gdrive.key_file), gdrive.api_endpoint)
    stored = fresh.put(b"evidence after the restore", {"filename": "kept.pdf"})
    assert fresh.get(stored.sha256) == b"evidence after the restore"
