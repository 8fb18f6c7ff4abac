"""Which evidence files an attestation holds at OneTrust: its attachment listing, and our record of what we uploaded.

OneTrust keeps no idempotency key on attachments: the same file sent twice is two attachments, so the push lists an
attestation's attachments before uploading and sends only the files it lacks, compared by sha256. Whether a tenant's
listing shows each attachment's sha256 is a guess [unc: no attestation API is published; the sandbox shows it]. A
listing of names and sizes only made every planned push (any change of the attestation, every retry of a dead
letter) upload every file again, and so did an upload whose answer was lost (a gateway's 504 after OneTrust kept
the file): duplicates, run after run.

``reverse_sync.onetrust_attachments`` is the persistent record of our uploads: one row per (attestation, sha256)
with the file's name and size, written (committed) *before* the upload is sent, and OneTrust's attachment id once
it answers. An entry listed without a hash is ours when its id is a recorded attachment id, or, for an upload
whose answer never came, when its name and size are the recorded ones (an entry whose id no row records, made
no earlier than the upload was sent where the listing says when, each entry and row matched once; the entry's id
is then recorded as the answer's). Nothing else is taken for ours: an
attachment removed at OneTrust leaves the listing and its file is attached again. The record holds no path of the
worker, only the file name OneTrust is sent anyway.

:class:`EchoRecord` keeps, the same way, what OneTrust showed of the evidence lists sent (digests only).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from assets.reverse_sync import state

# How far OneTrust's clock may lag ours when its listing's createdDate is compared with an upload's sent_at [unc].
CLOCK_SKEW = timedelta(minutes=5)

TABLE = f"{state.SCHEMA}.onetrust_attachments"
DDL = (
    f"create schema if not exists {state.SCHEMA}",
    f"""create table if not exists {TABLE} (
        attestation_id varchar not null, sha256 varchar not null, file_name varchar not null, size bigint not null,
        attachment_id varchar, run_id varchar, sent_at timestamp not null, primary key (attestation_id, sha256))""",
)


ECHO_TABLE = f"{state.SCHEMA}.onetrust_echo"
FORMS_TABLE = f"{state.SCHEMA}.onetrust_evidence_forms"
ECHO_DDL = (
    f"""create table if not exists {ECHO_TABLE} (
        part varchar not null primary key, attestation_id varchar, run_id varchar, observed_at timestamp not null)""",
    f"""create table if not exists {FORMS_TABLE} (
        attestation_id varchar not null primary key, sent_form varchar not null, shown_form varchar not null,
        run_id varchar, observed_at timestamp not null)""",
)


class EchoRecord:
    """What OneTrust showed of the evidence the push sent, kept across runs (:class:`onetrust_evidence.EvidenceEcho`):
    ``reverse_sync.onetrust_evidence_forms``, per attestation (our id) digests of the list last sent and of what
    OneTrust showed for it; ``reverse_sync.onetrust_echo``, the parts (``evidenceId``, ``sha256``) a read-back has
    shown. Digests only: no evidence name or path is kept."""

    def __init__(self) -> None:
        self.writes: Any = None

    def bind(self, writes: Any) -> tuple[dict[str, tuple[str, str]], set[str]]:
        """Use the run's connection; returns the forms and the parts shown so far."""
        self.writes = writes
        with writes.committed():
            for statement in ECHO_DDL:
                writes.conn.execute(statement)
            forms = writes.conn.query(f"select attestation_id, sent_form, shown_form from {FORMS_TABLE}")
            parts = writes.conn.query(f"select part from {ECHO_TABLE}")
        return ({str(r["attestation_id"]): (str(r["sent_form"]), str(r["shown_form"])) for r in forms},
                {str(r["part"]) for r in parts})

    def save_form(self, attestation_id: str, sent_form: str, shown_form: str) -> None:
        if self.writes is None:
            return
        with self.writes.committed():
            self.writes.conn.execute(f"delete from {FORMS_TABLE} where attestation_id = %s", (attestation_id,))
            self.writes.conn.execute(
                f"insert into {FORMS_TABLE} (attestation_id, sent_form, shown_form, run_id, observed_at) "
                "values (%s, %s, %s, %s, %s)", (attestation_id, sent_form, shown_form, self.writes.run_id, state.now()))

    def save_shown(self, parts: list[str], attestation_id: str) -> None:
        if self.writes is None:
            return
        with self.writes.committed():
            for part in parts:
                self.writes.conn.execute(f"delete from {ECHO_TABLE} where part = %s", (part,))
                self.writes.conn.execute(f"insert into {ECHO_TABLE} (part, attestation_id, run_id, observed_at) "
                                         "values (%s, %s, %s, %s)", (part, attestation_id, self.writes.run_id,
                                                                     state.now()))


class AttachmentRecord:
    """The record of our uploads, over the push's warehouse connection (:meth:`bind`; unbound, it records nothing
    and the listing's hashes alone decide, as before)."""

    def __init__(self) -> None:
        self.writes: Any = None

    def bind(self, writes: Any) -> None:
        """Use the run's :class:`assets.reverse_sync.writes.Writes` (its connection, under its lock)."""
        self.writes = writes
        with writes.committed():
            for statement in DDL:
                writes.conn.execute(statement)

    def _rows(self, attestation_id: str) -> list[dict[str, Any]]:
        if self.writes is None:
            return []
        with self.writes.committed():  # a read, as its own unit: PostgreSQL keeps no transaction open after it
            return self.writes.conn.query(f"select sha256, file_name, size, attachment_id, sent_at from {TABLE} "
                                          "where attestation_id = %s", (attestation_id,))

    def held(self, attestation_id: str, listed: list[Any]) -> set[str]:
        """The sha256 of the files the listed attachments are: each one's own hash, else (none listed) the one we
        recorded for its attachment id, or for its name and size while our upload of it is unanswered.

        A name-and-size match is taken only for an entry whose id no row of ours records (an attachment answered
        to another upload, even of an older file of that name, is that upload's), for one row per entry and one
        entry per row, and, where the listing shows when the entry was made, only if made after the upload was
        sent (less :data:`CLOCK_SKEW`): an older attachment of that name and size (uploaded before this record
        was kept) is not the changed file whose upload failed (was: believed uploaded, and never sent again)."""
        out: set[str] = set()
        rows: list[dict[str, Any]] | None = None
        claimed: set[str] = set()  # sha256 of the unanswered rows an entry was taken for
        for entry in listed:
            if not isinstance(entry, dict):
                continue
            if entry.get("sha256"):
                out.add(str(entry["sha256"]))
                continue
            rows = self._rows(attestation_id) if rows is None else rows
            ident, name, size = entry.get("id"), entry.get("fileName"), _int(entry.get("size"))
            ident = None if ident in (None, "") else str(ident)
            by_id = [r for r in rows if ident is not None and r["attachment_id"] == ident]
            if by_id:
                out.add(str(by_id[0]["sha256"]))
                continue
            if size is None or (ident is not None and self._recorded(ident)):
                continue  # an id recorded for another attestation's upload is that upload's
            made = _time(entry.get("createdDate"))
            match = [r for r in rows if r["attachment_id"] is None and str(r["sha256"]) not in claimed
                     and r["file_name"] == name and r["size"] == size
                     and (made is None or _naive(r["sent_at"]) is None or made >= _naive(r["sent_at"]) - CLOCK_SKEW)]
            if match:
                claimed.add(str(match[0]["sha256"]))
                out.add(str(match[0]["sha256"]))
                if ident is not None:  # the answer never came: its id is this one, matched by id from now on
                    self.answered(attestation_id, str(match[0]["sha256"]), ident)
                    match[0]["attachment_id"] = ident
        return out

    def _recorded(self, attachment_id: str) -> bool:
        """Whether any row of the record (any attestation) holds this attachment id."""
        if self.writes is None:
            return False
        with self.writes.committed():
            return self.writes.conn.scalar(f"select count(*) from {TABLE} where attachment_id = %s",
                                           (attachment_id,)) != 0

    def sending(self, attestation_id: str, sha256: str, file_name: str, size: int) -> None:
        """Recorded (committed) before the upload leaves: a lost answer or a kill after it is seen by the next run."""
        if self.writes is None:
            return
        with self.writes.committed():
            self.writes.conn.execute(f"delete from {TABLE} where attestation_id = %s and sha256 = %s",
                                     (attestation_id, sha256))
            self.writes.conn.execute(
                f"insert into {TABLE} (attestation_id, sha256, file_name, size, attachment_id, run_id, sent_at) "
                "values (%s, %s, %s, %s, null, %s, %s)",
                (attestation_id, sha256, file_name, size, self.writes.run_id, state.now()))

    def answered(self, attestation_id: str, sha256: str, attachment_id: Any) -> None:
        if self.writes is None or not attachment_id:
            return
        with self.writes.committed():
            self.writes.conn.execute(f"update {TABLE} set attachment_id = %s where attestation_id = %s and sha256 = %s",
                                     (str(attachment_id), attestation_id, sha256))


def answered_id(response: Any) -> str | None:
    """The attachment id an upload's answer names, if it is readable (the upload is done either way)."""
    try:
        body = response.json()
    except ValueError:
        return None
    return str(body["id"]) if isinstance(body, dict) and body.get("id") else None


def _int(value: Any) -> int | None:
    """A listed size as an integer: 10, 10.0 and "10" alike (a tenant or gateway may show any of them [unc])."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        return int(value.strip())
    return None


def _time(value: Any) -> datetime | None:
    """When a listed attachment was made (``createdDate``, ISO 8601), as naive UTC; None when not shown or not read."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return _naive(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        return None


def _naive(value: Any) -> datetime | None:
    if isinstance(value, str):
        return _time(value)
    if not isinstance(value, datetime):
        return None
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo is not None else value
