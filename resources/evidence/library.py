"""The Evidence Library's one door: every file passes size and type limits, a ClamAV scan, metadata
extraction and classification before it is stored in the configured store (spec §3.4).

``ingest_file(content, filename, source, tags) -> EvidenceOutcome`` is what vendor pipelines, the
inbound e-mail bridge, Slack uploads and store ingestion call. The outcome is one of:

- ``stored``: clean, in the store at ``storage_uri``, classified (linked to controls by dbt);
- ``quarantined``: infected (a ``security_alert``), over the limits, or an archive ClamAV may not
  have read whole (``containers.py``: a zip bomb, nested too deep, encrypted, an executable inside,
  corrupt, a format the library cannot open); the bytes go to the quarantine folder, never the
  store, and nothing links them;
- ``pending``: the scanner or the store could not finish (down, quota, permission), or an archive
  expands past the budget (``PROJECTX_EVIDENCE_MAX_EXPANDED_BYTES``, default ``max(10 x the size
  limit, 1 GiB)``: a setting, not a verdict, so raising it takes effect on the next run), or the file
  and all it expands to are more than clamd reads (``PROJECTX_EVIDENCE_MAX_SCAN_BYTES``, default 400 MiB,
  clamd's default ``MaxScanSize``: keep it within clamd's, which stops reading there and answers OK): the
  bytes wait in the pending folder with the reason and ``retry_pending()`` finishes them later.

Every outcome is written to the ledger (``ledger.py``) before the call returns, so nothing is lost.

Names come from vendors and people: a file name, source, tag or source reference with a NUL or a
lone surrogate (bytes that were not UTF-8) is kept with those escaped (``\x00``, ``\udcff``), at most
``base.MAX_NAME_CHARS`` long, everywhere (ledger, store metadata, pending sidecar): no writer fails on
it (a surrogate raised UnicodeEncodeError after the bytes were stored, leaving no ledger row; a NUL
reached the ledger, which no warehouse stores). Other characters are kept as the source named the
file; alerts quote names with ``repr``, so a newline or a ``\u202e`` cannot forge a line or a name.

A file's type is its bytes' (``metadata.sniff_mime``), never its name's; but a script (``#!``) named as a
document or image (``report.pdf``) is a lure, quarantined (a ``rotate-keys.sh`` is stored). The bytes
are copied once on entry (a caller's ``bytearray`` changed during the scan cannot be stored under the
scan's verdict), and a pending file is keyed by its source reference, or by its name when it has none,
so the same bytes uploaded under two names while the scanner is down keep both records.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from resources.evidence.base import (
    ContentMismatch,
    EvidenceStore,
    StoreError,
    StorePermissionError,
    StoreQuotaError,
    atomic_write,
    content_address,
    safe_name,
)
from resources.evidence.classify import classify, load_rules
from resources.evidence.containers import MAX_RATIO, RATIO_FLOOR
from resources.evidence.containers import problem as container_problem
from resources.evidence.ledger import Ledger
from resources.evidence.limits import env_bool, env_int
from resources.evidence.metadata import extract
from resources.evidence.names import shown, spoofed
from resources.evidence.pending_folder import PendingFolder
from resources.evidence.scan import ClamdScanner, ScannerUnavailable
from resources.evidence.select import data_dir, store_from_env

DEFAULT_MAX_BYTES = 100 * 1024 * 1024
MIN_EXPANDED_BYTES = 1024 * 1024 * 1024  # the expansion budget is at least 1 GiB, 10 x the size limit if more
DEFAULT_MAX_SCAN_BYTES = 400 * 1024 * 1024  # clamd's default MaxScanSize: the file and all it expands to
# a file left pending for a fault of the machine (disk full, out of memory ...) this many times in a row is
# quarantined on the next: one that faults every check (built to exhaust memory) must not wait forever (round 34)
MAX_FAULTS = 5
BLOCKED_TYPES = ("application/x-msdownload", "application/x-executable", "application/x-elf",
                 "application/x-mach-binary", "application/x-dosexec", "application/x-sharedlib",
                 "application/vnd.microsoft.portable-executable", "application/x-msi")
DOCUMENT_SUFFIXES = (".pdf", ".doc", ".docx", ".xls", ".xlsx", ".ppt", ".pptx", ".odt", ".ods", ".rtf", ".png",
                     ".jpg", ".jpeg", ".gif", ".tif", ".tiff", ".bmp", ".webp", ".heic", ".csv")


CONFIG_VARS = ("PROJECTX_ENV", "PROJECTX_DATA_DIR", "PROJECTX_EVIDENCE_DIR", "PROJECTX_EVIDENCE_STORE",
               "PROJECTX_CLAMD_ADDRESS", "PROJECTX_EVIDENCE_LEDGER", "PROJECTX_EVIDENCE_MAX_BYTES",
               "PROJECTX_EVIDENCE_REQUIRE_SCAN", "EVIDENCE_S3_BUCKET", "AWS_ROLE_ARN", "AWS_EXTERNAL_ID",
               "EVIDENCE_GOOGLE_DRIVE_FOLDER_ID", "GOOGLE_APPLICATION_CREDENTIALS", "TENANT_ID", "CLIENT_ID",
               "CERT_PATH", "SHAREPOINT_SITE_ID", "SHAREPOINT_LIBRARY_ID", "SHAREPOINT_EVIDENCE_FOLDER",
               "PROJECTX_EVIDENCE_MAX_EXPANDED_BYTES", "PROJECTX_EVIDENCE_MAX_RATIO",
               "PROJECTX_EVIDENCE_RATIO_FLOOR_BYTES", "PROJECTX_EVIDENCE_MAX_SCAN_BYTES")
_CACHE: dict[tuple, EvidenceLibrary] = {}


@dataclass(frozen=True)
class EvidenceOutcome:
    """What became of one file. ``reason`` says why it is not stored (quarantined or pending)."""

    status: str
    sha256: str
    size_bytes: int
    filename: str
    source: str
    tags: tuple[str, ...] = ()
    storage_uri: str | None = None
    reason: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    evidence_class: str | None = None
    control_ids: tuple[str, ...] = ()


def _data_dir() -> Path:
    return data_dir()


class EvidenceLibrary(PendingFolder):
    """The pipeline, with its store, scanner, ledger and folders injected (``from_env`` for the defaults)."""

    def __init__(self, store: EvidenceStore, scanner: ClamdScanner | None, ledger: Ledger, work_dir: Path,
                 max_bytes: int = DEFAULT_MAX_BYTES, require_scan: bool = True,
                 blocked_types: Sequence[str] = BLOCKED_TYPES, max_expanded_bytes: int | None = None,
                 max_ratio: int = MAX_RATIO, ratio_floor: int = RATIO_FLOOR,
                 max_scan_bytes: int = DEFAULT_MAX_SCAN_BYTES):
        """``max_expanded_bytes``: what an archive may expand to, all levels (default ``max(10 x max_bytes,
        1 GiB)``, as clamd's ``MaxScanSize``-style limits: Office files are zips of XML compressing 5-20x,
        so the size limit itself would refuse ordinary spreadsheets). ``max_ratio`` / ``ratio_floor``:
        an archive expanding past ``max_ratio`` times its size, once past ``ratio_floor`` bytes, is a zip
        bomb (``containers.py``). ``max_scan_bytes``: what clamd reads of a file, the file and all it
        expands to, all levels (its ``MaxScanSize``, 400 MiB by default; this must not be above it): past it
        clamd answers OK unread, so the file waits, pending, whatever the budget above allows."""
        self.store, self.scanner, self.ledger = store, scanner, ledger
        self.quarantine_dir = work_dir / "evidence-quarantine"
        self.pending_dir = work_dir / "evidence-pending"
        self.damaged_dir = work_dir / "evidence-pending-damaged"
        self.max_bytes, self.require_scan, self.blocked_types = max_bytes, require_scan, tuple(blocked_types)
        self._max_expanded_bytes = max_expanded_bytes
        self.max_ratio, self.ratio_floor, self.max_scan_bytes = max_ratio, ratio_floor, max_scan_bytes

    @property
    def max_expanded_bytes(self) -> int:
        if self._max_expanded_bytes is not None:
            return self._max_expanded_bytes
        return max(10 * self.max_bytes, MIN_EXPANDED_BYTES)

    @max_expanded_bytes.setter
    def max_expanded_bytes(self, value: int | None) -> None:
        self._max_expanded_bytes = value

    @classmethod
    def from_env(cls, local_root: Path | None = None) -> EvidenceLibrary:
        """``local_root``: the folder of the local store when ``PROJECTX_EVIDENCE_STORE`` is local."""
        from resources.environment import env_name

        env = env_name()
        # Local runs without PROJECTX_CLAMD_ADDRESS store files unscanned (recorded as not_scanned);
        # staging and production hold them as pending until a scanner is configured.
        require = env_bool("PROJECTX_EVIDENCE_REQUIRE_SCAN", env != "local")
        # the limits first: a bad value stops here, naming the variable (resources/evidence/limits.py)
        max_bytes = env_int("PROJECTX_EVIDENCE_MAX_BYTES", DEFAULT_MAX_BYTES, unit="a size in bytes",
                            example="104857600 (100 MiB)")
        expanded = env_int("PROJECTX_EVIDENCE_MAX_EXPANDED_BYTES", None, unit="a size in bytes",
                           example="1073741824 (1 GiB; keep it within clamd's MaxScanSize)",
                           default_text="max(10 x the size limit, 1 GiB)")
        ratio = env_int("PROJECTX_EVIDENCE_MAX_RATIO", MAX_RATIO, unit="a ratio (times the archive's size)",
                        example="200")
        floor = env_int("PROJECTX_EVIDENCE_RATIO_FLOOR_BYTES", RATIO_FLOOR, unit="a size in bytes",
                        example="104857600 (100 MiB)", minimum=0)
        scan = env_int("PROJECTX_EVIDENCE_MAX_SCAN_BYTES", DEFAULT_MAX_SCAN_BYTES, unit="a size in bytes",
                       example="419430400 (400 MiB, clamd's default MaxScanSize; never above clamd's)")
        return cls(store_from_env(local_root), ClamdScanner.from_env(), Ledger(), _data_dir(), max_bytes, require,
                   max_expanded_bytes=expanded, max_ratio=ratio, ratio_floor=floor, max_scan_bytes=scan)

    @classmethod
    def cached(cls, local_root: Path | None = None) -> EvidenceLibrary:
        """``from_env``, built once per configuration in this process (an S3 store assumes its role once,
        not per file)."""
        key = (str(local_root), *(os.environ.get(name) for name in CONFIG_VARS))
        if key not in _CACHE:
            _CACHE[key] = cls.from_env(local_root)
        return _CACHE[key]

    def ingest(self, content: bytes, filename: str, source: str, tags: Sequence[str] = (),
               source_ref: str | None = None) -> EvidenceOutcome:
        content = bytes(content)  # what is scanned is what is stored: a caller's buffer may change meanwhile
        filename, source = safe_name(filename), safe_name(source)
        source_ref = None if source_ref is None else safe_name(source_ref)
        tags = tuple(dict.fromkeys(safe_name(t) for t in [f"source:{source}", *tags]))
        base = {"sha256": content_address(content), "filename": filename, "source": source,
                "source_ref": source_ref, "tags": ",".join(tags), "size_bytes": len(content)}
        if len(content) > self.max_bytes:
            return self._quarantine(content, base, f"{len(content)} bytes is over the {self.max_bytes}-byte limit "
                                    "(PROJECTX_EVIDENCE_MAX_BYTES)", scan_status="not_scanned")
        meta = extract(content)
        if meta["mime_type"] in self.blocked_types:
            return self._quarantine(content, base, f"{meta['mime_type']} files are not accepted as evidence",
                                    meta, scan_status="not_scanned")
        lure = [n for n in shown(filename) if n.endswith(DOCUMENT_SUFFIXES)]  # as the name shows (names.py)
        if content[:64].lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"#!") and (lure or spoofed(filename)):
            named = f"named as a .{lure[0].rpartition('.')[2]} file" if lure else \
                "whose name carries right-to-left controls (it shows otherwise than it ends)"
            return self._quarantine(content, base, f"a script (#!) {named} (a lure: its name and its bytes "
                                    "disagree): send the real document, or the script under its own plain name",
                                    meta, scan_status="not_scanned")
        scan_status, signature = "not_scanned", None
        if self.scanner is not None:
            try:
                verdict = self.scanner.scan(content)
            except ScannerUnavailable as exc:
                return self._pending(content, base, str(exc), meta)
            scan_status, signature = ("clean", None) if verdict.clean else ("infected", verdict.signature)
            if not verdict.clean:
                reason = f"ClamAV found {verdict.signature}"
                self.ledger.alert("security_alert", source, f"{reason} in {filename!r} from {source}; quarantined",
                                  base["sha256"], filename, source)
                return self._quarantine(content, base, reason, meta, scan_status, signature)
        elif self.require_scan:
            return self._pending(content, base, "no virus scanner is configured: set PROJECTX_CLAMD_ADDRESS "
                                 "to a clamd socket", meta)
        unseen: list[tuple[str, bytes]] = []  # decoded here, never by clamd (an RTF's embedded objects)
        # pending already: this check is counted before it starts (second review: one that got the process killed
        # was never counted, and the file was retried for ever, holding up the pending files after it)
        side = self._sidecar(base)
        prior = max(int(side.get("faults", 0)), int(side.get("checks", 0)))
        if prior >= MAX_FAULTS:
            return self._quarantine(content, base, f"{str(side.get('reason', ''))[:300]}; it failed so {MAX_FAULTS} "
                                    "times, or its check never finished (a file that faults every time it is "
                                    "checked is taken as built to): fix the machine, then ingest it again from its "
                                    "source", meta, scan_status)
        if side:
            atomic_write(self._side_path(base), json.dumps({**side, "faults": prior, "checks": prior + 1}).encode())
        unscanned = container_problem(content, self.max_expanded_bytes, blocked_types=self.blocked_types,
                                      max_ratio=self.max_ratio, ratio_floor=self.ratio_floor,
                                      max_member_bytes=self.max_bytes, max_scan_bytes=self.max_scan_bytes,
                                      unseen=unseen)
        if unscanned is not None and unscanned.pending:  # over the budget: waits for it to be raised
            return self._pending(content, base, unscanned.reason[:500], {**meta, "scan_status": scan_status},
                                 faults=prior + 1 if unscanned.fault else None)
        if unscanned is not None:
            return self._quarantine(content, base, unscanned.reason[:500], meta, scan_status)
        for where, decoded in unseen if self.scanner is not None else ():  # counted in the scan budget above
            try:
                verdict = self.scanner.scan(decoded)
            except ScannerUnavailable as exc:
                return self._pending(content, base, f"{where}: {exc}"[:500], meta)
            if not verdict.clean:
                reason = f"ClamAV found {verdict.signature} in {where}"[:500]
                self.ledger.alert("security_alert", source, f"{reason} in {filename!r} from {source}; quarantined",
                                  base["sha256"], filename, source)
                return self._quarantine(content, base, reason, meta, "infected", verdict.signature)
        verdict_cls = classify(meta, filename, source, tags, load_rules())
        extra = {**meta, "scan_status": scan_status, "scan_signature": signature,
                 "evidence_class": verdict_cls.evidence_class, "control_ids": " ".join(verdict_cls.control_ids)}
        paused = self.ledger.paused(self.store.name)
        if paused:
            return self._pending(content, base, f"ingestion to {self.store.name} is paused: {paused}", extra)
        try:
            stored = self.store.put(content, {"filename": filename, "source": source, "tags": base["tags"],
                                              "mime_type": meta["mime_type"],
                                              "evidence_class": verdict_cls.evidence_class})
        except StoreQuotaError as exc:
            self.ledger.pause(self.store.name, str(exc))
            self.ledger.alert("quota_pause", self.store.name, str(exc), base["sha256"], filename, source)
            return self._pending(content, base, str(exc), extra)
        except ContentMismatch as exc:  # the address holds other bytes: tampering or corruption, for review
            self.ledger.alert("security_alert", self.store.name, str(exc), base["sha256"], filename, source)
            return self._pending(content, base, str(exc), extra)
        except StorePermissionError as exc:
            self.ledger.alert("permission_task", self.store.name, str(exc), base["sha256"], filename, source)
            return self._pending(content, base, str(exc), extra)
        except StoreError as exc:
            self.ledger.alert("error_event", self.store.name, str(exc), base["sha256"], filename, source)
            return self._pending(content, base, str(exc), extra)
        row = {**base, **extra, "status": "stored", "storage_uri": stored.uri, "store": self.store.name}
        self.ledger.record_file(row)
        self._forget_pending(base["sha256"], source, source_ref, filename)
        return self._outcome(row)

    # -- outcomes ---------------------------------------------------------------------------------

    def settled_row(self, provider: str, ref: str, base: dict[str, Any], label: str | None = None) -> dict | None:
        """For a watched-folder ingestion: the row of a file version (``ref``) the library already
        handled, or a pending row while ingestion from ``provider`` is paused (``label`` names it;
        None: no pause check); None when the file must be read."""
        done = self.ledger.last_stored(provider, ref)
        if done is not None:
            return {**base, "status": done["status"], "sha256": done["sha256"], "storage_uri": done["storage_uri"],
                    "reason": done["reason"]}
        paused = self.ledger.paused(provider) if label else None
        if paused:
            return {**base, "status": "pending", "reason": f"ingestion from {label} is paused: {paused}"[:500]}
        return None

    def over_limit(self, size: int, where: str) -> str | None:
        """For a watched-folder ingestion: why a file listed at ``size`` bytes is not downloaded (over the
        size limit: reading it whole could exhaust memory; it waits, pending, for the limit to be raised),
        or None."""
        if size <= self.max_bytes:
            return None
        return (f"{size} bytes is over the {self.max_bytes}-byte limit (PROJECTX_EVIDENCE_MAX_BYTES): not downloaded; "
                f"it stays in the {where}: split it, or raise the limit")

    def source_failed(self, provider: str, exc: StoreError, filename: str | None) -> None:
        """A watched store failed to list or read: a quota error pauses ingestion from ``provider`` (and
        alerts), a permission error is a task (someone must grant access), anything else an error event."""
        if isinstance(exc, StoreQuotaError):
            self.ledger.pause(provider, str(exc))
            kind = "quota_pause"
        else:
            kind = "permission_task" if isinstance(exc, StorePermissionError) else "error_event"
        self.ledger.alert(kind, provider, str(exc), filename=filename, source=provider)

    def _outcome(self, row: dict[str, Any]) -> EvidenceOutcome:
        meta = {k: v for k, v in row.items() if k not in ("sha256", "filename", "source", "source_ref", "tags",
                                                          "status", "reason", "storage_uri", "size_bytes")}
        return EvidenceOutcome(row["status"], row["sha256"], row["size_bytes"], row["filename"], row["source"],
                               tuple(t for t in row["tags"].split(",") if t), row.get("storage_uri"),
                               row.get("reason"), meta, row.get("evidence_class"),
                               tuple((row.get("control_ids") or "").split()))

    def _quarantine(self, content: bytes, base: dict, reason: str, meta: dict | None = None,
                    scan_status: str = "not_scanned", signature: str | None = None) -> EvidenceOutcome:
        self.quarantine_dir.mkdir(parents=True, exist_ok=True)
        path = self.quarantine_dir / base["sha256"]
        if not path.exists() or content_address(path.read_bytes()) != base["sha256"]:  # whole, or again
            path.unlink(missing_ok=True)
            atomic_write(path, content)
            path.chmod(0o400)
        row = {**base, **(meta or {}), "status": "quarantined", "reason": reason, "scan_status": scan_status,
               "scan_signature": signature, "storage_uri": None, "store": "quarantine"}
        self.ledger.record_file(row)
        self._forget_pending(base["sha256"], base["source"], base["source_ref"], base["filename"])
        return self._outcome(row)

    def _pending(self, content: bytes, base: dict, reason: str, meta: dict | None = None,
                 faults: int | None = None) -> EvidenceOutcome:
        """``faults``: the checks of it that failed for the machine; None keeps its sidecar's count (second review:
        another pending reason wrote 0, and a file killing the checker every other time waited for ever)."""
        faults = int(self._sidecar(base).get("faults", 0)) if faults is None else faults
        self.pending_dir.mkdir(parents=True, exist_ok=True)
        key = self._pending_key(base["sha256"], base["source"], base["source_ref"], base["filename"])
        # each written whole or not at all: a crash mid-write must not leave other bytes under the sidecar
        atomic_write(self.pending_dir / key, content)
        side = {**base, "reason": reason, **({"faults": faults} if faults else {})}
        atomic_write(self.pending_dir / f"{key}.json", json.dumps(side).encode())
        row = {**base, **(meta or {}), "status": "pending", "reason": reason, "storage_uri": None}
        self.ledger.record_file(row)
        return self._outcome(row)


def ingest_file(content: bytes, filename: str, source: str, tags: Sequence[str] = (),
                source_ref: str | None = None) -> EvidenceOutcome:
    """Pass one file through the Evidence Library as configured by the environment."""
    return EvidenceLibrary.from_env().ingest(content, filename, source, tags, source_ref)


def outcome_dict(outcome: EvidenceOutcome) -> dict[str, Any]:
    return asdict(outcome)
