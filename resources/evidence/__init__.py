"""The Evidence Library: every external file is scanned (ClamAV), described (metadata), classified
(rules seed) and stored, content-addressed, in the configured store (local disk, S3, Google Drive or
SharePoint), or quarantined. Entry point: ``ingest_file``; stores: ``store_from_env``.

No Dagster here: vendor pipelines and the long-running service call it directly.
"""

from pipelines.common import log_redaction
from resources.evidence.library import EvidenceLibrary, EvidenceOutcome, ingest_file
from resources.evidence.select import store_from_env

log_redaction.install()  # botocore's DEBUG lines carry the STS session's keys and token

__all__ = ["EvidenceLibrary", "EvidenceOutcome", "ingest_file", "store_from_env"]
