"""One incremental pass over a OneTrust listing, and the delete capture that follows it.

A pass reads a whole listing (assessments, in creation order), one filtered to changes (risks), or one
asked for newest change first that it leaves at the cursor only while the order is proven (vendors,
:class:`ChangeOrder`) and, per page:
checks records against the entity's contract (rejects go to quarantine with their reasons), skips rows
older than the cursor's overlap window or whose version was loaded before (:class:`OverlapCursor`,
cursor values normalised to UTC ``YYYY-MM-DD HH:MM:SS``, version ``"{cursor}|{raw last-modified}"``),
and yields the changed records. Ids are compared in their canonical form (lower case, see
:func:`pipelines.onetrust.rows.uuid_key`): a record served with its id upper-cased is the same record.
A *full* pass (the whole listing, ``held`` = the ids the warehouse has) also reloads any listed record
the warehouse lacks whatever its timestamp — a record quarantined earlier and since repaired, or one a
shifting page hid — and notes every id it saw, so it can reconcile deletes. If the listing shrank while
we paged (records deleted meanwhile shift rows onto pages we had already read) the pass is *unstable*:
the cursor is not advanced and no reconciliation is attempted, so the next run re-reads that window
instead of losing a row or inventing a delete.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Iterator, MutableMapping
from dataclasses import dataclass, field
from typing import Any

import dlt

from pipelines.common.cursor import OverlapCursor, parse_vendor_ts, utc_text
from pipelines.common.deletions import DELETIONS_TABLE, deletion_rows, withdrawn_rows
from pipelines.common.pages import safe_text, text_problem
from pipelines.common.quarantine import quarantined
from pipelines.common.requeue import Requeue
from pipelines.onetrust import unreadable
from pipelines.onetrust.copies import Shadowed, content, instant_text, rank
from pipelines.onetrust.helpers import Page
from pipelines.onetrust.reread import Reread
from pipelines.onetrust.rows import uuid_key
from pipelines.onetrust.schemas import check_records
from pipelines.onetrust.settings import ENTITIES, EntitySpec

log = logging.getLogger(__name__)

VERIFY_LIMIT = 200  # ids a full pass may check one by one when a malformed record hides which it is


def normalise(raw: Any) -> str | None:
    """OneTrust ISO-8601 timestamp -> UTC ``YYYY-MM-DD HH:MM:SS`` (the cursor format); None if invalid."""
    try:
        return utc_text(parse_vendor_ts(raw))
    except (TypeError, ValueError):
        return None


@dataclass
class ScanOutcome:
    """What one pass saw: ids for reconciliation and whether the listing can be trusted."""

    listed_ids: set[str] = field(default_factory=set)  # live records listed (valid or quarantined)
    flagged_ids: set[str] = field(default_factory=set)  # records OneTrust marked for deletion
    loaded_ids: set[str] = field(default_factory=set)  # records yielded for loading
    blind: int = 0  # listed records without a usable id: absence proves nothing
    stable: bool = True  # the listing did not shrink between pages
    complete: bool = False  # every page was read (no early stop at the cursor)
    set_aside: list[str] = field(default_factory=list)  # listing positions OneTrust failed to serve (slots)


class ChangeOrder:
    """Whether a listing asked for newest change first really is in that order, page by page.

    OneTrust documents no last-modified sort (vendor-apis §3.3, §3.5), so a server may serve another
    order, and a delta that stopped at the first row older than the cursor would then miss every change
    below it until the next full pass. The order counts as proven only while every page echoes the sort
    asked for (``meta.page.sort``: same property, descending, case-insensitive) and the stamps read so
    far never rise. Once not proven it stays so for the pass, which then reads the whole listing; the
    first failure is logged once (this object lives for one run of one resource)."""

    def __init__(self, spec: EntitySpec, sort: str):
        self.spec, self.sort = spec, sort
        prop, _, direction = sort.partition(",")
        self.want = (prop.strip().lower(), (direction.strip() or "asc").lower())
        self.proven = True
        self.lowest: str | None = None  # the oldest stamp read so far

    def check(self, page: Page) -> bool:
        """Fold in one page; True while the order is still proven."""
        if not self.proven:
            return False
        echoed = page.sort[0] if page.sort else None
        if echoed is None or (echoed[0].strip().lower(), echoed[1].strip().lower()) != self.want:
            shown = ", ".join(f"{p} {d}" for p, d in page.sort)[:120] if page.sort else "no sort"
            return self._fail(page, f"did not confirm sort={self.sort} for {self.spec.resource} (echoed "
                                    f"{shown!r} on page {page.number})")
        for record in page.items:
            stamp = normalise(record.get(self.spec.ts_field)) if isinstance(record, dict) else None
            if stamp is None:
                continue
            if self.lowest is not None and stamp > self.lowest:
                return self._fail(page, f"echoed sort={self.sort} for {self.spec.resource}, but page "
                                        f"{page.number} lists {self.spec.ts_field} {stamp} after {self.lowest}: "
                                        "the rows are not newest first")
            self.lowest = stamp
        return True

    def _fail(self, page: Page, what: str) -> bool:
        self.proven = False
        pages = page.total_pages if page.total_pages is not None else "?"
        records = page.total_elements if page.total_elements is not None else "?"
        log.warning("OneTrust %s; reading the whole listing (%s requests for %s records) instead of stopping at "
                    "the cursor, so no change is missed", what, pages, records)
        return False


def changed_records(spec: EntitySpec, pages: Iterable[Page], cursor: OverlapCursor, run_id: str,
                    outcome: ScanOutcome, *, order: ChangeOrder | None = None, held: set[str] | None = None,
                    requeue: Requeue | None = None, deleted: set[str] | None = None,
                    shadowed: Shadowed | None = None, reread: Reread | None = None,
                    stored: dict[str, str] | None = None) -> Iterator[Any]:
    """Yield lists of changed, valid raw records and quarantine items, page by page.

    ``order``: the listing was asked for newest change first; while :class:`ChangeOrder` finds that
    proven, the first page holding a row older than the cursor window is the last one worth reading.
    None: the whole listing is read. ``held``: on a full pass, the ids already
    stored; a listed record outside it is loaded even when older than the cursor. ``requeue``: the
    re-read ledger; a key quarantined earlier and not loaded since is loaded whatever its timestamp
    (so the listing is read to its end while any is due). ``deleted``: ids with a recorded delete; one
    listed again (restored, whatever its timestamp) is loaded and its delete withdrawn. ``shadowed``: the
    ledger of copies quarantined because another copy of their record won (:mod:`pipelines.onetrust.copies`,
    whose rule picks the copy loaded when one read lists a record more than once). ``reread``: the due keys read
    by id this run (:mod:`pipelines.onetrust.reread`): the keys it covers no longer keep a delta from stopping at
    the cursor; its records are taken after the listing, only for ids the listing did not settle (took, found
    unchanged, rejected or flagged), so a listed copy always wins over the answer by id. ``stored``: on a full pass,
    the instant of each stored copy (:func:`pipelines.onetrust.copies.stored_instants`); a listed copy newer than
    it is loaded even when older than the cursor window (a change stamped behind the cursor).

    A copy whose stamp is not readable, of a record with a usable id, is judged at the end of the pass (or of its
    early stop): if another copy of the record was read in the pass, on any page, before or after it, it is held
    as that copy's shadow (quarantined once, :class:`Shadowed`); only otherwise is it a record to re-read
    (``requeue``). Judged where it stood, a copy on an earlier page than its readable twin made its id due, so
    every later delta read the whole listing for it and loaded the twin again.
    """
    deleted = deleted if deleted is not None else set()
    shadowed = shadowed if shadowed is not None else Shadowed({}, spec.resource, run_id)
    due = set(requeue.due()) if requeue is not None else set()
    reread = reread if reread is not None else Reread()
    stop_early = order is not None and not (due - reread.covered)

    def missing(rid: Any) -> bool:
        return isinstance(rid, str) and ((held is not None and rid not in held) or rid in deleted
                                         or (rid in due and requeue is not None and rid in requeue.pending))
    # Records quarantined without a usable id can only be found again by time: read from the oldest.
    floor = requeue.floor() if requeue is not None else None
    begin = utc_text(cursor.start_datetime)
    start = min(begin, floor) if floor else begin
    # id -> (instant, raw stamp, content digest) of the copy this pass took (a row shifted onto a later page)
    emitted: dict[str, tuple[Any, Any, str]] = {}
    judged_listed: set[str] = set()  # ids whose listed copy was rejected (readable stamp) or flagged: the listing's
    deferred: list[tuple[Any, str, str]] = []  # (copy with an unreadable stamp, reason, id): judged at the end

    def judged() -> Iterator[Any]:
        for record, reason, rid in deferred:
            # quarantined before, as a shadow or as a record to re-read (a delta that stopped before its twin, a
            # run that then read the twin by id): not written again whichever it is this time
            before = shadowed.seen_before(record, rid) or (requeue is not None and requeue.holds(rid, record))
            if rid in emitted:  # another copy of this record was read in this pass: it stands for the id
                item = shadowed.item(record, rid, f"{reason}; {_kept(spec, emitted[rid][1])}")
            else:
                item = (quarantined(spec.resource, record, reason, run_id, rid) if requeue is None
                        else requeue.reject(record, reason, rid))
            if item is not None and not before:
                yield item
        deferred.clear()

    def taken(page: Page, listed: bool) -> Iterator[Any]:
        """One page's quarantine items and changed records; returns whether it held a row older than the window."""
        live = []
        kept, losers = newest_copies(spec, page.items)
        for loser, reason, rid in losers:
            item = shadowed.item(loser, rid, reason)
            if item is not None:
                yield item
        for record in kept:
            rid = uuid_key(record.get(spec.id_field)) if isinstance(record, dict) else None
            if not isinstance(rid, str) or not rid or text_problem(rid):  # hostile text: no usable id
                outcome.blind += 1
            elif record.get("markForDelete") is True:
                outcome.flagged_ids.add(rid)
                judged_listed.add(rid)
                continue
            else:
                outcome.listed_ids.add(rid)
            live.append(record)
        valid, rejected = check_records(spec.resource, live)
        for record, reason in rejected:
            stamp = normalise(record.get(spec.ts_field)) if isinstance(record, dict) else None
            rid = uuid_key(record.get(spec.id_field)) if isinstance(record, dict) else None
            rid = rid if isinstance(rid, str) and rid else None
            if rid and stamp is not None and listed:
                judged_listed.add(rid)
            if stamp is not None and stamp < start and not missing(rid):
                continue  # unchanged since an earlier run quarantined it
            if stamp is None and rid and not text_problem(rid):  # a copy of a record this pass takes? At the end
                deferred.append((record, reason, rid))
                continue
            item = (quarantined(spec.resource, record, reason, run_id, rid) if requeue is None
                    else requeue.reject(record, reason, rid, stamp))
            if item is not None:
                yield item
        fresh, reached_old = [], False
        for record in valid:
            raw = record[spec.ts_field]
            stamp = normalise(raw)
            rid = uuid_key(record[spec.id_field])
            if stamp is None:
                deferred.append((record, f"{spec.ts_field}: not a timestamp (got {raw})", rid))
                continue
            version, instant = f"{stamp}|{raw}", instant_text(raw)
            if stamp < start:
                reached_old = True
                behind = stored is not None and instant is not None and instant > stored.get(rid, instant)
                if not missing(rid) and not behind:
                    emitted.setdefault(rid, (instant, raw, None))  # unchanged: it stands for its id
                    continue
            if rid in emitted and instant is not None:
                first, shown, was = emitted[rid]
                if first > instant:  # an older copy than the one this pass took (a listing that moved)
                    continue
                if first == instant:  # a tie: the copy read first stays (see pipelines.onetrust.copies)
                    if was is not None and content(record, spec.ts_field) != was:
                        item = shadowed.item(record, rid, _conflict(spec, raw, shown))
                        if item is not None:
                            yield item
                    continue
            if not cursor.admit(rid, stamp, version):
                emitted[rid] = (instant, raw, None)  # loaded before: it stands for its id in this pass
                continue
            emitted[rid] = (instant, raw, content(record, spec.ts_field))
            fresh.append(record)
        if fresh:
            keys = [uuid_key(r[spec.id_field]) for r in fresh]
            outcome.loaded_ids.update(keys)
            if requeue is not None:
                requeue.loaded(keys)
            back = sorted(deleted.intersection(keys))
            if back:
                deleted.difference_update(back)
                yield withdrawn_rows(spec.resource, back, run_id=run_id)
            yield fresh
        return reached_old

    last_total: int | None = None
    stopped = False
    for page in pages:
        # a position OneTrust fails to serve (pipelines.onetrust.unreadable): quarantined once, kept by time
        page, unread = unreadable.set_aside(page, outcome, lambda slot: (
            quarantined(spec.resource, dict(slot), slot.reason, run_id) if requeue is None
            else requeue.reject(dict(slot), slot.reason, None, start)))
        yield from unread
        if last_total is not None and page.total_elements is not None and page.total_elements < last_total:
            outcome.stable = False
        last_total = page.total_elements if page.total_elements is not None else last_total
        if stop_early:
            stop_early = order is not None and order.check(page)
        reached_old = yield from taken(page, True)
        if stop_early and reached_old:
            stopped = True
            break
    # The records read by id last, for the keys the listing did not settle: a listed copy (taken, unchanged, or
    # judged) stands for its id, and an answer by id (another view of the record) never wins a tie over it.
    by_id = [r for r in reread.records
             if (rid := uuid_key(r.get(spec.id_field))) not in emitted and rid not in judged_listed]
    if by_id:
        yield from taken(Page(by_id, -1, None, None), False)
    yield from judged()
    outcome.complete = not stopped


def newest_copies(spec: EntitySpec, records: list[Any]) -> tuple[list[Any], list[tuple[Any, str, str]]]:
    """A page's records with one readable copy per id, the newest by its parsed instant (the rule of
    :mod:`pipelines.onetrust.copies`), where the first copy stood: a page listing a record twice with different
    content kept whichever copy the load happened to keep, a stale one included. Older copies are left out
    in silence (and so are exact repeats); also returned, as (copy, reason, id) to quarantine, copies that
    lost a tie with other content and copies whose stamp is not readable beside a readable one. A record
    listed only with unreadable stamps, or without a usable id, is left as it is (validation judges it)."""
    keys = [uuid_key(r.get(spec.id_field)) if isinstance(r, dict) else None for r in records]
    counts: dict[Any, int] = {}
    for key in keys:
        counts[key] = counts.get(key, 0) + 1
    if all(n == 1 or not (isinstance(k, str) and k) for k, n in counts.items()):
        return records, []
    # ranks only for ids listed more than once (a digest of each copy)
    ranks = [rank(r, spec.ts_field) if isinstance(key, str) and key and counts[key] > 1 else None
             for key, r in zip(keys, records, strict=True)]
    best: dict[str, int] = {}
    for n, key in enumerate(keys):
        if ranks[n] is not None and (key not in best or ranks[n] > ranks[best[key]]):
            best[key] = n
    kept, losers = [], []
    for n, (key, record) in enumerate(zip(keys, records, strict=True)):
        if not (isinstance(key, str) and key) or key not in best or best[key] == n:
            kept.append(record)
            continue
        winner = records[best[key]]
        raw = record.get(spec.ts_field)
        if ranks[n] is None:
            losers.append((record, f"{spec.ts_field}: not a timestamp (got {_shown(raw)}); "
                                   f"{_kept(spec, winner.get(spec.ts_field))}", key))
        elif ranks[n][0] == ranks[best[key]][0] and content(record, spec.ts_field) != content(winner, spec.ts_field):
            losers.append((record, _conflict(spec, raw, winner.get(spec.ts_field)), key))
    return kept, losers


def _shown(raw: Any) -> str:
    text = safe_text(json.dumps(raw, ensure_ascii=False, default=str))
    return text if len(text) <= 60 else text[:60] + "..."


def _kept(spec: EntitySpec, winner_raw: Any) -> str:
    return (f"another copy of this record in the same read ({spec.ts_field} {_shown(winner_raw)}) was loaded "
            "instead")


def _conflict(spec: EntitySpec, raw: Any, winner_raw: Any) -> str:
    return (f"{spec.id_field} listed twice in one read at the same instant with other content: this copy "
            f"({spec.ts_field} {_shown(raw)}) is held here; {_kept(spec, winner_raw)}")


def finish(spec: EntitySpec, cursor: OverlapCursor, outcome: ScanOutcome, state: MutableMapping,
           run_id: str) -> None:
    """Advance the cursor (only after a stable pass) and record what the pass did."""
    if outcome.stable:
        cursor.commit()
    else:
        log.warning("OneTrust %s: records were deleted while we paged; the cursor stays where it was "
                    "so the next run re-reads this window", spec.resource)
    state["stats"] = {"run_id": run_id, "loaded": len(outcome.loaded_ids), "stable": outcome.stable,
                      "skipped_unchanged": cursor.skipped_unchanged}


def known_deletions(entity: str) -> set[str]:
    """Record ids already in ``onetrust.deletions`` for ``entity`` (empty before the first load)."""
    if entity not in ENTITIES:
        raise ValueError(f"unknown OneTrust entity {entity!r}")
    pipeline = dlt.current.pipeline()
    try:
        with pipeline.sql_client() as client:
            name = client.make_qualified_table_name(DELETIONS_TABLE)
            # entity is one of our own constant names (checked above), never user input
            rows = client.execute_sql(f"select record_id from {name} where entity = '{entity}'")
    except Exception:  # dataset or table not created yet: nothing known
        return set()
    return {r[0] for r in rows or []}


def reconcile(spec: EntitySpec, outcome: ScanOutcome, held: set[str], run_id: str,
              exists: Callable[[str], bool] | None = None) -> Iterator[Any]:
    """Deletion rows after a full pass: OneTrust's markForDelete flags (``feed``), then ids we hold
    that the vendor no longer lists (``reconciliation``). Skipped when the pass cannot prove absence.

    A listed record without a usable id (malformed) could be any held id the listing seems to lack, so
    then each such id is asked for by itself (``exists``, one GET each, up to ``VERIFY_LIMIT``): one bad
    record costs a few requests, not delete capture for the whole entity."""
    if not (outcome.complete and outcome.stable):
        log.warning("OneTrust %s: delete reconciliation skipped this run (complete=%s, stable=%s)",
                    spec.resource, outcome.complete, outcome.stable)
        return
    flagged, gone = set(outcome.flagged_ids), held - outcome.listed_ids - outcome.flagged_ids
    if flagged or gone:  # only then is it worth asking which deletes we already hold
        known = known_deletions(spec.resource)
        flagged, gone = flagged - known, gone - known
    if outcome.blind and gone:
        if exists is None or len(gone) > VERIFY_LIMIT:
            log.warning("OneTrust %s: %d listed records had no usable id, so %d ids missing from the listing "
                        "cannot be proven deleted this run; they are checked again next run", spec.resource,
                        outcome.blind, len(gone))
            gone = set()
        else:
            gone = {rid for rid in gone if not exists(rid)}
    for ids, how in ((flagged, "feed"), (gone, "reconciliation")):
        rows = deletion_rows(spec.resource, sorted(ids), detected_by=how, run_id=run_id)
        if rows is not None:
            log.info("OneTrust %s: %d deletes detected by %s", spec.resource, len(ids), how)
            yield rows
