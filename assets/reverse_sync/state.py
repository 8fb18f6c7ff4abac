"""The reverse-sync tables in the warehouse (schema ``reverse_sync``), shared by every vendor.

- ``external_links``: one row per (vendor, internal id) that has a vendor record. Columns are only
  ever added, never renamed (the nightly reconciliation and the health page read them):
  ``payload_hash`` is the hash of the Project X payload last written; ``synced_fields`` (JSON) the
  field values both sides agreed on after the last sync (the base of the three-way comparison);
  ``vendor_updated`` the vendor's own last-updated stamp seen at that sync; ``projectx_fields`` (JSON)
  Project X's own values at that sync, what "Project X changed a shared field" is judged against.
- ``dead_letters``: one row per (vendor, internal id) whose write failed or was paused, with the
  reason; retried (and deleted on success) by the next run.
- ``plans``: one row per intended operation and field of a run (dry or real): the field-level
  before -> after and what became of it (``outcome``).
- ``conflicts``: one row per field that both sides changed since the last sync, with the winner
  and the rule that picked it.
- ``circuit_breakers``: see :mod:`assets.reverse_sync.breaker`.
- ``pending_creates``: creates sent whose answer is not audited yet (:mod:`assets.reverse_sync.unsettled`).
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
    # Project X's own values at the last sync (JSON): whether Project X changed a shared field since is judged
    # against them, not against ``synced_fields`` (which holds the vendor's value where the vendor won)
    f"alter table {SCHEMA}.external_links add column if not exists projectx_fields varchar",
    # ServiceNow: per field, what the instance stored of Project X's value when it last wrote it (JSON of digests,
    # assets/reverse_sync/reconcile.py), so a business rule rewriting it on every write is not fought every night
    f"alter table {SCHEMA}.external_links add column if not exists vendor_forms varchar",
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
    # creates sent whose answer is not audited yet (assets/reverse_sync/unsettled.py)
    f"""create table if not exists {SCHEMA}.pending_creates (
        vendor varchar not null, internal_id varchar not null, run_id varchar not null, correlation_id varchar,
        sent_at timestamp not null)""",
)


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def ensure_tables(conn: Connection) -> None:
    for statement in DDL:
        conn.execute(statement)


def text(value: Any) -> str | None:
    """A field value as stored in plans/conflicts (strings as they are, anything else as JSON). A vendor's value may
    hold what no warehouse stores (a lone UTF-16 surrogate a OneTrust read-back sent as JSON's ``\\ud800``: DuckDB
    and PostgreSQL refuse it; NUL: PostgreSQL refuses it): written as its escape, the plan row, not a crashed push."""
    if value is None:
        return value
    if not isinstance(value, str):
        return json.dumps(value, sort_keys=True, default=str)  # ensure_ascii: every such character escaped
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        value = value.encode("utf-8", "backslashreplace").decode("utf-8")
    return value.replace("\x00", "\\x00")


def links(conn: Connection, vendor: str) -> dict[str, dict[str, Any]]:
    rows = conn.query(f"select * from {SCHEMA}.external_links where vendor = %s", (vendor,))
    return {r["internal_id"]: r for r in rows}


def save_link(conn: Connection, vendor: str, vendor_object: str, internal_id: str, vendor_id: str,
              number: str | None, digest: str, status: str, synced: dict[str, Any], vendor_updated: str | None,
              run_id: str, existing: bool, sent: dict[str, Any] | None = None) -> None:
    """``sent``: Project X's values at this sync (``projectx_fields``; None leaves them as they were)."""
    stamp = now()
    fields = json.dumps(synced, sort_keys=True, default=str)
    ours = None if sent is None else json.dumps(sent, sort_keys=True, default=str)
    if existing:
        conn.execute(
            f"update {SCHEMA}.external_links set vendor_id = %s, vendor_number = %s, payload_hash = %s, "
            "status = %s, updated_at = %s, synced_fields = %s, vendor_updated = %s, last_run_id = %s, "
            "projectx_fields = coalesce(%s, projectx_fields) where vendor = %s and internal_id = %s",
            (vendor_id, number, digest, status, stamp, fields, vendor_updated, run_id, ours, vendor, internal_id))
    else:
        conn.execute(
            f"insert into {SCHEMA}.external_links (vendor, internal_id, vendor_object, vendor_id, vendor_number, "
            "payload_hash, status, created_at, updated_at, synced_fields, vendor_updated, last_run_id, "
            "projectx_fields) values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (vendor, internal_id, vendor_object, vendor_id, number, digest, status, stamp, stamp, fields,
             vendor_updated, run_id, ours))


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


class LockLost(PushAlreadyRunning):
    """The running push found its run lock gone or taken by another push: it stopped writing new records."""


HEARTBEAT_SECONDS = 60  # a running push refreshes its lock's acquired_at this often (runloop.execute)
# A lock whose heartbeat has not moved for this long is a push that died without releasing it (a killed
# worker). The heartbeat is a thread of its own with its own connection, beating every HEARTBEAT_SECONDS
# whatever the writes are doing (a write stuck in a 429 wait included), so ten missed beats mean a dead
# (or hung) holder.
STALE_LOCK = timedelta(minutes=10)


def owner_token() -> str:
    """``host:pid:pid-namespace:start-time:random`` of this process. Together they name one process even
    where hostnames are shared (containers with their own PID namespace) and PIDs are reused; the parts
    that cannot be read here (no /proc) are left empty, and such a holder is judged by its heartbeat."""
    pid = os.getpid()
    return f"{socket.gethostname()}:{pid}:{_pid_namespace()}:{_start_time(pid) or ''}:{uuid.uuid4().hex}"


def acquire_run_lock(conn: Connection, vendor: str, run_id: str) -> str:
    """Take the vendor's run lock, or raise :class:`PushAlreadyRunning`; returns the owner token to release.

    A lock left by a push that was killed is taken over: at once when its holder ran on this host in this
    PID namespace and that process is gone (or its PID now belongs to a process started at another time),
    else once its holder has not refreshed it (:func:`refresh_run_lock`) for :data:`STALE_LOCK`."""
    owner = owner_token()
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
                f"{vendor}: another push (run {held['run_id']}, {_describe(held['owner'])}, lock refreshed "
                f"{held['acquired_at']:%Y-%m-%d %H:%M:%S} UTC) is writing to {vendor}; this one wrote nothing. "
                "Wait for it to finish; a push that died is taken over once its lock has not been refreshed "
                f"for {STALE_LOCK.total_seconds() / 60:.0f} minutes (or delete its row from {SCHEMA}.run_locks "
                "if you are sure it is dead)")
        conn.execute(f"delete from {SCHEMA}.run_locks where vendor = %s and owner = %s", (vendor, held["owner"]))
        conn.raw.commit()
    raise PushAlreadyRunning(f"{vendor}: could not take the push lock in {SCHEMA}.run_locks; retry the push")


def refresh_run_lock(conn: Connection, vendor: str, owner: str) -> bool:
    """The running push's heartbeat: its lock's ``acquired_at`` moves to now, so it never looks abandoned.
    False when the lock is no longer this push's (its row deleted, or taken over by another push)."""
    changed = conn.execute(f"update {SCHEMA}.run_locks set acquired_at = %s where vendor = %s and owner = %s",
                           (now(), vendor, owner))
    if changed < 0:  # a driver that does not count: read the row back
        return bool(conn.query(f"select 1 from {SCHEMA}.run_locks where vendor = %s and owner = %s",
                               (vendor, owner)))
    return changed == 1


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
    """True when the lock's holder is dead: its heartbeat stopped for STALE_LOCK, or it ran on this host in
    this PID namespace and its process is gone or its PID now belongs to a process started at another time.
    A holder in another PID namespace (a container sharing the hostname), or whose namespace or start time
    is unknown (an older token, no /proc), is judged by its heartbeat alone."""
    if now() - held["acquired_at"] > STALE_LOCK:
        return True
    parts = str(held["owner"]).split(":")
    if len(parts) != 5:
        return False
    host, pid, namespace, started, _ = parts
    pid_ok = pid.isascii() and pid.isdigit() and len(pid) <= 10  # "²" is a digit to isdigit, not to int
    if host != socket.gethostname() or not pid_ok or not namespace or namespace != _pid_namespace():
        return False
    try:
        current = _start_time(int(pid), missing_ok=False)
    except FileNotFoundError:
        return True  # no such process in our namespace
    except OSError:
        return False
    if current is None:  # unreadable or a zombie
        return _is_zombie(int(pid))
    return bool(started) and current != started


def _pid_namespace() -> str:
    """The inode of this process's PID namespace (``pid:[4026531836]`` -> ``4026531836``), or ''."""
    try:
        link = os.readlink("/proc/self/ns/pid")
    except OSError:
        return ""
    return "".join(ch for ch in link if ch.isdigit())


def _stat(pid: int) -> list[str]:
    """The fields of /proc/<pid>/stat from field 3 (state) on: the name (field 2) may hold spaces and ')'."""
    with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as f:
        return f.read().rpartition(")")[2].split()


def _start_time(pid: int, missing_ok: bool = True) -> str | None:
    """Field 22 of /proc/<pid>/stat (when the process started, in clock ticks since boot), or None."""
    try:
        fields = _stat(pid)
    except FileNotFoundError:
        if missing_ok:
            return None
        raise
    except OSError:
        return None
    if len(fields) < 20 or fields[0] == "Z":
        return None
    return fields[19]


def _is_zombie(pid: int) -> bool:
    try:
        return _stat(pid)[0] == "Z"
    except FileNotFoundError:
        return True
    except (OSError, IndexError):
        return False


def _describe(owner: str) -> str:
    parts = str(owner).split(":")
    return f"host {parts[0]} pid {parts[1]}" if len(parts) >= 2 else str(owner)


def _rollback(conn: Connection) -> None:
    with suppress(Exception):  # DuckDB refuses a rollback when its failed statement left no transaction
        conn.raw.rollback()
