"""The Evidence Library's pending folder, mixed into :class:`~resources.evidence.library.EvidenceLibrary`: where a
pending file and its sidecar live (one per source item, :meth:`PendingFolder._pending_key`), reading the sidecar,
forgetting a finished file, and :meth:`PendingFolder.retry_pending`, which passes every pending file through
the pipeline again (damaged pairs moved aside). Writing a pending file is the library's own ``_pending``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from resources.evidence.base import content_address

if TYPE_CHECKING:
    from resources.evidence.library import EvidenceOutcome


class PendingFolder:
    """Uses the library's ``pending_dir``, ``damaged_dir``, ``ledger`` and ``ingest``."""

    def _side_path(self, base: dict) -> Path:
        key = self._pending_key(base["sha256"], base["source"], base["source_ref"], base["filename"])
        return self.pending_dir / f"{key}.json"

    def _sidecar(self, base: dict) -> dict:
        """This pending file's sidecar (``faults``: checks failed for the machine; ``checks``: written before a
        check, one more: a check that never finished, the process killed, counts as one), or {}."""
        try:
            side = json.loads(self._side_path(base).read_text())
            int(side.get("faults", 0)) + int(side.get("checks", 0))  # both numbers, or none is read
            return side
        except (OSError, ValueError, TypeError, AttributeError):
            return {}

    @staticmethod
    def _pending_key(sha256: str, source: str, source_ref: str | None, filename: str | None = None) -> str:
        """One pending file per source item: its reference, or its name when it has none (the same bytes
        under two names from one source are two uploads, each with its record)."""
        if source_ref is None and filename is not None:
            return content_address(f"{sha256}|{source}||name:{filename}".encode())
        return content_address(f"{sha256}|{source}|{source_ref or ''}".encode())

    def _forget_pending(self, sha256: str, source: str, source_ref: str | None, filename: str | None = None) -> None:
        key = self._pending_key(sha256, source, source_ref, filename)
        # the sidecar first: a retry that read it and then finds no bytes knows by its absence that the
        # file was finished meanwhile (bytes without a sidecar are never listed)
        (self.pending_dir / f"{key}.json").unlink(missing_ok=True)
        (self.pending_dir / key).unlink(missing_ok=True)

    def retry_pending(self) -> list[EvidenceOutcome]:
        """Pass every pending file through the pipeline again (after clamd or the store is back).

        A pending file whose sidecar does not read or whose bytes no longer hash to the sidecar's sha256
        (the folder was damaged) is not ingested: the pair moves to ``evidence-pending-damaged`` (kept for
        review, out of the next retries), with one ``error_event`` naming it, and the others go on. One
        that is gone by the time it is read (a concurrent retry finished it) is skipped, not damaged."""
        outcomes = []
        for side in sorted(self.pending_dir.glob("*.json")) if self.pending_dir.exists() else []:
            try:
                info = json.loads(side.read_text())
                content = side.with_suffix("").read_bytes()
                if content_address(content) != info["sha256"]:
                    raise ValueError(f"its bytes hash to {content_address(content)}, not {info['sha256']}")
                tags = [t for t in info["tags"].split(",") if t and t != f"source:{info['source']}"]
            except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
                if isinstance(exc, FileNotFoundError) and not side.exists():
                    continue  # gone meanwhile: finished (stored, quarantined) by a concurrent retry
                self.damaged_dir.mkdir(parents=True, exist_ok=True)
                for path in (side, side.with_suffix("")):
                    if path.exists():
                        path.replace(self.damaged_dir / path.name)
                self.ledger.alert("error_event", "pending", f"pending file {side.with_suffix('').name} cannot be "
                                  f"retried ({type(exc).__name__}: {str(exc)[:200]}); moved to {self.damaged_dir}: "
                                  "ingest it again from its source, then delete it there")
                continue
            done = self.ingest(content, info["filename"], info["source"], tags, info.get("source_ref"))
            if side.with_suffix("").name != self._pending_key(info["sha256"], info["source"], info.get("source_ref"),
                                                             info["filename"]):
                side.unlink(missing_ok=True)  # written under an earlier key: the ingest kept it under the current one
                side.with_suffix("").unlink(missing_ok=True)
            outcomes.append(done)
        return outcomes
