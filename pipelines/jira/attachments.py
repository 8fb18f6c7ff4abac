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
  ``content_error`` says why and the issue is read again on the next run. A 403 (permission removed
  since the search) is one of these: the issue loads, the row says ``failed`` with the 403, and the
  issue is read again by id on every run until the file downloads or Jira answers 404 (round-22 tests).
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from pipelines.common.evidence import admit_evidence, evidence_root
from pipelines.common.http import VendorError
from pipelines.jira.destination import stored_content
from pipelines.jira.helpers import JiraClient
from pipelines.jira.settings import ATTACHMENT_CONTENT_PATH

CONTENT_COLUMNS = ("sha256", "storage_uri", "content_status", "content_error")


class AttachmentContent:
    """Fills the content columns of attachment rows for one run.

    ``concurrency``: downloads in flight at once (:meth:`fill_all`). They wait on Jira, not on this
    machine (at 300 ms a response, 18 files one after another were 5.5 s of a 10.5-s sync). Only the
    HTTP GET runs in the pool; every decision (already stored, disabled, too large, 404, failure) and
    the Evidence Library (scanner, store, its ledger) stay in the caller's thread, row by row, in order,
    exactly as :meth:`fill` does, and at most ``2 x concurrency`` downloaded files wait in memory.
    """

    def __init__(self, client: JiraClient, max_bytes: int, evidence_dir: str | None = None,
                 concurrency: int = 1):
        self._client = client
        self._max = max_bytes
        self._dir = evidence_dir
        self._workers = max(1, int(concurrency or 1))
        self._root: Path | None = None
        self._known: dict[str, tuple[str, str]] | None = None
        self.downloaded = 0

    def fill_all(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """:meth:`fill` every row, in order, downloading up to ``concurrency`` files at once; answers
        the rows whose download failed (retry next run)."""
        if self._workers == 1 or len(rows) < 2:
            return [row for row in rows if not self.fill(row)]
        failed: list[dict[str, Any]] = []
        ahead: deque[tuple[dict[str, Any], Future | None]] = deque()
        fetching: set[str] = set()  # ids in flight: a reused id waits for its first row (see fill)
        pool = ThreadPoolExecutor(max_workers=self._workers, thread_name_prefix="jira-attachment")

        def settle() -> None:
            row, future = ahead.popleft()
            if future is not None:
                fetching.discard(row["id"])
            if not self.fill(row, future):
                failed.append(row)

        try:
            for row in rows:
                future = None
                if self._wants_download(row) and row["id"] not in fetching:
                    fetching.add(row["id"])
                    future = pool.submit(self._fetch, row["id"])
                ahead.append((row, future))
                if len(fetching) >= 2 * self._workers:
                    while ahead[0][1] is None:
                        settle()
                    settle()  # the oldest download: at most 2 x concurrency files held
            while ahead:
                settle()
        finally:
            for _, future in ahead:  # an unexpected error: do not start the downloads still queued
                if future is not None:
                    future.cancel()
            pool.shutdown(wait=True)
        return failed

    def _wants_download(self, row: dict[str, Any]) -> bool:
        """Whether :meth:`fill` would download this row now (decided in the caller's thread)."""
        if self._known is None:
            self._known = stored_content()
        return (row["id"] not in self._known and self._max > 0
                and int(row.get("size_bytes") or 0) <= self._max)

    def _fetch(self, attachment_id: str) -> bytes | VendorError:
        """The file's bytes, or the error the client raised after its retries (runs in the pool)."""
        try:
            return self._client.download(ATTACHMENT_CONTENT_PATH.format(attachment_id=attachment_id))
        except VendorError as exc:
            return exc

    def fill(self, row: dict[str, Any], fetched: Future | None = None) -> bool:
        """Set the content columns of ``row``; False when the download failed (retry next run).

        ``fetched``: the download :meth:`fill_all` started for this row, if any (else it happens here).
        """
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
        data = fetched.result() if fetched is not None else self._fetch(row["id"])
        if isinstance(data, VendorError):
            if data.status == 404:
                row["content_status"] = "missing"
                return True
            row.update(content_status="failed", content_error=str(data)[:500])
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
