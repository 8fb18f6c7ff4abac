"""The Evidence Library's ledger: what happened to every file, durable before anyone is told.

A SQLite file in WAL mode (``PROJECTX_EVIDENCE_LEDGER``, default ``<data>/evidence-ledger.sqlite``)
so vendor pipelines, the inbound e-mail bridge and Dagster assets can all write it while the
warehouse has its single writer; ``pipelines/evidence_stores`` loads it into the warehouse
(dataset ``evidence_library``) by sequence number.

- ``files``: one row per (file, source item) outcome: stored, quarantined, pending, with the reason,
  metadata and classification. ``source_ref`` is the source's id of the item (attachment sys_id,
  Drive file id) when it has one.
- ``alerts``: one row per event someone must act on: ``security_alert`` (infected file),
  ``permission_task`` (grant access), ``quota_pause`` / ``quota_resumed``, ``error_event``.
- ``pauses``: providers whose ingestion is paused (quota), until ``resume()``.
"""

from __future__ import annotations

import json
import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from resources.evidence.base import safe_name
from resources.evidence.select import data_dir

FILE_COLUMNS = ("sha256", "filename", "source", "source_ref", "tags", "status", "reason", "storage_uri",
                "store", "mime_type", "size_bytes", "page_count", "text_excerpt", "image_width",
                "image_height", "email_subject", "email_from", "email_date", "email_message_id",
                "evidence_class", "control_ids", "scan_status", "scan_signature", "parse_error")
DDL = (
    "create table if not exists files (seq integer primary key autoincrement, recorded_at text not null, "
    + ", ".join(f"{c} {'integer' if c in ('size_bytes', 'page_count', 'image_width', 'image_height') else 'text'}"
                for c in FILE_COLUMNS) + ")",
    "create table if not exists alerts (seq integer primary key autoincrement, raised_at text not null, "
    "kind text not null, provider text not null, sha256 text, filename text, source text, message text not null)",
    "create table if not exists pauses (provider text primary key, paused_at text not null, reason text not null)",
)


def ledger_path() -> Path:
    explicit = os.environ.get("PROJECTX_EVIDENCE_LEDGER")
    if explicit:
        return Path(explicit)
    return data_dir() / "evidence-ledger.sqlite"


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Ledger:
    def __init__(self, path: str | os.PathLike | None = None):
        self.path = Path(path) if path else ledger_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._conn() as conn:
            conn.execute("pragma journal_mode=wal")
            for statement in DDL:
                conn.execute(statement)

    def _conn(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        conn.row_factory = sqlite3.Row
        return conn

    def record_file(self, row: dict[str, Any]) -> int:
        values = [row.get(c) for c in FILE_COLUMNS]
        values = [json.dumps(v) if isinstance(v, list | tuple) else v for v in values]
        with self._conn() as conn:
            cur = conn.execute(f"insert into files (recorded_at, {', '.join(FILE_COLUMNS)}) values "
                               f"(?, {', '.join('?' for _ in FILE_COLUMNS)})", [_now(), *values])
            return int(cur.lastrowid)

    def alert(self, kind: str, provider: str, message: str, sha256: str | None = None,
              filename: str | None = None, source: str | None = None) -> None:
        with self._conn() as conn:
            conn.execute("insert into alerts (raised_at, kind, provider, sha256, filename, source, message) "
                         "values (?, ?, ?, ?, ?, ?, ?)", (_now(), kind, provider, sha256, filename, source, message))

    def alerted(self, kind: str, provider: str, message: str) -> bool:
        """Whether this alert was raised already (a watched folder re-listed: one alert per file version)."""
        with self._conn() as conn:
            return conn.execute("select 1 from alerts where kind = ? and provider = ? and message = ? limit 1",
                                (kind, provider, message)).fetchone() is not None

    def pause(self, provider: str, reason: str) -> None:
        with self._conn() as conn:
            conn.execute("insert into pauses values (?, ?, ?) on conflict (provider) do nothing",
                         (provider, _now(), reason))

    def paused(self, provider: str) -> str | None:
        with self._conn() as conn:
            row = conn.execute("select reason from pauses where provider = ?", (provider,)).fetchone()
        return row["reason"] if row else None

    def resume(self, provider: str) -> None:
        with self._conn() as conn:
            if conn.execute("delete from pauses where provider = ?", (provider,)).rowcount:
                conn.execute("insert into alerts (raised_at, kind, provider, message) values (?, ?, ?, ?)",
                             (_now(), "quota_resumed", provider, f"evidence ingestion to {provider} resumed"))

    def rows(self, table: str, after_seq: int = 0) -> list[dict[str, Any]]:
        if table not in ("files", "alerts"):
            raise ValueError(table)
        with self._conn() as conn:
            return [dict(r) for r in conn.execute(f"select * from {table} where seq > ? order by seq", (after_seq,))]

    def pauses(self) -> list[dict[str, Any]]:
        with self._conn() as conn:
            return [dict(r) for r in conn.execute("select * from pauses order by provider")]

    def last_stored(self, source: str, source_ref: str) -> dict[str, Any] | None:
        """The latest stored outcome of a source item (re-runs skip what is already in the library); the
        names as the library records them (``base.safe_name``)."""
        with self._conn() as conn:
            row = conn.execute("select * from files where source = ? and source_ref = ? and status in "
                               "('stored', 'quarantined') order by seq desc limit 1",
                               (safe_name(source), safe_name(source_ref))).fetchone()
        return dict(row) if row else None
