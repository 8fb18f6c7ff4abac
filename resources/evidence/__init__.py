"""The Evidence Library: every external file is scanned (ClamAV), described (metadata), classified
(rules seed) and stored, content-addressed, in the configured store (local disk, S3, Google Drive or
SharePoint), or quarantined. Entry point: ``ingest_file``; stores: ``store_from_env``.

No Dagster here: vendor pipelines and the long-running service call it directly.
"""

from resources.evidence.library import EvidenceLibrary, EvidenceOutcome, ingest_file
from resources.evidence.select import store_from_env

__all__ = ["EvidenceLibrary", "EvidenceOutcome", "ingest_file", "store_from_env"]
