"""The vendor-neutral reverse-sync loop.

For every row of an outbound mart: create the vendor record if no link exists (after checking the
vendor for a record already carrying our id, in case an earlier run created it but died before
writing the link), update it if the payload changed, leave it alone otherwise. Records whose row
left the mart are closed. The link is written right after each vendor write, so a crash loses
nothing. A write that fails after the HTTP client's retries goes to the dead-letter table and is
tried again next run; after enough consecutive failures the circuit opens and writes pause.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from pipelines.common.http import VendorError
from resources.warehouse import Connection

log = logging.getLogger(__name__)

SCHEMA = "reverse_sync"
DDL = (
    f"create schema if not exists {SCHEMA}",
    f"""create table if not exists {SCHEMA}.external_links (
        vendor varchar not null, internal_id varchar not null, vendor_object varchar not null,
        vendor_id varchar not null, vendor_number varchar, payload_hash varchar not null,
        status varchar not null, created_at timestamp not null, updated_at timestamp not null,
        primary key (vendor, internal_id))""",
    f"""create table if not exists {SCHEMA}.dead_letters (
        vendor varchar not null, internal_id varchar not null, operation varchar not null,
        payload varchar not null, error varchar not null, attempts integer not null,
        first_failed_at timestamp not null, last_failed_at timestamp not null,
        primary key (vendor, internal_id))""",
)


class VendorWriter(Protocol):
    vendor: str
    vendor_object: str

    def payload(self, row: dict[str, Any]) -> dict[str, Any]: ...
    def find_existing(self, internal_id: str) -> dict[str, Any] | None: ...
    def create(self, payload: dict[str, Any]) -> dict[str, Any]: ...
    def update(self, vendor_id: str, payload: dict[str, Any]) -> None: ...
    def close(self, vendor_id: str) -> None: ...
    def identity(self, record: dict[str, Any]) -> tuple[str, str]: ...


@dataclass
class SyncReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    adopted: int = 0
    closed: int = 0
    dead_lettered: int = 0
    paused_circuit_open: int = 0
    failures: list[str] = field(default_factory=list)

    def as_metadata(self) -> dict[str, int]:
        return {k: v for k, v in self.__dict__.items() if isinstance(v, int)}


def payload_hash(payload: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def ensure_tables(conn: Connection) -> None:
    for statement in DDL:
        conn.execute(statement)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class ReverseSync:
    def __init__(self, conn: Connection, writer: VendorWriter, *, key: str, breaker_threshold: int = 5):
        self.conn = conn
        self.writer = writer
        self.key = key
        self.breaker_threshold = breaker_threshold
        ensure_tables(conn)

    def links(self) -> dict[str, dict[str, Any]]:
        rows = self.conn.query(
            f"select * from {SCHEMA}.external_links where vendor = %s", (self.writer.vendor,)
        )
        return {r["internal_id"]: r for r in rows}

    def run(self, rows: list[dict[str, Any]]) -> SyncReport:
        report = SyncReport()
        links = self.links()
        dead = {r["internal_id"] for r in self.conn.query(
            f"select internal_id from {SCHEMA}.dead_letters where vendor = %s", (self.writer.vendor,))}
        consecutive_failures = 0
        wanted = set()
        for row in rows:
            internal_id = str(row[self.key])
            wanted.add(internal_id)
            if consecutive_failures >= self.breaker_threshold:
                report.paused_circuit_open += 1
                continue
            payload = self.writer.payload(row)
            try:
                self._push(internal_id, payload, links.get(internal_id), report)
                consecutive_failures = 0
                if internal_id in dead:
                    self._clear_dead_letter(internal_id)
            except VendorError as exc:
                consecutive_failures += 1
                report.dead_lettered += 1
                report.failures.append(f"{internal_id}: {exc}")
                self._dead_letter(internal_id, "upsert", payload, str(exc))
        for internal_id, link in links.items():
            if internal_id not in wanted and link["status"] == "open" and consecutive_failures == 0:
                try:
                    self.writer.close(link["vendor_id"])
                except VendorError as exc:
                    report.failures.append(f"{internal_id}: close failed: {exc}")
                    self._dead_letter(internal_id, "close", {}, str(exc))
                    continue
                self._set_status(internal_id, "closed")
                report.closed += 1
        if report.paused_circuit_open:
            log.error("%s: circuit open after %d consecutive failures; %d writes paused until next run",
                      self.writer.vendor, self.breaker_threshold, report.paused_circuit_open)
        return report

    def _push(self, internal_id: str, payload: dict[str, Any], link: dict | None, report: SyncReport) -> None:
        digest = payload_hash(payload)
        if link is None:
            existing = self.writer.find_existing(internal_id)
            if existing is not None:
                vendor_id, number = self.writer.identity(existing)
                self.writer.update(vendor_id, payload)
                report.adopted += 1
            else:
                vendor_id, number = self.writer.identity(self.writer.create(payload))
                report.created += 1
            self._insert_link(internal_id, vendor_id, number, digest)
        elif link["payload_hash"] != digest or link["status"] != "open":
            self.writer.update(link["vendor_id"], payload)
            self.conn.execute(
                f"update {SCHEMA}.external_links set payload_hash = %s, status = 'open', updated_at = %s "
                "where vendor = %s and internal_id = %s",
                (digest, _now(), self.writer.vendor, internal_id),
            )
            report.updated += 1
        else:
            report.unchanged += 1
        self.conn.raw.commit()

    def _insert_link(self, internal_id: str, vendor_id: str, number: str, digest: str) -> None:
        now = _now()
        self.conn.execute(
            f"insert into {SCHEMA}.external_links values (%s, %s, %s, %s, %s, %s, 'open', %s, %s)",
            (self.writer.vendor, internal_id, self.writer.vendor_object, vendor_id, number, digest, now, now),
        )

    def _set_status(self, internal_id: str, status: str) -> None:
        self.conn.execute(
            f"update {SCHEMA}.external_links set status = %s, updated_at = %s "
            "where vendor = %s and internal_id = %s",
            (status, _now(), self.writer.vendor, internal_id),
        )
        self.conn.raw.commit()

    def _dead_letter(self, internal_id: str, operation: str, payload: dict, error: str) -> None:
        now = _now()
        args = (self.writer.vendor, internal_id)
        existing = self.conn.scalar(
            f"select attempts from {SCHEMA}.dead_letters where vendor = %s and internal_id = %s", args
        )
        if existing is None:
            self.conn.execute(
                f"insert into {SCHEMA}.dead_letters values (%s, %s, %s, %s, %s, 1, %s, %s)",
                (*args, operation, json.dumps(payload, default=str), error[:2000], now, now),
            )
        else:
            self.conn.execute(
                f"update {SCHEMA}.dead_letters set attempts = attempts + 1, error = %s, payload = %s, "
                "last_failed_at = %s where vendor = %s and internal_id = %s",
                (error[:2000], json.dumps(payload, default=str), now, *args),
            )
        self.conn.raw.commit()

    def _clear_dead_letter(self, internal_id: str) -> None:
        self.conn.execute(
            f"delete from {SCHEMA}.dead_letters where vendor = %s and internal_id = %s",
            (self.writer.vendor, internal_id),
        )
        self.conn.raw.commit()
