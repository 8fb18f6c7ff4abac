"""Attachment bodies: downloaded once into the shared evidence store, referenced by sha256 + URI.

We chose the content-addressed evidence store (:mod:`pipelines.common.evidence`, ``PROJECTX_EVIDENCE_DIR``)
over base64 in the warehouse, as ServiceNow does: the warehouse stays small and the Evidence Library
reads files, not blobs. Each ``attachments`` row carries ``sha256``, ``storage_uri`` and
``content_status``:

- ``stored``: the bytes are in the evidence store (reused from the warehouse on later runs, never
  downloaded twice: attachment content never changes in Jira, a new upload gets a new id);
- ``too_large``: bigger than ``max_bytes`` (``JIRA_ATTACHMENT_MAX_BYTES``), metadata only;
- ``disabled``: downloads switched off (``max_bytes`` 0);
- ``missing``: Jira answered 404 (deleted since the search);
- ``quarantined``: the Evidence Library refused it (malware found by ClamAV, or over its limits);
  ``content_error`` says why, and no mart shows it;
- ``failed``: the download failed after retries (or the scanner/store was unavailable);
  ``content_error`` says why and the issue is read again on the next run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipelines.common.evidence import admit_evidence, evidence_root
from pipelines.common.http import VendorError
from pipelines.jira.destination import stored_content
from pipelines.jira.helpers import JiraClient
from pipelines.jira.settings import ATTACHMENT_CONTENT_PATH

CONTENT_COLUMNS = ("sha256", "storage_uri", "content_status", "content_error")


class AttachmentContent:
    """Fills the content columns of attachment rows for one run."""

    def __init__(self, client: JiraClient, max_bytes: int, evidence_dir: str | None = None):
        self._client = client
        self._max = max_bytes
        self._dir = evidence_dir
        self._root: Path | None = None
        self._known: dict[str, tuple[str, str]] | None = None
        self.downloaded = 0

    def fill(self, row: dict[str, Any]) -> bool:
        """Set the content columns of ``row``; False when the download failed (retry next run)."""
        row.update(dict.fromkeys(CONTENT_COLUMNS))
        if self._known is None:
            self._known = stored_content()
        known = self._known.get(row["id"])
        if known:
            row.update(sha256=known[0], storage_uri=known[1], content_status="stored")
            return True
        size = int(row.get("size_bytes") or 0)
        if self._max <= 0:
            row["content_status"] = "disabled"
            return True
        if size > self._max:
            row["content_status"] = "too_large"
            return True
        try:
            data = self._client.download(ATTACHMENT_CONTENT_PATH.format(attachment_id=row["id"]))
        except VendorError as exc:
            if exc.status == 404:
                row["content_status"] = "missing"
                return True
            row.update(content_status="failed", content_error=str(exc)[:500])
            return False
        if self._root is None:
            self._root = evidence_root(self._dir)
        row.update(admit_evidence("jira", data, self._root, row.get("filename"), row["id"]))
        if row["content_status"] == "failed":  # scanner or store unavailable: read again next run
            return False
        if row["content_status"] == "stored":
            self._known[row["id"]] = (row["sha256"], row["storage_uri"])
            self.downloaded += 1
        return True
