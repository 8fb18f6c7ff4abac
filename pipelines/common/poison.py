"""A vendor record that kills the sync process at the same point on every run is quarantined, not looped on.

Why: a record whose row building dies (a parser bug, runaway memory, the OOM killer) kills the run;
recovery (:mod:`pipelines.common.recovery`) then discards the run's dlt folder and restarts from the last
committed cursor, so the next run reaches the same record and dies again, for ever, loading nothing.

How: a crash ledger beside recovery's ``<pipeline>.unfinished`` marker (outside dlt's working folder,
which recovery discards):

- ``<pipeline>.inflight``: before a resource hands records to row building (:meth:`PoisonGuard.handle`),
  it writes their keys there (one small write per page, replaced atomically; a kill -9 or the OOM
  killer leaves it in the page cache), and removes it once dlt has taken the rows. A Python exception
  removes it too (the process survived: that is an ordinary failed run), except ``MemoryError`` and
  ``RecursionError``, which count as the process dying.
- ``<pipeline>.crashes``: at the start of the run after a crashed one, recovery adds one to the count
  of every key that was in flight (:func:`count_crash`); keys not in flight drop to zero (the counts
  are of *consecutive* crashed runs). A run that ends well removes both files (:func:`settle`).

When a page holds a key in flight in ``limit - 1`` crashed runs in a row, the page is handled record by
record, each one noted alone before it is built, so the next crash names the one record. A key in flight
in ``limit`` crashed runs in a row (``PROJECTX_POISON_CRASHES``, default 3, at least 2) is quarantined
with its raw record and a reason starting :data:`POISON_REASON_PREFIX`, and skipped; the rest of the
sync goes on. While that quarantine row exists the record is skipped on every run and is not re-read by
:mod:`pipelines.common.requeue`. Release (after the fix): delete its quarantine row, e.g.
``python -m pipelines.common.poison release servicenow incidents <sys_id>``, which runs
``delete from servicenow.quarantine where entity = 'incidents' and record_id = '<sys_id>' and reason
like 'the sync process died %'`` (the same SQL by hand does it too); the next run reads it again by id
(requeue) and loads it. A record still killing the process is then quarantined again after
``limit`` more crashed runs.

A single one-off crash quarantines nothing: a record needs ``limit`` crashed runs in a row, the last one
with only it in flight. Each step is logged at warning with the vendor, resource and key, never the
record's content.

Work handled several records at once in threads (ServiceNow attachment downloads, :class:`InFlight`)
notes its keys in its own file, ``<pipeline>.<resource>.inflight``, beside the resource guard's: a
crash counts against every key noted in any of them. The rule stays "in flight in ``limit`` crashed
runs in a row", so only a key in flight on *every* one of those crashes can be blamed; and as above,
once a key reaches ``limit - 1`` the run isolates it (no downloads ahead, each suspect handled alone,
after the table reads), so the last crash names it alone and no table record read meanwhile is
quarantined for it.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.common.quarantine import POISON_REASON_PREFIX, poison_held, quarantined
from pipelines.common.requeue import digest

if TYPE_CHECKING:
    from pipelines.common.requeue import Requeue

log = logging.getLogger(__name__)

LIMIT_ENV = "PROJECTX_POISON_CRASHES"
DEFAULT_LIMIT = 3
_SHOWN = 5  # keys named in a log line about a whole page


def limit() -> int:
    """Consecutive crashed runs with a record in flight before it is quarantined (at least 2)."""
    try:
        return max(2, int(os.environ.get(LIMIT_ENV) or DEFAULT_LIMIT))
    except ValueError:
        return DEFAULT_LIMIT


def record_key(record: Any, record_id: str | None) -> str:
    """The key a record is noted under: its id, else ``"~"`` + the digest of its text."""
    return record_id if record_id else "~" + digest(record)


def _files(root: Path, name: str) -> tuple[Path, Path]:
    return root / f"{name}.inflight", root / f"{name}.crashes"


def _read(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):  # absent, or cut off by a crash of the machine
        return None


def _write(path: Path, value: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(value))
    os.replace(tmp, path)


def _shown(keys: Iterable[str]) -> str:
    keys = list(keys)
    more = f" and {len(keys) - _SHOWN} more" if len(keys) > _SHOWN else ""
    return ", ".join(keys[:_SHOWN]) + more


def _side_files(root: Path, name: str) -> list[Path]:
    """The in-flight notes of work done several records at once (:class:`InFlight`)."""
    return sorted(p for p in root.glob(f"{name}.*.inflight") if p.name.count(".") == name.count(".") + 2)


def count_crash(root: Path, name: str, vendor: str) -> None:
    """The previous run died: count a crash against the keys it had in flight (recovery calls this)."""
    inflight, crashes = _files(root, name)
    notes = [inflight, *_side_files(root, name)]
    old = _read(crashes) or {}
    counts: dict[str, dict[str, int]] = {}
    for note in map(_read, notes):
        if not (isinstance(note, dict) and isinstance(note.get("resource"), str)
                and isinstance(note.get("ids"), list)):
            continue
        resource = note["resource"]
        before = old.get(resource) if isinstance(old.get(resource), dict) else {}
        mine = counts.setdefault(resource, {})
        mine.update({k: int(before.get(k, 0)) + 1 for k in note["ids"] if isinstance(k, str)})
        top = max(mine.values(), default=0)
        log.warning("%s %s: the previous run died while %d record(s) were in flight (%s); crashed runs in a row "
                    "with them in flight: %d of %d before quarantine", vendor, resource, len(mine),
                    _shown(mine), top, limit())
    counts = {r: c for r, c in counts.items() if c}
    if counts:
        _write(crashes, counts)
    else:
        crashes.unlink(missing_ok=True)
    for path in notes:
        path.unlink(missing_ok=True)


def settle(root: Path, name: str) -> None:
    """The run ended well: no crash streak goes on (recovery calls this)."""
    for path in [*_files(root, name), *_side_files(root, name)]:
        path.unlink(missing_ok=True)


def _ledger() -> tuple[Path, str] | None:
    """The running pipeline's ledger folder and name (None outside a pipeline)."""
    try:
        from dlt.common.configuration.container import Container
        from dlt.common.pipeline import PipelineContext

        context = Container()[PipelineContext]
        if context.is_active():  # iterated outside a pipeline (no default one made): nothing to note
            pipeline = context.pipeline()
            root = Path(pipeline.pipelines_dir)
            return (root, pipeline.pipeline_name) if root.is_dir() else None
    except Exception:
        return None
    return None


def _counts(crashes: Path, entity: str) -> dict[str, int]:
    counts = (_read(crashes) or {}).get(entity)
    return {k: int(v) for k, v in counts.items()} if isinstance(counts, dict) else {}


def poison_reason(n: int) -> str:
    return (f"{POISON_REASON_PREFIX}{n} runs in a row while handling this record: each of those runs "
            "ended (killed, out of memory or crashed) while this record was being turned into rows "
            "(held for review; the rest of the sync goes on)")


class PoisonGuard:
    """One resource's side of the crash ledger (see the module docstring).

    ``requeue``: the resource's re-read ledger, which then holds quarantined keys (re-read once released);
    without one the quarantine row is written directly."""

    def __init__(self, vendor: str, entity: str, run_id: str, requeue: Requeue | None = None):
        self.vendor, self.entity, self.run_id, self._requeue = vendor, entity, run_id, requeue
        self.limit = limit()
        self._inflight: Path | None = None
        self.counts: dict[str, int] = {}
        ledger = _ledger()
        if ledger is not None:
            self._inflight, crashes = _files(*ledger)
            self.counts = _counts(crashes, entity)
        self.held = requeue.held if requeue is not None else poison_held(entity)

    def handle(self, page: list, build: Callable[[list], Iterable[Any]],
               key: Callable[[Any], str | None],
               skipped: Callable[[str | None], None] | None = None) -> Iterator[Any]:
        """``build(page)``'s items, with the page noted in flight meanwhile; records held or due for
        quarantine are left out (the latter quarantined; ``skipped(record_id)`` is called for each), and
        a suspect page is built record by record. ``key(record)``: its id as its quarantine row keeps it."""
        if self._inflight is None:
            yield from build(page)
            return
        keys = [record_key(r, key(r)) for r in page]
        if self.held or self.counts:
            kept: list[tuple[Any, str]] = []
            for record, k in zip(page, keys, strict=True):
                if (k in self.held or self.counts.get(k, 0) >= self.limit) and skipped is not None:
                    skipped(key(record))
                if k in self.held:
                    log.warning("%s %s: record %s skipped: held in quarantine for killing the sync (delete its "
                                "quarantine row to release it)", self.vendor, self.entity, k)
                elif self.counts.get(k, 0) >= self.limit:
                    item = self._quarantine(record, k, key(record))
                    if item is not None:
                        yield item
                else:
                    kept.append((record, k))
            page, keys = [r for r, _ in kept], [k for _, k in kept]
            if any(self.counts.get(k, 0) >= self.limit - 1 for k in keys):
                log.warning("%s %s: %d record(s) were in flight in %d crashed runs in a row: handling them one "
                            "at a time to find the one that kills the sync", self.vendor, self.entity,
                            len(keys), self.limit - 1)
                for record, k in zip(page, keys, strict=True):
                    yield from self._built([record], [k], build)
                return
        if page:
            yield from self._built(page, keys, build)

    def _built(self, page: list, keys: list[str], build: Callable[[list], Iterable[Any]]) -> Iterator[Any]:
        _write(self._inflight, {"resource": self.entity, "ids": keys})
        try:
            yield from build(page)
        except (MemoryError, RecursionError):
            raise  # the process's own death throes: counted as a crash
        except BaseException:
            self._inflight.unlink(missing_ok=True)
            raise
        self._inflight.unlink(missing_ok=True)

    def _quarantine(self, record: Any, k: str, record_id: str | None) -> Any:
        n = self.counts[k]
        reason = poison_reason(n)
        log.warning("%s %s: record %s quarantined: the sync process died %d runs in a row while handling it",
                    self.vendor, self.entity, k, n)
        self.held.add(k)
        if self._requeue is not None:
            return self._requeue.hold(record, reason, record_id)
        return quarantined(self.entity, record, reason, self.run_id, record_id)


class InFlight:
    """The crash ledger of work that handles several records at once in threads (a download pool).

    Keys are noted in ``<pipeline>.<entity>.inflight`` before their work starts (:meth:`add`, one write
    per page however many keys) and dropped when it is done (:meth:`drop`, folded into the next write,
    or :meth:`close`). Any thread may call them. The note is left behind only when the process dies
    (or on ``MemoryError`` / ``RecursionError``, see :meth:`close`). ``counts``, ``held``, ``limit``,
    :meth:`suspect`, :meth:`due` and :meth:`quarantine` apply the module's rule to the keys."""

    def __init__(self, vendor: str, entity: str, run_id: str, noun: str = "record", noted: bool = True):
        self.vendor, self.entity, self.run_id, self.noun, self.limit = vendor, entity, run_id, noun, limit()
        self.path: Path | None = None
        self.counts: dict[str, int] = {}
        ledger = _ledger() if noted else None
        if ledger is not None:
            root, name = ledger
            self.path = root / f"{name}.{entity}.inflight"
            self.counts = _counts(_files(root, name)[1], entity)
        self.held: set[str] = poison_held(entity) if ledger is not None else set()
        self._keys: set[str] = set()
        self._gone: set[str] = set()
        self._lock = threading.Lock()

    @property
    def careful(self) -> bool:
        """Some key was in flight in ``limit - 1`` crashed runs in a row: isolate the suspects this run."""
        return any(n >= self.limit - 1 for n in self.counts.values())

    def suspect(self, key: str) -> bool:
        return self.limit - 1 <= self.counts.get(key, 0) < self.limit

    def due(self, key: str) -> bool:
        return self.counts.get(key, 0) >= self.limit

    def add(self, keys: Iterable[str]) -> None:
        """Note ``keys`` in flight (and forget those dropped since the last write): one write."""
        if self.path is None:
            return
        with self._lock:
            self._keys.difference_update(self._gone)
            self._gone.clear()
            self._keys.update(keys)
            _write(self.path, {"resource": self.entity, "ids": sorted(self._keys)})

    def only(self, key: str) -> None:
        """Note ``key`` alone in flight (a suspect handled by itself)."""
        log.warning("%s %s: %s %s was in flight in %d crashed runs in a row: handling it alone", self.vendor,
                    self.entity, self.noun, key, self.counts.get(key, 0))
        with self._lock:
            self._keys.clear()
            self._gone.clear()
        self.add([key])

    def drop(self, keys: Iterable[str]) -> None:
        """These keys' work is done: left out of the next write (no write now)."""
        with self._lock:
            self._gone.update(keys)

    def close(self, exc: BaseException | None = None) -> None:
        """The work is over: remove the note, unless the process is dying (``MemoryError``, ``RecursionError``)."""
        if self.path is not None and not isinstance(exc, MemoryError | RecursionError):
            with self._lock:
                self._keys.clear()
                self._gone.clear()
                self.path.unlink(missing_ok=True)

    def quarantine(self, record: Any, key: str) -> Any:
        """Quarantine a record due (see :meth:`due`): the quarantine item; the key is held from now on."""
        n = self.counts[key]
        log.warning("%s %s: %s %s quarantined: the sync process died %d runs in a row while handling it",
                    self.vendor, self.entity, self.noun, key, n)
        self.held.add(key)
        return quarantined(self.entity, record, poison_reason(n), self.run_id, key)


def release(vendor: str, entity: str, record_id: str) -> int:
    """Delete the quarantine row(s) holding ``record_id`` for killing the sync: how many were deleted."""
    from pipelines.common.quarantine import QUARANTINE_TABLE
    from pipelines.common.warehouse import WarehouseSettings

    # Not the sync's own working folder (a running sync may be rebuilding it): only its SQL client is used.
    pipeline = WarehouseSettings.from_env().pipeline(vendor, definition_only=True)
    with pipeline.sql_client() as client:
        table = client.make_qualified_table_name(QUARANTINE_TABLE)
        where = f"from {table} where entity = %s and record_id = %s and reason like %s"
        args = (entity, record_id, POISON_REASON_PREFIX + "%")
        [(count,)] = client.execute_sql(f"select count(*) {where}", *args)
        client.execute_sql(f"delete {where}", *args)
    return int(count)


def main(argv: list[str] | None = None) -> None:
    import sys

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 4 or args[0] != "release":
        sys.exit("usage: python -m pipelines.common.poison release <vendor> <entity> <record id>\n"
                 "  e.g. release servicenow incidents <sys_id>: the next sync reads that record again")
    _, vendor, entity, record_id = args
    count = release(vendor, entity, record_id)
    if not count:
        sys.exit(f"{vendor}.quarantine holds no record {record_id} of {entity} held for killing the sync")
    print(f"released {vendor} {entity} {record_id}: the next sync reads it again")


if __name__ == "__main__":
    main()
