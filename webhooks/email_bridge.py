"""The inbound e-mail bridge (spec 2.5): an SMTP listener for partners without an API.

Mail to a mapped address (``EMAIL_BRIDGE_ADDRESSES="servicenow-ingest@projectx.io=servicenow,..."``)
becomes evidence: the parsed body and each attachment pass the Evidence Library like a vendor
attachment (size and type limits, ClamAV scan, metadata, classification, then the configured store;
``resources/evidence``), tagged ``source:email``, ``source_email:<sender>`` and ``adapter:<name>``, and
are written as rows to the bridge's own spool (SQLite in WAL mode,
``PROJECTX_EMAIL_BRIDGE_DB``, default ``data/email_bridge.sqlite``): the long-running service never
writes the warehouse. The ``email_bridge/inbound`` asset copies the spool into the warehouse, where
``marts.evidence`` picks it up. Grain of ``evidence``: one row per body or attachment of a message,
tagged with the sender's address. A message that does not parse goes to ``quarantine`` with its
reason and raw bytes: never dropped; so does each part the library quarantines (infected or over the
limits: its bytes stay in the library's quarantine folder, no evidence row, nothing links it). When the
library cannot finish a part (scanner or store down), the message is refused with 451 and the
partner's mail server retries it. Mail to an unmapped address is refused (550) at RCPT.
Inbound mail is hostile input: MIME past the limits of ``webhooks/email_mime.py`` (parts, nesting,
header bytes) is quarantined before it costs time; a Message-ID seen before from the same sender (From)
is stored once when its content matches (a retry) and quarantined when it does not (the first copy
stands); the same Message-ID from another sender is another message (``webhooks/email_limits.py``: a
forger cannot pre-empt a partner's Message-ID); a From that differs
from the envelope sender is tagged ``envelope_from:<address>``; nothing here authenticates a sender (no
SPF/DKIM: the relay in front should), so ``EMAIL_BRIDGE_ALLOWED_SENDERS`` (addresses and ``@domain``s)
names who may send evidence: a message whose From or envelope sender is not on it is quarantined with
that reason (kept for review, never stored as evidence); unset, anyone who reaches the port may, and the
bridge says so in its log when it starts; a second From or Message-ID, or two
mailboxes in From, is quarantined as ambiguous; evidence types are what the library sniffed, never what
the sender declared. Quarantine is bounded (``webhooks/email_limits.py``): past the rejected messages or
bytes a peer or envelope sender may leave in an hour the DATA is answered 450 (past the total, 452), so the
sending server retries later and nothing is stored or lost.

The SMTP side (RCPT, DATA, 451/421 replies, the connection limit, logging) is ``webhooks/email_smtp.py``.

    bridge = EmailBridge(addresses={"servicenow-ingest@projectx.io": "servicenow"}).start()
    ... bridge.port ...; bridge.stop()
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import sqlite3
import threading
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import parseaddr
from pathlib import Path
from typing import Any

from pipelines.common.evidence import evidence_root, store_evidence
from resources.evidence.library import EvidenceLibrary
from webhooks import email_mime
from webhooks.email_limits import QuarantineLimits, claim
from webhooks.email_smtp import (
    IDLE_TIMEOUT,
    MAX_SESSION_SECONDS,
    MAX_SESSIONS,
    MAX_SESSIONS_PER_PEER,
    LibraryUnavailable,
    start_listener,
)

log = logging.getLogger(__name__)
MAX_MESSAGE_BYTES = 25 * 1024 * 1024
FATAL_DEFECTS = ("StartBoundaryNotFoundDefect", "CloseBoundaryNotFoundDefect", "MultipartInvariantViolationDefect",
                 "MissingHeaderBodySeparatorDefect", "InvalidBase64PaddingDefect", "InvalidBase64CharactersDefect",
                 "InvalidBase64LengthDefect")
SCHEMA = (
    """create table if not exists evidence (evidence_id text primary key, message_key text not null,
       bridge_address text not null, adapter text not null, source_email text, subject text,
       evidence_type text not null, title text, content_type text, size_bytes integer, sha256 text not null,
       storage_uri text not null, tags text not null, received_at text not null)""",
    """create table if not exists quarantine (quarantine_id text primary key, bridge_address text,
       source_email text, reason text not null, sha256 text not null, storage_uri text not null,
       received_at text not null)""",
    """create table if not exists messages (message_key text primary key, fingerprint text not null,
       received_at text not null)""",
)


def addresses_from_env(value: str | None = None) -> dict[str, str]:
    """``addr=adapter,addr=adapter`` → {address: adapter}; a clear error for a malformed entry."""
    text = value if value is not None else os.environ.get("EMAIL_BRIDGE_ADDRESSES", "")
    mapping: dict[str, str] = {}
    for entry in filter(None, (e.strip() for e in text.split(","))):
        address, sep, adapter = entry.partition("=")
        if not sep or "@" not in address or not adapter.strip():
            raise ValueError(f"EMAIL_BRIDGE_ADDRESSES entry {entry!r} is not address=adapter "
                             "(e.g. servicenow-ingest@projectx.io=servicenow)")
        mapping[address.strip().lower()] = adapter.strip()
    return mapping


def allowed_senders_from_env(value: str | None = None) -> frozenset[str] | None:
    """``EMAIL_BRIDGE_ALLOWED_SENDERS``: addresses and ``@domain`` entries (``,``, ``;`` or space separated),
    lower-cased; None when unset or empty (every sender allowed). A clear error for an entry that is
    neither."""
    text = value if value is not None else os.environ.get("EMAIL_BRIDGE_ALLOWED_SENDERS", "")
    entries = frozenset(e.strip().lower() for e in text.replace(";", " ").replace(",", " ").split() if e.strip())
    for entry in entries:
        _, at, domain = entry.partition("@")
        if not at or not domain or "." not in domain or "@" in domain:
            raise ValueError(f"EMAIL_BRIDGE_ALLOWED_SENDERS entry {entry!r} is neither an address "
                             "(partner@vendor.example) nor a domain (@vendor.example)")
    return entries or None


def sender_allowed(allowed: frozenset[str] | None, address: str) -> bool:
    """``address`` is on the list by itself or by its domain (``@vendor.example``); a subdomain is not."""
    if allowed is None:
        return True
    address = address.strip().lower()
    return bool(address) and (address in allowed or "@" + address.rpartition("@")[2] in allowed)


def spool_path() -> Path:
    from pipelines.common.warehouse import WarehouseSettings

    return Path(os.environ.get("PROJECTX_EMAIL_BRIDGE_DB") or
                Path(WarehouseSettings.from_env().data_dir) / "email_bridge.sqlite")


def open_spool(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), timeout=30, check_same_thread=False)
    conn.execute("pragma journal_mode=wal")
    for statement in SCHEMA:
        conn.execute(statement)
    conn.commit()
    return conn


def _now() -> str:
    return datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="seconds")


def parse_problem(msg: EmailMessage) -> str | None:
    """Why a message cannot become evidence, or None when it can. Called again once the parts are
    decoded: invalid base64 is only found (as a defect) while decoding."""
    defects = [type(d).__name__ for part in msg.walk() for d in part.defects]
    fatal = [d for d in defects if d in FATAL_DEFECTS]
    if fatal:
        return f"malformed MIME ({', '.join(sorted(set(fatal)))}): resend the message from a standard mail client"
    ambiguous = email_mime.ambiguity(msg)
    if ambiguous:
        return ambiguous
    if not _from_address(msg):
        return "no sender address in From: the partner's mail must name its sender"
    return None


def _from_address(msg: EmailMessage) -> str:
    return parseaddr(" ".join(email_mime.raw_headers(msg, "From")))[1]


class EmailBridge:
    """The listener plus the spool writer; `receive()` is the same path without SMTP."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, addresses: dict[str, str] | None = None,
                 spool: Path | None = None, evidence_dir: Path | None = None,
                 library: EvidenceLibrary | None = None, allowed_senders: frozenset[str] | None = None,
                 quarantine_limits: QuarantineLimits | None = None) -> None:
        self.host, self.port = host, port
        mapping = addresses if addresses is not None else addresses_from_env()
        self.addresses = {k.lower(): v for k, v in mapping.items()}
        self.allowed_senders = allowed_senders if allowed_senders is not None else allowed_senders_from_env()
        self.spool = spool or spool_path()
        self.evidence_dir = evidence_dir or evidence_root()
        self._library = library
        self._lock = threading.Lock()
        self._db = open_spool(self.spool)
        self.quarantine_limits = quarantine_limits or QuarantineLimits()
        self.quarantine_limits.attach(self._db, self.evidence_dir / "email-quarantine")
        self._controller: Any = None
        # SMTP limits (webhooks/email_smtp.py); open sessions by peer address, on the listener's loop only
        self.max_sessions, self.max_sessions_per_peer = MAX_SESSIONS, MAX_SESSIONS_PER_PEER
        self.idle_timeout, self.max_session_seconds = IDLE_TIMEOUT, MAX_SESSION_SECONDS
        self._peers: dict[str, int] = {}

    @property
    def library(self) -> EvidenceLibrary:
        """The library as configured (store, clamd, ledger; a local store lives in evidence_dir), built on
        the first message: a store that cannot be reached then refuses mail with 451, not the service."""
        if self._library is None:
            self._library = EvidenceLibrary.cached(local_root=self.evidence_dir)
        return self._library

    def start(self) -> EmailBridge:
        if self._controller is None:
            self._controller = start_listener(self, MAX_MESSAGE_BYTES)
            self.port = self._controller.port
            if self.allowed_senders is None:
                log.warning("EMAIL_BRIDGE_ALLOWED_SENDERS is not set: anyone who reaches port %s may send evidence "
                            "under any From; set it to the partners' addresses or @domains", self.port)
        return self

    def stop(self) -> None:
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()
        with self._lock:
            self._db.close()

    def receive(self, raw: bytes, mail_from: str, rcpt_tos: list[str], peer: str | None = None) -> list[str]:
        """Turn one message into evidence rows (or a quarantine row); returns the evidence ids. Raises
        QuarantineRefused (its reply a 4xx) for a rejected message past the quarantine bounds."""
        received = _now()
        try:
            email_mime.precheck(raw)
            msg = BytesParser(policy=policy.default).parsebytes(raw)
            email_mime.check_structure(msg)  # type: ignore[arg-type]
            problem = parse_problem(msg)  # type: ignore[arg-type]
            parts = None if problem else email_mime.parts(msg)  # type: ignore[arg-type]
            problem = problem or parse_problem(msg)  # type: ignore[arg-type]
            if problem is None and parts:
                sender, subject, message_key, fingerprint, by_id = self._identity(msg, raw, mail_from, parts)
        except email_mime.MimeLimit as exc:
            problem, parts = str(exc), None
        except RecursionError:
            problem, parts = (f"MIME parts nested too deep to parse (limit {email_mime.MAX_DEPTH}): resend it flat",
                              None)
        except Exception as exc:  # a header or part the parser cannot decode
            problem, parts = f"unparseable message ({type(exc).__name__}): resend it as standard MIME", None
        if problem is None and not parts:
            problem = "no body text and no attachments: nothing to keep as evidence"
        if problem is not None or parts is None:
            return self._quarantine(raw, mail_from, rcpt_tos, str(problem), received, peer)
        envelope = email_mime.clean_text(mail_from.lower())
        stranger = next((a for a in (sender, envelope or sender) if not sender_allowed(self.allowed_senders, a)), None)
        if stranger is not None:
            reason = (f"sender {stranger or '(none)'} is not on EMAIL_BRIDGE_ALLOWED_SENDERS: add the address "
                      "(or @domain) there if this partner may send evidence, and have it resent (the raw message "
                      "is kept here)")
            return self._quarantine(raw, mail_from, rcpt_tos, reason, received, peer)
        # the From header is whatever the sender wrote: the envelope sender is kept beside it when they differ
        spoof = (f"envelope_from:{envelope}",) if envelope and envelope != sender else ()
        ids: list[str] = []
        # Checked and claimed under one hold of the lock: messages are received on worker threads, so two
        # copies with one Message-ID and different content may arrive together; the first claims the key,
        # the other is quarantined. The fingerprint commits with the first copy's rows (or with the parts
        # done before a 451). A Message-ID is claimed per sender (email_limits.claim): ``seed_key``.
        with self._lock:
            try:
                seed_key, reused = claim(self._db, sender, message_key, fingerprint, received, by_id)
                for rcpt in () if reused else rcpt_tos:
                    adapter = self.addresses[rcpt.lower()]
                    for index, (kind, title, ctype, content) in enumerate(parts):
                        seed = f"{seed_key}|{rcpt.lower()}|{index}"
                        evidence_id = "email-" + hashlib.sha256(seed.encode()).hexdigest()[:32]
                        outcome = self.library.ingest(content, title, "email", (f"source_email:{sender}",
                                                      f"adapter:{adapter}", *spoof), source_ref=evidence_id)
                        if outcome.status == "quarantined":
                            self._quarantine_part(outcome, evidence_id, rcpt, sender, received)
                            continue
                        if outcome.status != "stored":
                            raise LibraryUnavailable(f"{title!r} from {sender} not stored: {outcome.reason}")
                        self._db.execute(
                            "insert or ignore into evidence values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            (evidence_id, message_key, rcpt.lower(), adapter, sender, subject, kind, title,
                             self._stored_type(ctype, outcome), len(content), outcome.sha256, outcome.storage_uri,
                             ",".join(outcome.tags), received))
                        ids.append(evidence_id)
            finally:  # before a 451 or any error too: the parts done so far stay (their ids make the
                self._db.commit()  # retry a no-op) and no open transaction is left to the next message
        if reused:
            reason = (f"Message-ID {message_key} was already received with different content: held for review, "
                      "the first copy stands (a partner reusing Message-IDs, or a forgery)")
            return self._quarantine(raw, mail_from, rcpt_tos, reason, received, peer)
        return ids

    @staticmethod
    def _identity(msg: EmailMessage, raw: bytes, mail_from: str, parts: list) -> tuple[str, str, str, str, bool]:
        """(sender, subject, message key, fingerprint, keyed by Message-ID). Message-ID and Date are read
        raw: the structured parser raises on some Message-IDs, and the key needs only the text the sender
        wrote."""
        sender = email_mime.clean_text(_from_address(msg).lower() or mail_from.lower())
        subject = email_mime.subject(msg)
        fingerprint = email_mime.fingerprint(sender, subject, parts)
        # Without a Message-ID the key is what the sender wrote (sender, subject, parts, Date), not the raw
        # bytes: a copy resent through another relay differs only in the headers relays add, and is one message.
        # Without a Date either, nothing tells a resend from next week's identical report: the raw bytes then.
        date = email_mime.clean_text(" ".join(email_mime.raw_headers(msg, "Date")))
        message_id = " ".join(email_mime.raw_headers(msg, "Message-ID"))
        if len(message_id) > 900:  # cut, two long Message-IDs alike up to the cut would be one message
            message_id = message_id[:800] + "\u2026sha256:" + hashlib.sha256(
                message_id.encode("utf-8", "surrogatepass")).hexdigest()
        message_id = email_mime.clean_text(message_id)
        message_key = (message_id
                       or ("content:" + hashlib.sha256(f"{fingerprint}|{date}".encode("utf-8", "surrogatepass"))
                           .hexdigest() if date else "sha256:" + hashlib.sha256(raw).hexdigest()))
        return sender, subject, message_key, fingerprint, bool(message_id)

    def _quarantine_part(self, outcome, evidence_id: str, rcpt: str, sender: str, received: str) -> None:
        """A part the library quarantined: a quarantine row for review (the bytes stay in its folder)."""
        where = (self.library.quarantine_dir / outcome.sha256).resolve().as_uri()
        self._db.execute("insert or ignore into quarantine values (?, ?, ?, ?, ?, ?, ?)",
                         ("emailq-" + evidence_id.removeprefix("email-"), rcpt.lower(), sender,
                          f"attachment {outcome.filename!r}: {outcome.reason}; held by the Evidence Library",
                          outcome.sha256, where, received))

    @staticmethod
    def _stored_type(declared: str, outcome) -> str:
        """The type the library sniffed from the bytes, not the one the sender declared (an HTML body is
        stored as text, never served as a page); a forwarded message stays ``message/rfc822``."""
        sniffed = outcome.metadata.get("mime_type") or "application/octet-stream"
        return declared if declared == "message/rfc822" else sniffed

    def _quarantine(self, raw: bytes, mail_from: str, rcpt_tos: list[str], reason: str, received: str,
                    peer: str | None = None) -> list[str]:
        envelope = email_mime.clean_text(mail_from.lower(), 320)
        with self._lock:  # past a bound: QuarantineRefused (a 4xx), nothing stored
            self.quarantine_limits.admit(self._db, peer, envelope, hashlib.sha256(raw).hexdigest(), len(raw))
            self._db.commit()
        digest, uri = store_evidence("email-quarantine", raw, self.evidence_dir)
        with self._lock:
            for rcpt in rcpt_tos:
                qid = "emailq-" + hashlib.sha256(f"{digest}|{rcpt.lower()}".encode()).hexdigest()[:32]
                self._db.execute("insert or ignore into quarantine values (?, ?, ?, ?, ?, ?, ?)",
                                 (qid, rcpt.lower(), envelope, reason, digest, uri, received))
            self._db.commit()
        return []


def start_email_bridge(host: str | None = None, port: int | None = None) -> EmailBridge | None:
    """Start the bridge for the long-running service; None if no address is mapped.

    It listens on ``EMAIL_BRIDGE_HOST`` (default 127.0.0.1: only this machine's relay reaches it; set
    ``0.0.0.0`` or an interface's address for a relay elsewhere) and ``EMAIL_BRIDGE_PORT`` (default 2525)."""
    addresses = addresses_from_env()
    if not addresses:
        return None
    host = host or os.environ.get("EMAIL_BRIDGE_HOST", "").strip() or "127.0.0.1"
    if port is None:
        raw = os.environ.get("EMAIL_BRIDGE_PORT", "").strip() or "2525"
        if not (raw.isascii() and raw.isdigit() and len(raw) <= 5) or not 0 < int(raw) < 65536:
            raise ValueError(f"EMAIL_BRIDGE_PORT={raw!r} is not a port: set a number from 1 to 65535 (default 2525)")
        port = int(raw)
    return EmailBridge(host, port, addresses).start()


def stop_email_bridge(bridge: EmailBridge | None) -> None:
    if bridge is not None:
        bridge.stop()


@contextlib.asynccontextmanager
async def email_bridge_lifespan(app: Any = None) -> AsyncIterator[EmailBridge | None]:
    """For the long-running service's Starlette lifespan: the bridge runs while the app does."""
    bridge = start_email_bridge()
    try:
        yield bridge
    finally:
        stop_email_bridge(bridge)


def wait_for_rows(bridge: EmailBridge, table: str, count: int, timeout: float = 5.0) -> list[tuple]:
    """Rows of a spool table once there are `count` (tests and the CLI's smoke check)."""
    deadline = time.monotonic() + timeout
    while True:
        with bridge._lock:
            rows = bridge._db.execute(f"select * from {table}").fetchall()
        if len(rows) >= count or time.monotonic() > deadline:
            return rows
        time.sleep(0.05)
