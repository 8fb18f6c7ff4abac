"""Control attestations exported to OneTrust (``outbound.onetrust_control_attestations``).

Each Project X control is a OneTrust *control implementation* (external id ``projectx:<control
id>``, linked to the library control of its ISO 27001 mapping when the tenant's library has it);
each (control, month) is an attestation on it, keyed by OneTrust's ``externalId`` = our
attestation id, so a resend updates the same attestation (``version`` + 1) and never duplicates.
Status, period, text (``summary``) and the evidence (each item's title, evidence id and sha256: never a
path of the worker; :mod:`assets.reverse_sync.onetrust_evidence`) go in the attestation; evidence files
stored locally (``PROJECTX_EVIDENCE_DIR``) are attached once each (listed first: OneTrust keeps no
idempotency key on attachments; each upload is recorded before it is sent, for a listing without hashes:
:mod:`assets.reverse_sync.onetrust_attachments`), streamed from disk, none above ``ONETRUST_ATTACHMENT_MAX_MB``.
OneTrust publishes no attestation API (vendor-apis.md §3.6), so the path is configurable:
``ONETRUST_ATTESTATION_PATH`` (default ``/api/controls/v1/attestations``).

Every write is a step of the plan, so a dry run shows all of them: ``create_implementation`` (the
first attestation of a control OneTrust has no implementation for), ``create`` / ``update`` (the
attestation) and ``attach_evidence`` (one row per file not yet attached). The files are compared by
sha256 as the pseudo-field ``attachments`` (ours: the local files the evidence references name;
OneTrust's: its attachments' hashes), so an attach that failed is retried by the next run. A file above
the size limit is planned as a refused attach (its reason in the plan) and dead-letters the attestation with
that reason; it is never read.
"""

import hashlib
import json
import logging
import os
import threading
from collections import defaultdict
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from dagster import AssetCheckResult, AssetExecutionContext, AssetKey, MaterializeResult, asset, asset_check

from assets.reverse_sync import onetrust_shapes as shapes
from assets.reverse_sync.assetkit import ReverseSyncConfig, no_dead_letters, paused_by_flag, run_sync
from assets.reverse_sync.engine import Snapshot, Step
from assets.reverse_sync.onetrust_attachments import AttachmentRecord, EchoRecord, answered_id
from assets.reverse_sync.onetrust_evidence import (
    EvidenceEcho,
    StreamedUpload,
    comparable,
    file_sha256,
    max_attachment_bytes,
    onetrust_list,
    row_items,
)
from assets.reverse_sync.onetrust_shapes import _instant, _iso, _json_type, _more_pages, _record_id
from assets.reverse_sync.policy import PROJECTX, VENDOR, Change, Field
from assets.reverse_sync.readback import onetrust_holds
from assets.reverse_sync.writes import Writes
from pipelines.common.http import VendorError
from pipelines.onetrust.helpers import OneTrustClient
from resources.evidence.select import library_dir
from resources.onetrust import OneTrustResource
from resources.scale_out import op_tags, pool
from resources.warehouse import WarehouseResource

log = logging.getLogger(__name__)

OUTBOUND = AssetKey(["outbound", "onetrust_control_attestations"])
KEY = AssetKey(["reverse_sync", "onetrust_control_attestations"])
IMPLEMENTATIONS = "/api/controls/v1/control-implementations"
LIBRARY = "/api/controls/v1/controls/pages"
MAX_ATTACHMENT_PAGES = 50  # pages of one attestation's attachment listing read at most


def attestation_path() -> str:
    return "/" + os.environ.get("ONETRUST_ATTESTATION_PATH", "/api/controls/v1/attestations").strip("/")


class OneTrustAttestationWriter:
    vendor = "onetrust"
    vendor_object = "attestation"
    reads = True
    keyed_creates = True  # a create is an upsert by externalId (our id): after a 404 it is sent, never held (engine)
    policy = {"result": Field(PROJECTX), "period_start": Field(PROJECTX), "period_end": Field(PROJECTX),
              "comment": Field(PROJECTX), "evidence": Field(PROJECTX), "owner": Field(PROJECTX),
              "control": Field(VENDOR), "library_control": Field(VENDOR), "attachments": Field(PROJECTX),
              # OneTrust keeps no status on an attestation (it is never closed): as a shared field, its missing
              # value read as a vendor-side change, a "vendor wins" conflict on every update and every close
              "status": Field(VENDOR)}

    def __init__(self, client: OneTrustClient, evidence_dir: str | None = None):
        self.client, self.session = client, client.session
        self.path = attestation_path()
        self.evidence_dir = Path(evidence_dir) if evidence_dir else library_dir()
        self._impl: dict[str, str] = {}
        self._planned: set[str] = set()  # implementations a plan of this run creates
        self._hashes: dict[Path, tuple[tuple[int, int], str]] = {}
        self._by_hash: dict[str, Path] = {}  # sha256 -> a local file with that content
        self._library: set[str] | None = None
        self._refused: set[str] = set()  # evidence references outside the store (warned about once)
        self._too_large: dict[str, str] = {}  # token in ``attachments`` -> why the file is not attached
        self._max_bytes = max_attachment_bytes()
        # Records are written several at once (runloop.py): one lock per control implementation, so
        # attestations of one control look it up and create it once; the library is read once.
        self._impl_locks: dict[str, threading.Lock] = defaultdict(threading.Lock)
        self._library_lock = threading.Lock()
        self._answers: dict[str, Any] = {}  # internal id -> the evidence its upsert's answer showed, until accepted
        self.echoes = EchoRecord()  # what OneTrust showed of the evidence we sent, kept across runs
        self.echo = EvidenceEcho(self.echoes)  # what desired() sent, to compare a read-back on what OneTrust shows
        self.uploads = AttachmentRecord()  # our uploads, kept across runs (a listing may show no hashes [unc])

    def bind(self, writes: Writes) -> None:
        """The run's warehouse connection (the engine calls this once): the records kept across runs live there."""
        self.uploads.bind(writes)
        self.echo.load(*self.echoes.bind(writes))

    def desired(self, row: dict[str, Any]) -> dict[str, Any]:
        library = f"ISO-{row['iso27001']}" if row.get("iso27001") else ""
        items = row_items(row)
        hashes: dict[int, str] = {}
        attach: set[str] = set()
        for n, item in enumerate(items):
            path = self._local(item.get("storage_uri") or "")
            if path is None:
                continue
            try:
                size = path.stat().st_size
            except OSError:  # removed since _local saw it: not attached this push, like a file never there
                continue
            if size > self._max_bytes:  # never read: refused with its reason (plan, dead letter)
                token = "too-large:" + hashlib.sha256(str(path).encode()).hexdigest()[:16]
                self._too_large[token] = (f"evidence file {path.name} is {size / 1e6:,.1f} MB ({size:,} bytes), "
                                          f"over the OneTrust attachment limit of {self._max_bytes / 1e6:g} MB "
                                          "(ONETRUST_ATTACHMENT_MAX_MB): not attached")
                attach.add(token)
                continue
            try:
                hashes[n] = self._sha256(path)
            except OSError as exc:  # unreadable (permissions, removed meanwhile): skipped with a warning, the
                log.warning("OneTrust attestations: evidence file %s could not be read (%s); not attached",
                            path.name, type(exc).__name__)  # push goes on for every other record
                continue
            attach.add(hashes[n])
        evidence = onetrust_list(items, hashes)
        self.echo.sent(row.get("attestation_id"), evidence)
        return {"control": row["control_id"], "library_control": library,
                "result": row["onetrust_result"], "period_start": _iso(row["period_start"]),
                "period_end": _iso(row["period_end"]), "comment": row["summary"],
                "evidence": comparable(evidence), "owner": row.get("owner") or "",
                "attachments": ",".join(sorted(attach))}

    def _snapshot(self, rec: dict[str, Any]) -> Snapshot:
        # parts of the wrong shape (an entry that is not an object, ``attestedBy: "bob"``) read as differing from
        # what we send, so the update puts them right, instead of crashing every run
        listed = rec.get("evidence") if isinstance(rec.get("evidence"), list) else []
        evidence = comparable(self.echo.shown(rec.get("externalId"), listed))
        by = rec.get("attestedBy") if isinstance(rec.get("attestedBy"), dict) else {}
        fields = {"result": rec.get("result"), "period_start": _instant(rec.get("periodStart")),
                  "period_end": _instant(rec.get("periodEnd")), "comment": rec.get("comment"), "evidence": evidence,
                  "owner": by.get("email") or "",
                  "attachments": ",".join(sorted(self.attached(str(rec["id"])) if rec.get("evidence") else ()))}
        return Snapshot(str(rec["id"]), rec.get("externalId"), fields, rec.get("lastModifiedDate"), None)

    def attached(self, attestation_id: str) -> set[str]:
        """sha256 of the files attached to an attestation at OneTrust."""
        path = f"{self.path}/{attestation_id}/attachments"
        everything: list[Any] = []
        previous: list[Any] | None = None
        for number in range(MAX_ATTACHMENT_PAGES):  # a listing paged like OneTrust's others [unc]: every page
            answer = self.client.request("GET", path, **({"params": {"page": number}} if number else {}))
            shapes.no_error_body(answer, f"GET {path}", "the attestation's attachments")  # not "none attached"
            listed = answer.get("content") if isinstance(answer, dict) else None
            if not isinstance(listed, list | None):  # taken as "none attached", every file was uploaded again
                raise VendorError(f"OneTrust answered GET {path} with {_json_type(answer)} whose 'content' is "
                                  f"{_json_type(listed)}, not a list of attachments; check ONETRUST_BASE_URL points "
                                  "at the OneTrust API", None)
            if number and (not listed or listed == previous):  # past the end, or a page served again
                break
            everything += listed or []
            previous = listed
            if not (isinstance(answer, dict) and _more_pages(answer, number)):
                break
        return self.uploads.held(attestation_id, everything)

    def prefetch(self, internal_ids: list[str]) -> dict[str, Snapshot]:
        wanted, found = set(internal_ids), {}
        for page in self.client.pages("GET", self.path, page_size=2000):
            for rec in page.items:  # an entry that is not an attestation (no object, no id) is none of ours
                ext = rec.get("externalId") if isinstance(rec, dict) and rec.get("id") else None
                if isinstance(ext, str) and ext in wanted and ext not in found:
                    found[ext] = self._snapshot(rec)
        return found

    def read(self, vendor_id: str, since: str | None) -> Snapshot | None:
        try:
            return self._snapshot(shapes.a_record(self.client.request("GET", f"{self.path}/{vendor_id}"),
                                                  f"GET {self.path}/{vendor_id}", "the attestation"))
        except VendorError as exc:
            if exc.status == 404:
                return None
            raise

    def steps(self, changes: list[Change], creating: bool) -> list[Step]:
        """[create_implementation] -> create | update -> [attach_evidence]; an attestation is never closed."""
        fields = [c for c in changes if c.field not in ("status", "attachments")]
        out: list[Step] = []
        values = {c.field: c.after for c in changes}
        if creating and fields and self._implementation_missing(f"projectx:{values['control']}"):
            out.append(("create_implementation", [Change("implementation", None, f"projectx:{values['control']}")]))
        if fields:
            out.append(("create" if creating else "update", fields))
        files = next((c for c in changes if c.field == "attachments"), None)
        if files is not None:
            have = set((files.before or "").split(",")) - {""}
            missing = sorted(set((files.after or "").split(",")) - {""} - have)
            if missing:
                out.append(("attach_evidence", [Change("file", None, self._too_large[h] if h in self._too_large
                                                       else self._by_hash[h].name) for h in missing]))
        return out

    def apply(self, step: Step, internal_id: str, vendor_id: str | None, desired: dict[str, Any],
              writes: Writes) -> tuple[str, str | None]:
        operation = step[0]
        if operation == "create_implementation":
            self.implementation(desired, internal_id, writes)
            return vendor_id, None  # type: ignore[return-value]  # the attestation has no id yet
        if operation == "attach_evidence":
            self.attach_files(str(vendor_id), desired["attachments"], internal_id, writes)
            return str(vendor_id), internal_id
        impl = self.implementation(desired, internal_id, writes)
        body = {"controlImplementationId": impl, "externalId": internal_id, "result": desired["result"],
                "periodStart": desired["period_start"], "periodEnd": desired["period_end"],
                "comment": desired["comment"], "evidence": json.loads(desired["evidence"]),
                "attestedBy": {"name": "Project X", "email": desired["owner"]}, "source": "Project X"}
        # Idempotent by externalId at OneTrust; sent once anyway, so an answer without the attestation
        # (an HTML page, a body without its id) is read back by externalId rather than failing the run.
        # An update is found only when the attestation shows what was sent: it existed before the write, so
        # finding it proves nothing else (a proxy answering 200 {} never passed the write on).
        look_up = (lambda: self._by_external_id(self.path, internal_id)) if operation == "create" else \
            (lambda: self._by_external_id(self.path, internal_id, body))

        def find() -> str | None:  # the answer parsed was not taken (another record's, unreadable): nothing kept
            self._answers.pop(internal_id, None)
            return look_up()
        self._answers.pop(internal_id, None)
        found = writes.once(self.session, "POST", self.path, json=body,
                            parse=lambda r: self._answered(r, body, internal_id),
                            find=find, what="attestation's id", verify=lambda found_id: self.client.request(
                                "GET", f"{self.path}/{found_id}").get("externalId") == internal_id,
                            operation=operation, object_id=str(vendor_id or internal_id), internal_id=internal_id,
                            idempotent=True)  # an upsert by externalId: sent again after no answer, never twice made
        if internal_id in self._answers:  # the answer taken (past the holder and verify checks): what it shows is kept
            self.echo.stored(internal_id, self._answers.pop(internal_id))
        return found, internal_id

    def _answered(self, response: Any, body: dict[str, Any], internal_id: str) -> str:
        """The attestation's id from the upsert's answer; what the record it answers shows of the evidence sent is
        kept (:class:`EvidenceEcho`) once the answer is taken for ours (:meth:`apply`, after the holder and verify
        checks; was: here, so a gateway replaying another attestation's answer kept that one's evidence for ours)."""
        found = _record_id(response, internal_id)
        self._answers[internal_id] = response.json().get("evidence")
        return found

    def _by_external_id(self, path: str, external_id: str, sent: dict[str, Any] | None = None) -> str | None:
        """The id of the record with this externalId (and, given ``sent``, holding its result, comment and
        period as sent), else None."""
        answer = self.client.request("GET", path, params={"externalId": external_id})
        found = answer.get("content") if isinstance(answer, dict) else None
        if not isinstance(answer, dict) or not isinstance(found, list | None) or \
                not all(isinstance(r, dict) for r in found or []):
            shape = (f"'content' as {_json_type(found)}" if isinstance(answer, dict) and not isinstance(found, list)
                     else "a 'content' list holding something other than objects" if isinstance(answer, dict)
                     else _json_type(answer))
            raise VendorError(f"OneTrust answered GET {path}?externalId={external_id} with {shape}, not a page of "
                              "records (an object whose 'content' is a list of objects); check ONETRUST_BASE_URL "
                              "points at the OneTrust API", None)
        match = [r for r in found or [] if r.get("externalId") == external_id and r.get("id")
                 and (sent is None or onetrust_holds(r, sent))]
        return str(match[0]["id"]) if match else None

    def _implementation_missing(self, ext: str) -> bool:
        """True for the first attestation of this run whose control has no implementation at OneTrust."""
        with self._impl_locks[ext]:
            return self._implementation_missing_locked(ext)

    def _implementation_missing_locked(self, ext: str) -> bool:
        if ext in self._impl or ext in self._planned:
            return False
        found = self._by_external_id(IMPLEMENTATIONS, ext)  # matched by externalId: an unfiltered answer is not it
        if found:
            self._impl[ext] = found
            return False
        self._planned.add(ext)
        return True

    def implementation(self, desired: dict[str, Any], internal_id: str, writes: Writes) -> str:
        """The control implementation of a Project X control, created once (upsert by externalId)."""
        ext = f"projectx:{desired['control']}"
        with self._impl_locks[ext]:
            return self._implementation_locked(ext, desired, internal_id, writes)

    def _implementation_locked(self, ext: str, desired: dict[str, Any], internal_id: str, writes: Writes) -> str:
        if ext not in self._impl:
            found = self._by_external_id(IMPLEMENTATIONS, ext)
            if found:
                self._impl[ext] = found
            else:
                body = {"name": f"Project X automated control {desired['control']}", "externalId": ext,
                        "status": "IMPLEMENTED", "source": "Project X",
                        "description": "Evaluated in SQL by Project X from synced vendor data."}
                if desired["library_control"] in self.library():
                    body["controlIdentifier"] = desired["library_control"]
                self._impl[ext] = writes.once(self.session, "POST", IMPLEMENTATIONS, json=body,
                                              parse=lambda r: shapes.implementation_answered(
                                                  self.client, r, ext, IMPLEMENTATIONS),
                                              find=lambda: self._by_external_id(IMPLEMENTATIONS, ext),
                                              what="implementation's id", operation="create_implementation",
                                              object_id=ext, internal_id=internal_id,
                                              idempotent=True)  # an upsert by externalId too
        return self._impl[ext]

    def library(self) -> set[str]:
        with self._library_lock:
            if self._library is None:
                self._library = {str(c.get("identifier"))
                                 for page in self.client.pages("POST", LIBRARY, page_size=2000) for c in page.items}
        return self._library

    def attach_files(self, attestation_id: str, attachments: str, internal_id: str, writes: Writes) -> None:
        """Upload the evidence files (by sha256, ``attachments``) not yet attached, each once (listed first),
        streamed from disk; then a file refused for its size dead-letters the attestation with the reason."""
        wanted = sorted(set((attachments or "").split(",")) - {""})
        if not wanted:
            return
        refused = [self._too_large[h] for h in wanted if h in self._too_large]
        uploads = [h for h in wanted if h not in self._too_large]
        have = self.attached(attestation_id) if uploads else set()
        for digest in uploads:
            if digest in have:
                continue
            body = StreamedUpload(self._by_hash[digest])
            self.uploads.sending(attestation_id, digest, self._by_hash[digest].name, body.size)
            try:
                writes.once(self.session, "POST", f"{self.path}/{attestation_id}/attachments", data=body,
                            headers={"Content-Type": body.content_type},
                            parse=lambda response, d=digest: self.uploads.answered(
                                attestation_id, d, answered_id(response)) or attestation_id,
                            find=lambda d=digest: attestation_id if d in self.attached(attestation_id) else None,
                            what="attachment", operation="attach_evidence", object_id=attestation_id,
                            internal_id=internal_id)
            finally:
                body.close()
            have.add(digest)
        if refused:  # a record-level refusal (413): dead-lettered with the reason, the breaker counts nothing
            raise VendorError("onetrust: " + "; ".join(refused), 413)

    def _sha256(self, path: Path) -> str:
        """The file's sha256 (read in blocks), kept while its size and modification time stay the same."""
        st = path.stat()
        key = (st.st_size, st.st_mtime_ns)
        cached = self._hashes.get(path)
        if cached is None or cached[0] != key:
            cached = self._hashes[path] = (key, file_sha256(path))
        self._by_hash.setdefault(cached[1], path)
        return cached[1]

    def _local(self, uri: str) -> Path | None:
        """The evidence file a reference names, only if it lies in the evidence store (links resolved): the
        references are built from evidence titles, vendor file names, so ``x </etc/passwd> | y`` named a file
        outside it, and any file the worker could read was uploaded to OneTrust. A ``file://`` URI is decoded
        (the local store writes them percent-encoded: a store under ``/data/Project X`` was never attached)."""
        raw = unquote(uri[len("file://"):]) if uri.startswith("file://") else uri
        if not raw or "\x00" in raw:
            return None
        root = self.evidence_dir.resolve()
        try:
            path = (Path(raw) if raw.startswith("/") else root / raw).resolve()
        except (OSError, RuntimeError, ValueError):  # a link loop, a name the file system refuses
            return None
        if not path.is_relative_to(root):
            if raw not in self._refused:
                self._refused.add(raw)
                log.warning("OneTrust attestations: an evidence reference names a file outside the evidence store "
                            "(PROJECTX_EVIDENCE_DIR); it is not attached")
            return None
        return path if path.is_file() else None


@asset(
    key=KEY, deps=[OUTBOUND], group_name="reverse_sync", kinds={"onetrust", "python"},
    pool=pool("reverse_sync", "onetrust"), op_tags=op_tags("reverse_sync"),
    description=(
        "Control attestations exported to OneTrust (one per control and month, on the control's "
        "implementation), idempotent by OneTrust externalId; failed writes wait in reverse_sync.dead_letters; "
        "config dry_run plans without writing."
    ),
)
def onetrust_attestation_push(context: AssetExecutionContext, config: ReverseSyncConfig, onetrust: OneTrustResource,
                              warehouse: WarehouseResource) -> MaterializeResult:
    paused = paused_by_flag(context, "onetrust")
    if paused is not None:
        return paused
    client = onetrust.client()
    try:
        return run_sync(context, warehouse, OneTrustAttestationWriter(client), table="onetrust_control_attestations",
                        key="attestation_id", config=config)
    finally:
        client.close()


@asset_check(asset=KEY, description="No OneTrust attestation is waiting in the dead-letter table.")
def onetrust_attestations_no_dead_letters(warehouse: WarehouseResource) -> AssetCheckResult:
    return no_dead_letters(warehouse, "onetrust")
