"""The evidence of a OneTrust attestation: read from the outbound mart, sent as OneTrust's evidence list.

The mart (``outbound.onetrust_control_attestations``) carries the evidence items as data, ``evidence_json``: a
JSON array of ``{evidence_id, title, storage_uri, sha256}``. Titles are vendor file names, so the text column
``evidence_refs`` (``title <uri> | title <uri>``) cannot be split back reliably (a title holding `` | `` or
`` <``); it is read only from a warehouse built before ``evidence_json`` existed, until ``dbt build`` runs.

OneTrust is sent each item's title, evidence id and sha256 (``{"name", "evidenceId", "sha256"}``, plus ``url``
for a web link only): never a ``file://`` path or a store location of the worker.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import uuid
from typing import Any

log = logging.getLogger(__name__)

ITEM_KEYS = ("evidence_id", "title", "storage_uri", "sha256")
# OneTrust states no attachment size limit (vendor-apis.md §3.6 has no attestation API at all) [unc]; the
# sandbox answers 413 above 10 MiB. A file above this is refused before it is read: a reason, not a crash.
DEFAULT_MAX_MB = 100.0


class EvidenceColumnMissing(ValueError):
    """A mart row with neither ``evidence_json`` nor ``evidence_refs``."""


def max_attachment_bytes() -> int:
    """``ONETRUST_ATTACHMENT_MAX_MB`` (default 100, in MB of 1,000,000 bytes) as bytes."""
    raw = os.environ.get("ONETRUST_ATTACHMENT_MAX_MB", "").strip()
    try:
        value = float(raw) if raw else DEFAULT_MAX_MB
    except ValueError:
        raise ValueError(f"ONETRUST_ATTACHMENT_MAX_MB must be a number of megabytes, not {raw!r}") from None
    if not 0 < value <= 1_000_000:  # also refuses nan and inf (int() of inf raised OverflowError)
        raise ValueError(f"ONETRUST_ATTACHMENT_MAX_MB must be a number of megabytes above 0 and at most 1000000, "
                         f"not {raw!r}")
    return int(value * 1_000_000)


def refs_items(refs: str | None) -> list[dict[str, str | None]]:
    """The legacy text ``title <uri> | title <uri>`` as items (ambiguous for titles holding `` | `` or `` <``)."""
    out: list[dict[str, str | None]] = []
    for ref in [r.strip() for r in (refs or "").split(" | ") if r.strip()]:
        name, _, rest = ref.rpartition(" <")
        out.append({"evidence_id": None, "title": name or ref, "storage_uri": rest.rstrip(">") if name else "",
                    "sha256": None})
    return out


def row_items(row: dict[str, Any]) -> list[dict[str, str | None]]:
    """The evidence items of a mart row: ``evidence_json`` when the mart has it, else (a warehouse built before
    it) the text ``evidence_refs``. A value that is not a JSON array of objects is an error naming the rebuild."""
    if "evidence_json" not in row:
        if "evidence_refs" not in row:
            raise EvidenceColumnMissing("outbound.onetrust_control_attestations has no evidence_json column: run "
                                        "`dbt build -s onetrust_control_attestations` to rebuild it")
        return refs_items(row.get("evidence_refs"))
    raw = row.get("evidence_json")
    if raw is None or raw == "":
        return []
    try:
        items = json.loads(raw) if isinstance(raw, str | bytes) else raw
    except ValueError:
        items = None
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise ValueError("outbound.onetrust_control_attestations.evidence_json is not a JSON array of objects: "
                         "run `dbt build -s onetrust_control_attestations` to rebuild it")
    return [{k: (None if i.get(k) is None else str(i.get(k))) for k in ITEM_KEYS} for i in items]


def _web(uri: str | None) -> bool:
    return bool(uri) and str(uri).lower().startswith(("https://", "http://"))


def onetrust_list(items: list[dict[str, Any]], hashes: dict[int, str] | None = None) -> list[dict[str, str]]:
    """OneTrust's evidence list: title, evidence id and sha256 (``hashes``: by position, of the local files
    hashed by the push when the mart has none), a ``url`` only for a web link; no worker path."""
    out = []
    for n, item in enumerate(items):
        entry = {"name": str(item.get("title") or item.get("evidence_id") or "evidence")}
        if item.get("evidence_id"):
            entry["evidenceId"] = str(item["evidence_id"])
        sha = item.get("sha256") or (hashes or {}).get(n)
        if sha:
            entry["sha256"] = str(sha)
        if _web(item.get("storage_uri")):
            entry["url"] = str(item["storage_uri"])
        out.append(entry)
    return out


def comparable(listed: list[Any]) -> str:
    """An evidence list (ours or OneTrust's) as one text to compare: entries of the wrong shape kept as JSON."""
    keys = ("name", "evidenceId", "sha256", "url")
    return json.dumps([{k: e.get(k) for k in keys if e.get(k) not in (None, "")} if isinstance(e, dict) else e
                       for e in listed], sort_keys=True, default=str, ensure_ascii=False)


# Parts of an evidence entry OneTrust may keep and not show again [unc: no attestation API is published, so
# whether a tenant echoes the ids and hashes it was sent is a guess; the sandbox does].
MAYBE_NOT_ECHOED = ("evidenceId", "sha256")


def shown_keys(listed: list[Any]) -> set[str]:
    """Which of :data:`MAYBE_NOT_ECHOED` a read-back shows on at least one of its entries."""
    return {key for e in listed if isinstance(e, dict) for key in MAYBE_NOT_ECHOED if e.get(key) not in (None, "")}


def as_sent_if_echoed(listed: list[Any], sent: list[dict[str, str]] | None,
                      echoed: set[str] | frozenset[str] = frozenset()) -> tuple[list[Any], list[str]]:
    """The evidence list OneTrust shows, for comparing with the list ``sent`` (what the push sends now): where
    it shows the same entries in the same order, each with the name and url sent and, of ``evidenceId`` and
    ``sha256``, only values equal to those sent or none, it holds what was sent, so ``sent`` is returned
    with the parts it left out (compared on what is echoed: a read-back without them differed on every run
    and rewrote the attestation each time). A part counts as left out only if OneTrust shows it on no entry
    of this read-back and on none of ``echoed`` (the parts other read-backs of the run showed): where it shows
    one, an entry without it is a difference (an id or hash added to an entry since the last push).
    Otherwise, or with no ``sent``, ``listed`` is returned as shown."""
    if sent is None or len(listed) != len(sent):
        return listed, []
    echoes = shown_keys(listed) | set(echoed)
    omitted: set[str] = set()
    for shown, ours in zip(listed, sent, strict=True):
        if not isinstance(shown, dict):
            return listed, []
        for key in ("name", "url", *MAYBE_NOT_ECHOED):
            have, want = shown.get(key), ours.get(key)
            if have in (None, "") and want not in (None, "") and key in MAYBE_NOT_ECHOED and key not in echoes:
                omitted.add(key)
            elif (have if have not in (None, "") else None) != (want if want not in (None, "") else None):
                return listed, []
    return (sent if omitted else listed), sorted(omitted)


def form(listed: list[Any]) -> str:
    """A digest of an evidence list as compared (:func:`comparable`): what a persistent record keeps of it."""
    # a lone surrogate OneTrust may show (JSON's "\\ud800") has no UTF-8 form: hashed as is, never a crash
    return hashlib.sha256(comparable(listed).encode("utf-8", "surrogatepass")).hexdigest()


class EvidenceEcho:
    """The evidence lists this run sends, by attestation id, and the read-backs that left parts of them out.

    Kept across runs (``record``: :class:`assets.reverse_sync.onetrust_attachments.EchoRecord`; None keeps nothing):

    - :attr:`forms`: per attestation, the list we last sent it and what OneTrust showed for that list (the
      answer to our write, or a read-back judged to hold it). A read-back showing that again for the same list
      holds it, whatever other attestations show. Before, the decision rested on the parts the run's read-backs
      had shown so far: a tenant keeping no hashes, reading first an attestation someone had given a hash,
      rewrote every attestation it read after it, and did again on each later run that planned them.
    - :attr:`echoed`: the parts any read-back has shown, this run or an earlier one: an id added to an entry is
      sent on a run that reads only attestations without ids (was: taken for "not echoed" and never sent).
    """

    def __init__(self, record: Any = None) -> None:
        self._sent: dict[str, list[dict[str, str]]] = {}
        self.unechoed: dict[str, list[str]] = {}  # attestation id -> the parts its read-back left out
        self.echoed: set[str] = set()  # the parts (evidenceId, sha256) read-backs showed (this run and earlier)
        self.forms: dict[str, tuple[str, str]] = {}  # attestation id -> (form sent, form OneTrust showed for it)
        self.record = record
        self._lock = threading.Lock()

    def load(self, forms: dict[str, tuple[str, str]], echoed: set[str]) -> None:
        self.forms, self.echoed = dict(forms), set(echoed)

    def sent(self, attestation_id: Any, evidence: list[dict[str, str]]) -> None:
        if attestation_id is not None:
            self._sent[str(attestation_id)] = evidence

    def stored(self, attestation_id: str, answered: Any) -> None:
        """What OneTrust's answer to our write shows of the evidence list sent (nothing when it shows no list)."""
        sent = self._sent.get(attestation_id)
        if sent is not None and isinstance(answered, list):
            self._remember(attestation_id, sent, answered)

    def _remember(self, attestation_id: str, sent: list[Any], listed: list[Any]) -> None:
        pair = (form(sent), form(listed))
        with self._lock:
            if self.forms.get(attestation_id) == pair:
                return
            self.forms[attestation_id] = pair
        if self.record is not None:
            self.record.save_form(attestation_id, *pair)

    def shown(self, attestation_id: Any, listed: list[Any]) -> list[Any]:
        """``listed`` compared on what OneTrust echoes: as sent when it is what OneTrust showed for this very list
        before (:attr:`forms`), else :func:`as_sent_if_echoed` with the parts read-backs showed; a read-back that
        leaves out evidence ids or hashes is logged (once a run) and noted in :attr:`unechoed`: the assumption
        that OneTrust keeps them [unc] is checked on every read, not taken on trust."""
        if not isinstance(attestation_id, str):
            return listed
        sent = self._sent.get(attestation_id)
        if isinstance(listed, list):
            with self._lock:
                new = shown_keys(listed) - self.echoed
                self.echoed |= new
            if new and self.record is not None:
                self.record.save_shown(sorted(new), attestation_id)
        if sent is not None and isinstance(listed, list) and self.forms.get(attestation_id) == (form(sent),
                                                                                             form(listed)):
            return sent  # what OneTrust showed after our last write of this very list: nobody changed it since
        shown, omitted = as_sent_if_echoed(listed, sent, self.echoed)
        # Held, kept so it holds on later runs, only when nothing was assumed: a read-back judged to hold the list
        # because it leaves out a part no read-back has shown yet is a guess [unc], checked again on each read
        # (kept, it held for ever: once another read-back showed that part, the ids were still never sent).
        if sent is not None and not omitted and comparable(shown) == comparable(sent):
            self._remember(attestation_id, sent, listed)
        if omitted:
            if not self.unechoed:
                log.warning("OneTrust attestations: the read-back of attestation %s leaves out %s of its evidence; "
                            "compared on the parts it shows (name, url and any id or hash it does show)",
                            attestation_id, " and ".join(omitted))
            self.unechoed[attestation_id] = omitted
        return shown


def file_sha256(path: Any) -> str:
    """A file's sha256, read in blocks (an evidence file may be large)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


class StreamedUpload:
    """A ``multipart/form-data`` body of one file part, read from disk as it is sent (``data=`` of a request,
    with :attr:`content_type` as its Content-Type), never held in memory. requests' ``files=`` builds the
    whole body in memory, and a file object there sent again after a retry is empty (read to its end).
    requests measures a body once per send (``len``): each send starts again from its first byte."""

    def __init__(self, path: Any, field: str = "file", filename: str | None = None):
        self.path = path
        self.boundary = uuid.uuid4().hex
        name = filename if filename is not None else os.path.basename(str(path))
        # HTML5-style escaping, as urllib3 writes file names [unc: how OneTrust reads non-ASCII names]
        safe = name.replace("\\", "\\\\").replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")
        self._head = (f"--{self.boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; "
                      f"filename=\"{safe}\"\r\nContent-Type: application/octet-stream\r\n\r\n").encode()
        self._tail = f"\r\n--{self.boundary}--\r\n".encode()
        self._size = os.path.getsize(path)
        self._fh: Any = None
        self._part, self._buf = 0, b""

    @property
    def size(self) -> int:
        """The file's size in bytes (as sent)."""
        return self._size

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    def __len__(self) -> int:
        self.close()  # a new send: from the first byte again
        return len(self._head) + self._size + len(self._tail)

    def __iter__(self) -> Any:
        while block := self.read(1 << 16):
            yield block

    def read(self, size: int = -1) -> bytes:
        chunks, count = [], 0
        while size < 0 or count < size:
            if not self._buf:
                self._buf = self._next()
                if not self._buf:
                    break
            take = self._buf if size < 0 else self._buf[:size - count]
            self._buf = self._buf[len(take):]
            chunks.append(take)
            count += len(take)
        return b"".join(chunks)

    def _next(self) -> bytes:
        if self._part == 0:
            self._part, self._fh = 1, open(self.path, "rb")  # noqa: SIM115  # closed at its end or by close()
            return self._head
        if self._part == 1:
            block = self._fh.read(1 << 16)
            if block:
                return block
            self._fh.close()
            self._fh, self._part = None, 2
        if self._part == 2:
            self._part = 3
            return self._tail
        return b""

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
        self._fh, self._part, self._buf = None, 0, b""
