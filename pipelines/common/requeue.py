"""The re-read rule for quarantined records, shared by every source: a quarantined key is read again on
every later run until it loads or the vendor no longer has it.

Why: incremental reads ask for what changed since the cursor. A record quarantined during a transient
fault (a corrupt response, a half-written record) has not changed when the fault clears, so the delta
would never see it again: "quarantined, never dropped" would quietly become "dropped".

How: :class:`Requeue` lives in the resource's dlt state (committed with the load, like the cursor).
It keeps ``key -> digest of the quarantined record`` for every key quarantined and not loaded since.
Each run the source reads those keys by id (whatever the cursor says) and tells the ledger what
happened: loaded (:meth:`loaded`: the key leaves), rejected again (:meth:`reject`: it stays; an
identical record is not written to quarantine a second time), or not returned by the vendor
(:meth:`gone`: deleted there; the source's delete capture marks it). Records rejected without a usable
key cannot be read by id: their update times are kept (:meth:`floor`) and the source reads from the
oldest of them until a run sees none of them rejected again.

After a crash: a run killed while dlt loaded its package may have committed the quarantine rows and
not the state (the package never completes, and the next run discards it: ``recovery``). The ledger
then lacks what those rows hold, and the re-read would quarantine the same records again. So the
ledger also counts as known the quarantine rows of loads that never completed (:func:`orphaned`).

Records that killed the sync process (:mod:`pipelines.common.poison`) are kept in the ledger but not
re-read while their quarantine row exists (``held``): re-reading one would kill every run again. Once an
operator deletes that row (the release), the key is due again and is read by id on the next run.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, MutableMapping
from typing import Any

import dlt

from pipelines.common.pages import text_problem
from pipelines.common.quarantine import QUARANTINE_TABLE, poison_held, quarantined

STATE_KEY = "quarantined"
AS_ID = object()  # Requeue.reject's default key: the record id as sent
UNKEYED_KEY = "quarantined_unkeyed"


def digest(record: Any) -> str:
    """A short fingerprint of what the vendor sent (to not quarantine the same record twice)."""
    # the same text as the quarantine table's ``record`` column: ASCII, lone surrogates come out escaped
    return _digest_text(json.dumps(record, sort_keys=True, default=str))


def _digest_text(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()


def orphaned(entity: str) -> set[str]:
    """Digests of ``entity``'s quarantine rows written by loads that never completed (not in
    ``_dlt_loads``): a crashed run's partly loaded package, discarded since, whose state was lost."""
    try:
        with dlt.current.pipeline().sql_client() as client:
            table = client.make_qualified_table_name(QUARANTINE_TABLE)
            loads = client.make_qualified_table_name("_dlt_loads")
            rows = client.execute_sql(
                f"select record from {table} where entity = %s and _dlt_load_id not in "
                f"(select load_id from {loads} where status = 0)", entity)
    except Exception:  # no quarantine table (or no destination) yet
        return set()
    return {_digest_text(record) for (record,) in rows or [] if isinstance(record, str)}


class Requeue:
    """Quarantined keys of one resource, re-read until they load or are gone (see module docstring)."""

    def __init__(self, state: MutableMapping, entity: str, run_id: str):
        self._state, self.entity, self.run_id = state, entity, run_id
        self.pending: dict[str, str] = dict(state.get(STATE_KEY) or {})
        self._old_unkeyed: dict[str, str] = dict(state.get(UNKEYED_KEY) or {})
        self._unkeyed: dict[str, str] = {}
        self._loaded: dict[str, str] = {}  # keys loaded this run, with what they were quarantined as
        self._orphaned = orphaned(entity)  # already in quarantine, from a crashed run's partial load
        # Held for killing the sync: never due while held; kept pending (also when a crash lost the state
        # that had them) so that a release makes them due.
        self.held: set[str] = poison_held(entity)
        for key in self.held:
            if not key.startswith("~"):
                self.pending.setdefault(key, "")
        self._due = sorted(k for k in self.pending if k not in self.held)

    def due(self) -> list[str]:
        """Keys quarantined by earlier runs and not loaded since: read them by id this run."""
        return list(self._due)

    def floor(self) -> str | None:
        """The oldest update time of records quarantined without a key (cursor format), if any."""
        return min(self._old_unkeyed.values(), default=None)

    def reject(self, record: Any, reason: str, record_id: str | None, stamp: str | None = None,
               *, key: Any = AS_ID) -> Any:
        """The quarantine item for a rejected record, or None if this very record is already there.

        ``stamp``: the record's update time in cursor format, used when it has no usable key. ``key``: what
        reads the record again, when that is not ``record_id`` as sent (a ServiceNow ``sys_id`` served
        upper-cased or with a trailing space is re-read by its canonical form; None: by ``stamp`` only)."""
        fingerprint = digest(record)
        # A key holding text no warehouse stores (a lone surrogate, a NUL) cannot be kept: dlt writes
        # resource state as JSON that refuses it, and a read by id could not send it. Keep the time.
        key = record_id if key is AS_ID else key
        key = key if key and text_problem(key) is None else None
        if key:
            # Rejected after a check that came later in the run than its loading (a detail fetched
            # after the listing): it is the same quarantined record if the ledger had it as such.
            known = self.pending.get(key) or self._loaded.get(key)
            self.pending[key] = fingerprint
            if known == fingerprint or fingerprint in self._orphaned:
                return None
        elif stamp:
            self._unkeyed[fingerprint] = stamp
            if fingerprint in self._old_unkeyed or fingerprint in self._orphaned:
                return None
        return quarantined(self.entity, record, reason, self.run_id, record_id or None)

    def holds(self, record_id: str, record: Any) -> bool:
        """Whether the ledger has ``record`` as ``record_id``'s quarantined record (due, or loaded this run)."""
        fingerprint = digest(record)
        return fingerprint in (self.pending.get(record_id), self._loaded.get(record_id))

    def hold(self, record: Any, reason: str, record_id: str | None) -> Any:
        """The quarantine item for a record that killed the sync (always written); kept, not re-read,
        until released."""
        if record_id and text_problem(record_id) is None:
            self.pending[record_id] = digest(record)
            self.held.add(record_id)
        return quarantined(self.entity, record, reason, self.run_id, record_id or None)

    def loaded(self, ids: Iterable[str]) -> None:
        """These keys loaded: nothing more to re-read for them."""
        if self.pending:
            for rid in ids:
                was = self.pending.pop(rid, None)
                if was is not None:
                    self._loaded[rid] = was

    def gone(self, ids: Iterable[str]) -> None:
        """The vendor no longer has these keys (a re-read by id did not return them)."""
        for rid in ids:
            self.pending.pop(rid, None)

    def commit(self) -> None:
        """Write the ledger to the resource state (dlt commits it with this run's load)."""
        self._state[STATE_KEY] = dict(sorted(self.pending.items()))
        self._state[UNKEYED_KEY] = self._unkeyed
