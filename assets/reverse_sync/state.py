"""The reverse-sync tables in the warehouse (schema ``reverse_sync``), shared by every vendor.

- ``external_links``: one row per (vendor, internal id) that has a vendor record. Columns are only
  ever added, never renamed (the nightly reconciliation and the health page read them):
  ``payload_hash`` is the hash of the Project X payload last written; ``synced_fields`` (JSON) the
  field values both sides agreed on after the last sync (the base of the three-way comparison);
  ``vendor_updated`` the vendor's own last-updated stamp seen at that sync.
- ``dead_letters``: one row per (vendor, internal id) whose write failed or was paused, with the
  reason; retried (and deleted on success) by the next run.
- ``plans``: one row per intended operation and field of a run (dry or real): the field-level
  before -> after and what became of it (``outcome``).
- ``conflicts``: one row per field that both sides changed since the last sync, with the winner
  and the rule that picked it.
- ``circuit_breakers``: see :mod:`assets.reverse_sync.breaker`.
- ``run_locks``: one row per vendor while a push to it runs (:func:`acquire_run_lock`), so two pushes
  for one vendor (a schedule and a CLI run, two Dagster runs) never write at once.
"""

from __future__ import annotations

import json
import os
import socket
import uuid
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from typing import Any

from resources.warehouse import Connection

SCHEMA = "reverse_sync"
DDL = (
    f"create schema if not exists {SCHEMA}",
    f"""create table if not exists {SCHEMA}.external_links (
        vendor varchar not null, internal_id varchar not null, vendor_object varchar not null,
        vendor_id varchar not null, vendor_number varchar, payload_hash varchar not null,
        status varchar not null, created_at timestamp not null, updated_at timestamp not null,
        primary key (vendor, internal_id))""",
    f"alter table {SCHEMA}.external_links add column if not exists synced_fields varchar",
    f"alter table {SCHEMA}.external_links add column if not exists vendor_updated varchar",
    f"alter table {SCHEMA}.external_links add column if not exists last_run_id varchar",
    f"""create table if not exists {SCHEMA}.dead_letters (
        vendor varchar not null, internal_id varchar not null, operation varchar not null,
        payload varchar not null, error varchar not null, attempts integer not null,
        first_failed_at timestamp not null, last_failed_at timestamp not null,
        primary key (vendor, internal_id))""",
    f"""create table if not exists {SCHEMA}.plans (
        run_id varchar not null, vendor varchar not null, dry_run boolean not null, seq integer not null,
        internal_id varchar not null, vendor_id varchar, operation varchar not null, field varchar,
        before_value varchar, after_value varchar, reason varchar, outcome varchar not null,
        planned_at timestamp not null)""",
    f"""create table if not exists {SCHEMA}.conflicts (
        run_id varchar not null, vendor varchar not null, internal_id varchar not null,
        vendor_id varchar, field varchar not null, base_value varchar, projectx_value varchar,
        vendor_value varchar, winner varchar not null, rule varchar not null, detected_at timestamp not null)""",
    f"""create table if not exists {SCHEMA}.run_locks (
        vendor varchar not null primary key, run_id varchar not null, owner varchar not null,
        acquired_at timestamp not null)""",
    f"""create table if not exists {SCHEMA}.circuit_breakers (
        vendor varchar not null primary key, state varchar not null, failures integer not null,
        opened_at timestamp, last_error varchar, updated_at timestamp not null)""",
)


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def ensure_tables(conn: Connection) -> None:
    for statement in DDL:
        conn.execute(statement)


def text(value: Any) -> str | None:
    """A field value as stored in plans/conflicts (strings as they are, anything else as JSON)."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, default=str)


def links(conn: Connection, vendor: str) -> dict[str, dict[str, Any]]:
    rows = conn.query(f"select * from {SCHEMA}.external_links where vendor = %s", (vendor,))
    return {r["internal_id"]: r for r in rows}


def save_link(conn: Connection, vendor: str, vendor_object: str, internal_id: str, vendor_id: str,
              number: str | None, digest: str, status: str, synced: dict[str, Any], vendor_updated: str | None,
              run_id: str, existing: bool) -> None:
    stamp = now()
    fields = json.dumps(synced, sort_keys=True, default=str)
    if existing:
        conn.execute(
            f"update {SCHEMA}.external_links set vendor_id = %s, vendor_number = %s, payload_hash = %s, "
            "status = %s, updated_at = %s, synced_fields = %s, vendor_updated = %s, last_run_id = %s "
            "where vendor = %s and internal_id = %s",
            (vendor_id, number, digest, status, stamp, fields, vendor_updated, run_id, vendor, internal_id))
    else:
        conn.execute(
            f"insert into {SCHEMA}.external_links (vendor, internal_id, vendor_object, vendor_id, vendor_number, "
            "payload_hash, status, created_at, updated_at, synced_fields, vendor_updated, last_run_id) "
            "values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (vendor, internal_id, vendor_object, vendor_id, number, digest, status, stamp, stamp, fields,
             vendor_updated, run_id))


def dead_letters(conn: Connection, vendor: str) -> dict[str, dict[str, Any]]:
    rows = conn.query(f"select * from {SCHEMA}.dead_letters where vendor = %s", (vendor,))
    return {r["internal_id"]: r for r in rows}


def dead_letter(conn: Connection, vendor: str, internal_id: str, operation: str, payload: dict[str, Any],
                error: str) -> None:
    stamp = now()
    body = json.dumps(payload, sort_keys=True, default=str)
    args = (vendor, internal_id)
    if conn.scalar(f"select attempts from {SCHEMA}.dead_letters where vendor = %s and internal_id = %s", args) is None:
        conn.execute(f"insert into {SCHEMA}.dead_letters values (%s, %s, %s, %s, %s, 1, %s, %s)",
                     (*args, operation, body, error[:2000], stamp, stamp))
    else:
        conn.execute(
            f"update {SCHEMA}.dead_letters set attempts = attempts + 1, operation = %s, error = %s, payload = %s, "
            "last_failed_at = %s where vendor = %s and internal_id = %s",
            (operation, error[:2000], body, stamp, *args))


def clear_dead_letter(conn: Connection, vendor: str, internal_id: str) -> None:
    conn.execute(f"delete from {SCHEMA}.dead_letters where vendor = %s and internal_id = %s", (vendor, internal_id))


def record_plan(conn: Connection, run_id: str, vendor: str, dry_run: bool, items: list[dict[str, Any]]) -> None:
    stamp = now()
    for seq, item in enumerate(items):
        conn.execute(
            f"insert into {SCHEMA}.plans values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (run_id, vendor, dry_run, seq, item["internal_id"], item.get("vendor_id"), item["operation"],
             item.get("field"), text(item.get("before")), text(item.get("after")), item.get("reason"),
             item.get("outcome", "planned"), stamp))


def record_conflict(conn: Connection, run_id: str, vendor: str, internal_id: str, vendor_id: str, field: str,
                    base: Any, projectx: Any, vendor_value: Any, winner: str, rule: str) -> None:
    conn.execute(
        f"insert into {SCHEMA}.conflicts values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (run_id, vendor, internal_id, vendor_id, field, text(base), text(projectx), text(vendor_value), winner,
         rule, now()))


class PushAlreadyRunning(RuntimeError):
    """Another push to the same vendor holds its run lock; this one wrote nothing."""


HEARTBEAT_SECONDS = 60  # a running push refreshes its lock's acquired_at this often (runloop.execute)
# A lock from another host not refreshed for this long is a push that died without releasing it (a killed
# worker): long enough for a push stuck in its longest wait (every in-flight write backing off on 429s).
STALE_LOCK = timedelta(minutes=30)


def acquire_run_lock(conn: Connection, vendor: str, run_id: str) -> str:
    """Take the vendor's run lock, or raise :class:`PushAlreadyRunning`; returns the owner token to release.

    A lock left by a push that was killed is taken over: on this host when its process is gone, from
    another host when its holder has not refreshed it (:func:`refresh_run_lock`) for :data:`STALE_LOCK`."""
    owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex}"
    for _ in range(3):
        try:
            conn.execute(f"insert into {SCHEMA}.run_locks values (%s, %s, %s, %s)", (vendor, run_id, owner, now()))
            conn.raw.commit()
            return owner
        except Exception:  # the key is taken (or a concurrent insert conflicted): look at the holder
            _rollback(conn)
        rows = conn.query(f"select * from {SCHEMA}.run_locks where vendor = %s", (vendor,))
        if not rows:
            continue
        held = rows[0]
        if not _abandoned(held):
            raise PushAlreadyRunning(
                f"{vendor}: another push (run {held['run_id']}, {held['owner'].rsplit(':', 1)[0]}, since "
                f"{held['acquired_at']:%Y-%m-%d %H:%M:%S} UTC) is writing to {vendor}; this one wrote nothing. "
                "Wait for it to finish; if it died without releasing its lock, delete its row from "
                f"{SCHEMA}.run_locks")
        conn.execute(f"delete from {SCHEMA}.run_locks where vendor = %s and owner = %s", (vendor, held["owner"]))
        conn.raw.commit()
    raise PushAlreadyRunning(f"{vendor}: could not take the push lock in {SCHEMA}.run_locks; retry the push")


def refresh_run_lock(conn: Connection, vendor: str, owner: str) -> None:
    """The running push's heartbeat: its lock's ``acquired_at`` moves to now, so it never looks abandoned."""
    conn.execute(f"update {SCHEMA}.run_locks set acquired_at = %s where vendor = %s and owner = %s",
                 (now(), vendor, owner))


def release_run_lock(conn: Connection, vendor: str, owner: str) -> None:
    """Give the lock back (after a rollback when the run's error left the transaction aborted)."""
    for attempt in range(2):
        try:
            conn.execute(f"delete from {SCHEMA}.run_locks where vendor = %s and owner = %s", (vendor, owner))
            conn.raw.commit()
            return
        except Exception:
            if attempt:
                raise
            _rollback(conn)


def _abandoned(held: dict[str, Any]) -> bool:
    host, _, rest = str(held["owner"]).partition(":")
    pid = rest.split(":", 1)[0]
    if host == socket.gethostname() and pid.isdigit():
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False
    return now() - held["acquired_at"] > STALE_LOCK


def _rollback(conn: Connection) -> None:
    with suppress(Exception):  # DuckDB refuses a rollback when its failed statement left no transaction
        conn.raw.rollback()
