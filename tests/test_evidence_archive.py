"""Archival: attachments stored before the library (old on-disk layout) pass it now, once; a
change-management artifact is tagged and linked to change control."""

from __future__ import annotations

import hashlib

from resources.evidence.archive import archive_change_artifact, archive_legacy_files
from tests.evidence.clamav import EICAR
from tests.evidence.files import make_pdf
from tests.evidence.library import make_library


def _legacy(root, vendor: str, content: bytes):
    sha = hashlib.sha256(content).hexdigest()
    path = root / vendor / sha[:2] / sha
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


def test_legacy_attachments_are_archived_once(tmp_path, clamd):
    old = tmp_path / "old-evidence"
    pdf = _legacy(old, "servicenow", make_pdf(["incident report for INC0001"]))
    eicar = _legacy(old, "jira", EICAR)
    lib = make_library(tmp_path, clamd)
    outcomes = {o.source: o for o in archive_legacy_files(old, lib)}
    assert outcomes["servicenow"].status == "stored" and outcomes["servicenow"].metadata["page_count"] == 1
    assert outcomes["servicenow"].tags == ("source:servicenow", "archived")
    assert outcomes["jira"].status == "quarantined" and not eicar.exists() and pdf.exists()
    assert archive_legacy_files(old, lib) == []  # nothing twice
    assert len(list(lib.store.list())) == 1


def test_change_management_artifact(tmp_path, clamd):
    lib = make_library(tmp_path, clamd)
    out = archive_change_artifact(b"terraform plan output: 3 to add, 0 to destroy", "plan.txt", "CHG0030042", lib)
    assert out.status == "stored"
    assert out.tags == ("source:change-management", "change-management", "change:CHG0030042")
    assert (out.evidence_class, out.control_ids) == ("change_management_artifact", ("SN-CHG-01",))
    assert lib.store.head(out.sha256).metadata["tags"] == "source:change-management,change-management,change:CHG0030042"
