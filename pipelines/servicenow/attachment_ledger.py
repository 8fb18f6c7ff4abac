"""What the attachments resource remembers about the records it quarantined, so that no run writes the same
quarantine row twice (see :mod:`pipelines.servicenow.attachments`).

- Rejected records (hostile text, a malformed field) and files whose handling raised go through the tables'
  re-read ledger (:class:`pipelines.common.requeue.Requeue`, state ``quarantined``): a record rejected
  once is quarantined once while it stays the same (the overlap re-read of later runs, and the read by id
  of every later run, find it known), a changed one again with its new reason; the keys are read again by
  id on every run until they load or the vendor no longer has them.
- Two different metadata records with one ``sys_id`` in one listing (:class:`pipelines.common.reused_ids.
  ReusedIds`, state ``reused_ids``): the newest ``sys_updated_on`` is kept, then the higher
  ``sys_mod_count``, then the larger ``size_bytes``; the other is quarantined once.
- Records rejected without a usable sys_id cannot be read by id: the listing starts from the oldest of their
  update times (:meth:`Ledger.floor`). That floor is bounded: a stamp whose record was re-read and rejected
  unchanged ``UNKEYED_REREADS`` times (state ``quarantined_unkeyed_rereads``), or that is older than the
  cursor's start by more than ``UNKEYED_MAX_AGE``, no longer holds it (the record was quarantined once
  already; without a bound one such record made every run list, download and scan again every attachment
  updated since it). The read by id goes in chunks of ``ID_CHUNK`` ids (:func:`id_chunks`).
- A rejection seen again after its sys_id loaded (a hostile twin listed beside the valid record: the valid
  one's loading takes the key out of the re-read ledger in the same run) is not quarantined again either:
  (sys_id, reason, digest of the record) of every keyed rejection is kept (state ``quarantined_seen``) while
  the record can still be listed (met this run, or its ``sys_updated_on`` no older than the cursor's start
  by more than ``UNKEYED_MAX_AGE``; at most ``TWINS_MAX`` keys). The same key with another reason or other
  content is quarantined again, once.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, MutableMapping
from datetime import timedelta
from typing import Any

from pipelines.common.cursor import VENDOR_TS_FORMAT, parse_vendor_ts
from pipelines.common.quarantine import quarantined
from pipelines.common.requeue import UNKEYED_KEY, Requeue, digest
from pipelines.common.reused_ids import ReusedIds

RESOURCE = "attachments"
REREADS_KEY = "quarantined_unkeyed_rereads"
UNKEYED_REREADS = 3  # re-read and rejected unchanged this many times: its stamp no longer holds the floor
UNKEYED_MAX_AGE = timedelta(days=1)  # older than the cursor's start by more: no longer holds the floor
# ids per read-by-id query, and characters of ids at most: the URL stays far below the ~8 KB servers take
# (an id may be up to 64 characters, each comma sent as %2C; the tables' re-read uses these chunks too)
ID_CHUNK = 100
ID_CHUNK_CHARS = 3500
TWINS_KEY = "quarantined_seen"
TWINS_MAX = 5000  # keys remembered at most (the newest stamps kept)


def id_chunks(ids: list[str], size: int = ID_CHUNK, chars: int = ID_CHUNK_CHARS) -> list[list[str]]:
    """``ids`` in order, cut into chunks of at most ``size`` ids and ``chars`` characters of ids."""
    out: list[list[str]] = []
    length = 0
    for key in ids:
        if not out or len(out[-1]) >= size or length + len(key) > chars:
            out.append([])
            length = 0
        out[-1].append(key)
        length += len(key) + 1
    return out


class Ledger:
    """The attachments resource's quarantine memory for one run (``state`` None: a window run, no memory)."""

    def __init__(self, state: MutableMapping | None, run_id: str):
        self.run_id = run_id
        self.requeue = Requeue(state, RESOURCE, run_id) if state is not None else None
        self.reused = ReusedIds(state, RESOURCE, run_id, "sys_id", _rank, _describe)
        self.due = [k for k in (self.requeue.due() if self.requeue else []) if usable_id(k)]
        self._found: set[str] = set()
        # unkeyed rejections of earlier runs: fingerprint -> stamp, and how often each was re-read unchanged
        self._unkeyed: dict[str, str] = dict(state.get(UNKEYED_KEY) or {}) if state is not None else {}
        self._rereads: dict[str, int] = dict(state.get(REREADS_KEY) or {}) if state is not None else {}
        # keyed rejections quarantined before: sys_id -> {digest of (reason, record): its sys_updated_on}
        old = (state.get(TWINS_KEY) or {}) if state is not None else {}
        self._twins_old: dict[str, dict[str, str]] = {k: dict(v) for k, v in old.items() if isinstance(v, dict)}
        self._twins: dict[str, dict[str, str]] = {}  # met this run

    def floor(self, since: str | None = None) -> str | None:
        """The oldest update time of records rejected without a usable sys_id (read from there), leaving out
        those re-read and rejected unchanged ``UNKEYED_REREADS`` times and, given ``since`` (the cursor's
        start), those older than it by more than ``UNKEYED_MAX_AGE``."""
        if self.requeue is None:
            return None
        oldest = None
        if since is not None and is_stamp(since):
            oldest = (parse_vendor_ts(since) - UNKEYED_MAX_AGE).strftime(VENDOR_TS_FORMAT)
        stamps = [stamp for fingerprint, stamp in self._unkeyed.items()
                  if self._rereads.get(fingerprint, 0) < UNKEYED_REREADS and (oldest is None or stamp >= oldest)]
        return min(stamps, default=None)

    def reject(self, record: Any, reason: str) -> Any:
        """The quarantine item for a rejected record, or None when this very record is there already."""
        sys_id = record.get("sys_id") if isinstance(record, dict) else None
        sys_id = sys_id if isinstance(sys_id, str) and sys_id else None
        if self.requeue is None:
            return quarantined(RESOURCE, record, reason, self.run_id, sys_id)
        stamp = record.get("sys_updated_on") if isinstance(record, dict) else None
        stamp = stamp if is_stamp(stamp) else None
        item = self.requeue.reject(record, reason, sys_id, stamp)
        if sys_id is None or not usable_id(sys_id):
            return item
        mark = digest([reason, record])  # same key + same reason + same content: quarantined once
        known = mark in self._twins_old.get(sys_id, {}) or mark in self._twins.get(sys_id, {})
        self._twins.setdefault(sys_id, {})[mark] = parse_vendor_ts(stamp).strftime(VENDOR_TS_FORMAT) if stamp else ""
        return None if known else item

    def rejected(self, pairs: Iterable[tuple[Any, str]]) -> Iterator[Any]:
        for record, reason in pairs:
            item = self.reject(record, reason)
            if item is not None:
                yield item

    def loaded(self, rows: list[dict[str, Any]]) -> None:
        if self.requeue is not None:
            self.requeue.loaded(r["sys_id"] for r in rows)

    def listed_again(self, page: list[Any]) -> None:
        """A page of the read by id: which due keys the vendor still has."""
        self._found.update(r["sys_id"] for r in page if isinstance(r, dict) and isinstance(r.get("sys_id"), str))

    def commit(self, state: MutableMapping | None, listed_by_id: bool, since: str | None = None) -> None:
        """Write the ledgers to ``state``. ``listed_by_id``: the read by id ran to its end (due keys it did
        not return are gone at the vendor). ``since``: the cursor's start (what the listing still reaches)."""
        if state is None or self.requeue is None:
            return
        state[TWINS_KEY] = self._twins_kept(since)
        if listed_by_id:
            self.requeue.gone(k for k in self.due if k not in self._found)
        self.requeue.gone(k for k in self.requeue.due() if not usable_id(k))
        self.requeue.commit()  # its state: the resource's (dlt hands the prefetch the same dict)
        # this run's unkeyed rejections: one rejected by an earlier run too was re-read unchanged once more
        state[REREADS_KEY] = {fingerprint: self._rereads.get(fingerprint, 0) + 1 if fingerprint in self._unkeyed
                              else 0 for fingerprint in state.get(UNKEYED_KEY) or {}}
        self.reused.commit(state)


    def _twins_kept(self, since: str | None) -> dict[str, dict[str, str]]:
        """The rejections met this run, and those of earlier runs the listing may still reach."""
        cutoff = (parse_vendor_ts(since) - UNKEYED_MAX_AGE).strftime(VENDOR_TS_FORMAT) if is_stamp(since) else None
        kept = {k: dict(v) for k, v in self._twins.items()}
        for key, marks in self._twins_old.items():
            for mark, stamp in marks.items():
                if mark not in kept.get(key, {}) and cutoff is not None and is_stamp(stamp) and stamp >= cutoff:
                    kept.setdefault(key, {})[mark] = stamp
        newest = sorted(kept, key=lambda k: max(kept[k].values()), reverse=True)[:TWINS_MAX]
        return {k: dict(sorted(kept[k].items())) for k in sorted(newest)}


def whole_ids(fetch) -> Iterator[tuple[int, list[dict]]]:
    """The listing's pages (``fetch``: a :class:`pipelines.servicenow.attachment_fetch.Fetch`), each settled once
    handled, with the records of its last sys_id held back for the next page of the same query: the listing
    is ordered by sys_id, so the records sharing one sys_id are handled together (:class:`ReusedIds`).
    [unc] offset paging over rows with equal sys_ids may repeat or skip one at a page boundary."""
    held: list[dict] = []
    held_index = -1
    for index, page in fetch.pages():
        if held and index != held_index:
            yield held_index, held
            fetch.settle(held)
            held = []
        page = held + page
        last = page[-1].get("sys_id") if page and isinstance(page[-1], dict) else None
        cut = len(page)
        while isinstance(last, str) and cut and isinstance(page[cut - 1], dict) and page[cut - 1].get("sys_id") == last:
            cut -= 1
        page, held, held_index = page[:cut], page[cut:], index
        if page:
            yield index, page
            fetch.settle(page)
    if held:
        yield held_index, held
        fetch.settle(held)


def usable_id(value: str) -> bool:
    """A key that can go into a ``sys_idIN`` query (the tables' re-read uses it too)."""
    return 0 < len(value) <= 64 and value.isascii() and value.isalnum()


def is_stamp(value: Any) -> bool:
    """Whether ``value`` is a vendor timestamp :func:`parse_vendor_ts` reads."""
    if not isinstance(value, str):
        return False
    try:
        parse_vendor_ts(value)
    except ValueError:
        return False
    return True


def _int(value: Any) -> int:
    return int(value) if isinstance(value, str) and value.isdigit() and value.isascii() else -1


def _rank(record: dict[str, Any]) -> tuple:
    return (record.get("sys_updated_on") or "", _int(record.get("sys_mod_count")), _int(record.get("size_bytes")))


def _describe(record: dict[str, Any]) -> str:
    return (f"sys_updated_on {record.get('sys_updated_on')}, sys_mod_count {record.get('sys_mod_count')}, "
            f"size_bytes {record.get('size_bytes')}, hash {record.get('hash')}")
