"""Archival into the configured evidence store (spec §2.6 "evidence ingestion and archival", §6.3).

- ``archive_legacy_files(root)``: attachments stored before the library existed, on local disk in the
  old layout ``<root>/<vendor>/<sha[:2]>/<sha>`` (ServiceNow, Jira), pass the library now (scan,
  metadata, classification, store). Quarantined ones are removed from the old folder; a re-run skips
  what the ledger already holds, so nothing is stored twice.
- ``archive_change_artifact(content, filename, change_id)``: a change-management artifact (spec §6.3
  checklist), tagged ``change-management`` and ``change:<id>``; the classification rules link it to
  change control.

OneTrust PIA snapshots and rejected vendor payloads, read from the warehouse: ``archive_records``.

Run: ``python -m resources.evidence.archive [<old evidence folder>]`` (old files, then warehouse records).
"""

from __future__ import annotations

import sys
from pathlib import Path

from resources.evidence.base import SHA256_RE
from resources.evidence.library import EvidenceLibrary, EvidenceOutcome
from resources.evidence.select import library_dir

VENDORS = ("servicenow", "jira", "onetrust", "email", "slack")


def archive_legacy_files(root: Path, library: EvidenceLibrary | None = None) -> list[EvidenceOutcome]:
    library = library or EvidenceLibrary.from_env()
    outcomes = []
    for vendor in VENDORS:
        for path in sorted((root / vendor).glob("*/*")):
            if not SHA256_RE.match(path.name):
                continue
            ref = f"legacy:{vendor}:{path.name}"
            if library.ledger.last_stored(vendor, ref) is not None:
                continue
            outcome = library.ingest(path.read_bytes(), path.name, vendor, ["archived"], ref)
            if outcome.status == "quarantined":
                path.unlink()  # the quarantine folder keeps the bytes; the old store must not
            outcomes.append(outcome)
    return outcomes


def archive_change_artifact(content: bytes, filename: str, change_id: str,
                            library: EvidenceLibrary | None = None) -> EvidenceOutcome:
    library = library or EvidenceLibrary.from_env()
    return library.ingest(content, filename, "change-management", ["change-management", f"change:{change_id}"],
                          f"{change_id}:{filename}")


def _folder(argv: list[str]) -> Path:
    """The one optional argument: an existing folder of old evidence files (default: the library's)."""
    if argv and argv[0] in ("-h", "--help"):
        print(__doc__.split("Run: ")[-1].strip().replace("``", ""))
        sys.exit(0)
    if len(argv) > 1 or (argv and argv[0].startswith("-")):
        sys.exit(f"python -m resources.evidence.archive: unexpected argument(s) {' '.join(argv)!r}: "
                 "give at most one folder of old evidence files")
    folder = Path(argv[0]) if argv else library_dir()
    if argv and not folder.is_dir():
        sys.exit(f"python -m resources.evidence.archive: {folder} is not a folder: give the old evidence "
                 "folder (the one holding servicenow/, jira/, ...) or no argument for PROJECTX_EVIDENCE_DIR")
    return folder


if __name__ == "__main__":
    folder = _folder(sys.argv[1:])
    from resources.evidence.archive_records import archive_warehouse_records

    done = archive_legacy_files(folder) + archive_warehouse_records()
    counts: dict[str, int] = {}
    for o in done:
        counts[o.status] = counts.get(o.status, 0) + 1
    print(f"archived {len(done)} file(s) from {folder} and the warehouse: {counts or 'nothing new'}")
