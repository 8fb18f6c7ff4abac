"""The embedded DuckDB warehouse's last good copy: taken after every sync that ends well, put back when the
warehouse file itself is found damaged at the start of a sync.

Why: crash recovery (:mod:`pipelines.common.recovery`) restarts a sync from what the warehouse committed, so it
cannot help when the warehouse file is what a crash broke. DuckDB 2.0.1 left its file so once in about 70 syncs
killed with SIGKILL while loading (a checksum mismatch in its catalog block; the file opened neither read-write
nor read-only, with or without its WAL), and every later sync failed within a second, for ever.

- **Copy**: when a sync ends well, the warehouse is checkpointed and copied to ``<warehouse>.lastgood`` (a
  temporary file renamed into place, so a kill mid-copy leaves the previous copy whole), while this process
  holds DuckDB's write lock, so no other writer changes it meanwhile. A warehouse another process holds
  open is not copied this time (the next sync's copy will be). ``PROJECTX_DUCKDB_LAST_GOOD=false`` turns
  the copy off (then a damaged file stops the syncs until a person restores one; the error says how).
- **Restore**: at the start of a sync, a warehouse file DuckDB calls damaged (:func:`damaged_duckdb`) is
  moved aside whole, with its WAL (``<warehouse>.damaged-<time>``, kept as evidence, never deleted), the
  last good copy is put in its place, and every other vendor's next sync is told to start from what the
  warehouse holds (their ``.unfinished`` marker, as after a crash): their dlt working folders may remember
  loads the copy does not hold. The loads after the copy are simply read again (cursors live in the
  warehouse, beside the rows); marts are rebuilt by the next dbt build. What the copy cannot bring back:
  reverse-sync and notification ledger rows written after it (ServiceNow's push finds its tasks again by
  ``correlation_id``; a notification may be sent twice). This is logged at error level with both paths.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger(__name__)

ENABLED_ENV = "PROJECTX_DUCKDB_LAST_GOOD"
SUFFIX = ".lastgood"

# What DuckDB says of a file it cannot open because of what is in it: not a DuckDB file at all, or one damaged
# inside (a checksum, its metadata, a write-ahead log it cannot replay).
DAMAGED_DUCKDB = ("not a valid DuckDB database", "Corrupt database file", "No more data remaining in MetadataReader",
                  "Failure while replaying WAL file")


def damaged_duckdb(exc: BaseException) -> bool:
    """Whether ``exc`` says a DuckDB file cannot be opened because of what is in it (not a lock, not a path)."""
    text = str(exc).lower()
    return any(words.lower() in text for words in DAMAGED_DUCKDB)


def enabled() -> bool:
    return (os.environ.get(ENABLED_ENV) or "true").strip().lower() not in ("0", "false", "no", "off")


def last_good(path: Path) -> Path:
    return path.with_name(path.name + SUFFIX)


def keep_last_good(path: Path) -> bool:
    """Checkpoint the warehouse at ``path`` and copy it to its last good copy; False when another process
    holds it (or it does not open), so nothing was copied."""
    import duckdb

    if not enabled() or not path.exists():
        return False
    try:
        con = duckdb.connect(str(path))
    except duckdb.Error as exc:  # another process holds the write lock, or the file went bad meanwhile
        log.info("warehouse %s not copied this time (%s)", path, type(exc).__name__)
        return False
    try:
        con.execute("checkpoint")
        tmp = path.with_name(f"{path.name}{SUFFIX}.{uuid.uuid4().hex[:8]}.tmp")  # two syncs of one process
        shutil.copyfile(path, tmp)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, last_good(path))
    finally:
        con.close()
    return True


def restore_if_damaged(path: Path) -> str | None:
    """Put the last good copy in place of a damaged warehouse; the reason to report, or None when the file is
    fine, absent, busy, or damaged with no copy to restore (the sync then fails naming the fix). Two vendors'
    syncs finding the damage at once take turns; the second finds the restored file fine."""
    if _damage(path) is None:  # the common case, without the lock
        return None
    with _restoring(path):
        detail = _damage(path)
        if detail is None:
            return None
        copy = last_good(path)
        if not copy.exists():
            log.error("the warehouse %s cannot be opened (%s) and there is no last good copy (%s)", path, detail,
                      copy)
            return None
        aside = path.with_name(f"{path.name}.damaged-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}")
        wal = path.with_name(path.name + ".wal")
        path.rename(aside)
        if wal.exists():
            wal.rename(aside.with_name(aside.name + ".wal"))
        tmp = path.with_name(f"{path.name}.restoring-{uuid.uuid4().hex[:8]}")
        shutil.copyfile(copy, tmp)
        os.replace(tmp, path)
    log.error("the warehouse %s could not be opened (%s): moved it aside to %s and restored the last good copy "
              "%s; loads after that copy are read again, and reverse-sync or notification ledger rows written "
              "after it are lost", path, detail, aside, copy)
    return (f"the warehouse file could not be opened ({detail}); restored its last good copy (the damaged file "
            f"is {aside.name})")


def _damage(path: Path) -> str | None:
    """What DuckDB says when it cannot open ``path`` because of what is in it; None when it opens (or is absent,
    or another process holds it)."""
    import duckdb

    if not path.exists():
        return None
    try:
        duckdb.connect(str(path)).close()
    except duckdb.Error as exc:
        return " ".join(str(exc).split())[:200] if damaged_duckdb(exc) else None
    return None


@contextmanager
def _restoring(path: Path) -> Iterator[None]:
    """Held while one process replaces a damaged warehouse."""
    with open(path.with_name(path.name + ".restore.lock"), "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def others_start_from_the_warehouse(root: Path, name: str, kind: str) -> None:
    """After a restore: every other pipeline of this warehouse discards its working folder at its next start
    (the marker a crashed run leaves), so none keeps a cursor the restored warehouse does not hold."""
    for folder in root.glob(f"projectx_*_{kind}"):
        if folder.is_dir() and folder.name != name:
            (root / f"{folder.name}.unfinished").write_text("the warehouse was restored from its last good copy\n")
