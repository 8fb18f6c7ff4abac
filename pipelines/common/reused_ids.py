"""One id, two different records in one listing (a vendor bug, a restore that brought back an old row beside
the new one): one is kept, the others are quarantined once, with the reason naming the one kept.

Rule (deterministic, whatever order the vendor sends them in): the record ranked highest by the caller's
``rank`` (ServiceNow attachments: newest ``sys_updated_on``, then the higher ``sys_mod_count``, then the
larger ``size_bytes``), ties broken by the larger digest of the record's text. Records identical to the
kept one are dropped in silence (the same row sent twice is no conflict).

A loser is quarantined once per content: its digest is kept in the resource state (``reused_ids``:
``id -> [digests]``) while the listing still sends it, so the overlap re-read of later runs writes no
second row; a loser that changes is quarantined again with its new content. Entries for ids the run did
not see again drop out of the state (it stays as small as the conflicts at hand). Losers are not re-read
by id (:mod:`pipelines.common.requeue`): their id loaded, with the kept record.

Across runs, a record whose content changes under the same id is no conflict: the newer listing replaces
the row (merge on the id); the files are content-addressed (``pipelines.common.evidence``), so the old
file and the Evidence Library's record of it stay where they were.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, MutableMapping
from typing import Any

from pipelines.common.quarantine import quarantined
from pipelines.common.requeue import digest, orphaned

log = logging.getLogger(__name__)

STATE_KEY = "reused_ids"


class ReusedIds:
    """The rule above for one resource's listing; ``rank(record)``: a sortable key, higher wins."""

    def __init__(self, state: MutableMapping | None, entity: str, run_id: str, key: str,
                 rank: Callable[[dict[str, Any]], tuple], describe: Callable[[dict[str, Any]], str]):
        self.entity, self.run_id, self.key, self._rank, self._describe = entity, run_id, key, rank, describe
        old = (state or {}).get(STATE_KEY) or {}
        self._old: dict[str, set[str]] = {k: set(v) for k, v in old.items() if isinstance(v, list)}
        self._seen: dict[str, set[str]] = {}
        self._orphaned: set[str] | None = None  # read once, when a first loser is due

    def split(self, records: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[Any]]:
        """(records kept, in their order; quarantine items for the losers). Cost: one dict pass, digests only
        for ids sent more than once."""
        first: dict[Any, int] = {}
        twice: set[Any] = set()
        for i, record in enumerate(records):
            k = record.get(self.key)
            if k in first:
                twice.add(k)
            else:
                first[k] = i
        if not twice:
            return records, []
        kept: list[dict[str, Any]] = []
        groups: dict[Any, list[dict[str, Any]]] = {}
        for record in records:
            k = record.get(self.key)
            if k in twice:
                groups.setdefault(k, []).append(record)
            else:
                kept.append(record)
        items = []
        for k, group in groups.items():
            ranked = sorted({digest(r): r for r in group}.items(), key=lambda d: (self._rank(d[1]), d[0]),
                            reverse=True)
            (_, winner), losers = ranked[0], ranked[1:]
            kept.append(winner)
            for fingerprint, loser in losers:
                item = self._quarantine(str(k), fingerprint, loser, winner)
                if item is not None:
                    items.append(item)
        order = {id(r): i for i, r in enumerate(records)}
        kept.sort(key=lambda r: order[id(r)])
        return kept, items

    def _quarantine(self, k: str, fingerprint: str, loser: dict[str, Any], winner: dict[str, Any]) -> Any:
        seen = self._seen.setdefault(k, set())
        known = fingerprint in seen or fingerprint in self._old.get(k, ())
        seen.add(fingerprint)
        if known:
            return None
        if self._orphaned is None:
            self._orphaned = orphaned(self.entity)
        if fingerprint in self._orphaned:  # written by a crashed run whose state was lost
            return None
        log.warning("%s: %s %s sent twice with different content in one listing: kept %s", self.entity,
                    self.key, k, self._describe(winner))
        reason = (f"{self.key} reused: the listing sent another, different record with this {self.key}; kept that "
                  f"one ({self._describe(winner)}), this one ({self._describe(loser)}) is held here")
        return quarantined(self.entity, loser, reason, self.run_id, k)

    def commit(self, state: MutableMapping) -> None:
        """Keep the digests of the losers this run saw (see the module docstring)."""
        state[STATE_KEY] = {k: sorted(v) for k, v in sorted(self._seen.items())}
